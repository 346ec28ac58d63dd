//! The rules a hospital's mapping table must pass before it is imported, and what an import
//! changes.
//!
//! [`check_mapping_rows`] takes the rows as the CSV gave them ([`MappingRow`]: raw cells, no
//! interpretation yet) and returns a [`MappingPlan`]: every problem with its line and column,
//! and the mappings of the rows that passed. [`diff_import`] compares those mappings with the
//! stored ones, so that importing the same file twice changes nothing.
//!
//! Like the release check, this is a pure function of the rows and a registry snapshot: the
//! caller decides to write only when the plan has no problem at all.

use crate::code::CodeSystem;
use crate::concept::{Concept, Status};
use crate::mapping::{Equivalence, HospitalId, LocalTerm, Mapping, MappingStatus};
use crate::registry::{Registry, RowProblem};
use crate::specimen::{specimen_compatible, specimen_systems};
use crate::units::{
    check_ucum, conversion_factor, conversion_factor_with_charge, ion_charge, resolve_local_unit,
};
use std::collections::HashMap;

/// One row of a mapping table as the curator wrote it: the local term, the target as given
/// (national code, or LOINC code to translate, or neither), and the optional review columns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MappingRow {
    pub term: LocalTerm,
    /// The national code, or empty.
    pub national_code: String,
    /// A LOINC code to translate into the national code, or empty.
    pub loinc: String,
    /// `equivalent`, `wider`, `narrower` or `inexact`; empty means `equivalent`.
    pub equivalence: String,
    /// `proposed`, `approved`, `rejected` or `retired`; empty means `proposed`.
    pub status: String,
}

/// What checking a mapping table found: every problem, and a mapping for each row without one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MappingPlan {
    /// Every problem of every row, in line order.
    pub problems: Vec<RowProblem>,
    /// The mappings of the rows that have no problem, with their lines. `proposed_by`,
    /// `updated_by` and `updated_at` are left empty (0) for the caller to fill.
    pub mappings: Vec<(u64, Mapping)>,
}

/// Checks the rows of one hospital's mapping table against the current national release.
///
/// Every row is checked against every rule, and every problem is reported with its line and the
/// CSV column it is in:
///
/// * `local_code` and `local_name` are required, and a local code appears once per file (a
///   duplicate names the line of the first);
/// * the target is `national_code`, or `loinc` translated through the registry's LOINC
///   cross-reference (a LOINC code with several national equivalents is ambiguous and names
///   them; both columns given and disagreeing is an error). A `loinc` alone that no national
///   code is equivalent to targets the LOINC term itself, which must be in the current LOINC
///   release. Neither means the local code is not mapped yet: the row is kept as an unmapped
///   mapping, not refused;
/// * the target exists in the current national (or LOINC) release and is ACTIVE, TRIAL or
///   DISCOURAGED; a DEPRECATED target is refused, naming its replacement;
/// * the unit resolves (UCUM or a known alias, [`resolve_local_unit`]) and converts into the
///   concept's canonical unit (a LOINC term's example unit, when LOINC states one) ([`conversion_factor_with_charge`], with the concept's molar
///   mass and, for ions reported in equivalents, their charge). A blank unit is allowed;
/// * the specimen fits the concept's SYSTEM axis ([`specimen_compatible`]); an unknown
///   specimen is not an error;
/// * `ref_low` ≤ `ref_high`;
/// * `equivalence` and `status`, when given, are known values; an unmapped row cannot be
///   `approved`.
pub fn check_mapping_rows(
    hospital: &HospitalId,
    rows: &[(u64, MappingRow)],
    registry: &Registry,
) -> MappingPlan {
    let mut plan = MappingPlan::default();
    let mut first_line: HashMap<&str, u64> = HashMap::new();
    // A table has thousands of rows but a few dozen distinct units and specimens, and UCUM
    // parsing is the costly part of a row: each distinct question is answered once.
    let mut units: HashMap<&str, Result<(String, String), String>> = HashMap::new();
    let mut mismatches: HashMap<(String, &str), Option<String>> = HashMap::new();
    let mut specimens: HashMap<(&str, &str), Option<bool>> = HashMap::new();
    for (line, row) in rows {
        let line = *line;
        let mut problems = Vec::new();
        let mut problem = |column: &str, message: String| {
            problems.push(RowProblem::new(line, Some(column), message));
        };
        let term = &row.term;

        let local_code = term.local_code.trim();
        if local_code.is_empty() {
            problem("local_code", "local_code is empty".into());
        } else if let Some(first) = first_line.get(local_code) {
            problem(
                "local_code",
                format!("duplicate local code {local_code} (first on line {first})"),
            );
        } else {
            first_line.insert(local_code, line);
        }
        if term.local_name.trim().is_empty() {
            problem("local_name", "local_name is empty".into());
        }
        if let (Some(low), Some(high)) = (term.ref_low, term.ref_high)
            && low > high
        {
            problem(
                "ref_low",
                format!("ref_low {low} is greater than ref_high {high}"),
            );
        }

        let equivalence = match row.equivalence.trim() {
            "" => Equivalence::Equivalent,
            s => Equivalence::parse(s).unwrap_or_else(|| {
                problem(
                    "equivalence",
                    format!("unknown equivalence `{s}` (equivalent, wider, narrower or inexact)"),
                );
                Equivalence::Equivalent
            }),
        };
        let status = match row.status.trim() {
            "" => MappingStatus::Proposed,
            s => MappingStatus::parse(s).unwrap_or_else(|| {
                problem(
                    "status",
                    format!("unknown status `{s}` (proposed, approved, rejected or retired)"),
                );
                MappingStatus::Proposed
            }),
        };

        let target = target(row, registry, &mut problem);
        let concept = target.map(Target::concept);
        let (national_code, loinc) = match target {
            Some(Target::National(c)) => (c.code.clone(), String::new()),
            Some(Target::Loinc(t)) => (String::new(), t.code.clone()),
            None => (String::new(), String::new()),
        };
        if concept.is_none()
            && row.national_code.trim().is_empty()
            && row.loinc.trim().is_empty()
            && status == MappingStatus::Approved
        {
            problem(
                "status",
                "an unmapped row cannot be approved: give it a national_code or a loinc".into(),
            );
        }

        let (unit_ucum, unit_alias) = match term.unit.trim() {
            "" => (String::new(), String::new()),
            text => match units.entry(text).or_insert_with(|| declared_unit(text)) {
                Ok(r) => r.clone(),
                Err(e) => {
                    problem("unit", e.clone());
                    (String::new(), String::new())
                }
            },
        };
        if let Some(c) = concept {
            if !unit_ucum.is_empty()
                && !c.ucum_unit.is_empty()
                && let Some(message) = mismatches
                    .entry((format!("{unit_ucum}\u{1f}{unit_alias}"), c.code.as_str()))
                    .or_insert_with(|| unit_mismatch(&unit_ucum, &unit_alias, c))
            {
                problem("unit", message.clone());
            }
            if let Some(axes) = &c.axes
                && *specimens
                    .entry((term.specimen.as_str(), axes.system.as_str()))
                    .or_insert_with(|| specimen_compatible(&term.specimen, &axes.system))
                    == Some(false)
            {
                problem(
                    "specimen",
                    format!(
                        "specimen `{}` ({}) does not fit {} ({}), whose system is {}",
                        term.specimen.trim(),
                        specimen_systems(&term.specimen)
                            .unwrap_or_default()
                            .join("/"),
                        c.code,
                        c.display_zh,
                        axes.system
                    ),
                );
            }
        }

        if problems.is_empty() {
            plan.mappings.push((
                line,
                Mapping {
                    hospital: hospital.clone(),
                    term: term.clone(),
                    national_code,
                    loinc,
                    unit_ucum,
                    unit_alias,
                    equivalence,
                    status,
                    proposed_by: String::new(),
                    updated_by: String::new(),
                    updated_at: 0,
                },
            ));
        } else {
            plan.problems.extend(problems);
        }
    }
    plan.problems.sort_by_key(|p| p.line);
    plan
}

