//! `$validate-code`, `$expand` and `$translate`.

use crate::fixtures::*;
use fhir_model::r4b::codes::PublicationStatus;
use fhir_model::r4b::resources::{
    Parameters, ParametersParameterValue as PValue, ValueSet,
    ValueSetExpansionParameterValue as VsValue,
};
use huren_core::CodeSystem;
use huren_core::concept::Language;
use huren_fhir::{Expansion, TranslateMatch, Urls, expansion, translate, validate_code};
use serde_json::json;

fn values(p: &Parameters) -> Vec<(String, Option<PValue>)> {
    p.parameter
        .iter()
        .flatten()
        .map(|x| (x.name.clone(), x.value.clone()))
        .collect()
}

#[test]
fn validate_code_outputs() {
    let ok = validate_code(true, None, Some("葡萄糖"));
    assert_eq!(
        json(&ok, "Parameters"),
        json!({"resourceType": "Parameters", "parameter": [
            {"name": "result", "valueBoolean": true},
            {"name": "display", "valueString": "葡萄糖"}]})
    );
    let bad = validate_code(
        false,
        Some("9000024-2 has check digit 2, but the check digit of 9000024 is 1"),
        None,
    );
    let p: Parameters = typed(&bad);
    assert_eq!(
        values(&p),
        vec![
            ("result".into(), Some(PValue::Boolean(false))),
            (
                "message".into(),
                Some(PValue::String(
                    "9000024-2 has check digit 2, but the check digit of 9000024 is 1".into()
                ))
            ),
        ]
    );
    let p: Parameters = typed(&validate_code(false, Some("wrong display"), Some("葡萄糖")));
    assert_eq!(p.parameter.len(), 3);
}

#[test]
fn expansion_page() {
    let glucose = national_glucose();
    let urea = national_urea();
    let urls = Urls::new(BASE);
    let bytes = expansion(
        &urls,
        &Expansion {
            system: CodeSystem::National,
            version: "2026.1",
            filter: Some("血糖 glu"),
            offset: 20,
            count: 2,
            total: 57,
            lang: Language::En,
            concepts: vec![&glucose, &urea],
            timestamp: "2026-11-22T08:30:00+08:00",
        },
    );
    let v = json(&bytes, "ValueSet");
    assert_eq!(
        v["expansion"]["identifier"],
        "urn:huren:expansion:national:2026.1:20:2:%E8%A1%80%E7%B3%96%20glu"
    );
    assert_eq!(v["expansion"]["timestamp"], "2026-11-22T08:30:00+08:00");
    assert_eq!(
        v["expansion"]["contains"][0],
        json!({"system": NATIONAL_URL, "version": "2026.1", "code": "9000024-1",
               "display": "Glucose [Moles/volume] in Serum or Plasma"})
    );

    let vs: ValueSet = typed(&bytes);
    assert_eq!(
        vs.url.as_deref(),
        Some("http://huren.example/fhir/ValueSet/national-lab")
    );
    assert_eq!(vs.version.as_deref(), Some("2026.1"));
    assert_eq!(vs.status, PublicationStatus::Active);
    let exp = vs.expansion.as_ref().expect("expansion");
    assert_eq!(exp.total, Some(57));
    assert_eq!(exp.offset, Some(20));
    let params: Vec<(String, Option<VsValue>)> = exp
        .parameter
        .iter()
        .flatten()
        .map(|x| (x.name.clone(), x.value.clone()))
        .collect();
    assert_eq!(
        params,
        vec![
            ("filter".into(), Some(VsValue::String("血糖 glu".into()))),
            ("count".into(), Some(VsValue::Integer(2))),
            ("offset".into(), Some(VsValue::Integer(20))),
            ("displayLanguage".into(), Some(VsValue::Code("en".into()))),
        ]
    );
    let codes: Vec<_> = exp
        .contains
        .iter()
        .flatten()
        .map(|c| c.code.clone())
        .collect();
    assert_eq!(codes, [Some("9000024-1".into()), Some("9000031-6".into())]);
}

#[test]
fn expansion_without_filter_of_loinc() {
    let glucose = loinc_glucose();
    let bytes = expansion(
        &Urls::default(),
        &Expansion {
            system: CodeSystem::Loinc,
            version: "2.80",
            filter: None,
            offset: 0,
            count: 10,
            total: 1,
            lang: Language::Zh,
            concepts: vec![&glucose],
            timestamp: "not a timestamp",
        },
    );
    let v = json(&bytes, "ValueSet");
    assert_eq!(v["url"], "http://loinc.org/vs");
    assert_eq!(
        v["expansion"]["identifier"],
        "urn:huren:expansion:loinc:2.80:0:10:"
    );
    // A bad timestamp from the caller is replaced by the current time, still a valid instant.
    let ts = v["expansion"]["timestamp"].as_str().unwrap();
    assert!(ts.parse::<fhir_model::Instant>().is_ok(), "{ts}");
    assert_eq!(v["expansion"]["parameter"][0]["name"], "count");
    // Chinese asked for, none known: English.
    assert_eq!(
        v["expansion"]["contains"][0]["display"],
        "Glucose [Moles/volume] in Serum or Plasma"
    );
    let _: ValueSet = typed(&bytes);
}

#[test]
fn translate_with_matches() {
    let national = national_glucose();
    let loinc = loinc_glucose();
    let urls = Urls::new(BASE);
    let bytes = translate(
        &urls,
        &[
            TranslateMatch {
                system: CodeSystem::National,
                version: "2026.1",
                concept: &national,
            },
            TranslateMatch {
                system: CodeSystem::Loinc,
                version: "2.80",
                concept: &loinc,
            },
        ],
        None,
    );
    let v = json(&bytes, "Parameters");
    assert_eq!(
        v["parameter"],
        json!([
            {"name": "result", "valueBoolean": true},
            {"name": "match", "part": [
                {"name": "equivalence", "valueCode": "equivalent"},
                {"name": "concept", "valueCoding": {"system": NATIONAL_URL, "version": "2026.1",
                                                    "code": "9000024-1", "display": "葡萄糖"}},
                {"name": "source",
                 "valueUri": "http://huren.example/fhir/ConceptMap/loinc-national-lab"}]},
            {"name": "match", "part": [
                {"name": "equivalence", "valueCode": "equivalent"},
                {"name": "concept", "valueCoding": {"system": LOINC, "version": "2.80",
                    "code": "14749-6", "display": "Glucose [Moles/volume] in Serum or Plasma"}},
                {"name": "source",
                 "valueUri": "http://huren.example/fhir/ConceptMap/loinc-national-lab"}]}
        ])
    );
    let _: Parameters = typed(&bytes);
}

#[test]
fn translate_without_matches() {
    let urls = Urls::default();
    let p: Parameters = typed(&translate(&urls, &[], None));
    assert_eq!(
        values(&p),
        vec![
            ("result".into(), Some(PValue::Boolean(false))),
            (
                "message".into(),
                Some(PValue::String("no equivalent found".into()))
            ),
        ]
    );
    let p: Parameters = typed(&translate(&urls, &[], Some("2345-7 is not mapped")));
    assert_eq!(
        values(&p)[1],
        (
            "message".into(),
            Some(PValue::String("2345-7 is not mapped".into()))
        )
    );
}
