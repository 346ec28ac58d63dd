//! Specimens: what a hospital writes in its specimen column (`血清`, `serum`, `Ser`), the LOINC
//! SYSTEM values that text means, and whether a concept's SYSTEM axis accepts them.
//!
//! Both tables are data ([`SPECIMEN_NAMES`], [`SYSTEM_ACCEPTS`]): a new spelling or a new
//! system is a new row, not new logic. Unknown text is not an error: [`specimen_compatible`]
//! answers `None` and lets the caller decide whether to warn.

/// Specimen names as they appear in hospital LIS exports and on Chinese lab reports, with the
/// LOINC SYSTEM value each one means: `(name, system)`. Matched ignoring ASCII case and
/// surrounding space. A system may be a `/` list (`Ser/Plas`) when one name means several.
///
/// Sources: the LOINC SYSTEM values and abbreviations (`Ser`, `Plas`, `Ser/Plas`, `Bld`, `BldA`,
/// `BldV`, `BldC`, `RBC`, `PPP`, `Urine`, `CSF`) of `docs/domain.md` §4.1 and §5, and
/// `code-tables/README.md`; the Chinese names are the usual wording of Chinese lab request forms
/// and reports (general knowledge, [U] in the sense of `docs/domain.md`: widen the table as real
/// files show new names).
pub const SPECIMEN_NAMES: &[(&str, &str)] = &[
    // Serum and plasma.
    ("血清", "Ser"),
    ("serum", "Ser"),
    ("Ser", "Ser"),
    ("血浆", "Plas"),
    ("plasma", "Plas"),
    ("Plas", "Plas"),
    ("血清/血浆", "Ser/Plas"),
    ("血清或血浆", "Ser/Plas"),
    ("serum/plasma", "Ser/Plas"),
    ("serum or plasma", "Ser/Plas"),
    ("Ser/Plas", "Ser/Plas"),
    ("SerPl", "Ser/Plas"),
    // Plasma for coagulation: citrated, centrifuged to platelet-poor plasma.
    ("乏血小板血浆", "PPP"),
    ("枸橼酸钠抗凝血浆", "PPP"),
    ("platelet poor plasma", "PPP"),
    ("PPP", "PPP"),
    // Whole blood.
    ("全血", "Bld"),
    ("血液", "Bld"),
    ("EDTA抗凝全血", "Bld"),
    ("抗凝全血", "Bld"),
    ("whole blood", "Bld"),
    ("blood", "Bld"),
    ("Bld", "Bld"),
    ("静脉血", "BldV"),
    ("venous blood", "BldV"),
    ("BldV", "BldV"),
    ("动脉血", "BldA"),
    ("arterial blood", "BldA"),
    ("BldA", "BldA"),
    ("毛细血管血", "BldC"),
    ("末梢血", "BldC"),
    ("指尖血", "BldC"),
    ("capillary blood", "BldC"),
    ("BldC", "BldC"),
    ("红细胞", "RBC"),
    ("RBC", "RBC"),
    // Urine.
    ("尿", "Urine"),
    ("尿液", "Urine"),
    ("随机尿", "Urine"),
    ("晨尿", "Urine"),
    ("urine", "Urine"),
    // Other body fluids.
    ("脑脊液", "CSF"),
    ("cerebrospinal fluid", "CSF"),
    ("CSF", "CSF"),
    ("胸水", "Plr fld"),
    ("胸腔积液", "Plr fld"),
    ("pleural fluid", "Plr fld"),
    ("Plr fld", "Plr fld"),
    ("腹水", "Periton fld"),
    ("腹腔积液", "Periton fld"),
    ("peritoneal fluid", "Periton fld"),
    ("ascites", "Periton fld"),
    ("Periton fld", "Periton fld"),
    ("浆膜腔积液", "Body fld"),
    ("body fluid", "Body fld"),
    ("Body fld", "Body fld"),
    ("粪便", "Stool"),
    ("大便", "Stool"),
    ("stool", "Stool"),
    ("feces", "Stool"),
];

/// Which specimen systems a concept's SYSTEM accepts, beyond itself: `(concept system,
/// accepted specimen systems)`. A `/` list on the concept side (`Ser/Plas`) accepts what each of
/// its parts accepts; a system missing here accepts only itself.
///
/// The choices, each a lab convention rather than a LOINC rule ([U] in the sense of
/// `docs/domain.md`):
/// * `Bld` (blood, source unspecified) accepts venous, arterial and capillary blood;
/// * `RBC` indices (MCV, MCH, MCHC) are computed from a whole-blood count, so hospitals name
///   the tube: whole blood of any source is accepted;
/// * `PPP`: coagulation tests are only done on citrated platelet-poor plasma, which request
///   forms call plasma (`血浆`), so plasma is accepted; the converse holds as well;
/// * `Body fld` accepts the named serous fluids.
///
/// Deliberately absent: `BldA` accepts only arterial blood (blood gases differ by source), and
/// `Ser` does not accept plasma.
pub const SYSTEM_ACCEPTS: &[(&str, &[&str])] = &[
    ("Bld", &["BldV", "BldA", "BldC"]),
    ("RBC", &["Bld", "BldV", "BldA", "BldC"]),
    ("PPP", &["Plas"]),
    ("Plas", &["PPP"]),
    ("Body fld", &["Plr fld", "Periton fld"]),
];

