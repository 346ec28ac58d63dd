-- Run with foreign keys off (PRAGMA foreign_keys = OFF, outside a transaction), as
-- Store::migrate runs the up migration: dropping the table would otherwise cascade.
CREATE TABLE observations_old (
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
    body BLOB NOT NULL DEFAULT x'',
    UNIQUE (hospital_id, identity)
);

INSERT INTO observations_old (id, hospital_id, identity, version_id, status, held, local_code,
        national_code, loinc, effective_at, resource, source, updated_at, recognition, body)
    SELECT id, hospital_id, identity, version_id, status, held, local_code, national_code,
        loinc, effective_at, resource, source, updated_at, recognition, body
    FROM observations;

DROP TABLE observations;

ALTER TABLE observations_old RENAME TO observations;

CREATE INDEX observations_by_national_code ON observations (national_code, effective_at);
CREATE INDEX observations_by_loinc ON observations (loinc, effective_at);
CREATE INDEX observations_held ON observations (hospital_id, held, local_code);
