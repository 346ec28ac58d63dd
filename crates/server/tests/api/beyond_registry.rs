//! Beyond the national registry, end to end on SQLite and PostgreSQL: hospital A maps local
//! codes to LOINC terms that have no national code (ammonia, total CO2); its results are kept
//! under those terms and are never recognizable; hospital B sends LOINC-coded results the
//! registry lacks; the registry's curators see the terms ranked by hospitals and results; a
//! national release that adds ammonia moves hospital A's mapping and result to the new code,
//! history kept.

use crate::helpers::{Answer, TestApp, apps};
use huren_testkit::{TEST_SECRET, token, token_for};
use serde_json::Value;

fn curator(h: &str, sub: &str) -> String {
    token_for(TEST_SECRET, sub, "curator", Some(h), 3600)
}

fn clinician() -> String {
    token_for(TEST_SECRET, "dr-li", "clinician", Some("hosp-a"), 3600)
}

/// Hospital A's table: two LOINC-only rows and one unmapped row.
const MAPPINGS: &str = "local_code,local_name,specimen,unit,national_code,loinc\n\
    NH3,血氨,血浆,umol/L,,16362-6\n\
    CO2,总二氧化碳,血清,mmol/L,,2028-9\n\
    NEUT#,中性粒细胞绝对值,全血,10*9/L,,\n";

fn send(app: &TestApp, hospital: &str, control: &str, obx: &[String]) -> String {
    let system = token_for(TEST_SECRET, "lis", "system", Some(hospital), 3600);
    let mut segments = vec![
        format!(
            "MSH|^~\\&|LIS|{hospital}|HUREN|HUREN|20261120093000+0800||ORU^R01^ORU_R01|{control}|P|2.5.1|||AL|NE||UNICODE UTF-8"
        ),
        "PID|1||MRN-0101^^^LIS^MR~420106198001011234^^^CHN^NI||李^娜||19800101|F".to_owned(),
        format!("OBR|1|ORD-{control}^HIS|LAB-{control}^LIS|CHEM^生化^L|||202611200745+0800"),
    ];
    segments.extend(obx.iter().cloned());
    let a = app.post_as(
        "/hl7v2",
        &system,
        "x-application/hl7-v2+er7",
        segments.join("\r").as_bytes(),
    );
    assert_eq!(a.status, 200);
    text(&a)
}

fn text(a: &Answer) -> String {
    a.body
        .as_str()
        .unwrap_or_else(|| panic!("not text: {:#}", a.body))
        .to_owned()
}

fn obx(n: u32, code: &str, value: &str, unit: &str) -> String {
    format!("OBX|{n}|NM|{code}||{value}|{unit}|||||F|||202611200812+0800")
}

fn found(app: &TestApp, query: &str) -> Vec<Value> {
    app.observations(query, &clinician())
}

