-- The router loads a patient's episodes by patient key with every batch;
-- without this index that was a scan of every episode ever stored.
CREATE INDEX episodes_patient ON episodes (patient_key);
