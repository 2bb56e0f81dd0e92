-- Per-organisation, gap-free sequence numbers: receivers detect gaps and
-- catch up with ?after=<seq>. A number is taken under the row lock of the
-- organisation's counter and the lock is held until commit, so numbers
-- become visible in order and a rolled-back transaction leaves no hole.
CREATE TABLE org_sequences (
    org_id   text PRIMARY KEY,
    last_seq bigint NOT NULL DEFAULT 0
);

ALTER TABLE notifications
    ADD COLUMN seq             bigint,
    ADD COLUMN acknowledged_at timestamptz,
    ADD COLUMN acknowledged_by text;
CREATE UNIQUE INDEX notifications_org_seq ON notifications (org_id, seq);

-- One row per notification and webhook endpoint. Rows are claimed with
-- FOR UPDATE SKIP LOCKED; the oldest pending row of a patient blocks that
-- patient's later rows on the same endpoint only.
CREATE TABLE webhook_deliveries (
    notification_id text        NOT NULL REFERENCES notifications (id),
    endpoint        text        NOT NULL,
    org_id          text        NOT NULL,
    patient_key     text        NOT NULL,
    seq             bigint      NOT NULL,
    status          text        NOT NULL DEFAULT 'pending', -- pending | delivered | dead
    attempts        int         NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_status     int,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    delivered_at    timestamptz,
    PRIMARY KEY (notification_id, endpoint)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_patient ON webhook_deliveries (endpoint, patient_key, seq) WHERE status = 'pending';

-- Endpoints a receiver turned off with 410 Gone, until redriven.
CREATE TABLE webhook_endpoints_disabled (
    endpoint    text PRIMARY KEY,
    disabled_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    reason      text NOT NULL
);

-- Append-only record of every disclosure of patient data to an
-- organisation. The table is only ever inserted into.
CREATE TABLE audit_log (
    id              bigserial PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    org_id          text NOT NULL,
    notification_id text NOT NULL,
    patient_key     text NOT NULL,
    channel         text NOT NULL, -- nats | webhook | api
    outcome         text NOT NULL,
    detail          text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_patient ON audit_log (patient_key, at);
