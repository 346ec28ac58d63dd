//! Results files: lab results exported from a hospital's laboratory system as CSV, one result
//! a row, read into [`LabResult`]s for the normalizer.
//!
//! Like the other formats, the reader checks syntax only (a number is a number, a date is a
//! date, a flag is a known flag) and reports every problem with its line and column; what a
//! result means (its concept, its unit, its reference interval) is the normalizer's business.
//!
//! # Columns
//!
//! A header row is required; columns are found by name, ignoring case and surrounding space, in
//! any order, and unknown columns are ignored. See [`RESULT_COLUMNS`]:
//!
//! | column | | becomes |
//! |---|---|---|
//! | `result_id` | required | `identifier` (`{result_id_system}\|{result_id}`); unique in the file |
//! | `patient_id` | required | the hospital record number, first patient identifier |
//! | `patient_national_id` | optional | the national identifier (resident ID card, health card), in [`PatientIdPolicy::national_system`] |
//! | `patient_sex` | | [`Sex::parse`], any case: `M`, `F`, `男`, `女`, `male`, … |
//! | `patient_birth_date` | | `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYY/M/D` (Excel) or `YYYYMMDD` → `YYYY-MM-DD` |
//! | `local_code`, `local_name` | code required | the local [`SentCode`] |
//! | `value` | required | a number (`6.30`, digits kept), a number with a comparator (`<0.5`, `>=10`, `≤5`), or text (`阴性`, `+`, `1:40`); empty only when `status` is cancelled |
//! | `unit` | | the quantity's unit, as written |
//! | `ref_range` | | the reference range as text |
//! | `flag` | | interpretation: HL7 codes (`H`, `LL`, `POS`, any case), `↑`, `↓`, `高`, `低`, `正常`, `阳性`, `阴性`; several separated by `\|` |
//! | `status` | | FHIR status codes or HL7 v2 `F`, `C`, `P`, `A`, `D`, `W`, `X`; empty is `final` |
//! | `collected_at` | | `effective`, a FHIR dateTime |
//! | `reported_at` | | `issued`, a FHIR instant (needs a time); not before `collected_at` |
//! | `lab_id` | | `performer` |
//! | `specimen` | | `specimen`, as written |
//!
//! Date-times are `YYYY-MM-DD HH:MM[:SS[.fff]]` with an optional `Z` or `±HH:MM` offset, a `T`
//! or a space between date and time, the date in any of the birth-date forms and the hour in one
//! or two digits (`2026/11/20 8:12`, as Excel writes it). A time without an offset is in the
//! hospital's zone ([`ResultsOptions::default_offset_minutes`]). Output is always the FHIR form,
//! with seconds and an offset: `2026-11-20T08:12:00+08:00`.
//!
//! A value that looks like a number but has a comma (`1,5`, `1,234.5`) is refused rather than
//! guessed, since a decimal comma and a thousands separator cannot be told apart; so is one in
//! full-width digits (`６.３`). A row with more non-empty cells than the header has columns is a
//! problem too: an unquoted delimiter has shifted its cells.

use crate::CsvError;
use crate::text::{decode, each_record, split_list};
use huren_core::registry::RowProblem;
use huren_core::result::{
    CodeOrigin, Comparator, Decimal, Identifier, LabResult, PatientIdPolicy, ResultStatus,
    SentCode, SentRange, SentValue, Sex, V2_INTERPRETATION_CODES,
};
use std::collections::HashMap;

/// The columns of a results file, in the order an export would write them.
pub const RESULT_COLUMNS: [&str; 16] = [
    "result_id",
    "patient_id",
    "patient_national_id",
    "patient_sex",
    "patient_birth_date",
    "local_code",
    "local_name",
    "value",
    "unit",
    "ref_range",
    "flag",
    "status",
    "collected_at",
    "reported_at",
    "lab_id",
    "specimen",
];

/// The columns the header must name.
pub const REQUIRED_RESULT_COLUMNS: [&str; 4] = ["result_id", "patient_id", "local_code", "value"];

/// Chinese flags and the interpretation codes they stand for.
const CHINESE_FLAGS: [(&str, &str); 7] = [
    ("↑", "H"),
    ("↓", "L"),
    ("高", "H"),
    ("低", "L"),
    ("正常", "N"),
    ("阳性", "POS"),
    ("阴性", "NEG"),
];

const DATE_TIME_EXPECTED: &str = "expected YYYY-MM-DD HH:MM[:SS][±HH:MM]";

/// How a results file's identifiers and times are read: configuration of the sending hospital.
#[derive(Debug, Clone, Copy)]
pub struct ResultsOptions<'a> {
    /// How `patient_id` and `patient_national_id` become identifiers.
    pub patients: &'a PatientIdPolicy,
    /// The offset from UTC of times written without one, in minutes (480, `+08:00`, in China).
    pub default_offset_minutes: i16,
    /// The identifier system of `result_id`.
    pub result_id_system: &'a str,
}

/// Why a results file gave no results.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// The file cannot be read as text.
    #[error(transparent)]
    File(#[from] CsvError),
    /// The header row cannot be used (a required column is missing, a column is named twice, or
    /// the header cannot be read): the problems, all on line 1. No row was read.
    #[error("unusable header: {}", join(.0))]
    Header(Vec<RowProblem>),
    /// Every problem of every row, in file order.
    #[error("{} problem(s): {}", .0.len(), join(.0))]
    Rows(Vec<RowProblem>),
}

impl ResultsError {
    /// The problems with their lines (none for a file that is not text).
    pub fn problems(&self) -> &[RowProblem] {
        match self {
            ResultsError::File(_) => &[],
            ResultsError::Header(p) | ResultsError::Rows(p) => p,
        }
    }
}

