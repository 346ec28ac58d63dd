//! A normalized result out as an R4 Observation.
//!
//! Written with serde structs of this module rather than fhir-model's builders, because
//! fhir-model stores decimals as `f64` and a lab value must keep its digits (`6.30` is not
//! `6.3`): every decimal is written as raw JSON from its text. The tests check every shape
//! against the official R4 JSON schema and fhir-model's typed `Observation`.

use super::EmitContext;
use super::json::{ObjectWriter, RawObject, json_string};
use super::time::{Temporal, check, instant_from_millis};
use super::{UCUM, V3_INTERPRETATION};
use crate::FhirError;
use crate::outcome;
use huren_core::CodeSystem;
use huren_core::code::LOINC_URL;
use huren_core::normalize::Normalized;
use huren_core::result::{CodeOrigin, Comparator, Decimal, ResultStatus, SentValue};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

/// The path, under the canonical base, of the extension that carries the value as the hospital
/// sent it when the reported value differs (converted, or its unit respelled):
/// `{base}/StructureDefinition/original-value`, an extension on the Observation with a
/// `valueQuantity` (value and unit exactly as sent, and the comparator).
pub const ORIGINAL_VALUE_PATH: &str = "/StructureDefinition/original-value";

/// The path, under the canonical base, of the extension that marks an interpretation huren
/// computed from the reference range (the hospital sent none):
/// `{base}/StructureDefinition/interpretation-computed`, `valueBoolean: true`, on the
/// interpretation's CodeableConcept.
pub const INTERPRETATION_COMPUTED_PATH: &str = "/StructureDefinition/interpretation-computed";

/// `code.text` of a result that came with no code at all (only possible for a held result).
const NO_CODE_TEXT: &str = "(no code was sent)";
const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const DATA_ABSENT_REASON: &str = "http://terminology.hl7.org/CodeSystem/data-absent-reason";

/// A FHIR decimal written from its text.
struct Num<'a>(&'a Decimal);

impl Serialize for Num<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // A `Decimal`'s text is always a JSON number (`-?(0|[1-9][0-9]*)(\.[0-9]+)?(e…)?`).
        match serde_json::from_str::<&RawValue>(self.0.as_str()) {
            Ok(raw) => raw.serialize(s),
            Err(e) => Err(serde::ser::Error::custom(format!(
                "decimal `{}` is not a JSON number: {e}",
                self.0
            ))),
        }
    }
}

#[derive(Serialize, Default)]
struct Coding {
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<String>,
    code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    display: Option<String>,
}

#[derive(Serialize, Default)]
struct CodeableConcept {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    extension: Vec<Extension<'static>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    coding: Vec<Coding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Extension<'a> {
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_quantity: Option<Quantity<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_boolean: Option<bool>,
}

/// An Observation's extensions: the emitter's, then the recognition extension when a
/// decision is known.
struct Extensions<'a> {
    own: Vec<Extension<'a>>,
    recognition: Option<serde_json::Value>,
}

impl Extensions<'_> {
    fn is_empty(&self) -> bool {
        self.own.is_empty() && self.recognition.is_none()
    }
}

impl Serialize for Extensions<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(
            self.own.len() + usize::from(self.recognition.is_some()),
        ))?;
        for e in &self.own {
            seq.serialize_element(e)?;
        }
        if let Some(r) = &self.recognition {
            seq.serialize_element(r)?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct Quantity<'a> {
    value: Num<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comparator: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
}

#[derive(Serialize)]
struct Ratio<'a> {
    numerator: Quantity<'a>,
    denominator: Quantity<'a>,
}

#[derive(Serialize)]
struct IdentifierOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<&'a str>,
    value: &'a str,
}

#[derive(Serialize)]
struct Reference<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    identifier: Option<IdentifierOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display: Option<&'a str>,
}

#[derive(Serialize)]
struct Annotation<'a> {
    text: &'a str,
}

#[derive(Serialize)]
struct Range<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    low: Option<Quantity<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    high: Option<Quantity<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
}

/// R4 Observation, in the element order of the specification.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ObservationOut<'a> {
    resource_type: &'static str,
    /// `{"tag": [the recognition tag]}`, as [`crate::recognition::with_recognition`] writes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    meta: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Extensions::is_empty")]
    extension: Extensions<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    identifier: Vec<IdentifierOut<'a>>,
    status: &'static str,
    category: Vec<CodeableConcept>,
    code: CodeableConcept,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<Reference<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    effective_date_time: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issued: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    performer: Vec<Reference<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_quantity: Option<Quantity<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_codeable_concept: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_string: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_range: Option<Range<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_ratio: Option<Ratio<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_date_time: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_absent_reason: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    interpretation: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    note: Vec<Annotation<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    specimen: Option<Reference<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    reference_range: Vec<Range<'a>>,
}

