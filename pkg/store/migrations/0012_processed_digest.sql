-- The source digest of each applied event (the carehubdigest extension),
-- so that an id reused for other content after JetStream's duplicate
-- window is recognised and parked rather than dropped as a resend. Events
-- applied before this column existed have none and cannot be compared.
ALTER TABLE processed_events ADD COLUMN source_digest text;
