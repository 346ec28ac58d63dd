//! The lab-result ingest fixture shared by the `results` and `soak` benches: a SQLite database
//! with the seed and hospital A's example mapping table (approved), the real server on it, and
//! Bundles of new Observations in hospital A's local codes and units. [`serve`] also starts the
//! server of the `registry` bench.

use std::sync::atomic::{AtomicU64, Ordering};

use huren::registry_ops::load_catalog;
use huren::{Application, Settings};
use huren_core::ports::HospitalStore;
use huren_core::{Hospital, HospitalId, MappingStatus};
use huren_fhir::Urls;
use huren_http::mapping_import::{ImportOptions, import_mappings};
use huren_store::Store;
use huren_testkit::{TEST_SECRET, repo_root};

/// Observations per Bundle.
pub const PER_BUNDLE: usize = 100;

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
pub fn bundle(local_system: &str) -> String {
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

/// The database and the server on it.
pub struct Fixture {
    pub addr: std::net::SocketAddr,
    pub store: Store,
    _dir: tempfile::TempDir,
}

/// A fresh database with the seed and hospital A's approved mappings, and the server on it
/// (2 workers).
pub fn fixture() -> Fixture {
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

    Fixture {
        addr: serve(&db, dir.path(), 2),
        store,
        _dir: dir,
    }
}

/// Starts the real server on `db` in this process (on its own thread and runtime), on a free
/// loopback port with the test secret and `workers` workers; returns where it listens.
pub fn serve(db: &str, data_dir: &std::path::Path, workers: usize) -> std::net::SocketAddr {
    let mut settings = Settings::new(db);
    settings.addr = "127.0.0.1:0".into();
    settings.jwt_secret = Some(huren::config::Secret::new(TEST_SECRET));
    settings.data_dir = data_dir.to_path_buf();
    settings.workers = Some(workers);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = Application::build(settings).await.unwrap();
            tx.send(app.addr()).unwrap();
            app.run().await.unwrap();
        })
    });
    rx.recv().unwrap()
}

/// An HTTP client that reads error statuses as answers.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// POSTs a Bundle and asserts a 200.
pub fn post(agent: &ureq::Agent, url: &str, bearer: &str, body: &str) {
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

/// Hospital A's local code system.
pub fn local_system() -> String {
    Urls::new(huren::config::DEFAULT_CANONICAL_BASE).local_code_system("hosp-a")
}
