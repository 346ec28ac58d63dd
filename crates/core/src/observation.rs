//! Stored Observations: the identity of a result, what replaces what, and the times search
//! compares.
//!
//! A result's identity is its hospital plus its business identifier (`Observation.identifier`,
//! the filler order number with OBX-3 and OBX-4, the CSV's `result_id`). The same result sent
//! twice is stored once; a later version replaces the stored one and the stored one goes to the
//! history, except that a plain resend never undoes a correction.

use crate::mapping::HospitalId;
use crate::result::{Identifier, LabResult, ResultStatus};
use serde::{Deserialize, Serialize};

/// One stored Observation (the current version).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredObservation {
    /// The resource id: derived from hospital and identity, so every node computes the same.
    pub id: String,
    pub hospital: HospitalId,
    /// The business identity, `system|value`.
    pub identity: String,
    /// Starts at 1; each replacement adds one.
    pub version: i64,
    pub status: ResultStatus,
    /// Why the result is held (`unmapped`, `not-approved`, `no-concept`), or empty when it is
    /// visible.
    pub held: String,
    /// The sender's local code (empty when none was sent).
    pub local_code: String,
    /// The national code, or empty while held.
    pub national_code: String,
    pub loinc: String,
    /// Start of `effective[x]` in Unix milliseconds, for date search.
    pub effective_at: Option<i64>,
    /// Every patient identifier, for subject search.
    pub subjects: Vec<Identifier>,
    /// The Observation JSON without `id` and `meta` (added when served).
    pub resource: String,
    /// The result as sent (JSON of [`crate::result::LabResult`]): held results are normalized
    /// again from it when their mapping is approved.
    pub source: String,
    /// Unix milliseconds of this version.
    pub updated_at: i64,
    /// What recognition keeps of the result (JSON of [`crate::recognition::Recorded`]), or
    /// empty for a held result.
    pub recognition: String,
}

/// What a write did to one Observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteOutcome {
    Created,
    /// Replaced the stored version; the old one is in the history.
    Updated,
    /// The same result was already stored: nothing changed.
    Unchanged,
    /// A plain resend of a result that has since been corrected: the correction stays.
    Stale,
}

/// What to do with `incoming` when `stored` has the same identity.
pub fn decide(stored: &StoredObservation, incoming: &StoredObservation) -> WriteOutcome {
    if stored.resource == incoming.resource && stored.held == incoming.held {
        return WriteOutcome::Unchanged;
    }
    if stored.status.is_correction() && !incoming.status.is_correction() {
        return WriteOutcome::Stale;
    }
    WriteOutcome::Updated
}

/// The patient identifiers a stored result is found by ([`StoredObservation::subjects`]): the
/// sent result's `patient.identifiers`, sorted and without duplicates, as the store keeps them.
pub fn subjects_of(result: &LabResult) -> Vec<Identifier> {
    sorted_subjects(result.patient.identifiers.clone())
}

/// Identifiers as the store keeps a result's subjects: sorted, without duplicates.
fn sorted_subjects(mut identifiers: Vec<Identifier>) -> Vec<Identifier> {
    identifiers.sort();
    identifiers.dedup();
    identifiers
}

/// [`subjects_of`] read back from a stored result's `source` (the sent result's JSON), parsing
/// only its patient's identifiers: a patient's results are served without a second query for
/// them. `None` when `source` is not such JSON.
pub fn subjects_of_source(source: &str) -> Option<Vec<Identifier>> {
    #[derive(Deserialize)]
    struct Sent {
        patient: Patient,
    }
    #[derive(Deserialize)]
    struct Patient {
        identifiers: Vec<Identifier>,
    }
    let sent = serde_json::from_str::<Sent>(source).ok()?;
    Some(sorted_subjects(sent.patient.identifiers))
}

/// The resource id for a result: 32 hex digits of a stable hash of hospital and identity.
///
/// FNV-1a over 128 bits: stable across Rust versions and platforms (unlike `DefaultHasher`),
/// and ids are not secrets, so a cryptographic hash would buy nothing.
pub fn observation_id(hospital: &HospitalId, identity: &str) -> String {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut h = OFFSET;
    for b in hospital
        .as_str()
        .bytes()
        .chain(std::iter::once(0))
        .chain(identity.bytes())
    {
        h ^= u128::from(b);
        h = h.wrapping_mul(PRIME);
    }
    format!("{h:032x}")
}

/// A sighting of a local code without an approved mapping, for the unmapped queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmappedSighting {
    pub hospital: HospitalId,
    pub local_code: String,
    pub local_name: String,
    pub unit: String,
    pub at: i64,
}

/// One entry of a hospital's unmapped queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmappedCode {
    pub local_code: String,
    pub local_name: String,
    pub unit: String,
    /// Results received with this code while it had no approved mapping.
    pub count: i64,
    pub first_seen: i64,
    pub last_seen: i64,
}

/// Which code column a search compares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CodeColumn {
    National,
    Loinc,
    Local,
    /// National, LOINC or local alike.
    #[default]
    Any,
}

/// An Observation search.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObservationQuery {
    /// Only this hospital's results (the caller's scope); `None` for all.
    pub hospital: Option<HospitalId>,
    /// Results of the patient with this identifier (an empty system matches any system).
    pub subject: Option<Identifier>,
    /// Any of these codes.
    pub codes: Vec<(CodeColumn, String)>,
    pub effective_from: Option<i64>,
    pub effective_to: Option<i64>,
    /// Include held results (curators); clinicians see only visible ones.
    pub include_held: bool,
    pub limit: usize,
    pub offset: usize,
}