/// What a row maps to.
#[derive(Debug, Clone, Copy)]
enum Target<'r> {
    /// A concept of the current national release.
    National(&'r Concept),
    /// A term of the current LOINC release that no national concept is equivalent to.
    Loinc(&'r Concept),
}

impl<'r> Target<'r> {
    fn concept(self) -> &'r Concept {
        match self {
            Target::National(c) | Target::Loinc(c) => c,
        }
    }
}

/// The target of a row, reporting why there is none when one was asked for. `None` without a
/// problem means the row is unmapped.
fn target<'r>(
    row: &MappingRow,
    registry: &'r Registry,
    problem: &mut dyn FnMut(&str, String),
) -> Option<Target<'r>> {
    let national = row.national_code.trim();
    let loinc = row.loinc.trim();
    let from_loinc: Option<&str> = if loinc.is_empty() {
        None
    } else {
        match registry.national_for_loinc(loinc) {
            [] if national.is_empty() => return loinc_term(loinc, registry, problem),
            [] => {
                problem(
                    "loinc",
                    format!(
                        "LOINC {loinc} has no national equivalent, so it disagrees with \
                         national_code {national}; give one of the two"
                    ),
                );
                return None;
            }
            [one] => Some(one),
            many => {
                problem(
                    "loinc",
                    format!(
                        "LOINC {loinc} is ambiguous: national codes {} are all equivalent to it; \
                         give the national_code",
                        many.join(", ")
                    ),
                );
                return None;
            }
        }
    };
    let code = match (national, from_loinc) {
        ("", None) => return None,
        ("", Some(code)) => code,
        (national, Some(code)) if national != code => {
            problem(
                "national_code",
                format!(
                    "national_code {national} disagrees with loinc {loinc}, whose national \
                     equivalent is {code}"
                ),
            );
            return None;
        }
        (national, _) => national,
    };
    let Some(concept) = registry.lookup(CodeSystem::National, code) else {
        let why = match CodeSystem::National.check_code(code) {
            Err(e) => e.to_string(),
            Ok(()) => format!("{code} is not in the current national release"),
        };
        problem("national_code", why);
        return None;
    };
    let column = if national.is_empty() {
        "loinc"
    } else {
        "national_code"
    };
    usable(concept, column, problem).map(Target::National)
}

