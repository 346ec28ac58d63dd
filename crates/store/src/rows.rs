//! Row types and their conversion to and from core's domain values.

use crate::schema::{concepts, hospitals, mapping_history, mappings, releases};
use diesel::prelude::*;
use huren_core::mapping::{LabProfile, LocalTerm, MappingChange};
use huren_core::{
    Axes, CodeSystem, Concept, Equivalence, Hospital, HospitalId, Mapping, MappingStatus, Release,
    Status,
};

/// Lists are stored joined with U+001F, the ASCII unit separator, which no name contains.
const SEP: char = '\u{1f}';

fn join(items: &[String]) -> String {
    let mut s = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            s.push(SEP);
        }
        s.extend(item.chars().filter(|&c| c != SEP));
    }
    s
}

fn split(s: &str) -> Vec<String> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(SEP).map(str::to_owned).collect()
    }
}

#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = releases)]
pub struct ReleaseRow {
    pub id: i64,
    pub system: String,
    pub label: String,
    pub imported_at: String,
    pub source: String,
    pub concept_count: i64,
}

impl ReleaseRow {
    pub fn into_release(self) -> Option<Release> {
        Some(Release {
            id: self.id,
            system: CodeSystem::parse(&self.system)?,
            label: self.label,
            imported_at: self.imported_at,
            source: self.source,
            concept_count: self.concept_count,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = releases)]
pub struct NewRelease<'a> {
    pub system: &'a str,
    pub label: &'a str,
    pub imported_at: &'a str,
    pub source: &'a str,
    pub concept_count: i64,
}

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(table_name = concepts)]
pub struct ConceptRow {
    pub release_id: i64,
    pub code: String,
    pub component: Option<String>,
    pub property: Option<String>,
    pub time_aspct: Option<String>,
    pub system_axis: Option<String>,
    pub scale_typ: Option<String>,
    pub method_typ: Option<String>,
    pub class: String,
    pub display_zh: String,
    pub display_en: String,
    pub short_name: String,
    pub abbreviations: String,
    pub synonyms_zh: String,
    pub synonyms_en: String,
    pub ucum_unit: String,
    pub molar_mass: Option<f64>,
    pub status: String,
    pub replaced_by: String,
    pub loinc: String,
}

impl ConceptRow {
    pub fn new(release_id: i64, c: &Concept) -> ConceptRow {
        let axes = c.axes.as_ref();
        let axis = |f: fn(&Axes) -> &String| axes.map(|a| f(a).clone());
        ConceptRow {
            release_id,
            code: c.code.clone(),
            component: axis(|a| &a.component),
            property: axis(|a| &a.property),
            time_aspct: axis(|a| &a.time_aspct),
            system_axis: axis(|a| &a.system),
            scale_typ: axis(|a| &a.scale_typ),
            method_typ: axis(|a| &a.method_typ),
            class: c.class.clone(),
            display_zh: c.display_zh.clone(),
            display_en: c.display_en.clone(),
            short_name: c.short_name.clone(),
            abbreviations: join(&c.abbreviations),
            synonyms_zh: join(&c.synonyms_zh),
            synonyms_en: join(&c.synonyms_en),
            ucum_unit: c.ucum_unit.clone(),
            molar_mass: c.molar_mass,
            status: c.status.as_str().to_owned(),
            replaced_by: c.replaced_by.clone(),
            loinc: c.loinc.clone(),
        }
    }

    pub fn into_concept(self) -> Concept {
        let axes = self.component.map(|component| Axes {
            component,
            property: self.property.unwrap_or_default(),
            time_aspct: self.time_aspct.unwrap_or_default(),
            system: self.system_axis.unwrap_or_default(),
            scale_typ: self.scale_typ.unwrap_or_default(),
            method_typ: self.method_typ.unwrap_or_default(),
        });
        Concept {
            code: self.code,
            axes,
            class: self.class,
            display_zh: self.display_zh,
            display_en: self.display_en,
            short_name: self.short_name,
            abbreviations: split(&self.abbreviations),
            synonyms_zh: split(&self.synonyms_zh),
            synonyms_en: split(&self.synonyms_en),
            ucum_unit: self.ucum_unit,
            molar_mass: self.molar_mass,
            // Only valid statuses are ever written; a hand-edited row reads as DEPRECATED so
            // that it is never offered as a mapping target.
            status: Status::parse(&self.status).unwrap_or(Status::Deprecated),
            replaced_by: self.replaced_by,
            loinc: self.loinc,
        }
    }
}

