//! `huren import catalogue|eqa|iqc`: the built binary against a fresh SQLite database. Items
//! named by national, LOINC or local code all end up under their national code; a file with any
//! bad row is reported by line and column and writes nothing.

use crate::normalize_cli::{Db, huren};
use huren_core::HospitalId;
use huren_core::ports::QualityStore;
use huren_testkit::repo_root;

fn store(db: &Db) -> huren_store::Store {
    huren_store::Store::connect(&db.url).unwrap()
}

#[test]
fn the_shipped_catalogue_imports() {
    let db = Db::new();
    let file = repo_root().join("code-tables/catalogue.csv");
    let r = huren(&[
        "import",
        "catalogue",
        file.to_str().unwrap(),
        "--db",
        &db.url,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("70 catalogue row(s) imported"),
        "{}",
        r.stdout
    );
    let catalogue = store(&db).catalogue().unwrap();
    assert_eq!(catalogue.len(), 70);
    assert!(
        catalogue
            .iter()
            .any(|e| e.national_code == "9000033-2" && e.mark == "鄂HR" && e.validity_days == 30)
    );
}

#[test]
fn eqa_and_iqc_by_national_loinc_and_local_code() {
    let db = Db::new();
    let eqa = db.file(
        "eqa.csv",
        "national_code,loinc,local_code,program,event,event_date,samples,acceptable\n\
         9000033-2,,,NCCL,2026-1,2026-03-15,5,5\n\
         ,14749-6,,NCCL,2026-2,2026-09-01,5,4\n\
         ,,001,NCCL,2026-2,2026-09-01,5,5\n"
            .as_bytes(),
    );
    let args = |kind: &'static str, file: &std::path::Path| {
        huren(&[
            "import",
            kind,
            "--hospital",
            "hosp-a",
            file.to_str().unwrap(),
            "--db",
            &db.url,
        ])
    };
    let r = args("eqa", &eqa);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("3 eqa row(s) imported for hosp-a"),
        "{}",
        r.stdout
    );
    let a = HospitalId::parse("hosp-a").unwrap();
    let glucose = store(&db).eqa_events(&a, "9000033-2").unwrap();
    assert_eq!(glucose.len(), 2);
    // Local code 001 is white cells in hosp-a's approved table.
    assert_eq!(store(&db).eqa_events(&a, "9000001-9").unwrap().len(), 1);

    let iqc = db.file(
        "iqc.csv",
        "loinc,run_at,control_level,value,target_mean,target_sd\n\
         14749-6,2026-11-20T08:12:00+08:00,1,5.62,5.50,0.12\n\
         14749-6,2026-11-20T08:12:00+08:00,2,15.1,15.0,0.3\n"
            .as_bytes(),
    );
    let r = args("iqc", &iqc);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let controls = store(&db)
        .iqc_observations(&a, "9000033-2", 0, i64::MAX)
        .unwrap();
    assert_eq!(controls.len(), 2);
}

#[test]
fn a_file_with_bad_rows_writes_nothing_and_names_each_row() {
    let db = Db::new();
    let eqa = db.file(
        "bad-eqa.csv",
        "national_code,loinc,local_code,program,event,event_date,samples,acceptable\n\
         9000033-2,,,NCCL,2026-1,2026-03-15,5,5\n\
         9000033-3,,,NCCL,2026-1,2026-03-15,5,5\n\
         ,99999-9,,NCCL,2026-1,2026-03-15,5,5\n\
         ,,zzz,NCCL,2026-1,2026-03-15,5,5\n\
         9000033-2,,,NCCL,2026-2,2026-03-15,5,9\n"
            .as_bytes(),
    );
    let r = huren(&[
        "import",
        "eqa",
        "--hospital",
        "hosp-a",
        eqa.to_str().unwrap(),
        "--db",
        &db.url,
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let file = eqa.display().to_string();
    for expected in [
        format!("{file}:3: national_code: `9000033-3` is not a code"),
        format!("{file}:4: loinc: no national code is cross-referenced to LOINC `99999-9`"),
        format!("{file}:5: local_code: local code `zzz` has no approved mapping at hosp-a"),
        format!("{file}:6: acceptable: 9 acceptable samples of 5"),
        format!("{file}: 4 problem(s); nothing was written"),
    ] {
        assert!(r.stderr.contains(&expected), "{expected}\n{}", r.stderr);
    }
    let a = HospitalId::parse("hosp-a").unwrap();
    assert!(store(&db).eqa_events(&a, "9000033-2").unwrap().is_empty());
    // An unknown laboratory is refused before reading.
    let r = huren(&[
        "import",
        "iqc",
        "--hospital",
        "nowhere",
        eqa.to_str().unwrap(),
        "--db",
        &db.url,
    ]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("no hospital `nowhere`"), "{}", r.stderr);
}
