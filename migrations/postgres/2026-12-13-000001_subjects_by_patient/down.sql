CREATE INDEX IF NOT EXISTS observation_subjects_by_identifier
    ON observation_subjects (value, system);

DROP INDEX IF EXISTS observation_subjects_by_patient;
