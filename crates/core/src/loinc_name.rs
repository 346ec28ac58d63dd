//! The six axes read back from a LOINC long common name, for LOINC files that carry names only
//! (the Top-2000 lists: `LOINC #, Long Common Name, Short Name, CLASS, Rank`).
//!
//! A long common name is built from the axes by LOINC's own rules: `COMPONENT [PROPERTY] in
//! SYSTEM by METHOD` (`Creatinine [Moles/volume] in Serum or Plasma`), `COMPONENT of SYSTEM`
//! (`pH of Urine by Test strip`), or without the bracket when the component says the property
//! (`Basophils/100 leukocytes in Blood`). Reading it back is a table lookup per part
//! ([`LCN_PROPERTIES`], [`LCN_SYSTEMS`]); a part the tables do not know is left empty, never
//! guessed. The axes serve suggestions (specimen against SYSTEM, unit against PROPERTY) and
//! the Chinese names of LOINC components; a full `Loinc.csv` carries the real axes and never
//! goes through here.

use crate::concept::Axes;

/// The bracketed property words of long common names and the PROPERTY each stands for, with
/// its SCALE (`Qn` unless the property is ordinal).
pub const LCN_PROPERTIES: &[(&str, &str, &str)] = &[
    ("Mass/volume", "MCnc", "Qn"),
    ("Moles/volume", "SCnc", "Qn"),
    ("#/volume", "NCnc", "Qn"),
    ("Enzymatic activity/volume", "CCnc", "Qn"),
    ("Units/volume", "ACnc", "Qn"),
    ("Arbitrary units/volume", "ACnc", "Qn"),
    ("Presence", "PrThr", "Ord"),
    ("Mass ratio", "MRto", "Qn"),
    ("Molar ratio", "SRto", "Qn"),
    ("Ratio", "Ratio", "Qn"),
    ("Mass/time", "MRat", "Qn"),
    ("Moles/time", "SRat", "Qn"),
    ("Volume rate", "VRat", "Qn"),
    ("Entitic volume", "EntVol", "Qn"),
    ("Entitic mass", "EntMass", "Qn"),
    ("Partial pressure", "PPres", "Qn"),
    ("Titer", "Titr", "Qn"),
    ("Volume Fraction", "VFr", "Qn"),
    ("Mass fraction", "MFr", "Qn"),
    ("Moles/mass", "SCnt", "Qn"),
    ("Mass/mass", "MCnt", "Qn"),
    ("#/area", "Naric", "Qn"),
    ("Units/mass", "ACnt", "Qn"),
    ("Time", "Time", "Qn"),
    ("Volume", "Vol", "Qn"),
    ("Mass", "Mass", "Qn"),
    ("Osmolality", "Osmol", "Qn"),
    ("Multiple of the median", "MoM", "Qn"),
    ("Interpretation", "Imp", "Nom"),
    ("Identifier", "Prid", "Nom"),
    ("Type", "Type", "Nom"),
    ("Length", "Len", "Qn"),
    ("Velocity", "Vel", "Qn"),
    ("Score", "Score", "Qn"),
];

/// The SYSTEM phrases of long common names (after ` in ` or ` of `) and the SYSTEM value each
/// stands for. Longer phrases first where one contains another.
pub const LCN_SYSTEMS: &[(&str, &str)] = &[
    ("Serum, Plasma or Blood", "Ser/Plas/Bld"),
    ("Serum or Plasma", "Ser/Plas"),
    ("Serum or Blood", "Ser/Bld"),
    ("Platelet poor plasma", "PPP"),
    ("Arterial blood", "BldA"),
    ("Venous blood", "BldV"),
    ("Capillary blood", "BldC"),
    ("Cord blood", "BldCo"),
    ("Red Blood Cells", "RBC"),
    ("Blood", "Bld"),
    ("Serum", "Ser"),
    ("Plasma", "Plas"),
    ("24 hour Urine", "Urine"),
    ("Urine sediment", "Urine sed"),
    ("Urine", "Urine"),
    ("Cerebral spinal fluid", "CSF"),
    ("Pleural fluid", "Plr fld"),
    ("Peritoneal fluid", "Periton fld"),
    ("Synovial fluid", "Snv fld"),
    ("Body fluid", "Body fld"),
    ("Stool", "Stool"),
    ("Semen", "Semen"),
    ("Sputum", "Sputum"),
    ("Saliva", "Saliva"),
    ("Amniotic fluid", "Amnio fld"),
    ("Bone marrow", "Bone mar"),
    ("Unspecified specimen", "XXX"),
];

