//! One `Observation` (or `Patient`) → the neutral [`LabResult`] (or [`PatientInfo`]), with every
//! problem found. See the module documentation of [`crate::observation`] for the approach.

use super::json::{RawObject, Sink, arr, decimal, integer, json_string, obj, string};
use super::time::{Temporal, check};
use super::{IngestContext, Problem, UCUM, V3_INTERPRETATION};
use crate::outcome::{IssueCode, Severity};
use huren_core::CodeSystem;
use huren_core::code::LOINC_URL;
use huren_core::result::{
    CodeOrigin, Comparator, Decimal, Identifier, LabResult, PatientIdPolicy, PatientInfo,
    ResultStatus, SentCode, SentRange, SentValue, Sex,
};
use serde_json::value::RawValue;
use std::collections::HashMap;

/// The elements of an R4 Observation, without the choice elements `value[x]`/`effective[x]`.
const OBSERVATION_ELEMENTS: &[&str] = &[
    "id",
    "meta",
    "implicitRules",
    "language",
    "text",
    "contained",
    "extension",
    "modifierExtension",
    "identifier",
    "basedOn",
    "partOf",
    "status",
    "category",
    "code",
    "subject",
    "focus",
    "encounter",
    "issued",
    "performer",
    "dataAbsentReason",
    "interpretation",
    "note",
    "bodySite",
    "method",
    "specimen",
    "device",
    "referenceRange",
    "hasMember",
    "derivedFrom",
    "component",
];

/// The types R4 allows for `Observation.value[x]`.
const VALUE_TYPES: &[&str] = &[
    "Quantity",
    "CodeableConcept",
    "String",
    "Boolean",
    "Integer",
    "Range",
    "Ratio",
    "SampledData",
    "Time",
    "DateTime",
    "Period",
];

/// The types R4 allows for `Observation.effective[x]`.
const EFFECTIVE_TYPES: &[&str] = &["DateTime", "Period", "Timing", "Instant"];

/// The elements of an R4 Patient, without the choice elements.
const PATIENT_ELEMENTS: &[&str] = &[
    "id",
    "meta",
    "implicitRules",
    "language",
    "text",
    "contained",
    "extension",
    "modifierExtension",
    "identifier",
    "active",
    "name",
    "telecom",
    "gender",
    "birthDate",
    "address",
    "maritalStatus",
    "photo",
    "contact",
    "communication",
    "generalPractitioner",
    "managingOrganization",
    "link",
];

const PATIENT_CHOICES: &[(&str, &[&str])] = &[
    ("deceased", &["Boolean", "DateTime"]),
    ("multipleBirth", &["Boolean", "Integer"]),
];

/// The minimal valid Observation that one element is checked inside (see [`typed_check`]).
const OBSERVATION_BASE: &[(&str, &str)] = &[("status", r#""final""#), ("code", "{}")];

/// Patients found in the same Bundle, for `subject.reference`.
pub(crate) struct Subjects<'a> {
    /// By `fullUrl` and by `Patient/{id}`.
    pub patients: &'a HashMap<String, PatientInfo>,
    /// Patient entries that could not be read: reference → entry index.
    pub failed: &'a HashMap<String, usize>,
}

/// One Observation (the JSON text of the resource) → the result as sent, with its warnings; or
/// every problem found (errors and warnings), each located relative to the resource
/// (`Observation.valueQuantity.value`).
///
/// `source` becomes [`LabResult::source`]. The patient is taken from `subject.identifier`;
/// a `subject.reference` alone cannot be resolved here (see
/// [`read_observation_with_patients`]) and gives a warning.
pub fn read_observation(
    json: &str,
    ctx: &IngestContext<'_>,
    source: &str,
) -> Result<(LabResult, Vec<Problem>), Vec<Problem>> {
    read_observation_with_patients(json, ctx, source, &HashMap::new())
}

/// Like [`read_observation`], resolving `subject.reference` against Patients the caller has
/// already read: keys are a Bundle entry's `fullUrl` or `Patient/{id}`. Identifiers in
/// `subject.identifier` are added to the patient's.
pub fn read_observation_with_patients(
    json: &str,
    ctx: &IngestContext<'_>,
    source: &str,
    patients: &HashMap<String, PatientInfo>,
) -> Result<(LabResult, Vec<Problem>), Vec<Problem>> {
    let o = top_object(json, "Observation")?;
    let failed = HashMap::new();
    let subjects = Subjects {
        patients,
        failed: &failed,
    };
    observation_from(json, &o, "Observation", ctx, source, &subjects)
}

/// The longest one text (string) of a resource may be: a test name, a text result or a comment
/// fits in far less; a megabyte in one field is a mistake or an attack, refused with where it is.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// The first string of a resource longer than [`MAX_TEXT_BYTES`], with its path
/// (`Observation.code.text`) and length. Resources shorter than the limit are not looked into.
fn too_long_string(text: &str, loc: &str) -> Option<(String, usize)> {
    fn walk(v: &serde_json::Value, path: &str) -> Option<(String, usize)> {
        match v {
            serde_json::Value::String(s) if s.len() > MAX_TEXT_BYTES => {
                Some((path.to_owned(), s.len()))
            }
            serde_json::Value::Object(m) => {
                m.iter().find_map(|(k, v)| walk(v, &format!("{path}.{k}")))
            }
            serde_json::Value::Array(a) => a
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(v, &format!("{path}[{i}]"))),
            _ => None,
        }
    }
    if text.len() <= MAX_TEXT_BYTES {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    walk(&value, loc)
}

/// One Patient → what huren keeps of it (identifiers, sex, birth date), with its warnings.
///
/// An identifier with a `system` keeps it; one without gets the system that
/// [`PatientIdPolicy::identifier`] gives its `type` code (national or the hospital's).
pub fn read_patient(
    json: &str,
    ctx: &IngestContext<'_>,
) -> Result<(PatientInfo, Vec<Problem>), Vec<Problem>> {
    let o = top_object(json, "Patient")?;
    patient_from(json, &o, "Patient", ctx)
}

/// The top-level object of a resource, or why the text is not one.
pub(crate) fn top_object<'a>(json: &'a str, loc: &str) -> Result<RawObject<'a>, Vec<Problem>> {
    RawObject::parse(json).map_err(|e| {
        vec![Problem {
            severity: Severity::Error,
            code: IssueCode::Invalid,
            location: loc.to_owned(),
            message: format!("not a JSON object: {e}"),
        }]
    })
}