#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = hospitals)]
pub struct HospitalRow {
    pub id: String,
    pub name: String,
    pub province: String,
    pub city: String,
    pub level: String,
    pub alliances: String,
    pub iqc_rules: String,
    pub harmonized_intervals: bool,
    pub accreditation: String,
    pub accredited_until: String,
}

impl HospitalRow {
    /// `None` only for an id that is not a slug, which the table's CHECK constraint forbids.
    pub fn into_hospital(self) -> Option<Hospital> {
        Some(Hospital {
            id: HospitalId::parse(&self.id).ok()?,
            name: self.name,
            province: self.province,
            city: self.city,
            level: self.level,
            lab: LabProfile {
                alliances: self
                    .alliances
                    .split(';')
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned)
                    .collect(),
                iqc_rules: self.iqc_rules,
                harmonized_intervals: self.harmonized_intervals,
                accreditation: self.accreditation,
                accredited_until: self.accredited_until,
            },
        })
    }
}

/// A hospital to write. `treat_none_as_default_value = false` (here and below) makes diesel
/// bind every column as a value, never as `DEFAULT`: only then does it write a batch to SQLite
/// as one multi-row statement (and accept `ON CONFLICT` on it) instead of one statement per row.
#[derive(Insertable, Debug)]
#[diesel(table_name = hospitals, treat_none_as_default_value = false)]
pub struct NewHospital<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub province: &'a str,
    pub city: &'a str,
    pub level: &'a str,
    pub created_at: i64,
    pub updated_at: i64,
    pub alliances: String,
    pub iqc_rules: &'a str,
    pub harmonized_intervals: bool,
    pub accreditation: &'a str,
    pub accredited_until: &'a str,
}

impl<'a> NewHospital<'a> {
    /// How many bind parameters one row takes.
    pub const COLUMNS: usize = 12;

    pub fn new(h: &'a Hospital, now: i64) -> NewHospital<'a> {
        NewHospital {
            id: h.id.as_str(),
            name: &h.name,
            province: &h.province,
            city: &h.city,
            level: &h.level,
            created_at: now,
            updated_at: now,
            alliances: h.lab.alliances.join(";"),
            iqc_rules: &h.lab.iqc_rules,
            harmonized_intervals: h.lab.harmonized_intervals,
            accreditation: &h.lab.accreditation,
            accredited_until: &h.lab.accredited_until,
        }
    }
}

/// Statuses and equivalences are CHECK-constrained, so the fallbacks below are never taken;
/// should a hand-edited row slip through anyway, it reads as `rejected` and `inexact`, which
/// never count for normalisation or recognition.
fn status(s: &str) -> MappingStatus {
    MappingStatus::parse(s).unwrap_or(MappingStatus::Rejected)
}

#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = mappings)]
pub struct MappingRow {
    pub hospital_id: String,
    pub local_code: String,
    pub local_name: String,
    pub specimen: String,
    pub unit: String,
    pub ref_low: Option<f64>,
    pub ref_high: Option<f64>,
    pub ref_text: String,
    pub method: String,
    pub note: String,
    pub national_code: String,
    pub unit_ucum: String,
    pub unit_alias: String,
    pub equivalence: String,
    pub status: String,
    pub proposed_by: String,
    pub updated_by: String,
    pub updated_at: i64,
    pub loinc: String,
}

impl MappingRow {
    /// `None` only for a hospital id that is not a slug, which the foreign key to `hospitals`
    /// and its CHECK constraint forbid.
    pub fn into_mapping(self) -> Option<Mapping> {
        Some(Mapping {
            hospital: HospitalId::parse(&self.hospital_id).ok()?,
            term: LocalTerm {
                local_code: self.local_code,
                local_name: self.local_name,
                specimen: self.specimen,
                unit: self.unit,
                ref_low: self.ref_low,
                ref_high: self.ref_high,
                ref_text: self.ref_text,
                method: self.method,
                note: self.note,
            },
            national_code: self.national_code,
            loinc: self.loinc,
            unit_ucum: self.unit_ucum,
            unit_alias: self.unit_alias,
            equivalence: Equivalence::parse(&self.equivalence).unwrap_or(Equivalence::Inexact),
            status: status(&self.status),
            proposed_by: self.proposed_by,
            updated_by: self.updated_by,
            updated_at: self.updated_at,
        })
    }
}

/// A mapping to write, borrowing from the domain value; `None` is written as NULL.
#[derive(Insertable, Debug)]
#[diesel(table_name = mappings, treat_none_as_default_value = false)]
pub struct NewMapping<'a> {
    pub hospital_id: &'a str,
    pub local_code: &'a str,
    pub local_name: &'a str,
    pub specimen: &'a str,
    pub unit: &'a str,
    pub ref_low: Option<f64>,
    pub ref_high: Option<f64>,
    pub ref_text: &'a str,
    pub method: &'a str,
    pub note: &'a str,
    pub national_code: &'a str,
    pub unit_ucum: &'a str,
    pub unit_alias: &'a str,
    pub equivalence: &'static str,
    pub status: &'static str,
    pub proposed_by: &'a str,
    pub updated_by: &'a str,
    pub updated_at: i64,
    pub loinc: &'a str,
}

