//! Importing a curator's mapping CSV: parse, check every row against the registry, compare
//! with what is stored, and write everything in one transaction, or nothing.
//!
//! Shared by `POST /api/hospitals/{id}/mappings/import` and `huren import mappings`, so both
//! give the same report for the same file.

use huren_core::mapping::{Mapping, MappingChange, MappingStatus};
use huren_core::mapping_rules::{check_mapping_rows, diff_import_owned};
use huren_core::ports::{MappingStore, PortError};
use huren_core::registry::RowProblem;
use huren_core::{HospitalId, Registry};
use serde::Serialize;

/// How an import is run.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Check and report, write nothing.
    pub dry_run: bool,
    /// Set every mapped row to this status (`approved`: the file was reviewed in Excel).
    pub status: Option<MappingStatus>,
    /// Whether the two-person rule is on: whoever proposed a mapping cannot approve it.
    pub two_person_rule: bool,
    /// The `sub` of the importer.
    pub actor: String,
    /// Unix milliseconds.
    pub now: i64,
}

/// One problem of one row.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemReport {
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

impl From<&RowProblem> for ProblemReport {
    fn from(p: &RowProblem) -> ProblemReport {
        ProblemReport {
            line: p.line,
            column: p.column.clone(),
            message: p.message.clone(),
        }
    }
}

/// What an import did, or would do.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub hospital: String,
    pub encoding: String,
    pub dry_run: bool,
    /// Whether anything was written (false on a dry run or when there is any problem).
    pub written: bool,
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Rows without a national target: stored and queued for mapping.
    pub unmapped: usize,
    /// Rows that asked for `approved` but stay `proposed` until a second curator approves
    /// them (two-person rule).
    pub awaiting_second_review: usize,
    pub problems: Vec<ProblemReport>,
}

/// Why an import could not run at all (the file is unreadable, or storage failed).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    File(String),
    #[error(transparent)]
    Store(#[from] PortError),
}

/// Runs one import. Problems in rows are in the report, not an error.
pub fn import_mappings(
    store: &dyn MappingStore,
    registry: &Registry,
    hospital: &HospitalId,
    bytes: &[u8],
    options: &ImportOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportReport, ImportError> {
    let parsed = huren_csv::mapping::parse_mappings_with_progress(bytes, progress)
        .map_err(|e| ImportError::File(e.to_string()))?;
    let plan = check_mapping_rows(hospital, &parsed.rows, registry);
    let mut problems: Vec<ProblemReport> = parsed
        .problems
        .iter()
        .chain(plan.problems.iter())
        .map(ProblemReport::from)
        .collect();
    problems.sort_by_key(|p| p.line);
    let mut report = ImportReport {
        hospital: hospital.to_string(),
        encoding: parsed.encoding.to_owned(),
        dry_run: options.dry_run,
        written: false,
        rows: parsed.rows.len(),
        created: 0,
        updated: 0,
        unchanged: 0,
        unmapped: plan
            .mappings
            .iter()
            .filter(|(_, m)| m.is_unmapped())
            .count(),
        awaiting_second_review: 0,
        problems,
    };
    if report.rows == 0 && report.problems.is_empty() {
        report.problems.push(ProblemReport {
            line: 1,
            column: None,
            message: "the file has a header but no rows".into(),
        });
    }

    let existing = store.mappings(hospital)?;
    let by_code: std::collections::HashMap<&str, &Mapping> = existing
        .iter()
        .map(|m| (m.term.local_code.as_str(), m))
        .collect();
    let mut incoming: Vec<Mapping> = Vec::with_capacity(plan.mappings.len());
    for (_, mut m) in plan.mappings {
        let old = by_code.get(m.term.local_code.as_str()).copied();
        let same_target = old.is_some_and(|o| o.target() == m.target());
        // Who proposed the target: unchanged targets keep their proposer.
        m.proposed_by = match old {
            Some(o) if same_target => o.proposed_by.clone(),
            _ => options.actor.clone(),
        };
        if let Some(status) = options.status
            && !m.is_unmapped()
        {
            m.status = status;
        }
        if m.status == MappingStatus::Approved
            && options.two_person_rule
            && m.proposed_by == options.actor
            && !old.is_some_and(|o| same_target && o.status == MappingStatus::Approved)
        {
            m.status = MappingStatus::Proposed;
            report.awaiting_second_review += 1;
        }
        // An unchanged row keeps its stored review state unless the file says otherwise.
        if let Some(o) = old
            && same_target
            && options.status.is_none()
            && m.status == MappingStatus::Proposed
        {
            m.status = o.status;
        }
        m.updated_by = options.actor.clone();
        m.updated_at = options.now;
        incoming.push(m);
    }
    let diff = diff_import_owned(&existing, incoming);
    report.created = diff.created.len();
    report.updated = diff.updated.len();
    report.unchanged = diff.unchanged;
    if options.dry_run || !report.problems.is_empty() {
        return Ok(report);
    }
    let mut writes = Vec::with_capacity(diff.created.len() + diff.updated.len());
    let mut history = Vec::with_capacity(writes.capacity());
    for m in diff.created {
        history.push(change(&m, None, "", options));
        writes.push(m);
    }
    for (old, m) in diff.updated {
        history.push(change(&m, Some(old.status), old.target(), options));
        writes.push(m);
    }
    if !writes.is_empty() {
        store.apply_mappings(&writes, &history)?;
    }
    report.written = true;
    Ok(report)
}

fn change(
    m: &Mapping,
    from_status: Option<MappingStatus>,
    from_target: &str,
    options: &ImportOptions,
) -> MappingChange {
    MappingChange {
        hospital: m.hospital.clone(),
        local_code: m.term.local_code.clone(),
        at: options.now,
        by: options.actor.clone(),
        action: "import".into(),
        from_status,
        to_status: m.status,
        from_target: from_target.to_owned(),
        to_target: m.target().to_owned(),
        comment: String::new(),
    }
}

/// Now, in Unix milliseconds.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
