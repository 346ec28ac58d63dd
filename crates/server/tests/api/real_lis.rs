//! An ORU^R01 as LOINC-coding LIS send them (written after the HL7 v2.5.1 ELR and LRI
//! implementation guides' examples): segments huren does not use (SFT, ORC, TQ1, PRT), OBX-11
//! beyond F/C/P, UCUM annotations, and OBX segments that cannot be taken next to ones that
//! can. The good results are stored, each bad OBX gets its own ERR, and the ACK says AE.

use crate::helpers::{TestApp, apps};
use huren_testkit::fhir_schema::validate_r4;
use huren_testkit::{TEST_SECRET, token_for};

const PATIENT: &str = "urn:huren:id:national-patient|420106197505050028";

fn message() -> String {
    [
        "MSH|^~\\&|LIS|ELR-LAB^2.16.840.1.114222.4.1.9999^ISO|HUREN|HUREN|20261120093000+0800||ORU^R01^ORU_R01|ELR-0001|P|2.5.1|||AL|NE||UNICODE UTF-8",
        "SFT|Example Lab Systems^L^^^^&2.16.840.1.113883.3.9999^ISO^XX^^^1234|3.1|LabSys|31.0||20260101",
        "PID|1||MRN-77^^^ELR^MR~420106197505050028^^^CHN^NI||李^娜||19750505|F",
        // An OBX before any OBR: it belongs to no order.
        "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||6.8|10*3/uL|||||F",
        "ORC|RE|ORD7^HIS|LAB7^LIS",
        "OBR|1|ORD7^HIS|LAB7^LIS|58410-2^CBC panel - Blood by Automated count^LN|||202611200745+0800|||||||||||||||202611200900+0800|||F",
        "TQ1|1||||||202611200700+0800",
        "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||7000|{cells}/uL^cells per microliter^UCUM|4000-10000|N|||F|||202611200812+0800",
        "PRT|1|AD||RO^Responsible Observer^HL70912|1234^Wang^Min",
        "OBX|2|NM|789-8^Erythrocytes [#/volume] in Blood by Automated count^LN||4.50|10*6/uL^million per microliter^UCUM|3.80-5.10|N|||F|||202611200812+0800",
        // Specimen in the lab, result pending.
        "OBX|3|NM|718-7^Hemoglobin [Mass/volume] in Blood^LN|||g/dL^gram per deciliter^UCUM|12.0-16.0||||I|||202611200812+0800",
        // No OBX-3.
        "OBX|4|NM|||5.2|%||||||F",
        // A pointer to a PDF report: not a lab value.
        "OBX|5|RP|11502-2^Laboratory report^LN||^^application^pdf||||||F",
        "OBX|6|NM|777-3^Platelets [#/volume] in Blood by Automated count^LN||250|10*3/uL|150-400|N|||R|||202611200812+0800",
    ]
    .join("\r")
}

/// Posts `message` as hospital B's LIS; the ACK.
fn post(app: &TestApp, message: &str) -> String {
    let system = token_for(TEST_SECRET, "lis", "system", Some("hosp-b"), 3600);
    let resp = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
        .post(&app.url("/hl7v2"))
        .header("Authorization", &format!("Bearer {system}"))
        .header("Content-Type", "x-application/hl7-v2+er7")
        .send(message.as_bytes())
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.into_body().read_to_string().unwrap()
}

fn clinician() -> String {
    token_for(TEST_SECRET, "dr-a", "clinician", Some("hosp-a"), 3600)
}

