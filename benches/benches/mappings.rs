//! Importing a curator's mapping CSV of 100,000 rows (target: ≥ 100,000 rows/s including
//! validation), on SQLite and, when `HUREN_TEST_PG_URL` is set, PostgreSQL.
//!
//! `cargo bench -p huren-benches --bench mappings`
//!
//! `check` is everything but the write (decode, parse, every row rule, the diff against the
//! stored table); `import` adds the one-transaction write of all rows and one history row each,
//! into a new hospital of a growing database, or of a fresh one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use huren::registry_ops::load_registry;
use huren_core::ports::HospitalStore;
use huren_core::{CodeSystem, Hospital, HospitalId};
use huren_http::mapping_import::{ImportOptions, import_mappings};
use huren_store::Store;
use huren_testkit::TestDb;
use huren_testkit::mapping_table::{Target, mapping_csv};

const ROWS: usize = 100_000;

fn hospital(store: &Store, id: &str) -> HospitalId {
    let id = HospitalId::parse(id).unwrap();
    store
        .upsert_hospital(&Hospital {
            id: id.clone(),
            name: id.to_string(),
            province: String::new(),
            city: String::new(),
            level: String::new(),
            lab: Default::default(),
        })
        .unwrap();
    id
}

fn benches(c: &mut Criterion) {
    for db in TestDb::all() {
        let backend = if db.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        };
        let store = Store::connect(db.url()).unwrap();
        store.migrate().unwrap();
        huren::seed::seed_if_empty(&store).unwrap();
        let registry = load_registry(&store).unwrap();
        let national = registry.current(CodeSystem::National).unwrap();
        let targets: Vec<Target<'_>> = national
            .concepts
            .iter()
            .map(|c| Target {
                code: &c.code,
                unit: &c.ucum_unit,
                name_zh: &c.display_zh,
            })
            .collect();
        let csv = mapping_csv(ROWS, &targets);
        let options = |dry_run| ImportOptions {
            dry_run,
            actor: "bench".into(),
            now: 1,
            ..ImportOptions::default()
        };
        // The generated table must be clean, or the bench would measure rejection.
        let probe = hospital(&store, "probe");
        let report =
            import_mappings(&store, &registry, &probe, &csv, &options(true), &mut |_| {}).unwrap();
        assert!(
            report.problems.is_empty(),
            "{:?}",
            &report.problems[..3.min(report.problems.len())]
        );

        let mut group = c.benchmark_group(format!("mapping_import/{backend}"));
        group.throughput(Throughput::Elements(ROWS as u64));
        group.sample_size(10);
        group.bench_function("check_100k", |b| {
            b.iter(|| {
                import_mappings(&store, &registry, &probe, &csv, &options(true), &mut |_| {})
                    .unwrap()
            })
        });
        // Into a new hospital of the bench's database, which grows by 100k mappings and 100k
        // history rows per iteration (a province-sized table after a few iterations).
        let n = AtomicUsize::new(0);
        group.bench_function("import_100k_growing_db", |b| {
            b.iter_batched(
                || {
                    hospital(
                        &store,
                        &format!("bench-{}", n.fetch_add(1, Ordering::Relaxed)),
                    )
                },
                |h| {
                    let r =
                        import_mappings(&store, &registry, &h, &csv, &options(false), &mut |_| {})
                            .unwrap();
                    assert!(r.written && r.created == ROWS);
                },
                BatchSize::PerIteration,
            )
        });
        // Into a fresh database each time (created, migrated and seeded outside the timing):
        // a hospital's first import.
        if !db.is_postgres() {
            group.bench_function("import_100k_fresh_db", |b| {
                b.iter_batched(
                    || {
                        let fresh = TestDb::sqlite();
                        let store = Store::connect(fresh.url()).unwrap();
                        store.migrate().unwrap();
                        huren::seed::seed_if_empty(&store).unwrap();
                        let h = hospital(&store, "fresh");
                        (fresh, store, h)
                    },
                    |(_fresh, store, h)| {
                        let r = import_mappings(
                            &store,
                            &registry,
                            &h,
                            &csv,
                            &options(false),
                            &mut |_| {},
                        )
                        .unwrap();
                        assert!(r.written && r.created == ROWS);
                    },
                    BatchSize::PerIteration,
                )
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = mappings;
    config = Criterion::default().measurement_time(Duration::from_secs(20)).warm_up_time(Duration::from_secs(2));
    targets = benches
}
criterion_main!(mappings);
