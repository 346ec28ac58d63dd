//! Reading JSON without losing anything: objects as their members in document order, each value
//! left as its raw text (`serde_json::value::RawValue`), so that a decimal keeps its digits and
//! every problem can name the exact element it is about.
//!
//! The readers here take a location (a FHIRPath-like string such as
//! `Observation.valueQuantity.value`) and report into a [`Sink`] instead of failing, so that one
//! pass finds every problem of a resource.

use super::Problem;
use crate::outcome::{IssueCode, Severity};
use huren_core::result::Decimal;
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// A JSON object: its members in document order, values as raw JSON text. Duplicate keys are
/// kept (FHIR JSON forbids them; [`obj`] reports them).
#[derive(Debug)]
/// Writes a JSON object member by member, each value given as raw JSON.
pub(crate) struct ObjectWriter {
    out: String,
    first: bool,
}

impl ObjectWriter {
    pub fn with_capacity(n: usize) -> ObjectWriter {
        let mut out = String::with_capacity(n);
        out.push('{');
        ObjectWriter { out, first: true }
    }

    pub fn member(&mut self, key: &str, raw: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push_str(&json_string(key));
        self.out.push(':');
        self.out.push_str(raw);
    }

    pub fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

pub(crate) struct RawObject<'a> {
    pub members: Vec<(String, &'a RawValue)>,
}

impl<'de> Deserialize<'de> for RawObject<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawObject<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawObject<'de>, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(key) = map.next_key::<String>()? {
                    let value: &'de RawValue = map.next_value()?;
                    members.push((key, value));
                }
                Ok(RawObject { members })
            }
        }
        d.deserialize_map(V)
    }
}

impl<'a> RawObject<'a> {
    /// Reads the members of the object `text` is.
    pub fn parse(text: &'a str) -> Result<RawObject<'a>, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The (first) value of `key`.
    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.members.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// Keys that occur more than once, each named once.
    pub fn duplicate_keys(&self) -> Vec<&str> {
        let mut seen = std::collections::HashSet::new();
        let mut dups = Vec::new();
        for (k, _) in &self.members {
            if !seen.insert(k.as_str()) && !dups.contains(&k.as_str()) {
                dups.push(k.as_str());
            }
        }
        dups
    }
}

/// The JSON type of a raw value, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

impl Kind {
    pub fn of(raw: &RawValue) -> Kind {
        match raw.get().trim_start().as_bytes().first() {
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            Some(b'"') => Kind::String,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'n') => Kind::Null,
            _ => Kind::Number,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Object => "an object",
            Kind::Array => "an array",
            Kind::String => "a string",
            Kind::Number => "a number",
            Kind::Bool => "a boolean",
            Kind::Null => "null",
        }
    }
}

/// Where the problems of one resource (or Bundle entry) are collected.
#[derive(Debug, Default)]
pub(crate) struct Sink {
    pub problems: Vec<Problem>,
}

impl Sink {
    pub fn push(
        &mut self,
        severity: Severity,
        code: IssueCode,
        location: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.problems.push(Problem {
            severity,
            code,
            location: location.into(),
            message: message.into(),
        });
    }

    pub fn error(
        &mut self,
        code: IssueCode,
        location: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.push(Severity::Error, code, location, message);
    }

    pub fn warning(
        &mut self,
        code: IssueCode,
        location: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.push(Severity::Warning, code, location, message);
    }

    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(Problem::is_error)
    }

    /// Whether an error was already reported at `location` or inside it.
    pub fn has_error_within(&self, location: &str) -> bool {
        self.problems.iter().any(|p| {
            p.is_error()
                && p.location.strip_prefix(location).is_some_and(|rest| {
                    rest.is_empty() || rest.starts_with('.') || rest.starts_with('[')
                })
        })
    }

    /// `Ok((value, warnings))` when nothing is an error, else every problem.
    pub fn finish<T>(self, value: T) -> Result<(T, Vec<Problem>), Vec<Problem>> {
        if self.has_errors() {
            Err(self.problems)
        } else {
            Ok((value, self.problems))
        }
    }
}

/// `raw` shortened for a message.
pub(crate) fn quote(raw: &RawValue) -> String {
    const MAX: usize = 60;
    let t = raw.get();
    if t.chars().count() <= MAX {
        t.to_owned()
    } else {
        let cut: String = t.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

fn wrong_kind(raw: &RawValue, expected: &str, loc: &str, s: &mut Sink) {
    s.error(
        IssueCode::Invalid,
        loc,
        format!(
            "must be {expected}, not {} ({})",
            Kind::of(raw).name(),
            quote(raw)
        ),
    );
}

/// The members of an object (duplicate keys are errors; they are not FHIR JSON).
pub(crate) fn obj<'a>(raw: &'a RawValue, loc: &str, s: &mut Sink) -> Option<RawObject<'a>> {
    if Kind::of(raw) != Kind::Object {
        wrong_kind(raw, "an object", loc, s);
        return None;
    }
    match RawObject::parse(raw.get()) {
        Ok(o) => {
            for k in o.duplicate_keys() {
                s.error(
                    IssueCode::Invalid,
                    format!("{loc}.{k}"),
                    format!("`{k}` occurs more than once"),
                );
            }
            Some(o)
        }
        Err(e) => {
            s.error(IssueCode::Invalid, loc, e.to_string());
            None
        }
    }
}