/// (LOINC, status, value, UCUM code) of each stored Observation of the patient, sorted.
fn stored(app: &TestApp) -> Vec<(String, String, String, String)> {
    let clinician = clinician();
    let a = app.get_as(
        &format!(
            "/fhir/Observation?subject:identifier={}",
            PATIENT.replace('|', "%7C")
        ),
        Some(&clinician),
    );
    assert_eq!(a.status, 200, "{:#}", a.body);
    let mut out: Vec<(String, String, String, String)> = a.body["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let o = &e["resource"];
            validate_r4(o).unwrap_or_else(|e| panic!("{e:#?}\n{o:#}"));
            let loinc = o["code"]["coding"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["system"] == "http://loinc.org")
                .map(|c| c["code"].as_str().unwrap().to_owned())
                .unwrap();
            let q = &o["valueQuantity"];
            let value = q["value"]
                .as_f64()
                .map_or_else(|| "-".to_owned(), |f| f.to_string());
            (
                loinc,
                o["status"].as_str().unwrap().to_owned(),
                value,
                q["code"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_real_lis_message_is_taken_obx_by_obx() {
    for app in apps() {
        app.create_example_hospitals();
        let ack = post(&app, &message());
        let segments: Vec<&str> = ack.split('\r').filter(|s| !s.is_empty()).collect();
        let msa: Vec<&str> = segments[1].split('|').collect();
        assert_eq!((msa[0], msa[1], msa[2]), ("MSA", "AE", "ELR-0001"), "{ack}");
        let errors: Vec<&str> = segments
            .iter()
            .filter(|s| s.starts_with("ERR|"))
            .filter(|s| s.split('|').nth(4) == Some("E"))
            .copied()
            .collect();
        assert_eq!(errors.len(), 3, "{ack}");
        // Each names its segment: the stray OBX (the 1st), the OBX without OBX-3 (the 5th) and
        // the RP one (the 6th), and the field where there is one.
        assert!(errors[0].contains("|OBX^1|"), "{}", errors[0]);
        assert!(errors[1].contains("|OBX^5^3^"), "{}", errors[1]);
        assert!(errors[2].contains("|OBX^6^2^"), "{}", errors[2]);
        assert!(errors[2].contains("not a lab value"), "{}", errors[2]);

        // Leukocytes in {cells}/uL converted into 10*9/L; erythrocytes 10*6/uL into 10*12/L;
        // haemoglobin in process, without a value; platelets entered but not verified.
        let expected = [
            ("6690-2", "final", "7", "10*9/L"),
            ("718-7", "registered", "-", "-"),
            ("777-3", "preliminary", "250", "10*9/L"),
            ("789-8", "final", "4.5", "10*12/L"),
        ]
        .map(|(a, b, c, d)| (a.to_owned(), b.to_owned(), c.to_owned(), d.to_owned()));
        assert_eq!(stored(&app), expected);
        // Sent again as it is: the same answer, and nothing is stored twice.
        let again = post(&app, &message());
        assert!(again.contains("\rMSA|AE|ELR-0001"), "{again}");
        assert_eq!(
            again.matches("\rERR|").count(),
            ack.matches("\rERR|").count()
        );
        assert_eq!(stored(&app), expected);
    }
}

/// The seed table plus basophils (30180-4), which the seed lacks.
fn release_with_basophils() -> (String, String) {
    let text = std::str::from_utf8(huren::seed::NATIONAL_TABLE).unwrap();
    let code = huren_core::code::national_code(9_900_002).unwrap();
    let row = format!(
        "{code},30180-4,Basophils/100 leukocytes,NFr,Pt,Bld,Qn,Automated count,HEM/BC,\
         嗜碱性粒细胞百分比,Basophils/100 leukocytes in Blood by Automated count,\
         Basos/leuk NFr Bld Auto,BASO%,嗜碱性粒细胞百分比,basophil percent,%,,ACTIVE,,test row"
    );
    (format!("{}\n{row}\n", text.trim_end()), code)
}

fn basophils(app: &TestApp) -> Vec<serde_json::Value> {
    let clinician = clinician();
    let a = app.get_as(
        "/fhir/Observation?code=http://loinc.org%7C30180-4",
        Some(&clinician),
    );
    assert_eq!(a.status, 200, "{:#}", a.body);
    a.body["entry"]
        .as_array()
        .map(|e| e.iter().map(|e| e["resource"].clone()).collect())
        .unwrap_or_default()
}

#[test]
fn a_loinc_code_the_registry_lacks_is_kept_listed_and_normalized_after_a_release() {
    for app in apps() {
        app.create_example_hospitals();
        let message = [
            "MSH|^~\\&|LIS|ELR-LAB|HUREN|HUREN|20261120093000+0800||ORU^R01^ORU_R01|GAP-1|P|2.5.1",
            "PID|1||MRN-78^^^ELR^MR||周^杰||19800101|M",
            "OBR|1|ORD8^HIS|LAB8^LIS|58410-2^CBC^LN|||202611200745+0800",
            "OBX|1|NM|30180-4^Basophils/100 leukocytes in Blood by Automated count^LN||1.0|%|0-1|N|||F|||202611200812+0800",
            // A bad check digit is not a LOINC code: held, as before.
            "OBX|2|NM|30180-5^Not a code^LN||2.0|%||||F|||202611200812+0800",
        ]
        .join("\r");
        post(&app, &message);

        // Kept and readable under its LOINC code, without a national coding.
        let found = basophils(&app);
        assert_eq!(found.len(), 1, "{found:#?}");
        validate_r4(&found[0]).unwrap();
        assert_eq!(found[0]["valueQuantity"]["value"].as_f64(), Some(1.0));
        let systems: Vec<&str> = found[0]["code"]["coding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["system"].as_str().unwrap())
            .collect();
        assert_eq!(systems, ["http://loinc.org"]);

        // Listed for admins.
        let admin = huren_testkit::token("admin", None);
        let gaps = app.get_as("/api/registry/gaps", Some(&admin));
        assert_eq!(gaps.status, 200, "{:#}", gaps.body);
        let list = gaps.body["gaps"].as_array().unwrap();
        assert_eq!(list.len(), 1, "{:#}", gaps.body);
        assert_eq!(list[0]["loinc"], "30180-4");
        assert_eq!(list[0]["unit"], "%");
        assert_eq!(list[0]["count"], 1);
        assert_eq!(list[0]["hospitals"][0], "hosp-b");
        assert!(
            list[0]["display"]
                .as_str()
                .unwrap()
                .starts_with("Basophils")
        );
        app.get_as(
            "/api/registry/gaps",
            Some(&token_for(TEST_SECRET, "c", "curator", Some("hosp-b"), 60)),
        )
        .outcome(403, "forbidden");

        // A release adds the code: the running server normalizes the result again.
        let (table, code) = release_with_basophils();
        app.import_national_release(&table, "2026.2");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let found = basophils(&app);
            let national = found.first().and_then(|o| {
                o["code"]["coding"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["system"].as_str().unwrap().ends_with("/national-lab"))
                    .cloned()
            });
            if let Some(c) = national {
                assert_eq!(c["code"], code);
                break;
            }
            assert!(std::time::Instant::now() < deadline, "not normalized again");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        let gaps = app.get_as("/api/registry/gaps", Some(&admin));
        assert_eq!(
            gaps.body["gaps"].as_array().unwrap().len(),
            0,
            "{:#}",
            gaps.body
        );
    }
}

#[test]
fn a_culture_keeps_its_snomed_organism_and_a_titre_is_a_ratio() {
    for app in apps() {
        app.create_example_hospitals();
        let message = [
            "MSH|^~\\&|LIS|ELR-LAB|HUREN|HUREN|20261121093000+0800||ORU^R01^ORU_R01|MICRO-1|P|2.5.1",
            "PID|1||MRN-79^^^ELR^MR~420106198202020022^^^CHN^NI||吴^敏||19820202|F",
            "OBR|1|ORD9^HIS|LAB9^LIS|600-7^Bacteria identified in Blood by Culture^LN|||202611190800+0800",
            "OBX|1|CWE|600-7^Bacteria identified in Blood by Culture^LN|1|3092008^Staphylococcus aureus^SCT||||||F|||202611210900+0800",
            "OBR|2|ORD10^HIS|LAB10^LIS|31147-2^Reagin Ab^LN|||202611190800+0800",
            "OBX|1|SN|31147-2^Reagin Ab [Titer] in Serum by RPR^LN||^1^:^128||<1:1|A|||F|||202611210900+0800",
        ]
        .join("\r");
        post(&app, &message);
        let clinician = clinician();
        let a = app.get_as(
            "/fhir/Observation?subject:identifier=urn:huren:id:national-patient%7C420106198202020022",
            Some(&clinician),
        );
        assert_eq!(a.status, 200, "{:#}", a.body);
        let found: Vec<&serde_json::Value> = a.body["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["resource"])
            .collect();
        assert_eq!(found.len(), 2, "{:#}", a.body);
        for o in &found {
            validate_r4(o).unwrap_or_else(|e| panic!("{e:#?}\n{o:#}"));
        }
        let by_loinc = |loinc: &str| {
            *found
                .iter()
                .find(|o| o["code"]["coding"][0]["code"] == loinc)
                .unwrap()
        };
        let organism = &by_loinc("600-7")["valueCodeableConcept"]["coding"][0];
        assert_eq!(organism["system"], "http://snomed.info/sct");
        assert_eq!(organism["code"], "3092008");
        assert_eq!(organism["display"], "Staphylococcus aureus");
        let titre = &by_loinc("31147-2")["valueRatio"];
        assert_eq!(titre["numerator"]["value"], 1);
        assert_eq!(titre["denominator"]["value"], 128);
        assert_eq!(
            by_loinc("31147-2")["interpretation"][0]["coding"][0]["code"],
            "A"
        );
    }
}

#[test]
fn a_fhir_observation_under_a_loinc_code_the_registry_lacks_is_created_with_a_warning() {
    let app = crate::helpers::spawn_app(huren_testkit::TestDb::sqlite());
    app.create_example_hospitals();
    let body = r#"{"resourceType":"Observation","identifier":[{"system":"urn:lis:hosp-b","value":"G1"}],
        "status":"final","code":{"coding":[{"system":"http://loinc.org","code":"26453-1","display":"Erythrocytes [#/volume] in Blood"}]},
        "subject":{"identifier":{"system":"urn:huren:id:national-patient","value":"420106198001011234"}},
        "effectiveDateTime":"2026-11-20T08:12:00+08:00","valueQuantity":{"value":4.5,"unit":"10*12/L"}}"#;
    let system = token_for(TEST_SECRET, "lis", "system", Some("hosp-b"), 3600);
    let a = app.post_as(
        "/fhir/Observation",
        &system,
        "application/fhir+json",
        body.as_bytes(),
    );
    assert_eq!(a.status, 201, "{:#}", a.body);
    assert_eq!(a.body["resourceType"], "OperationOutcome", "{:#}", a.body);
    validate_r4(&a.body).unwrap();
    assert!(a.body.to_string().contains("26453-1"), "{:#}", a.body);
    assert_eq!(a.body["issue"][0]["severity"], "warning", "{:#}", a.body);
    // And it is readable.
    let found = app.get_as(
        "/fhir/Observation?code=http://loinc.org%7C26453-1",
        Some(&clinician()),
    );
    assert_eq!(found.body["entry"].as_array().map(Vec::len), Some(1));
}
