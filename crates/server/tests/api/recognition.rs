//! Mutual recognition end to end, on SQLite and PostgreSQL: hospital A (Wuhan) sends its EQA
//! and IQC data and then a report over HL7 v2; a clinician at hospital C (Yichang, the same
//! province) asks which of the patient's results may be recognized, and gets exactly those
//! that pass every rule; a clinician in Shanghai gets none. Dates are relative to today, so
//! that the tag written at ingest ("now") and the answers at `at` do not age.

use crate::helpers::{Answer, Http, TestApp, apps, spawn_app_with};
use huren_testkit::fhir_schema::validate_r4;
use huren_testkit::{TEST_SECRET, token, token_for};
use serde_json::Value;
use time::macros::{format_description, offset};
use time::{Date, Duration, OffsetDateTime};

const PATIENT: &str = "urn:huren:id:national-patient|420106198001011234";

fn clinician(h: &str) -> String {
    token_for(TEST_SECRET, &format!("dr-{h}"), "clinician", Some(h), 3600)
}

/// The analysis day: two days ago, China time.
pub(crate) fn collection_day() -> Date {
    (OffsetDateTime::now_utc().to_offset(offset!(+8)) - Duration::days(2)).date()
}

fn ymd(d: Date) -> String {
    d.format(format_description!("[year]-[month]-[day]"))
        .unwrap()
}

pub(crate) fn v2(d: Date, hhmm: &str) -> String {
    format!(
        "{}{hhmm}",
        d.format(format_description!("[year][month][day]")).unwrap()
    )
}

/// `at` as a query value: days after the analysis day, at 10:00 China time.
fn at(days: i64) -> String {
    format!(
        "{}T10:00:00%2B08:00",
        ymd(collection_day() + Duration::days(days))
    )
}

pub(crate) fn setup(app: &Http) {
    let admin = token("admin", None);
    for body in [
        r#"{"id":"hosp-a","name":"武汉示例人民医院","province":"420000","city":"420100","accreditation":"CNAS MT0001","accredited_until":"2029-12-31"}"#,
        r#"{"id":"hosp-c","name":"宜昌示例中心医院","province":"420000","city":"420500"}"#,
        r#"{"id":"hosp-b","name":"Shanghai Example International Clinic","province":"310000","city":"310100"}"#,
    ] {
        let a = app.post_as(
            "/api/hospitals",
            &admin,
            "application/json",
            body.as_bytes(),
        );
        assert!(matches!(a.status, 200 | 201), "{:#}", a.body);
    }
    let qc = token("qc", Some("hosp-a"));
    let today = collection_day() + Duration::days(2);
    let ago = |d: i64| ymd(today - Duration::days(d));
    // Satisfactory events for every item; calcium: two of the last three unsatisfactory.
    let mut eqa = String::from("loinc,program,event,event_date,samples,acceptable\n");
    for loinc in ["14749-6", "2823-3", "2951-2", "2075-0"] {
        eqa.push_str(&format!("{loinc},NCCL,E1,{},5,5\n", ago(250)));
        eqa.push_str(&format!("{loinc},NCCL,E2,{},5,4\n", ago(60)));
    }
    eqa.push_str(&format!("2000-8,NCCL,E1,{},5,3\n", ago(250)));
    eqa.push_str(&format!("2000-8,NCCL,E2,{},5,2\n", ago(150)));
    eqa.push_str(&format!("2000-8,NCCL,E3,{},5,5\n", ago(60)));
    let a = app.post_as("/api/labs/hosp-a/eqa", &qc, "text/csv", eqa.as_bytes());
    assert_eq!(a.status, 200, "{:#}", a.body);
    // Two levels on the analysis day and the day before, in control except chloride's level 1
    // on the analysis day (+3.5 SD: 1-3s).
    let mut iqc = String::from("loinc,run_at,control_level,value,target_mean,target_sd\n");
    for (days, hhmm) in [(1, "08:00"), (0, "08:00")] {
        let run = format!(
            "{}T{hhmm}:00+08:00",
            ymd(collection_day() - Duration::days(days))
        );
        for (loinc, mean, sd) in [
            ("14749-6", 5.5, 0.12),
            ("2823-3", 4.0, 0.08),
            ("2951-2", 140.0, 1.5),
            ("2075-0", 100.0, 1.2),
            ("2000-8", 2.3, 0.04),
        ] {
            let l1 = if loinc == "2075-0" && days == 0 {
                mean + 3.5 * sd
            } else {
                mean + 0.5 * sd
            };
            iqc.push_str(&format!("{loinc},{run},1,{l1},{mean},{sd}\n"));
            iqc.push_str(&format!(
                "{loinc},{run},2,{},{},{}\n",
                2.0 * mean - 0.3 * sd,
                2.0 * mean,
                2.0 * sd
            ));
        }
    }
    let a = app.post_as("/api/labs/hosp-a/iqc", &qc, "text/csv", iqc.as_bytes());
    assert_eq!(a.status, 200, "{:#}", a.body);
}

