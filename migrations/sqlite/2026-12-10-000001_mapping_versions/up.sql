-- A counter per hospital, bumped in every transaction that changes its mappings: what each
-- node's in-memory mapping cache compares to know whether another node changed them
-- (huren_store::cache). The row with an empty hospital_id (no hospital id is empty) counts
-- the changes to the hospitals themselves. SQLite dialect; keep in step with ../../postgres.
CREATE TABLE mapping_versions (
    hospital_id TEXT PRIMARY KEY NOT NULL,
    version BIGINT NOT NULL
);
