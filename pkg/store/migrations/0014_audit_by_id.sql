-- The audit trail is read newest first, a page at a time by id, and
-- pruned by age under a retention of its own.
CREATE INDEX audit_log_patient_id ON audit_log (patient_key, id);
DROP INDEX audit_log_patient;
CREATE INDEX audit_log_at ON audit_log (at);
