//! A laboratory's quality data as its lab manager exports it: EQA events (室间质评) and IQC
//! control results (室内质控), one row each.
//!
//! Items are named by `national_code`, `loinc` or the lab's own `local_code` (the first that is
//! filled); resolving the last two needs the registry and the lab's mappings, so it is left to
//! the caller. Dates and times are FHIR `date`/`dateTime` values, as in the results CSV; a date
//! or time without a zone is taken in China time (+08:00).

use crate::CsvError;
use crate::recognition::{ITEM_COLUMNS, ItemRef, item_ref, parse_bool, read_table};
use huren_core::observation::fhir_instant_millis;
use huren_core::qc::{CHINA_OFFSET_MINUTES, ControlObservation, EqaEvent, day_of};
use huren_core::registry::RowProblem;
use huren_core::result::Decimal;

/// One EQA row: the item as named, and the event.
#[derive(Debug, Clone, PartialEq)]
pub struct EqaRow {
    pub line: u64,
    pub item: ItemRef,
    pub event: EqaEvent,
}

/// One IQC row: the item as named, and the control observation.
#[derive(Debug, Clone, PartialEq)]
pub struct IqcRow {
    pub line: u64,
    pub item: ItemRef,
    pub observation: ControlObservation,
}

/// Reads EQA events: columns `national_code|loinc|local_code, program, event, event_date,
/// samples, acceptable` and optionally `passed`.
pub fn parse_eqa(bytes: &[u8]) -> Result<(Vec<EqaRow>, Vec<RowProblem>), CsvError> {
    let required = ["program", "event", "event_date", "samples", "acceptable"];
    read_table(
        bytes,
        &required,
        &ITEM_COLUMNS,
        &mut |columns, line, record, bad| {
            let item = item_ref(columns, record, bad);
            let mut text = |column: &str| {
                let v = columns.cell(record, column).to_owned();
                if v.is_empty() {
                    bad(column, format!("{column} is empty"));
                }
                v
            };
            let program = text("program");
            let event = text("event");
            let date_text = columns.cell(record, "event_date");
            let date = fhir_instant_millis(date_text, CHINA_OFFSET_MINUTES)
                .map(|ms| day_of(ms.div_euclid(1000), CHINA_OFFSET_MINUTES));
            if date.is_none() {
                bad(
                    "event_date",
                    format!("`{date_text}` is not a date (YYYY-MM-DD)"),
                );
            }
            let mut count = |column: &str| {
                let v = columns.cell(record, column);
                v.parse::<u32>().map_err(|_| {
                    bad(column, format!("`{v}` is not a whole number"));
                })
            };
            let (samples, acceptable) = (count("samples"), count("acceptable"));
            if let (Ok(s), Ok(a)) = (samples, acceptable)
                && a > s
            {
                bad(
                    "acceptable",
                    format!("{a} acceptable samples of {s}: more than the event had"),
                );
            }
            let passed_text = columns.cell(record, "passed");
            let passed = if passed_text.is_empty() {
                None
            } else {
                let p = parse_bool(passed_text);
                if p.is_none() {
                    bad("passed", format!("`{passed_text}` is not true or false"));
                }
                p
            };
            Some(EqaRow {
                line,
                item: item?,
                event: EqaEvent {
                    program,
                    event,
                    date: date?,
                    samples: samples.ok()?,
                    acceptable: acceptable.ok()?,
                    passed,
                },
            })
        },
    )
}