/// Properties whose names follow the component without a bracket: `Basophils/100 leukocytes`
/// is a number fraction, `pH` a log of a substance concentration.
const COMPONENT_PROPERTIES: &[(&str, &str)] = &[("/100 leukocytes", "NFr"), ("pH", "LsCnc")];

/// The axes a long common name states; `None` when it states neither a property nor a system
/// the tables know. Unknown parts are empty; the time aspect is `24H` for 24-hour specimens
/// and `Pt` otherwise.
#[must_use]
pub fn axes_from_long_common_name(name: &str) -> Option<Axes> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    // Method: the last ` by …`.
    let (head, method) = match name.rfind(" by ") {
        Some(i) => (&name[..i], name[i + 4..].trim()),
        None => (name, ""),
    };
    // System: after the last ` in ` (or ` of ` for `pH of Urine`).
    let (head, system_text) = [" in ", " of "]
        .iter()
        .filter_map(|sep| head.rfind(sep).map(|i| (i, sep.len())))
        .max_by_key(|&(i, _)| i)
        .map_or((head, ""), |(i, len)| (&head[..i], head[i + len..].trim()));
    let (system, time) = LCN_SYSTEMS
        .iter()
        .find(|(phrase, _)| phrase.eq_ignore_ascii_case(system_text))
        .map_or(("", "Pt"), |&(phrase, system)| {
            let time = if phrase.starts_with("24 hour") {
                "24H"
            } else {
                "Pt"
            };
            (system, time)
        });
    // Property: the last bracket of the head.
    let (component, property, scale) = match (head.rfind('['), head.ends_with(']')) {
        (Some(open), true) => {
            let words = &head[open + 1..head.len() - 1];
            match LCN_PROPERTIES
                .iter()
                .find(|(w, _, _)| w.eq_ignore_ascii_case(words))
            {
                Some(&(_, property, scale)) => (head[..open].trim(), property, scale),
                None => (head[..open].trim(), "", ""),
            }
        }
        _ => {
            let property = COMPONENT_PROPERTIES
                .iter()
                .find(|(tail, _)| head.ends_with(tail) || head == *tail)
                .map_or("", |&(_, p)| p);
            (
                head.trim(),
                property,
                if property.is_empty() { "" } else { "Qn" },
            )
        }
    };
    if property.is_empty() && system.is_empty() {
        return None;
    }
    Some(Axes {
        component: component.to_owned(),
        property: property.to_owned(),
        time_aspct: time.to_owned(),
        system: system.to_owned(),
        scale_typ: scale.to_owned(),
        method_typ: method.to_owned(),
    })
}

/// Chinese names of LOINC components (`code-tables/loinc-components-zh.csv`): LOINC terms have
/// English names only, and Chinese lab menus name tests in Chinese, so suggestions over LOINC
/// need these to find a term from `血氨` or `尿钠`. Data, not rules: a missing component is a
/// missing row.
#[derive(Debug, Clone, Default)]
pub struct ComponentNames {
    /// (component lowercased, SYSTEM or empty for any) → names, abbreviations.
    by_component: std::collections::HashMap<(String, String), (Vec<String>, Vec<String>)>,
}

/// One row of the Chinese names of LOINC components.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ComponentRow {
    /// As LOINC spells it (`Carbon dioxide, total`).
    pub component: String,
    /// The SYSTEM the names are for (`Urine`), or empty for any.
    pub system: String,
    pub names_zh: Vec<String>,
    /// Abbreviations Chinese lab reports use for it (`CO2CP`, `TCO2`).
    pub abbreviations: Vec<String>,
}

/// The Chinese word for a SYSTEM, put before a component's first Chinese name to name the
/// term on its own (`尿` + `钠`): Chinese reports say the specimen in the name when it is not
/// serum or plasma.
pub const SYSTEM_PREFIXES_ZH: &[(&str, &str)] = &[
    ("Urine", "尿"),
    ("Urine sed", "尿沉渣"),
    ("CSF", "脑脊液"),
    ("Bld", "全血"),
    ("BldA", "动脉血"),
    ("BldV", "静脉血"),
    ("Stool", "粪便"),
    ("Body fld", "体液"),
    ("Plr fld", "胸水"),
    ("Periton fld", "腹水"),
    ("Semen", "精液"),
    ("Sputum", "痰"),
];