fn codings(o: &Value) -> Vec<(String, String)> {
    o["code"]["coding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["system"].as_str().unwrap().to_owned(),
                c["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn candidates(app: &TestApp) -> Answer {
    app.get_as("/api/registry/candidates", Some(&token("admin", None)))
}

#[test]
fn loinc_only_mappings_keep_results_grow_the_registry_and_move_with_a_release() {
    for app in apps() {
        app.create_example_hospitals();
        let a = app.post_as(
            "/api/hospitals/hosp-a/mappings/import",
            &curator("hosp-a", "c1"),
            "text/csv",
            MAPPINGS.as_bytes(),
        );
        assert_eq!(a.status, 200, "{:#}", a.body);
        assert_eq!(
            (a.body["created"].as_u64(), a.body["unmapped"].as_u64()),
            (Some(3), Some(1))
        );
        // A LOINC target can be proposed as well.
        let a = app.post_as(
            "/api/hospitals/hosp-a/mappings/NEUT%23/propose",
            &curator("hosp-a", "c1"),
            "application/json",
            br#"{"loinc":"26499-4"}"#,
        );
        assert_eq!(a.status, 200, "{:#}", a.body);
        assert_eq!(a.body["target_system"], "loinc");
        assert_eq!(a.body["loinc"], "26499-4");
        assert_eq!(a.body["national_code"], "");
        assert_eq!(a.body["loinc_display"], "Neutrophils [#/volume] in Blood");
        let a = app.post_as(
            "/api/hospitals/hosp-a/mappings/approve",
            &curator("hosp-a", "c2"),
            "application/json",
            b"{}",
        );
        assert_eq!(a.status, 200, "{:#}", a.body);
        let a = app.get_as(
            "/api/hospitals/hosp-a/mappings/NH3",
            Some(&curator("hosp-a", "c1")),
        );
        assert_eq!(
            (
                &a.body["status"],
                &a.body["target_system"],
                &a.body["loinc"]
            ),
            (&"approved".into(), &"loinc".into(), &"16362-6".into()),
            "{:#}",
            a.body
        );
        // The export names the LOINC target, and re-importing it changes nothing.
        let export = app.get_as(
            "/api/hospitals/hosp-a/mappings/export",
            Some(&curator("hosp-a", "c1")),
        );
        assert!(
            text(&export).contains("NH3,血氨,血浆,umol/L,,16362-6"),
            "{}",
            text(&export)
        );
        let again = app.post_as(
            "/api/hospitals/hosp-a/mappings/import",
            &curator("hosp-a", "c1"),
            "text/csv",
            text(&export).as_bytes(),
        );
        assert_eq!(
            again.body["unchanged"].as_u64(),
            Some(3),
            "{:#}",
            again.body
        );

        // Hospital A's results under its local codes; hospital B's under LOINC codes.
        send(
            &app,
            "hosp-a",
            "A1",
            &[
                obx(1, "NH3^血氨^L", "30", "umol/L"),
                obx(2, "CO2^总二氧化碳^L", "24", "mmol/L"),
            ],
        );
        send(
            &app,
            "hosp-b",
            "B0",
            &[obx(1, "2028-9^Carbon dioxide, total^LN", "25", "mmol/L")],
        );
        // Three orders, three results.
        for (i, v) in ["0.5", "0.6", "0.7"].iter().enumerate() {
            send(
                &app,
                "hosp-b",
                &format!("B{}", i + 1),
                &[obx(1, "30180-4^Basophils/100 leukocytes^LN", v, "%")],
            );
        }

        // Kept under the LOINC term, with the local coding, never recognizable.
        let ammonia = found(&app, "code=http://loinc.org%7C16362-6");
        assert_eq!(ammonia.len(), 1, "{ammonia:#?}");
        let o = &ammonia[0];
        let coding = codings(o);
        assert_eq!(coding[0], ("http://loinc.org".into(), "16362-6".into()));
        assert!(
            coding
                .iter()
                .any(|(s, c)| s.ends_with("/local/hosp-a") && c == "NH3")
        );
        assert_eq!(
            o["code"]["coding"][0]["display"],
            "Ammonia [Moles/volume] in Plasma"
        );
        assert_eq!(o["valueQuantity"]["value"].as_f64(), Some(30.0));
        assert_eq!(o["valueQuantity"]["code"], "umol/L");
        assert_eq!(o["meta"]["tag"][0]["code"], "not-recognizable", "{o:#}");
        let id = o["id"].as_str().unwrap().to_owned();
        let a = app.get_as(
            &format!("/fhir/Observation/{id}/$recognition"),
            Some(&clinician()),
        );
        assert_eq!(a.status, 200, "{:#}", a.body);
        assert_eq!(a.param("recognizable").unwrap()["valueBoolean"], false);
        let reasons: Vec<&str> = a
            .params("reason")
            .iter()
            .filter_map(|r| r["part"][0]["valueCoding"]["code"].as_str())
            .collect();
        assert_eq!(reasons, ["no-national-code"], "{:#}", a.body);

        // The registry's curators see the terms, most hospitals first, then most results.
        let c = candidates(&app);
        assert_eq!(c.status, 200, "{:#}", c.body);
        let list = c.body["candidates"].as_array().unwrap();
        let order: Vec<&str> = list.iter().map(|c| c["loinc"].as_str().unwrap()).collect();
        assert_eq!(
            order,
            ["2028-9", "30180-4", "16362-6", "26499-4"],
            "{:#}",
            c.body
        );
        let co2 = &list[0];
        assert_eq!(co2["hospital_count"], 2);
        assert_eq!(co2["hospitals"], serde_json::json!(["hosp-a", "hosp-b"]));
        assert_eq!(
            (co2["result_count"].as_u64(), co2["mapping_count"].as_u64()),
            (Some(2), Some(1))
        );
        assert_eq!(co2["units"], serde_json::json!(["mmol/L"]));
        assert!(
            co2["local_names"]
                .as_array()
                .unwrap()
                .contains(&"总二氧化碳".into()),
            "{co2:#}"
        );
        assert_eq!(list[1]["result_count"], 3);
        assert_eq!(list[2]["display"], "Ammonia [Moles/volume] in Plasma");
        assert_eq!(list[2]["local_names"], serde_json::json!(["血氨"]));
        assert_eq!(list[3]["result_count"], 0);
        let csv = app.get_as(
            "/api/registry/candidates?_format=csv",
            Some(&token("admin", None)),
        );
        assert_eq!(csv.status, 200);
        let csv_text = text(&csv);
        let mut lines = csv_text.lines();
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with("\u{feff}rank,loinc,loinc_name,hospital_count")
        );
        assert!(
            lines.next().unwrap().starts_with(
                "1,2028-9,\"Carbon dioxide, total [Moles/volume] in Serum or Plasma\",2,2,1,"
            ),
            "{csv_text}"
        );
        app.get_as("/api/registry/candidates", Some(&curator("hosp-a", "c1")))
            .outcome(403, "forbidden");
        app.get_as(
            "/api/registry/candidates?_format=xml",
            Some(&token("admin", None)),
        )
        .outcome(400, "invalid");

        // A national release gives ammonia a code: mapping and result move to it.
        let text = std::str::from_utf8(huren::seed::NATIONAL_TABLE).unwrap();
        let code = huren_core::code::national_code(9_900_003).unwrap();
        let table = format!(
            "{}\n{code},16362-6,Ammonia,SCnc,Pt,Plas,Qn,,CHEM,血氨,Ammonia [Moles/volume] in \
             Plasma,Ammonia Plas-sCnc,NH3,氨,ammonia,umol/L,17.031,ACTIVE,,test row\n",
            text.trim_end()
        );
        app.import_national_release(&table, "2026.3");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let moved = loop {
            let now = found(&app, "code=http://loinc.org%7C16362-6");
            if let Some(o) = now.first()
                && codings(o)[0].1 == code
            {
                break o.clone();
            }
            assert!(std::time::Instant::now() < deadline, "not moved: {now:#?}");
            std::thread::sleep(std::time::Duration::from_millis(200));
        };
        assert_eq!(
            moved["id"],
            id.as_str(),
            "the same Observation, a new version"
        );
        assert_eq!(moved["meta"]["versionId"], "2");
        assert_ne!(moved["meta"]["tag"][0]["code"], "no-national-code");
        let history = app.get_as(
            &format!("/fhir/Observation/{id}/_history"),
            Some(&clinician()),
        );
        assert_eq!(history.body["total"], 2, "{:#}", history.body);
        let a = app.get_as(
            "/api/hospitals/hosp-a/mappings/NH3",
            Some(&curator("hosp-a", "c1")),
        );
        assert_eq!(
            (
                &a.body["status"],
                &a.body["target_system"],
                &a.body["national_code"]
            ),
            (
                &"approved".into(),
                &"national".into(),
                &code.as_str().into()
            ),
            "{:#}",
            a.body
        );
        let h = app.get_as(
            "/api/hospitals/hosp-a/mappings/NH3/history",
            Some(&curator("hosp-a", "c1")),
        );
        let last = h.body["history"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(
            (
                &last["action"],
                &last["by"],
                &last["from_target"],
                &last["to_target"]
            ),
            (
                &"release".into(),
                &"huren".into(),
                &"16362-6".into(),
                &code.as_str().into()
            ),
            "{:#}",
            h.body
        );
        // Ammonia is no longer a candidate; the others stay.
        let c = candidates(&app);
        let order: Vec<&str> = c.body["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["loinc"].as_str().unwrap())
            .collect();
        assert_eq!(order, ["2028-9", "30180-4", "26499-4"], "{:#}", c.body);
    }
}

fn suggestions(app: &TestApp, query: &str) -> Answer {
    let a = app.get_as(
        &format!("/api/hospitals/hosp-b/suggestions?{query}"),
        Some(&curator("hosp-b", "c9")),
    );
    assert_eq!(a.status, 200, "{:#}", a.body);
    a
}

#[test]
fn suggestions_rank_national_codes_then_loinc_terms_and_abstain_on_non_results() {
    for app in apps() {
        app.create_example_hospitals();
        // Ammonia has no national code: its LOINC term, found from the Chinese name.
        let a = suggestions(
            &app,
            &format!("name={}&unit=umol/L", crate::helpers::enc("血氨")),
        );
        let first = &a.body["suggestions"][0];
        assert_eq!(
            (&first["system"], &first["code"]),
            (&"loinc".into(), &"16362-6".into()),
            "{:#}",
            a.body
        );
        assert_eq!(first["display"]["zh"], "血氨");
        let reasons: Vec<&str> = first["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap())
            .collect();
        assert!(
            reasons.contains(&"loinc-only") && reasons.contains(&"name-zh"),
            "{reasons:?}"
        );
        assert_eq!(a.body["abstain"], false);
        // Glucose has one: the national concept first, and never its LOINC equivalent as a
        // LOINC-only suggestion.
        let a = suggestions(
            &app,
            &format!(
                "name={}&unit=mmol/L&specimen={}",
                crate::helpers::enc("葡萄糖"),
                crate::helpers::enc("血清")
            ),
        );
        let list = a.body["suggestions"].as_array().unwrap();
        assert_eq!(list[0]["system"], "national", "{:#}", a.body);
        assert_eq!(list[0]["loinc"], "14749-6");
        for s in list.iter().filter(|s| s["system"] == "loinc") {
            assert_ne!(s["code"], "14749-6", "{:#}", a.body);
            assert_ne!(s["code"], "2345-7", "{:#}", a.body);
        }
        // Rows that are no lab result: no suggestion is offered as the answer.
        for name in ["备注", "N/A", "报告说明"] {
            let a = suggestions(&app, &format!("name={}", crate::helpers::enc(name)));
            assert_eq!(a.body["abstain"], true, "{name}: {:#}", a.body);
        }
    }
}
