-- The relay's queue: one small row per notification not yet on
-- CAREHUB_NOTIFY, deleted once JetStream has it. The relay used to find
-- pending notifications through a partial index on the notifications
-- table itself; every publication then left a dead multi-kilobyte row
-- version behind that index, and with vacuum behind (or off) the claim
-- query slowed to seconds. Claiming from a narrow queue in position order
-- stays cheap.
CREATE TABLE outbox (
    position        bigserial PRIMARY KEY,
    notification_id text NOT NULL UNIQUE REFERENCES notifications (id) ON DELETE CASCADE
);
INSERT INTO outbox (notification_id)
    SELECT id FROM notifications WHERE status = 'pending' ORDER BY created_at, id;
DROP INDEX notifications_pending;
