//! Row types and their conversion to and from core's domain values.

use crate::schema::{concepts, releases};
use diesel::prelude::*;
use huren_core::{Axes, CodeSystem, Concept, Release, Status};

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
