-- Room on each page for a notification's next row version: publishing and
-- acknowledging update a notification in place, and with full pages every
-- such update moved the multi-kilobyte row to another page, added an entry
-- to each of the table's indexes and left a dead row for vacuum. No
-- indexed column changes, so with room on the page the update is a HOT
-- update: no index is touched, and the old version is pruned with the page,
-- vacuum or not. Pages written before this keep their fill.
ALTER TABLE notifications SET (fillfactor = 50);
