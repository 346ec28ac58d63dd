-- Hospitals, their local-code mappings and the mappings' history (PostgreSQL dialect; keep in
-- step with ../../sqlite). Times are Unix milliseconds.
--
-- Keys are `COLLATE "C"` so that PostgreSQL orders them byte by byte, as SQLite and Rust do,
-- whatever the database's default collation.
CREATE TABLE hospitals (
    -- A slug: 1 to 64 of a-z, 0-9 and `-` (huren_core::HospitalId).
    id TEXT COLLATE "C" PRIMARY KEY CHECK (id ~ '^[a-z0-9-]{1,64}$'),
    name TEXT NOT NULL,
    province TEXT NOT NULL,
    city TEXT NOT NULL,
    level TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE mappings (
    hospital_id TEXT COLLATE "C" NOT NULL REFERENCES hospitals (id),
    local_code TEXT COLLATE "C" NOT NULL,
    local_name TEXT NOT NULL,
    specimen TEXT NOT NULL,
    unit TEXT NOT NULL,
    ref_low DOUBLE PRECISION,
    ref_high DOUBLE PRECISION,
    ref_text TEXT NOT NULL,
    method TEXT NOT NULL,
    note TEXT NOT NULL,
    -- Empty while the local code is not mapped yet.
    national_code TEXT NOT NULL,
    unit_ucum TEXT NOT NULL,
    unit_alias TEXT NOT NULL,
    equivalence TEXT NOT NULL
        CHECK (equivalence IN ('equivalent', 'wider', 'narrower', 'inexact')),
    status TEXT NOT NULL
        CHECK (status IN ('proposed', 'approved', 'rejected', 'retired')),
    proposed_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (hospital_id, local_code)
);

CREATE INDEX mappings_by_status ON mappings (hospital_id, status);
CREATE INDEX mappings_by_national_code ON mappings (national_code);

CREATE TABLE mapping_history (
    id BIGSERIAL PRIMARY KEY,
    hospital_id TEXT COLLATE "C" NOT NULL REFERENCES hospitals (id),
    local_code TEXT COLLATE "C" NOT NULL,
    "at" BIGINT NOT NULL,
    "by" TEXT NOT NULL,
    action TEXT NOT NULL,
    -- NULL when the change created the mapping.
    from_status TEXT
        CHECK (from_status IN ('proposed', 'approved', 'rejected', 'retired')),
    to_status TEXT NOT NULL
        CHECK (to_status IN ('proposed', 'approved', 'rejected', 'retired')),
    from_target TEXT NOT NULL,
    to_target TEXT NOT NULL,
    comment TEXT NOT NULL
);

CREATE INDEX mapping_history_by_mapping ON mapping_history (hospital_id, local_code);
