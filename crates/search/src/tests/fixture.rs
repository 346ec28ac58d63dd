//! A small registry of real lab tests, named as Chinese lab reports and LOINC name them, in
//! both code systems.

use huren_core::code::national_code;
use huren_core::registry::CurrentRelease;
use huren_core::{Axes, CodeSystem, Concept, Registry, Release, Status};

/// One lab test: its LOINC code and names. The national concept has the same names.
pub(crate) struct Lab {
    pub loinc: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    pub short: &'static str,
    pub abbreviations: &'static [&'static str],
    pub synonyms_zh: &'static [&'static str],
    pub synonyms_en: &'static [&'static str],
    pub unit: &'static str,
    /// Component, property, system and scale; the time aspect is always `Pt`.
    pub axes: [&'static str; 4],
}

pub(crate) const LABS: &[Lab] = &[
    Lab {
        loinc: "14749-6",
        zh: "葡萄糖",
        en: "Glucose [Moles/volume] in Serum or Plasma",
        short: "Glucose SerPl-sCnc",
        abbreviations: &["GLU"],
        synonyms_zh: &["血糖", "空腹血糖", "血清葡萄糖"],
        synonyms_en: &["blood sugar"],
        unit: "mmol/L",
        axes: ["Glucose", "SCnc", "Ser/Plas", "Qn"],
    },
    Lab {
        loinc: "2345-7",
        zh: "葡萄糖(质量浓度)",
        en: "Glucose [Mass/volume] in Serum or Plasma",
        short: "Glucose SerPl-mCnc",
        abbreviations: &["GLU"],
        synonyms_zh: &["血糖(mg/dL)"],
        synonyms_en: &[],
        unit: "mg/dL",
        axes: ["Glucose", "MCnc", "Ser/Plas", "Qn"],
    },
    Lab {
        loinc: "15074-8",
        zh: "全血葡萄糖",
        en: "Glucose [Moles/volume] in Blood",
        short: "Glucose Bld-sCnc",
        abbreviations: &["GLU"],
        synonyms_zh: &["末梢血糖", "指尖血糖"],
        synonyms_en: &["capillary blood glucose"],
        unit: "mmol/L",
        axes: ["Glucose", "SCnc", "Bld", "Qn"],
    },
    Lab {
        loinc: "1742-6",
        zh: "丙氨酸氨基转移酶",
        en: "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
        short: "ALT SerPl-cCnc",
        abbreviations: &["ALT", "GPT"],
        synonyms_zh: &["谷丙转氨酶", "丙氨酸转氨酶"],
        synonyms_en: &["SGPT", "alanine transaminase"],
        unit: "U/L",
        axes: ["Alanine aminotransferase", "CCnc", "Ser/Plas", "Qn"],
    },
    Lab {
        loinc: "1920-8",
        zh: "天门冬氨酸氨基转移酶",
        en: "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
        short: "AST SerPl-cCnc",
        abbreviations: &["AST", "GOT"],
        synonyms_zh: &["谷草转氨酶", "天冬氨酸转氨酶"],
        synonyms_en: &["SGOT", "aspartate transaminase"],
        unit: "U/L",
        axes: ["Aspartate aminotransferase", "CCnc", "Ser/Plas", "Qn"],
    },
    Lab {
        loinc: "2324-2",
        zh: "γ-谷氨酰转移酶",
        en: "Gamma glutamyl transferase [Enzymatic activity/volume] in Serum or Plasma",
        short: "GGT SerPl-cCnc",
        abbreviations: &["GGT", "γ-GT"],
        synonyms_zh: &["谷氨酰转肽酶", "转肽酶"],
        synonyms_en: &["gamma-GT"],
        unit: "U/L",
        axes: ["Gamma glutamyl transferase", "CCnc", "Ser/Plas", "Qn"],
    },
    Lab {
        loinc: "4548-4",
        zh: "糖化血红蛋白",
        en: "Hemoglobin A1c/Hemoglobin.total in Blood",
        short: "Hgb A1c MFr Bld",
        abbreviations: &["HbA1c", "A1c"],
        synonyms_zh: &["糖化血红蛋白A1c"],
        synonyms_en: &["glycated hemoglobin"],
        unit: "%",
        axes: ["Hemoglobin A1c/Hemoglobin.total", "MFr", "Bld", "Qn"],
    },
    Lab {
        loinc: "6690-2",
        zh: "白细胞计数",
        en: "Leukocytes [#/volume] in Blood by Automated count",
        short: "WBC # Bld Auto",
        abbreviations: &["WBC"],
        synonyms_zh: &["白细胞"],
        synonyms_en: &["white blood cell count"],
        unit: "10*9/L",
        axes: ["Leukocytes", "NCnc", "Bld", "Qn"],
    },
    Lab {
        loinc: "789-8",
        zh: "红细胞计数",
        en: "Erythrocytes [#/volume] in Blood by Automated count",
        short: "RBC # Bld Auto",
        abbreviations: &["RBC"],
        synonyms_zh: &["红细胞"],
        synonyms_en: &["red blood cell count"],
        unit: "10*12/L",
        axes: ["Erythrocytes", "NCnc", "Bld", "Qn"],
    },
    Lab {
        loinc: "718-7",
        zh: "血红蛋白",
        en: "Hemoglobin [Mass/volume] in Blood",
        short: "Hgb Bld-mCnc",
        abbreviations: &["HGB", "Hb"],
        synonyms_zh: &["血色素"],
        synonyms_en: &["haemoglobin"],
        unit: "g/L",
        axes: ["Hemoglobin", "MCnc", "Bld", "Qn"],
    },
    Lab {
        loinc: "777-3",
        zh: "血小板计数",
        en: "Platelets [#/volume] in Blood by Automated count",
        short: "Platelet # Bld Auto",
        abbreviations: &["PLT"],
        synonyms_zh: &["血小板"],
        synonyms_en: &["thrombocytes"],
        unit: "10*9/L",
        axes: ["Platelets", "NCnc", "Bld", "Qn"],
    },
    Lab {
        loinc: "14682-9",
        zh: "肌酐",
        en: "Creatinine [Moles/volume] in Serum or Plasma",
        short: "Creat SerPl-sCnc",
        abbreviations: &["Cr", "CREA"],
        synonyms_zh: &["血肌酐"],
        synonyms_en: &[],
        unit: "umol/L",
        axes: ["Creatinine", "SCnc", "Ser/Plas", "Qn"],
    },
    Lab {
        loinc: "22664-7",
        zh: "尿素",
        en: "Urea [Moles/volume] in Serum or Plasma",
        short: "Urea SerPl-sCnc",
        abbreviations: &["UREA"],
        synonyms_zh: &["血尿素"],
        synonyms_en: &[],
        unit: "mmol/L",
        axes: ["Urea", "SCnc", "Ser/Plas", "Qn"],
    },
    Lab {
        loinc: "14647-2",
        zh: "总胆固醇",
        en: "Cholesterol [Moles/volume] in Serum or Plasma",
        short: "Cholest SerPl-sCnc",
        abbreviations: &["TC", "CHOL"],
        synonyms_zh: &["胆固醇", "血清总胆固醇"],
        synonyms_en: &["total cholesterol"],
        unit: "mmol/L",
        axes: ["Cholesterol", "SCnc", "Ser/Plas", "Qn"],
    },
    Lab {
        loinc: "14646-4",
        zh: "高密度脂蛋白胆固醇",
        en: "Cholesterol in HDL [Moles/volume] in Serum or Plasma",
        short: "HDLc SerPl-sCnc",
        abbreviations: &["HDL-C"],
        synonyms_zh: &["高密度脂蛋白"],
        synonyms_en: &["HDL cholesterol"],
        unit: "mmol/L",
        axes: ["Cholesterol.in HDL", "SCnc", "Ser/Plas", "Qn"],
    },
    Lab {
        loinc: "22748-8",
        zh: "低密度脂蛋白胆固醇",
        en: "Cholesterol in LDL [Moles/volume] in Serum or Plasma",
        short: "LDLc SerPl-sCnc",
        abbreviations: &["LDL-C"],
        synonyms_zh: &["低密度脂蛋白"],
        synonyms_en: &["LDL cholesterol"],
        unit: "mmol/L",
        axes: ["Cholesterol.in LDL", "SCnc", "Ser/Plas", "Qn"],
    },
    Lab {
        loinc: "14927-8",
        zh: "甘油三酯",
        en: "Triglyceride [Moles/volume] in Serum or Plasma",
        short: "Trigl SerPl-sCnc",
        abbreviations: &["TG"],
        synonyms_zh: &["三酰甘油"],
        synonyms_en: &[],
        unit: "mmol/L",
        axes: ["Triglyceride", "SCnc", "Ser/Plas", "Qn"],
    },
    Lab {
        loinc: "2823-3",
        zh: "钾",
        en: "Potassium [Moles/volume] in Serum or Plasma",
        short: "Potassium SerPl-sCnc",
        abbreviations: &["K"],
        synonyms_zh: &["血钾", "血清钾"],
        synonyms_en: &[],
        unit: "mmol/L",
        axes: ["Potassium", "SCnc", "Ser/Plas", "Qn"],
    },
    Lab {
        loinc: "2951-2",
        zh: "钠",
        en: "Sodium [Moles/volume] in Serum or Plasma",
        short: "Sodium SerPl-sCnc",
        abbreviations: &["Na"],
        synonyms_zh: &["血钠", "血清钠"],
        synonyms_en: &[],
        unit: "mmol/L",
        axes: ["Sodium", "SCnc", "Ser/Plas", "Qn"],
    },
    Lab {
        loinc: "3016-3",
        zh: "促甲状腺激素",
        en: "Thyrotropin [Units/volume] in Serum or Plasma",
        short: "TSH SerPl-aCnc",
        abbreviations: &["TSH"],
        synonyms_zh: &["促甲状腺素"],
        synonyms_en: &["thyroid stimulating hormone"],
        unit: "m[IU]/L",
        axes: ["Thyrotropin", "ACnc", "Ser/Plas", "Qn"],
    },
    Lab {
        loinc: "6875-9",
        zh: "糖类抗原15-3",
        en: "Cancer Ag 15-3 [Units/volume] in Serum or Plasma",
        short: "Cancer Ag15-3 SerPl-aCnc",
        abbreviations: &["CA15-3"],
        synonyms_zh: &["乳腺癌抗原"],
        synonyms_en: &[],
        unit: "[U]/mL",
        axes: ["Cancer Ag 15-3", "ACnc", "Ser/Plas", "Qn"],
    },
];

