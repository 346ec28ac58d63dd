//! A lab result as a hospital sent it, whatever the wire format: the common shape that the
//! FHIR, HL7 v2 and CSV readers produce and the normalizer ([`crate::normalize`]) consumes.
//!
//! Nothing here is interpreted yet: codes are the sender's, units are as written, numbers keep
//! their text. Readers check syntax (a number is a number, a date is a date) and say where each
//! piece came from; the normalizer decides what the result means.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A decimal number that keeps the sender's text: `6.30` stays `6.30`, because the number of
/// digits reported is clinical information (FHIR's `decimal` keeps it too).
///
/// The text is always in FHIR's decimal form (`-?(0|[1-9][0-9]*)(\.[0-9]+)?`): [`Decimal::parse`]
/// turns HL7 v2's `+5.0`, `05.3` and `.5` into `5.0`, `5.3` and `0.5`, and refuses anything else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Decimal {
    text: String,
    value: f64,
}

impl Decimal {
    /// Reads a plain decimal number (optional sign, digits, optional fraction; an exponent is
    /// accepted as FHIR allows it). Surrounding spaces are ignored.
    pub fn parse(text: &str) -> Option<Decimal> {
        let t = text.trim();
        let (negative, unsigned) = match t.as_bytes().first()? {
            b'-' => (true, &t[1..]),
            b'+' => (false, &t[1..]),
            _ => (false, t),
        };
        let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
            Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
            None => (unsigned, None),
        };
        let (int, frac) = match mantissa.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (mantissa, None),
        };
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || (int.is_empty() && frac.is_none_or(str::is_empty)) {
            return None;
        }
        if frac.is_some_and(|f| f.is_empty() || !digits(f)) {
            return None;
        }
        if let Some(e) = exponent {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            if e.is_empty() || !digits(e) || e.len() > 3 {
                return None;
            }
        }
        let int = int.trim_start_matches('0');
        let mut out = String::with_capacity(t.len() + 1);
        let is_zero = int.is_empty() && frac.is_none_or(|f| f.bytes().all(|b| b == b'0'));
        if negative && !is_zero {
            out.push('-');
        }
        out.push_str(if int.is_empty() { "0" } else { int });
        if let Some(f) = frac {
            out.push('.');
            out.push_str(f);
        }
        if let Some(e) = exponent {
            out.push('e');
            out.push_str(e);
        }
        let value: f64 = out.parse().ok()?;
        value.is_finite().then_some(Decimal { text: out, value })
    }

    /// `value` written with `significant` significant digits (at least one), without an
    /// exponent: how a converted value is reported.
    pub fn from_f64(value: f64, significant: u32) -> Option<Decimal> {
        if !value.is_finite() {
            return None;
        }
        if value == 0.0 {
            return Decimal::parse("0");
        }
        let significant = significant.max(1) as i32;
        let magnitude = value.abs().log10().floor() as i32;
        let decimals = significant - 1 - magnitude;
        let text = if decimals >= 0 {
            format!("{value:.prec$}", prec = decimals as usize)
        } else {
            let scale = 10f64.powi(-decimals);
            format!("{:.0}", (value / scale).round() * scale)
        };
        Decimal::parse(&text)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn value(&self) -> f64 {
        self.value
    }

    /// The number of significant digits the text shows (`6.30` → 3, `0.05` → 1, `100` → 3).
    pub fn significant_digits(&self) -> u32 {
        let mantissa = self.text.split(['e', 'E']).next().unwrap_or("");
        let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
        let trimmed = digits.trim_start_matches('0');
        u32::try_from(trimmed.len()).unwrap_or(u32::MAX).max(1)
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl TryFrom<String> for Decimal {
    type Error = String;
    fn try_from(s: String) -> Result<Decimal, String> {
        Decimal::parse(&s).ok_or_else(|| format!("`{s}` is not a decimal number"))
    }
}

impl From<Decimal> for String {
    fn from(d: Decimal) -> String {
        d.text
    }
}

/// How a value relates to the true value (FHIR `Quantity.comparator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparator {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = ">")]
    Gt,
}

impl Comparator {
    pub fn as_str(self) -> &'static str {
        match self {
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Ge => ">=",
            Comparator::Gt => ">",
        }
    }

    pub fn parse(s: &str) -> Option<Comparator> {
        match s.trim() {
            "<" => Some(Comparator::Lt),
            "<=" | "≤" => Some(Comparator::Le),
            ">=" | "≥" => Some(Comparator::Ge),
            ">" => Some(Comparator::Gt),
            _ => None,
        }
    }

    /// Splits a leading comparator off a value: `<0.5` → (`<`, `0.5`).
    pub fn split(text: &str) -> (Option<Comparator>, &str) {
        let t = text.trim();
        for (prefix, c) in [
            ("<=", Comparator::Le),
            (">=", Comparator::Ge),
            ("≤", Comparator::Le),
            ("≥", Comparator::Ge),
            ("<", Comparator::Lt),
            (">", Comparator::Gt),
        ] {
            if let Some(rest) = t.strip_prefix(prefix) {
                return (Some(c), rest.trim_start());
            }
        }
        (None, t)
    }
}

