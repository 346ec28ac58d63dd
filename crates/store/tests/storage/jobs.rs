//! Jobs: one claim per job across "nodes" (here: separate stores, each with its own pool, on
//! one database, as separate processes would be), leases that run out, retries, schedules.

use super::each_db;
use huren_core::jobs::{JobEnd, JobKind, JobState};
use huren_core::ports::JobStore;
use huren_store::Store;
use std::collections::HashSet;

const LEASE: i64 = 30_000;

#[test]
fn a_job_is_claimed_by_one_node_and_takes_in_the_waiting_requests_for_the_same_work() {
    each_db(|db, store| {
        store
            .enqueue_job(JobKind::ReleaseHeld, "h1", 1_000)
            .unwrap();
        store
            .enqueue_job(JobKind::ReleaseHeld, "h1", 1_000)
            .unwrap();
        store
            .enqueue_job(JobKind::ReleaseHeld, "h2", 1_000)
            .unwrap();
        assert_eq!(store.jobs(10).unwrap().len(), 3, "{db:?}");
        // Not due yet.
        let none = store
            .claim_job("n1", &[JobKind::ReleaseHeld], None, 999, 999, LEASE)
            .unwrap();
        assert_eq!(none, None, "{db:?}");
        // Eight nodes race for two jobs: each job goes to exactly one.
        let url = db.url().to_owned();
        let claims: Vec<_> = (0..8)
            .map(|n| {
                let url = url.clone();
                std::thread::spawn(move || {
                    let node = Store::connect_with(&url, Some(2)).unwrap();
                    node.claim_job(
                        &format!("n{n}"),
                        &[JobKind::ReleaseHeld],
                        None,
                        2_000,
                        2_000,
                        LEASE,
                    )
                    .unwrap()
                })
            })
            .collect();
        let won: Vec<_> = claims
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect();
        assert_eq!(won.len(), 2, "{db:?}: {won:?}");
        let ids: HashSet<i64> = won.iter().map(|j| j.id).collect();
        assert_eq!(ids.len(), 2, "{db:?}: no job claimed twice");
        assert_eq!(
            won.iter().map(|j| j.key.as_str()).collect::<HashSet<_>>(),
            HashSet::from(["h1", "h2"]),
            "{db:?}"
        );
        // The second request for h1 ended with the first one's claim.
        let h1_first = won.iter().find(|j| j.key == "h1").unwrap().id;
        let joined: Vec<_> = store
            .jobs(10)
            .unwrap()
            .into_iter()
            .filter(|j| j.key == "h1" && j.id != h1_first)
            .collect();
        assert_eq!(joined.len(), 1, "{db:?}");
        assert_eq!(
            (joined[0].state, joined[0].outcome.clone()),
            (JobState::Done, format!("joined job {h1_first}")),
            "{db:?}"
        );
        // While they run, a new request for h1 waits, and no node takes it before h1's running
        // job ends (the same hospital's queue is never worked on twice at once).
        store
            .enqueue_job(JobKind::ReleaseHeld, "h1", 1_000)
            .unwrap();
        assert_eq!(
            store
                .claim_job("n9", &[JobKind::ReleaseHeld], None, 3_000, 3_000, LEASE)
                .unwrap(),
            None,
            "{db:?}"
        );
        let h1 = won.iter().find(|j| j.key == "h1").unwrap();
        let jobs = store.jobs(10).unwrap();
        let running = jobs.iter().find(|j| j.id == h1.id).unwrap();
        let node = running.claimed_by.clone().unwrap();
        // A node that does not hold it cannot end it.
        store
            .finish_job(h1, "someone-else", 3_000, &JobEnd::Done("x".into()))
            .unwrap();
        assert_eq!(
            store
                .jobs(10)
                .unwrap()
                .iter()
                .find(|j| j.id == h1.id)
                .unwrap()
                .state,
            JobState::Running,
            "{db:?}"
        );
        store
            .finish_job(h1, &node, 3_000, &JobEnd::Done("released 3".into()))
            .unwrap();
        let next = store
            .claim_job(
                "n9",
                &[JobKind::ReleaseHeld],
                Some("h1"),
                3_001,
                3_001,
                LEASE,
            )
            .unwrap()
            .expect("the waiting h1 job, now that h1's running one ended");
        assert_ne!(next.id, h1.id, "{db:?}");
        let done = store.jobs(10).unwrap();
        assert_eq!(done.len(), 4, "{db:?}");
        let first = done.iter().find(|j| j.id == h1.id).unwrap();
        assert_eq!(
            (first.state, first.outcome.as_str(), first.finished_at),
            (JobState::Done, "released 3", Some(3_000)),
            "{db:?}"
        );
    });
}