/// Hospital A's report: LOINC-coded, SI units, its reference intervals; one preliminary.
fn report() -> String {
    let day = collection_day();
    let (collected, analysed) = (v2(day, "0745"), v2(day, "0812"));
    let obx = |n: u32, code: &str, sub: &str, value: &str, range: &str, status: &str| {
        format!("OBX|{n}|NM|{code}^^LN|{sub}|{value}|mmol/L|{range}||||{status}|||{analysed}")
    };
    [
        format!("MSH|^~\\&|LIS|HOSP-A-LIS|HUREN|HUREN|{analysed}||ORU^R01^ORU_R01|REC1|P|2.5.1|||AL|NE||UNICODE UTF-8"),
        "PID|1||MRN-0001^^^HOSPA^MR~420106198001011234^^^CHN^NI||王^伟||19800101|M".to_owned(),
        format!("OBR|1|ORD9^HIS|LAB9^LIS|CHEM^生化^L|||{collected}"),
        obx(1, "14749-6", "", "5.2", "3.9-6.1", "F"),
        obx(2, "2823-3", "", "4.1", "3.5-5.3", "F"),
        obx(3, "2951-2", "", "140", "130-150", "F"),
        obx(4, "2075-0", "", "104", "99-110", "F"),
        obx(5, "2000-8", "", "2.30", "2.11-2.52", "F"),
        obx(6, "14749-6", "2", "5.4", "3.9-6.1", "P"),
    ]
    .join("\r")
}

pub(crate) fn send(app: &Http) {
    let system = token_for(TEST_SECRET, "lis", "system", Some("hosp-a"), 3600);
    let a = app.post_as(
        "/hl7v2",
        &system,
        "x-application/hl7-v2+er7",
        report().as_bytes(),
    );
    assert_eq!(a.status, 200);
}

/// The searchset's resources, each checked against the R4 schema.
fn resources(a: &Answer) -> Vec<Value> {
    assert_eq!(a.status, 200, "{:#}", a.body);
    let out: Vec<Value> = a.body["entry"]
        .as_array()
        .map(|e| e.iter().map(|e| e["resource"].clone()).collect())
        .unwrap_or_default();
    for o in &out {
        validate_r4(o).unwrap_or_else(|e| panic!("not R4: {e:#?}\n{o:#}"));
    }
    out
}

/// (LOINC code, status) of each Observation, sorted.
fn items(found: &[Value]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = found
        .iter()
        .map(|o| {
            let loinc = o["code"]["coding"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["system"] == "http://loinc.org")
                .map(|c| c["code"].as_str().unwrap().to_owned())
                .unwrap();
            (loinc, o["status"].as_str().unwrap().to_owned())
        })
        .collect();
    v.sort();
    v
}

fn recognizable(app: &TestApp, bearer: &str, wanted: bool, at_days: i64) -> Vec<(String, String)> {
    let q = format!(
        "/fhir/Observation?subject:identifier={}&recognizable={wanted}&at={}",
        PATIENT.replace('|', "%7C"),
        at(at_days)
    );
    items(&resources(&app.get_as(&q, Some(bearer))))
}

fn id_of(app: &TestApp, loinc: &str, status: &str) -> String {
    let q = format!(
        "/fhir/Observation?subject:identifier={}&code=http://loinc.org%7C{loinc}",
        PATIENT.replace('|', "%7C")
    );
    resources(&app.get_as(&q, Some(&clinician("hosp-c"))))
        .into_iter()
        .find(|o| o["status"] == status)
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no {loinc} {status}"))
}

