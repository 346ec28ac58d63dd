//! Bad requests get a 4xx and an OperationOutcome that names the parameter; never a 500.

use crate::helpers::{enc, spawn_app};
use huren_testkit::TestDb;

#[test]
fn bad_parameters_name_themselves() {
    let app = spawn_app(TestDb::sqlite());
    let nat = enc("http://huren.example/fhir/CodeSystem/national-lab");
    let vs = enc("http://huren.example/fhir/ValueSet/national-lab");
    for (path, status, code, mentions) in [
        ("/fhir/CodeSystem/$lookup?code=718-7".to_string(), 400, "invalid", "system"),
        ("/fhir/CodeSystem/$lookup?system=http%3A%2F%2Floinc.org".into(), 400, "invalid", "code"),
        ("/fhir/CodeSystem/$lookup?system=http%3A%2F%2Fsnomed.info%2Fsct&code=1".into(), 400, "invalid", "system"),
        ("/fhir/CodeSystem/$lookup?system=http%3A%2F%2Floinc.org&code=99999-9".into(), 404, "not-found", "99999-9"),
        (format!("/fhir/CodeSystem/$lookup?system={nat}&code=9000001-9&version=1999"), 404, "not-found", "1999"),
        ("/fhir/CodeSystem/$lookup?system=http%3A%2F%2Floinc.org&code=718-7&displayLanguage=fr".into(), 400, "invalid", "displayLanguage"),
        ("/fhir/CodeSystem/$lookup?system=http%3A%2F%2Floinc.org&code=718-7&code=2345-7".into(), 400, "invalid", "more than once"),
        ("/fhir/CodeSystem/$validate-code?code=718-7".into(), 400, "invalid", "url"),
        (format!("/fhir/ValueSet/$expand?url={vs}&count=abc"), 400, "invalid", "count"),
        (format!("/fhir/ValueSet/$expand?url={vs}&count=100000"), 400, "invalid", "count"),
        (format!("/fhir/ValueSet/$expand?url={vs}&offset=-1"), 400, "invalid", "offset"),
        (format!("/fhir/ValueSet/$expand?url={vs}&filter={}", "x".repeat(300)), 400, "invalid", "filter"),
        ("/fhir/ValueSet/$expand?url=http%3A%2F%2Fexample.org%2Fvs".into(), 404, "not-found", "example.org"),
        ("/fhir/ValueSet/$expand".into(), 400, "invalid", "url"),
        ("/fhir/ConceptMap/$translate?system=http%3A%2F%2Floinc.org&code=1-1&targetsystem=http%3A%2F%2Floinc.org".into(), 400, "invalid", "targetsystem"),
        ("/fhir/ConceptMap/$translate?system=http%3A%2F%2Floinc.org&code=1-1&reverse=maybe".into(), 400, "invalid", "reverse"),
        ("/fhir/ConceptMap/other".into(), 404, "not-found", "other"),
        ("/fhir/CodeSystem/snomed".into(), 404, "not-found", "snomed"),
        ("/fhir/CodeSystem/national-lab?_summary=count".into(), 400, "invalid", "_summary"),
        ("/fhir/Patient/1".into(), 404, "not-found", "/fhir/Patient/1"),
        ("/api/registry/diff?from=2026.1&to=nope".into(), 404, "not-found", "nope"),
    ] {
        let a = app.get(&path);
        let diag = a.outcome(status, code);
        assert!(diag.contains(mentions), "{path}: {diag:?} should mention {mentions:?}");
        if status == 400 && a.body["issue"][0]["expression"].is_array() {
            assert!(!a.body["issue"][0]["expression"][0].as_str().unwrap().is_empty());
        }
    }
}

#[test]
fn weird_filters_and_bodies_never_500() {
    let app = spawn_app(TestDb::sqlite());
    let vs = enc("http://huren.example/fhir/ValueSet/national-lab");
    for filter in [
        "(",
        "\"",
        "a:b",
        "***",
        "+-",
        "🧪",
        "血糖 AND",
        "' OR 1=1 --",
        "\\",
    ] {
        let a = app.get(&format!(
            "/fhir/ValueSet/$expand?url={vs}&filter={}",
            enc(filter)
        ));
        assert_eq!(a.status, 200, "{filter}: {:#}", a.body);
    }
    for (ct, body) in [
        ("application/fhir+json", "{not json"),
        ("application/fhir+json", r#"{"resourceType":"Patient"}"#),
        ("application/fhir+json", "[]"),
        ("text/plain", "system=x"),
    ] {
        let a = app.post("/fhir/CodeSystem/$lookup", ct, body);
        a.outcome(400, "invalid");
    }
}
