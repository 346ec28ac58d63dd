//! Observations in and out, end to end: every official R4 example lab Observation (alone and in
//! the example Bundles) is read without error and keeps its decimal text; a Bundle with one
//! broken entry fails only that entry; emitted Observations validate against the official R4
//! JSON schema, deserialize into fhir-model's typed Observation, and keep `6.30` byte for byte.

use fhir_model::r4b::resources::{Observation, Resource};
use huren_core::code::national_code;
use huren_core::normalize::{Context, NormalizeOptions, Normalized, normalize};
use huren_core::reference::ReferenceIntervals;
use huren_core::registry::{CurrentRelease, Registry};
use huren_core::result::{
    CodeOrigin, Decimal, Identifier, LabResult, PatientIdPolicy, ResultStatus, SentCode, SentRange,
    SentValue,
};
use huren_core::{Axes, CodeSystem, Concept, Release, Status};
use huren_fhir::observation::ORIGINAL_VALUE_PATH;
use huren_fhir::{
    BundleKind, EmitContext, EntryOutcome, IngestContext, Method, Urls, observation_json,
    read_bundle, read_observation, recognized_observation_json, with_meta,
};
use huren_testkit::fhir_schema::{examples_dir, validate_r4};
use serde_json::{Value, json};

const NATIONAL_ID: &str = "urn:oid:2.16.156.10011.1.1";

fn policy() -> PatientIdPolicy {
    PatientIdPolicy {
        national_system: NATIONAL_ID.into(),
        national_types: vec!["NI".into(), "NNCHN".into()],
        hospital_system: "http://huren.example/fhir/hospital/h1/patient".into(),
    }
}

