-- The patients' identifiers of the results, rebuilt WITHOUT ROWID (SQLite only): the rows are
-- their primary key, so the index by patient holds the result's id too, and a patient query
-- goes from the patient to the results' ids in one index, without a look-up in the table per
-- result; the table also no longer keeps a second copy of every row in an automatic index.
-- A rebuild, not an expand step: SQLite runs one node (migrations/README.md); about 2 s per
-- million results.
CREATE TABLE observation_subjects_new (
    observation_id TEXT NOT NULL REFERENCES observations (id) ON DELETE CASCADE,
    system TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (observation_id, system, value)
) WITHOUT ROWID;

INSERT INTO observation_subjects_new (observation_id, system, value)
    SELECT observation_id, system, value FROM observation_subjects;

DROP TABLE observation_subjects;

ALTER TABLE observation_subjects_new RENAME TO observation_subjects;

CREATE INDEX observation_subjects_by_patient ON observation_subjects (value, system);
