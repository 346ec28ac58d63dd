-- Background work that must run exactly once whichever node runs it (huren_store::jobs):
-- releasing held results after an approval, normalizing registry gaps after a release, the
-- scheduled verification of the hash chains. A job is written in the transaction of the
-- change that calls for it, claimed by one node at a time under a lease (a node that dies
-- loses its lease and another node resumes the job), and kept after it ends as a record of
-- what ran where. PostgreSQL dialect; keep in step with ../../sqlite.
CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    job_key TEXT COLLATE "C" NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    created_at BIGINT NOT NULL,
    run_after BIGINT NOT NULL,
    claimed_by TEXT,
    lease_until BIGINT,
    attempts INTEGER NOT NULL DEFAULT 0,
    finished_at BIGINT,
    outcome TEXT NOT NULL DEFAULT ''
);
-- What a claim looks for, and the jobs of one kind and key (one runs at a time; the claim of
-- one takes in the others then waiting, see huren_store::jobs).
CREATE INDEX jobs_open ON jobs (state, run_after) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_key ON jobs (kind, job_key, state);

-- Periodic jobs: the node that moves `next_at` on (a compare-and-set) enqueues the period's
-- one job.
CREATE TABLE job_schedules (
    kind TEXT PRIMARY KEY NOT NULL,
    next_at BIGINT NOT NULL
);