impl<'a> NewMapping<'a> {
    /// How many bind parameters one row takes.
    pub const COLUMNS: usize = 19;

    pub fn new(m: &'a Mapping) -> NewMapping<'a> {
        let t = &m.term;
        NewMapping {
            hospital_id: m.hospital.as_str(),
            local_code: &t.local_code,
            local_name: &t.local_name,
            specimen: &t.specimen,
            unit: &t.unit,
            ref_low: t.ref_low,
            ref_high: t.ref_high,
            ref_text: &t.ref_text,
            method: &t.method,
            note: &t.note,
            national_code: &m.national_code,
            unit_ucum: &m.unit_ucum,
            unit_alias: &m.unit_alias,
            equivalence: m.equivalence.as_str(),
            status: m.status.as_str(),
            proposed_by: &m.proposed_by,
            updated_by: &m.updated_by,
            updated_at: m.updated_at,
            loinc: &m.loinc,
        }
    }
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = mapping_history)]
pub struct HistoryRow {
    pub hospital_id: String,
    pub local_code: String,
    pub at: i64,
    pub by: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub from_target: String,
    pub to_target: String,
    pub comment: String,
    /// The seq of the change's link in its hospital's chain (NULL only until the backfill).
    pub chain_seq: Option<i64>,
}

impl HistoryRow {
    /// `None` only for a hospital id that is not a slug (see [`MappingRow::into_mapping`]).
    pub fn into_change(self) -> Option<MappingChange> {
        Some(MappingChange {
            hospital: HospitalId::parse(&self.hospital_id).ok()?,
            local_code: self.local_code,
            at: self.at,
            by: self.by,
            action: self.action,
            from_status: self.from_status.as_deref().map(status),
            to_status: status(&self.to_status),
            from_target: self.from_target,
            to_target: self.to_target,
            comment: self.comment,
        })
    }
}

/// A history entry to write; `None` is written as NULL.
#[derive(Insertable, Debug)]
#[diesel(table_name = mapping_history, treat_none_as_default_value = false)]
pub struct NewHistory<'a> {
    pub hospital_id: &'a str,
    pub local_code: &'a str,
    pub at: i64,
    pub by: &'a str,
    pub action: &'a str,
    pub from_status: Option<&'static str>,
    pub to_status: &'static str,
    pub from_target: &'a str,
    pub to_target: &'a str,
    pub comment: &'a str,
    pub chain_seq: Option<i64>,
}

impl<'a> NewHistory<'a> {
    /// How many bind parameters one row takes.
    pub const COLUMNS: usize = 11;

    /// The row of a change whose link has `chain_seq` in its hospital's chain.
    pub fn new(c: &'a MappingChange, chain_seq: i64) -> NewHistory<'a> {
        NewHistory {
            hospital_id: c.hospital.as_str(),
            local_code: &c.local_code,
            at: c.at,
            by: &c.by,
            action: &c.action,
            from_status: c.from_status.map(MappingStatus::as_str),
            to_status: c.to_status.as_str(),
            from_target: &c.from_target,
            to_target: &c.to_target,
            comment: &c.comment,
            chain_seq: Some(chain_seq),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_round_trip_and_lose_only_the_separator() {
        let items = vec!["a".to_string(), "b\u{1f}c".to_string(), "血糖".to_string()];
        assert_eq!(split(&join(&items)), vec!["a", "bc", "血糖"]);
        assert!(split(&join(&[])).is_empty());
    }
}