/// A LOINC target without a national equivalent: a term of the current LOINC release.
fn loinc_term<'r>(
    loinc: &str,
    registry: &'r Registry,
    problem: &mut dyn FnMut(&str, String),
) -> Option<Target<'r>> {
    if let Err(e) = CodeSystem::Loinc.check_code(loinc) {
        problem("loinc", e.to_string());
        return None;
    }
    let Some(term) = registry.lookup(CodeSystem::Loinc, loinc) else {
        let loaded = registry.current(CodeSystem::Loinc).map_or_else(
            || "no LOINC release is loaded".to_owned(),
            |r| {
                format!(
                    "the loaded LOINC release {} does not have it",
                    r.release.label
                )
            },
        );
        problem(
            "loinc",
            format!(
                "LOINC {loinc} has no national equivalent and {loaded}; import the full \
                 Loinc.csv (`huren import codes --format loinc`) to map to it"
            ),
        );
        return None;
    };
    usable(term, "loinc", problem).map(Target::Loinc)
}

/// A target concept that may be mapped to: ACTIVE, TRIAL or DISCOURAGED; a DEPRECATED one is
/// refused, naming its replacement.
fn usable<'r>(
    concept: &'r Concept,
    column: &str,
    problem: &mut dyn FnMut(&str, String),
) -> Option<&'r Concept> {
    match concept.status {
        Status::Active | Status::Trial | Status::Discouraged => Some(concept),
        Status::Deprecated => {
            let instead = if concept.replaced_by.is_empty() {
                String::from("it names no replacement")
            } else {
                format!("map to its replacement {} instead", concept.replaced_by)
            };
            let name = if concept.display_zh.is_empty() {
                &concept.display_en
            } else {
                &concept.display_zh
            };
            problem(
                column,
                format!("{} ({name}) is DEPRECATED: {instead}", concept.code),
            );
            None
        }
    }
}

/// Why a local unit (resolved to `ucum`) does not convert into the concept's unit, or `None`
/// when it does.
/// A unit cell: a unit [`resolve_local_unit`] reads, or the hospital's declaration of what its
/// own spelling means, `LOCAL=UCUM` (`K/uL=10*3/uL`), where UCUM must be valid UCUM. Returns
/// (UCUM unit, local spelling or empty).
fn declared_unit(text: &str) -> Result<(String, String), String> {
    if let Some((local, ucum)) = text.split_once('=') {
        let (local, ucum) = (local.trim(), ucum.trim());
        if local.is_empty() {
            return Err(format!(
                "unit `{text}`: a declaration is LOCAL=UCUM (`K/uL=10*3/uL`); the local \
                 spelling is missing"
            ));
        }
        check_ucum(ucum).map_err(|e| {
            format!(
                "unit `{text}`: the declared meaning is not UCUM: {}",
                e.reason
            )
        })?;
        return Ok((ucum.to_owned(), local.to_owned()));
    }
    resolve_local_unit(text)
        .map(|r| (r.ucum, r.alias.unwrap_or_default()))
        .map_err(|e| e.to_string())
}

fn unit_mismatch(ucum: &str, alias: &str, c: &Concept) -> Option<String> {
    let charge = c.axes.as_ref().and_then(|a| ion_charge(&a.component));
    if conversion_factor_with_charge(ucum, &c.ucum_unit, c.molar_mass, charge).is_some() {
        return None;
    }
    let written = if alias.is_empty() {
        format!("`{ucum}`")
    } else {
        format!("`{alias}` (UCUM `{ucum}`)")
    };
    let hint = if c.molar_mass.is_none()
        && conversion_factor(ucum, &c.ucum_unit, Some(1.0)).is_some()
    {
        format!(
            "a mass ↔ substance conversion needs a molar mass, and {} has none",
            c.code
        )
    } else if charge.is_none()
        && conversion_factor_with_charge(ucum, &c.ucum_unit, None, Some(1)).is_some()
    {
        "equivalents convert into moles only with the ion's charge, which is not known for this \
         concept"
            .into()
    } else if ucum.contains("[IU]")
        && conversion_factor(&ucum.replace("[IU]", "U"), &c.ucum_unit, None).is_some()
    {
        "`IU` is the international unit `[IU]`; if this is an enzyme activity, write the \
         enzyme unit `U/L`"
            .into()
    } else {
        "it measures another kind of quantity; mass and substance concentrations, and counts \
         and fractions, are different concepts"
            .into()
    };
    Some(format!(
        "unit {written} does not convert into {} of {} ({}): {hint}",
        c.ucum_unit, c.code, c.display_zh
    ))
}

/// What importing a checked table would change for one hospital.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportDiff {
    /// Local codes not stored yet.
    pub created: Vec<Mapping>,
    /// Local codes stored with another content: `(stored, incoming)`.
    pub updated: Vec<(Mapping, Mapping)>,
    /// Local codes stored with the same content.
    pub unchanged: usize,
}

