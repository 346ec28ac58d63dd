//! Golden files for the FHIR operations: the exact JSON a client receives. Run with
//! `UPDATE_GOLDEN=1` to rewrite them after an intended change, and review the diff.

use crate::helpers::{enc, national_of, spawn_app};
use huren_testkit::TestDb;
use serde_json::Value;
use std::path::PathBuf;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Replaces values that change from run to run.
fn normalize(mut v: Value) -> Value {
    if let Some(exp) = v.get_mut("expansion")
        && exp.get("timestamp").is_some()
    {
        exp["timestamp"] = Value::String("<timestamp>".into());
    }
    v
}

#[test]
fn fhir_operations_match_golden_files() {
    let app = spawn_app(TestDb::sqlite());
    let nat = enc("http://huren.example/fhir/CodeSystem/national-lab");
    let glucose = national_of("14749-6");
    let cases: Vec<(&str, String)> = vec![
        ("metadata", "/fhir/metadata".into()),
        ("lookup-national-glucose", format!("/fhir/CodeSystem/$lookup?system={nat}&code={glucose}")),
        ("lookup-loinc-glucose", "/fhir/CodeSystem/$lookup?system=http%3A%2F%2Floinc.org&code=14749-6&displayLanguage=en".into()),
        ("validate-code-ok", format!("/fhir/CodeSystem/$validate-code?url={nat}&code={glucose}&display=GLU")),
        ("validate-code-bad-display", format!("/fhir/CodeSystem/$validate-code?url={nat}&code={glucose}&display={}", enc("尿素"))),
        ("expand-xuetang", format!("/fhir/ValueSet/$expand?url={}&filter={}&count=3", enc("http://huren.example/fhir/ValueSet/national-lab"), enc("血糖"))),
        ("translate-loinc-to-national", "/fhir/ConceptMap/$translate?system=http%3A%2F%2Floinc.org&code=14749-6&targetsystem=NATIONAL".into()),
        ("lookup-unknown", "/fhir/CodeSystem/$lookup?system=http%3A%2F%2Floinc.org&code=99999-9".into()),
    ];
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for (name, path) in cases {
        let a = if name == "metadata" {
            app.get_as(&path, None)
        } else {
            app.get(&path)
        };
        let got = normalize(a.body);
        let file = golden_dir().join(format!("{name}.json"));
        let pretty = serde_json::to_string_pretty(&got).unwrap() + "\n";
        if update {
            std::fs::create_dir_all(golden_dir()).unwrap();
            std::fs::write(&file, &pretty).unwrap();
            continue;
        }
        match std::fs::read_to_string(&file) {
            Ok(expected) => {
                let expected: Value = serde_json::from_str(&expected).unwrap();
                if expected != got {
                    failures.push(format!(
                        "{name}: response differs from {}\n{pretty}",
                        file.display()
                    ));
                }
            }
            Err(_) => failures.push(format!(
                "{name}: no golden file {} (run with UPDATE_GOLDEN=1)",
                file.display()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
