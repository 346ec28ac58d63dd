//! The route × role × hospital matrix: every registered route (`huren_http::ROUTES`, the table
//! the routes are registered from) is called without a token and with a token of every role,
//! of the path's hospital and of another, and the answer must be what the route's rule says:
//! 401 without a token (but for public routes), 403 for a role or hospital the rule leaves out,
//! anything else when it lets the caller in. A new route cannot exist without a rule.

use crate::helpers::{TestApp, spawn_app};
use huren_http::{ROUTES, Role, Rule};
use huren_testkit::{TestDb, token};

/// Whether the rule lets `role` of hospital `own` (true: the path's hospital) in.
fn allowed(rule: Rule, role: Role, own: bool) -> bool {
    match rule {
        Rule::Public | Rule::AnyRole | Rule::ResultSearch => true,
        Rule::Result => matches!(role, Role::Admin | Role::Clinician) || own,
        Rule::Admin => role == Role::Admin,
        Rule::Roles(roles) => role == Role::Admin || roles.contains(&role),
        Rule::Hospital => role == Role::Admin || own,
        Rule::HospitalRole(r) => role == Role::Admin || (role == r && own),
        Rule::Sender => role == Role::System,
    }
}

/// One Observation of hospital A and one mapping, for the paths that name them.
fn setup(app: &TestApp) -> String {
    app.create_example_hospitals();
    let curator = token("curator", Some("hosp-a"));
    let a = app.post_as(
        "/api/hospitals/hosp-a/mappings/import",
        &curator,
        "text/csv",
        "local_code,local_name,unit,national_code\n001,葡萄糖,mmol/L,\n".as_bytes(),
    );
    assert_eq!(a.status, 200, "{:#}", a.body);
    let message = [
        "MSH|^~\\&|LIS|HOSP-A-LIS|HUREN|HUREN|20261120093000+0800||ORU^R01^ORU_R01|ACC-1|P|2.5.1",
        "PID|1||MRN-1^^^HOSPA^MR~420106198001011234^^^CHN^NI||王^伟||19800101|M",
        "OBR|1|ORD1^HIS|LAB1^LIS|CHEM^生化^L|||202611200745+0800",
        "OBX|1|NM|2823-3^Potassium^LN||4.1|mmol/L|3.5-5.3||||F|||202611200812+0800",
    ]
    .join("\r");
    let a = app.post_as(
        "/hl7v2",
        &token("system", Some("hosp-a")),
        "x-application/hl7-v2+er7",
        message.as_bytes(),
    );
    assert_eq!(a.status, 200);
    let found = app.observations("code=http://loinc.org%7C2823-3", &token("admin", None));
    found[0]["id"].as_str().unwrap().to_owned()
}

/// The route's path with its parameters filled in.
fn concrete(path: &str, observation: &str) -> String {
    let path = if path.starts_with("/fhir/Observation/{id}") {
        path.replacen("{id}", observation, 1)
    } else {
        path.replacen("{id}", "hosp-a", 1)
    };
    path.replace("{code}", "001")
        .replace("{system}", "national")
        .replace("{action}", "reject")
        .replace("{vid}", "1")
}