/// Separators between several specimens in one cell (`血清/血浆`, `血清、血浆`).
const SEPARATORS: [char; 7] = ['/', '、', ',', '，', ';', '；', '|'];

/// The LOINC SYSTEM values `specimen` names, or `None` when the text is empty or any part of
/// it is unknown. A cell that lists several specimens (`血清、血浆`, `serum/plasma`) names all of
/// them.
pub fn specimen_systems(specimen: &str) -> Option<Vec<&'static str>> {
    let text = specimen.trim();
    if text.is_empty() {
        return None;
    }
    if let Some(systems) = lookup(text) {
        return Some(systems);
    }
    let mut all = Vec::new();
    for part in text.split(|c| SEPARATORS.contains(&c) || c == '或') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        all.extend(lookup(part)?);
    }
    all.sort_unstable();
    all.dedup();
    (!all.is_empty()).then_some(all)
}

fn lookup(name: &str) -> Option<Vec<&'static str>> {
    SPECIMEN_NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, system)| system.split('/').collect())
}

/// Whether a specimen, as the hospital writes it, fits a concept's SYSTEM axis (`Ser/Plas`,
/// `Bld`, `PPP`): every system the specimen names must be accepted by the axis (so
/// `血清/血浆` fits `Ser/Plas` but not `Ser`). `None` when the specimen text is empty or
/// unknown: not an error, but the caller may warn.
pub fn specimen_compatible(specimen: &str, system_axis: &str) -> Option<bool> {
    let named = specimen_systems(specimen)?;
    let accepted: Vec<&str> = system_axis
        .split('/')
        .map(str::trim)
        .flat_map(|part| {
            let extra = SYSTEM_ACCEPTS
                .iter()
                .find(|(s, _)| s.eq_ignore_ascii_case(part))
                .map_or(&[][..], |(_, accepts)| *accepts);
            std::iter::once(part).chain(extra.iter().copied())
        })
        .collect();
    Some(
        named
            .iter()
            .all(|n| accepted.iter().any(|a| a.eq_ignore_ascii_case(n))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(specimen: &str, axis: &str, expected: Option<bool>) {
        assert_eq!(
            specimen_compatible(specimen, axis),
            expected,
            "{specimen:?} for {axis}"
        );
    }

    #[test]
    fn serum_and_plasma() {
        for s in [
            "血清",
            "serum",
            "Ser",
            "SERUM",
            " 血浆 ",
            "plasma",
            "Plas",
            "血清/血浆",
        ] {
            check(s, "Ser/Plas", Some(true));
        }
        check("血清或血浆", "Ser/Plas", Some(true));
        check("血清、血浆", "Ser/Plas", Some(true));
        check("serum/plasma", "Ser/Plas", Some(true));
        check("血清", "Ser", Some(true));
        check("血浆", "Ser", Some(false));
        check("血清/血浆", "Ser", Some(false));
        check("全血", "Ser/Plas", Some(false));
        check("尿", "Ser/Plas", Some(false));
    }

    #[test]
    fn blood() {
        for s in [
            "全血",
            "whole blood",
            "Bld",
            "静脉血",
            "动脉血",
            "末梢血",
            "EDTA抗凝全血",
        ] {
            check(s, "Bld", Some(true));
        }
        check("血清", "Bld", Some(false));
        check("动脉血", "BldA", Some(true));
        check("BldA", "BldA", Some(true));
        check("静脉血", "BldA", Some(false));
        check("全血", "BldA", Some(false));
        check("全血", "RBC", Some(true));
        check("血清", "RBC", Some(false));
    }

    #[test]
    fn coagulation_plasma() {
        check("血浆", "PPP", Some(true));
        check("枸橼酸钠抗凝血浆", "PPP", Some(true));
        check("乏血小板血浆", "PPP", Some(true));
        check("血清", "PPP", Some(false));
    }

    #[test]
    fn other_fluids() {
        check("尿液", "Urine", Some(true));
        check("urine", "Urine", Some(true));
        check("脑脊液", "CSF", Some(true));
        check("CSF", "Urine", Some(false));
        check("胸水", "Plr fld", Some(true));
        check("腹水", "Body fld", Some(true));
        check("腹水", "Plr fld", Some(false));
    }

    #[test]
    fn unknown_or_empty_specimens_are_none() {
        check("", "Ser/Plas", None);
        check("   ", "Ser/Plas", None);
        check("唾液", "Ser/Plas", None);
        check("血清/唾液", "Ser/Plas", None);
        check("blood-ish", "Bld", None);
    }

    #[test]
    fn the_tables_are_sound() {
        let mut seen = std::collections::HashSet::new();
        for (name, system) in SPECIMEN_NAMES {
            assert!(seen.insert(name.to_lowercase()), "{name} is listed twice");
            assert!(!system.is_empty());
            // A name always fits the system it names.
            check(name, system, Some(true));
        }
        for (system, accepts) in SYSTEM_ACCEPTS {
            for a in *accepts {
                assert_ne!(system, a);
            }
        }
    }
}
