//! Jobs that run exactly once across nodes (`huren_core::jobs`), on the database every node
//! shares.
//!
//! PostgreSQL does the distributed part: a claim takes a transaction-scoped advisory lock (so
//! claims, and the ends of claims, are serialized across nodes; they are short) and picks its
//! row with `FOR UPDATE SKIP LOCKED`; a schedule's period is won by the one `UPDATE` that moves
//! its `next_at` on (the others wait for the row lock, then see it moved). On SQLite, where
//! every writer of the file takes the one write lock, an immediate transaction gives the same.

use crate::{Pools, Store, StoreError, with_write_conn};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use huren_core::jobs::{Job, JobEnd, JobKind, JobRecord, JobState, MAX_ATTEMPTS, retry_delay_ms};
use huren_core::ports::{JobStore, PortError};

/// The PostgreSQL advisory lock that serializes claims and ends of claims.
const JOBS_LOCK_KEY: i64 = 0x6875_7265_6e01; // "huren\1"

/// Queues a job in the transaction of `$conn`. Requests for the same work are not merged
/// here: a request merged into a job another node has already claimed would be lost, since
/// that job may have read the data before the request's transaction committed. They are
/// merged when a job is claimed (see [`Store::claim_job_impl`]).
macro_rules! enqueue_job {
    ($conn:ident, $kind:expr, $key:expr, $run_after:expr) => {{
        use crate::schema::jobs::dsl as j;
        let at: i64 = $run_after;
        diesel::insert_into(j::jobs)
            .values((
                j::kind.eq($kind.as_str()),
                j::job_key.eq($key),
                j::state.eq("queued"),
                j::created_at.eq(crate::now_millis()),
                j::run_after.eq(at),
                j::attempts.eq(0),
                j::outcome.eq(""),
            ))
            .execute($conn)?;
    }};
}

pub(crate) use enqueue_job;

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    job_key: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
}

#[derive(Queryable)]
struct JobRow {
    id: i64,
    kind: String,
    job_key: String,
    state: String,
    created_at: i64,
    run_after: i64,
    claimed_by: Option<String>,
    lease_until: Option<i64>,
    attempts: i32,
    finished_at: Option<i64>,
    outcome: String,
}

/// The claim statement; `{kinds}` is a list of quoted kind names (constants, never input),
/// `{lock}` is `FOR UPDATE SKIP LOCKED` on PostgreSQL. Binds, numbered: node, lease end, key
/// or NULL, now, due by.
fn claim_sql(kinds: &[JobKind], pg: bool) -> String {
    let kinds: Vec<String> = kinds.iter().map(|k| format!("'{}'", k.as_str())).collect();
    let kinds = kinds.join(", ");
    let (node, until, key, now, due, lock) = if pg {
        ("$1", "$2", "$3", "$4", "$5", "FOR UPDATE SKIP LOCKED")
    } else {
        ("?1", "?2", "?3", "?4", "?5", "")
    };
    format!(
        "UPDATE jobs SET state = 'running', claimed_by = {node}, lease_until = {until}, \
         attempts = attempts + 1 \
         WHERE id = (SELECT j.id FROM jobs j \
           WHERE j.kind IN ({kinds}) AND ({key} IS NULL OR j.job_key = {key}) \
           AND ((j.state = 'queued' AND j.run_after <= {due}) \
                OR (j.state = 'running' AND j.lease_until < {now})) \
           AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.kind = j.kind AND r.job_key = j.job_key \
                AND r.state = 'running' AND r.lease_until >= {now} AND r.id <> j.id) \
           ORDER BY j.id LIMIT 1 {lock}) \
         RETURNING id, kind, job_key, attempts"
    )
}

/// A connection that can run a job transaction: on PostgreSQL, one holding the jobs' advisory
/// lock; on SQLite, an immediate one (the write lock taken up front).
trait JobConn: Connection + Sized {
    const PG: bool;
    fn jobs_transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError>;
}

impl JobConn for SqliteConnection {
    const PG: bool = false;
    fn jobs_transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.immediate_transaction(f)
    }
}

impl JobConn for PgConnection {
    const PG: bool = true;
    fn jobs_transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.transaction(|conn| {
            diesel::sql_query(format!("SELECT pg_advisory_xact_lock({JOBS_LOCK_KEY})"))
                .execute(conn)?;
            f(conn)
        })
    }
}