impl ComponentNames {
    /// From `(component, system, names)` rows: `system` empty for names that fit the component
    /// in any specimen, or a SYSTEM value (`Urine`) for what Chinese reports call the test in
    /// that specimen (`尿糖`). The component is matched ignoring ASCII case, the system exactly.
    pub fn new(rows: impl IntoIterator<Item = ComponentRow>) -> ComponentNames {
        let mut by_component: std::collections::HashMap<
            (String, String),
            (Vec<String>, Vec<String>),
        > = std::collections::HashMap::new();
        let add = |to: &mut Vec<String>, from: Vec<String>| {
            for n in from {
                let n = n.trim();
                if !n.is_empty() && !to.iter().any(|e| e == n) {
                    to.push(n.to_owned());
                }
            }
        };
        for row in rows {
            let entry = by_component
                .entry((
                    row.component.trim().to_ascii_lowercase(),
                    row.system.trim().to_owned(),
                ))
                .or_default();
            add(&mut entry.0, row.names_zh);
            add(&mut entry.1, row.abbreviations);
        }
        ComponentNames { by_component }
    }

    /// How many components have names.
    pub fn len(&self) -> usize {
        self.by_component.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_component.is_empty()
    }

    /// The Chinese names of a component in `system` (empty: in any specimen).
    pub fn of(&self, component: &str, system: &str) -> &[String] {
        self.by_component
            .get(&(component.trim().to_ascii_lowercase(), system.to_owned()))
            .map_or(&[], |(names, _)| names.as_slice())
    }

    /// The abbreviations of a component in `system` (empty: in any specimen).
    pub fn abbreviations(&self, component: &str, system: &str) -> &[String] {
        self.by_component
            .get(&(component.trim().to_ascii_lowercase(), system.to_owned()))
            .map_or(&[], |(_, abbreviations)| abbreviations.as_slice())
    }

