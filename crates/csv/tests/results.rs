//! Results files as hospitals export them: every encoding and delimiter `decode` reads, and a
//! file with many bad rows. The files are in `tests/data/`.

use huren_core::registry::RowProblem;
use huren_core::result::{
    CodeOrigin, Comparator, Identifier, LabResult, PatientIdPolicy, ResultStatus, SentValue, Sex,
};
use huren_csv::{ResultsError, ResultsOptions, parse_results};
use std::path::Path;

const RESULT_SYSTEM: &str = "https://huren.example/hospital/hosp-a/result";
const PATIENT_SYSTEM: &str = "https://huren.example/hospital/hosp-a/patient";
const NATIONAL_SYSTEM: &str = "urn:oid:2.16.156.10011.1.1";

fn read(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

fn parse(name: &str) -> Result<Vec<LabResult>, ResultsError> {
    let patients = PatientIdPolicy {
        national_system: NATIONAL_SYSTEM.into(),
        national_types: vec!["NNCHN".into()],
        hospital_system: PATIENT_SYSTEM.into(),
    };
    let options = ResultsOptions {
        patients: &patients,
        default_offset_minutes: 480,
        result_id_system: RESULT_SYSTEM,
    };
    parse_results(&read(name), &options)
}

fn clean(name: &str) -> Vec<LabResult> {
    match parse(name) {
        Ok(results) => results,
        Err(e) => panic!("{name}: {e}"),
    }
}

/// The value as `comparator value unit`, or the text, or `-`.
fn value(r: &LabResult) -> String {
    match &r.value {
        SentValue::Quantity {
            value,
            comparator,
            unit,
        } => format!(
            "{}{value} {unit}",
            comparator.map_or("", Comparator::as_str)
        )
        .trim_end()
        .to_owned(),
        SentValue::Text { text } => format!("text {text}"),
        SentValue::Coded { code, .. } => format!("coded {code}"),
        SentValue::Absent => "-".into(),
        other => format!("{other:?}"),
    }
}

#[test]
fn utf8_file_from_excel() {
    let bytes = read("results-utf8.csv");
    assert!(bytes.windows(2).any(|w| w == b"\r\n"), "Excel's line ends");
    let results = clean("results-utf8.csv");
    let sources: Vec<&str> = results.iter().map(|r| r.source.as_str()).collect();
    // The quoted note of line 3 spans two lines.
    assert_eq!(
        sources,
        ["line 2", "line 3", "line 5", "line 6", "line 7", "line 8"]
    );
    let values: Vec<String> = results.iter().map(value).collect();
    assert_eq!(
        values,
        [
            "6.30 mmol/L",
            "<0.005 mIU/L",
            "text 阴性",
            ">=200 mg/L",
            "text 1+",
            "-"
        ]
    );
    let glu = &results[0];
    assert_eq!(
        glu.identifier,
        Some(Identifier::new(RESULT_SYSTEM, "A0001"))
    );
    assert_eq!(
        glu.patient.identifiers,
        [
            Identifier::new(PATIENT_SYSTEM, "0012345"),
            Identifier::new(NATIONAL_SYSTEM, "11010519491231002X"),
        ]
    );
    assert_eq!(glu.patient.sex, Some(Sex::Female));
    assert_eq!(glu.patient.birth_date.as_deref(), Some("1980-05-03"));
    let code = glu.local_code().unwrap();
    assert_eq!(
        (&code.origin, code.code.as_str(), code.display.as_str()),
        (&CodeOrigin::Local, "GLU", "葡萄糖")
    );
    assert_eq!(glu.reference_range.as_ref().unwrap().text, "3.9-6.1");
    assert_eq!(glu.effective.as_deref(), Some("2026-11-20T08:12:00+08:00"));
    assert_eq!(glu.issued.as_deref(), Some("2026-11-20T10:30:05+08:00"));
    assert_eq!(glu.performer.as_deref(), Some("LAB01"));
    assert_eq!(glu.specimen, "血清");
    assert_eq!(results[1].patient.identifiers.len(), 1);

    let statuses: Vec<ResultStatus> = results.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            ResultStatus::Final,
            ResultStatus::Final,
            ResultStatus::Final,
            ResultStatus::Preliminary,
            ResultStatus::Corrected,
            ResultStatus::Cancelled,
        ]
    );
    let flags: Vec<Vec<String>> = results.iter().map(|r| r.interpretation.clone()).collect();
    assert_eq!(
        flags,
        [
            vec!["H"],
            vec!["L"],
            vec!["N"],
            vec!["HH"],
            vec!["A"],
            vec![]
        ]
    );
    assert_eq!(results[3].patient.birth_date.as_deref(), Some("1952-01-01"));
    assert_eq!(results[3].patient.sex, Some(Sex::Male));
    assert_eq!(results[4].patient.birth_date.as_deref(), Some("1952-01-01"));
    assert_eq!(results[4].effective.as_deref(), Some("2026-11-20"));
    assert_eq!(results[5].issued, None);
}

