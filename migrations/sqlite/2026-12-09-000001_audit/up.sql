-- The audit trail and the tamper-evident chains (SQLite dialect; keep in step with
-- ../../postgres). Times are Unix milliseconds. huren_core::audit and huren_core::integrity
-- say what each column means.

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_at BIGINT NOT NULL,
    agent TEXT NOT NULL,
    role TEXT NOT NULL,
    -- The agent's hospital, or empty.
    agent_hospital TEXT NOT NULL,
    address TEXT NOT NULL,
    request TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- C, R, U, D or E.
    action TEXT NOT NULL CHECK (action = 'C' OR action = 'R' OR action = 'U' OR action = 'D'
        OR action = 'E'),
    -- 0, 4 or 8.
    outcome TEXT NOT NULL CHECK (outcome = '0' OR outcome = '4' OR outcome = '8'),
    description TEXT NOT NULL,
    -- The hospital whose data it concerns, or empty.
    site TEXT NOT NULL,
    -- Patient identifiers and entities, each on a line of its own, with a line break before
    -- the first and after the last (so that LIKE '%\nX\n%' finds X exactly).
    patients TEXT NOT NULL,
    entities TEXT NOT NULL,
    purpose TEXT NOT NULL,
    purpose_text TEXT NOT NULL
);

CREATE INDEX audit_events_by_time ON audit_events (recorded_at);
CREATE INDEX audit_events_by_site ON audit_events (site, recorded_at);
CREATE INDEX audit_events_by_agent ON audit_events (agent, recorded_at);

-- One link per stored result version and per mapping change, per hospital. No foreign key
-- to the hospital: the chain must outlive anything done to the rows it vouches for.
CREATE TABLE chain_links (
    hospital_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    item TEXT NOT NULL,
    digest BLOB NOT NULL,
    state BLOB NOT NULL,
    link BLOB NOT NULL,
    PRIMARY KEY (hospital_id, seq)
);

-- Each hospital's last link: the row a writer locks to extend the chain.
CREATE TABLE chain_heads (
    hospital_id TEXT PRIMARY KEY NOT NULL,
    seq BIGINT NOT NULL,
    link BLOB NOT NULL
);

-- Older versions keep their recognition facts too: they are part of what the chain vouches for.
ALTER TABLE observation_history ADD COLUMN recognition TEXT NOT NULL DEFAULT '';

-- The seq of the change's link in its hospital's chain.
ALTER TABLE mapping_history ADD COLUMN chain_seq BIGINT;

-- Present until the rows stored before this migration are chained (Store::migrate does it,
-- once, in one transaction).
CREATE TABLE chain_backfill (pending BOOLEAN PRIMARY KEY NOT NULL);
INSERT INTO chain_backfill (pending) VALUES (TRUE);