fn join(problems: &[RowProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Reads a results CSV: every row as a [`LabResult`] (source = "line N"), or every problem.
///
/// The file may be UTF-8 (with or without BOM), UTF-16 with BOM or GBK/GB18030, separated by
/// `,`, `;` or tabs (see [`decode`]). Line numbers are physical lines (the header is line 1, a
/// quoted line break counts) and name the line a row starts on; wholly empty rows are skipped.
/// Results come back only when no row has a problem: a file is taken whole or not at all.
pub fn parse_results(
    bytes: &[u8],
    options: &ResultsOptions<'_>,
) -> Result<Vec<LabResult>, ResultsError> {
    parse_results_with_progress(bytes, options, &mut |_| {})
}

/// [`parse_results`], calling `progress` with the number of bytes read every 1,000 rows.
pub fn parse_results_with_progress(
    bytes: &[u8],
    options: &ResultsOptions<'_>,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<LabResult>, ResultsError> {
    let decoded = decode(bytes)?;
    let mut reader = decoded.reader();
    let (index, columns) = header_index(&mut reader).map_err(ResultsError::Header)?;
    let mut problems = Vec::new();
    let mut results = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    each_record(
        &decoded.text,
        &mut reader,
        &mut problems,
        progress,
        |line, record, problems| {
            let mut row = Row {
                line,
                record,
                index: &index,
                problems,
            };
            row.check_width(columns);
            results.push(row.read(options, &mut seen));
        },
    );
    if problems.is_empty() {
        Ok(results)
    } else {
        Err(ResultsError::Rows(problems))
    }
}

/// The column index of each header name and the number of columns, or the header's problems.
fn header_index<R: std::io::Read>(
    reader: &mut csv::Reader<R>,
) -> Result<(HashMap<String, usize>, usize), Vec<RowProblem>> {
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_lowercase()).collect(),
        Err(e) => {
            return Err(vec![RowProblem::new(
                1,
                None,
                format!("unreadable header: {e}"),
            )]);
        }
    };
    let columns = header.len();
    let mut index = HashMap::new();
    let mut repeated = Vec::new();
    for (i, name) in header.into_iter().enumerate() {
        let known = RESULT_COLUMNS.contains(&name.as_str());
        if let Some(first) = index.insert(name.clone(), i) {
            if known {
                repeated.push(name.clone());
            }
            index.insert(name, first);
        }
    }
    let mut problems = Vec::new();
    let missing: Vec<&str> = REQUIRED_RESULT_COLUMNS
        .iter()
        .copied()
        .filter(|c| !index.contains_key(*c))
        .collect();
    if !missing.is_empty() {
        problems.push(RowProblem::new(
            1,
            None,
            format!(
                "missing columns: {} (the first row must be a header naming the columns: {})",
                missing.join(", "),
                RESULT_COLUMNS.join(",")
            ),
        ));
    }
    if !repeated.is_empty() {
        problems.push(RowProblem::new(
            1,
            None,
            format!("columns named twice: {}", repeated.join(", ")),
        ));
    }
    if problems.is_empty() {
        Ok((index, columns))
    } else {
        Err(problems)
    }
}

/// One record being read, and where its problems go.
struct Row<'r> {
    line: u64,
    record: &'r csv::StringRecord,
    index: &'r HashMap<String, usize>,
    problems: &'r mut Vec<RowProblem>,
}

