//! Mapping suggestions over national codes and LOINC terms: the development and held-out sets
//! (`benches/data/`, see `huren_benches::suggest_eval`) on the seed (national table + LOINC
//! Top-2000), then on a generated 100,000-term LOINC release in the official `Loinc.csv` layout
//! holding the real Top-2000 terms and a few real terms outside it
//! (`benches/data/loinc-extra-terms.csv`). Prints top-1, top-5, the precision of answers and
//! abstentions, and the time of each suggestion (the fastest of 5 runs).
//!
//! `cargo bench -p huren-benches --bench suggest` (`SUGGEST_MISSES=1` lists the misses)

use huren::registry_ops::{ImportOutcome, import_codes, load_catalog};
use huren_benches::suggest_eval::{
    EVAL_SET, EvalResult, HOLDOUT_SET, eval_rows, evaluate, real_terms,
};
use huren_core::CodeSystem;
use huren_store::Store;
use huren_testkit::loinc_table::loinc_csv_with;

const ROWS: usize = 100_000;

fn main() {
    // `cargo bench` passes `--bench`; a filter argument that is not ours means "not me".
    if std::env::args().skip(1).any(|a| !a.starts_with("--")) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("suggest.db").display());
    let store = Store::connect(&db).unwrap();
    store.migrate().unwrap();
    huren::seed::seed_if_empty(&store).unwrap();
    let sets = [
        ("development set", eval_rows(EVAL_SET).unwrap()),
        ("held-out set", eval_rows(HOLDOUT_SET).unwrap()),
    ];
    let run = |catalog: &huren_http::Catalog, registry: &str| -> Vec<EvalResult> {
        sets.iter()
            .map(|(name, rows)| {
                let r = evaluate(catalog, rows, 5);
                println!("{}", r.report(&format!("{name}, national + {registry}")));
                r
            })
            .collect()
    };

    let seed = run(&load_catalog(&store).unwrap(), "LOINC Top-2000");

    let real = real_terms(&[huren::seed::LOINC_TOP2000_SI, huren::seed::LOINC_TOP2000_US]).unwrap();
    let csv = loinc_csv_with(ROWS, &real);
    match import_codes(
        &store,
        &csv,
        CodeSystem::Loinc,
        "full-100k",
        "bench",
        &mut |_| {},
    )
    .unwrap()
    {
        ImportOutcome::Imported(r) => assert_eq!(r.concept_count, ROWS as i64),
        ImportOutcome::Rejected(p) => {
            panic!("generated release rejected: {:?}", &p[..p.len().min(5)])
        }
    }
    let started = std::time::Instant::now();
    let catalog = load_catalog(&store).unwrap();
    println!(
        "catalog with the 100k release built in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let full = run(&catalog, "100k LOINC release");
    if std::env::var_os("SUGGEST_MISSES").is_some() {
        for (label, results) in [("Top-2000", &seed), ("100k", &full)] {
            for r in results {
                println!("\n{label} misses:");
                r.misses.iter().for_each(|m| println!("  {m}"));
                println!("{label} answered without a code:");
                r.false_answers.iter().for_each(|m| println!("  {m}"));
            }
        }
    }
}