fn non_empty(s: &str) -> Option<&str> {
    crate::wire::non_empty(s)
}

fn owned(s: &str) -> Option<String> {
    non_empty(s).map(str::to_owned)
}

/// The R4 Observation (JSON bytes, without `id` and `meta`: the store adds those with
/// [`with_meta`]) for a normalized result.
///
/// * `code.coding`: the national code (display in Chinese) and its LOINC code — or, for a
///   result kept under a LOINC term without a national code, that LOINC code —, then every
///   code the hospital sent (its local code in `{base}/CodeSystem/local/{hospital}`);
///   `code.text` is the sender's name of the test. A held result (no concept) has only the
///   sent codes.
/// * `subject` is a reference by identifier: the national patient identifier when there is
///   one, else the first.
/// * `valueQuantity` is the reported value in the concept's unit, its decimal text unchanged;
///   `system`/`code` only when the unit is UCUM. The value as sent, when different, is in the
///   [`ORIGINAL_VALUE_PATH`] extension; a computed interpretation carries the
///   [`INTERPRETATION_COMPUTED_PATH`] extension.
/// * A result without a value gets a `dataAbsentReason` (obs-6): `not-performed` when
///   cancelled, `error` when entered in error, else `unknown`.
/// * `effective`/`issued` that are not a valid FHIR `dateTime`/`instant` are left out (the
///   readers guarantee them; this keeps the output valid whatever the input).
///
/// Normalization issues and the hold reason are not in the resource: the caller reports them
/// in an `OperationOutcome`.
pub fn observation_json(n: &Normalized, ctx: &EmitContext<'_>) -> Vec<u8> {
    let out = build(n, ctx);
    serde_json::to_vec(&out).unwrap_or_else(|e| outcome::internal_error(&e.to_string()))
}

/// [`observation_json`] with the recognition decision's tag and extension: the same bytes as
/// [`crate::recognition::with_recognition`] of [`observation_json`]'s text, written in one pass
/// (the ingest spent a tenth of its time parsing each new result again to add them;
/// `docs/performance.md`).
pub fn recognized_observation_json(
    n: &Normalized,
    ctx: &EmitContext<'_>,
    d: &huren_core::recognition::Decision,
) -> Vec<u8> {
    let mut out = build(n, ctx);
    out.meta = Some(serde_json::json!({ "tag": [crate::recognition::tag(ctx.urls, d)] }));
    out.extension.recognition = Some(crate::recognition::extension(ctx.urls, d));
    serde_json::to_vec(&out).unwrap_or_else(|e| outcome::internal_error(&e.to_string()))
}