impl<'r> Row<'r> {
    /// The trimmed cell of `column`, empty when the column or the cell is absent.
    fn get(&self, column: &str) -> &'r str {
        self.index
            .get(column)
            .and_then(|&i| self.record.get(i))
            .map_or("", str::trim)
    }

    fn problem(&mut self, column: &str, message: impl Into<String>) {
        self.problems
            .push(RowProblem::new(self.line, Some(column), message));
    }

    /// A row with more non-empty cells than the header has columns has most likely an unquoted
    /// delimiter in a cell (`1,5`), which shifts every cell after it: say so first, since the
    /// problems of the shifted cells follow from it.
    fn check_width(&mut self, columns: usize) {
        let cells = self.record.len();
        let extra = self
            .record
            .iter()
            .skip(columns)
            .any(|c| !c.trim().is_empty());
        if extra {
            self.problems.push(RowProblem::new(
                self.line,
                None,
                format!(
                    "the row has {cells} cells but the header has {columns} columns (a cell \
                     containing the delimiter must be quoted: \"1,5\")"
                ),
            ));
        }
    }

    /// The cell of a required column, with a problem when it is empty.
    fn required(&mut self, column: &str) -> &'r str {
        let cell = self.get(column);
        if cell.is_empty() {
            self.problem(column, format!("{column} is empty"));
        }
        cell
    }

    /// Reads the row; its problems are pushed, and the result is only used when there are none.
    fn read(&mut self, options: &ResultsOptions<'_>, seen: &mut HashMap<String, u64>) -> LabResult {
        let mut result = LabResult::new(format!("line {}", self.line));

        let result_id = self.required("result_id");
        if !result_id.is_empty() {
            match seen.get(result_id) {
                Some(first) => {
                    let message =
                        format!("duplicate result_id `{result_id}` (first on line {first})");
                    self.problem("result_id", message);
                }
                None => {
                    seen.insert(result_id.to_owned(), self.line);
                }
            }
            result.identifier = Some(Identifier::new(options.result_id_system, result_id));
        }

        let patient_id = self.required("patient_id");
        if !patient_id.is_empty() {
            let id = options.patients.identifier("", patient_id);
            result.patient.identifiers.push(id);
        }
        let national_id = self.get("patient_national_id");
        if !national_id.is_empty() {
            let patients = options.patients;
            let id = match patients.national_types.first() {
                Some(national_type) => patients.identifier(national_type, national_id),
                None => Identifier::new(patients.national_system.clone(), national_id),
            };
            result.patient.identifiers.push(id);
        }
        result.patient.sex = self.sex();
        let birth_date = self.birth_date();
        result.patient.birth_date = birth_date.map(|d| d.to_string());

        let code = self.required("local_code");
        result.codes.push(SentCode {
            origin: CodeOrigin::Local,
            code: code.to_owned(),
            display: self.get("local_name").to_owned(),
        });

        result.status = self.status();
        result.value = self.value(result.status);
        let range = self.get("ref_range");
        if !range.is_empty() {
            result.reference_range = Some(SentRange {
                text: range.to_owned(),
                ..SentRange::default()
            });
        }
        result.interpretation = self.flags();

        let collected = self.date_time("collected_at");
        let reported = self.date_time("reported_at");
        if let Some(r) = &reported
            && r.time.is_none()
        {
            let message = format!(
                "`{}` has no time, and reported_at is an instant ({DATE_TIME_EXPECTED})",
                self.get("reported_at")
            );
            self.problem("reported_at", message);
        } else if let (Some(c), Some(r)) = (&collected, &reported)
            && r.is_before(c, options.default_offset_minutes)
        {
            let message = format!(
                "reported at `{}`, before it was collected (collected_at `{}`)",
                self.get("reported_at"),
                self.get("collected_at")
            );
            self.problem("reported_at", message);
        }
        if let (Some(b), Some(c)) = (birth_date, &collected)
            && b > c.date
        {
            let message = format!(
                "born on {b}, after the specimen was collected (collected_at `{}`)",
                self.get("collected_at")
            );
            self.problem("patient_birth_date", message);
        }
        let offset = options.default_offset_minutes;
        result.effective = collected.map(|c| c.to_fhir(offset));
        result.issued = reported.map(|r| r.to_fhir(offset));

        let lab = self.get("lab_id");
        result.performer = (!lab.is_empty()).then(|| lab.to_owned());
        result.specimen = self.get("specimen").to_owned();
        result
    }

    fn sex(&mut self) -> Option<Sex> {
        let cell = self.get("patient_sex");
        if cell.is_empty() {
            return None;
        }
        let sex = Sex::parse(cell)
            .or_else(|| Sex::parse(&cell.to_lowercase()))
            .or_else(|| Sex::parse(&cell.to_uppercase()));
        if sex.is_none() {
            self.problem(
                "patient_sex",
                format!("`{cell}` is not a sex (expected M, F, O, U, 男, 女, male, female, other or unknown)"),
            );
        }
        sex
    }

    fn birth_date(&mut self) -> Option<Date> {
        let cell = self.get("patient_birth_date");
        if cell.is_empty() {
            return None;
        }
        let date = Date::parse(cell);
        if date.is_none() {
            self.problem(
                "patient_birth_date",
                format!("`{cell}` is not a date (expected YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)"),
            );
        }
        date
    }

    fn status(&mut self) -> ResultStatus {
        let cell = self.get("status");
        if cell.is_empty() {
            return ResultStatus::Final;
        }
        match ResultStatus::parse(&cell.to_lowercase())
            .or_else(|| ResultStatus::from_v2(&cell.to_uppercase()))
        {
            Some(status) => status,
            None => {
                self.problem(
                    "status",
                    format!(
                        "`{cell}` is not a result status (expected final, preliminary, amended, \
                         corrected, cancelled, entered-in-error, registered, unknown, or an HL7 \
                         v2 OBX-11 code of table 0085)"
                    ),
                );
                ResultStatus::Final
            }
        }
    }

    fn value(&mut self, status: ResultStatus) -> SentValue {
        let cell = self.get("value");
        if cell.is_empty() {
            if status != ResultStatus::Cancelled {
                self.problem(
                    "value",
                    "value is empty (only a cancelled result, status `cancelled` or `X`, may have none)",
                );
            }
            return SentValue::Absent;
        }
        match read_value(cell) {
            Ok(Some((comparator, value))) => SentValue::Quantity {
                value,
                comparator,
                unit: self.get("unit").to_owned(),
            },
            Ok(None) => SentValue::Text {
                text: cell.to_owned(),
            },
            Err(message) => {
                self.problem("value", message);
                SentValue::Absent
            }
        }
    }

    fn flags(&mut self) -> Vec<String> {
        let cell = self.get("flag");
        let mut codes = Vec::new();
        for flag in split_list(cell) {
            match read_flag(&flag) {
                Some(code) => codes.push(code.to_owned()),
                None => {
                    let chinese: Vec<&str> = CHINESE_FLAGS.iter().map(|(f, _)| *f).collect();
                    self.problem(
                        "flag",
                        format!(
                            "`{flag}` is not a flag (expected an HL7 interpretation code: {}; or {})",
                            V2_INTERPRETATION_CODES.join(", "),
                            chinese.join(", ")
                        ),
                    );
                }
            }
        }
        codes
    }

    fn date_time(&mut self, column: &str) -> Option<DateTime> {
        let cell = self.get(column);
        if cell.is_empty() {
            return None;
        }
        let parsed = DateTime::parse(cell);
        if parsed.is_none() {
            self.problem(
                column,
                format!("`{cell}` is not a date-time ({DATE_TIME_EXPECTED})"),
            );
        }
        parsed
    }
}

/// Reads a non-empty value: `Some` number with its comparator, `None` for text, or why a
/// number-looking value is refused.
fn read_value(cell: &str) -> Result<Option<(Option<Comparator>, Decimal)>, String> {
    let (comparator, rest) = Comparator::split(cell);
    if let Some(value) = Decimal::parse(rest) {
        return Ok(Some((comparator, value)));
    }
    if looks_numeric(rest) {
        return Err(if rest.contains(',') {
            format!(
                "`{cell}` has a decimal comma or thousands separator; write 1.5 or 1234.5, with `.` \
                 as the decimal point and no separators"
            )
        } else {
            format!("`{cell}` is not a number (write numbers as 5, 6.30, -2 or 0.05)")
        });
    }
    let ascii = to_ascii(cell);
    if ascii != cell {
        let (_, rest) = Comparator::split(&ascii);
        if Decimal::parse(rest).is_some() || looks_numeric(rest) {
            return Err(format!(
                "`{cell}` is written with full-width characters; write `{ascii}`"
            ));
        }
    }
    Ok(None)
}

/// Whether `s` is an optional sign and then only digits, `.`, `,` and spaces, with a digit:
/// meant as a number, though not one that [`Decimal::parse`] reads (`1,5`, `1.2.3`, `1 000`).
/// Text such as `1+`, `5-10` or `1:40` does not look numeric.
fn looks_numeric(s: &str) -> bool {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    unsigned.chars().any(|c| c.is_ascii_digit())
        && unsigned
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | ' '))
}

