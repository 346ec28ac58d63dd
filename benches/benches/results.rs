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

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use huren::registry_ops::load_catalog;
use huren::{Application, Settings};
use huren_core::ports::HospitalStore;
use huren_core::{Hospital, HospitalId, MappingStatus};
use huren_fhir::Urls;
use huren_fhir::observation::{IngestContext, read_bundle};
use huren_http::ingest::{ResultsConfig, prepare};
use huren_http::mapping_import::{ImportOptions, import_mappings};
use huren_store::Store;
use huren_testkit::{TEST_SECRET, repo_root, token_for};

const PER_BUNDLE: usize = 100;

/// (local code, unit as the LIS writes it, a typical value).
const TESTS: &[(&str, &str, &str)] = &[
    ("001", "x10^9/L", "6.1"),
    ("003", "g/dl", "14.2"),
    ("007", "K/uL", "230"),
    ("008", "U/L", "35"),
    ("011", "mg/dl", "0.9"),
    ("014", "mg/dl", "1.10"),
    ("016", "mg/dl", "100"),
    ("017", "mg/dl", "185"),
    ("021", "mEq/L", "4.1"),
    ("022", "mEq/L", "140"),
];

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A batch Bundle of `PER_BUNDLE` new Observations.
fn bundle(local_system: &str) -> String {
    let mut entries = Vec::with_capacity(PER_BUNDLE);
    for _ in 0..PER_BUNDLE {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let (code, unit, value) = TESTS[(n as usize) % TESTS.len()];
        let patient = n / 20;
        entries.push(format!(
            r#"{{"resource":{{"resourceType":"Observation","identifier":[{{"system":"urn:lis:hosp-a","value":"R{n}"}}],"status":"final","category":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}}]}}],"code":{{"coding":[{{"system":"{local_system}","code":"{code}","display":"test {code}"}}]}},"subject":{{"identifier":{{"system":"urn:huren:id:national-patient","value":"4201061980{patient:08}"}}}},"effectiveDateTime":"2026-11-20T08:12:00+08:00","valueQuantity":{{"value":{value},"unit":"{unit}"}},"referenceRange":[{{"text":"1-200"}}]}},"request":{{"method":"POST","url":"Observation"}}}}"#
        ));
    }
    format!(
        r#"{{"resourceType":"Bundle","type":"batch","entry":[{}]}}"#,
        entries.join(",")
    )
}

struct Fixture {
    addr: std::net::SocketAddr,
    store: Store,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = Store::connect(&db).unwrap();
    store.migrate().unwrap();
    huren::seed::seed_if_empty(&store).unwrap();
    let hospital = HospitalId::parse("hosp-a").unwrap();
    store
        .upsert_hospital(&Hospital {
            id: hospital.clone(),
            name: "A".into(),
            province: String::new(),
            city: String::new(),
            level: String::new(),
            lab: Default::default(),
        })
        .unwrap();
    let catalog = load_catalog(&store).unwrap();
    let csv = std::fs::read(repo_root().join("mappings/hosp-a-zh.csv")).unwrap();
    let report = import_mappings(
        &store,
        &catalog.registry,
        &hospital,
        &csv,
        &ImportOptions {
            status: Some(MappingStatus::Approved),
            two_person_rule: false,
            actor: "bench".into(),
            now: 1,
            ..ImportOptions::default()
        },
        &mut |_| {},
    )
    .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);

    let mut settings = Settings::new(db);
    settings.addr = "127.0.0.1:0".into();
    settings.jwt_secret = Some(huren::config::Secret::new(TEST_SECRET));
    settings.data_dir = dir.path().to_path_buf();
    settings.workers = Some(2);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = Application::build(settings).await.unwrap();
            tx.send(app.addr()).unwrap();
            app.run().await.unwrap();
        })
    });
    Fixture {
        addr: rx.recv().unwrap(),
        store,
        _dir: dir,
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn post(agent: &ureq::Agent, url: &str, bearer: &str, body: &str) {
    let mut resp = agent
        .post(url)
        .header("Authorization", bearer)
        .header("Content-Type", "application/fhir+json")
        .send(body)
        .unwrap();
    let text = resp.body_mut().read_to_string().unwrap();
    assert_eq!(resp.status(), 200, "{text}");
    debug_assert!(!text.contains("400 Bad Request"), "{text}");
}

fn local_system() -> String {
    Urls::new(huren::config::DEFAULT_CANONICAL_BASE).local_code_system("hosp-a")
}

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
