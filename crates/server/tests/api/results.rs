//! Lab results in (HL7 v2, FHIR, CSV) and out (Observation read, search, history), the
//! unmapped queue and the release of held results.

use crate::helpers::{Answer, TestApp, apps, enc, national_of, spawn_app};
use huren_testkit::fhir_schema::{examples_dir, validate_r4};
use huren_testkit::{TEST_SECRET, TestDb, repo_root, token_for};
use serde_json::Value;

fn system(h: &str) -> String {
    token_for(TEST_SECRET, "lis", "system", Some(h), 3600)
}

fn curator(h: &str, sub: &str) -> String {
    token_for(TEST_SECRET, sub, "curator", Some(h), 3600)
}

fn clinician() -> String {
    token_for(TEST_SECRET, "dr-wang", "clinician", Some("hosp-b"), 3600)
}

/// Hospital A with its example mapping table, approved by a second curator.
pub(crate) fn hospital_a(app: &TestApp) {
    app.create_example_hospitals();
    let csv = std::fs::read(repo_root().join("mappings/hosp-a-zh.csv")).unwrap();
    let a = app.post_as(
        "/api/hospitals/hosp-a/mappings/import",
        &curator("hosp-a", "c1"),
        "text/csv",
        &csv,
    );
    assert_eq!(a.status, 200, "{:#}", a.body);
    let a = app.post_as(
        "/api/hospitals/hosp-a/mappings/approve",
        &curator("hosp-a", "c2"),
        "application/json",
        b"{}",
    );
    assert_eq!(a.status, 200, "{:#}", a.body);
}

pub(crate) const NATIONAL_ID: &str = "urn:huren:id:national-patient|420106198001011234";

/// An ORU^R01 as hospital A's LIS writes it: local codes, mg/dL, an unmapped code.
pub(crate) fn oru(control: &str, status: &str, glucose: &str) -> String {
    [
        &format!("MSH|^~\\&|LIS|HOSP-A-LIS|HUREN|HUREN|202611200930||ORU^R01^ORU_R01|{control}|P|2.5.1|||AL|NE||UNICODE UTF-8"),
        "PID|1||MRN-0001^^^HOSPA^MR~420106198001011234^^^CHN^NI||王^伟||19800101|M",
        "OBR|1|ORD1^HIS|LAB1^LIS|CHEM^生化^L|||202611200745",
        &format!("OBX|1|NM|016^葡萄糖^L||{glucose}|mg/dl|70-110||||{status}|||202611200812"),
        &format!("OBX|2|NM|014^肌酐^L||1.20|mg/dl|0.6-1.1|H|||{status}|||202611200812"),
        &format!("OBX|3|NM|021^钾^L||4.1|mEq/L|3.5-5.3||||{status}|||202611200812"),
        &format!("OBX|4|NM|099^淀粉酶^L||80|U/L|35-135||||{status}|||202611200812"),
    ]
    .join("\r")
}

pub(crate) fn msa(ack: &str) -> Vec<String> {
    ack.split(['\r', '\n'])
        .find(|s| s.starts_with("MSA|"))
        .unwrap_or_else(|| panic!("no MSA in {ack:?}"))
        .split('|')
        .map(str::to_owned)
        .collect()
}

pub(crate) fn post_hl7(app: &TestApp, message: &str) -> String {
    let resp = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
        .post(&app.url("/hl7v2"))
        .header("Authorization", &format!("Bearer {}", system("hosp-a")))
        .header("Content-Type", "x-application/hl7-v2+er7")
        .send(message.as_bytes())
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.into_body().read_to_string().unwrap()
}

fn search(app: &TestApp, query: &str) -> Vec<Value> {
    app.observations(query, &clinician())
}

fn coding<'a>(o: &'a Value, system: &str) -> Option<&'a Value> {
    o["code"]["coding"]
        .as_array()?
        .iter()
        .find(|c| c["system"] == system)
}

