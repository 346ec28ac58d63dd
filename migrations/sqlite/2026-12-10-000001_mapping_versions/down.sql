DROP TABLE mapping_versions;
