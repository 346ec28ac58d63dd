//! Reading a POSTed `Parameters` resource (the request body of `$lookup`, `$validate-code`,
//! `$expand` and `$translate`) into the same name/value pairs a GET query string gives, so
//! that the HTTP layer handles both forms with one code path.

use crate::FhirError;
use fhir_model::r4b::resources::{ParametersParameterValue as PValue, Resource};
use fhir_model::r4b::types::Coding;
use serde::Deserialize;

/// Only the `resourceType` of a body, read first so that a resource of another type gets a clear
/// message instead of a list of every missing field.
#[derive(Deserialize)]
struct Head {
    #[serde(rename = "resourceType")]
    resource_type: Option<String>,
}

/// The top-level parameters of a `Parameters` body as `(name, value)` pairs, in body order.
///
/// Values are rendered as text: string-like types as they are, booleans as `true`/`false`,
/// numbers in decimal, dates as their FHIR text. A `valueCoding` named `N` yields `N.system`,
/// `N.code`, `N.version` and `N.display` for its present fields, and, when `N` is `coding`,
/// also plain `system`/`code`/`version`/`display`, so that callers can treat `coding` like
/// `system` + `code`. A `valueCodeableConcept` yields the same `N.*` pairs for each of its
/// codings, plus `N.text`. Parameters holding a resource or parts, and values of other complex
/// types, are skipped: no operation here takes them.
///
/// A parameter with no usable value at all is an error: FHIR requires one, and fhir-model turns
/// a malformed `value[x]` (say `"valueInteger": "ten"`) into no value instead of failing, which
/// would otherwise silently drop the caller's input.
pub fn parse_parameters(body: &[u8]) -> Result<Vec<(String, String)>, FhirError> {
    // serde's derived struct reader also accepts a JSON array; a resource is an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(FhirError::Json)?;
        return Err(FhirError::WrongResource {
            expected: "Parameters",
            problem: "expected a JSON object with resourceType Parameters".to_owned(),
        });
    }
    let head: Head = serde_json::from_slice(body).map_err(FhirError::Json)?;
    match head.resource_type.as_deref() {
        Some("Parameters") => {}
        Some(other) => {
            return Err(FhirError::WrongResource {
                expected: "Parameters",
                problem: format!("expected resourceType Parameters, found {other}"),
            });
        }
        None => {
            return Err(FhirError::WrongResource {
                expected: "Parameters",
                problem: "expected resourceType Parameters, but resourceType is missing".to_owned(),
            });
        }
    }
    let params = match huren_fhir_codec::from_json_bytes(body) {
        Ok(Resource::Parameters(p)) => p,
        Ok(other) => {
            return Err(FhirError::WrongResource {
                expected: "Parameters",
                problem: format!(
                    "expected resourceType Parameters, found {}",
                    other.resource_type().as_str()
                ),
            });
        }
        Err(e) => return Err(FhirError::InvalidParameters(e)),
    };
    let mut out = Vec::new();
    for p in params.parameter.iter().flatten() {
        let name = p.name.as_str();
        match &p.value {
            Some(v) => render_value(name, v, &mut out),
            None if p.resource.is_some() || !p.part.is_empty() => {}
            None => {
                return Err(FhirError::Parameter {
                    name: name.to_owned(),
                    problem: "has no value, or a value[x] that is not valid FHIR".to_owned(),
                });
            }
        }
    }
    Ok(out)
}

fn render_value(name: &str, value: &PValue, out: &mut Vec<(String, String)>) {
    let mut push = |v: String| out.push((name.to_owned(), v));
    match value {
        PValue::String(s)
        | PValue::Code(s)
        | PValue::Uri(s)
        | PValue::Canonical(s)
        | PValue::Url(s)
        | PValue::Id(s)
        | PValue::Markdown(s)
        | PValue::Oid(s)
        | PValue::Uuid(s) => push(s.clone()),
        PValue::Boolean(b) => push(b.to_string()),
        PValue::Integer(i) => push(i.to_string()),
        PValue::UnsignedInt(i) => push(i.to_string()),
        PValue::PositiveInt(i) => push(i.to_string()),
        PValue::Decimal(d) => push(d.to_string()),
        // Their FHIR text is what serde writes for them.
        PValue::Date(d) => push_json(serde_json::to_value(d), &mut push),
        PValue::DateTime(d) => push_json(serde_json::to_value(d), &mut push),
        PValue::Instant(i) => push_json(serde_json::to_value(i), &mut push),
        PValue::Time(t) => push_json(serde_json::to_value(t), &mut push),
        PValue::Coding(c) => {
            coding_pairs(name, c, out);
            if name == "coding" {
                coding_pairs("", c, out);
            }
        }
        PValue::CodeableConcept(cc) => {
            for c in cc.coding.iter().flatten() {
                coding_pairs(name, c, out);
            }
            if let Some(t) = &cc.text {
                out.push((format!("{name}.text"), t.clone()));
            }
        }
        _ => {}
    }
}

/// Pushes a value that serialized to a JSON string (FHIR's dates and times always do).
fn push_json(v: Result<serde_json::Value, serde_json::Error>, push: &mut impl FnMut(String)) {
    if let Ok(serde_json::Value::String(s)) = v {
        push(s);
    }
}

/// `prefix.system` … for the present fields of a coding; with an empty prefix, bare names.
fn coding_pairs(prefix: &str, c: &Coding, out: &mut Vec<(String, String)>) {
    let fields = [
        ("system", &c.system),
        ("code", &c.code),
        ("version", &c.version),
        ("display", &c.display),
    ];
    for (field, value) in fields {
        if let Some(v) = value {
            let key = if prefix.is_empty() {
                field.to_owned()
            } else {
                format!("{prefix}.{field}")
            };
            out.push((key, v.clone()));
        }
    }
}
