-- The audit trail is read newest first, a page at a time by id.
CREATE INDEX audit_log_patient_id ON audit_log (patient_key, id);
DROP INDEX audit_log_patient;