/// Whether `resourceType` is `expected`; reports it when not.
pub(crate) fn resource_type_is(o: &RawObject<'_>, expected: &str, loc: &str, s: &mut Sink) -> bool {
    let at = format!("{loc}.resourceType");
    match o.get("resourceType") {
        None => {
            s.error(
                IssueCode::Required,
                at,
                format!("resourceType is missing (expected {expected})"),
            );
            false
        }
        Some(raw) => match string(raw, &at, s) {
            Some(t) if t == expected => true,
            Some(t) => {
                s.error(
                    IssueCode::Invalid,
                    at,
                    format!("expected a {expected}, found resourceType `{t}`"),
                );
                false
            }
            None => false,
        },
    }
}

/// The members of a resource sorted out: choice elements by prefix (key, type, value), unknown
/// keys reported as one warning, duplicate keys and `modifierExtension` as errors.
fn classify<'a>(
    o: &RawObject<'a>,
    loc: &str,
    elements: &[&str],
    choices: &[(&str, &[&str])],
    s: &mut Sink,
) -> Vec<Vec<(String, String, &'a RawValue)>> {
    let mut found = vec![Vec::new(); choices.len()];
    let mut unknown = Vec::new();
    for k in o.duplicate_keys() {
        s.error(
            IssueCode::Invalid,
            format!("{loc}.{k}"),
            format!("`{k}` occurs more than once"),
        );
    }
    let choice_of = |key: &str| {
        choices.iter().enumerate().find_map(|(i, (prefix, _))| {
            let ty = key.strip_prefix(prefix)?;
            ty.starts_with(|c: char| c.is_ascii_uppercase())
                .then(|| (i, ty.to_owned()))
        })
    };
    for (k, v) in &o.members {
        if k == "resourceType" {
            continue;
        }
        if let Some((i, ty)) = choice_of(k) {
            found[i].push((k.clone(), ty, *v));
            continue;
        }
        // `_status`, `_valueString`: extensions of a primitive element.
        let base = k.strip_prefix('_').unwrap_or(k);
        let known = elements.contains(&base)
            || choice_of(base).is_some_and(|(i, ty)| choices[i].1.contains(&ty.as_str()));
        if !known {
            unknown.push(format!("`{k}`"));
        }
    }
    if !unknown.is_empty() {
        s.warning(
            IssueCode::Invalid,
            loc,
            format!(
                "unknown element{} ignored: {}",
                if unknown.len() == 1 { "" } else { "s" },
                unknown.join(", ")
            ),
        );
    }
    if o.get("modifierExtension").is_some() {
        s.error(
            IssueCode::NotSupported,
            format!("{loc}.modifierExtension"),
            "modifier extensions are not understood here, and FHIR requires a resource with a \
             modifier extension that is not understood to be refused",
        );
    }
    found
}

