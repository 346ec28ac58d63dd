//! The terminology operations' answers — R4 `Parameters` and the expansion `ValueSet` — written
//! with small borrowed serde structs instead of fhir-model's builders.
//!
//! Why: these are the hottest answers of the service (a `$lookup` of a national code is some
//! 40 parameters), and building them through fhir-model's typed resources allocated every
//! string and element twice (builder, then `Resource`) and serialized through its general
//! element machinery: that was most of a `$lookup` request's time (issue 20). Here every value
//! borrows from the concept, and serialization is serde_json's directly. The shapes are few
//! and fixed; the tests check each answer against the official R4 JSON schema and parse it
//! back with fhir-model's typed `Parameters` / `ValueSet` (`tests/fhir`), as the Observation
//! writer's are (`observation::emit`).

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};
use std::borrow::Cow;

/// A `Coding` by reference; empty optional members are left out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CodingOut<'a> {
    pub system: Option<&'a str>,
    pub version: Option<&'a str>,
    pub code: Option<&'a str>,
    pub display: Option<&'a str>,
}

impl<'a> CodingOut<'a> {
    /// A coding with its system and code, and its version and display when non-empty.
    pub fn new(
        system: &'a str,
        version: Option<&'a str>,
        code: &'a str,
        display: &'a str,
    ) -> CodingOut<'a> {
        CodingOut {
            system: Some(system),
            version: version.and_then(crate::wire::non_empty),
            code: Some(code),
            display: crate::wire::non_empty(display),
        }
    }

    /// The same coding as a fhir-model one (shared with the `CodeSystem` resource).
    pub fn of(c: &'a fhir_model::r4b::types::Coding) -> CodingOut<'a> {
        CodingOut {
            system: c.system.as_deref(),
            version: c.version.as_deref(),
            code: c.code.as_deref(),
            display: c.display.as_deref(),
        }
    }
}

impl Serialize for CodingOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        // R4's element order: system, version, code, display.
        let members = [
            ("system", self.system),
            ("version", self.version),
            ("code", self.code),
            ("display", self.display),
        ];
        for (key, value) in members {
            if let Some(v) = value {
                m.serialize_entry(key, v)?;
            }
        }
        m.end()
    }
}

/// The value of a parameter (`value[x]`), or none for a parameter made of parts.
#[derive(Debug, Clone)]
pub(crate) enum ValueOut<'a> {
    None,
    String(Cow<'a, str>),
    Code(Cow<'a, str>),
    Uri(&'a str),
    Boolean(bool),
    /// Always finite (a non-finite `f64` would serialize as `null`, not a FHIR decimal).
    Decimal(f64),
    Integer(i32),
    Coding(CodingOut<'a>),
}

/// One `Parameters.parameter` (or one of its `part`s).
#[derive(Debug, Clone)]
pub(crate) struct ParamOut<'a> {
    pub name: &'a str,
    pub value: ValueOut<'a>,
    pub part: Vec<ParamOut<'a>>,
}

impl<'a> ParamOut<'a> {
    pub fn value(name: &'a str, value: ValueOut<'a>) -> ParamOut<'a> {
        ParamOut {
            name,
            value,
            part: Vec::new(),
        }
    }

    pub fn string(name: &'a str, value: &'a str) -> ParamOut<'a> {
        ParamOut::value(name, ValueOut::String(Cow::Borrowed(value)))
    }

    pub fn group(name: &'a str, part: Vec<ParamOut<'a>>) -> ParamOut<'a> {
        ParamOut {
            name,
            value: ValueOut::None,
            part,
        }
    }
}

impl Serialize for ParamOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("name", self.name)?;
        match &self.value {
            ValueOut::None => {}
            ValueOut::String(v) => m.serialize_entry("valueString", v)?,
            ValueOut::Code(v) => m.serialize_entry("valueCode", v)?,
            ValueOut::Uri(v) => m.serialize_entry("valueUri", v)?,
            ValueOut::Boolean(v) => m.serialize_entry("valueBoolean", v)?,
            ValueOut::Decimal(v) => m.serialize_entry("valueDecimal", v)?,
            ValueOut::Integer(v) => m.serialize_entry("valueInteger", v)?,
            ValueOut::Coding(v) => m.serialize_entry("valueCoding", v)?,
        }
        if !self.part.is_empty() {
            m.serialize_entry("part", &self.part)?;
        }
        m.end()
    }
}

/// A `Parameters` resource.
pub(crate) struct ParametersOut<'a>(pub Vec<ParamOut<'a>>);

impl Serialize for ParametersOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("resourceType", "Parameters")?;
        if !self.0.is_empty() {
            m.serialize_entry("parameter", &self.0)?;
        }
        m.end()
    }
}

/// The expansion `ValueSet` of `$expand`.
#[derive(Serialize)]
pub(crate) struct ValueSetOut<'a> {
    #[serde(rename = "resourceType")]
    pub resource_type: &'static str,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<&'a str>,
    pub name: &'static str,
    pub status: &'static str,
    pub expansion: ExpansionOut<'a>,
}

#[derive(Serialize)]
pub(crate) struct ExpansionOut<'a> {
    pub identifier: String,
    pub timestamp: String,
    pub total: i32,
    pub offset: i32,
    pub parameter: Vec<ParamOut<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contains: Vec<ContainsOut<'a>>,
}

/// One `ValueSet.expansion.contains`.
pub(crate) struct ContainsOut<'a> {
    pub system: &'a str,
    pub version: Option<&'a str>,
    pub code: &'a str,
    pub display: &'a str,
}

impl Serialize for ContainsOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ValueSetExpansionContains", 4)?;
        st.serialize_field("system", self.system)?;
        match self.version {
            Some(v) => st.serialize_field("version", v)?,
            None => st.skip_field("version")?,
        }
        st.serialize_field("code", self.code)?;
        st.serialize_field("display", self.display)?;
        st.end()
    }
}

/// Serializes an answer; serde_json fails only on non-string map keys or a failing custom
/// serializer, neither of which these types have, but a failure still becomes a valid
/// `OperationOutcome` rather than a panic.
pub(crate) fn to_bytes(value: &impl Serialize) -> Vec<u8> {
    match serde_json::to_vec(value) {
        Ok(bytes) => bytes,
        Err(e) => crate::outcome::internal_error(&e.to_string()),
    }
}
