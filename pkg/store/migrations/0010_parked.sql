-- Items the hub can never handle as they are, moved out of the way with
-- their reason so that they no longer hold up the others: an auditor sees
-- them, fixes the cause and redrives them. Before this, the relay stopped
-- at the first notification it could not publish, and every later one
-- stayed pending behind it.

-- Notifications the relay cannot publish (an organisation id that is not a
-- subject token, a corrupt stored CloudEvent, a message over the NATS
-- maximum). The notification's status is 'parked' and it has left the
-- outbox; a redrive puts it back.
CREATE TABLE parked_notifications (
    notification_id text PRIMARY KEY REFERENCES notifications (id) ON DELETE CASCADE,
    org_id          text NOT NULL,
    reason          text NOT NULL,
    parked_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Events the router can never apply (undecodable, invalid data, a rule
-- that panics), keyed by their CAREHUB_EVENTS stream sequence. The
-- JetStream message is terminated once its row is here and its bytes are
-- in CAREHUB_QUARANTINE (no second copy of the patient data here).
CREATE TABLE parked_events (
    stream_seq bigint PRIMARY KEY,
    event_id   text NOT NULL,
    subject    text NOT NULL,
    reason     text NOT NULL,
    parked_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX parked_events_parked_at ON parked_events (parked_at DESC);