pub(crate) fn observation_from(
    text: &str,
    o: &RawObject<'_>,
    loc: &str,
    ctx: &IngestContext<'_>,
    source: &str,
    subjects: &Subjects<'_>,
) -> Result<(LabResult, Vec<Problem>), Vec<Problem>> {
    let mut s = Sink::default();
    if !resource_type_is(o, "Observation", loc, &mut s) {
        return Err(s.problems);
    }
    if let Some((path, len)) = too_long_string(text, loc) {
        return Err(vec![Problem {
            severity: Severity::Error,
            code: IssueCode::TooLong,
            location: path.clone(),
            message: format!(
                "{path} is {len} bytes long; one text of a lab result may be at most \
                 {MAX_TEXT_BYTES} bytes"
            ),
        }]);
    }
    let at = |p: &str| format!("{loc}.{p}");
    let choices = classify(
        o,
        loc,
        OBSERVATION_ELEMENTS,
        &[("value", VALUE_TYPES), ("effective", EFFECTIVE_TYPES)],
        &mut s,
    );
    let (values, effectives) = (&choices[0], &choices[1]);
    let mut r = LabResult::new(source);

    read_status(o.get("status"), &at("status"), &mut r, &mut s);
    r.codes = read_code(o.get("code"), &at("code"), ctx, &mut s);

    let value = match values.as_slice() {
        [] => None,
        [(key, ty, raw)] => read_value(ty, raw, &at(key), &mut s),
        many => {
            s.error(
                IssueCode::Invalid,
                loc,
                format!(
                    "more than one value[x] ({}): an Observation has at most one value",
                    keys(many)
                ),
            );
            None
        }
    };
    let absent_reason = o.get("dataAbsentReason");
    if absent_reason.is_some() && !values.is_empty() {
        s.error(
            IssueCode::Invalid,
            at("dataAbsentReason"),
            "dataAbsentReason is only allowed when there is no value[x] (obs-6)",
        );
    }
    if values.is_empty()
        && absent_reason.is_none()
        && matches!(
            r.status,
            ResultStatus::Final | ResultStatus::Amended | ResultStatus::Corrected
        )
    {
        s.warning(
            IssueCode::Incomplete,
            loc,
            format!(
                "no value[x] and no dataAbsentReason, although the status is {}",
                r.status.as_str()
            ),
        );
    }
    if let Some(v) = value {
        r.value = v;
    }

    r.effective = match effectives.as_slice() {
        [] => None,
        [(key, ty, raw)] => read_effective(ty, raw, &at(key), &mut s),
        many => {
            s.error(
                IssueCode::Invalid,
                loc,
                format!(
                    "more than one effective[x] ({}): an Observation has at most one",
                    keys(many)
                ),
            );
            None
        }
    };
    if let Some(raw) = o.get("issued") {
        r.issued = temporal(raw, &at("issued"), Temporal::Instant, &mut s);
    }
    if let Some(raw) = o.get("identifier") {
        r.identifier = read_identifier(raw, &at("identifier"), &mut s);
    }
    if r.identifier.is_none() {
        s.warning(
            IssueCode::Incomplete,
            at("identifier"),
            "no identifier with both system and value: a resend or correction of this result \
             cannot be matched to it",
        );
    }
    r.patient = read_subject(o.get("subject"), &at("subject"), ctx, subjects, &mut s);
    if let Some(raw) = o.get("performer") {
        r.performer = read_performer(raw, &at("performer"), &mut s);
    }
    if let Some(raw) = o.get("specimen")
        && let Some(sp) = obj(raw, &at("specimen"), &mut s)
        && let Some(d) = sp.get("display")
    {
        r.specimen = string(d, &at("specimen.display"), &mut s).unwrap_or_default();
    }
    if let Some(raw) = o.get("referenceRange") {
        let value_unit = match &r.value {
            SentValue::Quantity { unit, .. } => unit.as_str(),
            _ => "",
        };
        r.reference_range = read_ranges(raw, &at("referenceRange"), value_unit, &mut s);
    }
    if let Some(raw) = o.get("interpretation") {
        r.interpretation = read_interpretation(raw, &at("interpretation"), &mut s);
    }
    if let Some(raw) = o.get("note") {
        r.notes = read_notes(raw, &at("note"), &mut s);
    }
    if o.get("component").is_some() {
        s.warning(
            IssueCode::NotSupported,
            at("component"),
            "component values are not read: send one Observation per result",
        );
    }
    typed_check(text, "Observation", OBSERVATION_BASE, o, loc, &mut s);
    s.finish(r)
}

