//! `$lookup`: a golden answer for national glucose, and the variations around it.

use crate::fixtures::*;
use fhir_model::r4b::resources::{Parameters, ParametersParameter, ParametersParameterValue};
use huren_core::CodeSystem;
use huren_core::concept::Language;
use huren_fhir::{LookupInput, Urls, lookup};
use serde_json::json;

fn fsn() -> serde_json::Value {
    json!({"system": "http://snomed.info/sct", "code": "900000000000003001",
           "display": "Fully specified name"})
}

fn synonym() -> serde_json::Value {
    json!({"system": "http://snomed.info/sct", "code": "900000000000013009", "display": "Synonym"})
}

fn prop(code: &str, value: serde_json::Value) -> serde_json::Value {
    let mut value_part = value;
    value_part["name"] = json!("value");
    json!({"name": "property", "part": [{"name": "code", "valueCode": code}, value_part]})
}

#[test]
fn national_glucose_golden() {
    let release = release(CodeSystem::National, "2026.1");
    let concept = national_glucose();
    let loinc = loinc_glucose();
    let bytes = lookup(
        &Urls::new(BASE),
        &LookupInput {
            system: CodeSystem::National,
            release: &release,
            concept: &concept,
            lang: Language::Zh,
            equivalents: vec![&loinc],
        },
    );
    let expected = json!({
        "resourceType": "Parameters",
        "parameter": [
            {"name": "name", "valueString": "national-lab"},
            {"name": "version", "valueString": "2026.1"},
            {"name": "display", "valueString": "葡萄糖"},
            {"name": "designation", "part": [
                {"name": "language", "valueCode": "en"},
                {"name": "use", "valueCoding": fsn()},
                {"name": "value", "valueString": "Glucose [Moles/volume] in Serum or Plasma"}]},
            {"name": "designation", "part": [
                {"name": "use", "valueCoding": synonym()},
                {"name": "value", "valueString": "Glucose SerPl-sCnc"}]},
            {"name": "designation", "part": [
                {"name": "language", "valueCode": "zh-CN"},
                {"name": "use", "valueCoding": synonym()},
                {"name": "value", "valueString": "血糖"}]},
            {"name": "designation", "part": [
                {"name": "language", "valueCode": "en"},
                {"name": "use", "valueCoding": synonym()},
                {"name": "value", "valueString": "blood sugar"}]},
            {"name": "designation", "part": [
                {"name": "use", "valueCoding": synonym()},
                {"name": "value", "valueString": "GLU"}]},
            prop("COMPONENT", json!({"valueString": "Glucose"})),
            prop("PROPERTY", json!({"valueString": "SCnc"})),
            prop("TIME_ASPCT", json!({"valueString": "Pt"})),
            prop("SYSTEM", json!({"valueString": "Ser/Plas"})),
            prop("SCALE_TYP", json!({"valueString": "Qn"})),
            prop("CLASS", json!({"valueString": "CHEM"})),
            prop("STATUS", json!({"valueCode": "ACTIVE"})),
            prop("canonical-unit",
                 json!({"valueCoding": {"system": "http://unitsofmeasure.org", "code": "mmol/L"}})),
            prop("molar-mass", json!({"valueDecimal": 180.16})),
            prop("loinc", json!({"valueCoding": {"system": "http://loinc.org", "code": "14749-6",
                                 "display": "Glucose [Moles/volume] in Serum or Plasma"}})),
        ]
    });
    let actual = json(&bytes, "Parameters");
    assert_eq!(
        actual,
        expected,
        "actual:\n{}",
        serde_json::to_string_pretty(&actual).unwrap()
    );
    // And the same bytes are a valid R4B Parameters resource.
    let p: Parameters = typed(&bytes);
    assert_eq!(p.parameter.len(), 18);
}

fn find<'p>(p: &'p Parameters, name: &str) -> Vec<&'p ParametersParameter> {
    p.parameter
        .iter()
        .flatten()
        .filter(|x| x.name == name)
        .collect()
}

/// The `(code, value)` of every `property` parameter.
fn properties(p: &Parameters) -> Vec<(String, ParametersParameterValue)> {
    find(p, "property")
        .into_iter()
        .map(|prop| {
            let part = |n: &str| {
                prop.part
                    .iter()
                    .flatten()
                    .find(|x| x.name == n)
                    .and_then(|x| x.value.clone())
                    .unwrap_or_else(|| panic!("property without {n}"))
            };
            match part("code") {
                ParametersParameterValue::Code(c) => (c, part("value")),
                other => panic!("code is {other:?}"),
            }
        })
        .collect()
}