/// The reason codes of a `$recognition` answer, with `recognizable`.
fn reasons(p: &Value) -> (bool, Vec<String>) {
    let params = p["parameter"].as_array().unwrap();
    let recognizable = params.iter().find(|x| x["name"] == "recognizable").unwrap()["valueBoolean"]
        .as_bool()
        .unwrap();
    let codes = params
        .iter()
        .filter(|x| x["name"] == "reason")
        .filter(|x| x["part"][1]["valueCode"] == "failure")
        .map(|x| {
            x["part"][0]["valueCoding"]["code"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    (recognizable, codes)
}

fn owned(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn a_clinician_elsewhere_gets_exactly_the_recognizable_results() {
    for app in apps() {
        setup(&app);
        send(&app);
        let c = clinician("hosp-c");

        // Five days after collection: glucose (30 days) and potassium (7 days) pass every rule;
        // sodium's interval is too far from the national one, chloride's IQC was rejected that
        // day, calcium's EQA is unsuccessful, the second glucose is preliminary.
        assert_eq!(
            recognizable(&app, &c, true, 5),
            owned(&[("14749-6", "final"), ("2823-3", "final")]),
            "{:?}",
            app.db
        );
        assert_eq!(
            recognizable(&app, &c, false, 5),
            owned(&[
                ("14749-6", "preliminary"),
                ("2000-8", "final"),
                ("2075-0", "final"),
                ("2951-2", "final"),
            ])
        );
        // Eight days after: potassium's window of 7 days is over.
        assert_eq!(
            recognizable(&app, &c, true, 8),
            owned(&[("14749-6", "final")])
        );
        // Shanghai is outside every scope of these items.
        assert!(recognizable(&app, &clinician("hosp-b"), true, 5).is_empty());

        // $recognition says why, rule by rule.
        let ask = |loinc: &str, status: &str, days: i64| {
            let id = id_of(&app, loinc, status);
            let a = app.get_as(
                &format!("/fhir/Observation/{id}/$recognition?at={}", at(days)),
                Some(&c),
            );
            assert_eq!(a.status, 200, "{:#}", a.body);
            validate_r4(&a.body).unwrap();
            a.body
        };
        let glucose = ask("14749-6", "final", 5);
        assert_eq!(reasons(&glucose), (true, vec![]));
        let param = |p: &Value, name: &str| {
            p["parameter"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["name"] == name)
                .cloned()
                .unwrap_or(Value::Null)
        };
        assert_eq!(param(&glucose, "mark")["valueString"], "鄂HR");
        assert_eq!(param(&glucose, "scope")["valueString"], "420000");
        let until = param(&glucose, "validUntil")["valueDateTime"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            until.starts_with(&ymd(collection_day() + Duration::days(30))),
            "{until}"
        );
        for (loinc, status, days, code) in [
            ("2823-3", "final", 8, "validity-expired"),
            ("2951-2", "final", 5, "interval-disagrees"),
            ("2075-0", "final", 5, "iqc-rejected"),
            ("2000-8", "final", 5, "eqa-unsuccessful"),
            ("14749-6", "preliminary", 5, "status-not-final"),
        ] {
            assert_eq!(
                reasons(&ask(loinc, status, days)),
                (false, vec![code.to_owned()]),
                "{loinc} {status}"
            );
        }

        // The stored Observation carries the verdict of ingest time for its own region.
        let id = id_of(&app, "14749-6", "final");
        let o = app.get_as(&format!("/fhir/Observation/{id}"), Some(&c));
        assert_eq!(o.body["meta"]["tag"][0]["code"], "HR", "{:#}", o.body);
        assert_eq!(o.body["meta"]["tag"][0]["display"], "鄂HR");
        let id = id_of(&app, "2075-0", "final");
        let o = app.get_as(&format!("/fhir/Observation/{id}"), Some(&c));
        assert_eq!(o.body["meta"]["tag"][0]["code"], "not-recognizable");
        let ext = o.body["extension"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| {
                e["url"]
                    .as_str()
                    .unwrap()
                    .ends_with("/StructureDefinition/recognition")
            })
            .unwrap()
            .clone();
        assert!(ext.to_string().contains("iqc-rejected"), "{ext:#}");

        // The clinician tests again anyway: an AuditEvent admins can find.
        let glucose_id = id_of(&app, "14749-6", "final");
        let body = r#"{"resourceType":"Parameters","parameter":[{"name":"reason","valueCode":"major-intervention"},{"name":"text","valueString":"术前复查"}]}"#;
        let a = app.post_as(
            &format!("/fhir/Observation/{glucose_id}/$retest"),
            &c,
            "application/fhir+json",
            body.as_bytes(),
        );
        assert_eq!(a.status, 201, "{:#}", a.body);
        validate_r4(&a.body).unwrap();
        let a = app.get_as(
            &format!("/fhir/AuditEvent?entity=Observation/{glucose_id}"),
            Some(&token("admin", None)),
        );
        assert_eq!(a.status, 200, "{:#}", a.body);
        validate_r4(&a.body).unwrap();
        let event = &a.body["entry"][0]["resource"];
        assert_eq!(
            event["purposeOfEvent"][0]["coding"][0]["code"],
            "major-intervention"
        );
        assert_eq!(event["purposeOfEvent"][0]["text"], "术前复查");
        assert_eq!(event["agent"][0]["who"]["identifier"]["value"], "dr-hosp-c");
        assert_eq!(event["source"]["site"], "hosp-c");
        // Not for clinicians; a bad reason is a 400 naming it.
        app.get_as("/fhir/AuditEvent", Some(&c))
            .outcome(403, "forbidden");
        let bad =
            r#"{"resourceType":"Parameters","parameter":[{"name":"reason","valueCode":"bored"}]}"#;
        let a = app.post_as(
            &format!("/fhir/Observation/{glucose_id}/$retest"),
            &c,
            "application/fhir+json",
            bad.as_bytes(),
        );
        a.outcome(400, "invalid");
        assert!(a.body.to_string().contains("reason"), "{:#}", a.body);
        let other =
            r#"{"resourceType":"Parameters","parameter":[{"name":"reason","valueCode":"other"}]}"#;
        let a = app.post_as(
            &format!("/fhir/Observation/{glucose_id}/$retest"),
            &c,
            "application/fhir+json",
            other.as_bytes(),
        );
        a.outcome(400, "invalid");
        assert!(a.body.to_string().contains("text"), "{:#}", a.body);

        // The lab manager's view: what of hospital A is recognizable today, and why not.
        let a = app.get_as(
            "/api/labs/hosp-a/recognition",
            Some(&token("qc", Some("hosp-a"))),
        );
        assert_eq!(a.status, 200, "{:#}", a.body);
        assert_eq!(a.body["accreditation"]["iso15189"], "CNAS MT0001");
        let item = |code: &str| {
            a.body["catalogue"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["code"] == code)
                .cloned()
                .unwrap_or_else(|| panic!("no {code} in {:#}", a.body))
        };
        assert_eq!(item("9000033-2")["recognizable"], true);
        assert_eq!(item("9000055-5")["recognizable"], false);
        assert_eq!(item("9000055-5")["eqa"]["unsuccessful_in"][0], "NCCL");
        let failures = |code: &str| -> Vec<String> {
            item(code)["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["severity"] == "failure")
                .map(|r| r["code"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(failures("9000053-0"), ["interval-disagrees"]);
        // No control data today is a warning, not a failure (the catalogue is not strict).
        assert_eq!(item("9000033-2")["iqc_today"]["status"], "no-data");
        assert!(
            item("9000033-2")["reasons"]
                .to_string()
                .contains("iqc-missing")
        );
        // An item without any EQA data says so.
        assert_eq!(failures("9000020-9"), ["eqa-missing"]);
        // Another hospital's people may not look.
        app.get_as("/api/labs/hosp-a/recognition", Some(&c))
            .outcome(403, "forbidden");
    }
}

#[test]
fn recognition_questions_need_a_patient_a_receiver_and_sane_values() {
    for app in apps() {
        setup(&app);
        let c = clinician("hosp-c");
        let patient = PATIENT.replace('|', "%7C");
        for (query, param) in [
            ("code=14749-6&recognizable=true".to_owned(), "recognizable"),
            (
                format!("subject:identifier={patient}&recognizable=maybe"),
                "recognizable",
            ),
            (
                format!("subject:identifier={patient}&recognizable=true&at=yesterday"),
                "at",
            ),
            (format!("subject:identifier={patient}&at={}", at(1)), "at"),
        ] {
            let a = app.get_as(&format!("/fhir/Observation?{query}"), Some(&c));
            a.outcome(400, "invalid");
            assert!(a.body.to_string().contains(param), "{query}: {:#}", a.body);
        }
        // A clinician asks for their own hospital only; an admin names one.
        let q = format!(
            "/fhir/Observation?subject:identifier={patient}&recognizable=true&receiver=hosp-b"
        );
        app.get_as(&q, Some(&c)).outcome(403, "forbidden");
        let a = app.get_as(&q, Some(&token("admin", None)));
        assert_eq!(a.status, 200, "{:#}", a.body);
        app.get_as("/fhir/Observation/nothing/$recognition", Some(&c))
            .outcome(404, "not-found");
    }
}

#[test]
fn the_eqa_thresholds_are_settings() {
    // At 100 %, glucose's latest event (4 of 5 acceptable) is unsatisfactory.
    for db in huren_testkit::TestDb::all() {
        let app = spawn_app_with(db, |s| s.eqa.pass_percent = 100);
        setup(&app);
        send(&app);
        let c = clinician("hosp-c");
        assert!(recognizable(&app, &c, true, 5).is_empty());
        let id = id_of(&app, "14749-6", "final");
        let a = app.get_as(
            &format!("/fhir/Observation/{id}/$recognition?at={}", at(5)),
            Some(&c),
        );
        assert_eq!(
            reasons(&a.body),
            (false, vec!["eqa-unsatisfactory".to_owned()])
        );
    }
}
