-- Every fact of a patient, as the rules read them: the router re-evaluates
-- a patient's whole timeline on each new fact, so the outcome does not
-- depend on the order facts arrive in.
CREATE TABLE patient_facts (
    event_id    text PRIMARY KEY,
    patient_key text NOT NULL,
    fact        json NOT NULL,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX patient_facts_patient ON patient_facts (patient_key);

-- Municipal and SSIH episodes, latest resource per episode, for the
-- episode context that home-to-hospital notifications carry.
CREATE TABLE episodes (
    episode_id  text PRIMARY KEY,
    patient_key text NOT NULL,
    org_id      text NOT NULL,
    resource    json NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Every notification ever created, never pruned: ids and what they were
-- about, no content. Re-evaluation compares against it, so a notification
-- pruned from the outbox is not created again.
CREATE TABLE notification_log (
    id            text PRIMARY KEY,
    patient_key   text NOT NULL,
    kind          text NOT NULL,
    org_id        text NOT NULL,
    encounter_org text NOT NULL DEFAULT '',
    encounter_id  text NOT NULL DEFAULT ''
);
CREATE INDEX notification_log_patient ON notification_log (patient_key);
INSERT INTO notification_log (id, patient_key, kind, org_id, encounter_id)
    SELECT id, patient_key, kind, org_id, encounter_id FROM notifications;