/// Compares incoming mappings with the stored ones, by hospital and local code, using
/// [`Mapping::same_content`] (who and when are ignored), so re-importing the same file changes
/// nothing.
///
/// One refinement: an incoming `proposed` mapping whose content is otherwise the stored one is
/// unchanged, whatever the stored status. A curator's file usually has no status column, so
/// every row reads as `proposed`; re-importing it after review must not undo the reviewers'
/// approvals and rejections. Review status moves through review actions, or through a file that
/// says `approved`, `rejected` or `retired` explicitly.
///
/// Stored mappings absent from `incoming` are not touched: a file that omits a local code does
/// not retire it.
pub fn diff_import(existing: &[Mapping], incoming: &[Mapping]) -> ImportDiff {
    diff_import_owned(existing, incoming.to_vec())
}

/// [`diff_import`] taking the incoming mappings by value, so that a large import moves them
/// into the diff instead of copying each one.
pub fn diff_import_owned(existing: &[Mapping], incoming: Vec<Mapping>) -> ImportDiff {
    let stored: HashMap<(&HospitalId, &str), &Mapping> = existing
        .iter()
        .map(|m| ((&m.hospital, m.term.local_code.as_str()), m))
        .collect();
    let mut diff = ImportDiff::default();
    for new in incoming {
        match stored.get(&(&new.hospital, new.term.local_code.as_str())) {
            None => diff.created.push(new),
            Some(old) if old.same_content(&new) || unchanged_but_status(old, &new) => {
                diff.unchanged += 1
            }
            Some(old) => diff.updated.push(((*old).clone(), new)),
        }
    }
    diff
}

