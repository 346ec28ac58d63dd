//! `code-tables/reference-intervals.csv`: the national reference intervals (WS/T 404, WS/T 405)
//! by concept, sex and age, read as data so that a corrected table needs no new build.

use crate::text::Columns;
use crate::{CsvError, decode};
use huren_core::reference::ReferenceInterval;
use huren_core::registry::RowProblem;
use huren_core::result::{Decimal, Sex};

/// Reads the intervals table: columns `national_code, sex (M, F or *), age_low, age_high, low,
/// high, unit, method, standard` by header name (others, like `item` and `note`, are ignored).
/// Every row problem is reported with its line.
pub fn parse_intervals(
    bytes: &[u8],
) -> Result<(Vec<ReferenceInterval>, Vec<RowProblem>), CsvError> {
    let decoded = decode(bytes)?;
    let mut reader = decoded.reader();
    let mut problems = Vec::new();
    let required = [
        "national_code",
        "sex",
        "age_low",
        "age_high",
        "low",
        "high",
        "unit",
    ];
    let Some(columns) = Columns::read(&mut reader, &required, &mut problems) else {
        return Ok((Vec::new(), problems));
    };
    let mut rows = Vec::new();
    crate::text::each_record(
        &decoded.text,
        &mut reader,
        &mut problems,
        &mut |_| {},
        |line, record, problems| {
            let cell = |name: &str| columns.cell(record, name).to_owned();
            let mut bad = |column: &str, message: String| {
                problems.push(RowProblem::new(line, Some(column), message));
            };
            let sex = match cell("sex").as_str() {
                "*" | "" => None,
                s => match Sex::parse(s) {
                    Some(s) => Some(s),
                    None => {
                        bad("sex", format!("`{s}` is not M, F or *"));
                        return;
                    }
                },
            };
            let mut number = |column: &str| -> Result<Option<Decimal>, ()> {
                let text = cell(column);
                if text.is_empty() {
                    return Ok(None);
                }
                Decimal::parse(&text).map(Some).ok_or_else(|| {
                    bad(column, format!("`{text}` is not a number"));
                })
            };
            let (Ok(age_low), Ok(age_high), Ok(low), Ok(high)) = (
                number("age_low"),
                number("age_high"),
                number("low"),
                number("high"),
            ) else {
                return;
            };
            rows.push(ReferenceInterval {
                national_code: cell("national_code"),
                sex,
                age_low: age_low.map(|d| d.value()),
                age_high: age_high.map(|d| d.value()),
                low,
                high,
                unit: cell("unit"),
                method: cell("method"),
                standard: cell("standard"),
            });
        },
    );
    Ok((rows, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_shipped_table() {
        let bytes = include_bytes!("../../../code-tables/reference-intervals.csv");
        let (rows, problems) = parse_intervals(bytes).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(rows.len(), 62);
        let alt_f = rows
            .iter()
            .find(|r| r.national_code == "9000016-7" && r.sex == Some(Sex::Female))
            .unwrap();
        assert_eq!(alt_f.high.as_ref().unwrap().as_str(), "40");
        assert_eq!((alt_f.age_low, alt_f.age_high), (Some(20.0), Some(80.0)));
        let tc = rows
            .iter()
            .find(|r| r.national_code == "9000038-1")
            .unwrap();
        assert_eq!((tc.sex, tc.low.is_none()), (None, true));
    }

    #[test]
    fn bad_rows_are_reported_with_their_line() {
        let csv = "national_code,sex,age_low,age_high,low,high,unit\n\
                   9000016-7,X,20,80,9,50,U/L\n9000016-7,M,twenty,80,9,50,U/L\n";
        let (rows, problems) = parse_intervals(csv.as_bytes()).unwrap();
        assert!(rows.is_empty());
        let lines: Vec<(u64, Option<&str>)> = problems
            .iter()
            .map(|p| (p.line, p.column.as_deref()))
            .collect();
        assert_eq!(lines, [(2, Some("sex")), (3, Some("age_low"))]);
    }
}