/// The items of an array. An empty array is not FHIR JSON either, but loses nothing: a warning.
pub(crate) fn arr<'a>(raw: &'a RawValue, loc: &str, s: &mut Sink) -> Option<Vec<&'a RawValue>> {
    if Kind::of(raw) != Kind::Array {
        wrong_kind(raw, "an array", loc, s);
        return None;
    }
    match serde_json::from_str::<Vec<&RawValue>>(raw.get()) {
        Ok(items) => {
            if items.is_empty() {
                s.warning(
                    IssueCode::Invalid,
                    loc,
                    "an empty array is not allowed in FHIR JSON (leave the element out)",
                );
            }
            Some(items)
        }
        Err(e) => {
            s.error(IssueCode::Invalid, loc, e.to_string());
            None
        }
    }
}

/// A string. An empty or blank one is not FHIR JSON; it is reported as a warning and read as
/// absent.
pub(crate) fn string(raw: &RawValue, loc: &str, s: &mut Sink) -> Option<String> {
    if Kind::of(raw) != Kind::String {
        wrong_kind(raw, "a string", loc, s);
        return None;
    }
    match serde_json::from_str::<String>(raw.get()) {
        Ok(t) if t.trim().is_empty() => {
            s.warning(
                IssueCode::Invalid,
                loc,
                "an empty string is not allowed in FHIR JSON (leave the element out)",
            );
            None
        }
        Ok(t) => Some(t),
        Err(e) => {
            s.error(IssueCode::Invalid, loc, e.to_string());
            None
        }
    }
}

/// A FHIR `decimal`: a JSON number, read from its text so that its digits survive.
pub(crate) fn decimal(raw: &RawValue, loc: &str, s: &mut Sink) -> Option<Decimal> {
    if Kind::of(raw) != Kind::Number {
        let hint = if Kind::of(raw) == Kind::String {
            " (FHIR JSON writes decimals as numbers, without quotes)"
        } else {
            ""
        };
        s.error(
            IssueCode::Invalid,
            loc,
            format!(
                "must be a JSON number, not {} ({}){hint}",
                Kind::of(raw).name(),
                quote(raw)
            ),
        );
        return None;
    }
    let d = Decimal::parse(raw.get());
    if d.is_none() {
        s.error(
            IssueCode::Value,
            loc,
            format!("`{}` is not a usable decimal (out of range)", quote(raw)),
        );
    }
    d
}

/// A FHIR `integer`: a JSON number without fraction or exponent, in 32-bit range.
pub(crate) fn integer(raw: &RawValue, loc: &str, s: &mut Sink) -> Option<Decimal> {
    let d = decimal(raw, loc, s)?;
    let t = d.as_str();
    let digits = t.strip_prefix('-').unwrap_or(t);
    if !digits.bytes().all(|b| b.is_ascii_digit()) || t.parse::<i32>().is_err() {
        s.error(
            IssueCode::Value,
            loc,
            format!("`{t}` is not a FHIR integer (a whole number of 32 bits)"),
        );
        return None;
    }
    Some(d)
}

/// A JSON string for `text` (always succeeds: serializing a `&str` cannot fail).
pub(crate) fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_keep_order_raw_text_and_duplicates() {
        let o = RawObject::parse(r#"{"b": 6.30, "a": {"x": [1, 2]}, "b": "x"}"#).unwrap();
        let keys: Vec<_> = o.members.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a", "b"]);
        assert_eq!(o.get("b").unwrap().get(), "6.30");
        assert_eq!(o.get("a").unwrap().get(), r#"{"x": [1, 2]}"#);
        assert_eq!(o.duplicate_keys(), ["b"]);
        assert!(RawObject::parse("[1]").is_err());
    }

    #[test]
    fn readers_report_wrong_types_with_their_location() {
        let mut s = Sink::default();
        let raw: &RawValue = serde_json::from_str(r#""6.3""#).unwrap();
        assert_eq!(
            decimal(raw, "Observation.valueQuantity.value", &mut s),
            None
        );
        assert_eq!(s.problems[0].location, "Observation.valueQuantity.value");
        assert!(
            s.problems[0].message.contains("not a string"),
            "{:?}",
            s.problems
        );
        let raw: &RawValue = serde_json::from_str("6.30").unwrap();
        assert_eq!(decimal(raw, "x", &mut s).unwrap().as_str(), "6.30");
        let raw: &RawValue = serde_json::from_str("1e999").unwrap();
        assert!(decimal(raw, "x", &mut s).is_none());
        let raw: &RawValue = serde_json::from_str("2.5").unwrap();
        assert!(integer(raw, "x", &mut s).is_none());
        let raw: &RawValue = serde_json::from_str("\" \"").unwrap();
        assert_eq!(string(raw, "x", &mut s), None);
        assert_eq!(s.problems.last().unwrap().severity, Severity::Warning);
        let raw: &RawValue = serde_json::from_str("[]").unwrap();
        assert_eq!(arr(raw, "x", &mut s).unwrap().len(), 0);
        let raw: &RawValue = serde_json::from_str(r#"{"a":1,"a":2}"#).unwrap();
        assert!(obj(raw, "o", &mut s).is_some());
        assert_eq!(s.problems.last().unwrap().location, "o.a");
    }

    #[test]
    fn errors_within_a_location() {
        let mut s = Sink::default();
        s.error(IssueCode::Invalid, "Observation.code.coding[1].system", "x");
        assert!(s.has_error_within("Observation.code"));
        assert!(s.has_error_within("Observation.code.coding"));
        assert!(!s.has_error_within("Observation.co"));
        assert!(!s.has_error_within("Observation.status"));
    }
}
