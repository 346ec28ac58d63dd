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

/// A Bundle of `n` Observations of hospital A, by LOINC code.
fn bundle(n: usize) -> String {
    let entries: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"resource":{{"resourceType":"Observation","status":"final","code":{{"coding":[{{"system":"http://loinc.org","code":"2823-3"}}]}},"subject":{{"identifier":{{"system":"urn:huren:id:national-patient","value":"42010619800101{i:04}"}}}},"effectiveDateTime":"2026-11-20T08:00:00+08:00","valueQuantity":{{"value":4.1,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}}},"request":{{"method":"POST","url":"Observation"}}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"resourceType":"Bundle","type":"batch","entry":[{}]}}"#,
        entries.join(",")
    )
}

#[test]
fn requests_over_the_limits_get_413_with_an_outcome_and_write_nothing() {
    let app = crate::helpers::spawn_app_with(TestDb::sqlite(), |s| {
        s.limits = huren_http::Limits {
            max_body_bytes: 64 * 1024,
            max_bundle_entries: 3,
            max_csv_rows: 2,
        };
    });
    app.create_example_hospitals();
    let lis = huren_testkit::token("system", Some("hosp-a"));
    let curator = huren_testkit::token("curator", Some("hosp-a"));
    let admin = huren_testkit::token("admin", None);

    // A body over the byte limit, whatever the endpoint.
    let big = format!("{}\n{}", "local_code,local_name", "x".repeat(70 * 1024));
    for (path, bearer, content_type) in [
        ("/api/results/import", &lis, "text/csv"),
        ("/hl7v2", &lis, "x-application/hl7-v2+er7"),
        ("/fhir", &lis, "application/fhir+json"),
        (
            "/api/hospitals/hosp-a/mappings/import",
            &curator,
            "text/csv",
        ),
    ] {
        let a = app.post_as(path, bearer, content_type, big.as_bytes());
        let diag = a.outcome(413, "too-long");
        assert!(diag.contains("--max-body-mb"), "{path}: {diag}");
    }
    // A JSON body over the JSON limit of an API endpoint.
    let name = "x".repeat(1024 * 1024 + 10);
    let a = app.post_as(
        "/api/hospitals",
        &admin,
        "application/json",
        format!(r#"{{"id":"hosp-c","name":"{name}"}}"#).as_bytes(),
    );
    a.outcome(413, "too-long");

    // A Bundle with more entries than allowed: nothing of it is stored.
    let a = app.post_as("/fhir", &lis, "application/fhir+json", bundle(4).as_bytes());
    let diag = a.outcome(413, "too-long");
    assert!(
        diag.contains("4 entries") && diag.contains("at most 3"),
        "{diag}"
    );
    let a = app.post_as("/fhir", &lis, "application/fhir+json", bundle(3).as_bytes());
    assert_eq!(a.status, 200, "{:#}", a.body);

    // CSV files with more rows than allowed, before any row is parsed.
    let three = "local_code,local_name,unit,national_code\n\
        K,钾,mmol/L,\nNA,钠,mmol/L,\nCL,氯,mmol/L,\n";
    let a = app.post_as(
        "/api/hospitals/hosp-a/mappings/import",
        &curator,
        "text/csv",
        three.as_bytes(),
    );
    let diag = a.outcome(413, "too-long");
    assert!(
        diag.contains("3 rows") && diag.contains("at most 2"),
        "{diag}"
    );
    let a = app.get_as("/api/hospitals/hosp-a/mappings", Some(&curator));
    assert_eq!(a.body["total"], 0, "{:#}", a.body);
    let results = "patient_id,code,value,unit,effective\n\
        P1,2823-3,4.1,mmol/L,2026-11-20T08:00:00+08:00\n\
        P2,2823-3,4.2,mmol/L,2026-11-20T08:00:00+08:00\n\
        P3,2823-3,4.3,mmol/L,2026-11-20T08:00:00+08:00\n";
    app.post_as("/api/results/import", &lis, "text/csv", results.as_bytes())
        .outcome(413, "too-long");
}

#[test]
fn what_the_framework_refuses_is_an_outcome_too() {
    let app = spawn_app(TestDb::sqlite());
    // A route that takes POST only, asked with GET: 405 as an OperationOutcome.
    let a = app.get("/hl7v2");
    assert!(matches!(a.status, 404 | 405), "{:#}", a.body);
    assert_eq!(a.body["resourceType"], "OperationOutcome", "{:#}", a.body);
    // An unknown path.
    let a = app.get("/no/such/thing");
    a.outcome(404, "not-found");
}