fn build<'a>(n: &'a Normalized, ctx: &EmitContext<'_>) -> ObservationOut<'a> {
    let r = &n.result;
    let national_url = ctx.urls.code_system(CodeSystem::National);
    let local_url = ctx.urls.local_code_system(ctx.hospital);

    let mut coding: Vec<Coding> = Vec::new();
    if let Some(c) = &n.concept {
        coding.push(Coding {
            system: Some(national_url.clone()),
            code: c.code.clone(),
            display: owned(&c.display_zh).or_else(|| owned(&c.display_en)),
        });
        if !c.loinc.is_empty() {
            coding.push(Coding {
                system: Some(LOINC_URL.to_owned()),
                code: c.loinc.clone(),
                display: owned(&c.display_en),
            });
        }
    } else if let Some(loinc) = &n.registry_gap {
        // Kept under a LOINC term without a national code (the hospital's mapping, or the
        // code it sent).
        coding.push(Coding {
            system: Some(LOINC_URL.to_owned()),
            code: loinc.clone(),
            display: n.loinc_term.as_ref().and_then(|t| owned(&t.display_en)),
        });
    }
    let mut sent: Vec<_> = r.codes.iter().collect();
    // The local code first among the sent ones: it is the sender's identity of the test.
    sent.sort_by_key(|c| c.origin != CodeOrigin::Local);
    for c in sent {
        if c.code.trim().is_empty() {
            continue;
        }
        let system = match &c.origin {
            CodeOrigin::Local => Some(local_url.clone()),
            CodeOrigin::Loinc => Some(LOINC_URL.to_owned()),
            CodeOrigin::National => Some(national_url.clone()),
            CodeOrigin::Other(s) => owned(s),
        };
        if coding
            .iter()
            .any(|e| e.system == system && e.code == c.code)
        {
            continue;
        }
        coding.push(Coding {
            system,
            code: c.code.clone(),
            display: owned(&c.display),
        });
    }
    let mut code_text = r
        .local_code()
        .and_then(|c| owned(&c.display))
        .or_else(|| r.codes.iter().find_map(|c| owned(&c.display)));
    if coding.is_empty() && code_text.is_none() {
        // `code` is required and may not be empty; a result read from a text-only code has
        // neither (`LabResult` has no place for the text).
        code_text = Some(NO_CODE_TEXT.to_owned());
    }

    let policy = ctx.patients;
    let subject = r
        .patient
        .identifiers
        .iter()
        .filter(|i| non_empty(&i.value).is_some())
        .find(|i| i.system == policy.national_system)
        .or_else(|| {
            r.patient
                .identifiers
                .iter()
                .find(|i| non_empty(&i.value).is_some())
        })
        .map(|i| Reference {
            identifier: Some(IdentifierOut {
                system: non_empty(&i.system),
                value: &i.value,
            }),
            display: None,
        });

    // The unit of the reported value, for the value and the reference range alike.
    let ucum = n.value.ucum.as_deref();
    let quantity = |value: &'a Decimal, comparator: Option<Comparator>, unit: &'a str| Quantity {
        value: Num(value),
        comparator: comparator.map(Comparator::as_str),
        unit: non_empty(unit),
        system: ucum.map(|_| UCUM),
        code: n.value.ucum.as_deref(),
    };
    let (mut value_quantity, mut value_string, mut value_cc) = (None, None, None);
    let (mut value_range, mut value_ratio, mut value_date_time) = (None, None, None);
    let number = |value: &'a Decimal| Quantity {
        value: Num(value),
        comparator: None,
        unit: None,
        system: None,
        code: None,
    };
    let mut value_unit = None;
    match &n.value.value {
        SentValue::Quantity {
            value,
            comparator,
            unit,
        } => {
            value_unit = Some(unit.as_str());
            value_quantity = Some(quantity(value, *comparator, unit));
        }
        SentValue::Text { text } => value_string = non_empty(text),
        SentValue::Coded {
            system,
            code,
            display,
        } if non_empty(code).is_some() => {
            value_cc = Some(CodeableConcept {
                coding: vec![Coding {
                    system: owned(system),
                    code: code.clone(),
                    display: owned(display),
                }],
                ..CodeableConcept::default()
            });
        }
        SentValue::Range { low, high, unit } if low.is_some() || high.is_some() => {
            value_range = Some(Range {
                low: low.as_ref().map(|v| quantity(v, None, unit)),
                high: high.as_ref().map(|v| quantity(v, None, unit)),
                text: None,
            });
        }
        SentValue::Ratio {
            numerator,
            denominator,
        } => {
            value_ratio = Some(Ratio {
                numerator: number(numerator),
                denominator: number(denominator),
            });
        }
        SentValue::DateTime { value } => {
            value_date_time = check(value, Temporal::DateTime)
                .ok()
                .map(|()| value.as_str());
        }
        SentValue::Coded { .. } | SentValue::Range { .. } | SentValue::Absent => {}
    }
    let has_value = value_quantity.is_some()
        || value_string.is_some()
        || value_cc.is_some()
        || value_range.is_some()
        || value_ratio.is_some()
        || value_date_time.is_some();
    let data_absent_reason = (!has_value).then(|| {
        let code = match r.status {
            ResultStatus::Cancelled => "not-performed",
            ResultStatus::EnteredInError => "error",
            _ => "unknown",
        };
        CodeableConcept {
            coding: vec![Coding {
                system: Some(DATA_ABSENT_REASON.to_owned()),
                code: code.to_owned(),
                display: None,
            }],
            ..CodeableConcept::default()
        }
    });

    let mut extension = Vec::new();
    if let Some(orig) = &n.original {
        let comparator = match &n.value.value {
            SentValue::Quantity { comparator, .. } => *comparator,
            _ => None,
        };
        extension.push(Extension {
            url: format!("{}{ORIGINAL_VALUE_PATH}", ctx.urls.base),
            value_quantity: Some(Quantity {
                value: Num(&orig.value),
                comparator: comparator.map(Comparator::as_str),
                unit: non_empty(&orig.unit),
                system: None,
                code: None,
            }),
            value_boolean: None,
        });
    }

    let computed_url = format!("{}{INTERPRETATION_COMPUTED_PATH}", ctx.urls.base);
    let interpretation = n
        .interpretation
        .iter()
        .filter(|c| non_empty(c).is_some())
        .map(|c| CodeableConcept {
            extension: if n.interpretation_computed {
                vec![Extension {
                    url: computed_url.clone(),
                    value_quantity: None,
                    value_boolean: Some(true),
                }]
            } else {
                Vec::new()
            },
            coding: vec![Coding {
                system: Some(V3_INTERPRETATION.to_owned()),
                code: c.clone(),
                display: None,
            }],
            text: None,
        })
        .collect();

    let reference_range = n
        .reference_range
        .iter()
        .filter_map(|range| {
            let unit = value_unit.unwrap_or("");
            let out = Range {
                low: range.low.as_ref().map(|d| quantity(d, None, unit)),
                high: range.high.as_ref().map(|d| quantity(d, None, unit)),
                text: non_empty(&range.text),
            };
            (out.low.is_some() || out.high.is_some() || out.text.is_some()).then_some(out)
        })
        .collect();

    let valid = |t: &'a Option<String>, ty| t.as_deref().filter(|t| check(t, ty).is_ok());

    ObservationOut {
        resource_type: "Observation",
        meta: None,
        extension: Extensions {
            own: extension,
            recognition: None,
        },
        identifier: r
            .identifier
            .iter()
            .filter(|i| non_empty(&i.value).is_some())
            .map(|i| IdentifierOut {
                system: non_empty(&i.system),
                value: &i.value,
            })
            .collect(),
        status: r.status.as_str(),
        category: vec![CodeableConcept {
            coding: vec![Coding {
                system: Some(OBSERVATION_CATEGORY.to_owned()),
                code: "laboratory".to_owned(),
                display: Some("Laboratory".to_owned()),
            }],
            ..CodeableConcept::default()
        }],
        code: CodeableConcept {
            extension: Vec::new(),
            coding,
            text: code_text,
        },
        subject,
        effective_date_time: valid(&r.effective, Temporal::DateTime),
        issued: valid(&r.issued, Temporal::Instant),
        performer: r
            .performer
            .as_deref()
            .and_then(non_empty)
            .map(|p| Reference {
                identifier: None,
                display: Some(p),
            })
            .into_iter()
            .collect(),
        value_quantity,
        value_codeable_concept: value_cc,
        value_string,
        value_range,
        value_ratio,
        value_date_time,
        data_absent_reason,
        interpretation,
        note: r
            .notes
            .iter()
            .filter_map(|t| non_empty(t))
            .map(|text| Annotation { text })
            .collect(),
        specimen: non_empty(&r.specimen).map(|d| Reference {
            identifier: None,
            display: Some(d),
        }),
        reference_range,
    }
}

