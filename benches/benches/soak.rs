//! A bounded soak: lab results through HTTP into SQLite at 80 % of the measured peak rate for a
//! fixed time, with every answer checked and the process's memory sampled. Not run in CI.
//!
//! `SOAK_SECS=600 cargo bench -p huren-benches --bench soak` (default 600 s; `SOAK_CLIENTS`,
//! default 4). Prints the peak, then one line per 30 s: Observations/s, errors, resident memory.
//! Fails when any request fails or memory keeps growing (last third of the run more than 20 %
//! above the first third).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use huren_benches::ingest_fixture::{PER_BUNDLE, agent, bundle, fixture, local_system};
use huren_testkit::{TEST_SECRET, token_for};

/// Resident memory of this process (server and clients), in MiB.
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// What the clients count, shared with the sampler.
#[derive(Clone, Default)]
struct Counters {
    sent: Arc<AtomicU64>,
    errors: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

/// One 30-second sample.
#[derive(Clone, Copy)]
struct Sample {
    at: f64,
    rate: f64,
    errors: u64,
    rss: f64,
}

/// Sends Bundles to `url` from `clients` threads for `secs`, each client pausing so that
/// together they send at most `rate` Bundles per second (`None`: as fast as they can),
/// counting Bundles stored whole and failures.
fn drive(url: &str, bearer: &str, clients: usize, secs: f64, rate: Option<f64>, c: &Counters) {
    let system = local_system();
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let (url, bearer, system) = (url.to_owned(), bearer.to_owned(), system.clone());
            let Counters { sent, errors, stop } = c.clone();
            std::thread::spawn(move || {
                let a = agent();
                let started = Instant::now();
                let interval = rate.map(|r| Duration::from_secs_f64(clients as f64 / r));
                let mut next = Instant::now();
                while started.elapsed().as_secs_f64() < secs && !stop.load(Ordering::Relaxed) {
                    let ok = a
                        .post(&url)
                        .header("Authorization", &bearer)
                        .header("Content-Type", "application/fhir+json")
                        .send(bundle(&system))
                        .map(|mut r| {
                            let status = r.status().as_u16();
                            let text = r.body_mut().read_to_string().unwrap_or_default();
                            status == 200 && text.matches("201 Created").count() == PER_BUNDLE
                        })
                        .unwrap_or(false);
                    let counter = if ok { &sent } else { &errors };
                    counter.fetch_add(1, Ordering::Relaxed);
                    if let Some(i) = interval {
                        next += i;
                        if let Some(wait) = next.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        }
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::args().skip(1).any(|a| !a.starts_with("--")) {
        return;
    }
    let secs: f64 = env_or("SOAK_SECS", 600.0);
    let clients: usize = env_or("SOAK_CLIENTS", 4);
    let f = fixture();
    let url = format!("http://{}/fhir", f.addr);
    let bearer = format!(
        "Bearer {}",
        token_for(TEST_SECRET, "lis", "system", Some("hosp-a"), 24 * 3600)
    );

    // The peak, over 15 s.
    let peak_counters = Counters::default();
    let started = Instant::now();
    drive(&url, &bearer, clients, 15.0, None, &peak_counters);
    let peak = peak_counters.sent.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    assert_eq!(
        peak_counters.errors.load(Ordering::Relaxed),
        0,
        "errors at peak"
    );
    println!(
        "peak: {clients} clients, {peak:.1} Bundles/s = {:.0} Observations/s; resident {:.0} MiB",
        peak * PER_BUNDLE as f64,
        rss_mib()
    );

    // The soak, at 80 % of it, sampled every 30 s.
    let target = 0.8 * peak;
    println!(
        "soak: {secs:.0} s at {target:.1} Bundles/s ({:.0} Observations/s)",
        target * PER_BUNDLE as f64
    );
    let counters = Counters::default();
    let samples: Arc<Mutex<Vec<Sample>>> = Arc::new(Mutex::new(Vec::new()));
    let sampler = {
        let Counters { sent, errors, stop } = counters.clone();
        let samples = samples.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut last = (0u64, Instant::now());
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(30).min(Duration::from_secs_f64(secs)));
                let now = sent.load(Ordering::Relaxed);
                let rate =
                    (now - last.0) as f64 * PER_BUNDLE as f64 / last.1.elapsed().as_secs_f64();
                last = (now, Instant::now());
                let row = Sample {
                    at: start.elapsed().as_secs_f64(),
                    rate,
                    errors: errors.load(Ordering::Relaxed),
                    rss: rss_mib(),
                };
                println!(
                    "  t={:>4.0} s  {:>6.0} Observations/s  errors {}  resident {:.0} MiB",
                    row.at, row.rate, row.errors, row.rss
                );
                samples.lock().unwrap().push(row);
            }
        })
    };
    drive(&url, &bearer, clients, secs, Some(target), &counters);
    counters.stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let total = counters.sent.load(Ordering::Relaxed) * PER_BUNDLE as u64;
    let errors = counters.errors.load(Ordering::Relaxed);
    println!(
        "soak done: {total} Observations stored, {errors} errors, {:.0} Observations/s on average",
        total as f64 / secs
    );
    let samples = samples.lock().unwrap().clone();
    assert_eq!(errors, 0, "requests failed during the soak");
    if samples.len() >= 6 {
        let third = samples.len() / 3;
        let mean = |s: &[Sample]| s.iter().map(|r| r.rss).sum::<f64>() / s.len() as f64;
        let (first, last) = (
            mean(&samples[..third]),
            mean(&samples[samples.len() - third..]),
        );
        println!("resident memory: first third {first:.0} MiB, last third {last:.0} MiB");
        assert!(
            last <= first * 1.2,
            "memory grows: {first:.0} → {last:.0} MiB"
        );
    }
}
