-- Observations (normalized lab results), their earlier versions, the patients' identifiers
-- they are searched by, and each hospital's queue of local codes without an approved mapping
-- (PostgreSQL dialect; keep in step with ../../sqlite). Times are Unix milliseconds.
CREATE TABLE observations (
    -- Derived from hospital and identity (huren_core::observation::observation_id).
    id TEXT COLLATE "C" PRIMARY KEY,
    hospital_id TEXT COLLATE "C" NOT NULL REFERENCES hospitals (id),
    -- The business identifier, `system|value`.
    identity TEXT NOT NULL,
    version_id BIGINT NOT NULL,
    status TEXT NOT NULL,
    -- Why the result is held, or empty when it is visible.
    held TEXT NOT NULL,
    local_code TEXT COLLATE "C" NOT NULL,
    national_code TEXT NOT NULL,
    loinc TEXT NOT NULL,
    effective_at BIGINT,
    -- The Observation JSON without id and meta.
    resource TEXT NOT NULL,
    -- The result as sent (JSON), to normalize again when a mapping is approved.
    source TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (hospital_id, identity)
);

CREATE INDEX observations_by_national_code ON observations (national_code, effective_at);
CREATE INDEX observations_by_loinc ON observations (loinc, effective_at);
CREATE INDEX observations_held ON observations (hospital_id, held, local_code);

CREATE TABLE observation_subjects (
    observation_id TEXT COLLATE "C" NOT NULL REFERENCES observations (id) ON DELETE CASCADE,
    system TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (observation_id, system, value)
);

CREATE INDEX observation_subjects_by_identifier ON observation_subjects (value, system);

CREATE TABLE observation_history (
    observation_id TEXT COLLATE "C" NOT NULL REFERENCES observations (id) ON DELETE CASCADE,
    version_id BIGINT NOT NULL,
    status TEXT NOT NULL,
    held TEXT NOT NULL,
    resource TEXT NOT NULL,
    source TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (observation_id, version_id)
);

CREATE TABLE unmapped_codes (
    hospital_id TEXT COLLATE "C" NOT NULL REFERENCES hospitals (id),
    local_code TEXT COLLATE "C" NOT NULL,
    local_name TEXT NOT NULL,
    unit TEXT NOT NULL,
    seen_count BIGINT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    PRIMARY KEY (hospital_id, local_code)
);