/// Full-width ASCII (U+FF01 to U+FF5E, as Chinese input methods write digits) to ASCII.
fn to_ascii(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

/// The interpretation code of a flag, or `None` for an unknown flag.
fn read_flag(flag: &str) -> Option<&'static str> {
    if let Some((_, code)) = CHINESE_FLAGS.iter().find(|(f, _)| *f == flag) {
        return Some(code);
    }
    let upper = flag.to_ascii_uppercase();
    V2_INTERPRETATION_CODES
        .iter()
        .copied()
        .find(|c| *c == upper)
}

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Date {
    year: i32,
    month: u32,
    day: u32,
}

impl Date {
    /// `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYYMMDD`, and month and day in one digit with a separator
    /// (`2026/1/5`); the date must exist.
    fn parse(s: &str) -> Option<Date> {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let (y, m, d) = if s.len() == 8 && digits(s) {
            (&s[..4], &s[4..6], &s[6..])
        } else {
            let separator = if s.contains('/') { '/' } else { '-' };
            let mut parts = s.split(separator);
            let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() || m.len() > 2 || d.len() > 2 {
                return None;
            }
            (y, m, d)
        };
        if y.len() != 4 || !digits(y) || !digits(m) || !digits(d) {
            return None;
        }
        let date = Date {
            year: y.parse().ok()?,
            month: m.parse().ok()?,
            day: d.parse().ok()?,
        };
        let valid = (1..=12).contains(&date.month)
            && (1..=days_in_month(date.year, date.month)).contains(&date.day);
        valid.then_some(date)
    }