#[test]
fn every_route_answers_every_role_as_its_rule_says() {
    let app = spawn_app(TestDb::sqlite());
    let observation = setup(&app);
    let mut wrong = Vec::new();
    for route in ROUTES {
        let path = concrete(route.path, &observation);
        let call = |bearer: Option<&str>| match route.method {
            "get" => app.get_as(&path, bearer),
            // A page's form carries the session's CSRF token, as the page would give it.
            _ if path.starts_with("/ui/") => match bearer {
                Some(b) => app.post_as(
                    &path,
                    b,
                    "application/x-www-form-urlencoded",
                    format!("csrf={}", huren_http::ui::csrf_of(b)).as_bytes(),
                ),
                None => app.post_unauthenticated(&path, "application/x-www-form-urlencoded", b""),
            },
            _ => match bearer {
                Some(b) => app.post_as(&path, b, "application/json", b"{}"),
                None => app.post_unauthenticated(&path, "application/json", b"{}"),
            },
        };
        // Without a token.
        if route.rule != Rule::Public {
            let a = match route.method {
                "get" => app.get_as(&path, None),
                _ => app.post_unauthenticated(&path, "application/json", b"{}"),
            };
            if a.status != 401 {
                wrong.push(format!(
                    "{} {path} without a token: {}",
                    route.method, a.status
                ));
            }
        }
        for role in Role::ALL {
            for own in [true, false] {
                if role == Role::Admin && !own {
                    continue;
                }
                let hospital = match (role, own) {
                    (Role::Admin, _) => None,
                    (_, true) => Some("hosp-a"),
                    (_, false) => Some("hosp-b"),
                };
                let a = call(Some(&token(role.as_str(), hospital)));
                let expect_in = allowed(route.rule, role, own);
                let got_in = !matches!(a.status, 401 | 403);
                if expect_in != got_in || a.status >= 500 {
                    wrong.push(format!(
                        "{} {path} as {} of {:?}: {} (rule {:?}) {}",
                        route.method,
                        role.as_str(),
                        hospital,
                        a.status,
                        route.rule,
                        a.body["issue"][0]["diagnostics"]
                    ));
                }
                if matches!(a.status, 401 | 403) {
                    if path == "/ui" || path.starts_with("/ui/") {
                        // A page: the same refusal, as a page.
                        assert!(a.content_type.starts_with("text/html"), "{path}");
                    } else {
                        assert_eq!(a.body["resourceType"], "OperationOutcome", "{path}");
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} answers differ from the rules:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn a_search_shows_other_hospitals_results_to_clinicians_and_admins_only() {
    let app = spawn_app(TestDb::sqlite());
    setup(&app);
    let query = "code=http://loinc.org%7C2823-3";
    for (role, hospital, sees) in [
        ("clinician", Some("hosp-b"), 1),
        ("admin", None, 1),
        ("curator", Some("hosp-a"), 1),
        ("system", Some("hosp-a"), 1),
        ("curator", Some("hosp-b"), 0),
        ("qc", Some("hosp-b"), 0),
        ("system", Some("hosp-b"), 0),
    ] {
        let found = app.observations(query, &token(role, hospital));
        assert_eq!(found.len(), sees, "{role} of {hospital:?}");
    }
}

/// How `docs/security.md` words a rule.
fn words(rule: Rule) -> String {
    match rule {
        Rule::Public => "public".into(),
        Rule::AnyRole => "any role".into(),
        Rule::Admin => "admin".into(),
        Rule::Roles(roles) => format!(
            "{} (any hospital), admin",
            roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Rule::Hospital => "admin; any role of the path's hospital".into(),
        Rule::HospitalRole(r) => format!("admin; {} of the path's hospital", r.as_str()),
        Rule::Sender => "system (for its own hospital)".into(),
        Rule::Result => "admin, clinician (any hospital); any role of the result's hospital".into(),
        Rule::ResultSearch => "any role: admins and clinicians see every hospital's results, \
                               the others their own hospital's"
            .into(),
    }
}

#[test]
fn the_security_document_lists_every_route_with_its_rule() {
    let doc = std::fs::read_to_string(huren_testkit::repo_root().join("docs/security.md")).unwrap();
    let missing: Vec<String> = ROUTES
        .iter()
        .map(|r| {
            format!(
                "| `{} {}` | {} |",
                r.method.to_uppercase(),
                r.path,
                words(r.rule)
            )
        })
        .filter(|line| !doc.contains(line.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/security.md lacks:\n{}",
        missing.join("\n")
    );
}

#[test]
fn a_hospitals_system_cannot_send_results_as_another_hospital() {
    let app = crate::helpers::spawn_app_with(TestDb::sqlite(), |s| {
        s.facilities = vec![(
            "HOSP-B-LIS".into(),
            huren_core::HospitalId::parse("hosp-b").unwrap(),
        )];
    });
    app.create_example_hospitals();
    let lis = token("system", Some("hosp-a"));
    let v2 = |msh4: &str, obx23: &str| {
        [
            format!("MSH|^~\\&|LIS|{msh4}|HUREN|HUREN|20261120093000+0800||ORU^R01^ORU_R01|O-{msh4}-{obx23}|P|2.5.1"),
            "PID|1||MRN-1^^^HOSPA^MR||王^伟||19800101|M".to_owned(),
            "OBR|1|ORD1^HIS|LAB1^LIS|CHEM^生化^L|||202611200745+0800".to_owned(),
            format!("OBX|1|NM|2823-3^Potassium^LN||4.1|mmol/L|3.5-5.3||||F|||202611200812+0800|||||||||{obx23}"),
        ]
        .join("\r")
    };
    let send = |message: String| {
        let a = app.post_as(
            "/hl7v2",
            &lis,
            "x-application/hl7-v2+er7",
            message.as_bytes(),
        );
        assert_eq!(a.status, 200);
        a.body.as_str().unwrap().to_owned()
    };
    // MSH-4 naming hospital B (by id, or through the facility table), or OBX-23 naming it.
    for (msh4, obx23) in [("hosp-b", ""), ("HOSP-B-LIS", ""), ("HOSP-A-LIS", "hosp-b")] {
        let ack = send(v2(msh4, obx23));
        assert!(ack.contains("\rMSA|AR|"), "{msh4} {obx23}: {ack}");
        assert!(ack.contains("hosp-b"), "{ack}");
    }
    let admin = token("admin", None);
    assert!(
        app.observations("code=http://loinc.org%7C2823-3", &admin)
            .is_empty()
    );
    // Its own name, or a laboratory huren does not know, is fine.
    for (msh4, obx23) in [("hosp-a", "hosp-a"), ("HOSP-A-LIS", "LAB01")] {
        let ack = send(v2(msh4, obx23));
        assert!(ack.contains("\rMSA|AA|"), "{msh4} {obx23}: {ack}");
    }
    // FHIR and CSV: the performer, the lab id.
    let observation = r#"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2951-2"}]},"subject":{"identifier":{"system":"urn:test","value":"P9"}},"effectiveDateTime":"2026-11-20T08:00:00+08:00","performer":[{"identifier":{"value":"hosp-b"}}],"valueQuantity":{"value":140,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}"#;
    let diag = app
        .post_as(
            "/fhir/Observation",
            &lis,
            "application/fhir+json",
            observation.as_bytes(),
        )
        .outcome(403, "forbidden");
    assert!(
        diag.contains("hosp-b") && diag.contains("nothing was written"),
        "{diag}"
    );
    let csv = "result_id,patient_id,local_code,local_name,value,unit,collected_at,lab_id\n\
        R1,P1,K,钾,4.1,mmol/L,2026-11-20 08:00,hosp-b\n";
    app.post_as("/api/results/import", &lis, "text/csv", csv.as_bytes())
        .outcome(403, "forbidden");
    assert!(
        app.observations("code=http://loinc.org%7C2951-2", &admin)
            .is_empty()
    );
}