fn keys(found: &[(String, String, &RawValue)]) -> String {
    found
        .iter()
        .map(|(k, _, _)| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_status(raw: Option<&RawValue>, loc: &str, r: &mut LabResult, s: &mut Sink) {
    let Some(raw) = raw else {
        s.error(
            IssueCode::Required,
            loc,
            "an Observation must have a status",
        );
        return;
    };
    match string(raw, loc, s) {
        Some(t) => match ResultStatus::parse(&t) {
            Some(st) => r.status = st,
            None => s.error(
                IssueCode::CodeInvalid,
                loc,
                format!(
                    "`{t}` is not an Observation status (registered, preliminary, final, \
                     amended, corrected, cancelled, entered-in-error, unknown)"
                ),
            ),
        },
        None if !s.has_error_within(loc) => {
            s.error(
                IssueCode::Required,
                loc,
                "an Observation must have a status",
            );
        }
        None => {}
    }
}

/// `Observation.code`: every usable coding, classified by system.
fn read_code(
    raw: Option<&RawValue>,
    loc: &str,
    ctx: &IngestContext<'_>,
    s: &mut Sink,
) -> Vec<SentCode> {
    let mut codes = Vec::new();
    let Some(raw) = raw else {
        s.error(
            IssueCode::Required,
            loc,
            "an Observation must have a code (what was measured)",
        );
        return codes;
    };
    let Some(cc) = obj(raw, loc, s) else {
        return codes;
    };
    let text = cc
        .get("text")
        .and_then(|t| string(t, &format!("{loc}.text"), s));
    let own = ctx.urls.local_code_system(ctx.hospital);
    let national = ctx.urls.code_system(CodeSystem::National);
    let codings_at = format!("{loc}.coding");
    let codings = cc
        .get("coding")
        .and_then(|c| arr(c, &codings_at, s))
        .unwrap_or_default();
    for (i, c) in codings.into_iter().enumerate() {
        let cl = format!("{codings_at}[{i}]");
        let Some(c) = obj(c, &cl, s) else { continue };
        let field = |name: &str, s: &mut Sink| {
            c.get(name)
                .and_then(|v| string(v, &format!("{cl}.{name}"), s))
        };
        let (system, code, display) = (field("system", s), field("code", s), field("display", s));
        let (Some(system), Some(code)) = (system, code) else {
            if !s.has_error_within(&cl) {
                s.warning(
                    IssueCode::Incomplete,
                    &cl,
                    "a coding without both system and code is ignored",
                );
            }
            continue;
        };
        let origin = if system == own {
            CodeOrigin::Local
        } else if system == LOINC_URL {
            CodeOrigin::Loinc
        } else if system == national {
            CodeOrigin::National
        } else if let Some(other) = ctx.urls.parse_local_code_system(&system) {
            if other == ctx.hospital {
                CodeOrigin::Local
            } else {
                s.error(
                    IssueCode::BusinessRule,
                    format!("{cl}.system"),
                    format!(
                        "`{system}` is the local code system of hospital `{other}`: hospital \
                         `{}` may only send its own local codes ({own})",
                        ctx.hospital
                    ),
                );
                continue;
            }
        } else {
            CodeOrigin::Other(system)
        };
        // The sender's name of its own test is often only in `code.text`.
        let display = match (&origin, display) {
            (_, Some(d)) => d,
            (CodeOrigin::Local, None) => text.clone().unwrap_or_default(),
            (_, None) => String::new(),
        };
        codes.push(SentCode {
            origin,
            code,
            display,
        });
    }
    if codes.is_empty() && !s.has_error_within(loc) {
        match text {
            // Valid FHIR, and the official examples do it; but nothing can be mapped.
            Some(text) => s.warning(
                IssueCode::Incomplete,
                codings_at,
                format!(
                    "the code is only a text (`{text}`), with no coding that has both a system \
                     and a code: the result cannot be mapped and will be held"
                ),
            ),
            None => s.error(
                IssueCode::Required,
                codings_at,
                "no coding with both a system and a code, and no text: the test cannot be \
                 identified",
            ),
        }
    }
    codes
}

/// A quantity as read: value, comparator and the unit (UCUM code when the system is UCUM,
/// else the human-readable unit).
struct Qty {
    value: Option<Decimal>,
    comparator: Option<Comparator>,
    unit: String,
}

const QUANTITY_ELEMENTS: &[&str] = &[
    "id",
    "extension",
    "value",
    "comparator",
    "unit",
    "system",
    "code",
];

/// A `Quantity`; `simple` for a `SimpleQuantity` (no comparator, sqty-1).
fn quantity(raw: &RawValue, loc: &str, simple: bool, s: &mut Sink) -> Option<Qty> {
    let q = obj(raw, loc, s)?;
    let unknown: Vec<String> = q
        .members
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !QUANTITY_ELEMENTS.contains(&k.strip_prefix('_').unwrap_or(k)))
        .map(|k| format!("`{k}`"))
        .collect();
    if !unknown.is_empty() {
        s.warning(
            IssueCode::Invalid,
            loc,
            format!("unknown elements ignored: {}", unknown.join(", ")),
        );
    }
    let value = q
        .get("value")
        .and_then(|v| decimal(v, &format!("{loc}.value"), s));
    let field = |name: &str, s: &mut Sink| {
        q.get(name)
            .and_then(|v| string(v, &format!("{loc}.{name}"), s))
    };
    let comparator = match field("comparator", s) {
        None => None,
        Some(_) if simple => {
            s.error(
                IssueCode::Invalid,
                format!("{loc}.comparator"),
                "a reference range bound has no comparator (SimpleQuantity, sqty-1)",
            );
            None
        }
        Some(c) => match c.as_str() {
            "<" => Some(Comparator::Lt),
            "<=" => Some(Comparator::Le),
            ">=" => Some(Comparator::Ge),
            ">" => Some(Comparator::Gt),
            _ => {
                s.error(
                    IssueCode::CodeInvalid,
                    format!("{loc}.comparator"),
                    format!("`{c}` is not a comparator (<, <=, >=, >)"),
                );
                None
            }
        },
    };
    let (unit, system, code) = (field("unit", s), field("system", s), field("code", s));
    if code.is_some() && system.is_none() {
        s.warning(
            IssueCode::Invalid,
            format!("{loc}.code"),
            "a unit code needs a system (qty-3)",
        );
    }
    let unit = match (system.as_deref(), code, unit) {
        (Some(UCUM), Some(code), _) => code,
        (_, _, Some(unit)) => unit,
        (None, Some(code), None) => code,
        _ => String::new(),
    };
    Some(Qty {
        value,
        comparator,
        unit,
    })
}

fn read_value(ty: &str, raw: &RawValue, loc: &str, s: &mut Sink) -> Option<SentValue> {
    match ty {
        "Quantity" => {
            let q = quantity(raw, loc, false, s)?;
            let Some(value) = q.value else {
                if !s.has_error_within(loc) {
                    s.error(
                        IssueCode::Required,
                        format!("{loc}.value"),
                        "valueQuantity has no value",
                    );
                }
                return None;
            };
            Some(SentValue::Quantity {
                value,
                comparator: q.comparator,
                unit: q.unit,
            })
        }
        "Integer" => Some(SentValue::Quantity {
            value: integer(raw, loc, s)?,
            comparator: None,
            unit: String::new(),
        }),
        "String" => string(raw, loc, s).map(|text| SentValue::Text { text }),
        "DateTime" => {
            temporal(raw, loc, Temporal::DateTime, s).map(|value| SentValue::DateTime { value })
        }
        "Range" => {
            let r = obj(raw, loc, s)?;
            let bound = |name: &str, s: &mut Sink| {
                r.get(name)
                    .and_then(|b| quantity(b, &format!("{loc}.{name}"), true, s))
            };
            let (low, high) = (bound("low", s), bound("high", s));
            let unit = low
                .as_ref()
                .or(high.as_ref())
                .map(|q| q.unit.clone())
                .unwrap_or_default();
            let (low, high) = (low.and_then(|q| q.value), high.and_then(|q| q.value));
            if low.is_none() && high.is_none() {
                if !s.has_error_within(loc) {
                    s.error(
                        IssueCode::Required,
                        loc,
                        "valueRange has neither low nor high",
                    );
                }
                return None;
            }
            Some(SentValue::Range { low, high, unit })
        }
        "Ratio" => {
            let r = obj(raw, loc, s)?;
            let part = |name: &str, s: &mut Sink| {
                let at = format!("{loc}.{name}");
                let value = r.get(name).and_then(|q| quantity(q, &at, false, s))?.value;
                if value.is_none() && !s.has_error_within(&at) {
                    s.error(
                        IssueCode::Required,
                        &at,
                        format!("valueRatio needs a {name} value"),
                    );
                }
                value
            };
            let (numerator, denominator) = (part("numerator", s), part("denominator", s));
            Some(SentValue::Ratio {
                numerator: numerator?,
                denominator: denominator?,
            })
        }
        "CodeableConcept" => {
            let cc = obj(raw, loc, s)?;
            let text = cc
                .get("text")
                .and_then(|t| string(t, &format!("{loc}.text"), s));
            let codings_at = format!("{loc}.coding");
            let codings = cc
                .get("coding")
                .and_then(|c| arr(c, &codings_at, s))
                .unwrap_or_default();
            for (i, c) in codings.into_iter().enumerate() {
                let cl = format!("{codings_at}[{i}]");
                let Some(c) = obj(c, &cl, s) else { continue };
                let field = |name: &str, s: &mut Sink| {
                    c.get(name)
                        .and_then(|v| string(v, &format!("{cl}.{name}"), s))
                };
                let system = field("system", s);
                let code = field("code", s);
                let display = field("display", s);
                if let Some(code) = code {
                    return Some(SentValue::Coded {
                        system: system.unwrap_or_default(),
                        code,
                        display: display.or_else(|| text.clone()).unwrap_or_default(),
                    });
                }
            }
            match text {
                Some(text) => Some(SentValue::Text { text }),
                None => {
                    if !s.has_error_within(loc) {
                        s.error(
                            IssueCode::Required,
                            loc,
                            "valueCodeableConcept has neither a coding with a code nor a text",
                        );
                    }
                    None
                }
            }
        }
        _ => {
            let key = loc.rsplit('.').next().unwrap_or(loc);
            if VALUE_TYPES.contains(&ty) {
                s.error(
                    IssueCode::NotSupported,
                    loc,
                    format!(
                        "`{key}` is valid R4 but not accepted for lab results: send \
                         valueQuantity, valueString, valueCodeableConcept, valueInteger, \
                         valueRange, valueRatio or valueDateTime"
                    ),
                );
            } else {
                s.error(
                    IssueCode::Invalid,
                    loc,
                    format!("`{key}` is not an R4 Observation value[x]"),
                );
            }
            None
        }
    }
}

fn temporal(raw: &RawValue, loc: &str, t: Temporal, s: &mut Sink) -> Option<String> {
    let text = string(raw, loc, s)?;
    match check(&text, t) {
        Ok(()) => Some(text),
        Err(why) => {
            s.error(IssueCode::Value, loc, why);
            None
        }
    }
}

fn read_effective(ty: &str, raw: &RawValue, loc: &str, s: &mut Sink) -> Option<String> {
    match ty {
        "DateTime" => temporal(raw, loc, Temporal::DateTime, s),
        "Instant" => temporal(raw, loc, Temporal::Instant, s),
        "Period" => {
            let p = obj(raw, loc, s)?;
            let start = p
                .get("start")
                .and_then(|v| temporal(v, &format!("{loc}.start"), Temporal::DateTime, s));
            if let Some(end) = p.get("end") {
                temporal(end, &format!("{loc}.end"), Temporal::DateTime, s);
            }
            if start.is_none() && !s.has_error_within(loc) {
                s.warning(
                    IssueCode::Incomplete,
                    format!("{loc}.start"),
                    "effectivePeriod has no start: the result has no effective time",
                );
            }
            start
        }
        _ => {
            let key = loc.rsplit('.').next().unwrap_or(loc);
            if EFFECTIVE_TYPES.contains(&ty) {
                s.error(
                    IssueCode::NotSupported,
                    loc,
                    format!(
                        "`{key}` is not accepted for lab results: send effectiveDateTime, \
                         effectivePeriod or effectiveInstant"
                    ),
                );
            } else {
                s.error(
                    IssueCode::Invalid,
                    loc,
                    format!("`{key}` is not an R4 Observation effective[x]"),
                );
            }
            None
        }
    }
}

/// The first identifier with both system and value.
fn read_identifier(raw: &RawValue, loc: &str, s: &mut Sink) -> Option<Identifier> {
    let mut first = None;
    for (i, item) in arr(raw, loc, s)?.into_iter().enumerate() {
        let il = format!("{loc}[{i}]");
        let Some(id) = obj(item, &il, s) else {
            continue;
        };
        let system = id
            .get("system")
            .and_then(|v| string(v, &format!("{il}.system"), s));
        let value = id
            .get("value")
            .and_then(|v| string(v, &format!("{il}.value"), s));
        if let (Some(system), Some(value), None) = (system, value, &first) {
            first = Some(Identifier::new(system, value));
        }
    }
    first
}

/// A patient identifier: the system as sent, or the policy's for its type code.
fn patient_identifier(
    raw: &RawValue,
    loc: &str,
    policy: &PatientIdPolicy,
    s: &mut Sink,
) -> Option<Identifier> {
    let id = obj(raw, loc, s)?;
    let system = id
        .get("system")
        .and_then(|v| string(v, &format!("{loc}.system"), s));
    let value = id
        .get("value")
        .and_then(|v| string(v, &format!("{loc}.value"), s));
    let mut type_codes = Vec::new();
    if let Some(t) = id.get("type")
        && let Some(t) = obj(t, &format!("{loc}.type"), s)
        && let Some(c) = t.get("coding")
    {
        let cl = format!("{loc}.type.coding");
        for (i, c) in arr(c, &cl, s).unwrap_or_default().into_iter().enumerate() {
            let il = format!("{cl}[{i}]");
            if let Some(c) = obj(c, &il, s)
                && let Some(code) = c.get("code")
                && let Some(code) = string(code, &format!("{il}.code"), s)
            {
                type_codes.push(code);
            }
        }
    }
    let Some(value) = value else {
        if !s.has_error_within(loc) {
            s.warning(
                IssueCode::Incomplete,
                loc,
                "an identifier without a value is ignored",
            );
        }
        return None;
    };
    Some(match system {
        Some(system) => Identifier::new(system, value.trim()),
        None => {
            let type_code = type_codes
                .iter()
                .find(|c| {
                    policy
                        .national_types
                        .iter()
                        .any(|t| t.eq_ignore_ascii_case(c))
                })
                .or(type_codes.first())
                .map_or("", String::as_str);
            policy.identifier(type_code, &value)
        }
    })
}

fn read_subject(
    raw: Option<&RawValue>,
    loc: &str,
    ctx: &IngestContext<'_>,
    subjects: &Subjects<'_>,
    s: &mut Sink,
) -> PatientInfo {
    let Some(raw) = raw else {
        s.warning(
            IssueCode::Incomplete,
            loc,
            "no subject: the result is not linked to a patient",
        );
        return PatientInfo::default();
    };
    let Some(subject) = obj(raw, loc, s) else {
        return PatientInfo::default();
    };
    let identifier = subject
        .get("identifier")
        .and_then(|i| patient_identifier(i, &format!("{loc}.identifier"), ctx.patients, s));
    let reference = subject
        .get("reference")
        .and_then(|r| string(r, &format!("{loc}.reference"), s));
    let mut patient = PatientInfo::default();
    if let Some(reference) = reference {
        if let Some(p) = subjects.patients.get(&reference) {
            patient = p.clone();
        } else if let Some(i) = subjects.failed.get(&reference) {
            s.error(
                IssueCode::Invalid,
                format!("{loc}.reference"),
                format!("`{reference}` is the Patient of entry[{i}], which could not be read"),
            );
        } else if identifier.is_none() {
            s.warning(
                IssueCode::NotFound,
                format!("{loc}.reference"),
                format!(
                    "`{reference}` is not a Patient of this request and subject has no \
                     identifier: the result is not linked to a patient"
                ),
            );
        }
    } else if identifier.is_none() && !s.has_error_within(loc) {
        s.warning(
            IssueCode::Incomplete,
            loc,
            "subject has neither a usable identifier nor a reference: the result is not linked \
             to a patient",
        );
    }
    if let Some(id) = identifier
        && !patient.identifiers.contains(&id)
    {
        patient.identifiers.push(id);
    }
    patient
}

/// The first performer, as a name, an identifier value or a reference.
fn read_performer(raw: &RawValue, loc: &str, s: &mut Sink) -> Option<String> {
    let items = arr(raw, loc, s)?;
    let first = items.first()?;
    let pl = format!("{loc}[0]");
    let p = obj(first, &pl, s)?;
    let field = |name: &str, s: &mut Sink| {
        p.get(name)
            .and_then(|v| string(v, &format!("{pl}.{name}"), s))
    };
    if let Some(d) = field("display", s) {
        return Some(d);
    }
    if let Some(id) = p.get("identifier")
        && let Some(id) = obj(id, &format!("{pl}.identifier"), s)
        && let Some(v) = id.get("value")
        && let Some(v) = string(v, &format!("{pl}.identifier.value"), s)
    {
        return Some(v);
    }
    field("reference", s)
}

/// The first reference range. Its unit is kept only when it differs from the value's.
fn read_ranges(raw: &RawValue, loc: &str, value_unit: &str, s: &mut Sink) -> Option<SentRange> {
    let items = arr(raw, loc, s)?;
    if items.len() > 1 {
        s.warning(
            IssueCode::NotSupported,
            format!("{loc}[1]"),
            format!("only the first of {} reference ranges is read", items.len()),
        );
    }
    let rl = format!("{loc}[0]");
    let range = obj(items.first()?, &rl, s)?;
    let bound = |name: &str, s: &mut Sink| {
        range
            .get(name)
            .and_then(|b| quantity(b, &format!("{rl}.{name}"), true, s))
    };
    let (low, high) = (bound("low", s), bound("high", s));
    let text = range
        .get("text")
        .and_then(|t| string(t, &format!("{rl}.text"), s))
        .unwrap_or_default();
    let unit = [&low, &high]
        .into_iter()
        .flatten()
        .map(|q| q.unit.clone())
        .find(|u| !u.is_empty())
        .filter(|u| u != value_unit)
        .unwrap_or_default();
    let out = SentRange {
        text,
        low: low.and_then(|q| q.value),
        high: high.and_then(|q| q.value),
        unit,
    };
    (out.low.is_some() || out.high.is_some() || !out.text.is_empty()).then_some(out)
}

fn read_interpretation(raw: &RawValue, loc: &str, s: &mut Sink) -> Vec<String> {
    let mut codes = Vec::new();
    for (i, cc) in arr(raw, loc, s).unwrap_or_default().into_iter().enumerate() {
        let cl = format!("{loc}[{i}]");
        let Some(cc) = obj(cc, &cl, s) else { continue };
        let codings_at = format!("{cl}.coding");
        let codings = cc
            .get("coding")
            .and_then(|c| arr(c, &codings_at, s))
            .unwrap_or_default();
        let before = codes.len();
        for (j, c) in codings.into_iter().enumerate() {
            let il = format!("{codings_at}[{j}]");
            let Some(c) = obj(c, &il, s) else { continue };
            let system = c
                .get("system")
                .and_then(|v| string(v, &format!("{il}.system"), s));
            let code = c
                .get("code")
                .and_then(|v| string(v, &format!("{il}.code"), s));
            match (system.as_deref(), code) {
                (Some(V3_INTERPRETATION), Some(code)) => codes.push(code),
                (system, code) => s.warning(
                    IssueCode::CodeInvalid,
                    &il,
                    format!(
                        "interpretation {} ignored: only codes of {V3_INTERPRETATION} are read",
                        match (system, code) {
                            (Some(sys), Some(code)) => format!("`{sys}|{code}`"),
                            _ => "coding without system and code".to_owned(),
                        }
                    ),
                ),
            }
        }
        if codes.len() == before && cc.get("coding").is_none() {
            s.warning(
                IssueCode::CodeInvalid,
                &cl,
                "an interpretation without a coding is ignored",
            );
        }
    }
    codes
}

fn read_notes(raw: &RawValue, loc: &str, s: &mut Sink) -> Vec<String> {
    let mut notes = Vec::new();
    for (i, n) in arr(raw, loc, s).unwrap_or_default().into_iter().enumerate() {
        let nl = format!("{loc}[{i}]");
        if let Some(n) = obj(n, &nl, s)
            && let Some(t) = n.get("text")
            && let Some(t) = string(t, &format!("{nl}.text"), s)
        {
            notes.push(t);
        }
    }
    notes
}

pub(crate) fn patient_from(
    text: &str,
    o: &RawObject<'_>,
    loc: &str,
    ctx: &IngestContext<'_>,
) -> Result<(PatientInfo, Vec<Problem>), Vec<Problem>> {
    let mut s = Sink::default();
    if !resource_type_is(o, "Patient", loc, &mut s) {
        return Err(s.problems);
    }
    classify(o, loc, PATIENT_ELEMENTS, PATIENT_CHOICES, &mut s);
    let mut p = PatientInfo::default();
    if let Some(raw) = o.get("identifier") {
        let il = format!("{loc}.identifier");
        for (i, item) in arr(raw, &il, &mut s)
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            if let Some(id) = patient_identifier(item, &format!("{il}[{i}]"), ctx.patients, &mut s)
                && !p.identifiers.contains(&id)
            {
                p.identifiers.push(id);
            }
        }
    }
    if p.identifiers.is_empty() {
        s.warning(
            IssueCode::Incomplete,
            format!("{loc}.identifier"),
            "the Patient has no identifier with a value: its results cannot be linked to a person",
        );
    }
    if let Some(raw) = o.get("gender") {
        let gl = format!("{loc}.gender");
        if let Some(g) = string(raw, &gl, &mut s) {
            match g.as_str() {
                "male" | "female" | "other" | "unknown" => p.sex = Sex::parse(&g),
                _ => s.error(
                    IssueCode::CodeInvalid,
                    gl,
                    format!("`{g}` is not an administrative gender (male, female, other, unknown)"),
                ),
            }
        }
    }
    if let Some(raw) = o.get("birthDate") {
        p.birth_date = temporal(raw, &format!("{loc}.birthDate"), Temporal::Date, &mut s);
    }
    typed_check(text, "Patient", &[], o, loc, &mut s);
    s.finish(p)
}

