-- The patients' identifiers of the results: the index by patient carries the result's id, so a
-- patient query can read the ids from the index alone (an index-only scan, on the pages vacuum
-- has marked all-visible) instead of the table per result. An expand step (a new index; the old one is dropped after it), safe with nodes
-- of the release before. On a large database create it by hand first, concurrently:
--   CREATE INDEX CONCURRENTLY observation_subjects_by_patient
--       ON observation_subjects (value, system) INCLUDE (observation_id);
CREATE INDEX IF NOT EXISTS observation_subjects_by_patient
    ON observation_subjects (value, system) INCLUDE (observation_id);

DROP INDEX IF EXISTS observation_subjects_by_identifier;
