DROP TABLE concepts;
DROP TABLE releases;
