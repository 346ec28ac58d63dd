//! The in-memory registry: the current release of each code system, indexed for lookups and
//! the LOINC cross-reference, plus the rules for accepting a new release.
//!
//! The database is the source of truth; a [`Registry`] is a derived snapshot, built at start and
//! after every import, so that `$lookup` and `$translate` never touch storage.

use crate::code::CodeSystem;
use crate::concept::{Concept, Release, Status};
use crate::units::check_ucum;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The current (newest) release of one code system.
#[derive(Debug, Clone)]
pub struct CurrentRelease {
    pub release: Release,
    pub concepts: Vec<Arc<Concept>>,
    by_code: HashMap<String, usize>,
}

impl CurrentRelease {
    pub fn new(release: Release, concepts: Vec<Concept>) -> CurrentRelease {
        // Not `into_iter().map(Arc::new).collect()`: that collects in place, into the buffer of
        // the `Concept`s (some 430 bytes each), and keeps all of it for 8-byte pointers: 59 MB
        // held for the life of a 100k-term release (issue 20's server RSS).
        let mut shared: Vec<Arc<Concept>> = Vec::with_capacity(concepts.len());
        shared.extend(concepts.into_iter().map(Arc::new));
        let concepts = shared;
        let by_code = concepts
            .iter()
            .enumerate()
            .map(|(i, c)| (c.code.clone(), i))
            .collect();
        CurrentRelease {
            release,
            concepts,
            by_code,
        }
    }

    pub fn get(&self, code: &str) -> Option<&Arc<Concept>> {
        self.by_code.get(code).map(|&i| &self.concepts[i])
    }
}

/// A snapshot of all releases and the current concepts of each code system.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    releases: Vec<Release>,
    current: HashMap<CodeSystem, CurrentRelease>,
    /// LOINC code → national codes that declare it as their equivalent.
    loinc_to_national: HashMap<String, Vec<String>>,
}

impl Registry {
    /// Builds a snapshot from every release and the concepts of each system's current one.
    pub fn new(releases: Vec<Release>, current: Vec<CurrentRelease>) -> Registry {
        let mut loinc_to_national: HashMap<String, Vec<String>> = HashMap::new();
        let current: HashMap<CodeSystem, CurrentRelease> =
            current.into_iter().map(|c| (c.release.system, c)).collect();
        if let Some(national) = current.get(&CodeSystem::National) {
            for c in &national.concepts {
                if !c.loinc.is_empty() {
                    loinc_to_national
                        .entry(c.loinc.clone())
                        .or_default()
                        .push(c.code.clone());
                }
            }
        }
        Registry {
            releases,
            current,
            loinc_to_national,
        }
    }

    pub fn releases(&self) -> &[Release] {
        &self.releases
    }

    /// The newest release of `system` (the one answers use unless a version is asked for).
    pub fn current(&self, system: CodeSystem) -> Option<&CurrentRelease> {
        self.current.get(&system)
    }

    /// A release of `system` by label.
    pub fn release(&self, system: CodeSystem, label: &str) -> Option<&Release> {
        self.releases
            .iter()
            .find(|r| r.system == system && r.label == label)
    }

    /// A concept of the current release.
    pub fn lookup(&self, system: CodeSystem, code: &str) -> Option<&Arc<Concept>> {
        self.current.get(&system)?.get(code)
    }

    /// National codes equivalent to a LOINC code.
    pub fn national_for_loinc(&self, loinc: &str) -> &[String] {
        self.loinc_to_national
            .get(loinc)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The number of LOINC ↔ national equivalences.
    pub fn equivalence_count(&self) -> usize {
        self.loinc_to_national.values().map(Vec::len).sum()
    }
}

/// A problem with one row of a code table, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowProblem {
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    /// The column the problem is in, when it is one column's.
    pub column: Option<String>,
    pub message: String,
}