fn example(name: &str) -> String {
    let path = examples_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const OBSERVATIONS: [&str; 10] = [
    "Observation-f001.json",
    "Observation-f002.json",
    "Observation-f003.json",
    "Observation-f004.json",
    "Observation-f005.json",
    "Observation-f202.json",
    "Observation-f203.json",
    "Observation-f204.json",
    "Observation-f205.json",
    "Observation-f206.json",
];

const BUNDLES: [(&str, usize); 4] = [
    ("Bundle-101.json", 17),
    ("Bundle-ghp.json", 51),
    ("Bundle-lipids.json", 4),
    ("Bundle-report.json", 13),
];

/// Every `valueQuantity.value` of `json`, as the text it has in the file.
fn value_texts(json: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = json;
    while let Some(i) = rest.find("\"valueQuantity\"") {
        rest = &rest[i..];
        let v = rest.find("\"value\"").unwrap();
        let after = rest[v + 7..]
            .trim_start()
            .strip_prefix(':')
            .unwrap()
            .trim_start();
        let end = after.find([',', '}', '\n', ' ']).unwrap();
        out.push(after[..end].to_owned());
        rest = &after[end..];
    }
    out
}

#[test]
fn every_official_example_observation_reads_without_error() {
    let urls = Urls::default();
    let pol = policy();
    let ctx = IngestContext {
        urls: &urls,
        hospital: "h1",
        patients: &pol,
    };
    for name in OBSERVATIONS {
        let text = example(name);
        let (r, warnings) = read_observation(&text, &ctx, name)
            .unwrap_or_else(|p| panic!("{name}: {}", render(&p)));
        assert!(warnings.iter().all(|w| !w.is_error()));
        assert_eq!(r.source, name);
        assert!(!r.codes.is_empty(), "{name}");
        // f205's values are in `component`, which is not read.
        let texts = if name == "Observation-f205.json" {
            Vec::new()
        } else {
            value_texts(&text)
        };
        match &r.value {
            SentValue::Quantity { value, .. } => assert_eq!(texts, [value.as_str()], "{name}"),
            other => assert!(texts.is_empty(), "{name}: {other:?}"),
        }
    }
}

#[test]
fn f001_glucose_in_detail() {
    let urls = Urls::default();
    let pol = policy();
    let ctx = IngestContext {
        urls: &urls,
        hospital: "h1",
        patients: &pol,
    };
    let (r, warnings) = read_observation(&example("Observation-f001.json"), &ctx, "f001").unwrap();
    assert_eq!(
        r.identifier,
        Some(Identifier::new(
            "http://www.bmc.nl/zorgportal/identifiers/observations",
            "6323"
        ))
    );
    assert_eq!(
        r.codes,
        [SentCode {
            origin: CodeOrigin::Loinc,
            code: "15074-8".into(),
            display: "Glucose [Moles/volume] in Blood".into()
        }]
    );
    // UCUM system: the unit is the UCUM code, not the human text `mmol/l`.
    assert_eq!(
        r.value,
        SentValue::Quantity {
            value: Decimal::parse("6.3").unwrap(),
            comparator: None,
            unit: "mmol/L".into()
        }
    );
    assert_eq!(r.status, ResultStatus::Final);
    assert_eq!(r.effective.as_deref(), Some("2013-04-02T09:30:10+01:00"));
    assert_eq!(r.issued.as_deref(), Some("2013-04-03T15:30:10+01:00"));
    assert_eq!(r.performer.as_deref(), Some("A. Langeveld"));
    assert_eq!(r.interpretation, ["H"]);
    let range = r.reference_range.unwrap();
    assert_eq!(range.low.unwrap().as_str(), "3.1");
    assert_eq!(range.high.unwrap().as_str(), "6.2");
    assert_eq!(range.unit, "", "same unit as the value");
    // `Patient/f001` cannot be resolved alone: a warning, not an error.
    assert!(
        warnings
            .iter()
            .any(|w| w.location == "Observation.subject.reference"),
        "{}",
        render(&warnings)
    );
}

#[test]
fn every_observation_of_the_example_bundles_reads_without_error() {
    let urls = Urls::default();
    let pol = policy();
    let ctx = IngestContext {
        urls: &urls,
        hospital: "h1",
        patients: &pol,
    };
    for (name, observations) in BUNDLES {
        let text = example(name);
        let bundle = read_bundle(&text, &ctx).unwrap_or_else(|p| panic!("{name}: {}", render(&p)));
        assert_eq!(bundle.kind, BundleKind::Collection);
        assert!(
            !bundle.has_errors(),
            "{name}: {:#?}",
            bundle.all_problems().collect::<Vec<_>>()
        );
        let results: Vec<&LabResult> = bundle
            .entries
            .iter()
            .filter_map(|e| e.outcome.lab_result())
            .collect();
        assert_eq!(results.len(), observations, "{name}");
        for e in &bundle.entries {
            match &e.outcome {
                EntryOutcome::Observation(Ok((r, _))) => {
                    assert_eq!(r.source, format!("entry[{}]", e.index));
                }
                EntryOutcome::Skipped(notes) => {
                    assert!(
                        notes[0]
                            .location
                            .starts_with(&format!("Bundle.entry[{}]", e.index))
                    );
                }
                other => panic!("{name} entry {}: {other:?}", e.index),
            }
        }
        // Values keep the text they have in the file, in order.
        let sent: Vec<String> = results
            .iter()
            .filter_map(|r| match &r.value {
                SentValue::Quantity { value, .. } => Some(value.as_str().to_owned()),
                _ => None,
            })
            .collect();
        assert_eq!(sent, value_texts(&text), "{name}");
    }
}

#[test]
fn trailing_zeros_survive_reading() {
    let urls = Urls::default();
    let pol = policy();
    let ctx = IngestContext {
        urls: &urls,
        hospital: "h1",
        patients: &pol,
    };
    let text = example("Bundle-101.json");
    let bundle = read_bundle(&text, &ctx).unwrap();
    // Entry 2 (red cells) has a reference range 4.2–6.0: `6.0`, not `6`.
    let r = bundle.entries[2].outcome.lab_result().unwrap();
    assert_eq!(
        r.reference_range
            .as_ref()
            .unwrap()
            .high
            .as_ref()
            .unwrap()
            .as_str(),
        "6.0"
    );
}

/// An Observation of hospital h1 as JSON text (not through `serde_json::Value`, which would
/// turn `6.30` into `6.3`).
fn good_observation(id: &str, value: &str) -> String {
    format!(
        r#"{{"resourceType": "Observation",
            "identifier": [{{"system": "http://h1.example/results", "value": "{id}"}}],
            "status": "final",
            "code": {{"coding": [{{"system": "http://huren.example/fhir/CodeSystem/local/h1",
                                   "code": "GLU", "display": "葡萄糖"}}]}},
            "subject": {{"reference": "urn:uuid:p1"}},
            "effectiveDateTime": "2026-11-20T08:12:00+08:00",
            "valueQuantity": {{"value": {value}, "unit": "mmol/L",
                              "system": "http://unitsofmeasure.org", "code": "mmol/L"}}}}"#
    )
}