/// Adds `id`, `meta.versionId` and `meta.lastUpdated` (an `instant` in UTC, to the
/// millisecond) to a stored resource, right after `resourceType`. Anything else in the JSON is
/// copied byte for byte (decimals keep their text); an existing `id` is replaced, and an
/// existing `meta` keeps its other elements.
///
/// Fails only when `resource_json` is not a JSON object (or its `meta` is not one).
///
/// A stored result as the server writes it ([`observation_json`], then
/// [`crate::recognition::with_recognition`]: compact, `resourceType` first, then perhaps a `meta`
/// with its tags, no `id`) is spliced without being parsed: serving a patient's results spent a
/// ninth of its time parsing each one here (`docs/performance.md`). The splice is taken only
/// when nothing else could be named `id` or `meta` or be a `meta`'s `versionId` or
/// `lastUpdated`: after the leading `meta`, the text holds neither `"id"` nor `"meta"`, the
/// `meta` holds neither `"versionId"` nor `"lastUpdated"`, and neither holds a `\u` escape
/// (which could spell them). Such a text is not checked to be JSON: it is the server's own
/// output, read back through zstd's checksum and vouched for by the hash chain. Anything else
/// is parsed. Both ways give the same members in the same order.
pub fn with_meta(
    resource_json: &str,
    id: &str,
    version: i64,
    last_updated_millis: i64,
) -> Result<Vec<u8>, FhirError> {
    let meta = format!(
        "{{\"versionId\":{},\"lastUpdated\":{}",
        json_string(&version.to_string()),
        json_string(&instant_from_millis(last_updated_millis))
    );
    match spliceable(resource_json) {
        Some((members, rest)) => Ok(spliced(members, rest, id, meta)),
        None => parsed(resource_json, id, meta),
    }
}