/// Whether another job of `job`'s kind and key waits to do the same work.
macro_rules! sibling_waits {
    ($conn:ident, $job:expr) => {{
        use crate::schema::jobs::dsl as j;
        diesel::select(diesel::dsl::exists(
            j::jobs
                .filter(j::kind.eq($job.kind.as_str()))
                .filter(j::job_key.eq(&$job.key))
                .filter(j::state.eq("queued"))
                .filter(j::id.ne($job.id)),
        ))
        .get_result::<bool>($conn)?
    }};
}

impl Store {
    fn enqueue_job_impl(&self, kind: JobKind, key: &str, run_after: i64) -> Result<(), StoreError> {
        with_write_conn!(self, |conn| {
            enqueue_job!(conn, kind, key, run_after);
            Ok(())
        })
    }

    fn claim_job_impl(
        &self,
        node: &str,
        kinds: &[JobKind],
        key: Option<&str>,
        now: i64,
        due_by: i64,
        lease_ms: i64,
    ) -> Result<Option<Job>, StoreError> {
        if kinds.is_empty() {
            return Ok(None);
        }
        let claimed: Option<Claimed> =
            with_write_conn!(self, |conn| conn.jobs_transaction(|conn| {
                let claimed: Option<Claimed> = diesel::sql_query(claim_sql(kinds, is_pg(conn)))
                    .bind::<Text, _>(node)
                    .bind::<BigInt, _>(now + lease_ms)
                    .bind::<Nullable<Text>, _>(key)
                    .bind::<BigInt, _>(now)
                    .bind::<BigInt, _>(due_by)
                    .get_result(conn)
                    .optional()?;
                // The other due requests for the same work, committed before this claim, are
                // done by the claimed job: it reads the data after this commit, so it sees
                // what each of them was queued for.
                if let Some(c) = &claimed {
                    use crate::schema::jobs::dsl as j;
                    diesel::update(
                        j::jobs
                            .filter(j::kind.eq(&c.kind))
                            .filter(j::job_key.eq(&c.job_key))
                            .filter(j::state.eq("queued"))
                            .filter(j::run_after.le(due_by))
                            .filter(j::id.ne(c.id)),
                    )
                    .set((
                        j::state.eq("done"),
                        j::finished_at.eq(now),
                        j::outcome.eq(format!("joined job {}", c.id)),
                    ))
                    .execute(conn)?;
                }
                Ok(claimed)
            }))?;
        Ok(claimed.and_then(|c| {
            Some(Job {
                id: c.id,
                kind: JobKind::parse(&c.kind)?,
                key: c.job_key,
                attempts: c.attempts,
            })
        }))
    }

    fn renew_job_impl(&self, id: i64, node: &str, lease_until: i64) -> Result<bool, StoreError> {
        use crate::schema::jobs::dsl as j;
        let n = with_write_conn!(self, |conn| diesel::update(j::jobs.find(id))
            .filter(j::claimed_by.eq(node))
            .filter(j::state.eq("running"))
            .set(j::lease_until.eq(lease_until))
            .execute(conn)?);
        Ok(n == 1)
    }

    fn finish_job_impl(
        &self,
        job: &Job,
        node: &str,
        now: i64,
        end: &JobEnd,
    ) -> Result<(), StoreError> {
        use crate::schema::jobs::dsl as j;
        with_write_conn!(self, |conn| conn.jobs_transaction(|conn| {
            let mine = j::jobs
                .find(job.id)
                .filter(j::claimed_by.eq(node))
                .filter(j::state.eq("running"));
            // (state, run_after, outcome, attempts, finished)
            let (state, run_after, outcome, attempts, finished) = match end {
                JobEnd::Done(text) => ("done", None, text.clone(), job.attempts, Some(now)),
                JobEnd::Failed(text) if job.attempts >= MAX_ATTEMPTS => (
                    "failed",
                    None,
                    format!("gave up after {} attempts: {text}", job.attempts),
                    job.attempts,
                    Some(now),
                ),
                JobEnd::Failed(text) if sibling_waits!(conn, job) => (
                    "failed",
                    None,
                    format!("{text}; a job waiting for the same work takes over"),
                    job.attempts,
                    Some(now),
                ),
                JobEnd::Failed(text) => (
                    "queued",
                    Some(now + retry_delay_ms(job.attempts)),
                    text.clone(),
                    job.attempts,
                    None,
                ),
                JobEnd::NotYet if sibling_waits!(conn, job) => (
                    "done",
                    None,
                    "joined the job waiting for the same work".to_owned(),
                    job.attempts - 1,
                    Some(now),
                ),
                JobEnd::NotYet => (
                    "queued",
                    Some(now + 500),
                    String::new(),
                    job.attempts - 1,
                    None,
                ),
            };
            let run_after = run_after.unwrap_or(now);
            diesel::update(mine)
                .set((
                    j::state.eq(state),
                    j::run_after.eq(run_after),
                    j::lease_until.eq(None::<i64>),
                    j::outcome.eq(outcome),
                    j::attempts.eq(attempts),
                    j::finished_at.eq(finished),
                ))
                .execute(conn)?;
            Ok(())
        }))
    }

