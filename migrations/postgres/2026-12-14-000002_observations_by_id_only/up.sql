-- UNIQUE (hospital_id, identity) dropped: a result's id is derived from its hospital and
-- identity (huren_core::observation::observation_id) and is the primary key, and the store
-- refuses a result whose id is another stored result's (StoreError::Conflict), so the
-- constraint's index checked nothing the primary key does not, and no query reads it. Safe
-- with nodes of the release before, which never relied on it (their upsert's conflict target
-- is the id).
ALTER TABLE observations DROP CONSTRAINT IF EXISTS observations_hospital_id_identity_key;
