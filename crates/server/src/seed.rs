//! The seed loaded on first start: LOINC's Top-2000 lab terms (SI and US editions) as the LOINC
//! reference, then the national registry of `code-tables/`. Both files are compiled into the
//! binary so that `huren serve` works from any directory.
//!
//! This material contains content from LOINC (http://loinc.org). LOINC is copyright © 1995-2020,
//! Regenstrief Institute, Inc. and the Logical Observation Identifiers Names and Codes (LOINC)
//! Committee and is available at no cost under the license at http://loinc.org/license.
//! LOINC® is a registered United States trademark of Regenstrief Institute, Inc.

use anyhow::{Context, bail};
use huren_core::ports::Storage;
use huren_core::{CodeSystem, Concept};
use std::collections::{BTreeMap, HashMap};

/// The national reference intervals (WS/T 404, WS/T 405), read at start.
pub const REFERENCE_INTERVALS: &[u8] =
    include_bytes!("../../../code-tables/reference-intervals.csv");

/// The reference intervals shipped in `code-tables/`.
pub fn reference_intervals() -> anyhow::Result<huren_core::reference::ReferenceIntervals> {
    let (rows, problems) = huren_csv::intervals::parse_intervals(REFERENCE_INTERVALS)?;
    if let Some(p) = problems.first() {
        anyhow::bail!(
            "code-tables/reference-intervals.csv line {}: {}",
            p.line,
            p.message
        );
    }
    Ok(huren_core::reference::ReferenceIntervals::new(rows))
}

pub const NATIONAL_TABLE: &[u8] = include_bytes!("../../../code-tables/national-lab.csv");
pub const LOINC_TOP2000_SI: &[u8] =
    include_bytes!("../../../code-tables/LOINC_1.6_Top2000CommonLabResultsSI.csv");
pub const LOINC_TOP2000_US: &[u8] =
    include_bytes!("../../../code-tables/LOINC_1.6_Top2000CommonLabResultsUS.csv");

/// Release labels of the seed.
pub const NATIONAL_SEED_LABEL: &str = "2026.1";
pub const LOINC_SEED_LABEL: &str = "top2000-1.6";

/// Parses one embedded table, failing loudly: a bad seed is a build defect, not user input.
fn parse(bytes: &[u8], system: CodeSystem, name: &str) -> anyhow::Result<Vec<Concept>> {
    let table = huren_csv::parse_code_table(bytes, system)?;
    if let Some(p) = table.problems.first() {
        bail!("seed table {name} is invalid: {p}");
    }
    Ok(table.rows.into_iter().map(|(_, c)| c).collect())
}

/// The LOINC seed: the union of the SI and US Top-2000 files, with the six axes taken from the
/// national table for the codes it maps, and read back from the long common name for the
/// others (the Top-2000 files carry names only).
pub fn loinc_seed() -> anyhow::Result<Vec<Concept>> {
    let national = parse(NATIONAL_TABLE, CodeSystem::National, "national-lab.csv")?;
    let axes: HashMap<&str, &huren_core::Axes> = national
        .iter()
        .filter_map(|c| Some((c.loinc.as_str(), c.axes.as_ref()?)))
        .collect();
    let mut by_code = BTreeMap::new();
    for (bytes, name) in [
        (LOINC_TOP2000_SI, "LOINC_1.6_Top2000CommonLabResultsSI.csv"),
        (LOINC_TOP2000_US, "LOINC_1.6_Top2000CommonLabResultsUS.csv"),
    ] {
        for mut c in parse(bytes, CodeSystem::Loinc, name)? {
            // The national table's axes are curated; the name's are read back from words.
            if let Some(a) = axes.get(c.code.as_str()) {
                c.axes = Some((*a).clone());
            }
            by_code.entry(c.code.clone()).or_insert(c);
        }
    }
    Ok(by_code.into_values().collect())
}

/// Chinese names of LOINC components, for suggestions over LOINC terms from Chinese names.
pub const LOINC_COMPONENTS_ZH: &[u8] =
    include_bytes!("../../../code-tables/loinc-components-zh.csv");

/// The Chinese names of LOINC components shipped in `code-tables/`.
pub fn component_names() -> anyhow::Result<huren_core::loinc_name::ComponentNames> {
    let (rows, problems) = huren_csv::recognition::parse_component_names(LOINC_COMPONENTS_ZH)?;
    if let Some(p) = problems.first() {
        bail!("seed table loinc-components-zh.csv is invalid: {p}");
    }
    Ok(huren_core::loinc_name::ComponentNames::new(rows))
}

/// The recognition catalogue of `code-tables/` (Hubei, 京津冀鲁; docs/recognition.md).
pub const CATALOGUE: &[u8] = include_bytes!("../../../code-tables/catalogue.csv");
/// Allowable total errors (NCCL / WS/T 403).
pub const ALLOWABLE_ERROR: &[u8] = include_bytes!("../../../code-tables/allowable-error.csv");

/// The allowable total errors shipped in `code-tables/`.
pub fn allowable_errors() -> anyhow::Result<huren_core::recognition::AllowableErrors> {
    let (rows, problems) = huren_csv::parse_allowable_error(ALLOWABLE_ERROR)?;
    if let Some(p) = problems.first() {
        bail!(
            "code-tables/allowable-error.csv line {}: {}",
            p.line,
            p.message
        );
    }
    Ok(huren_core::recognition::AllowableErrors::new(
        rows.into_iter()
            .map(|r| (r.national_code, r.loinc, r.tea, r.absolute_unit)),
    ))
}

/// Loads the seed if the database has no release yet: the registries, then the recognition
/// catalogue. Returns whether it did.
pub fn seed_if_empty(store: &dyn Storage) -> anyhow::Result<bool> {
    if !store.releases()?.is_empty() {
        return Ok(false);
    }
    let loinc = loinc_seed()?;
    store
        .insert_release(
            CodeSystem::Loinc,
            LOINC_SEED_LABEL,
            "LOINC 1.6 Top-2000 (SI+US)",
            &loinc,
        )
        .context("storing the LOINC seed")?;
    let outcome = crate::registry_ops::import_codes(
        store,
        NATIONAL_TABLE,
        CodeSystem::National,
        NATIONAL_SEED_LABEL,
        "code-tables/national-lab.csv",
        &mut |_| {},
    )?;
    if let crate::registry_ops::ImportOutcome::Rejected(problems) = outcome {
        bail!(
            "the national seed is invalid: {}",
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    let registry = crate::registry_ops::load_registry(store)?;
    let report = huren_http::quality_import::import_catalogue(store, &registry, CATALOGUE)
        .map_err(|e| anyhow::anyhow!("storing the catalogue seed: {e}"))?;
    if let Some(p) = report.problems.first() {
        bail!("code-tables/catalogue.csv line {}: {}", p.line, p.message);
    }
    Ok(true)
}
