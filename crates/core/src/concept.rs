//! Concepts of the registry (one lab test each), their six LOINC axes, status and releases.

use crate::code::CodeSystem;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The six parts of a LOINC fully specified name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Axes {
    pub component: String,
    pub property: String,
    pub time_aspct: String,
    pub system: String,
    pub scale_typ: String,
    /// Optional in LOINC: empty means "any method".
    pub method_typ: String,
}

impl Axes {
    /// The axis names as LOINC and FHIR `$lookup` properties spell them, with their values.
    pub fn named(&self) -> [(&'static str, &str); 6] {
        [
            ("COMPONENT", &self.component),
            ("PROPERTY", &self.property),
            ("TIME_ASPCT", &self.time_aspct),
            ("SYSTEM", &self.system),
            ("SCALE_TYP", &self.scale_typ),
            ("METHOD_TYP", &self.method_typ),
        ]
    }

    /// The fully specified name, `COMPONENT:PROPERTY:TIME:SYSTEM:SCALE[:METHOD]`.
    pub fn fully_specified_name(&self) -> String {
        let mut s = format!(
            "{}:{}:{}:{}:{}",
            self.component, self.property, self.time_aspct, self.system, self.scale_typ
        );
        if !self.method_typ.is_empty() {
            s.push(':');
            s.push_str(&self.method_typ);
        }
        s
    }
}

/// Lifecycle status of a concept, as LOINC defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Active,
    Trial,
    Discouraged,
    Deprecated,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "ACTIVE",
            Status::Trial => "TRIAL",
            Status::Discouraged => "DISCOURAGED",
            Status::Deprecated => "DEPRECATED",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        match s.trim().to_ascii_uppercase().as_str() {
            "ACTIVE" => Some(Status::Active),
            "TRIAL" => Some(Status::Trial),
            "DISCOURAGED" => Some(Status::Discouraged),
            "DEPRECATED" => Some(Status::Deprecated),
            _ => None,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One concept (lab test) of the national registry or of LOINC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Concept {
    pub code: String,
    /// `None` when the source does not carry the axes (LOINC's Top-2000 list has only names).
    pub axes: Option<Axes>,
    pub class: String,
    /// Chinese display name (the name on Chinese lab reports).
    pub display_zh: String,
    /// English display name (for LOINC: the Long Common Name).
    pub display_en: String,
    pub short_name: String,
    pub abbreviations: Vec<String>,
    pub synonyms_zh: Vec<String>,
    pub synonyms_en: Vec<String>,
    /// Canonical UCUM unit; empty for ordinal and nominal scales.
    pub ucum_unit: String,
    /// Molar mass in g/mol, where a mass↔molar conversion exists.
    pub molar_mass: Option<f64>,
    pub status: Status,
    pub replaced_by: String,
    /// For a national concept: the equivalent LOINC code.
    pub loinc: String,
}

impl Concept {
    /// The display in the requested language, falling back to the other one.
    pub fn display(&self, lang: Language) -> &str {
        match lang {
            Language::Zh if !self.display_zh.is_empty() => &self.display_zh,
            Language::En if !self.display_en.is_empty() => &self.display_en,
            _ if !self.display_zh.is_empty() => &self.display_zh,
            _ => &self.display_en,
        }
    }

    /// Whether `text` equals one of the concept's names (display, short name, synonym or
    /// abbreviation), ignoring case and surrounding space: what `$validate-code` accepts as a
    /// display.
    pub fn has_name(&self, text: &str) -> bool {
        let t = text.trim();
        let eq = |s: &String| !s.is_empty() && s.trim().eq_ignore_ascii_case(t);
        eq(&self.display_zh)
            || eq(&self.display_en)
            || eq(&self.short_name)
            || self.abbreviations.iter().any(eq)
            || self.synonyms_zh.iter().any(eq)
            || self.synonyms_en.iter().any(eq)
    }
}

/// Display language of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    Zh,
    En,
}

impl Language {
    /// Parses a BCP-47 tag as FHIR's `displayLanguage` carries it (`zh`, `zh-CN`, `en-US` …).
    pub fn parse(tag: &str) -> Option<Language> {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Language::Zh),
            "en" => Some(Language::En),
            _ => None,
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Language::Zh => "zh-CN",
            Language::En => "en",
        }
    }
}

