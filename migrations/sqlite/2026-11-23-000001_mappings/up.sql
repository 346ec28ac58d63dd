-- Hospitals, their local-code mappings and the mappings' history (SQLite dialect; keep in step
-- with ../../postgres). Times are Unix milliseconds.
--
-- The CHECKs on statuses are chains of `=` rather than `IN (…)`: SQLite looks an IN list up in
-- an ephemeral index, which costs about a sixth of a bulk import's time; the chain costs
-- nothing measurable.
CREATE TABLE hospitals (
    -- A slug: 1 to 64 of a-z, 0-9 and `-` (huren_core::HospitalId).
    id TEXT PRIMARY KEY NOT NULL
        CHECK (length(id) BETWEEN 1 AND 64 AND id NOT GLOB '*[^a-z0-9-]*'),
    name TEXT NOT NULL,
    province TEXT NOT NULL,
    city TEXT NOT NULL,
    level TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE mappings (
    hospital_id TEXT NOT NULL REFERENCES hospitals (id),
    local_code TEXT NOT NULL,
    local_name TEXT NOT NULL,
    specimen TEXT NOT NULL,
    unit TEXT NOT NULL,
    ref_low DOUBLE,
    ref_high DOUBLE,
    ref_text TEXT NOT NULL,
    method TEXT NOT NULL,
    note TEXT NOT NULL,
    -- Empty while the local code is not mapped yet.
    national_code TEXT NOT NULL,
    unit_ucum TEXT NOT NULL,
    unit_alias TEXT NOT NULL,
    equivalence TEXT NOT NULL
        CHECK (equivalence = 'equivalent' OR equivalence = 'wider'
            OR equivalence = 'narrower' OR equivalence = 'inexact'),
    status TEXT NOT NULL
        CHECK (status = 'proposed' OR status = 'approved'
            OR status = 'rejected' OR status = 'retired'),
    proposed_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (hospital_id, local_code)
);

CREATE INDEX mappings_by_status ON mappings (hospital_id, status);
CREATE INDEX mappings_by_national_code ON mappings (national_code);

CREATE TABLE mapping_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hospital_id TEXT NOT NULL REFERENCES hospitals (id),
    local_code TEXT NOT NULL,
    "at" BIGINT NOT NULL,
    "by" TEXT NOT NULL,
    action TEXT NOT NULL,
    -- NULL when the change created the mapping.
    from_status TEXT
        CHECK (from_status = 'proposed' OR from_status = 'approved'
            OR from_status = 'rejected' OR from_status = 'retired'),
    to_status TEXT NOT NULL
        CHECK (to_status = 'proposed' OR to_status = 'approved'
            OR to_status = 'rejected' OR to_status = 'retired'),
    from_target TEXT NOT NULL,
    to_target TEXT NOT NULL,
    comment TEXT NOT NULL
);

CREATE INDEX mapping_history_by_mapping ON mapping_history (hospital_id, local_code);
