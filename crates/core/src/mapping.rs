//! Hospitals and their local-code mappings to the national registry.
//!
//! A hospital's LIS names its tests with local codes (`001`, `GLU`); a [`Mapping`] ties one
//! local code, as the curator described it (name, specimen, unit, reference range), to one
//! national code — or, where the national registry has no code for the test yet, to a LOINC
//! term — with a review [`MappingStatus`] and an [`Equivalence`]. Only `equivalent`,
//! `approved` mappings count for normalisation and recognition later.

use std::fmt;

/// Why a hospital id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a hospital id: use 1 to 64 of a-z, 0-9 and `-`")]
pub struct BadHospitalId(pub String);

/// A hospital's id: a short slug (`[a-z0-9-]{1,64}`), used in URLs and canonical URLs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HospitalId(String);

impl HospitalId {
    pub fn parse(s: &str) -> Result<HospitalId, BadHospitalId> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(HospitalId(s.to_owned()))
        } else {
            Err(BadHospitalId(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HospitalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A hospital (or an independent lab) known to huren.
#[derive(Debug, Clone, PartialEq)]
pub struct Hospital {
    pub id: HospitalId,
    pub name: String,
    /// Six-digit administrative division code of the province (`420000`), or empty.
    pub province: String,
    /// Six-digit administrative division code of the city (`420100`), or empty.
    pub city: String,
    /// Hospital grade as written (`三级甲等`), or empty.
    pub level: String,
    /// What the recognition rules read of the hospital's laboratory.
    pub lab: LabProfile,
}

/// A laboratory's settings and credentials that mutual recognition reads: data, kept with the
/// hospital (docs/recognition.md).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabProfile {
    /// Groups the hospital belongs to: medical alliances (医联体) and named regions such as
    /// `jjjl` (京津冀鲁); a catalogue scope with one of these ids covers the hospital.
    pub alliances: Vec<String>,
    /// The Westgard rule set its IQC is judged by (`1-2s:warning,1-3s,2-2s,R-4s,4-1s,10x`), or
    /// empty for the classic set.
    pub iqc_rules: String,
    /// The laboratory reports the national reference intervals (WS/T 404/405) or has declared
    /// its own harmonized with them.
    pub harmonized_intervals: bool,
    /// ISO 15189 accreditation (CNAS registration number, `CNAS MT0001`), or empty.
    pub accreditation: String,
    /// Last day of the accreditation (`YYYY-MM-DD`), or empty.
    pub accredited_until: String,
}

impl LabProfile {
    /// Reads the profile's fields as a file or a person gave them: `alliances` separated by
    /// `;`, `,` or `|`; `iqc_rules` a Westgard rule set; `harmonized` a yes/no
    /// (`true`/`false`/`是`/`否`/`1`/`0`, blank = no); `accredited_until` a date. Every
    /// problem names its field.
    pub fn parse(
        alliances: &str,
        iqc_rules: &str,
        harmonized: &str,
        accreditation: &str,
        accredited_until: &str,
    ) -> Result<LabProfile, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        let mut groups: Vec<String> = Vec::new();
        for a in alliances.split([';', ',', '|']).map(str::trim) {
            if a.is_empty() {
                continue;
            }
            match crate::recognition::Scope::parse(a) {
                Ok(crate::recognition::Scope::Alliance(id)) => {
                    if !groups.contains(&id) {
                        groups.push(id);
                    }
                }
                _ => problems.push((
                    "alliances",
                    format!(
                        "`{a}` is not an alliance or named-region id (a province or city is \
                         given in its own column)"
                    ),
                )),
            }
        }
        let iqc_rules = iqc_rules.trim();
        if !iqc_rules.is_empty()
            && let Err(m) = crate::qc::RuleSet::parse(iqc_rules)
        {
            problems.push(("iqc_rules", m));
        }
        let harmonized_intervals = match parse_yes_no(harmonized) {
            Some(b) => b,
            None => {
                problems.push((
                    "harmonized_intervals",
                    format!("`{}` is not true/false (是/否, 1/0)", harmonized.trim()),
                ));
                false
            }
        };
        let until = accredited_until.trim();
        if !until.is_empty()
            && (until.len() != 10 || crate::observation::fhir_instant_millis(until, 0).is_none())
        {
            problems.push((
                "accredited_until",
                format!("`{until}` is not a date (YYYY-MM-DD)"),
            ));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(LabProfile {
            alliances: groups,
            iqc_rules: iqc_rules.to_owned(),
            harmonized_intervals,
            accreditation: accreditation.trim().to_owned(),
            accredited_until: until.to_owned(),
        })
    }

    /// The rule set its IQC is judged by.
    #[must_use]
    pub fn rule_set(&self) -> crate::qc::RuleSet {
        crate::qc::RuleSet::parse(&self.iqc_rules).unwrap_or_else(|_| crate::qc::RuleSet::classic())
    }
}

/// A yes/no cell: `true`/`false`, `yes`/`no`, `是`/`否`, `1`/`0`; blank is no.
#[must_use]
pub fn parse_yes_no(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "" | "false" | "no" | "n" | "否" | "0" => Some(false),
        "true" | "yes" | "y" | "是" | "1" => Some(true),
        _ => None,
    }
}

/// Whether `s` is empty or a six-digit administrative division code (GB/T 2260: `420000`
/// for a province, `420100` for a city).
fn is_division_code_or_empty(s: &str) -> bool {
    s.is_empty() || (s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()))
}

