-- The results' table rebuilt without UNIQUE (hospital_id, identity) (SQLite only: a UNIQUE
-- constraint is dropped by rebuilding the table). A result's id is derived from its hospital
-- and identity (huren_core::observation::observation_id) and is the primary key, and the store
-- refuses a result whose id is another stored result's (StoreError::Conflict): the second
-- index (~46 bytes per result) checked nothing the first does not, and no query reads it.
--
-- The rebuild follows SQLite's procedure for other schema changes: Store::migrate turns
-- foreign keys off around the migrations (so that dropping the old table does not cascade
-- into the results' history and patients' identifiers, which refer to it by name) and runs
-- PRAGMA foreign_key_check before it commits. A rebuild, not an expand step: SQLite runs one
-- node (migrations/README.md); it copies every stored result once (tens of seconds per
-- million results).
CREATE TABLE observations_new (
    -- Derived from hospital and identity (huren_core::observation::observation_id).
    id TEXT PRIMARY KEY NOT NULL,
    hospital_id TEXT NOT NULL REFERENCES hospitals (id),
    -- The business identifier, `system|value`.
    identity TEXT NOT NULL,
    version_id BIGINT NOT NULL,
    status TEXT NOT NULL,
    -- Why the result is held, or empty when it is visible.
    held TEXT NOT NULL,
    local_code TEXT NOT NULL,
    national_code TEXT NOT NULL,
    loinc TEXT NOT NULL,
    effective_at BIGINT,
    -- Rows written before `body`: the Observation JSON without id and meta, the result as
    -- sent, the recognition facts. Empty in rows written since.
    resource TEXT NOT NULL,
    source TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    recognition TEXT NOT NULL DEFAULT '',
    -- The three texts packed (huren_store::packed).
    body BLOB NOT NULL DEFAULT x''
);

INSERT INTO observations_new (id, hospital_id, identity, version_id, status, held, local_code,
        national_code, loinc, effective_at, resource, source, updated_at, recognition, body)
    SELECT id, hospital_id, identity, version_id, status, held, local_code, national_code,
        loinc, effective_at, resource, source, updated_at, recognition, body
    FROM observations;

DROP TABLE observations;

ALTER TABLE observations_new RENAME TO observations;

CREATE INDEX observations_by_national_code ON observations (national_code, effective_at);
CREATE INDEX observations_by_loinc ON observations (loinc, effective_at);
CREATE INDEX observations_held ON observations (hospital_id, held, local_code);
