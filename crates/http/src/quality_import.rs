//! Importing a laboratory's quality data (EQA events, IQC control results) and the
//! recognition catalogue: parse, name every item by its national code, and write everything
//! in one transaction, or nothing when any row has a problem.
//!
//! Shared by the command line (`huren import eqa|iqc|catalogue`) and the HTTP routes
//! (`POST /api/catalogue`, `POST /api/labs/{hospital}/eqa|iqc`), so both give the same report
//! for the same file.

use crate::mapping_import::{ImportError, ProblemReport};
use huren_core::mapping::MappingStatus;
use huren_core::ports::{MappingStore, PortError, QualityStore};
use huren_core::recognition::CatalogueEntry;
use huren_core::registry::RowProblem;
use huren_core::{CodeSystem, HospitalId, Registry};
use huren_csv::ItemRef;
use serde::Serialize;
use std::collections::HashMap;

/// What a quality-data import did.
#[derive(Debug, Clone, Serialize)]
pub struct QualityReport {
    /// `eqa`, `iqc` or `catalogue`.
    pub kind: &'static str,
    /// The laboratory, for EQA and IQC.
    pub hospital: Option<String>,
    /// Whether anything was written (false when there is any problem).
    pub written: bool,
    pub rows: usize,
    pub problems: Vec<ProblemReport>,
}

/// The national code of an item named by its national or LOINC code, or the column and the
/// reason it names none: a LOINC code must be cross-referenced to exactly one national code.
/// Local codes need the laboratory's mappings and are resolved by [`resolve_rows`].
///
/// # Errors
///
/// The row's column and a message, when the code is unknown or ambiguous.
pub fn resolve_code(registry: &Registry, item: &ItemRef) -> Result<String, (&'static str, String)> {
    match item {
        ItemRef::National(code) => match registry.lookup(CodeSystem::National, code) {
            Some(_) => Ok(code.clone()),
            None => Err((
                "national_code",
                format!("`{code}` is not a code of the current national release"),
            )),
        },
        ItemRef::Loinc(code) => match registry.national_for_loinc(code) {
            [one] => Ok(one.clone()),
            [] => Err((
                "loinc",
                format!("no national code is cross-referenced to LOINC `{code}`"),
            )),
            several => Err((
                "loinc",
                format!(
                    "LOINC `{code}` matches several national codes ({}): name the national code",
                    several.join(", ")
                ),
            )),
        },
        ItemRef::Local(_) => Err((
            "local_code",
            "local codes are only understood in a laboratory's own data".to_owned(),
        )),
    }
}

/// Names every row's item by its national code; rows that name none become problems. Local
/// codes go through the laboratory's approved mappings, read in one query for the whole file.
fn resolve_rows<S: MappingStore + ?Sized, T>(
    store: &S,
    registry: &Registry,
    hospital: &HospitalId,
    rows: Vec<(u64, ItemRef, T)>,
    problems: &mut Vec<RowProblem>,
) -> Result<Vec<(String, T)>, PortError> {
    let mut locals: Vec<String> = rows
        .iter()
        .filter_map(|(_, item, _)| match item {
            ItemRef::Local(code) => Some(code.clone()),
            _ => None,
        })
        .collect();
    locals.sort_unstable();
    locals.dedup();
    let approved: HashMap<String, String> = if locals.is_empty() {
        HashMap::new()
    } else {
        store
            .mappings_for(hospital, &locals)?
            .into_iter()
            .filter(|m| m.status == MappingStatus::Approved && !m.is_unmapped())
            .map(|m| (m.term.local_code, m.national_code))
            .collect()
    };
    let mut resolved = Vec::with_capacity(rows.len());
    for (line, item, value) in rows {
        let code = match &item {
            ItemRef::Local(code) => approved.get(code).cloned().ok_or_else(|| {
                (
                    "local_code",
                    format!("local code `{code}` has no approved mapping at {hospital}"),
                )
            }),
            other => resolve_code(registry, other),
        };
        match code {
            Ok(code) => resolved.push((code, value)),
            Err((column, message)) => problems.push(RowProblem::new(line, Some(column), message)),
        }
    }
    Ok(resolved)
}

fn report(
    kind: &'static str,
    hospital: Option<&HospitalId>,
    rows: usize,
    problems: &[RowProblem],
) -> QualityReport {
    QualityReport {
        kind,
        hospital: hospital.map(|h| h.as_str().to_owned()),
        written: problems.is_empty(),
        rows,
        problems: problems.iter().map(ProblemReport::from).collect(),
    }
}

/// Imports the recognition catalogue (adds or replaces entries).
///
/// # Errors
///
/// An unreadable file or a storage failure; row problems are in the report.
pub fn import_catalogue<S: QualityStore + ?Sized>(
    store: &S,
    registry: &Registry,
    bytes: &[u8],
) -> Result<QualityReport, ImportError> {
    let (rows, mut problems) =
        huren_csv::parse_catalogue(bytes).map_err(|e| ImportError::File(e.to_string()))?;
    let mut entries = Vec::with_capacity(rows.len());
    for r in rows {
        let item = if r.national_code.is_empty() {
            ItemRef::Loinc(r.loinc.clone())
        } else {
            ItemRef::National(r.national_code.clone())
        };
        match resolve_code(registry, &item) {
            Ok(code) => entries.push(CatalogueEntry {
                scope: r.scope,
                national_code: code,
                validity_days: r.validity_days,
                mark: r.mark,
                strict_iqc: r.strict_iqc,
            }),
            Err((column, message)) => problems.push(RowProblem::new(r.line, Some(column), message)),
        }
    }
    problems.sort_by_key(|p| p.line);
    if problems.is_empty() {
        store.put_catalogue(&entries)?;
    }
    Ok(report("catalogue", None, entries.len(), &problems))
}

/// Imports a laboratory's EQA events (`eqa`) or IQC control results (`iqc`).
///
/// # Errors
///
/// An unreadable file or a storage failure; row problems are in the report.
pub fn import_quality<S: QualityStore + MappingStore + ?Sized>(
    store: &S,
    registry: &Registry,
    hospital: &HospitalId,
    kind: QualityKind,
    bytes: &[u8],
) -> Result<QualityReport, ImportError> {
    let file = |e: huren_csv::CsvError| ImportError::File(e.to_string());
    let mut problems;
    let rows = match kind {
        QualityKind::Eqa => {
            let (rows, p) = huren_csv::parse_eqa(bytes).map_err(file)?;
            problems = p;
            let rows = rows
                .into_iter()
                .map(|r| (r.line, r.item, r.event))
                .collect();
            let events = resolve_rows(store, registry, hospital, rows, &mut problems)?;
            if problems.is_empty() {
                store.put_eqa_events(hospital, &events)?;
            }
            events.len()
        }
        QualityKind::Iqc => {
            let (rows, p) = huren_csv::parse_iqc(bytes).map_err(file)?;
            problems = p;
            let rows = rows
                .into_iter()
                .map(|r| (r.line, r.item, r.observation))
                .collect();
            let observations = resolve_rows(store, registry, hospital, rows, &mut problems)?;
            if problems.is_empty() {
                store.put_iqc_observations(hospital, &observations)?;
            }
            observations.len()
        }
    };
    problems.sort_by_key(|p| p.line);
    Ok(report(kind.as_str(), Some(hospital), rows, &problems))
}

/// Which quality data a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QualityKind {
    Eqa,
    Iqc,
}

impl QualityKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            QualityKind::Eqa => "eqa",
            QualityKind::Iqc => "iqc",
        }
    }
}
