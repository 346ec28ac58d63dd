CREATE TABLE observation_subjects_old (
    observation_id TEXT NOT NULL REFERENCES observations (id) ON DELETE CASCADE,
    system TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (observation_id, system, value)
) WITHOUT ROWID;

INSERT INTO observation_subjects_old (observation_id, system, value)
    SELECT observation_id, system, value FROM observation_subjects;

DROP TABLE observation_subjects;

ALTER TABLE observation_subjects_old RENAME TO observation_subjects;

CREATE INDEX observation_subjects_by_patient ON observation_subjects (value, system);