/// Reads IQC control results: columns `national_code|loinc|local_code, run_at, control_level,
/// value, target_mean, target_sd`.
pub fn parse_iqc(bytes: &[u8]) -> Result<(Vec<IqcRow>, Vec<RowProblem>), CsvError> {
    let required = [
        "run_at",
        "control_level",
        "value",
        "target_mean",
        "target_sd",
    ];
    read_table(
        bytes,
        &required,
        &ITEM_COLUMNS,
        &mut |columns, line, record, bad| {
            let item = item_ref(columns, record, bad);
            let run_text = columns.cell(record, "run_at");
            let run_at = fhir_instant_millis(run_text, CHINA_OFFSET_MINUTES).map(|ms| ms / 1000);
            if run_at.is_none() {
                bad(
                    "run_at",
                    format!("`{run_text}` is not a FHIR dateTime (2026-11-20T08:12:00+08:00)"),
                );
            }
            let level = columns.cell(record, "control_level").to_owned();
            if level.is_empty() {
                bad("control_level", "control_level is empty".to_owned());
            }
            let mut number = |column: &str| {
                let v = columns.cell(record, column);
                Decimal::parse(v).map(|d| d.value()).or_else(|| {
                    bad(column, format!("`{v}` is not a number"));
                    None
                })
            };
            let (value, mean, sd) = (number("value"), number("target_mean"), number("target_sd"));
            if let Some(sd) = sd
                && sd <= 0.0
            {
                bad(
                    "target_sd",
                    format!("the target SD must be positive, not {sd}"),
                );
            }
            Some(IqcRow {
                line,
                item: item?,
                observation: ControlObservation {
                    run_at: run_at?,
                    level,
                    value: value?,
                    target_mean: mean?,
                    target_sd: sd?,
                },
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(problems: &[RowProblem]) -> Vec<(u64, Option<&str>)> {
        problems
            .iter()
            .map(|p| (p.line, p.column.as_deref()))
            .collect()
    }

    /// The example files of the README's tour read without a problem.
    #[test]
    fn the_example_files_read() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/examples/");
        let (rows, problems) =
            parse_eqa(&std::fs::read(format!("{dir}eqa-hosp-a.csv")).unwrap()).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(rows.len(), 6);
        let (rows, problems) =
            parse_iqc(&std::fs::read(format!("{dir}iqc-hosp-a.csv")).unwrap()).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(rows.len(), 8);
    }

    #[test]
    fn eqa_rows() {
        let csv = "national_code,program,event,event_date,samples,acceptable,passed\r\n\
                   9000033-2,NCCL,2026-1,2026-03-15,5,4,\r\n\
                   9000033-2,HB-CCL,2026-2,2026-09-01,5,5,是\r\n\
                   9000033-2,NCCL,2026-2,2026-13-01,5,6,maybe\r\n\
                   ,NCCL,,2026-03-15,five,4,\r\n";
        let (rows, problems) = parse_eqa(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].item, ItemRef::National("9000033-2".into()));
        // 2026-03-15 is day 20527 since 1970-01-01.
        assert_eq!(rows[0].event.date, 20_527);
        assert_eq!((rows[0].event.samples, rows[0].event.acceptable), (5, 4));
        assert_eq!(rows[0].event.passed, None);
        assert_eq!(rows[1].event.passed, Some(true));
        assert_eq!(
            located(&problems),
            [
                (4, Some("event_date")),
                (4, Some("acceptable")),
                (4, Some("passed")),
                (5, Some("national_code")),
                (5, Some("event")),
                (5, Some("samples")),
            ]
        );
    }

    #[test]
    fn iqc_rows() {
        let csv = "loinc,local_code,run_at,control_level,value,target_mean,target_sd\n\
                   14749-6,,2026-11-20T08:12:00+08:00,1,5.62,5.50,0.12\n\
                   ,001,2026-11-20T08:12:00+08:00,2,15.1,15.0,0.3\n\
                   14749-6,,2026-11-20 08:12,1,5.62,5.50,0\n\
                   14749-6,,2026-11-20T08:12:00+08:00,,x,5.50,0.12\n";
        let (rows, problems) = parse_iqc(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].item, ItemRef::Loinc("14749-6".into()));
        assert_eq!(rows[1].item, ItemRef::Local("001".into()));
        assert_eq!(rows[0].observation.run_at, 1_795_133_520);
        assert_eq!(rows[0].observation.run_at, rows[1].observation.run_at);
        assert!((rows[0].observation.z().unwrap() - 1.0).abs() < 1e-9);
        assert_eq!(
            located(&problems),
            [
                (4, Some("run_at")),
                (4, Some("target_sd")),
                (5, Some("control_level")),
                (5, Some("value")),
            ]
        );
    }

    #[test]
    fn a_file_without_an_item_column_is_refused_on_line_one() {
        let (rows, problems) =
            parse_iqc(b"run_at,control_level,value,target_mean,target_sd\n").unwrap();
        assert!(rows.is_empty());
        assert_eq!(problems[0].line, 1);
    }
}
