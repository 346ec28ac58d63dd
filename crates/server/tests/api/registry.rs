//! Releases side by side: importing a new national table, versioned lookups, the diff, and an
//! invalid table that writes nothing — on SQLite and PostgreSQL.

use crate::helpers::{apps, enc};
use huren::registry_ops::{ImportOutcome, import_codes};
use huren_core::CodeSystem;
use huren_core::ports::RegistryStore;
use huren_store::Store;

const NATIONAL: &str = "http://huren.example/fhir/CodeSystem/national-lab";

/// The seed table with ALT deprecated in favour of a new code, one name changed, one added.
pub(crate) fn next_release() -> (String, String, String) {
    let text = std::str::from_utf8(huren::seed::NATIONAL_TABLE).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let alt_idx = lines.iter().position(|l| l.contains(",1742-6,")).unwrap();
    let alt_code = lines[alt_idx].split(',').next().unwrap().to_owned();
    let new_code = huren_core::code::national_code(9_900_001).unwrap();
    let added = lines[alt_idx].replacen(&alt_code, &new_code, 1);
    lines[alt_idx] = lines[alt_idx].replace(",ACTIVE,,", &format!(",DEPRECATED,{new_code},"));
    lines.push(added);
    let hb = lines.iter().position(|l| l.contains(",718-7,")).unwrap();
    lines[hb] = lines[hb].replace(",血红蛋白,", ",血红蛋白(HGB),");
    (lines.join("\n") + "\n", alt_code, new_code)
}

#[test]
fn a_second_release_lives_beside_the_first() {
    for app in apps() {
        let store = Store::connect(app.db.url()).unwrap();
        let (table, alt, replacement) = next_release();
        // Asked before the new release: the answer is kept with the catalog, served the same
        // the second time, and must not outlive the catalog (checked below).
        let lookup_alt = format!(
            "/fhir/CodeSystem/$lookup?system={}&code={alt}",
            enc(NATIONAL)
        );
        let first = app.get(&lookup_alt);
        assert_eq!(first.property("STATUS").unwrap()["valueCode"], "ACTIVE");
        assert_eq!(app.get(&lookup_alt).body, first.body);
        let outcome = import_codes(
            &store,
            table.as_bytes(),
            CodeSystem::National,
            "2026.2",
            "test",
            &mut |_| {},
        )
        .unwrap();
        assert!(
            matches!(outcome, ImportOutcome::Imported(ref r) if r.label == "2026.2"),
            "{outcome:?}"
        );
        // The running server notices the new release within its refresh period.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let a = app.get(&format!(
                "/fhir/CodeSystem/$lookup?system={}&code={replacement}",
                enc(NATIONAL)
            ));
            if a.status == 200 {
                assert_eq!(a.param("version").unwrap()["valueString"], "2026.2");
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "new release not served: {:#}",
                a.body
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        let old = app.get(&format!(
            "/fhir/CodeSystem/$lookup?system={}&code={alt}&version=2026.1",
            enc(NATIONAL)
        ));
        assert_eq!(old.property("STATUS").unwrap()["valueCode"], "ACTIVE");
        let now = app.get(&lookup_alt);
        assert_eq!(now.property("STATUS").unwrap()["valueCode"], "DEPRECATED");
        assert_eq!(
            now.property("replaced-by").unwrap()["valueCode"],
            replacement.as_str()
        );
        let v = app.get(&format!(
            "/fhir/CodeSystem/$validate-code?url={}&code={alt}",
            enc(NATIONAL)
        ));
        assert_eq!(v.param("result").unwrap()["valueBoolean"], false);
        assert!(
            v.param("message").unwrap()["valueString"]
                .as_str()
                .unwrap()
                .contains(&replacement)
        );
        let old_valid = app.get(&format!(
            "/fhir/CodeSystem/$validate-code?url={}&code={alt}&version=2026.1",
            enc(NATIONAL)
        ));
        assert_eq!(old_valid.param("result").unwrap()["valueBoolean"], true);

        let diff = app.get("/api/registry/diff?system=national&from=2026.1&to=2026.2");
        assert_eq!(diff.status, 200, "{:#}", diff.body);
        assert_eq!(diff.body["added"], serde_json::json!([replacement]));
        assert_eq!(diff.body["deprecated"], serde_json::json!([alt]));
        assert_eq!(diff.body["changed"].as_array().unwrap().len(), 1);
        assert_eq!(diff.body["removed"], serde_json::json!([]));
        let cli_diff =
            huren::registry_ops::diff(&store, CodeSystem::National, "2026.1", "2026.2").unwrap();
        assert_eq!(cli_diff.added, vec![replacement.clone()]);

        // The same label twice is refused, and nothing is written.
        let again = import_codes(
            &store,
            table.as_bytes(),
            CodeSystem::National,
            "2026.2",
            "test",
            &mut |_| {},
        );
        assert!(again.is_err());
        assert_eq!(store.releases().unwrap().len(), 3);
    }
}

#[test]
fn an_invalid_table_reports_every_row_and_writes_nothing() {
    for app in apps() {
        let store = Store::connect(app.db.url()).unwrap();
        let before = store.releases().unwrap().len();
        let text = std::str::from_utf8(huren::seed::NATIONAL_TABLE).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        // line 3: bad check digit; line 4: missing axis; line 5: duplicate of line 2;
        // line 6: unknown unit; line 7: a LOINC code used as a national code.
        let code2 = lines[1].split(',').next().unwrap().to_owned();
        let code3 = lines[2].split(',').next().unwrap().to_owned();
        let (body, digit) = code3.split_once('-').unwrap();
        let bad = format!("{body}-{}", (digit.parse::<u8>().unwrap() + 1) % 10);
        lines[2] = lines[2].replacen(&code3, &bad, 1);
        let mut cells: Vec<String> = lines[3].split(',').map(str::to_owned).collect();
        cells[3] = String::new(); // property
        lines[3] = cells.join(",");
        let code5 = lines[4].split(',').next().unwrap().to_owned();
        lines[4] = lines[4].replacen(&code5, &code2, 1);
        let unit = lines[5].split(',').nth(15).unwrap().to_owned();
        assert!(!unit.is_empty(), "line 6 of the seed should have a unit");
        lines[5] = lines[5].replace(&format!(",{unit},"), ",K/ul/,");
        let code7 = lines[6].split(',').next().unwrap().to_owned();
        lines[6] = lines[6].replacen(&code7, "718-7", 1);
        let table = lines.join("\n");
        let outcome = import_codes(
            &store,
            table.as_bytes(),
            CodeSystem::National,
            "broken",
            "test",
            &mut |_| {},
        )
        .unwrap();
        let ImportOutcome::Rejected(problems) = outcome else {
            panic!("accepted a broken table")
        };
        let got: Vec<(u64, Option<&str>)> = problems
            .iter()
            .map(|p| (p.line, p.column.as_deref()))
            .collect();
        for expected in [
            (3, Some("code")),
            (4, Some("property")),
            (5, Some("code")),
            (6, Some("ucum_unit")),
            (7, Some("code")),
        ] {
            assert!(
                got.contains(&expected),
                "missing {expected:?} in {problems:#?}"
            );
        }
        assert_eq!(
            store.releases().unwrap().len(),
            before,
            "nothing may be written"
        );
    }
}
