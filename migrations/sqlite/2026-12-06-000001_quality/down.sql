DROP TABLE catalogue;
DROP TABLE iqc_observations;
DROP TABLE eqa_events;
