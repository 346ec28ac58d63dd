//! The FHIR terminology reads: $lookup, $validate-code, $expand, $translate, CodeSystem and
//! ConceptMap reads, and the CapabilityStatement.

use crate::helpers::{apps, enc, national_of};

const NATIONAL: &str = "http://huren.example/fhir/CodeSystem/national-lab";
const NATIONAL_VS: &str = "http://huren.example/fhir/ValueSet/national-lab";

#[test]
fn metadata_lists_what_the_server_supports() {
    for app in apps() {
        let a = app.get_as("/fhir/metadata", None);
        assert_eq!(a.status, 200);
        assert!(
            a.content_type.starts_with("application/fhir+json"),
            "{}",
            a.content_type
        );
        assert_eq!(a.body["resourceType"], "CapabilityStatement");
        assert_eq!(a.body["fhirVersion"], "4.0.1");
        let resources: Vec<&str> = a.body["rest"][0]["resource"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["type"].as_str().unwrap())
            .collect();
        assert_eq!(resources, ["CodeSystem", "ValueSet", "ConceptMap"]);
        let health = app.get_as("/health", None);
        assert_eq!(health.status, 200);
        assert!(
            health.body["loinc_concepts"].as_u64().unwrap() > 2000,
            "{:#}",
            health.body
        );
        assert!(health.body["national_concepts"].as_u64().unwrap() >= 76);
    }
}

#[test]
fn lookup_national_code_gives_axes_names_unit_and_loinc() {
    for app in apps() {
        let code = national_of("14749-6");
        let a = app.get(&format!(
            "/fhir/CodeSystem/$lookup?system={}&code={code}",
            enc(NATIONAL)
        ));
        assert_eq!(a.status, 200, "{:#}", a.body);
        assert_eq!(a.body["resourceType"], "Parameters");
        assert_eq!(a.param("display").unwrap()["valueString"], "葡萄糖");
        assert_eq!(a.param("version").unwrap()["valueString"], "2026.1");
        assert_eq!(a.property("COMPONENT").unwrap()["valueString"], "Glucose");
        assert_eq!(a.property("PROPERTY").unwrap()["valueString"], "SCnc");
        assert_eq!(a.property("TIME_ASPCT").unwrap()["valueString"], "Pt");
        assert_eq!(a.property("SYSTEM").unwrap()["valueString"], "Ser/Plas");
        assert_eq!(a.property("SCALE_TYP").unwrap()["valueString"], "Qn");
        assert_eq!(a.property("STATUS").unwrap()["valueCode"], "ACTIVE");
        assert!(a.property("CLASS").is_some());
        assert_eq!(
            a.property("canonical-unit").unwrap()["valueCoding"]["code"],
            "mmol/L"
        );
        assert_eq!(
            a.property("loinc").unwrap()["valueCoding"]["code"],
            "14749-6"
        );
        let designations: Vec<String> = a
            .params("designation")
            .iter()
            .flat_map(|d| d["part"].as_array().unwrap().iter())
            .filter(|p| p["name"] == "value")
            .map(|p| p["valueString"].as_str().unwrap().to_owned())
            .collect();
        assert!(designations.iter().any(|d| d == "血糖"), "{designations:?}");
        assert!(
            designations.iter().any(|d| d.contains("Glucose")),
            "{designations:?}"
        );

        let en = app.get(&format!(
            "/fhir/CodeSystem/$lookup?system={}&code={code}&displayLanguage=en",
            enc(NATIONAL)
        ));
        assert_eq!(
            en.param("display").unwrap()["valueString"],
            "Glucose [Moles/volume] in Serum or Plasma"
        );
    }
}

#[test]
fn lookup_loinc_code_links_back_to_national() {
    for app in apps() {
        let a = app.get("/fhir/CodeSystem/$lookup?system=http%3A%2F%2Floinc.org&code=14749-6");
        assert_eq!(a.status, 200, "{:#}", a.body);
        assert_eq!(a.param("name").unwrap()["valueString"], "LOINC");
        assert_eq!(
            a.param("display").unwrap()["valueString"],
            "Glucose [Moles/volume] in Serum or Plasma"
        );
        assert_eq!(
            a.property("national").unwrap()["valueCoding"]["code"],
            national_of("14749-6")
        );
        // A Top-2000 term that the national table does not map still looks up.
        let b = app.get("/fhir/CodeSystem/$lookup?system=http%3A%2F%2Floinc.org&code=2345-7");
        assert_eq!(b.status, 200);
    }
}

