CREATE TABLE chain_links_old (
    hospital_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    item TEXT NOT NULL,
    digest BLOB NOT NULL,
    state BLOB NOT NULL,
    link BLOB NOT NULL,
    PRIMARY KEY (hospital_id, seq)
);

INSERT INTO chain_links_old (hospital_id, seq, kind, item, digest, state, link)
    SELECT hospital_id, seq, kind, item, digest, state, link FROM chain_links;

DROP TABLE chain_links;

ALTER TABLE chain_links_old RENAME TO chain_links;
