-- Events the router has applied, keyed by CloudEvent id: a redelivered or
-- resent event finds its row and changes nothing.
CREATE TABLE processed_events (
    event_id     text PRIMARY KEY,
    event_type   text NOT NULL,
    patient_key  text NOT NULL,
    stream_seq   bigint,
    processed_at timestamptz NOT NULL DEFAULT now()
);

-- Patients by pseudonymous key. resource is the latest FHIR Patient, needed
-- for the content of notifications (the law asks for name and address).
-- FHIR and CloudEvent documents that are sent on are json, not jsonb: jsonb
-- reorders keys, and receivers should get what the sender wrote.
CREATE TABLE patients (
    patient_key       text PRIMARY KEY,
    municipality_code text,
    primary_care_hsa  text,
    resource          json,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE encounters (
    org_id          text NOT NULL,
    encounter_id    text NOT NULL,
    patient_key     text NOT NULL REFERENCES patients (patient_key),
    class_code      text NOT NULL DEFAULT '',
    status          text NOT NULL,
    last_event_type text NOT NULL,
    period_start    timestamptz,
    period_end      timestamptz,
    resource        jsonb NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, encounter_id)
);
CREATE INDEX encounters_patient ON encounters (patient_key);

-- The outbox: one row per notification to one receiving organisation. The
-- id is deterministic, so a reprocessed event cannot add a second row, and it
-- doubles as Nats-Msg-Id when the relay publishes.
CREATE TABLE notifications (
    id           text PRIMARY KEY,
    org_id       text NOT NULL,
    kind         text NOT NULL,
    patient_key  text NOT NULL,
    encounter_id text NOT NULL DEFAULT '',
    event_id     text NOT NULL,
    status       text NOT NULL DEFAULT 'pending',
    cloudevent   json NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_at timestamptz
);
CREATE INDEX notifications_org_created ON notifications (org_id, created_at DESC, id DESC);
CREATE INDEX notifications_pending ON notifications (created_at) WHERE status = 'pending';