    fn schedule_job_impl(
        &self,
        kind: JobKind,
        every_ms: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        use crate::schema::job_schedules::dsl as s;
        with_write_conn!(self, |conn| conn.transaction(|conn| {
            // The first node to see this schedule starts it one period from now.
            diesel::insert_into(s::job_schedules)
                .values((s::kind.eq(kind.as_str()), s::next_at.eq(now + every_ms)))
                .on_conflict_do_nothing()
                .execute(conn)?;
            // A shorter period than the stored schedule was made with takes effect now.
            diesel::update(s::job_schedules.find(kind.as_str()))
                .filter(s::next_at.gt(now + every_ms))
                .set(s::next_at.eq(now + every_ms))
                .execute(conn)?;
            // Compare and set: of the nodes that find the period due, one moves it on.
            let won = diesel::update(s::job_schedules.find(kind.as_str()))
                .filter(s::next_at.le(now))
                .set(s::next_at.eq(now + every_ms))
                .execute(conn)?
                == 1;
            if won {
                enqueue_job!(conn, kind, "", now);
            }
            Ok::<_, StoreError>(won)
        }))
    }

    fn prune_jobs_impl(&self, finished_before: i64) -> Result<usize, StoreError> {
        use crate::schema::jobs::dsl as j;
        Ok(with_write_conn!(self, |conn| diesel::delete(
            j::jobs
                .filter(j::state.eq_any(["done", "failed"]))
                .filter(j::finished_at.lt(finished_before))
        )
        .execute(conn)?))
    }

    fn jobs_impl(&self, limit: usize) -> Result<Vec<JobRecord>, StoreError> {
        use crate::schema::jobs::dsl as j;
        let rows: Vec<JobRow> = crate::with_conn!(self, |conn| j::jobs
            .order(j::id.desc())
            .limit(limit as i64)
            .load(conn)?);
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(JobRecord {
                    id: r.id,
                    kind: JobKind::parse(&r.kind)?,
                    key: r.job_key,
                    state: JobState::parse(&r.state)?,
                    created_at: r.created_at,
                    run_after: r.run_after,
                    claimed_by: r.claimed_by,
                    lease_until: r.lease_until,
                    attempts: r.attempts,
                    finished_at: r.finished_at,
                    outcome: r.outcome,
                })
            })
            .collect())
    }
}

fn is_pg<C: JobConn>(_: &C) -> bool {
    C::PG
}

impl JobStore for Store {
    fn enqueue_job(&self, kind: JobKind, key: &str, run_after: i64) -> Result<(), PortError> {
        Ok(self.enqueue_job_impl(kind, key, run_after)?)
    }

    fn claim_job(
        &self,
        node: &str,
        kinds: &[JobKind],
        key: Option<&str>,
        now: i64,
        due_by: i64,
        lease_ms: i64,
    ) -> Result<Option<Job>, PortError> {
        Ok(self.claim_job_impl(node, kinds, key, now, due_by, lease_ms)?)
    }

    fn renew_job(&self, id: i64, node: &str, lease_until: i64) -> Result<bool, PortError> {
        Ok(self.renew_job_impl(id, node, lease_until)?)
    }

    fn finish_job(&self, job: &Job, node: &str, now: i64, end: &JobEnd) -> Result<(), PortError> {
        Ok(self.finish_job_impl(job, node, now, end)?)
    }

    fn schedule_job(&self, kind: JobKind, every_ms: i64, now: i64) -> Result<bool, PortError> {
        Ok(self.schedule_job_impl(kind, every_ms, now)?)
    }

    fn jobs(&self, limit: usize) -> Result<Vec<JobRecord>, PortError> {
        Ok(self.jobs_impl(limit)?)
    }

    fn prune_jobs(&self, finished_before: i64) -> Result<usize, PortError> {
        Ok(self.prune_jobs_impl(finished_before)?)
    }
}
