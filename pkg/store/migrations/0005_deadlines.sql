-- Deadlines the rules set (law 2017:612 and regional agreements). The
-- router's watcher claims due ones with FOR UPDATE SKIP LOCKED, so several
-- hub instances can run it.
CREATE TABLE deadlines (
    id              text PRIMARY KEY,
    patient_key     text NOT NULL,
    kind            text NOT NULL,
    org_id          text NOT NULL,
    escalate_to     text NOT NULL DEFAULT '',
    due_at          timestamptz NOT NULL,
    notification_id text NOT NULL DEFAULT '',
    encounter_org   text NOT NULL,
    encounter_id    text NOT NULL,
    reason          text NOT NULL,
    status          text NOT NULL DEFAULT 'pending', -- pending | met | fired | cancelled
    settled_at      timestamptz
);
CREATE INDEX deadlines_due ON deadlines (due_at) WHERE status = 'pending';
CREATE INDEX deadlines_patient ON deadlines (patient_key);