/// The LOINC codes of the glucose and cholesterol concepts, for cases where any one will do.
pub(crate) const GLUCOSE: &[&str] = &["14749-6", "2345-7", "15074-8"];
pub(crate) const CHOLESTEROL: &[&str] = &["14647-2", "14646-4", "22748-8"];

/// The national code of the `i`th lab of [`LABS`].
fn national(i: usize) -> String {
    let body = 9_000_001 + u32::try_from(i).expect("few labs");
    national_code(body).expect("in the national range")
}

/// The national code whose LOINC equivalent is `loinc`.
pub(crate) fn national_for(loinc: &str) -> String {
    let i = LABS
        .iter()
        .position(|l| l.loinc == loinc)
        .unwrap_or_else(|| panic!("{loinc} is not a fixture lab"));
    national(i)
}

pub(crate) fn concept(lab: &Lab, code: String, loinc: &str) -> Concept {
    let strings = |s: &[&str]| s.iter().map(|s| (*s).to_owned()).collect();
    let [component, property, system, scale_typ] = lab.axes.map(str::to_owned);
    Concept {
        code,
        axes: Some(Axes {
            component,
            property,
            time_aspct: "Pt".into(),
            system,
            scale_typ,
            method_typ: String::new(),
        }),
        class: "CHEM".into(),
        display_zh: lab.zh.into(),
        display_en: lab.en.into(),
        short_name: lab.short.into(),
        abbreviations: strings(lab.abbreviations),
        synonyms_zh: strings(lab.synonyms_zh),
        synonyms_en: strings(lab.synonyms_en),
        ucum_unit: lab.unit.into(),
        molar_mass: None,
        status: Status::Active,
        replaced_by: String::new(),
        loinc: loinc.into(),
    }
}

