//! Background work that must run exactly once, whichever of several nodes runs it: what a job
//! is, the states it goes through, and how long a node may hold one.
//!
//! A job is written in the transaction of the change that calls for it (an approved mapping
//! calls for its hospital's held results to be released; a new release for the registry gaps
//! to be normalized again), or by the one node that wins a schedule's period. A node *claims*
//! a job for a lease and renews the lease while it works; a node that dies stops renewing, and
//! once the lease has run out another node claims the job again and resumes it. Every job is
//! written so that running it again after a partial run finishes the work without doing any
//! part twice: a released result is no longer held, a normalized gap is no longer a gap.
//!
//! The storage side (`JobStore` in `ports`) serializes claims of the same kind and key, so two
//! nodes never work on the same hospital's queue at once.

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Release the held results of a hospital's unmapped queue whose mapping is now approved;
    /// the key is the hospital id.
    ReleaseHeld,
    /// After a registry release: move mappings to LOINC terms the release gave a national code,
    /// and normalize again the results kept under such codes. The key is empty.
    ReleaseGaps,
    /// Recompute every hospital's hash chain and record the outcome (scheduled). The key is
    /// empty.
    VerifyIntegrity,
}

impl JobKind {
    /// Every kind.
    pub const ALL: [JobKind; 3] = [
        JobKind::ReleaseHeld,
        JobKind::ReleaseGaps,
        JobKind::VerifyIntegrity,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::ReleaseHeld => "release-held",
            JobKind::ReleaseGaps => "release-gaps",
            JobKind::VerifyIntegrity => "verify-integrity",
        }
    }

    /// The kind of a stored name.
    pub fn parse(s: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for a node (from `run_after` on).
    Queued,
    /// Claimed by a node until its lease runs out.
    Running,
    /// Finished; its outcome says what it did.
    Done,
    /// Gave up after [`MAX_ATTEMPTS`] attempts; its outcome says why.
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        [
            JobState::Queued,
            JobState::Running,
            JobState::Done,
            JobState::Failed,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A job a node has claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    pub key: String,
    /// How many times it has been claimed, this claim included.
    pub attempts: i32,
}

/// A stored job, as the job list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub id: i64,
    pub kind: JobKind,
    pub key: String,
    pub state: JobState,
    /// Unix milliseconds.
    pub created_at: i64,
    pub run_after: i64,
    /// The node that holds or last held it.
    pub claimed_by: Option<String>,
    pub lease_until: Option<i64>,
    pub attempts: i32,
    pub finished_at: Option<i64>,
    /// What it did, or the last error.
    pub outcome: String,
}

/// How a claimed job ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobEnd {
    /// It did its work; the text says what.
    Done(String),
    /// It failed; it is tried again later (after [`retry_delay_ms`]) unless it has had
    /// [`MAX_ATTEMPTS`], or another job of the same kind and key is already waiting to do the
    /// same work.
    Failed(String),
    /// This node cannot run it yet (its catalog is behind the database): back to the queue at
    /// once, for this or another node, without counting as an attempt.
    NotYet,
}

/// How long a claim holds a job without being renewed.
pub const LEASE_MS: i64 = 30_000;

/// How long a job queued by a request that runs it itself (an approval releasing its
/// hospital's held results) waits before the job loops may claim it. The request claims it
/// first, at once, so its answer says what the job did; if the request's node dies between
/// its commit and its claim, a loop runs the job once this has passed.
pub const ASKER_FIRST_MS: i64 = 2_000;

/// How often a node renews the lease of a job it is running.
pub const RENEW_EVERY_MS: i64 = LEASE_MS / 3;

/// How long ended jobs are kept in the job list (30 days).
pub const KEEP_ENDED_MS: i64 = 30 * 24 * 3600 * 1000;

/// Attempts after which a failing job is left as failed.
pub const MAX_ATTEMPTS: i32 = 10;

/// How long a job that failed its `attempts`-th attempt waits: 1 s, doubling, at most 5 min.
pub fn retry_delay_ms(attempts: i32) -> i64 {
    let shift = attempts.clamp(1, 20) - 1;
    (1_000i64 << shift).min(300_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_states_round_trip_through_their_names() {
        for k in JobKind::ALL {
            assert_eq!(JobKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(JobKind::parse("release"), None);
        for s in ["queued", "running", "done", "failed"] {
            assert_eq!(JobState::parse(s).map(JobState::as_str), Some(s));
        }
    }

    #[test]
    fn retries_back_off_to_five_minutes() {
        assert_eq!(retry_delay_ms(1), 1_000);
        assert_eq!(retry_delay_ms(2), 2_000);
        assert_eq!(retry_delay_ms(5), 16_000);
        assert_eq!(retry_delay_ms(9), 256_000);
        assert_eq!(retry_delay_ms(10), 300_000);
        assert_eq!(retry_delay_ms(i32::MAX), 300_000);
        assert_eq!(retry_delay_ms(0), 1_000);
    }
}
