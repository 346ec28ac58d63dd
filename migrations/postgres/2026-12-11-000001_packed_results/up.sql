-- A result's three texts (the Observation as served, the result as sent, its recognition
-- facts) packed into one zstd-compressed value (huren_store::packed). Expand only: rows written
-- before keep their texts in resource/source/recognition and an empty body, and are read as
-- they are; new rows leave those columns empty.
ALTER TABLE observations ADD COLUMN body BYTEA NOT NULL DEFAULT ''::bytea;
ALTER TABLE observation_history ADD COLUMN body BYTEA NOT NULL DEFAULT ''::bytea;
