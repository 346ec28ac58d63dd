//! HL7 v2 timestamps (TS/DTM): `YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]`, kept at the precision
//! the sender used. A birth date `19850312` is a day, not midnight; `202403050830` has no
//! seconds. The conversion to a FHIR dateTime (which needs an offset once there is a time) is
//! the caller's, because only it knows the sender's time zone.

use std::fmt;
use std::str::FromStr;

/// An HL7 v2 timestamp at the precision it was sent with.
///
/// Each part is present only if every larger part is (`day` implies `month`); the parser
/// guarantees it, and that the date exists (no 30 February).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timestamp {
    pub year: u16,
    pub month: Option<u8>,
    pub day: Option<u8>,
    pub hour: Option<u8>,
    pub minute: Option<u8>,
    pub second: Option<u8>,
    /// Fraction of a second, as the digits sent after the point (`"5"` and `"50"` differ in
    /// precision). Only with seconds.
    pub fraction: Option<String>,
    /// Offset from UTC in minutes (`+0800` is 480), when the sender gave one.
    pub offset_minutes: Option<i16>,
}

/// How precise a [`Timestamp`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Precision {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    /// Fractional seconds with this many digits.
    Fraction(u8),
}

/// Why a text is not an HL7 timestamp (wrapped by the parser into
/// [`crate::Hl7Error::BadTimestamp`] with its location).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampError(pub String);

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TimestampError {}

const SHAPE: &str = "expected YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]";

impl Timestamp {
    /// Parses an HL7 TS/DTM value (its first component; callers pass TS.1).
    ///
    /// # Errors
    ///
    /// A [`TimestampError`] saying what is wrong: the shape, a part out of range, or a date that
    /// does not exist.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        let err = |reason: String| Err(TimestampError(reason));
        if text.is_empty() {
            return err("empty".into());
        }
        if !text.is_ascii() {
            return err(format!("{SHAPE}; found characters other than digits"));
        }
        // The offset starts at the first sign after the year (a year is never signed).
        let (main, offset) = match text.get(4..).and_then(|t| t.find(['+', '-'])) {
            Some(i) => (&text[..4 + i], Some(&text[4 + i..])),
            None => (text, None),
        };
        let (digits, fraction) = match main.split_once('.') {
            Some((d, f)) => (d, Some(f)),
            None => (main, None),
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return err(format!("{SHAPE}; found {:?}", non_digits(digits)));
        }
        if !matches!(digits.len(), 4 | 6 | 8 | 10 | 12 | 14) {
            return err(format!("{SHAPE}; found {} digits", digits.len()));
        }
        let part = |i: usize| -> Option<u8> { digits.get(i..i + 2).and_then(|s| s.parse().ok()) };
        let year: u16 = digits[..4]
            .parse()
            .map_err(|_| TimestampError(SHAPE.into()))?;
        let (month, day, hour, minute, second) = (part(4), part(6), part(8), part(10), part(12));
        if let Some(m) = month
            && !(1..=12).contains(&m)
        {
            return err(format!("month {m:02} is not 01-12"));
        }
        if let (Some(m), Some(d)) = (month, day) {
            let month = time::Month::try_from(m).map_err(|e| TimestampError(e.to_string()))?;
            if time::Date::from_calendar_date(i32::from(year), month, d).is_err() {
                return err(format!("{year:04}-{m:02}-{d:02} is not a date"));
            }
        }
        if let Some(h) = hour.filter(|&h| h > 23) {
            return err(format!("hour {h:02} is not 00-23"));
        }
        if let Some(m) = minute.filter(|&m| m > 59) {
            return err(format!("minute {m:02} is not 00-59"));
        }
        if let Some(s) = second.filter(|&s| s > 59) {
            return err(format!("second {s:02} is not 00-59"));
        }
        let fraction = match fraction {
            None => None,
            Some(_) if second.is_none() => {
                return err("a fraction of a second needs seconds (YYYYMMDDHHMMSS.S)".into());
            }
            Some(f) if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) => {
                return err(format!("fraction of a second {f:?} is not 1-9 digits"));
            }
            Some(f) => Some(f.to_owned()),
        };
        let offset_minutes = match offset {
            None => None,
            Some(o) => Some(parse_offset(o)?),
        };
        Ok(Self {
            year,
            month,
            day,
            hour,
            minute,
            second,
            fraction,
            offset_minutes,
        })
    }

    /// The precision the sender used.
    pub fn precision(&self) -> Precision {
        if let Some(f) = &self.fraction {
            Precision::Fraction(u8::try_from(f.len()).unwrap_or(u8::MAX))
        } else if self.second.is_some() {
            Precision::Second
        } else if self.minute.is_some() {
            Precision::Minute
        } else if self.hour.is_some() {
            Precision::Hour
        } else if self.day.is_some() {
            Precision::Day
        } else if self.month.is_some() {
            Precision::Month
        } else {
            Precision::Year
        }
    }

    /// A timestamp to the second with its UTC offset, e.g. for MSH-7 of an ACK.
    pub fn from_offset_date_time(at: time::OffsetDateTime) -> Self {
        let offset = at.offset().whole_minutes();
        Self {
            year: u16::try_from(at.year()).unwrap_or(0),
            month: Some(u8::from(at.month())),
            day: Some(at.day()),
            hour: Some(at.hour()),
            minute: Some(at.minute()),
            second: Some(at.second()),
            fraction: None,
            offset_minutes: Some(offset),
        }
    }
}

