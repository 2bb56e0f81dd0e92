-- Notifications the rules wanted but could not address (a municipality
-- code or HSA-id not in the directory): recorded, never silently dropped.
CREATE TABLE unroutable (
    patient_key   text NOT NULL,
    reason        text NOT NULL,
    first_seen    timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_seen     timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_event_id text NOT NULL,
    PRIMARY KEY (patient_key, reason)
);
CREATE INDEX unroutable_last_seen ON unroutable (last_seen DESC);
