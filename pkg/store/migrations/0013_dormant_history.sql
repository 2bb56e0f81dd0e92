-- A stay or episode that ended long enough before everything still in play
-- can no longer change a decision (transition.Dormant says when): its facts
-- are marked dormant and the router stops reading them, so the cost of a
-- new fact does not grow with the length of the patient's history. subject
-- names the stay or episode a fact is about, exactly as transition.Subject
-- does, so that the other per-stay tables can be read for the same subjects.
ALTER TABLE patient_facts
    ADD COLUMN subject text GENERATED ALWAYS AS (CASE
        WHEN json_typeof(fact->'Encounter') = 'object'
            THEN 'encounter/' || (fact->'Encounter'->>'OrgID') || '/' || (fact->'Encounter'->>'ID')
        WHEN json_typeof(fact->'Episode') = 'object'
            THEN 'episode/' || (fact->'Episode'->>'OrgID') || '/' || (fact->'Episode'->>'ID')
        ELSE '' END) STORED,
    ADD COLUMN dormant boolean NOT NULL DEFAULT false;
CREATE INDEX patient_facts_awake ON patient_facts (patient_key) WHERE NOT dormant;
CREATE INDEX patient_facts_subject ON patient_facts (patient_key, subject);

-- Every dormant subject of the patient ended before this time; a fact dated
-- earlier than the horizon after it needs the whole history read again.
ALTER TABLE patients ADD COLUMN dormant_before timestamptz;
CREATE INDEX patients_dormant ON patients (dormant_before) WHERE dormant_before IS NOT NULL;