/// One imported version of a code system. Several releases live side by side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub id: i64,
    pub system: CodeSystem,
    pub label: String,
    /// RFC 3339 time of import.
    pub imported_at: String,
    /// Where the release came from (file name).
    pub source: String,
    pub concept_count: i64,
}

/// What changed between two releases of one code system.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReleaseDiff {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub deprecated: Vec<String>,
    pub removed: Vec<String>,
}

impl ReleaseDiff {
    /// Compares two releases given as code-sorted concept lists.
    pub fn between(old: &[Concept], new: &[Concept]) -> ReleaseDiff {
        use std::collections::HashMap;
        let old_by_code: HashMap<&str, &Concept> =
            old.iter().map(|c| (c.code.as_str(), c)).collect();
        let new_codes: std::collections::HashSet<&str> =
            new.iter().map(|c| c.code.as_str()).collect();
        let mut diff = ReleaseDiff::default();
        for c in new {
            match old_by_code.get(c.code.as_str()) {
                None => diff.added.push(c.code.clone()),
                Some(o) if *o == c => {}
                Some(o) => {
                    if c.status == Status::Deprecated && o.status != Status::Deprecated {
                        diff.deprecated.push(c.code.clone());
                    } else {
                        diff.changed.push(c.code.clone());
                    }
                }
            }
        }
        diff.removed = old
            .iter()
            .filter(|c| !new_codes.contains(c.code.as_str()))
            .map(|c| c.code.clone())
            .collect();
        for v in [
            &mut diff.added,
            &mut diff.changed,
            &mut diff.deprecated,
            &mut diff.removed,
        ] {
            v.sort();
        }
        diff
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn glucose() -> Concept {
        Concept {
            code: "9000024-1".into(),
            axes: Some(Axes {
                component: "Glucose".into(),
                property: "SCnc".into(),
                time_aspct: "Pt".into(),
                system: "Ser/Plas".into(),
                scale_typ: "Qn".into(),
                method_typ: String::new(),
            }),
            class: "CHEM".into(),
            display_zh: "葡萄糖".into(),
            display_en: "Glucose [Moles/volume] in Serum or Plasma".into(),
            short_name: "Glucose SerPl-sCnc".into(),
            abbreviations: vec!["GLU".into()],
            synonyms_zh: vec!["血糖".into()],
            synonyms_en: vec!["blood sugar".into()],
            ucum_unit: "mmol/L".into(),
            molar_mass: Some(180.16),
            status: Status::Active,
            replaced_by: String::new(),
            loinc: "14749-6".into(),
        }
    }

    #[test]
    fn fully_specified_name_omits_empty_method() {
        let c = glucose();
        assert_eq!(
            c.axes.unwrap().fully_specified_name(),
            "Glucose:SCnc:Pt:Ser/Plas:Qn"
        );
    }

    #[test]
    fn names_match_ignoring_case() {
        let c = glucose();
        assert!(c.has_name("glu"));
        assert!(c.has_name(" 血糖 "));
        assert!(c.has_name("glucose [moles/volume] in serum or plasma"));
        assert!(!c.has_name("Glucose"));
        assert!(!c.has_name(""));
    }

    #[test]
    fn display_language_falls_back() {
        let mut c = glucose();
        assert_eq!(c.display(Language::Zh), "葡萄糖");
        c.display_zh.clear();
        assert_eq!(c.display(Language::Zh), c.display_en);
        assert_eq!(Language::parse("zh-CN"), Some(Language::Zh));
        assert_eq!(Language::parse("en-US"), Some(Language::En));
        assert_eq!(Language::parse("fr"), None);
    }

    #[test]
    fn diff_classifies_codes() {
        let a = glucose();
        let mut b = glucose();
        b.code = "9000025-8".into();
        let mut a2 = a.clone();
        a2.status = Status::Deprecated;
        a2.replaced_by = b.code.clone();
        let d = ReleaseDiff::between(std::slice::from_ref(&a), &[a2, b]);
        assert_eq!(d.added, vec!["9000025-8"]);
        assert_eq!(d.deprecated, vec!["9000024-1"]);
        assert!(d.changed.is_empty() && d.removed.is_empty());
        let d = ReleaseDiff::between(&[a], &[]);
        assert_eq!(d.removed, vec!["9000024-1"]);
    }
}
