//! The data the recognition rules read: the recognition catalogue (`catalogue.csv`, and what
//! admins POST or import) and the allowable total error table (`allowable-error.csv`).
//!
//! Items are named by `national_code` or, when that column is absent or blank, by `loinc`;
//! turning a LOINC code into the national one needs the registry, so it is left to the caller.

use crate::text::{Columns, each_record};
use crate::{CsvError, decode};
use huren_core::loinc_name::ComponentRow;
use huren_core::recognition::{Scope, Tea};
use huren_core::registry::RowProblem;
use huren_core::result::Decimal;

/// One catalogue row as read.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogueRow {
    pub line: u64,
    pub scope: Scope,
    /// The national code, or empty when the row names the item by `loinc` only.
    pub national_code: String,
    pub loinc: String,
    pub validity_days: u32,
    pub mark: String,
    pub strict_iqc: bool,
}

/// One allowable-total-error row as read.
#[derive(Debug, Clone, PartialEq)]
pub struct TeaRow {
    pub line: u64,
    pub national_code: String,
    pub loinc: String,
    pub tea: Tea,
    /// The UCUM unit of `tea.absolute`, when there is one.
    pub absolute_unit: String,
}

/// The columns that name an item, in the order they are tried.
pub(crate) const ITEM_COLUMNS: [&str; 3] = ["national_code", "loinc", "local_code"];

/// An item as a row names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemRef {
    National(String),
    Loinc(String),
    /// The laboratory's own code, resolved through its approved mappings.
    Local(String),
}

/// Reads the header: the `required` columns and at least one of `items` (a prefix of
/// [`ITEM_COLUMNS`]); `None` after line-1 problems.
fn open(
    reader: &mut csv::Reader<&[u8]>,
    required: &[&str],
    items: &[&str],
    problems: &mut Vec<RowProblem>,
) -> Option<Columns> {
    let columns = Columns::read(reader, required, problems)?;
    if items.iter().all(|c| columns.index(c).is_none()) {
        let others: Vec<String> = items[1..].iter().map(|c| format!("`{c}`")).collect();
        problems.push(RowProblem::new(
            1,
            None,
            format!(
                "missing column `{}` (or {})",
                items[0],
                others.join(", or ")
            ),
        ));
        return None;
    }
    Some(columns)
}

/// The first item column the row fills; a row with none is a problem.
pub(crate) fn item_ref(
    columns: &Columns,
    record: &csv::StringRecord,
    bad: &mut dyn FnMut(&str, String),
) -> Option<ItemRef> {
    let cell = |c: &str| columns.cell(record, c).to_owned();
    let item = [
        ItemRef::National(cell("national_code")),
        ItemRef::Loinc(cell("loinc")),
        ItemRef::Local(cell("local_code")),
    ]
    .into_iter()
    .find(|i| match i {
        ItemRef::National(c) | ItemRef::Loinc(c) | ItemRef::Local(c) => !c.is_empty(),
    });
    if item.is_none() {
        bad(
            "national_code",
            "the row names no item: national_code, loinc or local_code is required".to_owned(),
        );
    }
    item
}

/// The row's `(national_code, loinc)`; a row with neither is a problem.
fn item(
    columns: &Columns,
    record: &csv::StringRecord,
    bad: &mut dyn FnMut(&str, String),
) -> (String, String) {
    let national = columns.cell(record, "national_code").to_owned();
    let loinc = columns.cell(record, "loinc").to_owned();
    if national.is_empty() && loinc.is_empty() {
        bad(
            "national_code",
            "the row names no item: national_code or loinc is required".to_owned(),
        );
    }
    (national, loinc)
}

/// Reads catalogue rows: columns `scope, national_code|loinc, validity_days, mark, strict_iqc`
/// (by header name; `strict_iqc` may be absent, meaning `false`; others such as `item`,
/// `source` and `tag` are ignored). Every bad row is reported with its line and column.
pub fn parse_catalogue(bytes: &[u8]) -> Result<(Vec<CatalogueRow>, Vec<RowProblem>), CsvError> {
    read_table(
        bytes,
        &["scope", "validity_days", "mark"],
        &ITEM_COLUMNS[..2],
        &mut |columns, line, record, bad| {
            let scope = Scope::parse(columns.cell(record, "scope"))
                .map_err(|m| bad("scope", m))
                .ok();
            let (national_code, loinc) = item(columns, record, bad);
            let days = columns.cell(record, "validity_days");
            let validity_days = match days.parse::<u32>() {
                Ok(d) if d >= 1 => Some(d),
                _ => {
                    bad(
                        "validity_days",
                        format!("`{days}` is not a whole number of days (1 or more)"),
                    );
                    None
                }
            };
            let mark = columns.cell(record, "mark").to_owned();
            if mark.is_empty() {
                bad("mark", "the mark is empty (e.g. HR, 鄂HR)".to_owned());
            }
            let strict = columns.cell(record, "strict_iqc");
            let strict_iqc = parse_bool(strict).unwrap_or_else(|| {
                bad("strict_iqc", format!("`{strict}` is not true or false"));
                false
            });
            Some(CatalogueRow {
                line,
                scope: scope?,
                national_code,
                loinc,
                validity_days: validity_days?,
                mark,
                strict_iqc,
            })
        },
    )
}

