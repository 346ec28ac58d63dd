//! `huren normalize`: the built binary on CSV, HL7 v2 and FHIR files against a fresh SQLite
//! database: Observations on stdout (NDJSON), problems on stderr by line, exit status 0/1/2,
//! nothing written.

use huren_core::HospitalId;
use huren_core::observation::ObservationQuery;
use huren_core::ports::{ObservationStore, RegistryStore};
use huren_testkit::repo_root;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// The stdout lines, each parsed as JSON.
    fn observations(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

pub(crate) fn huren(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_huren"))
        .args(args)
        .env_remove("HUREN_DB")
        .env_remove("HUREN_CANONICAL_BASE")
        .env("HUREN_LOG", "warn")
        .output()
        .unwrap();
    Run {
        code: out.status.code().expect("an exit code"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// A fresh SQLite database with the example hospitals and hosp-a's reviewed mapping table.
pub(crate) struct Db {
    dir: tempfile::TempDir,
    pub(crate) url: String,
}

impl Db {
    pub(crate) fn new() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("huren.db").display());
        let mappings = repo_root().join("mappings");
        let r = huren(&[
            "import",
            "hospitals",
            mappings.join("hospitals.csv").to_str().unwrap(),
            "--db",
            &url,
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let r = huren(&[
            "import",
            "mappings",
            "--hospital",
            "hosp-a",
            mappings.join("hosp-a-zh.csv").to_str().unwrap(),
            "--status",
            "approved",
            "--two-person-rule",
            "false",
            "--db",
            &url,
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        Db { dir, url }
    }

    pub(crate) fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    fn normalize(&self, hospital: &str, file: &Path) -> Run {
        huren(&[
            "normalize",
            "--hospital",
            hospital,
            file.to_str().unwrap(),
            "--db",
            &self.url,
        ])
    }

    /// Every stored Observation of hosp-a, held or not.
    fn stored(&self) -> usize {
        let store = huren_store::Store::connect(&self.url).unwrap();
        assert!(!store.releases().unwrap().is_empty());
        store
            .search_observations(&ObservationQuery {
                hospital: Some(HospitalId::parse("hosp-a").unwrap()),
                subject: None,
                codes: Vec::new(),
                effective_from: None,
                effective_to: None,
                include_held: true,
                limit: 100,
                offset: 0,
            })
            .unwrap()
            .len()
    }
}

/// The code of `system` in an Observation's `code.coding`.
fn code_of<'v>(o: &'v Value, system_suffix: &str) -> Option<&'v str> {
    o["code"]["coding"].as_array()?.iter().find(|c| {
        c["system"]
            .as_str()
            .is_some_and(|s| s.ends_with(system_suffix))
    })?["code"]
        .as_str()
}

const CSV: &str = "\
result_id,patient_id,patient_national_id,local_code,local_name,value,unit,ref_range,flag,status,collected_at
R1,P100,110101198503120012,001,白细胞计数,6.30,x10^9/L,3.5-9.5,N,F,2026-11-20 08:12
R2,P100,110101198503120012,016,葡萄糖,126,mg/dl,70-110,H,F,2026-11-20 08:12
";

#[test]
fn a_csv_file_becomes_one_observation_per_line() {
    let db = Db::new();
    let file = db.file("results.csv", CSV.as_bytes());
    let r = db.normalize("hosp-a", &file);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let obs = r.observations();
    assert_eq!(obs.len(), 2, "{}", r.stdout);
    for o in &obs {
        assert_eq!(o["resourceType"], "Observation");
        assert_eq!(o["subject"]["identifier"]["value"], "110101198503120012");
    }
    assert_eq!(
        code_of(&obs[0], "/national-lab"),
        Some(crate::helpers::national_of("6690-2").as_str())
    );
    assert_eq!(obs[0]["valueQuantity"]["code"], "10*9/L");
    // 126 mg/dL glucose is reported in the national unit.
    assert_eq!(obs[1]["valueQuantity"]["code"], "mmol/L", "{}", obs[1]);
    assert!(
        r.stderr.contains("2 result(s): 2 normalized, 0 held"),
        "{}",
        r.stderr
    );
    assert_eq!(db.stored(), 0, "normalize writes nothing");
}

#[test]
fn problems_and_held_results_are_reported_by_line_with_exit_status_1() {
    let db = Db::new();
    // A bad date: the file is refused with the line and column.
    let bad = CSV.replacen("2026-11-20 08:12\nR2", "2026-13-40 08:12\nR2", 1);
    let file = db.file("bad.csv", bad.as_bytes());
    let r = db.normalize("hosp-a", &file);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    let expected = format!("{}: line 2, column collected_at: ", file.display());
    assert!(r.stderr.contains(&expected), "{}", r.stderr);
    assert!(r.stderr.contains("2026-13-40"), "{}", r.stderr);

    // A local code without a mapping: held, named by line; the others still come out.
    let held = format!("{CSV}R3,P100,,ZZZ,神秘检验,1,mmol/L,,,F,2026-11-20 08:12\n");
    let file = db.file("held.csv", held.as_bytes());
    let r = db.normalize("hosp-a", &file);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.observations().len(), 2);
    let expected = format!("{}: line 4: held: local code `ZZZ`", file.display());
    assert!(r.stderr.contains(&expected), "{}", r.stderr);
    assert_eq!(db.stored(), 0, "nothing held is recorded either");
}

#[test]
fn hl7_files_with_several_messages_are_normalized() {
    let db = Db::new();
    let data = repo_root().join("crates/hl7v2/tests/data");
    let cbc = std::fs::read(data.join("cbc.hl7")).unwrap();
    let r = db.normalize("hosp-a", &data.join("cbc.hl7"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let obs = r.observations();
    assert_eq!(obs.len(), 4, "{}", r.stdout);
    for (o, loinc) in obs.iter().zip(["6690-2", "789-8", "718-7", "777-3"]) {
        assert_eq!(code_of(o, "loinc.org"), Some(loinc), "{o}");
        assert_eq!(
            code_of(o, "/national-lab"),
            Some(crate::helpers::national_of(loinc).as_str())
        );
    }
    assert_eq!(obs[0]["valueQuantity"]["value"].as_f64(), Some(6.3));

    // Two messages, MLLP-framed and with blank lines, the second with a bad value: problems
    // name the file line and the segment.
    let second = String::from_utf8(cbc.clone())
        .unwrap()
        .replacen("||6.30|", "||6,30|", 1);
    let mut file = huren_hl7v2::mllp::frame(&cbc);
    file.extend(b"\n\n");
    file.extend(huren_hl7v2::mllp::frame(second.as_bytes()));
    let path = db.file("two.hl7", &file);
    let r = db.normalize("hosp-a", &path);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // The bad OBX is refused on its own, as the listener would: the other three are taken.
    assert_eq!(r.observations().len(), 7, "{}", r.stderr);
    let segments = cbc.split(|b| *b == b'\r').filter(|s| !s.is_empty()).count();
    // The second message starts after the first's lines and the two blank lines; its WBC is
    // its sixth segment.
    let line = segments + 2 + 6;
    let expected = format!(
        "{}: line {line}, segment 6 (OBX), field 5: \"6,30\" is not a number",
        path.display()
    );
    assert!(r.stderr.contains(&expected), "{expected}\n{}", r.stderr);
    assert!(!r.stderr.contains("refused as a whole"), "{}", r.stderr);
}

#[test]
fn fhir_files_are_read_too() {
    let db = Db::new();
    let path = repo_root().join("crates/testkit/data/fhir-r4-examples/Observation-f001.json");
    let r = db.normalize("hosp-a", &path);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.observations().len(), 1);
    let bad = db.file(
        "bad.json",
        b"{\"resourceType\": \"Observation\",\n \"status\": }",
    );
    let r = db.normalize("hosp-a", &bad);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("line 2, column"), "{}", r.stderr);
}

#[test]
fn usage_and_io_errors_exit_with_2() {
    let db = Db::new();
    let file = db.file("results.csv", CSV.as_bytes());
    let r = db.normalize("hosp-x", &file);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no hospital `hosp-x`"), "{}", r.stderr);
    let r = db.normalize("hosp-a", &db.dir.path().join("missing.csv"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("missing.csv"), "{}", r.stderr);
    let r = huren(&["normalize", file.to_str().unwrap()]);
    assert_eq!(r.code, 2, "clap: --hospital is required");
}