/// Which code system a code the sender used belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeOrigin {
    /// The sending hospital's own code (its local code system).
    Local,
    Loinc,
    National,
    /// Any other system, by URI: kept and passed on, never used to pick the concept.
    Other(String),
}

/// One code as sent (`OBX-3`, one `Observation.code.coding`, the CSV's `local_code`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentCode {
    pub origin: CodeOrigin,
    pub code: String,
    /// The sender's display text, or empty.
    pub display: String,
}

/// A business identifier (`system|value`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Identifier {
    pub system: String,
    pub value: String,
}

impl Identifier {
    pub fn new(system: impl Into<String>, value: impl Into<String>) -> Identifier {
        Identifier {
            system: system.into(),
            value: value.into(),
        }
    }

    /// Reads FHIR's search form `system|value`; a bare value has an empty system.
    pub fn parse_token(token: &str) -> Identifier {
        match token.split_once('|') {
            Some((s, v)) => Identifier::new(s, v),
            None => Identifier::new("", token),
        }
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}|{}", self.system, self.value)
    }
}

/// Administrative sex, as far as reference intervals care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Male,
    Female,
    Other,
    Unknown,
}

impl Sex {
    /// FHIR's `AdministrativeGender` code.
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
            Sex::Other => "other",
            Sex::Unknown => "unknown",
        }
    }

    /// Reads FHIR's codes, HL7 v2 table 0001 (`M`, `F`, `O`, `U`, `A`, `N`) and Chinese
    /// (`男`, `女`); `None` for anything else.
    pub fn parse(s: &str) -> Option<Sex> {
        match s.trim() {
            "male" | "M" | "m" | "男" | "1" => Some(Sex::Male),
            "female" | "F" | "f" | "女" | "2" => Some(Sex::Female),
            "other" | "O" | "A" | "N" => Some(Sex::Other),
            "unknown" | "U" | "" | "0" | "9" | "未知" => Some(Sex::Unknown),
            _ => None,
        }
    }
}

/// How patient identifiers become `system|value` identifiers: the hospital's record numbers
/// live in a system of the hospital's own, national identifiers (resident ID card, health card)
/// in one system shared by all hospitals, which is what links one person across hospitals.
/// Which identifier types count as national is configuration, not a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientIdPolicy {
    /// The system of national identifiers (`urn:oid:…` or a URL; configuration).
    pub national_system: String,
    /// Identifier type codes (HL7 v2 table 0203 in PID-3.5, FHIR `identifier.type` codes)
    /// that mark a national identifier, e.g. `NI`, `NNCHN`.
    pub national_types: Vec<String>,
    /// The system of this hospital's record numbers (`{base}/hospital/{id}/patient`).
    pub hospital_system: String,
}

impl PatientIdPolicy {
    /// The identifier for a value of type `type_code` (empty when not given).
    pub fn identifier(&self, type_code: &str, value: &str) -> Identifier {
        let national = self
            .national_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case(type_code.trim()));
        let system = if national {
            &self.national_system
        } else {
            &self.hospital_system
        };
        Identifier::new(system.clone(), value.trim())
    }
}

/// What huren keeps about a patient: identifiers, sex and birth date (for reference intervals
/// and for linking one person across hospitals), nothing more.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PatientInfo {
    pub identifiers: Vec<Identifier>,
    pub sex: Option<Sex>,
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    pub birth_date: Option<String>,
}

/// The value of a result as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SentValue {
    /// A number with an optional comparator and the unit as written (possibly empty).
    Quantity {
        value: Decimal,
        comparator: Option<Comparator>,
        unit: String,
    },
    /// Free text (`阴性`, `see note`).
    Text { text: String },
    /// A coded answer (`POS`, a SNOMED CT code).
    Coded {
        system: String,
        code: String,
        display: String,
    },
    /// A range of numbers (`2-5` cells per high-power field), either end open, in the unit as
    /// written.
    Range {
        low: Option<Decimal>,
        high: Option<Decimal>,
        unit: String,
    },
    /// A ratio of numbers (a titre `1:128`).
    Ratio {
        numerator: Decimal,
        denominator: Decimal,
    },
    /// A date or date-time, as a FHIR `dateTime`.
    DateTime { value: String },
    /// No value (a cancelled test; the status says why).
    Absent,
}