/// Reads allowable-total-error rows: columns `national_code|loinc, tea_percent, tea_absolute,
/// tea_unit` (at least one limit per row; `tea_unit` required with `tea_absolute`).
pub fn parse_allowable_error(bytes: &[u8]) -> Result<(Vec<TeaRow>, Vec<RowProblem>), CsvError> {
    read_table(
        bytes,
        &["tea_percent"],
        &ITEM_COLUMNS[..2],
        &mut |columns, line, record, bad| {
            let (national_code, loinc) = item(columns, record, bad);
            let mut limit = |column: &str| -> Option<f64> {
                let text = columns.cell(record, column);
                if text.is_empty() {
                    return None;
                }
                match Decimal::parse(text).map(|d| d.value()) {
                    Some(v) if v > 0.0 => Some(v),
                    _ => {
                        bad(column, format!("`{text}` is not a positive number"));
                        None
                    }
                }
            };
            let tea = Tea {
                percent: limit("tea_percent"),
                absolute: limit("tea_absolute"),
            };
            let absolute_unit = columns.cell(record, "tea_unit").to_owned();
            let blank = |column: &str| columns.cell(record, column).is_empty();
            if blank("tea_percent") && blank("tea_absolute") {
                bad(
                    "tea_percent",
                    "the row gives no limit: tea_percent or tea_absolute is required".to_owned(),
                );
            } else if tea.absolute.is_some() && absolute_unit.is_empty() {
                bad(
                    "tea_unit",
                    "tea_absolute needs its unit in tea_unit".to_owned(),
                );
            }
            Some(TeaRow {
                line,
                national_code,
                loinc,
                tea,
                absolute_unit,
            })
        },
    )
}

/// The parser of one row: given the columns, the row's line and record, and a
/// `bad(column, message)` reporter, the row's value (`None` when it cannot be built).
pub(crate) type RowParser<'p, T> =
    dyn FnMut(&Columns, u64, &csv::StringRecord, &mut dyn FnMut(&str, String)) -> Option<T> + 'p;

/// Reads a whole table: decodes `bytes`, checks the header for the `required` columns and one
/// of the `items` columns, then calls `parse` for every non-blank record. A row's value is kept
/// only when `parse` reported nothing for it; every problem is returned with its line.
pub(crate) fn read_table<T>(
    bytes: &[u8],
    required: &[&str],
    items: &[&str],
    parse: &mut RowParser<'_, T>,
) -> Result<(Vec<T>, Vec<RowProblem>), CsvError> {
    let decoded = decode(bytes)?;
    let mut reader = decoded.reader();
    let mut problems = Vec::new();
    let Some(columns) = open(&mut reader, required, items, &mut problems) else {
        return Ok((Vec::new(), problems));
    };
    let mut rows = Vec::new();
    each_record(
        &decoded.text,
        &mut reader,
        &mut problems,
        &mut |_| {},
        |line, record, problems| {
            let before = problems.len();
            let mut bad = |column: &str, message: String| {
                problems.push(RowProblem::new(line, Some(column), message));
            };
            let row = parse(&columns, line, record, &mut bad);
            if problems.len() == before {
                rows.extend(row);
            }
        },
    );
    Ok((rows, problems))
}

/// Reads the Chinese names of LOINC components (`code-tables/loinc-components-zh.csv`):
/// columns `component` (as LOINC spells it: `Carbon dioxide, total`), `system` (optional: the
/// SYSTEM the names are for, `Urine`; empty for any), `names_zh` (names separated by `;`) and
/// `abbreviations` (optional, separated by `;`). A row without a component, or with neither a
/// name nor an abbreviation, is a problem.
pub fn parse_component_names(
    bytes: &[u8],
) -> Result<(Vec<ComponentRow>, Vec<RowProblem>), CsvError> {
    read_table(
        bytes,
        &["component", "names_zh"],
        &["component"],
        &mut |columns, _line, record, bad| {
            let component = columns.cell(record, "component").trim().to_owned();
            let list = |column: &str| -> Vec<String> {
                columns
                    .cell(record, column)
                    .split([';', '；'])
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned)
                    .collect()
            };
            let (names_zh, abbreviations) = (list("names_zh"), list("abbreviations"));
            if component.is_empty() {
                bad("component", "the component is empty".to_owned());
            }
            if names_zh.is_empty() && abbreviations.is_empty() {
                bad(
                    "names_zh",
                    "the row gives no Chinese name and no abbreviation".to_owned(),
                );
            }
            Some(ComponentRow {
                component,
                system: columns.cell(record, "system").trim().to_owned(),
                names_zh,
                abbreviations,
            })
        },
    )
}

