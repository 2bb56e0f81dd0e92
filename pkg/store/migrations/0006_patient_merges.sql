-- A40 merges: the prior patient key's timeline now belongs to the
-- survivor. Facts that arrive later under the prior key are applied to the
-- survivor, so a merge gives the same outcome whatever order it arrives in.
-- survivor_key is always final: merging the survivor on rewrites the rows
-- pointing at it, so one lookup resolves any chain.
CREATE TABLE patient_merges (
    prior_key    text PRIMARY KEY,
    survivor_key text NOT NULL,
    event_id     text NOT NULL,
    merged_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX patient_merges_survivor ON patient_merges (survivor_key);