#[test]
fn a_dead_nodes_job_is_resumed_after_its_lease_and_renewal_keeps_it() {
    each_db(|db, store| {
        store.enqueue_job(JobKind::ReleaseGaps, "", 0).unwrap();
        let job = store
            .claim_job("dies", &[JobKind::ReleaseGaps], None, 1_000, 1_000, LEASE)
            .unwrap()
            .unwrap();
        assert_eq!(job.attempts, 1);
        // Renewed at 20 s: still held at 40 s.
        assert!(store.renew_job(job.id, "dies", 20_000 + LEASE).unwrap());
        assert_eq!(
            store
                .claim_job(
                    "other",
                    &[JobKind::ReleaseGaps],
                    None,
                    40_000,
                    40_000,
                    LEASE
                )
                .unwrap(),
            None,
            "{db:?}: the lease was renewed"
        );
        // No renewal after that: at 50,001 the lease has run out and another node resumes.
        let resumed = store
            .claim_job(
                "other",
                &[JobKind::ReleaseGaps],
                None,
                50_001,
                50_001,
                LEASE,
            )
            .unwrap()
            .expect("the dead node's job");
        assert_eq!((resumed.id, resumed.attempts), (job.id, 2), "{db:?}");
        assert!(
            !store.renew_job(job.id, "dies", 60_000).unwrap(),
            "{db:?}: the old holder lost it"
        );
        store
            .finish_job(&resumed, "other", 51_000, &JobEnd::Done("ok".into()))
            .unwrap();
        let rec = &store.jobs(1).unwrap()[0];
        assert_eq!(
            (rec.state, rec.claimed_by.as_deref()),
            (JobState::Done, Some("other")),
            "{db:?}"
        );
    });
}

#[test]
fn failed_jobs_retry_later_and_a_job_a_node_cannot_run_yet_goes_back() {
    each_db(|db, store| {
        store.enqueue_job(JobKind::ReleaseGaps, "", 0).unwrap();
        let job = store
            .claim_job("n1", &[JobKind::ReleaseGaps], None, 1_000, 1_000, LEASE)
            .unwrap()
            .unwrap();
        store
            .finish_job(&job, "n1", 1_000, &JobEnd::NotYet)
            .unwrap();
        let again = store
            .claim_job("n2", &[JobKind::ReleaseGaps], None, 1_500, 1_500, LEASE)
            .unwrap()
            .expect("back in the queue");
        assert_eq!(
            (again.id, again.attempts),
            (job.id, 1),
            "{db:?}: not an attempt"
        );
        store
            .finish_job(&again, "n2", 2_000, &JobEnd::Failed("disk full".into()))
            .unwrap();
        assert_eq!(
            store
                .claim_job("n2", &[JobKind::ReleaseGaps], None, 2_500, 2_500, LEASE)
                .unwrap(),
            None,
            "{db:?}: waits its retry delay"
        );
        let retried = store
            .claim_job("n2", &[JobKind::ReleaseGaps], None, 3_000, 3_000, LEASE)
            .unwrap()
            .expect("retried after 1 s");
        assert_eq!(retried.attempts, 2, "{db:?}");
        let rec = &store.jobs(1).unwrap()[0];
        assert_eq!(rec.outcome, "disk full", "{db:?}: the last error is kept");
        // Only the kinds asked for are claimed.
        store.enqueue_job(JobKind::VerifyIntegrity, "", 0).unwrap();
        assert_eq!(
            store
                .claim_job("n3", &[JobKind::ReleaseHeld], None, 9_000, 9_000, LEASE)
                .unwrap(),
            None,
            "{db:?}"
        );
    });
}

