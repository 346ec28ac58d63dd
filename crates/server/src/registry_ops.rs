//! Registry operations shared by the command line and startup: importing a code table as a
//! release, seeding, building the catalog (snapshot + search index), and diffing releases.

use anyhow::Context;
use huren_core::concept::ReleaseDiff;
use huren_core::ports::RegistryStore;
use huren_core::registry::{CurrentRelease, RowProblem, check_release};
use huren_core::{CodeSystem, Registry, Release};
use huren_http::Catalog;
use huren_search::SearchIndex;
use huren_store::Store;

/// Loads every release and the current concepts of each system from the store. LOINC terms
/// without Chinese names get those of their component (`code-tables/loinc-components-zh.csv`),
/// so that Chinese local names find them.
pub fn load_registry(store: &dyn RegistryStore) -> anyhow::Result<Registry> {
    let releases = store.releases()?;
    let names = crate::seed::component_names()?;
    let mut current = Vec::new();
    for system in CodeSystem::ALL {
        // The newest import of a system is its current release.
        if let Some(r) = releases.iter().rev().find(|r| r.system == system) {
            let mut concepts = store.release_concepts(r.id)?;
            if system == CodeSystem::Loinc {
                for c in &mut concepts {
                    names.name(c);
                }
            }
            current.push(CurrentRelease::new(r.clone(), concepts));
        }
    }
    Ok(Registry::new(releases, current))
}

/// Builds the catalog the HTTP layer serves: the registry snapshot and its search index.
pub fn load_catalog(store: &dyn RegistryStore) -> anyhow::Result<Catalog> {
    let registry = load_registry(store)?;
    let search = SearchIndex::build(&registry).context("building the search index")?;
    Ok(Catalog::new(registry, Box::new(search)))
}

/// The outcome of an import: the new release, or every problem found (nothing written).
#[derive(Debug)]
pub enum ImportOutcome {
    Imported(Release),
    Rejected(Vec<RowProblem>),
}

/// Parses, checks and stores a code table as a new release, in one transaction. Any problem
/// in any row rejects the whole file.
pub fn import_codes(
    store: &dyn RegistryStore,
    bytes: &[u8],
    system: CodeSystem,
    label: &str,
    source: &str,
    progress: &mut dyn FnMut(u64),
) -> anyhow::Result<ImportOutcome> {
    let table = huren_csv::code_table::parse_code_table_with_progress(bytes, system, progress)?;
    let registry = load_registry(store)?;
    let mut problems = table.problems;
    problems.extend(check_release(system, &table.rows, &registry));
    if problems.is_empty() && table.rows.is_empty() {
        problems.push(RowProblem::new(1, None, "the table has no rows"));
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.line);
        return Ok(ImportOutcome::Rejected(problems));
    }
    let concepts: Vec<_> = table.rows.into_iter().map(|(_, c)| c).collect();
    Ok(ImportOutcome::Imported(
        store.insert_release(system, label, source, &concepts)?,
    ))
}

/// The differences between two releases of one system, by label.
pub fn diff(
    store: &Store,
    system: CodeSystem,
    from: &str,
    to: &str,
) -> anyhow::Result<ReleaseDiff> {
    let releases = store.releases()?;
    let find = |label: &str| {
        releases
            .iter()
            .find(|r| r.system == system && r.label == label)
            .map(|r| r.id)
            .with_context(|| format!("{system} has no release `{label}`"))
    };
    let (a, b) = (find(from)?, find(to)?);
    Ok(ReleaseDiff::between(
        &store.release_concepts(a)?,
        &store.release_concepts(b)?,
    ))
}
