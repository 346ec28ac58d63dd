-- Mappings to LOINC terms that have no national code yet (sqlite dialect; keep in step with the
-- other dialect). `loinc` is the target when `national_code` is empty; when a national release
-- adds a code equivalent to it, the mapping moves to that code and `loinc` is cleared.
ALTER TABLE mappings ADD COLUMN loinc TEXT NOT NULL DEFAULT '';