    /// Adds Chinese synonyms (and, when it has none, abbreviations) to a LOINC term without
    /// Chinese names: the names of its component
    /// in its system, then — when there are none and Chinese names say the system (urine, CSF,
    /// whole blood …) — that system's word before the component's first name, then the
    /// component's names. Returns whether it added any.
    pub fn name(&self, term: &mut crate::Concept) -> bool {
        if !term.display_zh.is_empty() || !term.synonyms_zh.is_empty() {
            return false;
        }
        let Some(axes) = &term.axes else {
            return false;
        };
        let specific = self.of(&axes.component, &axes.system);
        let names = self.of(&axes.component, "");
        if term.abbreviations.is_empty() {
            let specific = self.abbreviations(&axes.component, &axes.system);
            term.abbreviations = if specific.is_empty() {
                self.abbreviations(&axes.component, "").to_vec()
            } else {
                specific.to_vec()
            };
        }
        if specific.is_empty() && names.is_empty() {
            return false;
        }
        let mut out: Vec<String> = specific.to_vec();
        if specific.is_empty()
            && let Some((_, prefix)) = SYSTEM_PREFIXES_ZH.iter().find(|(s, _)| *s == axes.system)
            && !names[0].starts_with(prefix)
        {
            out.push(format!("{prefix}{}", names[0]));
        }
        for n in names {
            if !out.contains(n) {
                out.push(n.clone());
            }
        }
        term.synonyms_zh = out;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axes(name: &str) -> (String, String, String, String, String) {
        let a = axes_from_long_common_name(name).unwrap_or_default();
        (a.component, a.property, a.system, a.scale_typ, a.method_typ)
    }

    fn t(
        c: &str,
        p: &str,
        s: &str,
        scale: &str,
        m: &str,
    ) -> (String, String, String, String, String) {
        (c.into(), p.into(), s.into(), scale.into(), m.into())
    }

    #[test]
    fn top_2000_names_read_back() {
        assert_eq!(
            axes("Creatinine [Moles/volume] in Serum or Plasma"),
            t("Creatinine", "SCnc", "Ser/Plas", "Qn", "")
        );
        assert_eq!(
            axes("Hemoglobin [Mass/volume] in Blood"),
            t("Hemoglobin", "MCnc", "Bld", "Qn", "")
        );
        assert_eq!(
            axes("Basophils/100 leukocytes in Blood by Automated count"),
            t(
                "Basophils/100 leukocytes",
                "NFr",
                "Bld",
                "Qn",
                "Automated count"
            )
        );
        assert_eq!(
            axes("pH of Urine by Test strip"),
            t("pH", "LsCnc", "Urine", "Qn", "Test strip")
        );
        assert_eq!(
            axes("Nitrite [Presence] in Urine by Test strip"),
            t("Nitrite", "PrThr", "Urine", "Ord", "Test strip")
        );
        assert_eq!(
            axes("Carbon dioxide, total [Moles/volume] in Serum or Plasma"),
            t("Carbon dioxide, total", "SCnc", "Ser/Plas", "Qn", "")
        );
        assert_eq!(
            axes("Lipase [Enzymatic activity/volume] in Serum or Plasma"),
            t("Lipase", "CCnc", "Ser/Plas", "Qn", "")
        );
        assert_eq!(
            axes("Erythrocyte distribution width [Ratio] by Automated count"),
            t(
                "Erythrocyte distribution width",
                "Ratio",
                "",
                "Qn",
                "Automated count"
            )
        );
        let a = axes_from_long_common_name("Protein [Mass/time] in 24 hour Urine").unwrap();
        assert_eq!((a.system.as_str(), a.time_aspct.as_str()), ("Urine", "24H"));
    }

    #[test]
    fn chinese_names_come_from_the_component_and_the_system() {
        let row = |component: &str, system: &str, names: &[&str]| ComponentRow {
            component: component.into(),
            system: system.into(),
            names_zh: names.iter().map(|n| (*n).to_owned()).collect(),
            abbreviations: vec![],
        };
        let names = ComponentNames::new([
            row("Sodium", "", &["钠", "钠离子"]),
            row("Ammonia", "", &["血氨"]),
            row("Glucose", "", &["葡萄糖"]),
            row("Glucose", "Urine", &["尿糖"]),
            ComponentRow {
                abbreviations: vec!["NH3".into()],
                ..row("Ammonia", "", &[])
            },
        ]);
        let mut term = crate::Concept {
            code: "2955-3".into(),
            axes: axes_from_long_common_name("Sodium [Moles/volume] in Urine"),
            class: String::new(),
            display_zh: String::new(),
            display_en: "Sodium [Moles/volume] in Urine".into(),
            short_name: String::new(),
            abbreviations: vec![],
            synonyms_zh: vec![],
            synonyms_en: vec![],
            ucum_unit: String::new(),
            molar_mass: None,
            status: crate::Status::Active,
            replaced_by: String::new(),
            loinc: String::new(),
        };
        assert!(names.name(&mut term));
        assert_eq!(term.synonyms_zh, ["尿钠", "钠", "钠离子"]);
        // Named already: left alone.
        assert!(!names.name(&mut term));
        let mut plasma = term.clone();
        plasma.synonyms_zh.clear();
        plasma.axes = axes_from_long_common_name("Ammonia [Moles/volume] in Plasma");
        assert!(names.name(&mut plasma));
        assert_eq!(plasma.synonyms_zh, ["血氨"]);
        assert_eq!(plasma.abbreviations, ["NH3"]);
        // What Chinese reports call it in urine comes first, instead of the prefixed name.
        plasma.synonyms_zh.clear();
        plasma.axes = axes_from_long_common_name("Glucose [Mass/volume] in Urine by Test strip");
        assert!(names.name(&mut plasma));
        assert_eq!(plasma.synonyms_zh, ["尿糖", "葡萄糖"]);
        plasma.synonyms_zh.clear();
        plasma.axes = axes_from_long_common_name("Lipase [Enzymatic activity/volume] in Serum");
        assert!(!names.name(&mut plasma), "no row for lipase here");
    }

    #[test]
    fn what_the_tables_do_not_know_stays_empty() {
        assert_eq!(
            axes_from_long_common_name("Pathology report final diagnosis"),
            None
        );
        assert_eq!(axes_from_long_common_name(""), None);
        // A system it knows, a bracket it does not.
        assert_eq!(
            axes("Thing [Unheard of] in Urine"),
            t("Thing", "", "Urine", "", "")
        );
    }
}
