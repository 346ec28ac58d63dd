//! `parse_parameters`: POSTed operation bodies.

use huren_fhir::{FhirError, parse_parameters};

fn pairs(body: &str) -> Vec<(String, String)> {
    parse_parameters(body.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

fn check(body: &str, expected: &[(&str, &str)]) {
    let got = pairs(body);
    let got: Vec<(&str, &str)> = got.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(got, expected, "{body}");
}

fn error(body: &str) -> FhirError {
    parse_parameters(body.as_bytes()).expect_err(body)
}

#[test]
fn lookup_body_with_system_and_code() {
    check(
        r#"{"resourceType": "Parameters", "parameter": [
            {"name": "system", "valueUri": "http://loinc.org"},
            {"name": "code", "valueCode": "14749-6"},
            {"name": "displayLanguage", "valueCode": "zh-CN"},
            {"name": "property", "valueCode": "COMPONENT"},
            {"name": "date", "valueDateTime": "2026-11-22T08:30:00+08:00"}]}"#,
        &[
            ("system", "http://loinc.org"),
            ("code", "14749-6"),
            ("displayLanguage", "zh-CN"),
            ("property", "COMPONENT"),
            ("date", "2026-11-22T08:30:00+08:00"),
        ],
    );
}

#[test]
fn scalar_types_render_as_text() {
    check(
        r#"{"resourceType": "Parameters", "parameter": [
            {"name": "url", "valueUri": "http://loinc.org/vs"},
            {"name": "valueSet", "valueCanonical": "http://loinc.org/vs|2.80"},
            {"name": "filter", "valueString": "葡萄糖"},
            {"name": "count", "valueInteger": 20},
            {"name": "offset", "valueUnsignedInt": 0},
            {"name": "page", "valuePositiveInt": 3},
            {"name": "threshold", "valueDecimal": 0.75},
            {"name": "activeOnly", "valueBoolean": true},
            {"name": "includeDesignations", "valueBoolean": false},
            {"name": "id", "valueId": "national-lab"},
            {"name": "link", "valueUrl": "http://huren.example/fhir"}]}"#,
        &[
            ("url", "http://loinc.org/vs"),
            ("valueSet", "http://loinc.org/vs|2.80"),
            ("filter", "葡萄糖"),
            ("count", "20"),
            ("offset", "0"),
            ("page", "3"),
            ("threshold", "0.75"),
            ("activeOnly", "true"),
            ("includeDesignations", "false"),
            ("id", "national-lab"),
            ("link", "http://huren.example/fhir"),
        ],
    );
}

#[test]
fn value_coding_is_split_into_fields() {
    check(
        r#"{"resourceType": "Parameters", "parameter": [
            {"name": "coding", "valueCoding": {"system": "http://huren.example/fhir/CodeSystem/national-lab",
                                               "version": "2026.1", "code": "9000024-1"}},
            {"name": "target", "valueCoding": {"code": "14749-6", "display": "Glucose"}}]}"#,
        &[
            (
                "coding.system",
                "http://huren.example/fhir/CodeSystem/national-lab",
            ),
            ("coding.code", "9000024-1"),
            ("coding.version", "2026.1"),
            (
                "system",
                "http://huren.example/fhir/CodeSystem/national-lab",
            ),
            ("code", "9000024-1"),
            ("version", "2026.1"),
            ("target.code", "14749-6"),
            ("target.display", "Glucose"),
        ],
    );
}

#[test]
fn codeable_concept_and_non_value_parameters() {
    check(
        r#"{"resourceType": "Parameters", "parameter": [
            {"name": "codeableConcept", "valueCodeableConcept": {
                "coding": [{"system": "http://loinc.org", "code": "14749-6"}], "text": "血糖"}},
            {"name": "dependency", "part": [{"name": "element", "valueUri": "x"}]},
            {"name": "valueSet", "resource": {"resourceType": "ValueSet", "status": "active"}}]}"#,
        &[
            ("codeableConcept.system", "http://loinc.org"),
            ("codeableConcept.code", "14749-6"),
            ("codeableConcept.text", "血糖"),
        ],
    );
    check(r#"{"resourceType": "Parameters"}"#, &[]);
}

#[test]
fn not_json() {
    let e = error("system=http://loinc.org&code=14749-6");
    assert!(matches!(e, FhirError::Json(_)), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.starts_with("body is not valid JSON") && msg.contains("line 1 column"),
        "{msg}"
    );
    let e = error("[1, 2]");
    assert_eq!(
        e.to_string(),
        "body is not a FHIR Parameters resource: expected a JSON object with resourceType Parameters"
    );
    let e = error("");
    assert!(matches!(e, FhirError::Json(_)), "{e:?}");
    let e = error(r#"{"resourceType": "Parameters", "parameter": [}"#);
    assert!(e.to_string().contains("line 1 column"), "{e}");
}

#[test]
fn wrong_resource_type() {
    let e = error(r#"{"resourceType": "Patient", "id": "p1"}"#);
    assert_eq!(
        e.to_string(),
        "body is not a FHIR Parameters resource: expected resourceType Parameters, found Patient"
    );
    let e = error(r#"{"parameter": []}"#);
    assert_eq!(
        e.to_string(),
        "body is not a FHIR Parameters resource: expected resourceType Parameters, but resourceType is missing"
    );
}

#[test]
fn invalid_parameters_are_errors_not_silent_drops() {
    // `name` is required.
    let e = error(r#"{"resourceType": "Parameters", "parameter": [{"valueString": "x"}]}"#);
    assert!(matches!(e, FhirError::InvalidParameters(_)), "{e:?}");
    assert!(e.to_string().contains("name"), "{e}");
    // fhir-model reads a malformed value[x] as no value; we refuse it.
    let e = error(
        r#"{"resourceType": "Parameters", "parameter": [{"name": "count", "valueInteger": "ten"}]}"#,
    );
    assert_eq!(
        e.to_string(),
        "parameter `count` has no value, or a value[x] that is not valid FHIR"
    );
    let e = error(r#"{"resourceType": "Parameters", "parameter": [{"name": "code"}]}"#);
    assert!(
        matches!(e, FhirError::Parameter { ref name, .. } if name == "code"),
        "{e:?}"
    );
}