/// An incoming `proposed` mapping whose content is otherwise the stored one.
fn unchanged_but_status(old: &Mapping, new: &Mapping) -> bool {
    new.status == MappingStatus::Proposed
        && old.hospital == new.hospital
        && old.term == new.term
        && old.national_code == new.national_code
        && old.loinc == new.loinc
        && old.unit_ucum == new.unit_ucum
        && old.unit_alias == new.unit_alias
        && old.equivalence == new.equivalence
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::national_code;
    use crate::concept::{Axes, Release};
    use crate::registry::CurrentRelease;

    fn code(n: u32) -> String {
        national_code(9_000_000 + n).unwrap()
    }

    fn concept(
        n: u32,
        loinc: &str,
        component: &str,
        property: &str,
        system: &str,
        unit: &str,
        molar_mass: Option<f64>,
    ) -> Concept {
        Concept {
            code: code(n),
            axes: Some(Axes {
                component: component.into(),
                property: property.into(),
                time_aspct: "Pt".into(),
                system: system.into(),
                scale_typ: if unit.is_empty() { "Ord" } else { "Qn" }.into(),
                method_typ: String::new(),
            }),
            class: "CHEM".into(),
            display_zh: component.into(),
            display_en: component.into(),
            short_name: String::new(),
            abbreviations: vec![],
            synonyms_zh: vec![],
            synonyms_en: vec![],
            ucum_unit: unit.into(),
            molar_mass,
            status: Status::Active,
            replaced_by: String::new(),
            loinc: loinc.into(),
        }
    }

    /// A small national release: glucose (molar, mass, whole blood, a TRIAL variant and a
    /// DEPRECATED one), potassium, calcium, leukocytes, ALT, TSH, HBsAg, HDL without a molar
    /// mass, and two concepts sharing a LOINC code.
    fn registry() -> Registry {
        let mut old = concept(
            90,
            "2339-0",
            "Glucose",
            "MCnc",
            "Bld",
            "mg/dL",
            Some(180.16),
        );
        old.status = Status::Deprecated;
        old.replaced_by = code(33);
        let mut trial = concept(
            96,
            "1558-6",
            "Glucose^post CFst",
            "SCnc",
            "Ser/Plas",
            "mmol/L",
            Some(180.16),
        );
        trial.status = Status::Trial;
        let concepts = vec![
            concept(1, "6690-2", "Leukocytes", "NCnc", "Bld", "10*9/L", None),
            concept(
                16,
                "1742-6",
                "Alanine aminotransferase",
                "CCnc",
                "Ser/Plas",
                "U/L",
                None,
            ),
            concept(
                33,
                "14749-6",
                "Glucose",
                "SCnc",
                "Ser/Plas",
                "mmol/L",
                Some(180.16),
            ),
            concept(
                34,
                "2345-7",
                "Glucose",
                "MCnc",
                "Ser/Plas",
                "mg/dL",
                Some(180.16),
            ),
            concept(
                35,
                "15074-8",
                "Glucose",
                "SCnc",
                "Bld",
                "mmol/L",
                Some(180.16),
            ),
            concept(
                52,
                "2823-3",
                "Potassium",
                "SCnc",
                "Ser/Plas",
                "mmol/L",
                None,
            ),
            concept(
                55,
                "2000-8",
                "Calcium",
                "SCnc",
                "Ser/Plas",
                "mmol/L",
                Some(40.078),
            ),
            concept(
                73,
                "3016-3",
                "Thyrotropin",
                "ACnc",
                "Ser/Plas",
                "m[IU]/L",
                None,
            ),
            concept(
                91,
                "5196-1",
                "Hepatitis B virus surface Ag",
                "PrThr",
                "Ser",
                "",
                None,
            ),
            concept(
                92,
                "1920-8",
                "Aspartate aminotransferase",
                "CCnc",
                "Ser/Plas",
                "U/L",
                None,
            ),
            concept(
                93,
                "1920-8",
                "Aspartate aminotransferase",
                "CCnc",
                "Ser/Plas",
                "U/L",
                None,
            ),
            concept(
                94,
                "2085-9",
                "Cholesterol.in HDL",
                "SCnc",
                "Ser/Plas",
                "mmol/L",
                None,
            ),
            old,
            trial,
        ];
        let release = Release {
            id: 1,
            system: CodeSystem::National,
            label: "test".into(),
            imported_at: "2026-11-22T00:00:00Z".into(),
            source: "test".into(),
            concept_count: concepts.len() as i64,
        };
        Registry::new(
            vec![release.clone()],
            vec![CurrentRelease::new(release, concepts)],
        )
    }

    fn hosp() -> HospitalId {
        HospitalId::parse("hosp-a").unwrap()
    }

    /// A clean row: glucose in mg/dl, serum, mapped to the molar concept.
    fn row() -> MappingRow {
        MappingRow {
            term: LocalTerm {
                local_code: "014".into(),
                local_name: "葡萄糖".into(),
                specimen: "血清".into(),
                unit: "mmol/L".into(),
                ref_low: Some(3.9),
                ref_high: Some(6.1),
                ..LocalTerm::default()
            },
            national_code: code(33),
            ..MappingRow::default()
        }
    }

    fn check_one(mutate: impl FnOnce(&mut MappingRow)) -> MappingPlan {
        let mut r = row();
        mutate(&mut r);
        check_mapping_rows(&hosp(), &[(2, r)], &registry())
    }

    /// The (column, message) of the only problem of a one-row check.
    fn problem(mutate: impl FnOnce(&mut MappingRow)) -> (String, String) {
        let plan = check_one(mutate);
        assert_eq!(plan.problems.len(), 1, "{:?}", plan.problems);
        assert!(plan.mappings.is_empty());
        let p = &plan.problems[0];
        assert_eq!(p.line, 2);
        (p.column.clone().unwrap_or_default(), p.message.clone())
    }

    fn clean(mutate: impl FnOnce(&mut MappingRow)) -> Mapping {
        let plan = check_one(mutate);
        assert_eq!(plan.problems, vec![]);
        assert_eq!(plan.mappings.len(), 1);
        plan.mappings.into_iter().next().unwrap().1
    }

    #[test]
    fn a_clean_row_becomes_a_proposed_equivalent_mapping() {
        let m = clean(|_| {});
        assert_eq!(m.hospital, hosp());
        assert_eq!(m.national_code, code(33));
        assert_eq!(m.unit_ucum, "mmol/L");
        assert_eq!(m.unit_alias, "");
        assert_eq!(m.status, MappingStatus::Proposed);
        assert_eq!(m.equivalence, Equivalence::Equivalent);
        assert_eq!(
            (m.proposed_by.as_str(), m.updated_by.as_str(), m.updated_at),
            ("", "", 0)
        );
        assert_eq!(m.term, row().term);
    }

    #[test]
    fn status_and_equivalence_columns() {
        let m = clean(|r| {
            r.status = "Approved".into();
            r.equivalence = "wider".into();
        });
        assert_eq!(
            (m.status, m.equivalence),
            (MappingStatus::Approved, Equivalence::Wider)
        );
        assert_eq!(problem(|r| r.status = "done".into()).0, "status");
        assert_eq!(problem(|r| r.equivalence = "same".into()).0, "equivalence");
    }

    #[test]
    fn required_cells() {
        assert_eq!(problem(|r| r.term.local_code = " ".into()).0, "local_code");
        assert_eq!(problem(|r| r.term.local_name.clear()).0, "local_name");
    }

    #[test]
    fn duplicate_local_codes_name_the_first_line() {
        let rows = vec![(2, row()), (3, row()), (5, row())];
        let plan = check_mapping_rows(&hosp(), &rows, &registry());
        assert_eq!(plan.mappings.len(), 1);
        let got: Vec<(u64, &str)> = plan
            .problems
            .iter()
            .map(|p| (p.line, p.message.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (3, "duplicate local code 014 (first on line 2)"),
                (5, "duplicate local code 014 (first on line 2)")
            ]
        );
    }

    #[test]
    fn reference_range_order() {
        let (column, message) = problem(|r| r.term.ref_low = Some(7.0));
        assert_eq!(column, "ref_low");
        assert!(message.contains("greater than ref_high 6.1"), "{message}");
        clean(|r| r.term.ref_low = Some(6.1));
        clean(|r| r.term.ref_low = None);
    }

    #[test]
    fn a_blank_target_is_an_unmapped_row() {
        let m = clean(|r| r.national_code.clear());
        assert!(m.is_unmapped());
        assert_eq!(m.unit_ucum, "mmol/L", "the unit is still resolved");
        // An unknown unit is still a problem on an unmapped row.
        assert_eq!(
            problem(|r| {
                r.national_code.clear();
                r.term.unit = "bananas".into();
            })
            .0,
            "unit"
        );
        assert_eq!(
            problem(|r| {
                r.national_code.clear();
                r.status = "approved".into();
            })
            .0,
            "status"
        );
    }

    #[test]
    fn targets_through_loinc() {
        let m = clean(|r| {
            r.national_code.clear();
            r.loinc = "14749-6".into();
        });
        assert_eq!(m.national_code, code(33));
        // Both given and agreeing.
        clean(|r| r.loinc = "14749-6".into());
        // Both given and disagreeing.
        let (column, message) = problem(|r| r.loinc = "2345-7".into());
        assert_eq!(column, "national_code");
        assert!(message.contains(&code(34)), "{message}");
        // Ambiguous: two national codes share 1920-8.
        let (column, message) = problem(|r| {
            r.national_code.clear();
            r.loinc = "1920-8".into();
            r.term.unit = "U/L".into();
        });
        assert_eq!(column, "loinc");
        assert!(
            message.contains(&code(92)) && message.contains(&code(93)),
            "{message}"
        );
        // Unknown LOINC code, and a LOINC code that is not one.
        let (column, message) = problem(|r| {
            r.national_code.clear();
            r.loinc = "2160-0".into();
        });
        assert_eq!(column, "loinc");
        assert!(message.contains("no national equivalent"), "{message}");
        let (_, message) = problem(|r| {
            r.national_code.clear();
            r.loinc = "2160-1".into();
        });
        assert!(message.contains("2160-1"), "{message}");
    }

    /// [`registry`] with a LOINC release: terms without a national code (lipase with its
    /// example unit; a Top-2000 style term with neither axes nor unit; a deprecated term) and
    /// one with (2345-7).
    fn registry_with_loinc() -> Registry {
        let term = |code: &str, name: &str, unit: &str, system: Option<&str>| {
            let mut c = concept(0, "", name, "CCnc", system.unwrap_or(""), unit, None);
            c.code = code.into();
            c.display_zh.clear();
            c.display_en = name.into();
            if system.is_none() {
                c.axes = None;
            }
            c
        };
        let mut old = term("1234-4", "Retired term", "", None);
        old.status = Status::Deprecated;
        old.replaced_by = "3040-3".into();
        let loinc = vec![
            term(
                "3040-3",
                "Lipase [Enzymatic activity/volume] in Serum or Plasma",
                "U/L",
                Some("Ser/Plas"),
            ),
            term(
                "2857-1",
                "Prostate specific Ag [Mass/volume] in Serum or Plasma",
                "",
                None,
            ),
            term(
                "2345-7",
                "Glucose [Mass/volume] in Serum or Plasma",
                "mg/dL",
                Some("Ser/Plas"),
            ),
            old,
        ];
        let national = registry();
        let loinc_release = Release {
            id: 2,
            system: CodeSystem::Loinc,
            label: "2.80".into(),
            imported_at: "2026-11-22T00:00:00Z".into(),
            source: "Loinc.csv".into(),
            concept_count: loinc.len() as i64,
        };
        let n = national.current(CodeSystem::National).unwrap().clone();
        Registry::new(
            vec![n.release.clone(), loinc_release.clone()],
            vec![
                CurrentRelease::new(
                    n.release.clone(),
                    n.concepts.iter().map(|c| (**c).clone()).collect(),
                ),
                CurrentRelease::new(loinc_release, loinc),
            ],
        )
    }

    #[test]
    fn a_loinc_term_without_a_national_code_is_a_target() {
        let check = |mutate: &dyn Fn(&mut MappingRow)| {
            let mut r = row();
            r.national_code.clear();
            r.term.specimen = "血清".into();
            mutate(&mut r);
            check_mapping_rows(&hosp(), &[(2, r)], &registry_with_loinc())
        };
        let plan = check(&|r| {
            r.loinc = "3040-3".into();
            r.term.unit = "U/L".into();
        });
        assert!(plan.problems.is_empty(), "{:?}", plan.problems);
        let m = &plan.mappings[0].1;
        assert_eq!((m.national_code.as_str(), m.loinc.as_str()), ("", "3040-3"));
        assert!(m.is_loinc_only() && !m.is_unmapped());
        assert_eq!(m.target(), "3040-3");
        // Approved is allowed: the row has a target.
        let plan = check(&|r| {
            r.loinc = "3040-3".into();
            r.term.unit = "U/L".into();
            r.status = "approved".into();
        });
        assert!(plan.problems.is_empty(), "{:?}", plan.problems);
        // The unit must convert into the term's example unit …
        let plan = check(&|r| {
            r.loinc = "3040-3".into();
            r.term.unit = "mmol/L".into();
        });
        assert_eq!(plan.problems[0].column.as_deref(), Some("unit"));
        // … and the specimen fit its system.
        let plan = check(&|r| {
            r.loinc = "3040-3".into();
            r.term.unit = "U/L".into();
            r.term.specimen = "尿".into();
        });
        assert_eq!(plan.problems[0].column.as_deref(), Some("specimen"));
        // A term that states no unit takes any valid unit.
        let plan = check(&|r| {
            r.loinc = "2857-1".into();
            r.term.unit = "ng/mL".into();
        });
        assert!(plan.problems.is_empty(), "{:?}", plan.problems);
        // A LOINC code with a national equivalent still targets the national code.
        let plan = check(&|r| {
            r.loinc = "2345-7".into();
            r.term.unit = "mg/dL".into();
        });
        assert_eq!(plan.mappings[0].1.national_code, code(34));
        assert_eq!(plan.mappings[0].1.loinc, "");
        // A code the loaded release lacks, and a deprecated term.
        let plan = check(&|r| r.loinc = "2160-0".into());
        assert!(
            plan.problems[0]
                .message
                .contains("release 2.80 does not have it"),
            "{:?}",
            plan.problems
        );
        let plan = check(&|r| r.loinc = "1234-4".into());
        assert!(
            plan.problems[0].message.contains("DEPRECATED")
                && plan.problems[0].message.contains("3040-3"),
            "{:?}",
            plan.problems
        );
        // A national code with a LOINC term that has none disagrees.
        let plan = check(&|r| {
            r.national_code = code(33);
            r.loinc = "3040-3".into();
        });
        assert_eq!(plan.problems[0].column.as_deref(), Some("loinc"));
    }

    #[test]
    fn targets_must_exist_and_not_be_deprecated() {
        let (column, message) = problem(|r| r.national_code = code(500));
        assert_eq!(column, "national_code");
        assert!(
            message.contains("not in the current national release"),
            "{message}"
        );
        let (column, _) = problem(|r| r.national_code = "9000033-3".into());
        assert_eq!(column, "national_code", "a bad check digit is reported");
        let (column, message) = problem(|r| {
            r.national_code = code(90);
            r.term.unit = "mg/dL".into();
            r.term.specimen = "全血".into();
        });
        assert_eq!(column, "national_code");
        assert!(
            message.contains("DEPRECATED") && message.contains(&code(33)),
            "{message}"
        );
        // Through LOINC, the problem is in the loinc column.
        let (column, _) = problem(|r| {
            r.national_code.clear();
            r.loinc = "2339-0".into();
            r.term.specimen = "全血".into();
        });
        assert_eq!(column, "loinc");
        // TRIAL (and DISCOURAGED) targets are accepted.
        clean(|r| r.national_code = code(96));
    }

    #[test]
    fn units_resolve_and_convert_into_the_concept_unit() {
        // An alias, recorded.
        let m = clean(|r| r.term.unit = "mg/dl".into());
        assert_eq!(
            (m.unit_ucum.as_str(), m.unit_alias.as_str()),
            ("mg/dL", "mg/dl")
        );
        // Mass → molar through the molar mass; same kind through UCUM.
        clean(|r| r.national_code = code(34));
        clean(|r| {
            r.national_code = code(1);
            r.term.specimen = "全血".into();
            r.term.unit = "K/uL=10*3/uL".into();
        });
        // Declared by the hospital: recorded as its alias.
        let m = clean(|r| {
            r.national_code = code(1);
            r.term.specimen = "全血".into();
            r.term.unit = "K/uL = 10*3/uL".into();
        });
        assert_eq!(
            (m.unit_ucum.as_str(), m.unit_alias.as_str()),
            ("10*3/uL", "K/uL")
        );
        // mEq/L converts for potassium (charge 1) and calcium (charge 2).
        clean(|r| {
            r.national_code = code(52);
            r.term.unit = "mEq/L".into();
        });
        clean(|r| {
            r.national_code = code(55);
            r.term.unit = "mEq/L".into();
        });
        // A blank unit is allowed.
        let m = clean(|r| r.term.unit.clear());
        assert_eq!(m.unit_ucum, "");
        // A unit that is neither UCUM nor an alias.
        let (column, message) = problem(|r| r.term.unit = "mg/dL/".into());
        assert_eq!(column, "unit");
        assert!(message.contains("mg/dL/"), "{message}");
        // Ambiguous case.
        assert_eq!(problem(|r| r.term.unit = "Mg/dL".into()).0, "unit");
    }

    #[test]
    fn units_that_do_not_convert_say_why() {
        let message = |mutate: fn(&mut MappingRow)| {
            let (column, message) = problem(mutate);
            assert_eq!(column, "unit");
            message
        };
        let m = message(|r| r.term.unit = "10*9/L".into());
        assert!(m.contains("another kind of quantity"), "{m}");
        // HDL in the test registry has no molar mass.
        let m = message(|r| {
            r.national_code = code(94);
            r.term.unit = "mg/dL".into();
        });
        assert!(m.contains("needs a molar mass"), "{m}");
        // Glucose is not an ion: equivalents do not convert into its moles.
        let m = message(|r| r.term.unit = "mEq/L".into());
        assert!(m.contains("charge"), "{m}");
        let m = message(|r| {
            r.national_code = code(16);
            r.term.unit = "IU/L".into();
        });
        assert!(
            m.contains("`IU/L` (UCUM `[IU]/L`)") && m.contains("enzyme unit"),
            "{m}"
        );
        // An IU-based unit for an IU-based concept converts.
        clean(|r| {
            r.national_code = code(73);
            r.term.unit = "μIU/mL".into();
        });
    }

    #[test]
    fn specimens_must_fit_the_system_axis() {
        let (column, message) = problem(|r| r.term.specimen = "全血".into());
        assert_eq!(column, "specimen");
        assert!(message.contains("Ser/Plas"), "{message}");
        assert_eq!(
            problem(|r| {
                r.national_code = code(35);
                r.term.specimen = "血清".into();
            })
            .0,
            "specimen"
        );
        clean(|r| {
            r.national_code = code(35);
            r.term.specimen = "末梢血".into();
        });
        // Unknown or blank specimens are not errors.
        clean(|r| r.term.specimen = "唾液".into());
        clean(|r| r.term.specimen.clear());
        // Ordinal concepts: no unit, the system is still checked.
        clean(|r| {
            r.national_code = code(91);
            r.term.unit.clear();
        });
    }

    #[test]
    fn every_problem_of_every_row_is_reported() {
        let mut bad = row();
        bad.term.local_name.clear();
        bad.term.unit = "bananas".into();
        bad.term.specimen = "尿".into();
        bad.term.ref_low = Some(9.0);
        bad.status = "done".into();
        let mut bad2 = row();
        bad2.term.local_code = "015".into();
        bad2.national_code = code(500);
        let rows = vec![(4, bad2), (2, row()), (3, bad)];
        let plan = check_mapping_rows(&hosp(), &rows, &registry());
        let got: Vec<(u64, &str)> = plan
            .problems
            .iter()
            .map(|p| (p.line, p.column.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            got,
            vec![
                (3, "local_code"),
                (3, "local_name"),
                (3, "ref_low"),
                (3, "status"),
                (3, "unit"),
                (3, "specimen"),
                (4, "national_code")
            ]
        );
        assert_eq!(plan.mappings.len(), 1);
        assert_eq!(plan.mappings[0].0, 2);
    }

    fn mapping(local_code: &str, target: &str) -> Mapping {
        Mapping {
            hospital: hosp(),
            term: LocalTerm {
                local_code: local_code.into(),
                local_name: "x".into(),
                ..LocalTerm::default()
            },
            national_code: target.into(),
            loinc: String::new(),
            unit_ucum: String::new(),
            unit_alias: String::new(),
            equivalence: Equivalence::Equivalent,
            status: MappingStatus::Proposed,
            proposed_by: String::new(),
            updated_by: String::new(),
            updated_at: 0,
        }
    }

    #[test]
    fn diff_created_updated_unchanged() {
        let mut stored_a = mapping("001", "9000001-9");
        stored_a.proposed_by = "alice".into();
        stored_a.updated_at = 42;
        let stored = vec![
            stored_a.clone(),
            mapping("002", "9000002-7"),
            mapping("009", ""),
        ];
        let incoming = vec![
            mapping("001", "9000001-9"), // same content, other who/when
            mapping("002", "9000003-5"), // new target
            mapping("003", ""),          // new local code
        ];
        let d = diff_import(&stored, &incoming);
        assert_eq!(d.unchanged, 1);
        assert_eq!(d.created, vec![mapping("003", "")]);
        assert_eq!(d.updated.len(), 1);
        assert_eq!(d.updated[0].0.national_code, "9000002-7");
        assert_eq!(d.updated[0].1.national_code, "9000003-5");
        // Re-importing what is stored changes nothing.
        let d = diff_import(&stored, &stored);
        assert_eq!((d.created.len(), d.updated.len(), d.unchanged), (0, 0, 3));
        // Another hospital's local code 001 is another mapping.
        let mut other = mapping("001", "9000001-9");
        other.hospital = HospitalId::parse("hosp-b").unwrap();
        assert_eq!(diff_import(&stored, &[other]).created.len(), 1);
    }

    #[test]
    fn reimporting_a_file_without_status_keeps_review_decisions() {
        let mut approved = mapping("001", "9000001-9");
        approved.status = MappingStatus::Approved;
        let proposed = mapping("001", "9000001-9");
        let d = diff_import(
            std::slice::from_ref(&approved),
            std::slice::from_ref(&proposed),
        );
        assert_eq!((d.updated.len(), d.unchanged), (0, 1));
        // A changed target is an update, back to review.
        let d = diff_import(
            std::slice::from_ref(&approved),
            &[mapping("001", "9000002-7")],
        );
        assert_eq!(d.updated.len(), 1);
        // An explicit status in the file is an update.
        let mut retired = proposed.clone();
        retired.status = MappingStatus::Retired;
        let d = diff_import(&[approved], &[retired]);
        assert_eq!(d.updated.len(), 1);
    }
}