#[test]
fn a_schedule_queues_one_job_per_period_whatever_the_number_of_nodes() {
    each_db(|db, store| {
        let every = 10_000;
        // The first node to look starts the schedule one period on.
        assert!(
            !store
                .schedule_job(JobKind::VerifyIntegrity, every, 0)
                .unwrap()
        );
        assert!(
            !store
                .schedule_job(JobKind::VerifyIntegrity, every, 9_999)
                .unwrap()
        );
        let url = db.url().to_owned();
        for period in 1..=3 {
            let now = period * every + 5;
            let wins: Vec<bool> = (0..6)
                .map(|_| {
                    let url = url.clone();
                    std::thread::spawn(move || {
                        Store::connect_with(&url, Some(2))
                            .unwrap()
                            .schedule_job(JobKind::VerifyIntegrity, every, now)
                            .unwrap()
                    })
                })
                .collect::<Vec<_>>()
                .into_iter()
                .map(|h| h.join().unwrap())
                .collect();
            assert_eq!(
                wins.iter().filter(|w| **w).count(),
                1,
                "{db:?}: period {period}: {wins:?}"
            );
            let job = store
                .claim_job("n", &[JobKind::VerifyIntegrity], None, now, now, LEASE)
                .unwrap()
                .unwrap();
            store
                .finish_job(&job, "n", now, &JobEnd::Done("intact".into()))
                .unwrap();
        }
        assert_eq!(store.jobs(10).unwrap().len(), 3, "{db:?}");
        // Ended jobs are pruned by age; a waiting one never is.
        store.enqueue_job(JobKind::ReleaseHeld, "h9", 0).unwrap();
        assert_eq!(store.prune_jobs(2 * every + 6).unwrap(), 2, "{db:?}");
        let left: Vec<_> = store
            .jobs(10)
            .unwrap()
            .into_iter()
            .map(|j| j.state)
            .collect();
        assert_eq!(left, [JobState::Queued, JobState::Done], "{db:?}");
    });
}

#[test]
fn the_request_that_queued_a_job_claims_it_before_the_job_loops() {
    each_db(|db, store| {
        // An approval at t=1000 queues its job for the loops from t=6000 on.
        store
            .enqueue_job(JobKind::ReleaseHeld, "h1", 6_000)
            .unwrap();
        // Another approval's job, queued just before, due now.
        store.enqueue_job(JobKind::ReleaseHeld, "h1", 900).unwrap();
        // A loop at t=1000 sees the older job due, and takes in only what is due by then.
        let looped = store
            .claim_job("loop", &JobKind::ALL, None, 1_000, 1_000, LEASE)
            .unwrap()
            .expect("the due job");
        store
            .finish_job(&looped, "loop", 1_001, &JobEnd::Done("released 0".into()))
            .unwrap();
        assert_eq!(
            store
                .claim_job("loop", &JobKind::ALL, None, 1_002, 1_002, LEASE)
                .unwrap(),
            None,
            "{db:?}: the approval's job is the request's to run first"
        );
        // The request claims its own job early.
        let mine = store
            .claim_job(
                "asker",
                &[JobKind::ReleaseHeld],
                Some("h1"),
                1_003,
                6_003,
                LEASE,
            )
            .unwrap()
            .expect("the request's own job");
        assert_ne!(mine.id, looped.id, "{db:?}");
        assert_eq!(mine.attempts, 1, "{db:?}");
    });
}
