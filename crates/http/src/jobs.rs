//! What each background job does (`huren_core::jobs`), and the one place that claims, runs and
//! ends them. The server's job loop runs whatever is due on any node; a request that approved a
//! mapping runs its hospital's job at once ([`release_now`]) so the curator sees the results it
//! released in the answer, and leaves it to the loops when another node already works on
//! that hospital.

use crate::state::AppState;
use huren_core::HospitalId;
use huren_core::jobs::{ASKER_FIRST_MS, Job, JobEnd, JobKind, LEASE_MS};
use huren_core::ports::{PortError, Storage};

/// Unix milliseconds now.
fn now_millis() -> i64 {
    crate::mapping_import::now_millis()
}

/// Does `job`'s work with `store` (the service itself, or the store acting as the user whose
/// request called for it). `Ok` says how the claim ends — done with what it did, or not yet
/// (this node's catalog does not hold every release yet) — and how many results it wrote.
///
/// # Errors
///
/// A storage failure: the job is tried again later.
fn perform(state: &AppState, store: &dyn Storage, job: &Job) -> Result<(JobEnd, usize), PortError> {
    let now = now_millis();
    match job.kind {
        JobKind::ReleaseHeld => {
            let Ok(hospital) = HospitalId::parse(&job.key) else {
                return Ok((JobEnd::Done(format!("no hospital `{}`", job.key)), 0));
            };
            let codes: Vec<String> = state
                .store
                .unmapped_codes(&hospital)?
                .into_iter()
                .map(|u| u.local_code)
                .collect();
            let n = crate::ingest::release_held(state, store, &hospital, &codes, now)?;
            Ok((JobEnd::Done(format!("released {n} held results")), n))
        }
        JobKind::ReleaseGaps => {
            // The work needs the release that queued it: a node whose catalog is behind the
            // database gives the job back (its watcher reloads within a refresh period).
            let stored = state.store.releases()?.len();
            if state.catalog().registry.releases().len() < stored {
                return Ok((JobEnd::NotYet, 0));
            }
            let n = crate::ingest::release_gaps(state, now)?;
            let text = format!("normalized again {n} results kept under codes the registry lacked");
            Ok((JobEnd::Done(text), n))
        }
        JobKind::VerifyIntegrity => {
            let reports = store.verify_chains(None)?;
            let links: i64 = reports.iter().map(|r| r.links).sum();
            let broken: Vec<String> = reports
                .iter()
                .filter_map(|r| {
                    r.broken
                        .as_ref()
                        .map(|b| format!("{} at link {}", r.hospital, b.seq))
                })
                .collect();
            let text = if broken.is_empty() {
                format!("{} chains, {links} links: intact", reports.len())
            } else {
                tracing::error!(broken = %broken.join("; "), "hash chains broken");
                format!(
                    "{} chains, {links} links: BROKEN: {}",
                    reports.len(),
                    broken.join("; ")
                )
            };
            Ok((JobEnd::Done(text), 0))
        }
    }
}

/// Runs a claimed job and ends the claim; a storage failure ends it as failed (to be tried
/// again). Returns how the claim ended and how many results the job wrote.
pub fn run_claimed(state: &AppState, store: &dyn Storage, job: &Job) -> (JobEnd, usize) {
    let (end, written) = match perform(state, store, job) {
        Ok(done) => done,
        Err(e) => {
            tracing::error!(job = job.id, kind = %job.kind, key = %job.key, error = %e, "job failed");
            (JobEnd::Failed(e.to_string()), 0)
        }
    };
    if let Err(e) = state.store.finish_job(job, &state.node, now_millis(), &end) {
        // The lease runs out and another claim does the job again: every job may run twice.
        tracing::error!(job = job.id, error = %e, "cannot record the end of a job");
    }
    (end, written)
}

/// After a request approved mappings of `hospital` (which queued its job in the same
/// transaction, for the job loops to take only after [`ASKER_FIRST_MS`]): runs that job here
/// and now, as `store`, and returns how many held results it released. 0 also when the job is
/// not this node's to run now — another node holds a claim on the same hospital — and one of
/// the job loops does it once that claim has ended and the head start has passed; or when it
/// failed, and is tried again later.
pub fn release_now(state: &AppState, store: &dyn Storage, hospital: &HospitalId) -> usize {
    let now = now_millis();
    let claimed = state.store.claim_job(
        &state.node,
        &[JobKind::ReleaseHeld],
        Some(hospital.as_str()),
        now,
        now + ASKER_FIRST_MS,
        LEASE_MS,
    );
    let job = match claimed {
        Ok(Some(job)) => job,
        // No approval queued one (an import of proposed rows), or another node holds a claim
        // for this hospital: the job loops run what is queued.
        Ok(None) => return 0,
        Err(e) => {
            tracing::error!(hospital = %hospital, error = %e, "cannot claim the release job");
            return 0;
        }
    };
    match run_claimed(state, store, &job) {
        (JobEnd::Done(_), n) => {
            if n > 0 {
                tracing::info!(hospital = %hospital, released = n, "held results released");
            }
            n
        }
        _ => 0,
    }
}