#[test]
fn a_batch_with_one_broken_entry_fails_only_that_entry() {
    let urls = Urls::default();
    let pol = policy();
    let ctx = IngestContext {
        urls: &urls,
        hospital: "h1",
        patients: &pol,
    };
    let text = format!(
        r#"{{"resourceType": "Bundle", "type": "batch", "entry": [
            {{"fullUrl": "urn:uuid:p1",
              "resource": {{"resourceType": "Patient",
                           "identifier": [{{"type": {{"coding": [{{"code": "NNCHN"}}]}},
                                           "value": "110101199003071234"}}],
                           "gender": "female", "birthDate": "1990-03-07"}},
              "request": {{"method": "POST", "url": "Patient"}}}},
            {{"fullUrl": "urn:uuid:o1", "resource": {o1},
              "request": {{"method": "POST", "url": "Observation"}}}},
            {{"fullUrl": "urn:uuid:o2", "resource": {o2},
              "request": {{"method": "POST", "url": "Observation"}}}},
            {{"fullUrl": "urn:uuid:o3", "resource": {o3},
              "request": {{"method": "PUT",
                          "url": "Observation?identifier=http://h1.example/results|r3"}}}},
            {{"fullUrl": "urn:uuid:o4", "resource": {o4},
              "request": {{"method": "DELETE", "url": "Observation/x"}}}}
        ]}}"#,
        o1 = good_observation("r1", "6.30"),
        // The one broken entry: a decimal sent as a string.
        o2 = good_observation("r2", r#""5.1""#),
        o3 = good_observation("r3", "4.0"),
        o4 = good_observation("r4", "4.0"),
    );
    let b = read_bundle(&text, &ctx).unwrap();
    assert_eq!(b.kind, BundleKind::Batch);
    assert!(b.has_errors());
    assert!(matches!(b.entries[0].outcome, EntryOutcome::Patient(Ok(_))));

    let r1 = b.entries[1].outcome.lab_result().unwrap();
    assert_eq!(b.entries[1].request.as_ref().unwrap().method, Method::Post);
    assert_eq!(
        r1.patient.identifiers,
        [Identifier::new(NATIONAL_ID, "110101199003071234")],
        "subject resolved to the Patient entry, its identifier typed as national"
    );
    assert_eq!(r1.patient.birth_date.as_deref(), Some("1990-03-07"));
    match &r1.value {
        SentValue::Quantity { value, .. } => assert_eq!(value.as_str(), "6.30"),
        other => panic!("{other:?}"),
    }
    assert_eq!(r1.codes[0].origin, CodeOrigin::Local);

    let EntryOutcome::Observation(Err(problems)) = &b.entries[2].outcome else {
        panic!("{:?}", b.entries[2].outcome)
    };
    let errors: Vec<_> = problems.iter().filter(|p| p.is_error()).collect();
    assert_eq!(errors.len(), 1, "{}", render(problems));
    assert_eq!(
        errors[0].location,
        "Bundle.entry[2].resource.valueQuantity.value"
    );

    let r3 = b.entries[3].outcome.lab_result().unwrap();
    assert_eq!(r3.source, "entry[3]");
    assert_eq!(b.entries[3].request.as_ref().unwrap().method, Method::Put);

    let EntryOutcome::Observation(Err(problems)) = &b.entries[4].outcome else {
        panic!("{:?}", b.entries[4].outcome)
    };
    assert_eq!(problems[0].location, "Bundle.entry[4].request.method");
}

// ---------------------------------------------------------------------------------------------
// Emission

fn glucose(n: u32, property: &str, unit: &str, loinc: &str) -> Concept {
    Concept {
        code: national_code(9_000_000 + n).unwrap(),
        axes: Some(Axes {
            component: "Glucose".into(),
            property: property.into(),
            time_aspct: "Pt".into(),
            system: "Ser/Plas".into(),
            scale_typ: "Qn".into(),
            method_typ: String::new(),
        }),
        class: "CHEM".into(),
        display_zh: "葡萄糖".into(),
        display_en: "Glucose [Moles/volume] in Serum or Plasma".into(),
        short_name: String::new(),
        abbreviations: vec![],
        synonyms_zh: vec![],
        synonyms_en: vec![],
        ucum_unit: unit.into(),
        molar_mass: Some(180.16),
        status: Status::Active,
        replaced_by: String::new(),
        loinc: loinc.into(),
    }
}

