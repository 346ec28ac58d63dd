//! Small, realistic fixtures: serum glucose in the national registry and in LOINC.

use huren_core::code::national_code;
use huren_core::{Axes, CodeSystem, Concept, Release, Status};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub const BASE: &str = "http://huren.example/fhir";
pub const NATIONAL_URL: &str = "http://huren.example/fhir/CodeSystem/national-lab";
pub const LOINC: &str = "http://loinc.org";

pub fn national_glucose() -> Concept {
    Concept {
        code: national_code(9_000_024).expect("in the national range"),
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

/// LOINC's concept has no Chinese name and no molar mass: only what LOINC itself publishes.
pub fn loinc_glucose() -> Concept {
    Concept {
        code: "14749-6".into(),
        display_zh: String::new(),
        short_name: "Glucose SerPl-sCnc".into(),
        abbreviations: vec![],
        synonyms_zh: vec![],
        synonyms_en: vec![],
        molar_mass: None,
        loinc: String::new(),
        ..national_glucose()
    }
}

/// Urea, a second national concept, for pages and maps with more than one entry.
pub fn national_urea() -> Concept {
    Concept {
        code: national_code(9_000_031).expect("in the national range"),
        axes: Some(Axes {
            component: "Urea".into(),
            property: "SCnc".into(),
            time_aspct: "Pt".into(),
            system: "Ser/Plas".into(),
            scale_typ: "Qn".into(),
            method_typ: String::new(),
        }),
        display_zh: "尿素".into(),
        display_en: "Urea [Moles/volume] in Serum or Plasma".into(),
        short_name: "Urea SerPl-sCnc".into(),
        abbreviations: vec!["UREA".into()],
        synonyms_zh: vec!["尿素氮".into()],
        synonyms_en: vec![],
        molar_mass: Some(60.06),
        loinc: "22664-7".into(),
        ..national_glucose()
    }
}

pub fn release(system: CodeSystem, label: &str) -> Release {
    Release {
        id: 1,
        system,
        label: label.into(),
        imported_at: "2026-11-22T08:00:00+08:00".into(),
        source: format!("{system}.csv"),
        concept_count: 2,
    }
}

/// The JSON of an answer, after checking that it names its resource type.
pub fn json(bytes: &[u8], resource_type: &str) -> Value {
    let v: Value = serde_json::from_slice(bytes).expect("valid JSON");
    assert_eq!(v["resourceType"], resource_type, "{v:#}");
    v
}

/// The answer parsed into a fhir-model type, which proves it has the resource's shape.
pub fn typed<T: DeserializeOwned>(bytes: &[u8]) -> T {
    serde_json::from_slice(bytes).unwrap_or_else(|e| {
        panic!(
            "not a valid resource: {e}\n{}",
            String::from_utf8_lossy(bytes)
        )
    })
}
