//! Data files are tested artifacts: every table in `code-tables/` loads cleanly and every
//! reference between them resolves.

use huren_core::CodeSystem;
use huren_core::registry::{Registry, check_release};
use std::collections::HashMap;

fn read(name: &str) -> Vec<u8> {
    std::fs::read(huren_testkit::repo_root().join("code-tables").join(name)).unwrap()
}

#[test]
fn national_table_is_clean() {
    let table =
        huren_csv::parse_code_table(&read("national-lab.csv"), CodeSystem::National).unwrap();
    assert_eq!(table.problems, vec![]);
    assert!(table.rows.len() >= 76, "{}", table.rows.len());
    assert_eq!(
        check_release(CodeSystem::National, &table.rows, &Registry::default()),
        vec![]
    );
    // The embedded seed is the file in the repository.
    assert_eq!(
        huren::seed::NATIONAL_TABLE,
        read("national-lab.csv").as_slice()
    );
}

#[test]
fn loinc_seed_loads_and_every_national_loinc_is_known() {
    let loinc = huren::seed::loinc_seed().unwrap();
    assert!(loinc.len() > 2190, "{}", loinc.len());
    let codes: std::collections::HashSet<&str> = loinc.iter().map(|c| c.code.as_str()).collect();
    let table =
        huren_csv::parse_code_table(&read("national-lab.csv"), CodeSystem::National).unwrap();
    let missing: Vec<&str> = table
        .rows
        .iter()
        .map(|(_, c)| c.loinc.as_str())
        .filter(|l| !l.is_empty() && !codes.contains(l))
        .collect();
    // Urea (22664-7, 3091-6) is not in the 1.6 Top-2000 lists; domain.md §5 gives it.
    assert_eq!(missing, ["22664-7", "3091-6"]);
    let glucose = loinc.iter().find(|c| c.code == "14749-6").unwrap();
    assert_eq!(
        glucose.axes.as_ref().unwrap().component,
        "Glucose",
        "axes filled from the national table"
    );
}

/// Reads a side table and checks that its `national_code` and `loinc` agree with the registry.
fn check_side_table(name: &str) -> usize {
    let national =
        huren_csv::parse_code_table(&read("national-lab.csv"), CodeSystem::National).unwrap();
    let by_code: HashMap<&str, &str> = national
        .rows
        .iter()
        .map(|(_, c)| (c.code.as_str(), c.loinc.as_str()))
        .collect();
    let bytes = read(name);
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let headers = reader.headers().unwrap().clone();
    let col = |n: &str| {
        headers
            .iter()
            .position(|h| h == n)
            .unwrap_or_else(|| panic!("{name}: no column {n}"))
    };
    let (code_col, loinc_col) = (col("national_code"), col("loinc"));
    let mut rows = 0;
    for (i, record) in reader.records().enumerate() {
        let record = record.unwrap_or_else(|e| panic!("{name}: {e}"));
        let line = i + 2;
        assert_eq!(
            record.len(),
            headers.len(),
            "{name}:{line}: wrong number of cells"
        );
        let code = &record[code_col];
        let loinc = by_code
            .get(code)
            .unwrap_or_else(|| panic!("{name}:{line}: unknown national code {code}"));
        assert_eq!(
            *loinc, &record[loinc_col],
            "{name}:{line}: loinc disagrees with the registry"
        );
        rows += 1;
    }
    rows
}

#[test]
fn side_tables_reference_the_registry() {
    assert!(check_side_table("reference-intervals.csv") > 40);
    assert!(check_side_table("allowable-error.csv") > 30);
    assert!(check_side_table("catalogue.csv") > 40);
}
