//! The audit trail and the tamper-evident chains, end to end on both databases: every write
//! recorded in its own transaction, every read of patient results and every refused request
//! recorded, `GET /fhir/AuditEvent` for admins; rows edited behind huren's back found by
//! `GET /api/integrity` and `huren verify`.

use crate::helpers::{TestApp, apps, enc};
use crate::results::{NATIONAL_ID, hospital_a, msa, oru, post_hl7};
use huren_testkit::fhir_schema::validate_r4;
use huren_testkit::{TEST_SECRET, token, token_for};
use serde_json::Value;

/// The audit events matching `query`, as an admin, each checked against the R4 schema.
fn events(app: &TestApp, query: &str) -> Vec<Value> {
    let a = app.get_as(
        &format!("/fhir/AuditEvent?{query}"),
        Some(&token("admin", None)),
    );
    assert_eq!(a.status, 200, "{:#}", a.body);
    validate_r4(&a.body).unwrap_or_else(|e| panic!("AuditEvent Bundle is not R4: {e:#?}"));
    a.body["entry"]
        .as_array()
        .map(|e| e.iter().map(|e| e["resource"].clone()).collect())
        .unwrap_or_default()
}

fn subtype(e: &Value) -> &str {
    e["subtype"][0]["code"].as_str().unwrap_or("")
}

fn agent(e: &Value) -> &str {
    e["agent"][0]["who"]["identifier"]["value"]
        .as_str()
        .unwrap_or("")
}

#[test]
fn writes_reads_and_refusals_are_audited() {
    for app in apps() {
        hospital_a(&app);
        // The mapping import and the approval: by their curators, for hospital A.
        let imports = events(&app, "subtype=mappings&site=hosp-a");
        assert_eq!(imports.len(), 2, "{imports:#?}");
        assert_eq!(agent(&imports[0]), "c2", "newest first: the approval");
        assert_eq!(imports[0]["action"], "U");
        assert_eq!(agent(&imports[1]), "c1");
        assert_eq!(imports[1]["action"], "C");
        assert!(
            imports[1]["agent"][0]["name"]
                .as_str()
                .unwrap()
                .starts_with("POST /api/hospitals/hosp-a/mappings/import"),
            "{:#}",
            imports[1]
        );
        assert_eq!(imports[1]["agent"][0]["network"]["address"], "127.0.0.1");

        // Results from the LIS: one event, with the patient and each stored version.
        let ack = post_hl7(&app, &oru("AUD1", "F", "113.5"));
        assert_eq!(msa(&ack)[1], "AA", "{ack}");
        let writes = events(&app, "subtype=results");
        assert_eq!(writes.len(), 1, "{writes:#?}");
        let w = &writes[0];
        assert_eq!((agent(w), w["action"].as_str()), ("lis", Some("C")));
        assert_eq!(w["source"]["site"], "hosp-a");
        let text = w.to_string();
        assert!(text.contains("420106198001011234"), "{w:#}");
        assert!(text.contains("/_history/1"), "{w:#}");

        // A clinician of another hospital reads the patient's results: a search, then a read.
        let dr = token_for(TEST_SECRET, "dr-li", "clinician", Some("hosp-b"), 3600);
        let found = app.observations(&format!("subject:identifier={}", enc(NATIONAL_ID)), &dr);
        assert!(found.len() >= 3, "{found:#?}");
        let id = found[0]["id"].as_str().unwrap().to_owned();
        let a = app.get_as(&format!("/fhir/Observation/{id}"), Some(&dr));
        assert_eq!(a.status, 200);
        let reads = events(&app, "agent=dr-li");
        assert_eq!(reads.len(), 2, "{reads:#?}");
        assert_eq!(
            (subtype(&reads[0]), reads[0]["action"].as_str()),
            ("read", Some("R"))
        );
        assert_eq!(
            (subtype(&reads[1]), reads[1]["action"].as_str()),
            ("search", Some("E"))
        );
        assert_eq!(reads[1]["outcome"], "0");
        assert!(reads[1].to_string().contains("420106198001011234"));
        // Who saw this patient? The patient's identifier finds the reads and the write.
        let about = events(&app, "patient=420106198001011234");
        assert!(about.len() >= 3, "{about:#?}");
        // Who touched this result? Its id finds the write (its version) and the read.
        let touched = events(&app, &format!("entity=Observation/{id}"));
        let kinds: Vec<&str> = touched.iter().map(subtype).collect();
        assert!(
            kinds.contains(&"results") && kinds.contains(&"read"),
            "{kinds:?}"
        );

        // Refused: a curator of B at A's mappings, a token-less read, a bad Bundle. Each is
        // recorded as a failure, and the Bundle's write is not (nothing was written).
        let b = token_for(TEST_SECRET, "c-b", "curator", Some("hosp-b"), 3600);
        let a = app.post_as(
            "/api/hospitals/hosp-a/mappings/import",
            &b,
            "text/csv",
            b"local_code,local_name\nX,x\n",
        );
        assert_eq!(a.status, 403);
        let a = app.get_as(&format!("/fhir/Observation/{id}"), None);
        assert_eq!(a.status, 401);
        let bad = r#"{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Observation","status":"final"},"request":{"method":"POST","url":"Observation"}}]}"#;
        let lis = token_for(TEST_SECRET, "lis", "system", Some("hosp-a"), 3600);
        let a = app.post_as("/fhir", &lis, "application/fhir+json", bad.as_bytes());
        assert_eq!(a.status, 400, "{:#}", a.body);
        let failed = events(&app, "outcome=4");
        let who: Vec<(&str, &str)> = failed
            .iter()
            .map(|e| (agent(e), e["agent"][0]["name"].as_str().unwrap_or("")))
            .collect();
        assert!(
            who.iter()
                .any(|(a, r)| *a == "c-b" && r.contains("/mappings/import")),
            "{who:?}"
        );
        assert!(
            who.iter()
                .any(|(a, r)| *a == "anonymous" && r.contains(&id)),
            "{who:?}"
        );
        assert!(
            who.iter().any(|(a, r)| *a == "lis" && *r == "POST /fhir"),
            "{who:?}"
        );
        assert_eq!(events(&app, "subtype=results").len(), 1);

        // Only admins read the trail; a bad parameter is named.
        app.get_as("/fhir/AuditEvent", Some(&dr))
            .outcome(403, "forbidden");
        let a = app.get_as("/fhir/AuditEvent?action=X", Some(&token("admin", None)));
        a.outcome(400, "invalid");
        assert!(a.body.to_string().contains("action"), "{:#}", a.body);
    }
}

