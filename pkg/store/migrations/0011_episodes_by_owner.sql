-- An episode id is its owning organisation's own identifier: two
-- organisations may use the same id for different episodes, and one's
-- report must never end the other's. Episodes are keyed by owner and id.
ALTER TABLE episodes DROP CONSTRAINT episodes_pkey;
ALTER TABLE episodes ADD PRIMARY KEY (org_id, episode_id);