/// The instant a FHIR `date`, `dateTime` or `instant` starts, in Unix milliseconds:
/// `2026`, `2026-11`, `2026-11-20`, `2026-11-20T08:12:00+08:00`, `…Z`, fractions allowed.
/// Dates without a time are taken in `default_offset_minutes` (a Chinese lab's day starts at
/// 00:00 +08:00). `None` when the text is not such a value.
pub fn fhir_instant_millis(text: &str, default_offset_minutes: i32) -> Option<i64> {
    let t = text.trim();
    let (date, time) = match t.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (t, None),
    };
    let mut parts = date.split('-');
    let year: i64 = parse_fixed(parts.next()?, 4)?;
    let month: i64 = parts.next().map_or(Some(1), |m| parse_fixed(m, 2))?;
    let day: i64 = parts.next().map_or(Some(1), |d| parse_fixed(d, 2))?;
    if parts.next().is_some() || !(1..=12).contains(&month) || day < 1 || day > days_in(year, month)
    {
        return None;
    }
    let mut seconds = days_from_civil(year, month, day) * 86_400;
    let mut millis = 0;
    let mut offset = i64::from(default_offset_minutes);
    if let Some(time) = time {
        let (clock, zone) = if let Some(c) = time.strip_suffix('Z') {
            (c, Some(0))
        } else if let Some(i) = time.rfind(['+', '-']) {
            let z = &time[i + 1..];
            let (h, m) = z.split_once(':')?;
            let minutes = parse_fixed(h, 2)? * 60 + parse_fixed(m, 2)?;
            (
                &time[..i],
                Some(if &time[i..=i] == "-" {
                    -minutes
                } else {
                    minutes
                }),
            )
        } else {
            (time, None)
        };
        offset = zone?;
        let (hms, fraction) = match clock.split_once('.') {
            Some((hms, f)) => (hms, Some(f)),
            None => (clock, None),
        };
        let mut hms = hms.split(':');
        let h = parse_fixed(hms.next()?, 2)?;
        let m = parse_fixed(hms.next()?, 2)?;
        let s = parse_fixed(hms.next()?, 2)?;
        if hms.next().is_some() || h > 23 || m > 59 || s > 60 {
            return None;
        }
        if let Some(f) = fraction {
            if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let padded = format!("{:0<3}", &f[..f.len().min(3)]);
            millis = padded.parse::<i64>().ok()?;
        }
        seconds += h * 3600 + m * 60 + s;
    }
    Some((seconds - offset * 60) * 1000 + millis)
}

fn parse_fixed(s: &str, len: usize) -> Option<i64> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn days_in(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An RFC 3339 UTC instant (`2026-11-20T00:12:00.000Z`) for Unix milliseconds: FHIR
/// `meta.lastUpdated`.
pub fn instant_from_millis(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // civil_from_days
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_results_subjects_read_back_from_its_source() {
        let mut sent = LabResult::new("entry[0]");
        sent.patient.identifiers = vec![
            Identifier::new("urn:hosp-a:mrn", "MRN-1"),
            Identifier::new("urn:cn:resident-id", "420106198001011234"),
            Identifier::new("urn:hosp-a:mrn", "MRN-1"),
        ];
        let subjects = subjects_of(&sent);
        assert_eq!(
            subjects,
            [
                Identifier::new("urn:cn:resident-id", "420106198001011234"),
                Identifier::new("urn:hosp-a:mrn", "MRN-1"),
            ]
        );
        let source = serde_json::to_string(&sent).unwrap();
        assert_eq!(subjects_of_source(&source), Some(subjects));
        for not_a_result in ["", "{}", "[]", r#"{"patient":{}}"#, "{\"patient\""] {
            assert_eq!(subjects_of_source(not_a_result), None, "{not_a_result}");
        }
    }

    #[test]
    fn fhir_times_become_millis() {
        let at = |s| fhir_instant_millis(s, 480);
        assert_eq!(at("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(at("1970-01-01T08:00:00+08:00"), Some(0));
        assert_eq!(at("1970-01-01"), Some(-8 * 3_600_000));
        assert_eq!(at("2026-11-20T08:12:30.5+08:00"), Some(1_795_133_550_500));
        assert_eq!(at("2026-11-20T00:12:30.5Z"), Some(1_795_133_550_500));
        assert_eq!(at("2026"), at("2026-01-01"));
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "2026-11-20T08:12",
            "20261120",
            "x",
            "2026-11-20T25:00:00Z",
        ] {
            assert_eq!(at(bad), None, "{bad}");
        }
        // Without an offset a dateTime with a time is not valid FHIR.
        assert_eq!(at("2026-11-20T08:12:00"), None);
    }

    #[test]
    fn millis_print_as_utc_instants() {
        assert_eq!(instant_from_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            instant_from_millis(1_795_133_550_500),
            "2026-11-20T00:12:30.500Z"
        );
        assert_eq!(
            instant_from_millis(951_782_400_000),
            "2000-02-29T00:00:00.000Z"
        );
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = HospitalId::parse("hosp-a").unwrap();
        let b = HospitalId::parse("hosp-b").unwrap();
        assert_eq!(observation_id(&a, "x|1"), observation_id(&a, "x|1"));
        assert_ne!(observation_id(&a, "x|1"), observation_id(&b, "x|1"));
        assert_ne!(observation_id(&a, "x|1"), observation_id(&a, "x|2"));
        assert_eq!(observation_id(&a, "x|1").len(), 32);
    }
}