/// The reference range as sent: text, and the bounds when the sender structured them (FHIR).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SentRange {
    pub text: String,
    pub low: Option<Decimal>,
    pub high: Option<Decimal>,
    /// The unit of `low`/`high` when it differs from the value's; empty means the value's.
    pub unit: String,
}

/// FHIR `Observation.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResultStatus {
    Registered,
    Preliminary,
    Final,
    Amended,
    Corrected,
    Cancelled,
    EnteredInError,
    Unknown,
}

impl ResultStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ResultStatus::Registered => "registered",
            ResultStatus::Preliminary => "preliminary",
            ResultStatus::Final => "final",
            ResultStatus::Amended => "amended",
            ResultStatus::Corrected => "corrected",
            ResultStatus::Cancelled => "cancelled",
            ResultStatus::EnteredInError => "entered-in-error",
            ResultStatus::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<ResultStatus> {
        Some(match s {
            "registered" => ResultStatus::Registered,
            "preliminary" => ResultStatus::Preliminary,
            "final" => ResultStatus::Final,
            "amended" => ResultStatus::Amended,
            "corrected" => ResultStatus::Corrected,
            "cancelled" => ResultStatus::Cancelled,
            "entered-in-error" => ResultStatus::EnteredInError,
            "unknown" => ResultStatus::Unknown,
            _ => return None,
        })
    }

    /// HL7 v2 table 0085 (OBX-11) through the v2-to-FHIR ConceptMap: F, C, P, A, D, W, X map;
    /// the other codes have no FHIR status and give `None`.
    pub fn from_v2(code: &str) -> Option<ResultStatus> {
        // The v2-to-FHIR ConceptMap (table 0085 → observation-status) maps A, C, D, F, P, W and
        // X; it leaves the others without a target, and these are huren's reading of them:
        // B (appended report, values unchanged), U (status changed to final without the
        // results again) and V (verified) are final; I (specimen in lab, results pending) and
        // O (order detail only, no result) are registered; R (entered, not verified) and S
        // (partial) are preliminary; N (not asked) is cancelled, with no value.
        Some(match code.trim() {
            "F" | "B" | "U" | "V" => ResultStatus::Final,
            "C" => ResultStatus::Corrected,
            "P" | "R" | "S" => ResultStatus::Preliminary,
            "A" => ResultStatus::Amended,
            "D" | "W" => ResultStatus::EnteredInError,
            "X" | "N" => ResultStatus::Cancelled,
            "I" | "O" => ResultStatus::Registered,
            _ => return None,
        })
    }

    /// Whether a result in this status replaces an earlier one with the same identity.
    pub fn is_correction(self) -> bool {
        matches!(
            self,
            ResultStatus::Corrected | ResultStatus::Amended | ResultStatus::EnteredInError
        )
    }
}

/// The v3 ObservationInterpretation codes that HL7 v2 table 0078 (OBX-8) maps to one to one
/// (v2-to-FHIR ConceptMap InterpretationCodes); AC, HM, OBX, QCF, TOX, MS and VS have no target.
pub const V2_INTERPRETATION_CODES: &[&str] = &[
    "<", ">", "A", "AA", "B", "CAR", "D", "DET", "E", "EX", "EXP", "H", "HH", "HU", "I", "IE",
    "IND", "L", "LL", "LU", "N", "NCL", "ND", "NEG", "NR", "NS", "POS", "R", "RR", "S", "SDD",
    "SYN-R", "SYN-S", "U", "UNE", "W", "WR",
];

/// One lab result as a hospital sent it, with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabResult {
    /// Where in the input it is, for messages: `entry[3]`, `OBX segment 7`, `line 12`.
    pub source: String,
    /// The business identity: `Observation.identifier`, the filler order number with OBX-3 and
    /// OBX-4, or the CSV's `result_id`. Results with the same identity are one result.
    pub identifier: Option<Identifier>,
    pub patient: PatientInfo,
    /// Every code the sender gave, in the sender's order.
    pub codes: Vec<SentCode>,
    pub value: SentValue,
    pub reference_range: Option<SentRange>,
    /// v3 ObservationInterpretation codes sent (`H`, `LL`).
    pub interpretation: Vec<String>,
    pub status: ResultStatus,
    /// When the specimen was collected or the observation made: a FHIR `dateTime`.
    pub effective: Option<String>,
    /// When the result was released: a FHIR `instant`.
    pub issued: Option<String>,
    /// The performing laboratory (OBX-23, `Observation.performer`), as an identifier or name.
    pub performer: Option<String>,
    /// The specimen type as sent (`血清`, `SER`).
    pub specimen: String,
    /// Free-text notes.
    pub notes: Vec<String>,
}