pub(crate) fn release(id: i64, system: CodeSystem, concepts: usize) -> Release {
    Release {
        id,
        system,
        label: format!("test-{id}"),
        imported_at: "2026-01-01T00:00:00Z".into(),
        source: "fixture".into(),
        concept_count: i64::try_from(concepts).expect("small"),
    }
}

/// A registry holding [`LABS`] as national concepts and as LOINC concepts.
pub(crate) fn registry() -> Registry {
    let national: Vec<Concept> = LABS
        .iter()
        .enumerate()
        .map(|(i, l)| concept(l, national(i), l.loinc))
        .collect();
    let loinc: Vec<Concept> = LABS
        .iter()
        .map(|l| concept(l, l.loinc.into(), ""))
        .collect();
    registry_of(national, loinc)
}

pub(crate) fn registry_of(national: Vec<Concept>, loinc: Vec<Concept>) -> Registry {
    let n = release(1, CodeSystem::National, national.len());
    let l = release(2, CodeSystem::Loinc, loinc.len());
    Registry::new(
        vec![n.clone(), l.clone()],
        vec![
            CurrentRelease::new(n, national),
            CurrentRelease::new(l, loinc),
        ],
    )
}

#[test]
fn fixture_codes_check() {
    let r = registry();
    for system in CodeSystem::ALL {
        for c in &r.current(system).unwrap().concepts {
            assert_eq!(system.check_code(&c.code), Ok(()), "{}", c.code);
        }
    }
    assert_eq!(r.national_for_loinc("1742-6"), [national_for("1742-6")]);
}