fn national_system(app: &TestApp) -> String {
    let a = app.get("/fhir/CodeSystem?_summary=true");
    a.body["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["url"].as_str().unwrap().to_owned())
        .find(|u| u != "http://loinc.org")
        .unwrap()
}

#[test]
fn hl7_results_are_normalized_held_released_and_corrected() {
    for app in apps() {
        hospital_a(&app);
        let ack = post_hl7(&app, &oru("MSG0001", "F", "100"));
        let m = msa(&ack);
        assert_eq!((m[1].as_str(), m[2].as_str()), ("AA", "MSG0001"), "{ack}");
        // The unmapped code is named in a warning ERR.
        assert!(ack.contains("099"), "{ack}");

        let found = search(&app, &format!("subject:identifier={}", enc(NATIONAL_ID)));
        assert_eq!(found.len(), 3, "{found:#?}");
        let glucose_code = national_of("14749-6");
        let glucose = found
            .iter()
            .find(|o| coding(o, &national_system(&app)).unwrap()["code"] == glucose_code.as_str())
            .expect("glucose under the molar national code");
        assert_eq!(glucose["valueQuantity"]["value"].to_string(), "5.551");
        assert_eq!(glucose["valueQuantity"]["code"], "mmol/L");
        assert_eq!(
            coding(glucose, "http://loinc.org").unwrap()["code"],
            "14749-6"
        );
        let local = coding(
            glucose,
            &format!("{}/CodeSystem/local/hosp-a", app_base(&app)),
        );
        assert_eq!(local.unwrap()["code"], "016");
        let ext = glucose["extension"].to_string();
        assert!(ext.contains("100") && ext.contains("mg/dl"), "{ext}");
        assert_eq!(glucose["referenceRange"][0]["text"], "70-110");
        assert_eq!(glucose["status"], "final");
        assert_eq!(glucose["effectiveDateTime"], "2026-11-20T08:12:00+08:00");

        let creatinine = found
            .iter()
            .find(|o| coding(o, "http://loinc.org").unwrap()["code"] == "14682-9")
            .expect("creatinine in umol/L");
        assert_eq!(creatinine["valueQuantity"]["code"], "umol/L");
        assert_eq!(creatinine["interpretation"][0]["coding"][0]["code"], "H");
        let potassium = found
            .iter()
            .find(|o| coding(o, "http://loinc.org").unwrap()["code"] == "2823-3")
            .unwrap();
        assert_eq!(potassium["valueQuantity"]["value"].to_string(), "4.1");

        // The unmapped code waits in the queue with a count and suggestions.
        let q = app.get_as(
            "/api/hospitals/hosp-a/unmapped",
            Some(&curator("hosp-a", "c1")),
        );
        assert_eq!(q.status, 200, "{:#}", q.body);
        let item = &q.body["unmapped"][0];
        assert_eq!(
            (item["local_code"].as_str(), item["count"].as_i64()),
            (Some("099"), Some(1))
        );
        assert!(item["suggestions"].is_array());
        // Another hospital's curator cannot see it.
        let q = app.get_as(
            "/api/hospitals/hosp-a/unmapped",
            Some(&curator("hosp-b", "x")),
        );
        assert_eq!(q.status, 403);

        // The same message again stores nothing new.
        post_hl7(&app, &oru("MSG0002", "F", "100"));
        assert_eq!(
            search(&app, &format!("patient:identifier={}", enc(NATIONAL_ID))).len(),
            3
        );

        // A curator maps the code; the held result becomes visible.
        let amylase = national_of("1798-8");
        let csv = format!("local_code,local_name,unit,national_code\n099,淀粉酶,U/L,{amylase}\n");
        let a = app.post_as(
            "/api/hospitals/hosp-a/mappings/import",
            &curator("hosp-a", "c1"),
            "text/csv",
            csv.as_bytes(),
        );
        assert_eq!(a.status, 200, "{:#}", a.body);
        let a = app.post_as(
            "/api/hospitals/hosp-a/mappings/099/approve",
            &curator("hosp-a", "c2"),
            "application/json",
            b"",
        );
        assert_eq!(a.status, 200, "{:#}", a.body);
        assert_eq!(a.body["released_results"], 1, "{:#}", a.body);
        assert_eq!(
            search(&app, &format!("subject:identifier={}", enc(NATIONAL_ID))).len(),
            4
        );
        let q = app.get_as(
            "/api/hospitals/hosp-a/unmapped",
            Some(&curator("hosp-a", "c1")),
        );
        assert_eq!(q.body["unmapped"].as_array().unwrap().len(), 0);

        // A correction replaces the result and keeps the first version in the history.
        let ack = post_hl7(&app, &oru("MSG0003", "C", "126"));
        assert_eq!(msa(&ack)[1], "AA", "{ack}");
        let found = search(
            &app,
            &format!(
                "subject:identifier={}&code={}",
                enc(NATIONAL_ID),
                enc(&glucose_code)
            ),
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["status"], "corrected");
        assert_eq!(found[0]["valueQuantity"]["value"].to_string(), "6.994");
        assert_eq!(found[0]["meta"]["versionId"], "2");
        let id = found[0]["id"].as_str().unwrap();
        let h = app.get_as(
            &format!("/fhir/Observation/{id}/_history"),
            Some(&clinician()),
        );
        assert_eq!(h.body["type"], "history");
        assert_eq!(h.body["total"], 2);
        let v1 = app.get_as(
            &format!("/fhir/Observation/{id}/_history/1"),
            Some(&clinician()),
        );
        assert_eq!(v1.body["valueQuantity"]["value"].to_string(), "5.551");
        assert_eq!(v1.body["status"], "final");
        // Local codes and LOINC codes find the same result.
        assert_eq!(search(&app, "code=016").len(), 1);
        assert_eq!(
            search(&app, "code=http%3A%2F%2Floinc.org%7C14749-6").len(),
            1
        );
    }
}

fn raw_get(app: &TestApp, path: &str) -> String {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
        .get(&app.url(path))
        .header("Authorization", &format!("Bearer {}", clinician()))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap()
}

fn app_base(app: &TestApp) -> String {
    let cs = national_system(app);
    cs.rsplit_once("/CodeSystem/").unwrap().0.to_owned()
}

#[test]
fn bad_hl7_gets_an_error_ack_and_nothing_half_written() {
    let app = spawn_app(TestDb::sqlite());
    hospital_a(&app);
    // No OBX at all.
    let ack = post_hl7(
        &app,
        "MSH|^~\\&|LIS|HOSP-A-LIS|HUREN|HUREN|202611200930||ORU^R01^ORU_R01|BAD1|P|2.5.1\rPID|1||MRN-9^^^HOSPA^MR\rOBR|1|O^H|L^L",
    );
    let m = msa(&ack);
    assert_eq!((m[1].as_str(), m[2].as_str()), ("AE", "BAD1"), "{ack}");
    assert!(ack.contains("ERR|") && ack.contains("no OBX"), "{ack}");
    // A bad status on one OBX: AE naming OBX-11, the other result is kept.
    let msg = [
        "MSH|^~\\&|LIS|HOSP-A-LIS|HUREN|HUREN|202611200930||ORU^R01^ORU_R01|BAD2|P|2.5.1",
        "PID|1||MRN-9^^^HOSPA^MR||x||19900101|F",
        "OBR|1|O2^H|L2^L",
        "OBX|1|NM|021^钾^L||4.0|mEq/L|||||F|||202611200812",
        "OBX|2|NM|022^钠^L||140|mEq/L|||||Z|||202611200812",
    ]
    .join("\r\n");
    let ack = post_hl7(&app, &msg);
    assert_eq!(msa(&ack)[1], "AE", "{ack}");
    assert!(ack.contains("OBX^2^11"), "{ack}");
    let hospital_system = format!("{}/hospital/hosp-a/patient|MRN-9", app_base(&app));
    assert_eq!(
        search(
            &app,
            &format!("subject:identifier={}", enc(&hospital_system))
        )
        .len(),
        1
    );
    // Not HL7 at all.
    let ack = post_hl7(&app, "hello");
    assert_eq!(msa(&ack)[1], "AR", "{ack}");
}

fn observation(code_system: &str, code: &str, value: &str, id: &str) -> String {
    format!(
        r#"{{"resourceType":"Observation","identifier":[{{"system":"urn:lis:hosp-a","value":"{id}"}}],
        "status":"final","category":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}}]}}],
        "code":{{"coding":[{{"system":"{code_system}","code":"{code}"}}]}},
        "subject":{{"identifier":{{"system":"urn:huren:id:national-patient","value":"420106198001011234"}}}},
        "effectiveDateTime":"2026-11-20T08:12:00+08:00",
        "valueQuantity":{{"value":{value},"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}}}"#
    )
}