impl Hospital {
    /// Where the hospital is, for the scopes of the recognition catalogue.
    #[must_use]
    pub fn region(&self) -> crate::recognition::Region {
        crate::recognition::Region {
            province: self.province.clone(),
            city: self.city.clone(),
            alliances: self.lab.alliances.clone(),
        }
    }

    /// Checks a hospital's fields as a person or a file gave them (trimmed): the id is a slug,
    /// the name is not empty, province and city are division codes or empty. Every problem
    /// names its field.
    pub fn parse(
        id: &str,
        name: &str,
        province: &str,
        city: &str,
        level: &str,
    ) -> Result<Hospital, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        let id = HospitalId::parse(id.trim())
            .map_err(|e| problems.push(("id", e.to_string())))
            .ok();
        if name.trim().is_empty() {
            problems.push(("name", "name is required".to_owned()));
        }
        for (field, value) in [("province", province.trim()), ("city", city.trim())] {
            if !is_division_code_or_empty(value) {
                problems.push((
                    field,
                    format!("`{value}` is not a six-digit administrative division code"),
                ));
            }
        }
        match id {
            Some(id) if problems.is_empty() => Ok(Hospital {
                id,
                name: name.trim().to_owned(),
                province: province.trim().to_owned(),
                city: city.trim().to_owned(),
                level: level.trim().to_owned(),
                lab: LabProfile::default(),
            }),
            _ => Err(problems),
        }
    }
}

/// Where a mapping is in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MappingStatus {
    /// From an import or a suggestion; not yet reviewed.
    Proposed,
    Approved,
    Rejected,
    /// Was approved once; no longer used (the local code was withdrawn or remapped).
    Retired,
}

