//! Importing a laboratory's quality data (EQA events, IQC control results) and the
//! recognition catalogue: parse, name every item by its national code, and write everything
//! in one transaction, or nothing when any row has a problem.
//!
//! Shared by the command line (`huren import eqa|iqc|catalogue`) and, later, the HTTP routes,
//! so both give the same report for the same file.

use crate::mapping_import::{ImportError, ProblemReport};
use huren_core::mapping::MappingStatus;
use huren_core::ports::{MappingStore, QualityStore};
use huren_core::recognition::CatalogueEntry;
use huren_core::registry::RowProblem;
use huren_core::{CodeSystem, HospitalId, Registry};
use huren_csv::ItemRef;
use serde::Serialize;

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

/// The national code of an item named by a row, or a problem for that row. A local code goes
/// through the laboratory's approved mapping; a LOINC code through the registry's
/// cross-reference, which must name exactly one national code.
fn national_code<M: MappingStore + ?Sized>(
    item: &ItemRef,
    line: u64,
    registry: &Registry,
    mappings: Option<(&M, &HospitalId)>,
) -> Result<String, RowProblem> {
    let problem = |column: &str, message: String| RowProblem::new(line, Some(column), message);
    match item {
        ItemRef::National(code) => match registry.lookup(CodeSystem::National, code) {
            Some(_) => Ok(code.clone()),
            None => Err(problem(
                "national_code",
                format!("`{code}` is not a code of the current national release"),
            )),
        },
        ItemRef::Loinc(code) => match registry.national_for_loinc(code) {
            [one] => Ok(one.clone()),
            [] => Err(problem(
                "loinc",
                format!("no national code is cross-referenced to LOINC `{code}`"),
            )),
            several => Err(problem(
                "loinc",
                format!(
                    "LOINC `{code}` matches several national codes ({}): name the national code",
                    several.join(", ")
                ),
            )),
        },
        ItemRef::Local(code) => {
            let Some((store, hospital)) = mappings else {
                return Err(problem(
                    "local_code",
                    "local codes are only understood in a laboratory's own data".to_owned(),
                ));
            };
            match store.mapping(hospital, code) {
                Ok(Some(m)) if m.status == MappingStatus::Approved && !m.is_unmapped() => {
                    Ok(m.national_code)
                }
                Ok(_) => Err(problem(
                    "local_code",
                    format!("local code `{code}` has no approved mapping at {hospital}"),
                )),
                Err(e) => Err(problem("local_code", e.to_string())),
            }
        }
    }
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
        match national_code::<dyn MappingStore>(&item, r.line, registry, None) {
            Ok(code) => entries.push(CatalogueEntry {
                scope: r.scope,
                national_code: code,
                validity_days: r.validity_days,
                mark: r.mark,
                strict_iqc: r.strict_iqc,
            }),
            Err(p) => problems.push(p),
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
    let resolve = |item: &ItemRef, line: u64, problems: &mut Vec<RowProblem>| {
        national_code(item, line, registry, Some((store, hospital)))
            .map_err(|p| problems.push(p))
            .ok()
    };
    let (written, rows, mut problems) = match kind {
        QualityKind::Eqa => {
            let (rows, mut problems) = huren_csv::parse_eqa(bytes).map_err(file)?;
            let events: Vec<_> = rows
                .into_iter()
                .filter_map(|r| Some((resolve(&r.item, r.line, &mut problems)?, r.event)))
                .collect();
            let n = events.len();
            (
                problems
                    .is_empty()
                    .then(|| store.put_eqa_events(hospital, &events)),
                n,
                problems,
            )
        }
        QualityKind::Iqc => {
            let (rows, mut problems) = huren_csv::parse_iqc(bytes).map_err(file)?;
            let observations: Vec<_> = rows
                .into_iter()
                .filter_map(|r| Some((resolve(&r.item, r.line, &mut problems)?, r.observation)))
                .collect();
            let n = observations.len();
            (
                problems
                    .is_empty()
                    .then(|| store.put_iqc_observations(hospital, &observations)),
                n,
                problems,
            )
        }
    };
    if let Some(result) = written {
        result?;
    }
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
