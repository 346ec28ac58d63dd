//! A corpus of malformed and hostile inputs walked against the running server: truncated JSON,
//! a wrong resourceType, a 1 MB single field, invalid UTF-8, GBK sent as UTF-8, HL7 v2 cut short
//! or wrapped in MLLP framing without its end block, CSV garbage, SQL and script fragments in
//! names. Every answer is a 4xx with an `OperationOutcome` that says what is wrong (or, for HL7
//! v2, an ACK that refuses), never a 5xx; what is refused stores nothing, and what is merely odd
//! (SQL in a name) is stored as the text it is.

use crate::helpers::{TestApp, spawn_app};
use huren_testkit::{TestDb, token};

/// What a case must get.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// A 4xx with an `OperationOutcome` whose diagnostics mention this.
    Refused(u16, &'static str),
    /// An HL7 v2 ACK with `AR` or `AE`.
    Nack,
    /// Taken (2xx), the text kept as it was.
    Taken,
}

/// An Observation of potassium with `name` as its `code.text`.
fn observation_named(name: &str) -> Vec<u8> {
    observation(
        &format!(r#""text":{}"#, serde_json::to_string(name).unwrap()),
        "",
    )
}

/// An Observation of potassium whose LOINC coding has `name` as its display.
fn observation_displayed(name: &str) -> Vec<u8> {
    observation(
        "",
        &format!(r#","display":{}"#, serde_json::to_string(name).unwrap()),
    )
}

fn observation(text: &str, display: &str) -> Vec<u8> {
    let comma = if text.is_empty() { "" } else { "," };
    format!(
        r#"{{"resourceType":"Observation","status":"final","code":{{"coding":[{{"system":"http://loinc.org","code":"2823-3"{display}}}]{comma}{text}}},"subject":{{"identifier":{{"system":"urn:huren:id:national-patient","value":"420106198001011234"}}}},"effectiveDateTime":"2026-11-20T08:00:00+08:00","valueQuantity":{{"value":4.1,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}}}"#
    )
    .into_bytes()
}

fn cases() -> Vec<(&'static str, &'static str, &'static str, Vec<u8>, Expect)> {
    let fhir = "application/fhir+json";
    let csv = "text/csv";
    let v2 = "x-application/hl7-v2+er7";
    let big = "x".repeat(1024 * 1024);
    // `钾` (potassium) in GBK is BC D8: not UTF-8.
    let gbk = [
        &b"result_id,patient_id,local_code,local_name,value,unit,collected_at\nR1,P1,K,"[..],
        &[0xbc, 0xd8],
        &b",4.1,mmol/L,2026-11-20 08:00\n"[..],
    ]
    .concat();
    vec![
        (
            "truncated JSON",
            "/fhir",
            fhir,
            br#"{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Obs"#
                .to_vec(),
            Expect::Refused(400, "JSON"),
        ),
        (
            "a Patient where a Bundle belongs",
            "/fhir",
            fhir,
            br#"{"resourceType":"Patient","id":"p1"}"#.to_vec(),
            Expect::Refused(400, "Bundle"),
        ),
        (
            "a Bundle where an Observation belongs",
            "/fhir/Observation",
            fhir,
            br#"{"resourceType":"Bundle","type":"batch"}"#.to_vec(),
            Expect::Refused(400, "Observation"),
        ),
        (
            "JSON that is not an object",
            "/fhir/Observation",
            fhir,
            b"[1,2,3]".to_vec(),
            Expect::Refused(400, ""),
        ),
        (
            "a 1 MB name",
            "/fhir/Observation",
            fhir,
            observation_named(&big),
            Expect::Refused(400, "code.text"),
        ),
        (
            "invalid UTF-8 in JSON",
            "/fhir/Observation",
            fhir,
            [&b"{\"resourceType\":\"Observation\",\"status\":\"fi"[..], &[0xff, 0xfe, 0x80], &b"nal\"}"[..]]
                .concat(),
            Expect::Refused(400, "UTF-8"),
        ),
        (
            "an empty body",
            "/fhir",
            fhir,
            Vec::new(),
            Expect::Refused(400, ""),
        ),
        (
            "SQL in a name",
            "/fhir/Observation",
            fhir,
            observation_displayed("K'); DROP TABLE observations; --"),
            Expect::Taken,
        ),
        (
            "a script in a name",
            "/fhir/Observation",
            fhir,
            observation_displayed("<script>alert('x')</script>"),
            Expect::Taken,
        ),
        (
            "CSV garbage",
            "/api/results/import",
            csv,
            vec![0x00, 0x01, 0x02, 0xff, 0xfe, 0x00, 0x0a, 0x0d],
            Expect::Refused(400, ""),
        ),
        (
            "CSV without the required columns",
            "/api/results/import",
            csv,
            b"name,value\nK,4.1\n".to_vec(),
            Expect::Refused(422, "result_id"),
        ),
        (
            "GBK sent as if it were UTF-8 (read as GBK, not garbled)",
            "/api/results/import",
            "text/csv; charset=utf-8",
            gbk,
            Expect::Taken,
        ),
        (
            "HL7 v2 cut after MSH",
            "/hl7v2",
            v2,
            b"MSH|^~\\&|LIS|HOSP-A|HUREN|HUREN|20261120||ORU^R01|C1|P|2.5.1".to_vec(),
            Expect::Nack,
        ),
        (
            "HL7 v2 in MLLP framing without its end block",
            "/hl7v2",
            v2,
            b"\x0bMSH|^~\\&|LIS|HOSP-A|HUREN|HUREN|20261120||ORU^R01|C2|P|2.5.1\rPID|1||P1\rOBR|1|O1|L1|X\rOBX|1|NM|2823-3^K^LN||4.1|mmol/L|||||F"
                .to_vec(),
            Expect::Nack,
        ),
        (
            "not HL7 at all",
            "/hl7v2",
            v2,
            b"<html><body>hello</body></html>".to_vec(),
            Expect::Nack,
        ),
        (
            "binary in HL7",
            "/hl7v2",
            v2,
            vec![0xff; 300],
            Expect::Nack,
        ),
    ]
}

fn check(app: &TestApp) {
    let lis = token("system", Some("hosp-a"));
    for (name, path, content_type, body, expect) in cases() {
        let a = app.post_as(path, &lis, content_type, &body);
        assert!(a.status < 500, "{name}: {} {:#}", a.status, a.body);
        match expect {
            Expect::Refused(status, mentions) => {
                assert_eq!(a.status, status, "{name}: {:#}", a.body);
                assert_eq!(a.body["resourceType"], "OperationOutcome", "{name}");
                let said: String = a.body["issue"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|i| i["diagnostics"].as_str())
                    .collect::<Vec<_>>()
                    .join(" | ");
                assert!(!said.is_empty(), "{name}: no diagnostics");
                assert!(said.contains(mentions), "{name}: {said}");
            }
            Expect::Nack => {
                assert_eq!(a.status, 200, "{name}");
                let ack = a.body.as_str().unwrap_or_default();
                assert!(
                    ack.contains("MSA|AR|") || ack.contains("MSA|AE|"),
                    "{name}: {ack}"
                );
            }
            Expect::Taken => {
                assert!(matches!(a.status, 200 | 201), "{name}: {:#}", a.body);
            }
        }
    }
}

#[test]
fn malformed_and_hostile_inputs_get_a_precise_refusal_and_never_a_5xx() {
    for app in crate::helpers::apps() {
        app.create_example_hospitals();
        check(&app);
        // What was refused stored nothing; the names with SQL and a script are stored as text.
        let admin = token("admin", None);
        let stored = app.observations("code=http://loinc.org%7C2823-3", &admin);
        let mut names: Vec<&str> = stored
            .iter()
            .filter_map(|o| o["code"]["text"].as_str())
            .collect();
        names.dedup();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "<script>alert('x')</script>",
                "K'); DROP TABLE observations; --"
            ],
            "{stored:#?}"
        );
        // The GBK file was read as GBK: its unmapped local code is queued under its real name.
        let queue = app.get_as("/api/hospitals/hosp-a/unmapped", Some(&admin));
        assert_eq!(
            queue.body["unmapped"][0]["local_name"], "钾",
            "{:#}",
            queue.body
        );
    }
}

/// After the walk, the database still opens and migrates from another connection: nothing the
/// server refused left it half-written.
#[test]
fn after_the_corpus_the_database_still_opens() {
    let db = TestDb::sqlite();
    let url = db.url().to_owned();
    let app = spawn_app(db);
    app.create_example_hospitals();
    check(&app);
    let again = huren_store::Store::connect(&url).unwrap();
    assert!(again.migrate().is_ok());
}