impl MappingStatus {
    pub const ALL: [MappingStatus; 4] = [
        MappingStatus::Proposed,
        MappingStatus::Approved,
        MappingStatus::Rejected,
        MappingStatus::Retired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MappingStatus::Proposed => "proposed",
            MappingStatus::Approved => "approved",
            MappingStatus::Rejected => "rejected",
            MappingStatus::Retired => "retired",
        }
    }

    pub fn parse(s: &str) -> Option<MappingStatus> {
        MappingStatus::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for MappingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the local concept relates to the national one (FHIR R4 ConceptMapEquivalence subset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Equivalence {
    Equivalent,
    /// The national concept is wider than the local one.
    Wider,
    /// The national concept is narrower than the local one.
    Narrower,
    Inexact,
}

impl Equivalence {
    pub const ALL: [Equivalence; 4] = [
        Equivalence::Equivalent,
        Equivalence::Wider,
        Equivalence::Narrower,
        Equivalence::Inexact,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Equivalence::Equivalent => "equivalent",
            Equivalence::Wider => "wider",
            Equivalence::Narrower => "narrower",
            Equivalence::Inexact => "inexact",
        }
    }

    pub fn parse(s: &str) -> Option<Equivalence> {
        Equivalence::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for Equivalence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A local test as the hospital describes it: one row of the curator's mapping CSV, without
/// the target.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LocalTerm {
    pub local_code: String,
    pub local_name: String,
    /// As written (`血清`, `serum`, `Ser`), or empty.
    pub specimen: String,
    /// As written (`mg/dl`, `x10^9/L`), or empty.
    pub unit: String,
    pub ref_low: Option<f64>,
    pub ref_high: Option<f64>,
    pub ref_text: String,
    pub method: String,
    pub note: String,
}

/// One local code of one hospital and its national target.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub hospital: HospitalId,
    pub term: LocalTerm,
    /// The national code, or empty when the local code is not mapped yet (it is kept and
    /// queued, never dropped) or is mapped to a LOINC term only.
    pub national_code: String,
    /// The LOINC term the local code is mapped to when the national registry has no code with
    /// that LOINC equivalent (then `national_code` is empty); empty otherwise. When a national
    /// release adds a code equivalent to it, the mapping moves to that code.
    pub loinc: String,
    /// The UCUM form of `term.unit` (`mg/dL` for `mg/dl`), or empty when there is no unit.
    pub unit_ucum: String,
    /// The alias through which `term.unit` was recognised (`mg/dl`), or empty when the unit
    /// was already valid UCUM.
    pub unit_alias: String,
    pub equivalence: Equivalence,
    pub status: MappingStatus,
    /// The `sub` of whoever proposed the current target (for the two-person rule).
    pub proposed_by: String,
    /// The `sub` of whoever last changed the mapping.
    pub updated_by: String,
    /// When it last changed, in Unix milliseconds.
    pub updated_at: i64,
}

impl Mapping {
    /// Whether the mapping is unmapped (no target yet: neither a national code nor a LOINC
    /// term).
    pub fn is_unmapped(&self) -> bool {
        self.national_code.is_empty() && self.loinc.is_empty()
    }

    /// Whether the target is a LOINC term without a national code.
    pub fn is_loinc_only(&self) -> bool {
        self.national_code.is_empty() && !self.loinc.is_empty()
    }

    /// The target as a code: the national code, else the LOINC code, else empty.
    pub fn target(&self) -> &str {
        if self.national_code.is_empty() {
            &self.loinc
        } else {
            &self.national_code
        }
    }

    /// Whether two mappings say the same thing, ignoring who and when.
    pub fn same_content(&self, other: &Mapping) -> bool {
        self.hospital == other.hospital
            && self.term == other.term
            && self.national_code == other.national_code
            && self.loinc == other.loinc
            && self.unit_ucum == other.unit_ucum
            && self.unit_alias == other.unit_alias
            && self.equivalence == other.equivalence
            && self.status == other.status
    }
}

/// One entry of a mapping's history: who changed what, when, from what to what.
#[derive(Debug, Clone, PartialEq)]
pub struct MappingChange {
    pub hospital: HospitalId,
    pub local_code: String,
    /// Unix milliseconds.
    pub at: i64,
    /// The `sub` of the actor.
    pub by: String,
    /// `import`, `approve`, `reject`, `retire`, `propose`, or `release` (moved by huren to the
    /// national code a release gave its LOINC term).
    pub action: String,
    pub from_status: Option<MappingStatus>,
    pub to_status: MappingStatus,
    pub from_target: String,
    pub to_target: String,
    pub comment: String,
}

/// Which mappings a listing or a bulk action selects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MappingFilter {
    pub status: Option<MappingStatus>,
    /// Only unmapped (`Some(true)`) or only mapped (`Some(false)`) local codes.
    pub unmapped: Option<bool>,
    /// A case-insensitive substring of the local code, local name, national code or LOINC
    /// target.
    pub text: String,
}

impl MappingFilter {
    /// Whether `m` is selected by this filter.
    pub fn matches(&self, m: &Mapping) -> bool {
        if self.status.is_some_and(|s| s != m.status) {
            return false;
        }
        if self.unmapped.is_some_and(|u| u != m.is_unmapped()) {
            return false;
        }
        let needle = self.text.trim().to_lowercase();
        needle.is_empty()
            || m.term.local_code.to_lowercase().contains(&needle)
            || m.term.local_name.to_lowercase().contains(&needle)
            || m.national_code.to_lowercase().contains(&needle)
            || m.loinc.to_lowercase().contains(&needle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hospital_ids_are_slugs() {
        for ok in ["hosp-a", "a", "420100-wuhan-union", &"x".repeat(64)] {
            assert!(HospitalId::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Hosp-A",
            "hosp a",
            "hosp_a",
            "协和",
            "a/b",
            &"x".repeat(65),
        ] {
            assert_eq!(HospitalId::parse(bad), Err(BadHospitalId(bad.to_owned())));
        }
    }

    #[test]
    fn statuses_and_equivalences_round_trip() {
        for s in MappingStatus::ALL {
            assert_eq!(MappingStatus::parse(s.as_str()), Some(s));
        }
        for e in Equivalence::ALL {
            assert_eq!(Equivalence::parse(&e.as_str().to_uppercase()), Some(e));
        }
        assert_eq!(MappingStatus::parse("done"), None);
    }
}
