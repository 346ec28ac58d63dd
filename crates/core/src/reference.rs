//! Reference ranges: reading the text labs send (`3.5-5.3`, `<5.2`, `阴性`), and the national
//! reference intervals (WS/T 404, WS/T 405) by sex and age, which `code-tables/reference-intervals.csv`
//! holds as data.

use crate::result::{Comparator, Decimal, Sex};
use serde::Serialize;

/// A reference range read from text: the bounds it states, if any.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParsedRange {
    pub low: Option<Decimal>,
    pub high: Option<Decimal>,
}

/// Separators labs put between the bounds of a range.
const RANGE_SEPARATORS: [&str; 6] = ["--", "~", "～", "—", "–", "-"];

/// Reads a reference range as labs write it: `3.5-5.3`, `3.5~5.3`, `3.5 - 5.3 mmol/L`, `<5.2`,
/// `≤5.2`, `>=1.0`, `>1.0`. Text without bounds (`阴性`, `negative`, `see note`) gives an empty
/// range: the text itself is kept by the caller. A trailing unit is ignored (the range is in the
/// value's unit).
pub fn parse_range(text: &str) -> ParsedRange {
    let t = text.trim();
    if t.is_empty() {
        return ParsedRange::default();
    }
    let (comparator, rest) = Comparator::split(t);
    if let Some(c) = comparator {
        let Some(n) = leading_number(rest) else {
            return ParsedRange::default();
        };
        return match c {
            Comparator::Lt | Comparator::Le => ParsedRange {
                low: None,
                high: Some(n),
            },
            Comparator::Gt | Comparator::Ge => ParsedRange {
                low: Some(n),
                high: None,
            },
        };
    }
    // A leading minus belongs to the low bound, so look for the separator after the first
    // character.
    for sep in RANGE_SEPARATORS {
        let Some(i) = t.get(1..).and_then(|s| s.find(sep)).map(|i| i + 1) else {
            continue;
        };
        let (low, high) = (&t[..i], &t[i + sep.len()..]);
        if let (Some(low), Some(high)) = (Decimal::parse(low), leading_number(high))
            && low.value() <= high.value()
        {
            return ParsedRange {
                low: Some(low),
                high: Some(high),
            };
        }
    }
    ParsedRange::default()
}

/// The number at the start of `text`, if the rest is a unit or nothing (`5.2 mmol/L` → 5.2).
fn leading_number(text: &str) -> Option<Decimal> {
    let t = text.trim();
    let end = t
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && (c == '-' || c == '+'))))
        .map_or(t.len(), |(i, _)| i);
    let rest = t[end..].trim();
    // `5.2 mmol/L` and `5.2` are numbers; `5.2abc1` is not.
    if rest.chars().any(|c| c.is_ascii_digit()) && !rest.contains('/') && !rest.contains('*') {
        return None;
    }
    Decimal::parse(&t[..end])
}

/// One national reference interval (a row of `reference-intervals.csv`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReferenceInterval {
    pub national_code: String,
    /// `None` for both sexes.
    pub sex: Option<Sex>,
    /// Ages in years, `[age_low, age_high)`; `None` is open.
    pub age_low: Option<f64>,
    pub age_high: Option<f64>,
    pub low: Option<Decimal>,
    pub high: Option<Decimal>,
    /// UCUM unit of the bounds.
    pub unit: String,
    /// Measurement method the interval is for, or empty for any.
    pub method: String,
    /// The standard it comes from (`WS/T 404.1-2012`).
    pub standard: String,
}

/// The national reference intervals, looked up by concept, sex and age.
#[derive(Debug, Clone, Default)]
pub struct ReferenceIntervals {
    rows: Vec<ReferenceInterval>,
}