fn registry() -> Registry {
    let concepts = vec![
        glucose(33, "SCnc", "mmol/L", "14749-6"),
        glucose(34, "MCnc", "mg/dL", "2345-7"),
    ];
    let release = Release {
        id: 1,
        system: CodeSystem::National,
        label: "test".into(),
        imported_at: String::new(),
        source: String::new(),
        concept_count: 2,
    };
    Registry::new(
        vec![release.clone()],
        vec![CurrentRelease::new(release, concepts)],
    )
}

fn result(codes: Vec<SentCode>, value: SentValue) -> LabResult {
    let mut r = LabResult::new("entry[0]");
    r.identifier = Some(Identifier::new("http://h1.example/results", "r1"));
    r.patient.identifiers = vec![
        Identifier::new("http://huren.example/fhir/hospital/h1/patient", "MRN-7"),
        Identifier::new(NATIONAL_ID, "110101199003071234"),
    ];
    r.codes = codes;
    r.value = value;
    r.effective = Some("2026-11-20T08:12:00+08:00".into());
    r.issued = Some("2026-11-20T10:00:00+08:00".into());
    r.performer = Some("检验科".into());
    r.specimen = "血清".into();
    r.notes = vec!["溶血".into()];
    r
}

fn code(origin: CodeOrigin, code: &str, display: &str) -> SentCode {
    SentCode {
        origin,
        code: code.into(),
        display: display.into(),
    }
}

fn qty(value: &str, comparator: Option<&str>, unit: &str) -> SentValue {
    SentValue::Quantity {
        value: Decimal::parse(value).unwrap(),
        comparator: comparator.and_then(huren_core::result::Comparator::parse),
        unit: unit.into(),
    }
}

fn normalized(r: LabResult) -> Normalized {
    let registry = registry();
    let intervals = ReferenceIntervals::default();
    let options = NormalizeOptions::default();
    let ctx = Context {
        registry: &registry,
        intervals: &intervals,
        options: &options,
    };
    normalize(&ctx, r, None)
}

