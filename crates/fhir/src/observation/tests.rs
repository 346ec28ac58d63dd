//! Broken inputs give precise problems; the mapping into `LabResult` and `PatientInfo`.

use super::*;
use crate::outcome::{IssueCode, Severity, operation_outcome};
use huren_core::result::{
    CodeOrigin, Comparator, Decimal, Identifier, LabResult, PatientIdPolicy, PatientInfo,
    ResultStatus, SentValue, Sex,
};
use std::collections::HashMap;

const NATIONAL_ID: &str = "urn:oid:2.16.156.10011.1.1";

fn policy() -> PatientIdPolicy {
    PatientIdPolicy {
        national_system: NATIONAL_ID.into(),
        national_types: vec!["NI".into(), "NNCHN".into()],
        hospital_system: "http://huren.example/fhir/hospital/h1/patient".into(),
    }
}

/// Runs `f` with the ingest context of hospital `h1`.
fn with_ctx<T>(f: impl FnOnce(&IngestContext<'_>) -> T) -> T {
    let urls = Urls::default();
    let pol = policy();
    f(&IngestContext {
        urls: &urls,
        hospital: "h1",
        patients: &pol,
    })
}

/// A valid Observation of h1 with `extra` members added (JSON text after a comma) and the
/// members named in `without` left out.
fn obs(extra: &str, without: &[&str]) -> String {
    let members = [
        ("resourceType", r#""Observation""#),
        (
            "identifier",
            r#"[{"system": "http://h1.example/results", "value": "R-1"}]"#,
        ),
        ("status", r#""final""#),
        (
            "code",
            r#"{"coding": [{"system": "http://huren.example/fhir/CodeSystem/local/h1", "code": "GLU"}],
                "text": "葡萄糖"}"#,
        ),
        (
            "subject",
            r#"{"identifier": {"system": "urn:oid:2.16.156.10011.1.1", "value": "110101199003071234"}}"#,
        ),
        ("effectiveDateTime", r#""2026-11-20T08:12:00+08:00""#),
        (
            "valueQuantity",
            r#"{"value": 6.30, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"}"#,
        ),
    ];
    let mut parts: Vec<String> = members
        .iter()
        .filter(|(k, _)| !without.contains(k))
        .map(|(k, v)| format!("\"{k}\": {v}"))
        .collect();
    if !extra.is_empty() {
        parts.push(extra.to_owned());
    }
    format!("{{{}}}", parts.join(", "))
}

fn read(json: &str) -> Result<(LabResult, Vec<Problem>), Vec<Problem>> {
    with_ctx(|ctx| read_observation(json, ctx, "test"))
}

fn errors(json: &str) -> Vec<Problem> {
    match read(json) {
        Ok((r, w)) => panic!("expected errors, got {r:?} with {w:?}"),
        Err(p) => p.into_iter().filter(Problem::is_error).collect(),
    }
}

/// The one error of `json`, checked to be at `location`.
fn one_error(json: &str, location: &str) -> Problem {
    let e = errors(json);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].location, location, "{e:#?}");
    e[0].clone()
}

fn ok(json: &str) -> (LabResult, Vec<Problem>) {
    read(json).unwrap_or_else(|p| panic!("{p:#?}"))
}

#[test]
fn a_good_observation_maps_every_field() {
    let (r, warnings) = ok(&obs(
        r#""issued": "2026-11-20T10:00:00.000+08:00",
           "performer": [{"reference": "Organization/lab", "display": "检验科"}],
           "specimen": {"display": "血清"},
           "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "N"}]}],
           "referenceRange": [{"low": {"value": 3.90, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"},
                               "high": {"value": 6.10}, "text": "3.90-6.10"}],
           "note": [{"text": "空腹"}],
           "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}]"#,
        &[],
    ));
    assert!(warnings.is_empty(), "{warnings:#?}");
    assert_eq!(r.source, "test");
    assert_eq!(
        r.identifier,
        Some(Identifier::new("http://h1.example/results", "R-1"))
    );
    assert_eq!(r.codes.len(), 1);
    assert_eq!(r.codes[0].origin, CodeOrigin::Local);
    assert_eq!(
        r.codes[0].display, "葡萄糖",
        "code.text names the local code"
    );
    assert_eq!(
        r.value,
        SentValue::Quantity {
            value: Decimal::parse("6.30").unwrap(),
            comparator: None,
            unit: "mmol/L".into()
        }
    );
    let SentValue::Quantity { value, .. } = &r.value else {
        unreachable!()
    };
    assert_eq!(value.as_str(), "6.30");
    assert_eq!(r.status, ResultStatus::Final);
    assert_eq!(r.effective.as_deref(), Some("2026-11-20T08:12:00+08:00"));
    assert_eq!(r.issued.as_deref(), Some("2026-11-20T10:00:00.000+08:00"));
    assert_eq!(r.performer.as_deref(), Some("检验科"));
    assert_eq!(r.specimen, "血清");
    assert_eq!(r.interpretation, ["N"]);
    assert_eq!(r.notes, ["空腹"]);
    let range = r.reference_range.unwrap();
    assert_eq!(range.low.unwrap().as_str(), "3.90");
    assert_eq!(range.high.unwrap().as_str(), "6.10");
    assert_eq!(range.text, "3.90-6.10");
    assert_eq!(range.unit, "");
    assert_eq!(
        r.patient.identifiers,
        [Identifier::new(NATIONAL_ID, "110101199003071234")]
    );
}

#[test]
fn value_as_a_string_is_an_error_at_the_value() {
    let e = one_error(
        &obs(
            r#""valueQuantity": {"value": "6.3", "unit": "mmol/L"}"#,
            &["valueQuantity"],
        ),
        "Observation.valueQuantity.value",
    );
    assert_eq!(e.code, IssueCode::Invalid);
    assert!(e.message.contains("JSON number"), "{}", e.message);
    assert!(e.message.contains("\"6.3\""), "{}", e.message);
}

#[test]
fn two_values_are_an_error_naming_both() {
    let e = one_error(&obs(r#""valueString": "6.3""#, &[]), "Observation");
    assert!(e.message.contains("`valueQuantity`"), "{}", e.message);
    assert!(e.message.contains("`valueString`"), "{}", e.message);
}

#[test]
fn unsupported_and_unknown_value_kinds() {
    let e = one_error(
        &obs(r#""valueBoolean": true"#, &["valueQuantity"]),
        "Observation.valueBoolean",
    );
    assert_eq!(e.code, IssueCode::NotSupported);
    let e = one_error(
        &obs(r#""valueDecimal": 6.3"#, &["valueQuantity"]),
        "Observation.valueDecimal",
    );
    assert_eq!(e.code, IssueCode::Invalid);
    assert!(e.message.contains("not an R4 Observation value[x]"));
}

#[test]
fn other_value_kinds_map() {
    let (r, _) = ok(&obs(r#""valueInteger": 7"#, &["valueQuantity"]));
    assert_eq!(
        r.value,
        SentValue::Quantity {
            value: Decimal::parse("7").unwrap(),
            comparator: None,
            unit: String::new()
        }
    );
    let (r, _) = ok(&obs(r#""valueString": "阴性""#, &["valueQuantity"]));
    assert_eq!(
        r.value,
        SentValue::Text {
            text: "阴性".into()
        }
    );
    let (r, _) = ok(&obs(
        r#""valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "260385009"}], "text": "阴性"}"#,
        &["valueQuantity"],
    ));
    assert_eq!(
        r.value,
        SentValue::Coded {
            system: "http://snomed.info/sct".into(),
            code: "260385009".into(),
            display: "阴性".into()
        }
    );
    let (r, _) = ok(&obs(
        r#""valueCodeableConcept": {"text": "阴性"}"#,
        &["valueQuantity"],
    ));
    assert_eq!(
        r.value,
        SentValue::Text {
            text: "阴性".into()
        }
    );
    // A comparator, and a unit that is not UCUM: the human text.
    let (r, _) = ok(&obs(
        r#""valueQuantity": {"value": 0.5, "comparator": "<", "unit": "mg/dl"}"#,
        &["valueQuantity"],
    ));
    assert_eq!(
        r.value,
        SentValue::Quantity {
            value: Decimal::parse("0.5").unwrap(),
            comparator: Some(Comparator::Lt),
            unit: "mg/dl".into()
        }
    );
    one_error(
        &obs(
            r#""valueQuantity": {"value": 0.5, "comparator": "≤"}"#,
            &["valueQuantity"],
        ),
        "Observation.valueQuantity.comparator",
    );
    one_error(
        &obs(r#""valueQuantity": {"unit": "mg/dl"}"#, &["valueQuantity"]),
        "Observation.valueQuantity.value",
    );
    one_error(
        &obs(r#""valueInteger": 7.5"#, &["valueQuantity"]),
        "Observation.valueInteger",
    );
}

#[test]
fn effective_date_time_without_seconds_and_timezone() {
    let e = one_error(
        &obs(
            r#""effectiveDateTime": "2013-04-02T09:30""#,
            &["effectiveDateTime"],
        ),
        "Observation.effectiveDateTime",
    );
    assert!(e.message.contains("2013-04-02T09:30"), "{}", e.message);
    assert!(e.message.contains("seconds"), "{}", e.message);
    let e = one_error(
        &obs(
            r#""effectiveDateTime": "2013-04-02T09:30:00""#,
            &["effectiveDateTime"],
        ),
        "Observation.effectiveDateTime",
    );
    assert!(e.message.contains("timezone"), "{}", e.message);
}

#[test]
fn effective_kinds() {
    let (r, _) = ok(&obs(
        r#""effectivePeriod": {"start": "2026-11-20T08:00:00+08:00", "end": "2026-11-20T09:00:00+08:00"}"#,
        &["effectiveDateTime"],
    ));
    assert_eq!(r.effective.as_deref(), Some("2026-11-20T08:00:00+08:00"));
    let (r, _) = ok(&obs(
        r#""effectiveInstant": "2026-11-20T08:00:00Z""#,
        &["effectiveDateTime"],
    ));
    assert_eq!(r.effective.as_deref(), Some("2026-11-20T08:00:00Z"));
    let (r, _) = ok(&obs(
        r#""effectiveDateTime": "2026-11""#,
        &["effectiveDateTime"],
    ));
    assert_eq!(r.effective.as_deref(), Some("2026-11"));
    let e = one_error(
        &obs(r#""effectiveInstant": "2026-11-20T08:00:00Z""#, &[]),
        "Observation",
    );
    assert!(e.message.contains("effective"), "{}", e.message);
    one_error(
        &obs(
            r#""effectiveTiming": {"event": ["2026-11-20"]}"#,
            &["effectiveDateTime"],
        ),
        "Observation.effectiveTiming",
    );
    one_error(
        &obs(
            r#""effectivePeriod": {"start": "2026-11-20T08:00"}"#,
            &["effectiveDateTime"],
        ),
        "Observation.effectivePeriod.start",
    );
}

#[test]
fn unknown_status_is_one_error() {
    let e = one_error(
        &obs(r#""status": "done""#, &["status"]),
        "Observation.status",
    );
    assert_eq!(e.code, IssueCode::CodeInvalid);
    assert!(e.message.contains("`done`"));
    one_error(&obs("", &["status"]), "Observation.status");
}

#[test]
fn missing_code_is_one_error() {
    let e = one_error(&obs("", &["code"]), "Observation.code");
    assert_eq!(e.code, IssueCode::Required);
    one_error(
        &obs(r#""code": {"coding": [{"code": "GLU"}]}"#, &["code"]),
        "Observation.code.coding",
    );
}

#[test]
fn another_hospitals_local_code_is_refused() {
    let e = one_error(
        &obs(
            r#""code": {"coding": [
                {"system": "http://loinc.org", "code": "14749-6"},
                {"system": "http://huren.example/fhir/CodeSystem/local/h2", "code": "GLU"}]}"#,
            &["code"],
        ),
        "Observation.code.coding[1].system",
    );
    assert_eq!(e.code, IssueCode::BusinessRule);
    assert!(e.message.contains("`h2`"), "{}", e.message);
}

#[test]
fn codes_are_classified_by_system() {
    let (r, w) = ok(&obs(
        r#""code": {"coding": [
            {"system": "http://huren.example/fhir/CodeSystem/national-lab", "code": "9000033-2"},
            {"system": "http://loinc.org", "code": "14749-6", "display": "Glucose"},
            {"system": "http://huren.example/fhir/CodeSystem/local/h1", "code": "GLU", "display": "血糖"},
            {"system": "http://snomed.info/sct", "code": "123"},
            {"display": "no system, no code"}]}"#,
        &["code"],
    ));
    let origins: Vec<_> = r.codes.iter().map(|c| c.origin.clone()).collect();
    assert_eq!(
        origins,
        [
            CodeOrigin::National,
            CodeOrigin::Loinc,
            CodeOrigin::Local,
            CodeOrigin::Other("http://snomed.info/sct".into())
        ]
    );
    assert_eq!(r.local_code().unwrap().display, "血糖");
    assert_eq!(w.len(), 1, "{w:#?}");
    assert_eq!(w[0].location, "Observation.code.coding[4]");
}

#[test]
fn unknown_elements_are_one_warning() {
    let (_, w) = ok(&obs(
        r#""foo": 1, "barBaz": {}, "_status": {"id": "x"}"#,
        &[],
    ));
    assert_eq!(w.len(), 1, "{w:#?}");
    assert_eq!(w[0].severity, Severity::Warning);
    assert_eq!(w[0].location, "Observation");
    assert!(w[0].message.contains("`foo`, `barBaz`"), "{}", w[0].message);
}

#[test]
fn structural_errors() {
    one_error(
        &obs(
            r#""modifierExtension": [{"url": "http://x", "valueBoolean": true}]"#,
            &[],
        ),
        "Observation.modifierExtension",
    );
    one_error(
        &obs(r#""dataAbsentReason": {"text": "x"}"#, &[]),
        "Observation.dataAbsentReason",
    );
    one_error(&obs(r#""status": "final""#, &[]), "Observation.status");
    one_error("[1, 2]", "Observation");
    one_error("{not json", "Observation");
    let e = one_error(
        r#"{"resourceType": "Patient", "gender": "female"}"#,
        "Observation.resourceType",
    );
    assert!(e.message.contains("`Patient`"));
    one_error(&obs(r#""issued": "2026-11-20""#, &[]), "Observation.issued");
}

#[test]
fn fhir_model_finds_what_this_module_does_not_read() {
    // `category` is never read here; fhir-model says it is not an array.
    let e = one_error(
        &obs(r#""category": {"text": "laboratory"}"#, &[]),
        "Observation.category",
    );
    assert!(e.message.starts_with("not valid FHIR R4"), "{}", e.message);
    let e = one_error(
        &obs(
            r#""contained": [{"resourceType": "MedicinalProduct"}]"#,
            &[],
        ),
        "Observation.contained",
    );
    assert_eq!(
        e.message,
        "not valid FHIR R4: unknown variant `MedicinalProduct`"
    );
    let e = one_error(
        &obs(r#""bodySite": {"coding": "arm"}"#, &[]),
        "Observation.bodySite",
    );
    assert!(e.message.starts_with("not valid FHIR R4"), "{}", e.message);
}

#[test]
fn no_value_without_a_reason() {
    let (r, w) = ok(&obs("", &["valueQuantity"]));
    assert_eq!(r.value, SentValue::Absent);
    assert_eq!(w.len(), 1, "{w:#?}");
    assert!(w[0].message.contains("no value[x]"));
    let (_, w) = ok(&obs(
        r#""dataAbsentReason": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "not-performed"}]}"#,
        &["valueQuantity"],
    ));
    assert!(w.is_empty(), "{w:#?}");
    let (r, w) = ok(&obs(
        r#""status": "cancelled""#,
        &["valueQuantity", "status"],
    ));
    assert_eq!(r.status, ResultStatus::Cancelled);
    assert!(w.is_empty(), "{w:#?}");
}

#[test]
fn reference_ranges() {
    let (r, w) = ok(&obs(
        r#""referenceRange": [{"low": {"value": 70, "unit": "mg/dL"}, "high": {"value": 110, "unit": "mg/dL"}},
                              {"text": "儿童另见"}]"#,
        &[],
    ));
    let range = r.reference_range.unwrap();
    assert_eq!(range.unit, "mg/dL", "differs from the value's unit");
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].location, "Observation.referenceRange[1]");
    one_error(
        &obs(
            r#""referenceRange": [{"low": {"value": 3.9, "comparator": ">"}}]"#,
            &[],
        ),
        "Observation.referenceRange[0].low.comparator",
    );
    one_error(
        &obs(r#""referenceRange": [{"high": {"value": "6.1"}}]"#, &[]),
        "Observation.referenceRange[0].high.value",
    );
}

#[test]
fn subjects_by_identifier_and_by_reference() {
    // No system: the type decides (national, or the hospital's record numbers).
    let (r, _) = ok(&obs(
        r#""subject": {"identifier": {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "NI"}]},
                                      "value": " 110101199003071234 "}}"#,
        &["subject"],
    ));
    assert_eq!(
        r.patient.identifiers,
        [Identifier::new(NATIONAL_ID, "110101199003071234")]
    );
    let (r, _) = ok(&obs(
        r#""subject": {"identifier": {"value": "MRN-7"}}"#,
        &["subject"],
    ));
    assert_eq!(
        r.patient.identifiers,
        [Identifier::new(
            "http://huren.example/fhir/hospital/h1/patient",
            "MRN-7"
        )]
    );
    // A system is kept as sent.
    let (r, _) = ok(&obs(
        r#""subject": {"identifier": {"system": "http://other.example/mrn", "value": "9"}}"#,
        &["subject"],
    ));
    assert_eq!(
        r.patient.identifiers,
        [Identifier::new("http://other.example/mrn", "9")]
    );
    // A reference alone: resolved through the caller's Patients, else a warning.
    let json = obs(r#""subject": {"reference": "Patient/p1"}"#, &["subject"]);
    let (r, w) = ok(&json);
    assert!(r.patient.identifiers.is_empty());
    assert_eq!(w[0].location, "Observation.subject.reference");
    let patient = PatientInfo {
        identifiers: vec![Identifier::new(NATIONAL_ID, "1")],
        sex: Some(Sex::Male),
        birth_date: Some("1970".into()),
    };
    let patients = HashMap::from([("Patient/p1".to_owned(), patient.clone())]);
    let (r, w) =
        with_ctx(|ctx| read_observation_with_patients(&json, ctx, "t", &patients)).unwrap();
    assert_eq!(r.patient, patient);
    assert!(w.is_empty(), "{w:#?}");
    let (_, w) = ok(&obs("", &["subject"]));
    assert_eq!(w[0].location, "Observation.subject");
}

#[test]
fn patients() {
    let json = r#"{"resourceType": "Patient", "id": "p1",
        "identifier": [
            {"type": {"coding": [{"code": "NNCHN"}]}, "value": "110101199003071234"},
            {"system": "http://h1.example/mrn", "value": "MRN-7"},
            {"value": "X-1"},
            {"system": "http://h1.example/mrn"}],
        "name": [{"text": "张三"}], "gender": "female", "birthDate": "1990-03-07",
        "deceasedBoolean": false}"#;
    let (p, w) = with_ctx(|ctx| read_patient(json, ctx)).unwrap();
    assert_eq!(
        p.identifiers,
        [
            Identifier::new(NATIONAL_ID, "110101199003071234"),
            Identifier::new("http://h1.example/mrn", "MRN-7"),
            Identifier::new("http://huren.example/fhir/hospital/h1/patient", "X-1"),
        ]
    );
    assert_eq!(p.sex, Some(Sex::Female));
    assert_eq!(p.birth_date.as_deref(), Some("1990-03-07"));
    assert_eq!(w.len(), 1, "{w:#?}");
    assert_eq!(w[0].location, "Patient.identifier[3]");

    let bad = r#"{"resourceType": "Patient", "identifier": [{"value": "1"}],
                  "gender": "F", "birthDate": "1990-02-30"}"#;
    let e = with_ctx(|ctx| read_patient(bad, ctx)).unwrap_err();
    let locations: Vec<_> = e
        .iter()
        .filter(|p| p.is_error())
        .map(|p| p.location.as_str())
        .collect();
    assert_eq!(locations, ["Patient.gender", "Patient.birthDate"], "{e:#?}");
}

fn bundle(kind: &str, entries: &[String]) -> String {
    format!(
        r#"{{"resourceType": "Bundle", "type": "{kind}", "entry": [{}]}}"#,
        entries.join(",")
    )
}

fn post(resource: &str, full_url: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(resource).unwrap();
    let ty = v["resourceType"].as_str().unwrap();
    format!(
        r#"{{"fullUrl": "{full_url}", "resource": {resource},
            "request": {{"method": "POST", "url": "{ty}"}}}}"#
    )
}

fn read_b(json: &str) -> Result<BundleIn, Vec<Problem>> {
    with_ctx(|ctx| read_bundle(json, ctx))
}

#[test]
fn bundle_types() {
    let e = read_b(&bundle("searchset", &[])).unwrap_err();
    assert_eq!(e[0].location, "Bundle.type");
    assert_eq!(e[0].code, IssueCode::NotSupported);
    let e = read_b(&bundle("nonsense", &[])).unwrap_err();
    assert_eq!(e[0].code, IssueCode::CodeInvalid);
    let e = read_b(r#"{"resourceType": "Bundle", "entry": []}"#).unwrap_err();
    assert_eq!(e[0].location, "Bundle.type");
    let e = read_b(&obs("", &[])).unwrap_err();
    assert_eq!(e[0].location, "Bundle.resourceType");
    let b = read_b(&bundle("transaction", &[])).unwrap();
    assert_eq!(b.kind, BundleKind::Transaction);
    assert!(b.entries.is_empty() && !b.has_errors());
}

#[test]
fn bundle_entries_are_checked_one_by_one() {
    let patient = r#"{"resourceType": "Patient", "id": "p9",
                      "identifier": [{"system": "urn:oid:2.16.156.10011.1.1", "value": "1"}]}"#;
    let bad_patient = r#"{"resourceType": "Patient", "gender": "x"}"#;
    let with_subject = |s: &str| {
        obs(
            &format!(r#""subject": {{"reference": "{s}"}}"#),
            &["subject"],
        )
    };
    let entries = [
        post(patient, "urn:uuid:a"),
        post(&with_subject("Patient/p9"), "urn:uuid:b"),
        post(bad_patient, "urn:uuid:c"),
        post(&with_subject("urn:uuid:c"), "urn:uuid:d"),
        // No request in a batch.
        format!(
            r#"{{"fullUrl": "urn:uuid:e", "resource": {}}}"#,
            obs("", &[])
        ),
        // Not a resource this service takes.
        post(
            r#"{"resourceType": "Encounter", "status": "finished"}"#,
            "urn:uuid:f",
        ),
        // Skipped with a note.
        r#"{"resource": {"resourceType": "Specimen"}, "request": {"method": "POST", "url": "Specimen"}}"#
            .to_owned(),
        // Duplicate fullUrl, and a url that names another type.
        format!(
            r#"{{"fullUrl": "urn:uuid:b", "resource": {}, "request": {{"method": "PUT", "url": "Patient/1"}}}}"#,
            obs("", &[])
        ),
        r#""not an entry""#.to_owned(),
    ];
    let b = read_b(&bundle("batch", &entries)).unwrap();
    assert_eq!(b.entries.len(), entries.len());
    let r1 = b.entries[1].outcome.lab_result().expect("entry 1 is fine");
    assert_eq!(r1.patient.identifiers, [Identifier::new(NATIONAL_ID, "1")]);
    assert_eq!(r1.source, "entry[1]");
    assert!(matches!(
        b.entries[2].outcome,
        EntryOutcome::Patient(Err(_))
    ));
    let errors_at = |i: usize| -> Vec<String> {
        b.entries[i]
            .outcome
            .problems()
            .iter()
            .filter(|p| p.is_error())
            .map(|p| p.location.clone())
            .collect()
    };
    assert_eq!(errors_at(2), ["Bundle.entry[2].resource.gender"]);
    assert_eq!(errors_at(3), ["Bundle.entry[3].resource.subject.reference"]);
    assert_eq!(errors_at(4), ["Bundle.entry[4].request"]);
    assert!(matches!(b.entries[5].outcome, EntryOutcome::Rejected(_)));
    assert_eq!(errors_at(5), ["Bundle.entry[5].resource.resourceType"]);
    let EntryOutcome::Skipped(notes) = &b.entries[6].outcome else {
        panic!("{:?}", b.entries[6].outcome)
    };
    assert_eq!(notes[0].severity, Severity::Information);
    assert_eq!(
        errors_at(7),
        ["Bundle.entry[7].request.url", "Bundle.entry[7].fullUrl"]
    );
    assert_eq!(errors_at(8), ["Bundle.entry[8]"]);
    assert!(b.has_errors());
}

#[test]
fn collections_take_no_requests() {
    let entries = [
        format!(
            r#"{{"fullUrl": "urn:uuid:a", "resource": {}}}"#,
            obs("", &[])
        ),
        post(&obs("", &[]), "urn:uuid:b"),
    ];
    let b = read_b(&bundle("collection", &entries)).unwrap();
    assert!(b.entries[0].outcome.lab_result().is_some());
    assert!(b.entries[0].request.is_none());
    assert_eq!(
        b.entries[1].outcome.problems()[0].location,
        "Bundle.entry[1].request"
    );
}

#[test]
fn problems_become_operation_outcome_issues() {
    let e = errors(&obs(r#""status": "done""#, &["status"]));
    let issues: Vec<crate::Issue> = e.into_iter().map(Into::into).collect();
    let v: serde_json::Value = serde_json::from_slice(&operation_outcome(&issues)).unwrap();
    assert_eq!(v["issue"][0]["severity"], "error");
    assert_eq!(v["issue"][0]["code"], "code-invalid");
    assert_eq!(v["issue"][0]["expression"][0], "Observation.status");
}