/// `true`/`false` as curators write them in Excel: also `yes`/`no`, `1`/`0`, `是`/`否`; blank is
/// `false`.
pub(crate) use huren_core::mapping::parse_yes_no as parse_bool;

#[cfg(test)]
mod tests {
    use super::*;
    use huren_core::code::check_national_code;

    #[test]
    fn component_names_are_rows_of_names() {
        let (rows, problems) = parse_component_names(
            "component,names_zh\n\"Carbon dioxide, total\",总二氧化碳;二氧化碳结合力\nAmmonia,\n,钠\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(
            rows,
            [ComponentRow {
                component: "Carbon dioxide, total".to_owned(),
                system: String::new(),
                names_zh: vec!["总二氧化碳".to_owned(), "二氧化碳结合力".to_owned()],
                abbreviations: vec![],
            }]
        );
        let got: Vec<(u64, Option<&str>)> = problems
            .iter()
            .map(|p| (p.line, p.column.as_deref()))
            .collect();
        assert_eq!(got, [(3, Some("names_zh")), (4, Some("component"))]);
    }

    #[test]
    fn reads_the_shipped_catalogue() {
        let bytes = include_bytes!("../../../code-tables/catalogue.csv");
        let (rows, problems) = parse_catalogue(bytes).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(rows.len(), 70);
        for r in &rows {
            assert!(check_national_code(&r.national_code).is_ok(), "{r:?}");
        }
        let glucose = rows
            .iter()
            .find(|r| r.scope == Scope::Province("420000".into()) && r.loinc == "14749-6")
            .unwrap();
        assert_eq!(
            (
                glucose.validity_days,
                glucose.mark.as_str(),
                glucose.strict_iqc
            ),
            (30, "鄂HR", false)
        );
        assert!(
            rows.iter()
                .any(|r| r.scope == Scope::Alliance("jjjl".into()) && r.mark == "HR")
        );
    }

    #[test]
    fn reads_the_shipped_allowable_error_table() {
        let bytes = include_bytes!("../../../code-tables/allowable-error.csv");
        let (rows, problems) = parse_allowable_error(bytes).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(rows.len(), 66);
        let k = rows.iter().find(|r| r.loinc == "2823-3").unwrap();
        assert_eq!(k.tea.percent, Some(6.0));
        let li = rows
            .iter()
            .find(|r| r.national_code == "9000110-8")
            .unwrap();
        assert_eq!(
            (li.tea.percent, li.tea.absolute, li.absolute_unit.as_str()),
            (Some(20.0), Some(0.3), "mmol/L")
        );
        let ph = rows
            .iter()
            .find(|r| r.national_code == "9000120-7")
            .unwrap();
        assert_eq!((ph.tea.percent, ph.tea.absolute), (None, Some(0.04)));
    }

    #[test]
    fn bad_catalogue_rows_name_their_line_and_column() {
        let csv = "scope,loinc,validity_days,mark,strict_iqc\n\
                   420000,14749-6,30,鄂HR,false\n\
                   420102,14749-6,30,鄂HR,false\n\
                   420000,,30,鄂HR,false\n\
                   420000,14749-6,0,鄂HR,false\n\
                   420000,14749-6,7,,maybe\n\
                   \n\
                   wh-east,2823-3,7,HR,是\n";
        let (rows, problems) = parse_catalogue(csv.as_bytes()).unwrap();
        let found: Vec<(u64, Option<&str>)> = problems
            .iter()
            .map(|p| (p.line, p.column.as_deref()))
            .collect();
        assert_eq!(
            found,
            [
                (3, Some("scope")),
                (4, Some("national_code")),
                (5, Some("validity_days")),
                (6, Some("mark")),
                (6, Some("strict_iqc")),
            ]
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].line, 8);
        assert!(rows[1].strict_iqc);
        assert_eq!(rows[1].scope, Scope::Alliance("wh-east".into()));
    }

    #[test]
    fn missing_columns_are_reported_on_line_one() {
        let (rows, problems) = parse_catalogue(b"scope,mark\n420000,HR\n").unwrap();
        assert!(rows.is_empty());
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(messages, ["missing column `validity_days`"]);
        let (_, problems) = parse_catalogue(b"scope,validity_days,mark\n").unwrap();
        assert_eq!(
            problems[0].message,
            "missing column `national_code` (or `loinc`)"
        );
    }

    #[test]
    fn bad_allowable_error_rows() {
        let csv = "national_code,tea_percent,tea_absolute,tea_unit\n\
                   9000052-2,6,,\n\
                   9000053-0,,,\n\
                   9000110-8,20,0.3,\n\
                   9000054-8,-4,,\n";
        let (rows, problems) = parse_allowable_error(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 1);
        let found: Vec<(u64, Option<&str>)> = problems
            .iter()
            .map(|p| (p.line, p.column.as_deref()))
            .collect();
        assert_eq!(
            found,
            [
                (3, Some("tea_percent")),
                (4, Some("tea_unit")),
                (5, Some("tea_percent"))
            ]
        );
    }
}