/// `f` with the emit context of hospital `h1` (its URLs are `ctx.urls`).
fn emitting<T>(f: impl FnOnce(&EmitContext<'_>) -> T) -> T {
    let urls = Urls::default();
    let pol = policy();
    f(&EmitContext {
        urls: &urls,
        hospital: "h1",
        patients: &pol,
    })
}

/// Emits `n`, checks it against the R4 schema and fhir-model, and returns it as JSON text.
fn emit(n: &Normalized) -> String {
    emitting(|ctx| {
        let text = String::from_utf8(observation_json(n, ctx)).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        if let Err(errors) = validate_r4(&v) {
            panic!("{text}\n{}", errors.join("\n"));
        }
        let typed: Resource = serde_json::from_str(&text).unwrap();
        let Resource::Observation(_) = typed else {
            panic!("not an Observation: {text}")
        };
        let _: Observation = serde_json::from_str(&text).unwrap();
        // And what we write, we read back without error.
        let ictx = IngestContext {
            urls: ctx.urls,
            hospital: ctx.hospital,
            patients: ctx.patients,
        };
        if let Err(p) = read_observation(&text, &ictx, "emitted") {
            panic!("{text}\n{}", render(&p));
        }
        text
    })
}

#[test]
fn emitted_converted_glucose_keeps_the_original_value() {
    let mut r = result(
        vec![
            code(CodeOrigin::Local, "GLU", "葡萄糖"),
            code(CodeOrigin::Loinc, "2345-7", ""),
        ],
        qty("114", None, "mg/dL"),
    );
    r.codes.remove(0); // no mapping for the local code: LOINC alone decides
    r.codes.insert(
        0,
        code(CodeOrigin::Other("http://lab.example".into()), "G", ""),
    );
    r.reference_range = Some(SentRange {
        text: "70-110 mg/dL".into(),
        ..SentRange::default()
    });
    let n = normalized(r);
    assert!(n.hold.is_none(), "{:?}", n.issues);
    assert!(n.original.is_some());
    let text = emit(&n);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["extension"][0]["url"],
        format!("http://huren.example/fhir{ORIGINAL_VALUE_PATH}")
    );
    assert!(
        text.contains(r#""valueQuantity":{"value":114,"unit":"mg/dL"}"#),
        "{text}"
    );
    assert_eq!(v["valueQuantity"]["code"], "mmol/L");
    assert_eq!(v["valueQuantity"]["system"], "http://unitsofmeasure.org");
    let codes: Vec<&str> = v["code"]["coding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes[0], national_code(9_000_033).unwrap(), "molar twin");
    assert_eq!(codes[1..], ["14749-6", "G", "2345-7"]);
    assert_eq!(v["subject"]["identifier"]["system"], NATIONAL_ID);
    assert_eq!(v["category"][0]["coding"][0]["code"], "laboratory");
    assert_eq!(v["referenceRange"][0]["text"], "70-110 mg/dL");
    assert_eq!(v["referenceRange"][0]["low"]["code"], "mmol/L");
    // Computed from the range: H, with the marker.
    assert_eq!(v["interpretation"][0]["coding"][0]["code"], "H");
    assert_eq!(v["interpretation"][0]["extension"][0]["valueBoolean"], true);
}

#[test]
fn a_recognized_emission_is_with_recognition_of_the_plain_one() {
    use huren_core::recognition::{CatalogueEntry, Decision, Reason, Scope, Severity};
    use huren_fhir::recognition::with_recognition;
    let mut converted = result(
        vec![code(CodeOrigin::Loinc, "2345-7", "")],
        qty("114", None, "mg/dL"),
    );
    converted.reference_range = Some(SentRange {
        text: "70-110 mg/dL".into(),
        ..SentRange::default()
    });
    let shapes = [
        normalized(converted),
        normalized(result(Vec::new(), qty("1", None, ""))),
        normalized(result(
            vec![code(CodeOrigin::Loinc, "2345-7", "")],
            qty("2.8", Some("<"), "mmol/L"),
        )),
    ];
    let reason = |code, severity, zh: &str| Reason {
        code,
        severity,
        zh: zh.into(),
        en: String::new(),
    };
    let decisions = [
        Decision {
            recognizable: true,
            entry: Some(CatalogueEntry {
                scope: Scope::Province("420000".into()),
                national_code: "9000033-2".into(),
                validity_days: 30,
                mark: "鄂HR".into(),
                strict_iqc: false,
            }),
            valid_until: Some(1_767_225_600),
            reasons: vec![reason(
                "iqc-missing",
                Severity::Warning,
                "检测当日无室内质控数据",
            )],
        },
        Decision {
            recognizable: false,
            entry: None,
            valid_until: None,
            reasons: vec![reason(
                "eqa-missing",
                Severity::Failure,
                "无室间质评记录 \"x\"",
            )],
        },
    ];
    emitting(|ctx| {
        for n in &shapes {
            let plain = String::from_utf8(observation_json(n, ctx)).unwrap();
            for d in &decisions {
                let at_once = String::from_utf8(recognized_observation_json(n, ctx, d)).unwrap();
                assert_eq!(at_once, with_recognition(&plain, ctx.urls, d).unwrap());
                validate_r4(&serde_json::from_str(&at_once).unwrap()).unwrap();
            }
        }
    });
}

#[test]
fn emitted_value_keeps_its_digits_byte_for_byte() {
    let mut r = result(
        vec![code(CodeOrigin::Loinc, "14749-6", "Glucose")],
        qty("6.30", None, "mmol/L"),
    );
    r.reference_range = Some(SentRange {
        text: "3.90-6.10".into(),
        low: Decimal::parse("3.90"),
        high: Decimal::parse("6.10"),
        unit: String::new(),
    });
    r.interpretation = vec!["H".into()];
    let n = normalized(r);
    assert!(n.original.is_none());
    let text = emit(&n);
    assert!(
        text.contains(r#""valueQuantity":{"value":6.30,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}"#),
        "{text}"
    );
    assert!(text.contains(r#""low":{"value":3.90,"#), "{text}");
    assert!(text.contains(r#""high":{"value":6.10,"#), "{text}");
    assert!(
        !text.contains("extension"),
        "sent flags are not marked: {text}"
    );

    // Reading it back gives the same text again.
    let urls = Urls::default();
    let pol = policy();
    let ctx = IngestContext {
        urls: &urls,
        hospital: "h1",
        patients: &pol,
    };
    let (back, _) = read_observation(&text, &ctx, "back").unwrap();
    assert_eq!(back.value, qty("6.30", None, "mmol/L"));
    assert_eq!(back.specimen, "血清");
    assert_eq!(back.notes, ["溶血"]);

    // And with_meta copies it byte for byte.
    let stored = with_meta(&text, "abc", 3, 1_795_651_920_123).unwrap();
    let stored = String::from_utf8(stored).unwrap();
    assert!(stored.starts_with(
        r#"{"resourceType":"Observation","id":"abc","meta":{"versionId":"3","lastUpdated":"2026-11-26T00:12:00.123Z"},"#
    ), "{stored}");
    assert!(stored.contains(r#""value":6.30"#));
    validate_r4(&serde_json::from_str(&stored).unwrap()).unwrap();
}

#[test]
fn emitted_held_result_has_only_the_sent_codes() {
    let r = result(
        vec![code(CodeOrigin::Local, "XYZ", "某项目")],
        qty("12.0", Some("<"), "U/L"),
    );
    let n = normalized(r);
    assert!(n.hold.is_some());
    let text = emit(&n);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["code"],
        json!({"coding": [{"system": "http://huren.example/fhir/CodeSystem/local/h1",
                           "code": "XYZ", "display": "某项目"}],
               "text": "某项目"})
    );
    assert!(
        text.contains(r#""valueQuantity":{"value":12.0,"comparator":"<","unit":"U/L""#),
        "{text}"
    );
}

#[test]
fn emitted_result_without_any_code_is_still_valid() {
    let n = normalized(result(Vec::new(), qty("1", None, "")));
    assert!(n.hold.is_some());
    let v: Value = serde_json::from_str(&emit(&n)).unwrap();
    assert_eq!(v["code"], json!({"text": "(no code was sent)"}));
}

#[test]
fn emitted_text_and_comparator_values() {
    let n = normalized(result(
        vec![code(CodeOrigin::Loinc, "14749-6", "")],
        SentValue::Text {
            text: "阴性".into(),
        },
    ));
    let text = emit(&n);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["valueString"], "阴性");
    assert!(v.get("valueQuantity").is_none());

    let n = normalized(result(
        vec![code(CodeOrigin::Loinc, "14749-6", "")],
        qty("0.50", Some("<"), "mmol/L"),
    ));
    let text = emit(&n);
    assert!(text.contains(r#""value":0.50,"comparator":"<""#), "{text}");

    let n = normalized(result(
        vec![code(CodeOrigin::Loinc, "14749-6", "")],
        SentValue::Coded {
            system: "http://snomed.info/sct".into(),
            code: "260385009".into(),
            display: "Negative".into(),
        },
    ));
    let v: Value = serde_json::from_str(&emit(&n)).unwrap();
    assert_eq!(v["valueCodeableConcept"]["coding"][0]["code"], "260385009");

    let mut r = result(
        vec![code(CodeOrigin::Loinc, "14749-6", "")],
        SentValue::Absent,
    );
    r.status = ResultStatus::Cancelled;
    let v: Value = serde_json::from_str(&emit(&normalized(r))).unwrap();
    assert_eq!(v["dataAbsentReason"]["coding"][0]["code"], "not-performed");
}

#[test]
fn emitted_ranges_ratios_and_date_times_are_r4_and_read_back() {
    use huren_core::result::Decimal;
    let d = |t: &str| Decimal::parse(t).unwrap();
    for (value, key, check) in [
        (
            SentValue::Range {
                low: Some(d("2")),
                high: Some(d("5")),
                unit: "/[HPF]".into(),
            },
            "valueRange",
            r#"{"low":{"value":2,"unit":"/[HPF]"},"high":{"value":5,"unit":"/[HPF]"}}"#,
        ),
        (
            SentValue::Ratio {
                numerator: d("1"),
                denominator: d("128"),
            },
            "valueRatio",
            r#"{"numerator":{"value":1},"denominator":{"value":128}}"#,
        ),
        (
            SentValue::DateTime {
                value: "2026-11-20T08:12:00+08:00".into(),
            },
            "valueDateTime",
            r#""2026-11-20T08:12:00+08:00""#,
        ),
    ] {
        let n = normalized(result(
            vec![code(CodeOrigin::Loinc, "14749-6", "")],
            value.clone(),
        ));
        let text = emit(&n);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v[key],
            serde_json::from_str::<Value>(check).unwrap(),
            "{text}"
        );
        assert!(v.get("dataAbsentReason").is_none(), "{text}");
        // What we write reads back as the same value.
        let urls = Urls::default();
        let pol = policy();
        let ictx = IngestContext {
            urls: &urls,
            hospital: "h1",
            patients: &pol,
        };
        let (back, _) = read_observation(&text, &ictx, "emitted").unwrap();
        assert_eq!(back.value, value, "{text}");
    }
}

fn render(problems: &[huren_fhir::Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
