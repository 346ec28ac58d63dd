ALTER TABLE observations ADD CONSTRAINT observations_hospital_id_identity_key
    UNIQUE (hospital_id, identity);
