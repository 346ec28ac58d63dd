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

/// A token of the test identity provider: ES256, key `idp-ec-2026` of
/// `crates/http/testdata/jwt/jwks.json`.
fn idp_token(claims: serde_json::Value) -> String {
    let private = std::fs::read(
        huren_testkit::repo_root().join("crates/http/testdata/jwt/es256-private.pem"),
    )
    .unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("idp-ec-2026".into());
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ec_pem(&private).unwrap(),
    )
    .unwrap()
}

#[test]
fn an_identity_providers_jwks_replaces_the_development_secret() {
    let app = crate::helpers::spawn_app_with(TestDb::sqlite(), |s| {
        s.jwt_secret = None;
        s.jwt_jwks = Some(huren_testkit::repo_root().join("crates/http/testdata/jwt/jwks.json"));
        s.jwt_rules = huren_http::auth::TokenRules {
            leeway_secs: 30,
            issuer: Some("https://idp.example.cn".into()),
            audience: Some("huren".into()),
        };
    });
    let now = jsonwebtoken::get_current_timestamp();
    let good = idp_token(
        serde_json::json!({"sub":"ops-1","role":"admin","exp":now+300,
        "iss":"https://idp.example.cn","aud":"huren"}),
    );
    let a = app.get_as("/api/registry/releases", Some(&good));
    assert_eq!(a.status, 200, "{:#}", a.body);
    // The development secret is not accepted once an identity provider's keys are configured.
    let hs = token("admin", None);
    let diag = app
        .get_as("/api/registry/releases", Some(&hs))
        .outcome(401, "login");
    assert!(diag.contains("no key"), "{diag}");
    for (claims, reason) in [
        (
            serde_json::json!({"sub":"x","role":"admin","exp":now+300,"iss":"https://other.example","aud":"huren"}),
            "issuer",
        ),
        (
            serde_json::json!({"sub":"x","role":"admin","exp":now+300,"iss":"https://idp.example.cn","aud":"emr"}),
            "audience",
        ),
        (
            serde_json::json!({"sub":"x","role":"admin","exp":now+300,"nbf":now+3600,"iss":"https://idp.example.cn","aud":"huren"}),
            "not valid yet",
        ),
    ] {
        let diag = app
            .get_as("/api/registry/releases", Some(&idp_token(claims)))
            .outcome(401, "login");
        assert!(diag.contains(reason), "{diag}");
    }
}

/// An HS256 test token with SMART `scope`.
fn scoped(role: &str, hospital: &str, scope: &str) -> String {
    let now = jsonwebtoken::get_current_timestamp();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &serde_json::json!({"sub": format!("{role}-scoped"), "role": role, "hospital": hospital,
            "exp": now + 300, "scope": scope}),
        &jsonwebtoken::EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .unwrap()
}

#[test]
fn smart_scopes_narrow_what_a_token_may_do_with_results() {
    let app = spawn_app(TestDb::sqlite());
    app.create_example_hospitals();
    let observation = r#"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2823-3"}]},"subject":{"identifier":{"system":"urn:huren:id:national-patient","value":"420106198001011234"}},"effectiveDateTime":"2026-11-20T08:00:00+08:00","valueQuantity":{"value":4.1,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}"#;
    let post = |bearer: &str| {
        app.post_as(
            "/fhir/Observation",
            bearer,
            "application/fhir+json",
            observation.as_bytes(),
        )
    };
    let diag =
        post(&scoped("system", "hosp-a", "system/Observation.read")).outcome(403, "forbidden");
    assert!(diag.contains("scopes"), "{diag}");
    for scope in [
        "system/Observation.write",
        "system/*.*",
        "system/Observation.cu",
    ] {
        let a = post(&scoped("system", "hosp-a", scope));
        // Created the first time, the same content unchanged after.
        assert!(matches!(a.status, 200 | 201), "{scope}: {:#}", a.body);
    }
    let read = |bearer: &str| {
        app.get_as(
            "/fhir/Observation?code=http://loinc.org%7C2823-3",
            Some(bearer),
        )
    };
    read(&scoped("clinician", "hosp-b", "user/Patient.read")).outcome(403, "forbidden");
    assert_eq!(
        read(&scoped("clinician", "hosp-b", "user/Observation.read")).status,
        200
    );
    // No scope claim: the role decides.
    assert_eq!(read(&token("clinician", Some("hosp-b"))).status, 200);
}