/// `{"resourceType":"Observation","id":…,"meta":{…},` and `rest`: `meta` is unclosed, and
/// `members` are the stored `meta`'s.
fn spliced(members: &str, rest: &str, id: &str, mut meta: String) -> Vec<u8> {
    if !members.is_empty() {
        meta.push(',');
        meta.push_str(members);
    }
    meta.push('}');
    let id = json_string(id);
    let mut out = Vec::with_capacity(SPLICED_START.len() + rest.len() + meta.len() + id.len() + 16);
    out.extend_from_slice(SPLICED_START.as_bytes());
    out.extend_from_slice(b"\"id\":");
    out.extend_from_slice(id.as_bytes());
    out.extend_from_slice(b",\"meta\":");
    out.extend_from_slice(meta.as_bytes());
    out.push(b',');
    out.extend_from_slice(rest.as_bytes());
    out
}

/// [`with_meta`] of any JSON object; `meta` is unclosed.
fn parsed(resource_json: &str, id: &str, mut meta: String) -> Result<Vec<u8>, FhirError> {
    let o = RawObject::parse(resource_json).map_err(FhirError::Json)?;
    if let Some(m) = o.get("meta") {
        for (k, v) in RawObject::parse(m.get()).map_err(FhirError::Json)?.members {
            if !matches!(k.as_str(), "versionId" | "lastUpdated") {
                meta.push(',');
                meta.push_str(&json_string(&k));
                meta.push(':');
                meta.push_str(v.get());
            }
        }
    }
    meta.push('}');

    let mut out = ObjectWriter::with_capacity(resource_json.len() + meta.len() + id.len() + 32);
    if let Some(rt) = o.get("resourceType") {
        out.member("resourceType", rt.get());
    }
    out.member("id", &json_string(id));
    out.member("meta", &meta);
    for (k, v) in &o.members {
        if !matches!(k.as_str(), "resourceType" | "id" | "meta") {
            out.member(k, v.get());
        }
    }
    Ok(out.finish().into_bytes())
}

/// How [`observation_json`]'s text starts.
const SPLICED_START: &str = r#"{"resourceType":"Observation","#;

/// Of a text [`with_meta`] may splice: the members of its leading `meta` (perhaps empty) and
/// the members after it; `None` when it must be parsed.
fn spliceable(text: &str) -> Option<(&str, &str)> {
    let mut rest = text.strip_prefix(SPLICED_START)?;
    let mut meta = "";
    if let Some(object) = rest.strip_prefix(r#""meta":"#) {
        let end = object_end(object)?;
        meta = &object[1..end - 1];
        rest = object[end..].strip_prefix(',')?;
        let clean = !meta.contains("\"versionId\"")
            && !meta.contains("\"lastUpdated\"")
            && !meta.contains("\\u");
        if !clean {
            return None;
        }
    }
    let clean = rest.ends_with('}')
        && !rest.contains("\"id\"")
        && !rest.contains("\"meta\"")
        && !rest.contains("\\u");
    clean.then_some((meta, rest))
}

