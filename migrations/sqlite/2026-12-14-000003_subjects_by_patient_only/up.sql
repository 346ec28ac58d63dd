-- The patients' identifiers of the results kept once, ordered by patient (SQLite only): the
-- table WITHOUT ROWID keyed (value, system, observation_id), and no second index. Before, the
-- table was keyed by result and its index by patient held every row again (~95 bytes per
-- result). Nothing reads them by result any more: a result's identifiers are read back from its
-- stored source (huren_core::observation::subjects_of_source), and a replaced result's rows are
-- deleted by their whole key, the identifiers its stored source gives (huren_store's
-- observations.rs). A rebuild, not an expand step: SQLite runs one node (migrations/README.md);
-- a few seconds per million results.
CREATE TABLE observation_subjects_new (
    observation_id TEXT NOT NULL REFERENCES observations (id) ON DELETE CASCADE,
    system TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (value, system, observation_id)
) WITHOUT ROWID;

INSERT INTO observation_subjects_new (observation_id, system, value)
    SELECT observation_id, system, value FROM observation_subjects;

DROP TABLE observation_subjects;

ALTER TABLE observation_subjects_new RENAME TO observation_subjects;
