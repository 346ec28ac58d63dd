ALTER TABLE mappings DROP COLUMN loinc;
