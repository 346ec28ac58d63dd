-- The hash chains' links rebuilt WITHOUT ROWID (SQLite only): the rows are their primary key
-- (hospital, seq), so the table no longer keeps a second copy of every key in an automatic
-- index (~30 bytes per link). New links are also written compactly (huren_store::ledger's
-- LinkRow: a one-letter kind, a result's item as `ID/N`, no mapping item, no all-zero
-- state); links written before keep their long form and read as they are. A rebuild, not an
-- expand step: SQLite runs one node (migrations/README.md); a few seconds per million links.
CREATE TABLE chain_links_new (
    hospital_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    item TEXT NOT NULL,
    digest BLOB NOT NULL,
    state BLOB NOT NULL,
    link BLOB NOT NULL,
    PRIMARY KEY (hospital_id, seq)
) WITHOUT ROWID;

INSERT INTO chain_links_new (hospital_id, seq, kind, item, digest, state, link)
    SELECT hospital_id, seq, kind, item, digest, state, link FROM chain_links;

DROP TABLE chain_links;

ALTER TABLE chain_links_new RENAME TO chain_links;
