//! Bearer tokens: every endpoint but /fhir/metadata and /health needs one.

use crate::helpers::spawn_app;
use huren_testkit::{TEST_SECRET, TestDb, token, token_with};

const PROTECTED: [&str; 8] = [
    "/fhir/CodeSystem/$lookup?system=http%3A%2F%2Floinc.org&code=718-7",
    "/fhir/CodeSystem/$validate-code?url=http%3A%2F%2Floinc.org&code=718-7",
    "/fhir/ValueSet/$expand?url=http%3A%2F%2Floinc.org%2Fvs&filter=glucose",
    "/fhir/ConceptMap/$translate?system=http%3A%2F%2Floinc.org&code=718-7",
    "/fhir/ConceptMap/loinc-national-lab",
    "/fhir/CodeSystem/national-lab",
    "/api/registry/releases",
    "/api/registry/diff?from=2026.1&to=2026.1",
];

#[test]
fn missing_bad_and_expired_tokens_get_401_with_an_outcome() {
    let app = spawn_app(TestDb::sqlite());
    let expired = token_with(TEST_SECRET, "admin", None, -3600);
    let forged = token_with("another-secret-of-enough-length", "admin", None, 3600);
    for path in PROTECTED {
        for (bearer, reason) in [
            (None, "missing"),
            (Some(expired.as_str()), "expired"),
            (Some(forged.as_str()), "signature"),
            (Some("garbage"), "malformed"),
        ] {
            let a = app.get_as(path, bearer);
            let diag = a.outcome(401, "login");
            assert!(diag.contains(reason), "{path} {reason}: {diag}");
        }
    }
}

#[test]
fn every_role_may_read_the_registry() {
    let app = spawn_app(TestDb::sqlite());
    for role in ["admin", "curator", "system", "clinician", "qc"] {
        let hospital = (role != "admin").then_some("hosp-a");
        for path in PROTECTED {
            let a = app.get_as(path, Some(&token(role, hospital)));
            assert_eq!(a.status, 200, "{role} {path}: {:#}", a.body);
        }
    }
}

#[test]
fn metadata_and_health_are_public() {
    let app = spawn_app(TestDb::sqlite());
    assert_eq!(app.get_as("/fhir/metadata", None).status, 200);
    assert_eq!(app.get_as("/health", None).status, 200);
}
