//! Hospitals, curators' mapping files, review, suggestions, and the hospital ConceptMaps.

use crate::helpers::{Answer, TestApp, apps, enc, national_of, spawn_app};
use huren_testkit::{TEST_SECRET, TestDb, repo_root, token, token_for};

fn example(name: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("mappings").join(name)).unwrap()
}

fn curator(h: &str, sub: &str) -> String {
    token_for(TEST_SECRET, sub, "curator", Some(h), 3600)
}

fn import(app: &TestApp, h: &str, query: &str, bearer: &str, csv: &[u8]) -> Answer {
    app.post_as(
        &format!("/api/hospitals/{h}/mappings/import{query}"),
        bearer,
        "text/csv",
        csv,
    )
}

#[test]
fn hospitals_are_created_listed_and_checked() {
    let app = spawn_app(TestDb::sqlite());
    let admin = token("admin", None);
    let body = br#"{"id":"hosp-a","name":"A","province":"420000","city":"420100","level":"x"}"#;
    let a = app.post_as("/api/hospitals", &admin, "application/json", body);
    assert_eq!(a.status, 201, "{:#}", a.body);
    let a = app.post_as("/api/hospitals", &admin, "application/json", body);
    assert_eq!(a.status, 200, "an update is not a creation");
    let a = app.get_as("/api/hospitals/hosp-a", Some(&admin));
    assert_eq!(a.body["city"], "420100");
    // Bad ids and fields name themselves; curators cannot create hospitals.
    for (json, field) in [
        (r#"{"id":"Hosp A","name":"A"}"#, "id"),
        (r#"{"id":"hosp-c","name":" "}"#, "name"),
        (r#"{"id":"hosp-c","name":"C","province":"42"}"#, "province"),
    ] {
        let a = app.post_as(
            "/api/hospitals",
            &admin,
            "application/json",
            json.as_bytes(),
        );
        let diag = a.outcome(400, "invalid");
        assert!(diag.contains(field), "{diag}");
    }
    let a = app.post_as("/api/hospitals", &admin, "application/json", b"{not json");
    a.outcome(400, "invalid");
    let a = app.post_as(
        "/api/hospitals",
        &curator("hosp-a", "c1"),
        "application/json",
        body,
    );
    a.outcome(403, "forbidden");
    // Everyone but an admin sees only their own hospital.
    app.post_as(
        "/api/hospitals",
        &admin,
        "application/json",
        br#"{"id":"hosp-b","name":"B"}"#,
    );
    let a = app.get_as("/api/hospitals", Some(&admin));
    assert_eq!(a.body["hospitals"].as_array().unwrap().len(), 2);
    let a = app.get_as("/api/hospitals", Some(&curator("hosp-a", "c1")));
    assert_eq!(a.body["hospitals"].as_array().unwrap().len(), 1);
    app.get_as("/api/hospitals/hosp-b", Some(&curator("hosp-a", "c1")))
        .outcome(403, "forbidden");
    app.get_as("/api/hospitals/hosp-z", Some(&admin))
        .outcome(404, "not-found");
}

#[test]
fn example_tables_import_idempotently_and_round_trip() {
    for app in apps() {
        app.create_example_hospitals();
        for (h, file, encoding) in [
            ("hosp-a", "hosp-a-zh.csv", "gb18030"),
            ("hosp-b", "hosp-b-en.csv", "utf-8"),
        ] {
            let bearer = curator(h, "curator-1");
            let csv = example(file);
            let dry = import(&app, h, "?dry_run=true", &bearer, &csv);
            assert_eq!(dry.status, 200, "{:#}", dry.body);
            assert_eq!(dry.body["written"], false);
            assert!(
                dry.body["encoding"]
                    .as_str()
                    .unwrap()
                    .to_lowercase()
                    .contains(encoding),
                "{:#}",
                dry.body
            );
            let listed = app.get_as(&format!("/api/hospitals/{h}/mappings"), Some(&bearer));
            assert_eq!(listed.body["total"], 0, "a dry run writes nothing");

            let first = import(&app, h, "", &bearer, &csv);
            assert_eq!(first.status, 200, "{:#}", first.body);
            let rows = first.body["rows"].as_u64().unwrap();
            assert!(rows >= 30);
            assert_eq!(first.body["created"].as_u64(), Some(rows));
            assert!(first.body["unmapped"].as_u64().unwrap() >= 2);
            let again = import(&app, h, "", &bearer, &csv);
            assert_eq!(
                again.body["unchanged"].as_u64(),
                Some(rows),
                "{:#}",
                again.body
            );
            assert_eq!(again.body["created"], 0);
            assert_eq!(again.body["updated"], 0);

            // The unmapped codes are kept and queued.
            let queue = app.get_as(
                &format!("/api/hospitals/{h}/mappings?unmapped=true"),
                Some(&bearer),
            );
            assert_eq!(queue.body["total"], first.body["unmapped"]);

            // Export → import changes nothing.
            let resp = ureq::get(&app.url(&format!("/api/hospitals/{h}/mappings/export")))
                .header("Authorization", &format!("Bearer {bearer}"))
                .call()
                .unwrap();
            let exported = resp.into_body().read_to_vec().unwrap();
            let back = import(&app, h, "", &bearer, &exported);
            assert_eq!(
                back.body["unchanged"].as_u64(),
                Some(rows),
                "{:#}",
                back.body
            );
        }
    }
}

#[test]
fn a_bad_file_reports_every_row_and_writes_nothing() {
    let app = spawn_app(TestDb::sqlite());
    app.create_example_hospitals();
    let glucose = national_of("14749-6");
    let bearer = curator("hosp-a", "c1");
    let csv = format!(
        "local_code,local_name,specimen,unit,national_code,loinc,ref_low,ref_high\n\
         001,葡萄糖,血清,mmol/L,{glucose},,3.9,6.1\n\
         002,葡萄糖2,血清,kg,{glucose},,,\n\
         003,未知,血清,mmol/L,9999999-7,,,\n\
         001,重复,血清,mmol/L,{glucose},,,\n\
         004,范围,血清,mmol/L,{glucose},,7,3\n\
         005,单位,血清,furlongs,{glucose},,,\n"
    );
    let a = import(&app, "hosp-a", "", &bearer, csv.as_bytes());
    assert_eq!(a.status, 422, "{:#}", a.body);
    assert_eq!(a.body["resourceType"], "OperationOutcome");
    let issues = a.body["issue"].as_array().unwrap();
    let lines: Vec<&str> = issues[1..]
        .iter()
        .map(|i| i["expression"][0].as_str().unwrap())
        .collect();
    for line in ["line 3", "line 4", "line 5", "line 6", "line 7"] {
        assert!(
            lines.iter().any(|l| l.starts_with(line)),
            "{line} missing from {lines:?}"
        );
    }
    assert!(issues.len() >= 6, "5 bad rows, each reported: {:#}", a.body);
    let listed = app.get_as("/api/hospitals/hosp-a/mappings", Some(&bearer));
    assert_eq!(listed.body["total"], 0, "nothing written");

    // A dry run of the same file answers the report with every problem.
    let dry = import(&app, "hosp-a", "?dry_run=true", &bearer, csv.as_bytes());
    assert_eq!(dry.status, 200);
    assert!(dry.body["problems"].as_array().unwrap().len() >= 5);
}

/// Imports a national release in which `code` is deprecated in favour of `by`, and waits
/// until the running service has picked it up.
fn deprecate(app: &TestApp, code: &str, by: &str) {
    let mut reader = csv::Reader::from_reader(huren::seed::NATIONAL_TABLE);
    let header = reader.headers().unwrap().clone();
    let status = header.iter().position(|h| h == "status").unwrap();
    let replaced = header.iter().position(|h| h == "replaced_by").unwrap();
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(&header).unwrap();
    for r in reader.records() {
        let mut r: Vec<String> = r.unwrap().iter().map(str::to_owned).collect();
        if r[0] == code {
            r[status] = "DEPRECATED".into();
            r[replaced] = by.into();
        }
        out.write_record(&r).unwrap();
    }
    let table = String::from_utf8(out.into_inner().unwrap()).unwrap();
    app.import_national_release(&table, "2026.2-test");
    let path = format!(
        "/fhir/CodeSystem/$lookup?system={}&code={code}",
        enc("http://huren.example/fhir/CodeSystem/national-lab")
    );
    for _ in 0..100 {
        if app.get(&path).body["parameter"][1]["valueString"] == "2026.2-test" {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the service did not pick up the new release");
}

#[test]
fn deprecated_targets_and_unconvertible_units_are_refused() {
    let app = spawn_app(TestDb::sqlite());
    app.create_example_hospitals();
    let bearer = curator("hosp-a", "c1");
    let mass = national_of("2345-7");
    let molar = national_of("14749-6");
    deprecate(&app, &mass, &molar);
    let csv = format!("local_code,local_name,unit,national_code\nG1,葡萄糖,mg/dL,{mass}\n");
    let a = import(&app, "hosp-a", "", &bearer, csv.as_bytes());
    assert_eq!(a.status, 422, "{:#}", a.body);
    let diag = a.body["issue"][1]["diagnostics"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        diag.contains("line 2") && diag.contains(&molar),
        "names the replacement: {diag}"
    );

    let alt = national_of("1742-6");
    // U/L (catalytic activity) cannot become mmol/L, and a cell count is not a concentration.
    let csv = format!("local_code,local_name,unit,national_code\nA1,ALT,mmol/L,{alt}\n");
    let a = import(&app, "hosp-a", "", &bearer, csv.as_bytes());
    let diag = a.body["issue"][1]["diagnostics"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(a.status, 422, "{:#}", a.body);
    assert!(diag.contains("line 2") && diag.contains("unit"), "{diag}");
}

#[test]
fn review_with_two_person_rule_history_and_bulk_approval() {
    for app in apps() {
        app.create_example_hospitals();
        let c1 = curator("hosp-a", "curator-1");
        let c2 = curator("hosp-a", "curator-2");
        let a = import(&app, "hosp-a", "", &c1, &example("hosp-a-zh.csv"));
        assert_eq!(a.status, 200, "{:#}", a.body);
        let list = app.get_as(
            "/api/hospitals/hosp-a/mappings?status=proposed&unmapped=false",
            Some(&c1),
        );
        let first = list.body["mappings"][0]["local_code"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("/api/hospitals/hosp-a/mappings/{}", enc(&first));

        // The proposer may not approve; a second curator may.
        app.post_as(&format!("{path}/approve"), &c1, "application/json", b"")
            .outcome(403, "forbidden");
        let ok = app.post_as(
            &format!("{path}/approve"),
            &c2,
            "application/json",
            br#"{"comment":"checked against the LIS manual"}"#,
        );
        assert_eq!(ok.status, 200, "{:#}", ok.body);
        assert_eq!(ok.body["status"], "approved");
        let retired = app.post_as(&format!("{path}/retire"), &c2, "application/json", b"{}");
        assert_eq!(retired.body["status"], "retired");
        let h = app.get_as(&format!("{path}/history"), Some(&c1));
        let actions: Vec<&str> = h.body["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["import", "approve", "retire"]);
        assert_eq!(h.body["history"][1]["by"], "curator-2");
        assert_eq!(
            h.body["history"][1]["comment"],
            "checked against the LIS manual"
        );

        // Other hospitals' curators and systems are refused.
        app.post_as(
            &format!("{path}/reject"),
            &curator("hosp-b", "x"),
            "application/json",
            b"",
        )
        .outcome(403, "forbidden");
        app.post_as(
            &format!("{path}/approve"),
            &token("system", Some("hosp-a")),
            "application/json",
            b"",
        )
        .outcome(403, "forbidden");

        // Bulk: the second curator approves everything still proposed, in one transaction.
        let bulk = app.post_as(
            "/api/hospitals/hosp-a/mappings/approve",
            &c2,
            "application/json",
            br#"{"status":"proposed"}"#,
        );
        assert_eq!(bulk.status, 200, "{:#}", bulk.body);
        assert!(bulk.body["approved"].as_u64().unwrap() >= 25);
        let left = app.get_as(
            "/api/hospitals/hosp-a/mappings?status=proposed&unmapped=false",
            Some(&c1),
        );
        assert_eq!(left.body["total"], 0);

        // The approved mappings are the hospital's ConceptMap and drive $translate.
        let cm = app.get_as("/fhir/ConceptMap/hosp-a", Some(&c1));
        assert_eq!(cm.status, 200, "{:#}", cm.body);
        assert_eq!(cm.body["resourceType"], "ConceptMap");
        let element = &cm.body["group"][0]["element"][0];
        let local = element["code"].as_str().unwrap().to_owned();
        let national = element["target"][0]["code"].as_str().unwrap().to_owned();
        assert_eq!(
            cm.body["group"][0]["source"],
            "http://huren.example/fhir/CodeSystem/local/hosp-a"
        );
        let t = app.get_as(
            &format!(
                "/fhir/ConceptMap/$translate?system={}&code={}&targetsystem={}",
                enc("http://huren.example/fhir/CodeSystem/local/hosp-a"),
                enc(&local),
                enc("http://huren.example/fhir/CodeSystem/national-lab")
            ),
            Some(&c1),
        );
        assert_eq!(
            t.param("result").unwrap()["valueBoolean"],
            true,
            "{:#}",
            t.body
        );
        let m = t.params("match")[0]["part"].as_array().unwrap();
        assert!(
            m.iter()
                .any(|p| p["valueCoding"]["code"] == national.as_str())
        );
        let back = app.get_as(
            &format!(
                "/fhir/ConceptMap/$translate?system={}&code={}&targetsystem={}",
                enc("http://huren.example/fhir/CodeSystem/national-lab"),
                enc(&national),
                enc("http://huren.example/fhir/CodeSystem/local/hosp-a")
            ),
            Some(&c1),
        );
        assert_eq!(
            back.param("result").unwrap()["valueBoolean"],
            true,
            "{:#}",
            back.body
        );
        app.get_as("/fhir/ConceptMap/hosp-a", Some(&curator("hosp-b", "x")))
            .outcome(403, "forbidden");
    }
}

#[test]
fn suggestions_rank_the_right_code_with_reasons() {
    let app = spawn_app(TestDb::sqlite());
    app.create_example_hospitals();
    let c1 = curator("hosp-a", "c1");
    for (name, unit, loinc) in [
        ("GLU 葡萄糖", "mg/dL", "2345-7"),
        ("葡萄糖", "mmol/L", "14749-6"),
        ("谷丙转氨酶", "U/L", "1742-6"),
        ("Hgb", "g/L", "718-7"),
    ] {
        let a = app.get_as(
            &format!(
                "/api/hospitals/hosp-a/suggestions?name={}&unit={}&limit=5",
                enc(name),
                enc(unit)
            ),
            Some(&c1),
        );
        assert_eq!(a.status, 200, "{:#}", a.body);
        let s = &a.body["suggestions"][0];
        assert_eq!(
            s["code"],
            national_of(loinc).as_str(),
            "{name}: {:#}",
            a.body
        );
        assert!(!s["reasons"].as_array().unwrap().is_empty());
    }
    app.get_as("/api/hospitals/hosp-a/suggestions", Some(&c1))
        .outcome(400, "invalid");
}