/// Validates the whole resource with fhir-model's typed R4B model. When that fails, each
/// top-level element is checked alone inside a minimal valid resource (`base`), so that the
/// error names its element; elements this module already reported an error for are skipped.
fn typed_check(
    text: &str,
    resource_type: &str,
    base: &[(&str, &str)],
    o: &RawObject<'_>,
    loc: &str,
    s: &mut Sink,
) {
    // Read by the codec crate, like every other input of this crate: fhir-model's
    // deserializer is compiled there, once.
    let Err(whole) = huren_fhir_codec::from_json(text) else {
        return;
    };
    let mut located = false;
    for (k, v) in &o.members {
        if k == "resourceType" {
            continue;
        }
        let mut doc = format!("{{\"resourceType\":\"{resource_type}\"");
        for (bk, bv) in base.iter().filter(|(bk, _)| bk != k) {
            doc.push_str(&format!(",\"{bk}\":{bv}"));
        }
        doc.push(',');
        doc.push_str(&json_string(k));
        doc.push(':');
        doc.push_str(v.get());
        doc.push('}');
        if let Err(e) = huren_fhir_codec::from_json(&doc) {
            located = true;
            let at = format!("{loc}.{k}");
            if !s.has_error_within(&at) {
                s.error(IssueCode::Invalid, at, fhir_model_message(&e));
            }
        }
    }
    if !located && !s.has_errors() {
        s.error(IssueCode::Invalid, loc, fhir_model_message(&whole));
    }
}

/// serde's message without its position (which points into a document the sender never saw).
fn fhir_model_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let msg = full.strip_suffix(&suffix).unwrap_or(&full);
    // `unknown variant `X`, expected one of …` lists every resource type or code.
    let msg = msg.split_once(", expected one of").map_or(msg, |(m, _)| m);
    format!("not valid FHIR R4: {msg}")
}
