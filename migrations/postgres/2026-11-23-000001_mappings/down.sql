DROP TABLE mapping_history;
DROP TABLE mappings;
DROP TABLE hospitals;
