DROP TABLE chain_backfill;
ALTER TABLE mapping_history DROP COLUMN chain_seq;
ALTER TABLE observation_history DROP COLUMN recognition;
DROP TABLE chain_heads;
DROP TABLE chain_links;
DROP TABLE audit_events;
