//! Lab results through HTTP into SQLite (target: ≥ 50,000 Observations/s in Bundles of 100),
//! and in-process normalization against a plain `serde_json` parse + serialize of the same
//! Bundle.
//!
//! `cargo bench -p huren-benches --bench results`
//!
//! Every Bundle is a `batch` of 100 Observations in hospital A's local codes (the example table
//! `mappings/hosp-a-zh.csv`, approved), in the units its LIS writes (`mg/dl`, `mEq/L`, `x10^9/L`),
//! so each result is mapped, converted (mass → molar with the code switch where it applies),
//! given a reference range and an interpretation, and stored with its subjects. Identifiers
//! never repeat, so every Observation is a new row.

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use huren::registry_ops::load_catalog;
use huren_benches::ingest_fixture::{
    Fixture, PER_BUNDLE, agent, bundle, fixture, local_system, post,
};
use huren_core::HospitalId;
use huren_fhir::Urls;
use huren_fhir::observation::{IngestContext, read_bundle};
use huren_http::ingest::{ResultsConfig, prepare};
use huren_testkit::{TEST_SECRET, token_for};

fn http(c: &mut Criterion, f: &Fixture) {
    let url = format!("http://{}/fhir", f.addr);
    let bearer = format!(
        "Bearer {}",
        token_for(TEST_SECRET, "lis", "system", Some("hosp-a"), 3600)
    );
    let system = local_system();
    // Check once that every result is mapped and stored, not held or refused.
    let probe = agent()
        .post(&url)
        .header("Authorization", &bearer)
        .header("Content-Type", "application/fhir+json")
        .send(bundle(&system))
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert_eq!(
        probe.matches("201 Created").count(),
        PER_BUNDLE,
        "{}",
        &probe[..probe.len().min(2000)]
    );

    let mut group = c.benchmark_group("results_http_sqlite");
    group.throughput(Throughput::Elements(PER_BUNDLE as u64));
    group.sample_size(30);
    let a = agent();
    group.bench_function("bundle_100_one_client", |b| {
        b.iter_batched(
            || bundle(&system),
            |body| post(&a, &url, &bearer, &body),
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();

    // The load harness: several clients at once for a fixed time, as LIS interfaces would.
    for clients in [2, 4] {
        let bodies: Vec<Vec<String>> = (0..clients)
            .map(|_| (0..60).map(|_| bundle(&system)).collect())
            .collect();
        let start = Instant::now();
        let handles: Vec<_> = bodies
            .into_iter()
            .map(|bodies| {
                let (url, bearer) = (url.clone(), bearer.clone());
                std::thread::spawn(move || {
                    let a = agent();
                    for b in &bodies {
                        post(&a, &url, &bearer, b);
                    }
                    bodies.len()
                })
            })
            .collect();
        let bundles: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        let secs = start.elapsed().as_secs_f64();
        let observations = bundles * PER_BUNDLE;
        println!(
            "load: {clients} clients, {bundles} bundles = {observations} Observations in {secs:.2} s = {:.0} Observations/s",
            observations as f64 / secs
        );
    }
}

fn in_process(c: &mut Criterion, f: &Fixture) {
    let catalog = load_catalog(&f.store).unwrap();
    let urls = Urls::new(huren::config::DEFAULT_CANONICAL_BASE);
    let hospital = HospitalId::parse("hosp-a").unwrap();
    let config = ResultsConfig {
        intervals: huren::seed::reference_intervals().unwrap(),
        ..ResultsConfig::default()
    };
    let patients = config.patients(&urls, &hospital);
    let text = bundle(&local_system());
    let mut group = c.benchmark_group("results_in_process");
    group.throughput(Throughput::Elements(PER_BUNDLE as u64));
    group.bench_function("serde_json_parse_serialize_bundle_100", |b| {
        b.iter(|| {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            serde_json::to_vec(&v).unwrap()
        })
    });
    group.bench_function("normalize_bundle_100", |b| {
        b.iter(|| {
            let ctx = IngestContext {
                urls: &urls,
                hospital: hospital.as_str(),
                patients: &patients,
            };
            let read = read_bundle(&text, &ctx).unwrap();
            let results = read
                .entries
                .iter()
                .filter_map(|e| e.outcome.lab_result().cloned())
                .collect();
            prepare(&f.store, &catalog, &urls, &config, &hospital, results, 1).unwrap()
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let f = fixture();
    in_process(c, &f);
    http(c, &f);
}

criterion_group! {
    name = group;
    config = Criterion::default().measurement_time(Duration::from_secs(8));
    targets = benches
}
criterion_main!(group);