impl LabResult {
    /// An empty result at `source`, to be filled by a reader.
    pub fn new(source: impl Into<String>) -> LabResult {
        LabResult {
            source: source.into(),
            identifier: None,
            patient: PatientInfo::default(),
            codes: Vec::new(),
            value: SentValue::Absent,
            reference_range: None,
            interpretation: Vec::new(),
            status: ResultStatus::Final,
            effective: None,
            issued: None,
            performer: None,
            specimen: String::new(),
            notes: Vec::new(),
        }
    }

    /// The sender's local code, if it sent one.
    pub fn local_code(&self) -> Option<&SentCode> {
        self.codes.iter().find(|c| c.origin == CodeOrigin::Local)
    }

    /// The unit as sent, of a quantity or a range; empty for other values.
    pub fn sent_unit(&self) -> &str {
        match &self.value {
            SentValue::Quantity { unit, .. } | SentValue::Range { unit, .. } => unit,
            _ => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_keep_their_digits() {
        for (text, kept) in [
            ("6.30", "6.30"),
            ("+5.0", "5.0"),
            ("05.3", "5.3"),
            (".5", "0.5"),
            ("-0.0", "0.0"),
            ("100", "100"),
            ("1.2e3", "1.2e3"),
            (" 7 ", "7"),
        ] {
            assert_eq!(Decimal::parse(text).unwrap().as_str(), kept, "{text}");
        }
        for bad in [
            "", "-", ".", "1.", "1..2", "abc", "1,5", "<0.5", "阴性", "1e", "NaN", "inf",
        ] {
            assert!(Decimal::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(Decimal::parse("6.30").unwrap().significant_digits(), 3);
        assert_eq!(Decimal::parse("0.05").unwrap().significant_digits(), 1);
        assert_eq!(Decimal::parse("100").unwrap().significant_digits(), 3);
    }

    #[test]
    fn converted_values_are_rounded_to_significant_digits() {
        assert_eq!(Decimal::from_f64(5.550621669, 4).unwrap().as_str(), "5.551");
        assert_eq!(Decimal::from_f64(106.08, 4).unwrap().as_str(), "106.1");
        assert_eq!(Decimal::from_f64(12345.0, 3).unwrap().as_str(), "12300");
        assert_eq!(Decimal::from_f64(0.0123456, 3).unwrap().as_str(), "0.0123");
        assert_eq!(Decimal::from_f64(-2.5, 2).unwrap().as_str(), "-2.5");
        assert_eq!(Decimal::from_f64(0.0, 4).unwrap().as_str(), "0");
        assert!(Decimal::from_f64(f64::NAN, 3).is_none());
    }

    #[test]
    fn comparators_split_off() {
        assert_eq!(Comparator::split("<0.5"), (Some(Comparator::Lt), "0.5"));
        assert_eq!(Comparator::split(">= 10"), (Some(Comparator::Ge), "10"));
        assert_eq!(Comparator::split("5.3"), (None, "5.3"));
    }

    #[test]
    fn v2_statuses_follow_the_v2_to_fhir_map() {
        assert_eq!(ResultStatus::from_v2("F"), Some(ResultStatus::Final));
        assert_eq!(ResultStatus::from_v2("C"), Some(ResultStatus::Corrected));
        assert_eq!(
            ResultStatus::from_v2("W"),
            Some(ResultStatus::EnteredInError)
        );
        // Every code of table 0085 has a status.
        for (code, status) in [
            ("A", ResultStatus::Amended),
            ("B", ResultStatus::Final),
            ("D", ResultStatus::EnteredInError),
            ("I", ResultStatus::Registered),
            ("N", ResultStatus::Cancelled),
            ("O", ResultStatus::Registered),
            ("P", ResultStatus::Preliminary),
            ("R", ResultStatus::Preliminary),
            ("S", ResultStatus::Preliminary),
            ("U", ResultStatus::Final),
            ("V", ResultStatus::Final),
            ("X", ResultStatus::Cancelled),
        ] {
            assert_eq!(ResultStatus::from_v2(code), Some(status), "{code}");
        }
        assert_eq!(ResultStatus::from_v2("Z"), None);
        assert_eq!(ResultStatus::from_v2(""), None);
    }
}