#[test]
fn lookup_by_post_parameters() {
    for app in apps() {
        let body = serde_json::json!({
            "resourceType": "Parameters",
            "parameter": [
                {"name": "system", "valueUri": "http://loinc.org"},
                {"name": "code", "valueCode": "718-7"}
            ]
        });
        let a = app.post(
            "/fhir/CodeSystem/$lookup",
            "application/fhir+json",
            &body.to_string(),
        );
        assert_eq!(a.status, 200, "{:#}", a.body);
        assert_eq!(
            a.param("display").unwrap()["valueString"],
            "Hemoglobin [Mass/volume] in Blood"
        );
        let coding = serde_json::json!({
            "resourceType": "Parameters",
            "parameter": [{"name": "coding", "valueCoding": {"system": "http://loinc.org", "code": "718-7"}}]
        });
        let a = app.post(
            "/fhir/CodeSystem/$lookup",
            "application/fhir+json",
            &coding.to_string(),
        );
        assert_eq!(a.status, 200, "{:#}", a.body);
        let form = app.post(
            "/fhir/CodeSystem/$lookup",
            "application/x-www-form-urlencoded",
            "system=http%3A%2F%2Floinc.org&code=718-7",
        );
        assert_eq!(form.status, 200, "{:#}", form.body);
    }
}

#[test]
fn validate_code_answers_true_or_false_with_a_reason() {
    for app in apps() {
        let code = national_of("1742-6");
        let check = |query: String, result: bool, message: &str| {
            let a = app.get(&format!("/fhir/CodeSystem/$validate-code?{query}"));
            assert_eq!(a.status, 200, "{query}: {:#}", a.body);
            assert_eq!(
                a.param("result").unwrap()["valueBoolean"],
                result,
                "{query}: {:#}",
                a.body
            );
            let msg = a
                .param("message")
                .map(|m| m["valueString"].as_str().unwrap().to_owned());
            if message.is_empty() {
                assert_eq!(msg, None, "{query}");
            } else {
                let msg = msg.unwrap_or_default();
                assert!(
                    msg.contains(message),
                    "{query}: {msg:?} should contain {message:?}"
                );
            }
        };
        let url = enc(NATIONAL);
        check(format!("url={url}&code={code}"), true, "");
        check(
            format!("url={url}&code={code}&display={}", enc("丙氨酸氨基转移酶")),
            true,
            "",
        );
        check(format!("url={url}&code={code}&display=ALT"), true, "");
        check(
            format!("url={url}&code={code}&display={}", enc("葡萄糖")),
            false,
            "does not match",
        );
        let (body, digit) = code.split_once('-').unwrap();
        let wrong = (digit.parse::<u8>().unwrap() + 1) % 10;
        check(
            format!("url={url}&code={body}-{wrong}"),
            false,
            "check digit",
        );
        check(format!("url={url}&code=9999999-7"), false, "Unknown code");
        check(format!("url={url}&code=14749-6"), false, "national range");
        check(format!("url={url}&code=abc"), false, "not of the form");
        check("url=http%3A%2F%2Floinc.org&code=14749-6".into(), true, "");
        check(
            "url=http%3A%2F%2Floinc.org&code=14749-5".into(),
            false,
            "check digit",
        );
    }
}

#[test]
fn expand_finds_chinese_english_abbreviations_and_codes() {
    for app in apps() {
        let top = |filter: &str| {
            let a = app.get(&format!(
                "/fhir/ValueSet/$expand?url={}&filter={}&count=5",
                enc(NATIONAL_VS),
                enc(filter)
            ));
            assert_eq!(a.status, 200, "{filter}: {:#}", a.body);
            assert_eq!(a.body["resourceType"], "ValueSet");
            a.expansion_codes()
        };
        let glucose = national_of("14749-6");
        let glucose_mass = national_of("2345-7");
        let glucose_blood = national_of("15074-8");
        let alt = national_of("1742-6");
        let a1c = national_of("4548-4");
        let wbc = national_of("6690-2");
        let wbc_any_method = national_of("26464-8");
        for (filter, expected) in [
            ("葡萄糖", vec![&glucose, &glucose_mass, &glucose_blood]),
            ("血糖", vec![&glucose, &glucose_mass, &glucose_blood]),
            ("glucose", vec![&glucose, &glucose_mass, &glucose_blood]),
            ("GLU", vec![&glucose, &glucose_mass, &glucose_blood]),
            ("谷丙转氨酶", vec![&alt]),
            ("ALT", vec![&alt]),
            ("alanine aminotransferase", vec![&alt]),
            ("HbA1c", vec![&a1c]),
            ("糖化血红蛋白", vec![&a1c]),
            ("WBC", vec![&wbc, &wbc_any_method]),
            (glucose.as_str(), vec![&glucose]),
        ] {
            let codes = top(filter);
            assert!(
                codes.first().is_some_and(|c| expected.contains(&c)),
                "{filter}: top result {:?}, expected one of {expected:?}",
                codes.first()
            );
        }
        // Every glucose query finds the serum/plasma concept on the first page, even when a
        // specimen variant (whole blood, mass units) leads.
        for filter in ["葡萄糖", "血糖", "glucose", "GLU"] {
            assert!(top(filter).contains(&glucose), "{filter}");
        }
    }
}