#[test]
fn gbk_file() {
    let bytes = read("results-gbk.csv");
    assert!(std::str::from_utf8(&bytes).is_err(), "really GBK");
    let results = clean("results-gbk.csv");
    assert_eq!(results.len(), 6);
    let r = &results[0];
    assert_eq!(
        r.patient.identifiers,
        [Identifier::new(PATIENT_SYSTEM, "住院123")]
    );
    assert_eq!(r.patient.sex, Some(Sex::Male));
    assert_eq!(r.local_code().unwrap().display, "葡萄糖");
    assert_eq!(r.performer.as_deref(), Some("检验科"));
    let values: Vec<String> = results.iter().map(value).collect();
    assert_eq!(
        values,
        [
            "5.60 mmol/L",
            "12.5 10^9/L",
            "98 g/L",
            "text 阳性",
            "text 阴性",
            "<=44 μmol/L"
        ]
    );
    let flags: Vec<&str> = results
        .iter()
        .map(|r| r.interpretation[0].as_str())
        .collect();
    assert_eq!(flags, ["N", "H", "L", "POS", "NEG", "L"]);
    assert_eq!(results[5].specimen, "血清");
    assert_eq!(results[4].patient.sex, Some(Sex::Female));
}

#[test]
fn utf8_bom_file_with_excel_dates() {
    let bytes = read("results-bom.csv");
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
    let results = clean("results-bom.csv");
    assert_eq!(results.len(), 2);
    assert_eq!(
        results[0].identifier,
        Some(Identifier::new(RESULT_SYSTEM, "C1")),
        "the BOM is not part of the first column's name"
    );
    assert_eq!(results[0].patient.birth_date.as_deref(), Some("1960-07-09"));
    assert_eq!(
        results[0].effective.as_deref(),
        Some("2026-11-20T08:05:00+08:00")
    );
    assert_eq!(
        results[0].issued.as_deref(),
        Some("2026-11-20T09:10:00+08:00")
    );
    assert_eq!(
        results[1].issued.as_deref(),
        Some("2026-11-20T09:10:15+08:00")
    );
    assert_eq!(value(&results[1]), "0.50 U/L", "the digits are kept");
    assert_eq!(results[1].source, "line 3");
}

#[test]
fn semicolon_file() {
    let results = clean("results-semicolon.csv");
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].local_code().unwrap().display, "Glucose, fasting");
    assert_eq!(value(&results[0]), "4.8 mmol/L");
    assert_eq!(results[0].patient.sex, Some(Sex::Female));
    assert_eq!(value(&results[1]), "text positive");
    assert_eq!(results[1].interpretation, ["POS"]);
    assert_eq!(
        results[1].reference_range.as_ref().unwrap().text,
        "negative"
    );
}

#[test]
fn every_bad_row_is_reported_with_its_line() {
    let Err(ResultsError::Rows(problems)) = parse("results-bad.csv") else {
        panic!("the bad file must be refused row by row")
    };
    let got: Vec<(u64, Option<&str>)> = problems
        .iter()
        .map(|p: &RowProblem| (p.line, p.column.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (4, Some("collected_at")),
            (5, Some("patient_sex")),
            (7, Some("flag")),
            (8, Some("result_id")),
            (10, Some("value")),
            (11, None),
            (11, Some("patient_birth_date")),
            (11, Some("collected_at")),
            (12, Some("value")),
            (12, Some("collected_at")),
            (12, Some("reported_at")),
            (13, Some("reported_at")),
        ],
        "{problems:#?}"
    );
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        text[0],
        "line 4, column collected_at: `2026-13-01 08:00` is not a date-time (expected YYYY-MM-DD HH:MM[:SS][±HH:MM])"
    );
    assert_eq!(
        text[3],
        "line 8, column result_id: duplicate result_id `E1` (first on line 2)"
    );
    assert!(text[5].contains("the row has 16 cells but the header has 15 columns"));
    assert!(
        text[7].contains("`F` is not a date-time"),
        "the shifted cells"
    );
    assert!(text[8].contains("decimal comma or thousands separator"));
    assert!(text[10].contains("has no time"));
    assert!(text[11].contains("before it was collected"));
    // The error's message lists them all.
    let e = parse("results-bad.csv").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("12 problem(s): line 4, column collected_at")
    );
}
