-- Laboratory quality data and the recognition catalogue (SQLite dialect; keep in step with
-- ../../postgres). Items are national codes; times are Unix seconds, EQA dates days since
-- 1970-01-01.

-- One EQA event of one laboratory for one item; a resent event replaces the stored one.
CREATE TABLE eqa_events (
    hospital_id TEXT NOT NULL REFERENCES hospitals (id),
    national_code TEXT NOT NULL,
    program TEXT NOT NULL,
    event TEXT NOT NULL,
    event_date BIGINT NOT NULL,
    samples INTEGER NOT NULL CHECK (samples >= 0),
    acceptable INTEGER NOT NULL CHECK (acceptable >= 0 AND acceptable <= samples),
    -- NULL when the file gave no verdict of the provider's.
    passed BOOLEAN,
    PRIMARY KEY (hospital_id, national_code, program, event)
);

-- One control measurement; a resent one (same run, same material) replaces the stored one.
CREATE TABLE iqc_observations (
    hospital_id TEXT NOT NULL REFERENCES hospitals (id),
    national_code TEXT NOT NULL,
    run_at BIGINT NOT NULL,
    control_level TEXT NOT NULL,
    value DOUBLE NOT NULL,
    target_mean DOUBLE NOT NULL,
    target_sd DOUBLE NOT NULL CHECK (target_sd > 0),
    PRIMARY KEY (hospital_id, national_code, run_at, control_level)
);

-- The recognition catalogue: one entry per (scope, item).
CREATE TABLE catalogue (
    scope TEXT NOT NULL,
    national_code TEXT NOT NULL,
    validity_days INTEGER NOT NULL CHECK (validity_days >= 1),
    mark TEXT NOT NULL,
    strict_iqc BOOLEAN NOT NULL,
    PRIMARY KEY (scope, national_code)
);