fn string_value(p: &Parameters, name: &str) -> Option<String> {
    find(p, name).first().and_then(|x| match &x.value {
        Some(ParametersParameterValue::String(s)) => Some(s.clone()),
        _ => None,
    })
}

#[test]
fn loinc_concept_lists_its_national_equivalents_and_displays_in_english() {
    let release = release(CodeSystem::Loinc, "2.80");
    let concept = loinc_glucose();
    let national = national_glucose();
    let urls = Urls::new(BASE);
    let bytes = lookup(
        &urls,
        &LookupInput {
            system: CodeSystem::Loinc,
            release: &release,
            concept: &concept,
            lang: Language::Zh,
            equivalents: vec![&national],
        },
    );
    json(&bytes, "Parameters");
    let p: Parameters = typed(&bytes);
    assert_eq!(string_value(&p, "name").as_deref(), Some("LOINC"));
    assert_eq!(string_value(&p, "version").as_deref(), Some("2.80"));
    // No Chinese name in LOINC: the display falls back to English, which is then not repeated
    // as a designation.
    assert_eq!(
        string_value(&p, "display").as_deref(),
        Some("Glucose [Moles/volume] in Serum or Plasma")
    );
    assert_eq!(find(&p, "designation").len(), 1, "only the short name");
    let props = properties(&p);
    let national_prop = props
        .iter()
        .find(|(c, _)| c == "national")
        .expect("national");
    match &national_prop.1 {
        ParametersParameterValue::Coding(c) => {
            assert_eq!(c.system.as_deref(), Some(NATIONAL_URL));
            assert_eq!(c.code.as_deref(), Some("9000024-1"));
            assert_eq!(c.display.as_deref(), Some("葡萄糖"));
        }
        other => panic!("{other:?}"),
    }
    assert!(props.iter().all(|(c, _)| c != "loinc" && c != "molar-mass"));
}

#[test]
fn english_display_and_known_mapping_without_the_loinc_concept() {
    let release = release(CodeSystem::National, "2026.1");
    let mut concept = national_glucose();
    concept.axes.as_mut().unwrap().method_typ = "Test strip".into();
    concept.status = huren_core::Status::Deprecated;
    concept.replaced_by = "9000031-6".into();
    concept.molar_mass = Some(f64::NAN);
    let bytes = lookup(
        &Urls::default(),
        &LookupInput {
            system: CodeSystem::National,
            release: &release,
            concept: &concept,
            lang: Language::En,
            equivalents: vec![],
        },
    );
    let p: Parameters = typed(&bytes);
    assert_eq!(
        string_value(&p, "display").as_deref(),
        Some("Glucose [Moles/volume] in Serum or Plasma")
    );
    let props = properties(&p);
    let get = |code: &str| {
        props
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        get("METHOD_TYP"),
        Some(ParametersParameterValue::String("Test strip".into()))
    );
    assert_eq!(
        get("STATUS"),
        Some(ParametersParameterValue::Code("DEPRECATED".into()))
    );
    assert_eq!(
        get("replaced-by"),
        Some(ParametersParameterValue::Code("9000031-6".into()))
    );
    assert_eq!(get("molar-mass"), None, "NaN is not a FHIR decimal");
    match get("loinc") {
        Some(ParametersParameterValue::Coding(c)) => {
            assert_eq!(c.code.as_deref(), Some("14749-6"));
            assert_eq!(c.display, None, "the LOINC concept was not at hand");
        }
        other => panic!("{other:?}"),
    }
    // The Chinese display is now a designation, with its language.
    let zh = find(&p, "designation").into_iter().any(|d| {
        d.part
            .iter()
            .flatten()
            .any(|x| x.value == Some(ParametersParameterValue::Code("zh-CN".into())))
            && d.part
                .iter()
                .flatten()
                .any(|x| x.value == Some(ParametersParameterValue::String("葡萄糖".into())))
    });
    assert!(zh);
}

#[test]
fn concept_without_axes_has_no_axis_properties() {
    let release = release(CodeSystem::Loinc, "2.80");
    let mut concept = loinc_glucose();
    concept.axes = None;
    concept.class = String::new();
    concept.ucum_unit = String::new();
    let bytes = lookup(
        &Urls::default(),
        &LookupInput {
            system: CodeSystem::Loinc,
            release: &release,
            concept: &concept,
            lang: Language::En,
            equivalents: vec![],
        },
    );
    let p: Parameters = typed(&bytes);
    let codes: Vec<String> = properties(&p).into_iter().map(|(c, _)| c).collect();
    assert_eq!(codes, ["STATUS"]);
}