#[test]
fn fhir_observations_and_bundles() {
    let app = spawn_app(TestDb::sqlite());
    hospital_a(&app);
    let lis = system("hosp-a");
    // One Observation in LOINC: precision kept.
    let a = app.post_as(
        "/fhir/Observation",
        &lis,
        "application/fhir+json",
        observation("http://loinc.org", "2823-3", "4.10", "k-1").as_bytes(),
    );
    assert_eq!(a.status, 201, "{:#}", a.body);
    validate_r4(&a.body).unwrap();
    let id = a.body["id"].as_str().unwrap().to_owned();
    let again = app.post_as(
        "/fhir/Observation",
        &lis,
        "application/fhir+json",
        observation("http://loinc.org", "2823-3", "4.10", "k-1").as_bytes(),
    );
    assert_eq!(again.status, 200, "the same result twice is stored once");
    assert_eq!(again.body["id"], id.as_str());
    // The digits sent are kept byte for byte (a JSON parser would print 4.1).
    let raw = raw_get(&app, &format!("/fhir/Observation/{id}"));
    assert!(raw.contains(r#""value":4.10"#), "{raw}");

    // Malformed values are refused with their location, never stored without a value.
    for (body, location) in [
        (
            observation("http://loinc.org", "2823-3", r#""six""#, "k-2"),
            "Observation.valueQuantity.value",
        ),
        (
            observation("http://loinc.org", "2823-3", "4.1", "k-3")
                .replace("08:12:00+08:00", "08:12"),
            "Observation.effectiveDateTime",
        ),
    ] {
        let a = app.post_as(
            "/fhir/Observation",
            &lis,
            "application/fhir+json",
            body.as_bytes(),
        );
        let diag = a.outcome(400, "invalid");
        assert!(
            a.body.to_string().contains(location),
            "{location}: {diag} {:#}",
            a.body
        );
    }
    // Only systems send results.
    let a = app.post_as(
        "/fhir/Observation",
        &clinician(),
        "application/fhir+json",
        observation("http://loinc.org", "2823-3", "4.1", "k-4").as_bytes(),
    );
    a.outcome(403, "forbidden");

    // A batch with one broken entry: the others are stored, the broken one answers 400.
    let local = format!("{}/CodeSystem/local/hosp-a", app_base(&app));
    let entries = [
        observation(&local, "021", "4.2", "b-1"),
        observation("http://loinc.org", "2823-3", r#""bad""#, "b-2"),
        observation(&local, "XYZ", "1.0", "b-3"),
    ];
    let bundle = |kind: &str| {
        let entries: Vec<String> = entries
            .iter()
            .map(|e| {
                format!(r#"{{"resource":{e},"request":{{"method":"POST","url":"Observation"}}}}"#)
            })
            .collect();
        format!(
            r#"{{"resourceType":"Bundle","type":"{kind}","entry":[{}]}}"#,
            entries.join(",")
        )
    };
    let a = app.post_as(
        "/fhir",
        &lis,
        "application/fhir+json",
        bundle("transaction").as_bytes(),
    );
    a.outcome(400, "invalid");
    assert!(
        a.body.to_string().contains("Bundle.entry[1]"),
        "{:#}",
        a.body
    );
    assert_eq!(
        search(&app, "code=021").len(),
        0,
        "a failed transaction writes nothing"
    );
    let a = app.post_as(
        "/fhir",
        &lis,
        "application/fhir+json",
        bundle("batch").as_bytes(),
    );
    assert_eq!(a.status, 200, "{:#}", a.body);
    assert_eq!(a.body["type"], "batch-response");
    let statuses: Vec<&str> = a.body["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["response"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["201 Created", "400 Bad Request", "202 Accepted"]);
    assert!(
        a.body["entry"][1]["response"]["outcome"]
            .to_string()
            .contains("valueQuantity.value")
    );
    assert_eq!(search(&app, "code=021").len(), 1);
}

#[test]
fn official_r4_example_bundles_are_taken_and_every_result_validates() {
    let app = spawn_app(TestDb::sqlite());
    app.create_example_hospitals();
    let lis = system("hosp-b");
    let mut visible = 0;
    for name in [
        "Bundle-lipids.json",
        "Bundle-101.json",
        "Bundle-ghp.json",
        "Bundle-report.json",
    ] {
        let body = std::fs::read(examples_dir().join(name)).unwrap();
        let a = app.post_as("/fhir", &lis, "application/fhir+json", &body);
        assert_eq!(a.status, 200, "{name}: {:#}", a.body);
        for e in a.body["entry"].as_array().unwrap() {
            let status = e["response"]["status"].as_str().unwrap();
            assert!(
                ["201 Created", "200 OK", "202 Accepted"].contains(&status),
                "{name}: {e:#}"
            );
            if status == "201 Created" {
                visible += 1;
                let loc = e["response"]["location"].as_str().unwrap();
                let o = app.get_as(&format!("/fhir/{loc}"), Some(&clinician()));
                assert_eq!(o.status, 200, "{loc}");
                validate_r4(&o.body).unwrap_or_else(|e| panic!("{name} {loc}: {e:#?}"));
            }
        }
    }
    assert!(visible > 0, "some example results map to national codes");
}

#[test]
fn csv_batches_report_by_line_and_write_all_or_nothing() {
    let app = spawn_app(TestDb::sqlite());
    hospital_a(&app);
    let lis = system("hosp-a");
    let good = "result_id,patient_id,patient_sex,patient_birth_date,local_code,local_name,value,unit,ref_range,flag,status,collected_at,reported_at,lab_id,specimen\n\
                R1,MRN-7,M,1980-01-01,016,葡萄糖,100,mg/dl,70-110,,F,2026-11-20 08:12,2026-11-20 09:30,LAB-A,血浆\n\
                R2,MRN-7,M,1980-01-01,099,淀粉酶,80,U/L,35-135,,F,2026-11-20 08:12,2026-11-20 09:30,LAB-A,血清\n";
    let a = app.post_as("/api/results/import", &lis, "text/csv", good.as_bytes());
    assert_eq!(a.status, 200, "{:#}", a.body);
    assert_eq!(
        (a.body["rows"].as_i64(), a.body["created"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(a.body["held"], 1);
    let a = app.post_as("/api/results/import", &lis, "text/csv", good.as_bytes());
    assert_eq!(a.body["unchanged"], 2, "{:#}", a.body);

    let bad = good
        .replace("R1,MRN-7", "R3,MRN-8")
        .replace(
            "2026-11-20 08:12,2026-11-20 09:30,LAB-A,血清",
            "2026-13-20 08:12,2026-11-20 09:30,LAB-A,血清",
        )
        .replace("R2,", "R4,");
    let a = app.post_as("/api/results/import", &lis, "text/csv", bad.as_bytes());
    let diag = a.body.to_string();
    a.outcome(422, "invalid");
    assert!(
        diag.contains("line 3") && diag.contains("collected_at"),
        "{diag}"
    );
    let mrn8 = format!("{}/hospital/hosp-a/patient|MRN-8", app_base(&app));
    assert!(
        search(&app, &format!("subject:identifier={}", enc(&mrn8))).is_empty(),
        "a file with a bad row writes nothing"
    );
}

#[test]
fn search_needs_a_patient_or_code_and_pages() {
    let app = spawn_app(TestDb::sqlite());
    hospital_a(&app);
    let lis = system("hosp-a");
    for i in 0..5 {
        let body = observation(
            "http://loinc.org",
            "2823-3",
            &format!("4.{i}"),
            &format!("p-{i}"),
        )
        .replace("08:12:00", &format!("08:1{i}:00"));
        let a = app.post_as(
            "/fhir/Observation",
            &lis,
            "application/fhir+json",
            body.as_bytes(),
        );
        assert_eq!(a.status, 201, "{:#}", a.body);
    }
    let a: Answer = app.get_as("/fhir/Observation", Some(&clinician()));
    a.outcome(400, "invalid");
    let a = app.get_as("/fhir/Observation?foo=1", Some(&clinician()));
    a.outcome(400, "invalid");
    let a = app.get_as(
        "/fhir/Observation?code=2823-3&date=ge2026-99-01",
        Some(&clinician()),
    );
    a.outcome(400, "invalid");
    let q = format!("subject:identifier={}&_count=2", enc(NATIONAL_ID));
    let a = app.get_as(&format!("/fhir/Observation?{q}"), Some(&clinician()));
    assert_eq!(a.body["entry"].as_array().unwrap().len(), 2);
    assert_eq!(
        a.body["entry"][0]["resource"]["valueQuantity"]["value"].to_string(),
        "4.4"
    );
    let next = a.body["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = &next[next.find("/Observation").unwrap()..];
    let b = app.get_as(&format!("/fhir{path}"), Some(&clinician()));
    assert_eq!(
        b.body["entry"][0]["resource"]["valueQuantity"]["value"].to_string(),
        "4.2"
    );
    let dated = search(
        &app,
        "code=2823-3&date=ge2026-11-20T08:11:00%2B08:00&date=le2026-11-20T08:13:00%2B08:00",
    );
    assert_eq!(dated.len(), 3);
    assert_eq!(search(&app, "code=2823-3&date=2026-11-20").len(), 5);
    assert_eq!(search(&app, "code=2823-3&date=2026-11-21").len(), 0);
}
