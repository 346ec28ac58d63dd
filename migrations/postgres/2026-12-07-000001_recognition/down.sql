DROP TABLE retests;
ALTER TABLE hospitals DROP COLUMN accredited_until;
ALTER TABLE hospitals DROP COLUMN accreditation;
ALTER TABLE hospitals DROP COLUMN harmonized_intervals;
ALTER TABLE hospitals DROP COLUMN iqc_rules;
ALTER TABLE hospitals DROP COLUMN alliances;
ALTER TABLE observations DROP COLUMN recognition;