impl ReferenceIntervals {
    pub fn new(rows: Vec<ReferenceInterval>) -> ReferenceIntervals {
        ReferenceIntervals { rows }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The interval for a patient of `sex` aged `age` years, when exactly one applies: a
    /// sex-specific row beats a row for both sexes, and when the table has several rows for
    /// different methods (direct bilirubin) none is chosen, since the method decides.
    /// Without a known age, only rows open on both ends or covering adults apply.
    pub fn find(
        &self,
        national_code: &str,
        sex: Option<Sex>,
        age: Option<f64>,
    ) -> Option<&ReferenceInterval> {
        let fits = |r: &&ReferenceInterval| {
            r.national_code == national_code
                && match age {
                    Some(a) => r.age_low.is_none_or(|l| a >= l) && r.age_high.is_none_or(|h| a < h),
                    None => r.age_low.is_none() && r.age_high.is_none(),
                }
        };
        let sex = sex.filter(|s| matches!(s, Sex::Male | Sex::Female));
        let specific: Vec<&ReferenceInterval> = self
            .rows
            .iter()
            .filter(fits)
            .filter(|r| sex.is_some() && r.sex == sex)
            .collect();
        let chosen = if specific.is_empty() {
            self.rows
                .iter()
                .filter(fits)
                .filter(|r| r.sex.is_none())
                .collect()
        } else {
            specific
        };
        match chosen.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}

/// Whole years between a birth date and a date (`YYYY[-MM[-DD]]`, anything after the day is
/// ignored), or `None` when either cannot be read or the birth date is later.
pub fn age_in_years(birth_date: &str, at: &str) -> Option<f64> {
    let (by, bm, bd) = ymd(birth_date)?;
    let (y, m, d) = ymd(at)?;
    let mut years = y - by;
    if (m, d) < (bm, bd) {
        years -= 1;
    }
    (years >= 0).then_some(f64::from(years))
}

fn ymd(date: &str) -> Option<(i32, u32, u32)> {
    let date = date.get(..10).unwrap_or(date);
    let mut parts = date.split('-');
    let y = parts.next()?.parse().ok()?;
    let m = parts.next().map_or(Some(1), |m| m.parse().ok())?;
    let d = parts.next().map_or(Some(1), |d| d.parse().ok())?;
    Some((y, m, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(text: &str) -> (Option<String>, Option<String>) {
        let r = parse_range(text);
        (
            r.low.map(|d| d.as_str().to_owned()),
            r.high.map(|d| d.as_str().to_owned()),
        )
    }

    fn s(x: &str) -> Option<String> {
        Some(x.to_owned())
    }

    #[test]
    fn reads_the_ranges_labs_write() {
        assert_eq!(range("3.5-5.3"), (s("3.5"), s("5.3")));
        assert_eq!(range("3.50 - 5.30 mmol/L"), (s("3.50"), s("5.30")));
        assert_eq!(range("3.9~6.1"), (s("3.9"), s("6.1")));
        assert_eq!(range("0--40"), (s("0"), s("40")));
        assert_eq!(range("-2-3"), (s("-2"), s("3")));
        assert_eq!(range("<5.2"), (None, s("5.2")));
        assert_eq!(range("≤5.2"), (None, s("5.2")));
        assert_eq!(range(">=1.0"), (s("1.0"), None));
        assert_eq!(range("> 1.0 mmol/L"), (s("1.0"), None));
        assert_eq!(range("阴性"), (None, None));
        assert_eq!(range("negative"), (None, None));
        assert_eq!(range("5-3"), (None, None));
        assert_eq!(range(""), (None, None));
    }

    fn interval(
        sex: Option<Sex>,
        ages: (Option<f64>, Option<f64>),
        high: &str,
    ) -> ReferenceInterval {
        ReferenceInterval {
            national_code: "9000026-6".into(),
            sex,
            age_low: ages.0,
            age_high: ages.1,
            low: None,
            high: Decimal::parse(high),
            unit: "mmol/L".into(),
            method: String::new(),
            standard: "WS/T 404".into(),
        }
    }

    #[test]
    fn picks_the_interval_by_sex_and_age() {
        let table = ReferenceIntervals::new(vec![
            interval(Some(Sex::Male), (Some(20.0), Some(60.0)), "8.0"),
            interval(Some(Sex::Male), (Some(60.0), Some(80.0)), "9.5"),
            interval(None, (Some(20.0), Some(80.0)), "9.0"),
        ]);
        let high = |sex, age| {
            table
                .find("9000026-6", sex, age)
                .and_then(|r| r.high.clone())
                .map(|d| d.as_str().to_owned())
        };
        assert_eq!(high(Some(Sex::Male), Some(45.0)), s("8.0"));
        assert_eq!(high(Some(Sex::Male), Some(60.0)), s("9.5"));
        assert_eq!(high(Some(Sex::Female), Some(45.0)), s("9.0"));
        assert_eq!(high(None, Some(45.0)), s("9.0"));
        assert_eq!(high(Some(Sex::Male), Some(10.0)), None);
        assert_eq!(high(Some(Sex::Male), None), None);
        assert_eq!(table.find("9000001-9", None, Some(30.0)), None);
    }

    #[test]
    fn ages_count_whole_years() {
        assert_eq!(
            age_in_years("1980-06-15", "2026-06-14T08:00:00+08:00"),
            Some(45.0)
        );
        assert_eq!(age_in_years("1980-06-15", "2026-06-15"), Some(46.0));
        assert_eq!(age_in_years("1980", "2026-01-01"), Some(46.0));
        assert_eq!(age_in_years("2030-01-01", "2026-01-01"), None);
        assert_eq!(age_in_years("garbage", "2026-01-01"), None);
    }
}