#[test]
fn expand_pages_and_languages() {
    for app in apps() {
        let page = |q: &str| {
            app.get(&format!(
                "/fhir/ValueSet/$expand?url={}&{q}",
                enc(NATIONAL_VS)
            ))
        };
        let all = page("count=1000");
        let total = all.body["expansion"]["total"].as_u64().unwrap() as usize;
        assert_eq!(all.expansion_codes().len(), total);
        let p1 = page("count=10&offset=0").expansion_codes();
        let p2 = page("count=10&offset=10").expansion_codes();
        assert_eq!(p1.len(), 10);
        assert_eq!([p1, p2].concat(), all.expansion_codes()[..20].to_vec());
        let en = page("filter=ALT&count=1&displayLanguage=en");
        assert_eq!(
            en.body["expansion"]["contains"][0]["display"],
            "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma"
        );
        let zh = page("filter=ALT&count=1");
        assert_eq!(
            zh.body["expansion"]["contains"][0]["display"],
            "丙氨酸氨基转移酶"
        );
        // LOINC's implicit value set is searchable too.
        let loinc = app.get(
            "/fhir/ValueSet/$expand?url=http%3A%2F%2Floinc.org%2Fvs&filter=hemoglobin&count=3",
        );
        assert_eq!(loinc.status, 200, "{:#}", loinc.body);
        assert!(!loinc.expansion_codes().is_empty());
    }
}

#[test]
fn translate_both_directions() {
    for app in apps() {
        let glucose = national_of("14749-6");
        for query in [
            "system=http%3A%2F%2Floinc.org&code=14749-6&targetsystem=NATIONAL".to_string(),
            format!(
                "system=http%3A%2F%2Floinc.org&code=14749-6&targetsystem={}",
                enc(NATIONAL)
            ),
        ] {
            let a = app.get(&format!("/fhir/ConceptMap/$translate?{query}"));
            assert_eq!(a.status, 200, "{:#}", a.body);
            assert_eq!(a.param("result").unwrap()["valueBoolean"], true);
            let m = a.param("match").unwrap();
            let concept = m["part"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "concept")
                .unwrap();
            assert_eq!(concept["valueCoding"]["code"], glucose.as_str());
            assert_eq!(concept["valueCoding"]["system"], NATIONAL);
        }
        for query in [
            format!(
                "system={}&code={glucose}&targetsystem=http%3A%2F%2Floinc.org",
                enc(NATIONAL)
            ),
            format!("system={}&code={glucose}&reverse=true", enc(NATIONAL)),
        ] {
            let a = app.get(&format!("/fhir/ConceptMap/$translate?{query}"));
            assert_eq!(a.status, 200, "{:#}", a.body);
            assert_eq!(a.param("result").unwrap()["valueBoolean"], true, "{query}");
            let m = a.param("match").unwrap();
            let concept = m["part"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "concept")
                .unwrap();
            assert_eq!(concept["valueCoding"]["code"], "14749-6");
        }
        let none = app.get("/fhir/ConceptMap/$translate?system=http%3A%2F%2Floinc.org&code=99999-9&targetsystem=NATIONAL");
        assert_eq!(none.status, 200);
        assert_eq!(none.param("result").unwrap()["valueBoolean"], false);
        let map = app.get("/fhir/ConceptMap/loinc-national-lab");
        assert_eq!(map.status, 200, "{:#}", map.body);
        assert_eq!(map.body["resourceType"], "ConceptMap");
        assert!(map.body["group"][0]["element"].as_array().unwrap().len() >= 76);
    }
}

#[test]
fn code_system_read_search_and_summary() {
    for app in apps() {
        let full = app.get("/fhir/CodeSystem/national-lab");
        assert_eq!(full.status, 200, "{:#}", full.body);
        assert_eq!(full.body["url"], NATIONAL);
        assert_eq!(full.body["content"], "complete");
        let count = full.body["count"].as_u64().unwrap() as usize;
        assert_eq!(full.body["concept"].as_array().unwrap().len(), count);
        let summary = app.get("/fhir/CodeSystem/national-lab?_summary=true");
        assert!(summary.body.get("concept").is_none());
        let page = app.get("/fhir/CodeSystem/loinc?_count=50&_offset=100");
        assert_eq!(page.body["content"], "fragment");
        assert_eq!(page.body["concept"].as_array().unwrap().len(), 50);
        let search = app.get(&format!("/fhir/CodeSystem?url={}", enc(NATIONAL)));
        assert_eq!(search.body["resourceType"], "Bundle");
        assert_eq!(search.body["total"], 1);
        assert_eq!(search.body["entry"][0]["resource"]["url"], NATIONAL);
        assert_eq!(search.body["entry"][0]["search"]["mode"], "match");
        let both = app.get("/fhir/CodeSystem");
        assert_eq!(both.body["total"], 2);
    }
}