/// `GET /api/integrity` as an admin.
fn integrity(app: &TestApp) -> Value {
    let a = app.get_as("/api/integrity", Some(&token("admin", None)));
    assert_eq!(a.status, 200, "{:#}", a.body);
    a.body
}

fn chain<'a>(report: &'a Value, hospital: &str) -> &'a Value {
    report["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["hospital"] == hospital)
        .unwrap_or_else(|| panic!("no chain of {hospital}: {report:#}"))
}

/// `huren verify` on the app's database: exit code and output.
fn verify_cli(app: &TestApp) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_huren"))
        .args(["verify", "--db", app.db.url()])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn rows_edited_behind_hurens_back_are_found() {
    for app in apps() {
        hospital_a(&app);
        let ack = post_hl7(&app, &oru("TAMPER1", "F", "113.5"));
        assert_eq!(msa(&ack)[1], "AA", "{ack}");
        // A correction: version 2 of each result, version 1 in the history.
        let ack = post_hl7(&app, &oru("TAMPER2", "C", "120.0"));
        assert_eq!(msa(&ack)[1], "AA", "{ack}");
        let report = integrity(&app);
        assert_eq!(report["intact"], true, "{report:#}");
        let a = chain(&report, "hosp-a");
        // Mapping changes (import, approval) and result versions (created, corrected).
        assert!(a["links"].as_i64().unwrap() > 20, "{a:#}");
        let head = a["head"].as_str().unwrap().to_owned();
        assert_eq!(head.len(), 64);
        let (code, out) = verify_cli(&app);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains(&head), "{out}");

        // A forged value in a stored result: the current version's stored content (packed)
        // replaced by the earlier version's, so it says 100 mg/dL again instead of 120.
        app.db.execute(
            "CREATE TABLE tamper_saved AS SELECT id, body FROM observations WHERE local_code = '016'",
        );
        app.db.execute(
            "UPDATE observations SET body = (SELECT h.body FROM observation_history h \
             WHERE h.observation_id = observations.id AND h.version_id = 1) \
             WHERE local_code = '016'",
        );
        let report = integrity(&app);
        assert_eq!(report["intact"], false, "{report:#}");
        let broken = &chain(&report, "hosp-a")["broken"];
        assert!(
            broken["item"].as_str().unwrap().starts_with("Observation/"),
            "{broken:#}"
        );
        assert!(
            broken["item"].as_str().unwrap().ends_with("/_history/2"),
            "{broken:#}"
        );
        assert!(
            broken["problem"].as_str().unwrap().contains("changed"),
            "{broken:#}"
        );
        let (code, out) = verify_cli(&app);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("BROKEN"), "{out}");
        app.db.execute(
            "UPDATE observations SET body = (SELECT t.body FROM tamper_saved t \
             WHERE t.id = observations.id) WHERE local_code = '016'",
        );
        assert_eq!(integrity(&app)["intact"], true);

        // An earlier version rewritten in the history.
        app.db.execute(
            "UPDATE observation_history SET status = 'entered-in-error' WHERE version_id = 1",
        );
        let broken = chain(&integrity(&app), "hosp-a")["broken"].clone();
        assert!(
            broken["item"].as_str().unwrap().ends_with("/_history/1"),
            "{broken:#}"
        );
        app.db
            .execute("UPDATE observation_history SET status = 'final' WHERE version_id = 1");
        assert_eq!(integrity(&app)["intact"], true);

        // A mapping pointed elsewhere without a history entry.
        app.db
            .execute("UPDATE mappings SET national_code = '9000002-7' WHERE local_code = '016'");
        let broken = chain(&integrity(&app), "hosp-a")["broken"].clone();
        assert_eq!(broken["item"], "Mapping/hosp-a/016", "{broken:#}");
        assert!(
            broken["problem"].as_str().unwrap().contains("differs"),
            "{broken:#}"
        );

        // A link of the chain deleted: the chain jumps over it.
        app.db
            .execute("DELETE FROM chain_links WHERE hospital_id = 'hosp-a' AND seq = 3");
        let broken = chain(&integrity(&app), "hosp-a")["broken"].clone();
        assert_eq!(broken["seq"], 3, "{broken:#}");
        assert!(
            broken["problem"].as_str().unwrap().contains("missing"),
            "{broken:#}"
        );
    }
}