/// The length of the JSON object `text` starts with, read by serde_json (which checks it);
/// `None` when `text` does not start with a whole object.
fn object_end(text: &str) -> Option<usize> {
    if !text.starts_with('{') {
        return None;
    }
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    values.next()?.ok()?;
    Some(values.byte_offset())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(text: &str) -> (Option<Vec<u8>>, Vec<u8>) {
        let meta = || r#"{"versionId":"2","lastUpdated":"2026-12-07T10:00:00.000Z""#.to_owned();
        let spliced = spliceable(text).map(|(m, rest)| spliced(m, rest, "ab-1", meta()));
        (spliced, parsed(text, "ab-1", meta()).unwrap())
    }

    #[test]
    fn a_stored_result_is_spliced_into_the_bytes_the_parse_gives() {
        for text in [
            r#"{"resourceType":"Observation","status":"final","code":{"text":"血糖"},"valueQuantity":{"value":6.30,"unit":"mmol/L"}}"#,
            r#"{"resourceType":"Observation","identifier":[{"value":"x"}],"note":[{"text":"溶血 \"重\" a\\"}]}"#,
            r#"{"resourceType":"Observation","status":"final"}"#,
            r#"{"resourceType":"Observation","meta":{"tag":[{"code":"HR","display":"{[\"}"}]},"extension":[{"url":"x"}],"status":"final"}"#,
            r#"{"resourceType":"Observation","meta":{},"status":"final"}"#,
            // As the server stores one (with_recognition's meta and extension first).
            r#"{"resourceType":"Observation","meta":{"tag":[{"code":"not-recognizable","display":"不可互认","system":"http://huren.example/fhir/CodeSystem/recognition"}]},"extension":[{"extension":[{"url":"recognizable","valueBoolean":false}],"url":"http://huren.example/fhir/StructureDefinition/recognition"}],"identifier":[{"system":"urn:lis:hosp-a","value":"R1"}],"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]},"subject":{"identifier":{"system":"urn:huren:id:national-patient","value":"420106198001011234"}},"valueQuantity":{"value":5.551,"unit":"mmol/L"}}"#,
        ] {
            let (spliced, parsed) = both(text);
            let spliced = spliced.unwrap_or_else(|| panic!("not spliced: {text}"));
            assert_eq!(
                String::from_utf8(spliced).unwrap(),
                String::from_utf8(parsed).unwrap()
            );
        }
    }

    #[test]
    fn a_text_with_an_id_a_meta_or_an_escape_is_parsed() {
        for text in [
            r#"{"resourceType":"Observation","id":"old","status":"final"}"#,
            r#"{"resourceType":"Observation","status":"final","meta":{"tag":[{"code":"HR"}]}}"#,
            r#"{"resourceType":"Observation","meta":{"versionId":"1"},"status":"final"}"#,
            r#"{"resourceType":"Observation","meta":{"tag":[{"code":"\u0048R"}]},"status":"final"}"#,
            r#"{"resourceType":"Observation","meta":{"tag":[]},"meta":{},"status":"final"}"#,
            r#"{"resourceType":"Observation","meta":{"tag":[]}}"#,
            r#"{"resourceType":"Observation","\u0069d":"old","status":"final"}"#,
            r#"{"resourceType":"Observation","note":[{"text":"meta"}],"x":{"meta":1}}"#,
            r#"{"resourceType": "Observation", "status": "final"}"#,
            r#"{"status":"final","resourceType":"Observation"}"#,
            r#"{"resourceType":"Observation"}"#,
        ] {
            let (spliced, parsed) = both(text);
            assert!(spliced.is_none(), "spliced: {text}");
            let out: serde_json::Value = serde_json::from_slice(&parsed).unwrap();
            assert_eq!(out["id"], "ab-1", "{text}");
            assert_eq!(out["meta"]["versionId"], "2", "{text}");
        }
        // An existing meta keeps its other elements; an existing id is replaced.
        let (_, parsed) =
            both(r#"{"resourceType":"Observation","id":"old","meta":{"versionId":"9","tag":[]}}"#);
        assert_eq!(
            String::from_utf8(parsed).unwrap(),
            r#"{"resourceType":"Observation","id":"ab-1","meta":{"versionId":"2","lastUpdated":"2026-12-07T10:00:00.000Z","tag":[]}}"#
        );
        assert!(with_meta("[1]", "a", 1, 0).is_err());
        // A meta that does not close, or is not an object, is parsed (and so refused).
        for text in [
            r#"{"resourceType":"Observation","meta":{"tag":["}"#,
            r#"{"resourceType":"Observation","meta":[],"status":"final"}"#,
            r#"{"resourceType":"Observation","meta":{"tag":[}},"status":"final"}"#,
        ] {
            assert!(spliceable(text).is_none(), "{text}");
            assert!(with_meta(text, "a", 1, 0).is_err(), "{text}");
        }
    }

    #[test]
    fn an_object_ends_at_its_closing_brace() {
        assert_eq!(object_end(r#"{"a":{"b":["}",1]},"c":2}"#), Some(25));
        assert_eq!(object_end(r#"{"a":{"b":["}",1]}},"c":2}"#), Some(19));
        assert_eq!(object_end(r#"{"a":"\\"}x"#), Some(10));
        assert_eq!(object_end(r#"{"a":"\"}"}"#), Some(11));
        assert_eq!(object_end(r#"{"a":[}]}"#), None);
        assert_eq!(object_end(r#"{"a":[}"#), None);
        assert_eq!(object_end("{"), None);
        assert_eq!(object_end("[]"), None);
    }
}