fn non_digits(digits: &str) -> String {
    digits.chars().filter(|c| !c.is_ascii_digit()).collect()
}

fn parse_offset(o: &str) -> Result<i16, TimestampError> {
    let bad = || {
        TimestampError(format!(
            "time-zone offset {o:?} is not +HHMM or -HHMM ({SHAPE})"
        ))
    };
    let (sign, hhmm) = o.split_at_checked(1).ok_or_else(bad)?;
    if hhmm.len() != 4 || !hhmm.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let hours: i16 = hhmm[..2].parse().map_err(|_| bad())?;
    let minutes: i16 = hhmm[2..].parse().map_err(|_| bad())?;
    if hours > 14 || minutes > 59 {
        return Err(bad());
    }
    let total = hours * 60 + minutes;
    Ok(if sign == "-" { -total } else { total })
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Writes the HL7 form back, at the same precision: parsing and printing round-trip.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        for part in [self.month, self.day, self.hour, self.minute, self.second]
            .into_iter()
            .map_while(|p| p)
        {
            write!(f, "{part:02}")?;
        }
        if let Some(fraction) = &self.fraction {
            write!(f, ".{fraction}")?;
        }
        if let Some(offset) = self.offset_minutes {
            let sign = if offset < 0 { '-' } else { '+' };
            let abs = offset.unsigned_abs();
            write!(f, "{sign}{:02}{:02}", abs / 60, abs % 60)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Result<(&str, Precision), &str>) {
        match (Timestamp::parse(text), expected) {
            (Ok(ts), Ok((printed, precision))) => {
                assert_eq!(ts.to_string(), printed, "{text}");
                assert_eq!(ts.precision(), precision, "{text}");
            }
            (Err(e), Err(reason)) => assert!(e.0.contains(reason), "{text}: {e}"),
            (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn valid_timestamps_keep_their_precision() {
        use Precision::*;
        check("2024", Ok(("2024", Year)));
        check("202403", Ok(("202403", Month)));
        check("19850312", Ok(("19850312", Day)));
        check("2024030508", Ok(("2024030508", Hour)));
        check("202403050830", Ok(("202403050830", Minute)));
        check("20240305083015", Ok(("20240305083015", Second)));
        check("20240305083015.5", Ok(("20240305083015.5", Fraction(1))));
        check(
            "20240305083015.1234",
            Ok(("20240305083015.1234", Fraction(4))),
        );
        check("20240305083015+0800", Ok(("20240305083015+0800", Second)));
        check("202403050830-0530", Ok(("202403050830-0530", Minute)));
        check("20240229", Ok(("20240229", Day)));
        check(
            "20240305083015.50+0800",
            Ok(("20240305083015.50+0800", Fraction(2))),
        );
    }

    #[test]
    fn invalid_timestamps_say_why() {
        check("", Err("empty"));
        check("2024-03-05", Err("time-zone offset"));
        check("2024/03/05 08:30", Err("found \"// :\""));
        check("20240305 0830", Err("found \" \""));
        check("2024030", Err("found 7 digits"));
        check("20241305", Err("month 13"));
        check("20230229", Err("2023-02-29 is not a date"));
        check("20240305250000", Err("hour 25"));
        check("20240305086000", Err("minute 60"));
        check("20240305083060", Err("second 60"));
        check("202403050830.5", Err("needs seconds"));
        check("20240305083015.", Err("is not 1-9 digits"));
        check("20240305083015+08", Err("time-zone offset"));
        check("20240305083015+2500", Err("time-zone offset"));
        check("二〇二四", Err("other than digits"));
        check("abcd", Err("found \"abcd\""));
    }

    #[test]
    fn from_offset_date_time() {
        let at = time::macros::datetime!(2024-03-05 08:30:15 +08:00);
        assert_eq!(
            Timestamp::from_offset_date_time(at).to_string(),
            "20240305083015+0800"
        );
    }
}