    /// Days since 1970-01-01 (proleptic Gregorian calendar).
    fn days_since_epoch(self) -> i64 {
        let (month, day) = (i64::from(self.month), i64::from(self.day));
        let year = i64::from(self.year) - i64::from(month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A time of day, with the offset when the sender wrote one.
#[derive(Debug, Clone, PartialEq)]
struct Time {
    hour: u32,
    minute: u32,
    second: u32,
    /// Fractional seconds as written, without the point (empty when none).
    fraction: String,
    /// Minutes east of UTC; `None` when not written.
    offset: Option<i32>,
    /// Whether the offset was written `Z`.
    zulu: bool,
}

/// A date, or a date and a time.
#[derive(Debug, Clone, PartialEq)]
struct DateTime {
    date: Date,
    time: Option<Time>,
}

impl DateTime {
    fn parse(s: &str) -> Option<DateTime> {
        let (date, time) = match s.find([' ', 'T']) {
            Some(i) => (&s[..i], Some(s[i + 1..].trim_start())),
            None => (s, None),
        };
        let time = match time {
            Some(t) => Some(Time::parse(t)?),
            None => None,
        };
        Some(DateTime {
            date: Date::parse(date)?,
            time,
        })
    }

    /// The FHIR form: the date alone, or date, time with seconds, and offset.
    fn to_fhir(&self, default_offset_minutes: i16) -> String {
        let Some(t) = &self.time else {
            return self.date.to_string();
        };
        let mut out = format!(
            "{}T{:02}:{:02}:{:02}",
            self.date, t.hour, t.minute, t.second
        );
        if !t.fraction.is_empty() {
            out.push('.');
            out.push_str(&t.fraction);
        }
        let offset = t.offset.unwrap_or(i32::from(default_offset_minutes));
        if t.zulu {
            out.push('Z');
        } else {
            let sign = if offset < 0 { '-' } else { '+' };
            let abs = offset.unsigned_abs();
            out.push_str(&format!("{sign}{:02}:{:02}", abs / 60, abs % 60));
        }
        out
    }

    /// Whether `self` is before `other`, times without an offset being in the default zone;
    /// when either is a date alone, whether its date is before the other's.
    fn is_before(&self, other: &DateTime, default_offset_minutes: i16) -> bool {
        match (&self.time, &other.time) {
            (Some(a), Some(b)) => {
                let seconds = |d: Date, t: &Time| {
                    let offset = t.offset.unwrap_or(i32::from(default_offset_minutes));
                    d.days_since_epoch() * 86_400
                        + i64::from(t.hour * 3600 + t.minute * 60 + t.second)
                        - i64::from(offset) * 60
                };
                seconds(self.date, a) < seconds(other.date, b)
            }
            _ => self.date < other.date,
        }
    }
}

impl Time {
    /// `H:MM`, `HH:MM:SS`, `HH:MM:SS.fff`, then optionally `Z` or `±HH:MM`.
    fn parse(s: &str) -> Option<Time> {
        let (clock, offset, zulu) = if let Some(clock) = s.strip_suffix('Z') {
            (clock, Some(0), true)
        } else if let Some(i) = s.rfind(['+', '-']) {
            (s[..i].trim_end(), Some(parse_offset(&s[i..])?), false)
        } else {
            (s, None, false)
        };
        let two = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
        let mut parts = clock.split(':');
        let hour = parts.next()?;
        let minute = parts.next()?;
        let (second, fraction) = match parts.next() {
            Some(s) => s.split_once('.').unwrap_or((s, "")),
            None => ("00", ""),
        };
        if parts.next().is_some()
            || hour.is_empty()
            || hour.len() > 2
            || !hour.bytes().all(|b| b.is_ascii_digit())
            || !two(minute)
            || !two(second)
            || !fraction.bytes().all(|b| b.is_ascii_digit())
            || fraction.len() > 9
            || (clock.contains('.') && fraction.is_empty())
        {
            return None;
        }
        let time = Time {
            hour: hour.parse().ok()?,
            minute: minute.parse().ok()?,
            second: second.parse().ok()?,
            fraction: fraction.to_owned(),
            offset,
            zulu,
        };
        (time.hour < 24 && time.minute < 60 && time.second < 60).then_some(time)
    }
}

/// `+HH:MM` or `-HH:MM`, at most 14 hours: minutes east of UTC.
fn parse_offset(s: &str) -> Option<i32> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let two = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !two(h) || !two(m) {
        return None;
    }
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && m < 60 && (h < 14 || m == 0)).then_some(sign * (h * 60 + m))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "result_id,patient_id,patient_sex,patient_birth_date,local_code,local_name,value,unit,ref_range,flag,status,collected_at,reported_at,lab_id,specimen\n";

    fn policy() -> PatientIdPolicy {
        PatientIdPolicy {
            national_system: "urn:oid:2.16.156.10011.1.1".into(),
            national_types: vec!["NNCHN".into(), "NI".into()],
            hospital_system: "https://huren.example/hospital/hosp-a/patient".into(),
        }
    }

    fn parse_with(text: &str, offset: i16) -> Result<Vec<LabResult>, ResultsError> {
        let patients = policy();
        let options = ResultsOptions {
            patients: &patients,
            default_offset_minutes: offset,
            result_id_system: "https://huren.example/hospital/hosp-a/result",
        };
        parse_results(text.as_bytes(), &options)
    }

    fn parse(text: &str) -> Result<Vec<LabResult>, ResultsError> {
        parse_with(text, 480)
    }

    /// One row with `cells` (`column=value`) on top of a valid row.
    fn one(cells: &[(&str, &str)]) -> Result<LabResult, Vec<RowProblem>> {
        let mut row: Vec<(&str, &str)> = vec![
            ("result_id", "R1"),
            ("patient_id", "P1"),
            ("local_code", "GLU"),
            ("value", "5.6"),
        ];
        for (c, v) in cells {
            match row.iter_mut().find(|(name, _)| name == c) {
                Some(cell) => cell.1 = v,
                None => row.push((c, v)),
            }
        }
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let header: Vec<&str> = row.iter().map(|(c, _)| *c).collect();
        let values: Vec<String> = row.iter().map(|(_, v)| quote(v)).collect();
        let text = format!("{}\n{}\n", header.join(","), values.join(","));
        match parse(&text) {
            Ok(mut results) => Ok(results.remove(0)),
            Err(ResultsError::Rows(problems)) => Err(problems),
            Err(e) => panic!("{e}"),
        }
    }

    /// The single problem of a row, as `column: message`.
    fn problem(cells: &[(&str, &str)]) -> String {
        let problems = one(cells).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].line, 2);
        format!(
            "{}: {}",
            problems[0].column.as_deref().unwrap_or("-"),
            problems[0].message
        )
    }

    #[test]
    fn a_full_row() {
        let results = parse(&format!(
            "{HEADER}R1,0012345,女,1980/5/3,GLU,葡萄糖,6.30,mmol/L,3.9-6.1,↑,F,2026-11-20 08:12,2026-11-20 10:30:05,LAB01,血清\n"
        ))
        .unwrap();
        let r = &results[0];
        assert_eq!(r.source, "line 2");
        assert_eq!(
            r.identifier,
            Some(Identifier::new(
                "https://huren.example/hospital/hosp-a/result",
                "R1"
            ))
        );
        assert_eq!(
            r.patient.identifiers,
            vec![Identifier::new(
                "https://huren.example/hospital/hosp-a/patient",
                "0012345"
            )]
        );
        assert_eq!(r.patient.sex, Some(Sex::Female));
        assert_eq!(r.patient.birth_date.as_deref(), Some("1980-05-03"));
        assert_eq!(
            r.codes,
            vec![SentCode {
                origin: CodeOrigin::Local,
                code: "GLU".into(),
                display: "葡萄糖".into(),
            }]
        );
        let SentValue::Quantity {
            value,
            comparator,
            unit,
        } = &r.value
        else {
            panic!("{:?}", r.value)
        };
        assert_eq!(
            (value.as_str(), *comparator, unit.as_str()),
            ("6.30", None, "mmol/L")
        );
        assert_eq!(r.reference_range.as_ref().unwrap().text, "3.9-6.1");
        assert_eq!(r.interpretation, vec!["H"]);
        assert_eq!(r.status, ResultStatus::Final);
        assert_eq!(r.effective.as_deref(), Some("2026-11-20T08:12:00+08:00"));
        assert_eq!(r.issued.as_deref(), Some("2026-11-20T10:30:05+08:00"));
        assert_eq!(r.performer.as_deref(), Some("LAB01"));
        assert_eq!(r.specimen, "血清");
        assert!(r.notes.is_empty());
    }

    #[test]
    fn optional_cells_may_be_empty_or_absent() {
        let r = one(&[]).unwrap();
        assert_eq!(r.patient.sex, None);
        assert_eq!(r.patient.birth_date, None);
        assert_eq!(r.codes[0].display, "");
        assert_eq!(r.reference_range, None);
        assert!(r.interpretation.is_empty());
        assert_eq!(r.status, ResultStatus::Final);
        assert_eq!((r.effective, r.issued, r.performer), (None, None, None));
        let r = one(&[("patient_sex", ""), ("lab_id", " "), ("unit", "")]).unwrap();
        assert_eq!(r.patient.sex, None);
        assert_eq!(r.performer, None);
    }

    #[test]
    fn national_patient_ids() {
        let r = one(&[("patient_national_id", " 11010519491231002X ")]).unwrap();
        assert_eq!(
            r.patient.identifiers,
            vec![
                Identifier::new("https://huren.example/hospital/hosp-a/patient", "P1"),
                Identifier::new("urn:oid:2.16.156.10011.1.1", "11010519491231002X"),
            ]
        );
        // Without national types configured, the national system is still used.
        let patients = PatientIdPolicy {
            national_types: vec![],
            ..policy()
        };
        let options = ResultsOptions {
            patients: &patients,
            default_offset_minutes: 480,
            result_id_system: "r",
        };
        let text = "result_id,patient_id,patient_national_id,local_code,value\nR1,P1,N1,GLU,1\n";
        let r = &parse_results(text.as_bytes(), &options).unwrap()[0];
        assert_eq!(
            r.patient.identifiers[1],
            Identifier::new("urn:oid:2.16.156.10011.1.1", "N1")
        );
    }

    #[test]
    fn sexes() {
        for (text, sex) in [
            ("M", Sex::Male),
            ("m", Sex::Male),
            ("男", Sex::Male),
            ("Male", Sex::Male),
            ("FEMALE", Sex::Female),
            ("女", Sex::Female),
            ("f", Sex::Female),
            ("u", Sex::Unknown),
            ("o", Sex::Other),
            ("未知", Sex::Unknown),
        ] {
            assert_eq!(
                one(&[("patient_sex", text)]).unwrap().patient.sex,
                Some(sex),
                "{text}"
            );
        }
        assert_eq!(
            problem(&[("patient_sex", "boy")]),
            "patient_sex: `boy` is not a sex (expected M, F, O, U, 男, 女, male, female, other or unknown)"
        );
    }

    #[test]
    fn birth_dates() {
        for (text, date) in [
            ("1980-05-03", "1980-05-03"),
            ("1980/05/03", "1980-05-03"),
            ("19800503", "1980-05-03"),
            ("1980/5/3", "1980-05-03"),
            ("2024-02-29", "2024-02-29"),
            ("2000/2/29", "2000-02-29"),
        ] {
            assert_eq!(
                one(&[("patient_birth_date", text)])
                    .unwrap()
                    .patient
                    .birth_date
                    .as_deref(),
                Some(date),
                "{text}"
            );
        }
        for bad in [
            "2026-02-30",
            "2023-02-29",
            "1900-02-29",
            "1980-13-01",
            "1980-00-10",
            "1980-05-00",
            "19801301",
            "80-05-03",
            "1980-5",
            "1980",
            "1980-05/03",
            "1980/05/03 0:00",
            "29221",
            "yesterday",
            "1980-05-003",
        ] {
            let p = problem(&[("patient_birth_date", bad)]);
            assert_eq!(
                p,
                format!(
                    "patient_birth_date: `{bad}` is not a date (expected YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)"
                )
            );
        }
        assert_eq!(
            problem(&[
                ("patient_birth_date", "2026-11-21"),
                ("collected_at", "2026-11-20 08:00")
            ]),
            "patient_birth_date: born on 2026-11-21, after the specimen was collected (collected_at `2026-11-20 08:00`)"
        );
        assert!(
            one(&[
                ("patient_birth_date", "2026-11-20"),
                ("collected_at", "2026-11-20 08:00")
            ])
            .is_ok()
        );
    }

    #[test]
    fn values() {
        let quantity =
            |text: &str, unit: &str| match one(&[("value", text), ("unit", unit)]).unwrap().value {
                SentValue::Quantity {
                    value,
                    comparator,
                    unit,
                } => (comparator, value.as_str().to_owned(), unit),
                other => panic!("{text}: {other:?}"),
            };
        assert_eq!(
            quantity("6.30", "mmol/L"),
            (None, "6.30".into(), "mmol/L".into())
        );
        assert_eq!(
            quantity(" 100 ", " U/L "),
            (None, "100".into(), "U/L".into())
        );
        assert_eq!(quantity("-2.5", ""), (None, "-2.5".into(), "".into()));
        assert_eq!(quantity(".5", "g/L"), (None, "0.5".into(), "g/L".into()));
        assert_eq!(quantity("1.2e3", ""), (None, "1.2e3".into(), "".into()));
        assert_eq!(
            quantity("<0.5", "mIU/L"),
            (Some(Comparator::Lt), "0.5".into(), "mIU/L".into())
        );
        assert_eq!(quantity(">=10", "").0, Some(Comparator::Ge));
        assert_eq!(quantity("> 1000", "").1, "1000");
        assert_eq!(
            quantity("≤5", ""),
            (Some(Comparator::Le), "5".into(), "".into())
        );
        assert_eq!(quantity("≥5.00", "").1, "5.00");
        for text in [
            "阴性",
            "+",
            "++",
            "1+",
            "positive",
            "5-10",
            "1:40",
            "<1:40",
            "见备注",
            "-",
        ] {
            assert_eq!(
                one(&[("value", text), ("unit", "mg/L")]).unwrap().value,
                SentValue::Text { text: text.into() },
                "{text}"
            );
        }
        for (bad, why) in [
            ("1,5", "decimal comma"),
            ("1,234.5", "decimal comma"),
            ("<1,5", "decimal comma"),
            ("-1,5", "decimal comma"),
            ("1.2.3", "not a number"),
            ("1 000", "not a number"),
            ("1.", "not a number"),
            ("６.３", "full-width characters; write `6.3`"),
            ("＜０.５", "full-width characters; write `<0.5`"),
            ("１，５", "full-width"),
        ] {
            let p = problem(&[("value", bad)]);
            assert!(p.starts_with(&format!("value: `{bad}`")), "{p}");
            assert!(p.contains(why), "{bad}: {p}");
        }
        assert_eq!(
            problem(&[("value", "1,5")]),
            "value: `1,5` has a decimal comma or thousands separator; write 1.5 or 1234.5, with `.` as the decimal point and no separators"
        );
    }

    #[test]
    fn only_cancelled_results_may_have_no_value() {
        for status in ["X", "x", "cancelled"] {
            let r = one(&[("value", ""), ("status", status)]).unwrap();
            assert_eq!(r.value, SentValue::Absent);
            assert_eq!(r.status, ResultStatus::Cancelled);
        }
        for status in ["", "F", "entered-in-error"] {
            assert_eq!(
                problem(&[("value", " "), ("status", status)]),
                "value: value is empty (only a cancelled result, status `cancelled` or `X`, may have none)"
            );
        }
    }

    #[test]
    fn statuses() {
        for (text, status) in [
            ("", ResultStatus::Final),
            ("final", ResultStatus::Final),
            ("Final", ResultStatus::Final),
            ("F", ResultStatus::Final),
            ("f", ResultStatus::Final),
            ("P", ResultStatus::Preliminary),
            ("preliminary", ResultStatus::Preliminary),
            ("C", ResultStatus::Corrected),
            ("A", ResultStatus::Amended),
            ("amended", ResultStatus::Amended),
            ("D", ResultStatus::EnteredInError),
            ("W", ResultStatus::EnteredInError),
            ("entered-in-error", ResultStatus::EnteredInError),
            ("registered", ResultStatus::Registered),
            ("unknown", ResultStatus::Unknown),
            ("R", ResultStatus::Preliminary),
            ("I", ResultStatus::Registered),
        ] {
            assert_eq!(one(&[("status", text)]).unwrap().status, status, "{text}");
        }
        for bad in ["Z", "done", "已审核"] {
            let p = problem(&[("status", bad)]);
            assert!(
                p.starts_with(&format!(
                    "status: `{bad}` is not a result status (expected final,"
                )),
                "{p}"
            );
            assert!(p.ends_with("code of table 0085)"), "{p}");
        }
    }

    #[test]
    fn flags() {
        for (text, codes) in [
            ("H", vec!["H"]),
            ("h", vec!["H"]),
            ("ll", vec!["LL"]),
            ("syn-r", vec!["SYN-R"]),
            ("<", vec!["<"]),
            ("↑", vec!["H"]),
            ("↓", vec!["L"]),
            ("高", vec!["H"]),
            ("低", vec!["L"]),
            ("正常", vec!["N"]),
            ("阳性", vec!["POS"]),
            ("阴性", vec!["NEG"]),
            ("pos", vec!["POS"]),
            ("H|A", vec!["H", "A"]),
            ("", vec![]),
        ] {
            assert_eq!(
                one(&[("flag", text)]).unwrap().interpretation,
                codes,
                "{text}"
            );
        }
        let p = problem(&[("flag", "↑↑")]);
        assert!(
            p.starts_with(
                "flag: `↑↑` is not a flag (expected an HL7 interpretation code: <, >, A, AA,"
            ),
            "{p}"
        );
        assert!(p.ends_with("WR; or ↑, ↓, 高, 低, 正常, 阳性, 阴性)"), "{p}");
        // Every bad flag of a list is reported.
        let problems = one(&[("flag", "H|偏高|X1")]).unwrap_err();
        assert_eq!(problems.len(), 2);
        assert!(problems[1].message.starts_with("`X1`"));
    }

    #[test]
    fn date_times() {
        let effective = |text: &str| one(&[("collected_at", text)]).unwrap().effective.unwrap();
        for (text, fhir) in [
            ("2026-11-20 08:12", "2026-11-20T08:12:00+08:00"),
            ("2026-11-20 08:12:30", "2026-11-20T08:12:30+08:00"),
            ("2026-11-20T08:12:30+08:00", "2026-11-20T08:12:30+08:00"),
            ("2026-11-20T08:12:30-05:30", "2026-11-20T08:12:30-05:30"),
            ("2026-11-20T00:12:30Z", "2026-11-20T00:12:30Z"),
            ("2026-11-20 08:12:30.250", "2026-11-20T08:12:30.250+08:00"),
            ("2026/11/20 8:12", "2026-11-20T08:12:00+08:00"),
            ("2026/1/5 8:12", "2026-01-05T08:12:00+08:00"),
            ("20261120 23:59:59", "2026-11-20T23:59:59+08:00"),
            ("2026-11-20  08:12 +08:00", "2026-11-20T08:12:00+08:00"),
            ("2026-11-20", "2026-11-20"),
        ] {
            assert_eq!(effective(text), fhir, "{text}");
        }
        for bad in [
            "2026-13-01 08:00",
            "2026-11-20 25:00",
            "2026-11-20 24:00",
            "2026-11-20 08:60",
            "2026-11-20 08:12:61",
            "2026-11-20 8",
            "2026-11-20 08:1",
            "2026-11-20 08:12:30.",
            "2026-11-20T08:12+8",
            "2026-11-20T08:12+0800",
            "2026-11-20T08:12+15:00",
            "2026-11-20T",
            "yesterday",
            "08:12",
        ] {
            assert_eq!(
                problem(&[("collected_at", bad)]),
                format!(
                    "collected_at: `{bad}` is not a date-time (expected YYYY-MM-DD HH:MM[:SS][±HH:MM])"
                )
            );
            assert!(problem(&[("reported_at", bad)]).starts_with("reported_at: "));
        }
        // Other offsets by configuration.
        let text =
            "result_id,patient_id,local_code,value,collected_at\nR1,P1,GLU,1,2026-11-20 08:12\n";
        assert_eq!(
            parse_with(text, 0).unwrap()[0].effective.as_deref(),
            Some("2026-11-20T08:12:00+00:00")
        );
        assert_eq!(
            parse_with(text, -150).unwrap()[0].effective.as_deref(),
            Some("2026-11-20T08:12:00-02:30")
        );
    }

    #[test]
    fn reported_at_is_an_instant_after_collection() {
        let r = one(&[("reported_at", "2026/11/20 9:05")]).unwrap();
        assert_eq!(r.issued.as_deref(), Some("2026-11-20T09:05:00+08:00"));
        assert_eq!(
            problem(&[("reported_at", "2026-11-20")]),
            "reported_at: `2026-11-20` has no time, and reported_at is an instant (expected YYYY-MM-DD HH:MM[:SS][±HH:MM])"
        );
        assert_eq!(
            problem(&[
                ("collected_at", "2026-11-20 08:12"),
                ("reported_at", "2026-11-20 08:11:59")
            ]),
            "reported_at: reported at `2026-11-20 08:11:59`, before it was collected (collected_at `2026-11-20 08:12`)"
        );
        // Same moment, later moment, date-only collection on the same day: fine.
        for (collected, reported) in [
            ("2026-11-20 08:12", "2026-11-20 08:12"),
            ("2026-11-20 08:12", "2026-11-21 00:00"),
            ("2026-11-20", "2026-11-20 00:00"),
            // 08:12 in China is 00:12 UTC.
            ("2026-11-20 08:12", "2026-11-20T00:12:00Z"),
            ("2026-12-31 23:59", "2027-01-01T00:00:00+08:00"),
        ] {
            assert!(
                one(&[("collected_at", collected), ("reported_at", reported)]).is_ok(),
                "{collected} {reported}"
            );
        }
        for (collected, reported) in [
            ("2026-11-20", "2026-11-19 23:59"),
            ("2026-11-20 08:12", "2026-11-20T00:11:00Z"),
            ("2026-11-20T10:00:00+09:00", "2026-11-20 08:59"),
            ("2027-01-01 00:00", "2026-12-31 23:59"),
        ] {
            assert!(
                problem(&[("collected_at", collected), ("reported_at", reported)])
                    .contains("before it was collected"),
                "{collected} {reported}"
            );
        }
    }

    #[test]
    fn required_cells() {
        let problems =
            one(&[("result_id", ""), ("patient_id", ""), ("local_code", " ")]).unwrap_err();
        let got: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                "line 2, column result_id: result_id is empty",
                "line 2, column patient_id: patient_id is empty",
                "line 2, column local_code: local_code is empty",
            ]
        );
    }

    #[test]
    fn headers_by_name_in_any_order() {
        let results = parse(
            " VALUE ,Local_Code,comment,Result_ID,patient_id,UNIT\n\
             \"6.30\",GLU,whatever,R1,P1,mmol/L\n\
             阴性,HBSAG,,R2,P1,\n",
        )
        .unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0].codes[0].code, "GLU");
        assert!(
            matches!(&results[0].value, SentValue::Quantity { value, unit, .. } if value.as_str() == "6.30" && unit == "mmol/L")
        );
        assert_eq!(
            results[1].value,
            SentValue::Text {
                text: "阴性".into()
            }
        );
        // A header alone is an empty batch.
        assert_eq!(parse(HEADER).unwrap(), vec![]);
    }

    #[test]
    fn header_problems() {
        let Err(ResultsError::Header(problems)) = parse("id,patient,local_code\nR1,P1,GLU\n")
        else {
            panic!()
        };
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 1);
        assert!(problems[0].message.starts_with(
            "missing columns: result_id, patient_id, value (the first row must be a header"
        ));
        let Err(e) = parse("result_id,patient_id,local_code,value,Value,comment,comment\n") else {
            panic!()
        };
        assert_eq!(e.problems().len(), 1);
        assert_eq!(e.problems()[0].message, "columns named twice: value");
        assert_eq!(
            e.to_string(),
            "unusable header: line 1: columns named twice: value"
        );
        assert!(matches!(
            parse(""),
            Err(ResultsError::File(CsvError::Empty))
        ));
        let Err(e) = parse_results(
            &[0x81, 0x20, 0xFF],
            &ResultsOptions {
                patients: &policy(),
                default_offset_minutes: 480,
                result_id_system: "",
            },
        ) else {
            panic!()
        };
        assert!(matches!(e, ResultsError::File(CsvError::Encoding)));
        assert!(e.problems().is_empty());
    }

    #[test]
    fn every_problem_with_its_line() {
        let text = format!(
            "{HEADER}\
             R1,P1,M,1980-01-01,GLU,\"Glucose,\nfasting\",5.6,mmol/L,,H,F,2026-11-20 08:00,2026-11-20 09:00,,\n\
             R2,P1,X,1980-02-30,GLU,,5.6,,,偏高,F,2026-13-01 08:00,,,\n\
             \n\
             R1,P2,,,GLU,,,,,,,,,,\n\
             R3,P3,,,ALT,,\"1,5\",U/L,,,Z,,2026-11-20,,\n"
        );
        let Err(ResultsError::Rows(problems)) = parse(&text) else {
            panic!()
        };
        let got: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                "line 4, column patient_sex: `X` is not a sex (expected M, F, O, U, 男, 女, male, female, other or unknown)",
                "line 4, column patient_birth_date: `1980-02-30` is not a date (expected YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)",
                &format!(
                    "line 4, column flag: `偏高` is not a flag (expected an HL7 interpretation code: {}; or ↑, ↓, 高, 低, 正常, 阳性, 阴性)",
                    V2_INTERPRETATION_CODES.join(", ")
                ),
                "line 4, column collected_at: `2026-13-01 08:00` is not a date-time (expected YYYY-MM-DD HH:MM[:SS][±HH:MM])",
                "line 6, column result_id: duplicate result_id `R1` (first on line 2)",
                "line 6, column value: value is empty (only a cancelled result, status `cancelled` or `X`, may have none)",
                "line 7, column status: `Z` is not a result status (expected final, preliminary, amended, corrected, cancelled, entered-in-error, registered, unknown, or an HL7 v2 OBX-11 code of table 0085)",
                "line 7, column value: `1,5` has a decimal comma or thousands separator; write 1.5 or 1234.5, with `.` as the decimal point and no separators",
                "line 7, column reported_at: `2026-11-20` has no time, and reported_at is an instant (expected YYYY-MM-DD HH:MM[:SS][±HH:MM])",
            ]
        );
    }

    #[test]
    fn a_row_wider_than_the_header_is_reported() {
        let text = "result_id,patient_id,local_code,value,unit\nR1,P1,GLU,1,5,mmol/L\nR2,P1,GLU,1,mmol/L,,\n";
        let Err(ResultsError::Rows(problems)) = parse(text) else {
            panic!()
        };
        assert_eq!(
            problems.len(),
            1,
            "empty extra cells are fine: {problems:?}"
        );
        assert_eq!(
            problems[0].to_string(),
            "line 2: the row has 6 cells but the header has 5 columns (a cell containing the delimiter must be quoted: \"1,5\")"
        );
    }

    #[test]
    fn a_broken_quote_is_reported() {
        let text = format!("{HEADER}R1,P1,,,GLU,,5.6,,,,,,,,\nR2,P1,,,GLU,\"open,5.6\n");
        let Err(ResultsError::Rows(problems)) = parse(&text) else {
            panic!()
        };
        // The csv reader reads an unterminated quote to the end of the file as one field: the
        // row is then too short rather than unreadable, and its problems are reported.
        assert!(problems.iter().all(|p| p.line == 3), "{problems:?}");
    }

    #[test]
    fn dates_count_days_like_the_calendar() {
        let day = |s| Date::parse(s).unwrap().days_since_epoch();
        assert_eq!(day("1970-01-01"), 0);
        assert_eq!(day("2000-03-01") - day("2000-02-28"), 2);
        assert_eq!(day("2026-11-20"), 20_777);
        assert_eq!(day("1969-12-31"), -1);
    }
}