impl RowProblem {
    pub fn new(line: u64, column: Option<&str>, message: impl Into<String>) -> RowProblem {
        RowProblem {
            line,
            column: column.map(str::to_owned),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(c) => write!(f, "line {}, column {}: {}", self.line, c, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// Checks the concepts of a code table before it becomes a release: codes and check digits,
/// required axes (for the national table), units, duplicates, replacements, and that no national
/// code equals a code of the current LOINC release. Returns every problem, not only the first.
pub fn check_release(
    system: CodeSystem,
    rows: &[(u64, Concept)],
    registry: &Registry,
) -> Vec<RowProblem> {
    let mut problems = Vec::new();
    let mut seen: HashMap<&str, u64> = HashMap::new();
    let codes: HashSet<&str> = rows.iter().map(|(_, c)| c.code.as_str()).collect();
    let loinc = registry.current(CodeSystem::Loinc);
    for (line, c) in rows {
        let line = *line;
        if let Err(e) = system.check_code(&c.code) {
            problems.push(RowProblem::new(line, Some("code"), e.to_string()));
        }
        if let Some(first) = seen.insert(&c.code, line) {
            problems.push(RowProblem::new(
                line,
                Some("code"),
                format!("duplicate code {} (first on line {first})", c.code),
            ));
        }
        if system == CodeSystem::National {
            match &c.axes {
                None => problems.push(RowProblem::new(line, None, "the six axes are missing")),
                Some(axes) => {
                    for (name, value) in axes.named() {
                        if name != "METHOD_TYP" && value.trim().is_empty() {
                            problems.push(RowProblem::new(
                                line,
                                Some(&name.to_ascii_lowercase()),
                                format!("axis {name} is empty"),
                            ));
                        }
                    }
                }
            }
            if c.display_zh.trim().is_empty() {
                problems.push(RowProblem::new(
                    line,
                    Some("display_zh"),
                    "Chinese display name is empty",
                ));
            }
            if !c.loinc.is_empty()
                && let Err(e) = CodeSystem::Loinc.check_code(&c.loinc)
            {
                problems.push(RowProblem::new(line, Some("loinc"), e.to_string()));
            }
            if loinc.is_some_and(|l| l.get(&c.code).is_some()) {
                problems.push(RowProblem::new(
                    line,
                    Some("code"),
                    format!(
                        "{} is a LOINC code; national codes must differ from LOINC codes",
                        c.code
                    ),
                ));
            }
        }
        if c.display_en.trim().is_empty() {
            problems.push(RowProblem::new(
                line,
                Some("display_en"),
                "English display name is empty",
            ));
        }
        if !c.ucum_unit.is_empty()
            && let Err(e) = check_ucum(&c.ucum_unit)
        {
            problems.push(RowProblem::new(line, Some("ucum_unit"), e.to_string()));
        }
        if c.molar_mass.is_some_and(|m| !(m.is_finite() && m > 0.0)) {
            problems.push(RowProblem::new(
                line,
                Some("molar_mass"),
                "molar mass must be a positive number of g/mol",
            ));
        }
        if !c.replaced_by.is_empty() {
            if c.replaced_by == c.code {
                problems.push(RowProblem::new(
                    line,
                    Some("replaced_by"),
                    "a concept cannot replace itself",
                ));
            } else if !codes.contains(c.replaced_by.as_str()) {
                problems.push(RowProblem::new(
                    line,
                    Some("replaced_by"),
                    format!("replacement {} is not in this table", c.replaced_by),
                ));
            }
        } else if c.status == Status::Deprecated && system == CodeSystem::National {
            problems.push(RowProblem::new(
                line,
                Some("replaced_by"),
                "a DEPRECATED national concept must name its replacement",
            ));
        }
    }
    problems.sort_by_key(|p| p.line);
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::concept::tests::glucose;

    fn release(id: i64, system: CodeSystem) -> Release {
        Release {
            id,
            system,
            label: format!("r{id}"),
            imported_at: "2026-11-22T00:00:00Z".into(),
            source: "test".into(),
            concept_count: 1,
        }
    }

    fn loinc_glucose() -> Concept {
        let mut c = glucose();
        c.code = "14749-6".into();
        c.loinc.clear();
        c
    }

    fn registry() -> Registry {
        Registry::new(
            vec![
                release(1, CodeSystem::National),
                release(2, CodeSystem::Loinc),
            ],
            vec![
                CurrentRelease::new(release(1, CodeSystem::National), vec![glucose()]),
                CurrentRelease::new(release(2, CodeSystem::Loinc), vec![loinc_glucose()]),
            ],
        )
    }

    #[test]
    fn a_release_keeps_no_more_room_than_its_concepts_need() {
        let concepts: Vec<Concept> = (0..1000)
            .map(|i| {
                let mut c = glucose();
                c.code = format!("9{i:06}-0");
                c
            })
            .collect();
        let current = CurrentRelease::new(release(1, CodeSystem::National), concepts);
        // Collected in place, the pointers would keep the concepts' own buffer: room for
        // some fifty times as many.
        assert_eq!(current.concepts.capacity(), 1000);
        assert_eq!(current.get("9000999-0").unwrap().code, "9000999-0");
    }

    #[test]
    fn cross_reference() {
        let r = registry();
        assert_eq!(r.national_for_loinc("14749-6"), ["9000024-1".to_string()]);
        assert!(r.national_for_loinc("2345-7").is_empty());
        assert_eq!(
            r.lookup(CodeSystem::National, "9000024-1").unwrap().loinc,
            "14749-6"
        );
        assert!(r.release(CodeSystem::Loinc, "r2").is_some());
    }

    #[test]
    fn a_clean_table_has_no_problems() {
        let rows = vec![(2, glucose())];
        assert_eq!(
            check_release(CodeSystem::National, &rows, &registry()),
            vec![]
        );
    }

    fn problems_of(mutate: impl Fn(&mut Concept)) -> Vec<RowProblem> {
        let mut c = glucose();
        mutate(&mut c);
        check_release(CodeSystem::National, &[(2, c)], &registry())
    }

    #[test]
    fn every_bad_row_is_reported_with_its_column() {
        let col = |p: &[RowProblem]| {
            p.iter()
                .map(|p| p.column.clone().unwrap_or_default())
                .collect::<Vec<_>>()
        };
        assert_eq!(col(&problems_of(|c| c.code = "9000024-2".into())), ["code"]);
        assert_eq!(
            col(&problems_of(|c| c.code = "14749-6".into())),
            ["code", "code"]
        );
        assert_eq!(
            col(&problems_of(|c| c.axes.as_mut().unwrap().property.clear())),
            ["property"]
        );
        assert_eq!(col(&problems_of(|c| c.axes = None)), [""]);
        assert_eq!(
            col(&problems_of(|c| c.ucum_unit = "mmol/l/".into())),
            ["ucum_unit"]
        );
        assert_eq!(col(&problems_of(|c| c.loinc = "14749-7".into())), ["loinc"]);
        assert_eq!(
            col(&problems_of(|c| c.status = Status::Deprecated)),
            ["replaced_by"]
        );
        assert_eq!(
            col(&problems_of(|c| c.molar_mass = Some(-1.0))),
            ["molar_mass"]
        );
        assert_eq!(col(&problems_of(|c| c.display_zh.clear())), ["display_zh"]);
    }

    #[test]
    fn duplicates_name_the_first_line() {
        let rows = vec![(2, glucose()), (3, glucose())];
        let p = check_release(CodeSystem::National, &rows, &registry());
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].line, 3);
        assert!(p[0].message.contains("first on line 2"), "{}", p[0].message);
    }
}
