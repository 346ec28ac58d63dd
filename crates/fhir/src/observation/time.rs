//! FHIR's `date`, `dateTime` and `instant`, checked by hand: fhir-model turns a malformed
//! `effectiveDateTime` into no value at all instead of an error, so the readers check the text
//! themselves (the R4 regular expressions, plus real calendar days).

/// Which FHIR temporal type a text must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Temporal {
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    Date,
    /// A date, or a full date with a time of day to the second and a timezone.
    DateTime,
    /// A full date and time to the second, with a timezone.
    Instant,
}

impl Temporal {
    fn name(self) -> &'static str {
        match self {
            Temporal::Date => "date",
            Temporal::DateTime => "dateTime",
            Temporal::Instant => "instant",
        }
    }

    fn forms(self) -> &'static str {
        match self {
            Temporal::Date => "YYYY, YYYY-MM or YYYY-MM-DD",
            Temporal::DateTime => {
                "YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.fff] with a timezone \
                 (Z or ±hh:mm)"
            }
            Temporal::Instant => "YYYY-MM-DDThh:mm:ss[.fff] with a timezone (Z or ±hh:mm)",
        }
    }
}

/// `Ok(())` when `text` is a valid FHIR value of type `t`; else why not, as a message.
pub(crate) fn check(text: &str, t: Temporal) -> Result<(), String> {
    match why_not(text, t) {
        None => Ok(()),
        Some(why) => Err(format!(
            "`{text}` is not a FHIR {}: {why} (expected {})",
            t.name(),
            t.forms()
        )),
    }
}

fn why_not(text: &str, t: Temporal) -> Option<&'static str> {
    let (date, time) = match text.split_once('T') {
        Some((d, tm)) => (d, Some(tm)),
        None => (text, None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    let num = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u32>().ok())?
    };
    let year = match parts.first().and_then(|y| num(y, 4)) {
        Some(y) if y > 0 => y,
        _ => return Some("the year must be four digits, 0001 to 9999"),
    };
    if parts.len() > 3 {
        return Some("the date has too many parts");
    }
    let month = match parts.get(1) {
        None => None,
        Some(m) => match num(m, 2) {
            Some(m @ 1..=12) => Some(m),
            _ => return Some("the month must be 01 to 12"),
        },
    };
    if let Some(d) = parts.get(2) {
        let max = days_in_month(year, month.unwrap_or(1));
        match num(d, 2) {
            Some(d) if d >= 1 && d <= max => {}
            _ => return Some("the day must be 01 to the last day of the month"),
        }
    }
    let full_date = parts.len() == 3;
    match (t, time) {
        (Temporal::Date, Some(_)) => Some("a date has no time of day"),
        (Temporal::Date, None) => None,
        (Temporal::DateTime, None) => None,
        (Temporal::Instant, None) => Some("an instant needs a time of day and a timezone"),
        (_, Some(_)) if !full_date => Some("a time of day needs a full date"),
        (_, Some(time)) => why_not_time(time),
    }
}

fn why_not_time(time: &str) -> Option<&'static str> {
    let tz_at = time.find(['Z', '+', '-']);
    let (clock, tz) = match tz_at {
        Some(i) => (&time[..i], &time[i..]),
        None => (time, ""),
    };
    let (hms, fraction) = match clock.split_once('.') {
        Some((h, f)) => (h, Some(f)),
        None => (clock, None),
    };
    let fields: Vec<&str> = hms.split(':').collect();
    let two = |s: &str| {
        (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u32>().ok())?
    };
    match fields.as_slice() {
        [h, m, sec] => {
            if two(h).is_none_or(|h| h > 23)
                || two(m).is_none_or(|m| m > 59)
                || two(sec).is_none_or(|s| s > 60)
            {
                return Some("the time of day must be hh:mm:ss, 00:00:00 to 23:59:60");
            }
        }
        [_, _] => return Some("the time of day must have seconds"),
        _ => return Some("the time of day must be hh:mm:ss"),
    }
    if fraction.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit())) {
        return Some("the fraction of a second must be digits");
    }
    if tz.is_empty() {
        return Some("a time of day must have a timezone");
    }
    if tz == "Z" {
        return None;
    }
    let offset = &tz[1..];
    let ok = match offset.split_once(':') {
        Some((h, m)) => match (two(h), two(m)) {
            (Some(14), Some(0)) => true,
            (Some(h), Some(m)) => h <= 13 && m <= 59,
            _ => false,
        },
        None => false,
    };
    (!ok).then_some("the timezone must be Z or ±hh:mm, at most ±14:00")
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Unix milliseconds as a FHIR `instant` in UTC, to the millisecond: `2026-11-20T00:12:00.000Z`.
pub(crate) fn instant_from_millis(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times_follow_the_r4_pattern() {
        for ok in [
            "2013",
            "2013-04",
            "2013-04-02",
            "2013-04-02T09:30:10+01:00",
            "2013-04-02T09:30:10Z",
            "2013-04-02T09:30:10.123-05:30",
            "2024-02-29",
            "2016-12-31T23:59:60Z",
            "2013-04-02T09:30:10+14:00",
        ] {
            assert_eq!(check(ok, Temporal::DateTime), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("2013-04-02T09:30", "seconds"),
            ("2013-04-02T09:30:10", "timezone"),
            ("2013-04T09:30:10Z", "full date"),
            ("2013-13", "month"),
            ("2023-02-29", "day"),
            ("13-04-02", "year"),
            ("0000", "year"),
            ("2013-04-02 09:30:10Z", "day"),
            ("2013-04-02T24:00:00Z", "time of day"),
            ("2013-04-02T09:30:10+14:30", "timezone"),
            ("2013-04-02T09:30:10.Z", "fraction"),
            ("", "year"),
        ] {
            let e = check(bad, Temporal::DateTime).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn instants_and_dates() {
        assert!(check("2013-04-03T15:30:10+01:00", Temporal::Instant).is_ok());
        assert!(check("2013-04-03", Temporal::Instant).is_err());
        assert!(check("1974-12-25", Temporal::Date).is_ok());
        assert!(check("1974-12", Temporal::Date).is_ok());
        assert!(check("1974-12-25T10:00:00Z", Temporal::Date).is_err());
    }

    #[test]
    fn millis_become_utc_instants() {
        assert_eq!(instant_from_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            instant_from_millis(1_795_651_920_123),
            "2026-11-26T00:12:00.123Z"
        );
        assert_eq!(
            instant_from_millis(951_782_400_000),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(instant_from_millis(-1), "1969-12-31T23:59:59.999Z");
        for ms in [0, 1_700_000_000_000, 4_102_444_800_000] {
            assert!(check(&instant_from_millis(ms), Temporal::Instant).is_ok());
        }
    }
}
