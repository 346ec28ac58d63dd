//! `$lookup` and search on a registry holding a 100,000-term LOINC release (the synthetic
//! `Loinc.csv` of `huren_testkit::loinc_table`) beside the national seed.
//!
//! `cargo bench -p huren-benches --bench registry`
//!
//! Three levels, so a regression can be placed: the registry and FHIR rendering in process,
//! the search index in process, and whole HTTP requests (JWT check, routing, JSON) to the
//! real server on loopback with a keep-alive connection.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use huren::registry_ops::{ImportOutcome, import_codes, load_catalog};
use huren_core::concept::Language;
use huren_core::{CodeSystem, Concept};
use huren_fhir::{LookupInput, Urls};
use huren_http::Catalog;
use huren_store::Store;
use huren_testkit::loinc_table::{loinc_csv, loinc_num};
use huren_testkit::token;

const ROWS: usize = 100_000;

struct Fixture {
    catalog: Catalog,
    addr: std::net::SocketAddr,
    _dir: tempfile::TempDir,
}

/// A SQLite database with the seed and the 100k release, its catalog, and the server on it.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = Store::connect(&db).unwrap();
    store.migrate().unwrap();
    huren::seed::seed_if_empty(&store).unwrap();
    let csv = loinc_csv(ROWS);
    match import_codes(
        &store,
        &csv,
        CodeSystem::Loinc,
        "bench-100k",
        "bench",
        &mut |_| {},
    )
    .unwrap()
    {
        ImportOutcome::Imported(r) => assert_eq!(r.concept_count, ROWS as i64),
        ImportOutcome::Rejected(p) => {
            panic!("generated table rejected: {:?}", &p[..p.len().min(5)])
        }
    }
    let catalog = load_catalog(&store).unwrap();

    let addr = huren_benches::ingest_fixture::serve(&db, dir.path(), 1);
    Fixture {
        catalog,
        addr,
        _dir: dir,
    }
}

fn lookup_in_process(c: &mut Criterion, f: &Fixture) {
    let urls = Urls::new("http://huren.example/fhir");
    let registry = &f.catalog.registry;
    let mut group = c.benchmark_group("lookup/in_process");
    for (name, system, code) in [
        ("national", CodeSystem::National, "9000033-2".to_owned()),
        ("loinc_100k", CodeSystem::Loinc, loinc_num(54_321)),
    ] {
        let release = registry.current(system).unwrap().release.clone();
        group.bench_function(name, |b| {
            b.iter(|| {
                let concept = registry.lookup(system, black_box(&code)).unwrap();
                let equivalents: Vec<&Concept> = registry
                    .lookup(CodeSystem::Loinc, &concept.loinc)
                    .map(|c| vec![&**c])
                    .unwrap_or_default();
                huren_fhir::lookup(
                    &urls,
                    &LookupInput {
                        system,
                        release: &release,
                        concept,
                        lang: Language::Zh,
                        equivalents,
                    },
                )
            })
        });
    }
    group.finish();
}

fn search(c: &mut Criterion, f: &Fixture) {
    let mut group = c.benchmark_group("search");
    let code = loinc_num(54_321);
    let queries = [
        (CodeSystem::National, "血糖"),
        (CodeSystem::National, "谷丙转氨酶"),
        (CodeSystem::National, "ALT"),
        (CodeSystem::Loinc, "glucose"),
        (CodeSystem::Loinc, "alanine aminotransferase"),
        (CodeSystem::Loinc, "HbA1c"),
        (CodeSystem::Loinc, "serum"),
        (CodeSystem::Loinc, "glucse serum"),
        (CodeSystem::Loinc, code.as_str()),
    ];
    // The catalog's index keeps the pages it was asked (what a repeated `$expand` gets); a
    // second index of the same registry measures the search itself.
    let index = huren_search::SearchIndex::build(&f.catalog.registry).unwrap();
    for (system, text) in queries {
        let page = index.search_uncached(system, text, 0, 10).unwrap();
        assert!(!page.codes.is_empty(), "{text} finds nothing");
        group.bench_with_input(BenchmarkId::new(system.as_str(), text), &text, |b, text| {
            b.iter(|| index.search_uncached(system, black_box(text), 0, 10))
        });
        let id = format!("{text} (kept page)");
        group.bench_with_input(BenchmarkId::new(system.as_str(), id), &text, |b, text| {
            b.iter(|| f.catalog.search.search(system, black_box(text), 0, 10))
        });
    }
    group.finish();
}

fn http(c: &mut Criterion, f: &Fixture) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let bearer = format!("Bearer {}", token("clinician", None));
    let base = format!("http://{}", f.addr);
    let get = |path: &str| {
        let mut r = agent
            .get(format!("{base}{path}"))
            .header("Authorization", &bearer)
            .call()
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.body_mut().read_to_vec().unwrap()
    };
    let mut group = c.benchmark_group("http");
    let national = "/fhir/CodeSystem/$lookup?system=http%3A%2F%2Fhuren.example%2Ffhir%2FCodeSystem%2Fnational-lab&code=9000033-2";
    let loinc = format!(
        "/fhir/CodeSystem/$lookup?system=http%3A%2F%2Floinc.org&code={}",
        loinc_num(54_321)
    );
    let expand = "/fhir/ValueSet/$expand?url=http%3A%2F%2Fhuren.example%2Ffhir%2FValueSet%2Fnational-lab&filter=%E8%A1%80%E7%B3%96&count=10";
    group.bench_function("lookup_national", |b| b.iter(|| get(national)));
    group.bench_function("lookup_loinc_100k", |b| b.iter(|| get(&loinc)));
    group.bench_function("expand_xuetang", |b| b.iter(|| get(expand)));
    group.finish();
}

fn benches(c: &mut Criterion) {
    let f = fixture();
    lookup_in_process(c, &f);
    search(c, &f);
    http(c, &f);
}

criterion_group! {
    name = registry;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(registry);
