DROP TABLE unmapped_codes;
DROP TABLE observation_history;
DROP TABLE observation_subjects;
DROP TABLE observations;
