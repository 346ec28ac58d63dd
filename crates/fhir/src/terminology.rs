//! The answers of the terminology operations: `$lookup`, `$validate-code`, `$expand` and
//! `$translate`, each built from core values as FHIR R4 `Parameters` (or a `ValueSet`).
//!
//! The functions take already-decided results: which concept, which page, which matches. All
//! the deciding happens in core and in the HTTP layer; this module only says it in FHIR.

use crate::FhirError;
use crate::properties::{self, Property, USE_FSN, USE_SYNONYM, Value};
use crate::urls::Urls;
use crate::wire::{coding, non_empty, render, saturating_i32};
use fhir_model::r4b::codes::PublicationStatus;
use fhir_model::r4b::resources::{
    Parameters, ParametersParameter, ParametersParameterValue as PValue, Resource, ValueSet,
    ValueSetExpansion, ValueSetExpansionContains, ValueSetExpansionParameter,
    ValueSetExpansionParameterValue as VsValue,
};
use huren_core::concept::Language;
use huren_core::{CodeSystem, Concept, Release};
use std::fmt::Write as _;

/// What a `$lookup` answer is about.
#[derive(Debug)]
pub struct LookupInput<'a> {
    pub system: CodeSystem,
    /// The release the concept comes from; its label is the `version`.
    pub release: &'a Release,
    pub concept: &'a Concept,
    /// Selects the `display` (falling back as [`Concept::display`] does).
    pub lang: Language,
    /// The concepts of the other system that are equivalent: for a national concept its LOINC
    /// concept if known; for a LOINC concept the national concepts that declare it.
    pub equivalents: Vec<&'a Concept>,
}

/// The `$lookup` answer (FHIR R4 `CodeSystem-lookup` output parameters).
pub fn lookup(urls: &Urls, input: &LookupInput<'_>) -> Vec<u8> {
    render(try_lookup(urls, input))
}

fn try_lookup(urls: &Urls, input: &LookupInput<'_>) -> Result<Resource, FhirError> {
    let c = input.concept;
    let display = display_of(c, input.lang);
    let mut out = vec![string("name", lookup_name(input.system))?];
    if let Some(v) = non_empty(&input.release.label) {
        out.push(string("version", v)?);
    }
    out.push(string("display", display)?);
    for (language, r#use, value) in designations(c, display) {
        let mut parts = Vec::with_capacity(3);
        if let Some(l) = language {
            parts.push(param("language", PValue::Code(l.tag().to_owned()))?);
        }
        parts.push(param(
            "use",
            PValue::Coding(properties::designation_use(r#use)?),
        )?);
        parts.push(string("value", value)?);
        out.push(group("designation", parts)?);
    }
    for p in properties::intrinsic(c)? {
        out.push(property(p)?);
    }
    if input.equivalents.is_empty() && input.system == CodeSystem::National {
        // The mapping is known even when the LOINC release is not loaded: say at least the code.
        if let Some(p) = properties::loinc_code_only(c)? {
            out.push(property(p)?);
        }
    }
    for e in &input.equivalents {
        out.push(property(properties::equivalent(urls, input.system, e)?)?);
    }
    parameters(out)
}

/// The `name` output of `$lookup`: the code system's name as people say it.
fn lookup_name(system: CodeSystem) -> &'static str {
    match system {
        CodeSystem::National => "national-lab",
        CodeSystem::Loinc => "LOINC",
    }
}

/// The display in `lang`, or the code when a concept has no name at all (display is required).
fn display_of(c: &Concept, lang: Language) -> &str {
    non_empty(c.display(lang)).unwrap_or(&c.code)
}

/// Every name of a concept other than `display`, with its language (when the name has one)
/// and its use. Each distinct name is listed once.
fn designations<'c>(
    c: &'c Concept,
    display: &str,
) -> Vec<(Option<Language>, (&'static str, &'static str), &'c str)> {
    let zh = Some(Language::Zh);
    let en = Some(Language::En);
    let candidates = [
        (zh, USE_FSN, c.display_zh.as_str()),
        (en, USE_FSN, c.display_en.as_str()),
        (None, USE_SYNONYM, c.short_name.as_str()),
    ]
    .into_iter()
    .chain(c.synonyms_zh.iter().map(|s| (zh, USE_SYNONYM, s.as_str())))
    .chain(c.synonyms_en.iter().map(|s| (en, USE_SYNONYM, s.as_str())))
    .chain(
        c.abbreviations
            .iter()
            .map(|s| (None, USE_SYNONYM, s.as_str())),
    );
    let mut seen = vec![display];
    let mut out = Vec::new();
    for (lang, r#use, value) in candidates {
        if non_empty(value).is_some() && !seen.contains(&value) {
            seen.push(value);
            out.push((lang, r#use, value));
        }
    }
    out
}

/// The answer of `$validate-code` (FHIR R4 `CodeSystem-validate-code` / `ValueSet-validate-code`
/// output): whether the code is valid, why not, and its display.
pub fn validate_code(result: bool, message: Option<&str>, display: Option<&str>) -> Vec<u8> {
    render(try_validate_code(result, message, display))
}

fn try_validate_code(
    result: bool,
    message: Option<&str>,
    display: Option<&str>,
) -> Result<Resource, FhirError> {
    let mut out = vec![param("result", PValue::Boolean(result))?];
    if let Some(m) = message.and_then(non_empty) {
        out.push(string("message", m)?);
    }
    if let Some(d) = display.and_then(non_empty) {
        out.push(string("display", d)?);
    }
    parameters(out)
}

/// One page of a `$expand` answer.
#[derive(Debug)]
pub struct Expansion<'a> {
    pub system: CodeSystem,
    /// The release label.
    pub version: &'a str,
    pub filter: Option<&'a str>,
    pub offset: usize,
    pub count: usize,
    /// How many concepts match in all, over all pages.
    pub total: usize,
    pub lang: Language,
    /// This page, ranked.
    pub concepts: Vec<&'a Concept>,
    /// RFC 3339 time of the expansion.
    pub timestamp: &'a str,
}

/// The `$expand` answer: the "all codes" value set of a system with one page of its expansion.
///
/// If `timestamp` is not an RFC 3339 date-time (a caller bug), the current time is used: the
/// timestamp is required, and "now" is what it means anyway.
pub fn expansion(urls: &Urls, e: &Expansion<'_>) -> Vec<u8> {
    render(try_expansion(urls, e))
}

fn try_expansion(urls: &Urls, e: &Expansion<'_>) -> Result<Resource, FhirError> {
    let system_url = urls.code_system(e.system);
    let mut parameter = Vec::with_capacity(4);
    let filter = e.filter.and_then(non_empty);
    if let Some(f) = filter {
        parameter.push(expansion_parameter(
            "filter",
            VsValue::String(f.to_owned()),
        )?);
    }
    parameter.push(expansion_parameter(
        "count",
        VsValue::Integer(saturating_i32(e.count)),
    )?);
    parameter.push(expansion_parameter(
        "offset",
        VsValue::Integer(saturating_i32(e.offset)),
    )?);
    parameter.push(expansion_parameter(
        "displayLanguage",
        VsValue::Code(e.lang.tag().to_owned()),
    )?);
    let contains = e
        .concepts
        .iter()
        .map(|c| {
            let mut b = ValueSetExpansionContains::builder()
                .system(system_url.clone())
                .code(c.code.clone())
                .display(display_of(c, e.lang).to_owned());
            if let Some(v) = non_empty(e.version) {
                b = b.version(v.to_owned());
            }
            Ok(Some(b.build()?))
        })
        .collect::<Result<Vec<_>, FhirError>>()?;
    let identifier = format!(
        "urn:huren:expansion:{}:{}:{}:{}:{}",
        e.system.as_str(),
        percent_encode(e.version),
        e.offset,
        e.count,
        percent_encode(filter.unwrap_or("")),
    );
    let expansion = ValueSetExpansion::builder()
        .identifier(identifier)
        .timestamp(timestamp(e.timestamp))
        .total(saturating_i32(e.total))
        .offset(saturating_i32(e.offset))
        .parameter(parameter)
        .contains(contains)
        .build()?;
    let mut vs = ValueSet::builder()
        .url(urls.value_set(e.system))
        .name(value_set_name(e.system).to_owned())
        .status(PublicationStatus::Active)
        .expansion(expansion);
    if let Some(v) = non_empty(e.version) {
        vs = vs.version(v.to_owned());
    }
    Ok(vs.build()?.into())
}

fn value_set_name(system: CodeSystem) -> &'static str {
    match system {
        CodeSystem::National => "NationalLab",
        CodeSystem::Loinc => "LOINC",
    }
}

fn expansion_parameter(
    name: &str,
    value: VsValue,
) -> Result<Option<ValueSetExpansionParameter>, FhirError> {
    Ok(Some(
        ValueSetExpansionParameter::builder()
            .name(name.to_owned())
            .value(value)
            .build()?,
    ))
}

/// Parses an RFC 3339 timestamp, or takes the current time (see [`expansion`]).
fn timestamp(s: &str) -> fhir_model::DateTime {
    match s.parse::<fhir_model::Instant>() {
        Ok(i) => fhir_model::DateTime::DateTime(i),
        Err(_) => fhir_model::DateTime::DateTime(fhir_model::Instant(
            fhir_model::time::OffsetDateTime::now_utc(),
        )),
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so that any filter text
/// (spaces, `:`, Chinese) makes a valid URN.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// One equivalent concept found by `$translate`.
#[derive(Debug)]
pub struct TranslateMatch<'a> {
    pub system: CodeSystem,
    /// The release label of `concept`.
    pub version: &'a str,
    pub concept: &'a Concept,
}

/// The `$translate` answer (FHIR R4 `ConceptMap-translate` output parameters). Without matches
/// and without a message, the message says that no equivalent was found.
pub fn translate(urls: &Urls, matches: &[TranslateMatch<'_>], message: Option<&str>) -> Vec<u8> {
    render(try_translate(urls, matches, message))
}

fn try_translate(
    urls: &Urls,
    matches: &[TranslateMatch<'_>],
    message: Option<&str>,
) -> Result<Resource, FhirError> {
    let source = urls.concept_map();
    let systems: Vec<String> = matches.iter().map(|m| urls.code_system(m.system)).collect();
    let codings: Vec<CodedMatch<'_>> = matches
        .iter()
        .zip(&systems)
        .map(|(m, system)| CodedMatch {
            system,
            version: Some(m.version),
            code: &m.concept.code,
            display: match m.system {
                CodeSystem::National => &m.concept.display_zh,
                CodeSystem::Loinc => &m.concept.display_en,
            },
            equivalence: huren_core::Equivalence::Equivalent,
            source: &source,
        })
        .collect();
    try_translate_codings(&codings, message)
}

/// A `$translate` match given by its coding: for targets that are not registry concepts (a
/// hospital's local codes) or equivalences other than `equivalent`.
#[derive(Debug, Clone)]
pub struct CodedMatch<'a> {
    pub system: &'a str,
    pub version: Option<&'a str>,
    pub code: &'a str,
    pub display: &'a str,
    pub equivalence: huren_core::Equivalence,
    /// The canonical URL of the ConceptMap the match comes from.
    pub source: &'a str,
}

/// The `$translate` answer for matches given as codings.
pub fn translate_codings(matches: &[CodedMatch<'_>], message: Option<&str>) -> Vec<u8> {
    render(try_translate_codings(matches, message))
}

fn try_translate_codings(
    matches: &[CodedMatch<'_>],
    message: Option<&str>,
) -> Result<Resource, FhirError> {
    let mut out = vec![param("result", PValue::Boolean(!matches.is_empty()))?];
    match message.and_then(non_empty) {
        Some(m) => out.push(string("message", m)?),
        None if matches.is_empty() => out.push(string("message", "no equivalent found")?),
        None => {}
    }
    for m in matches {
        let concept = coding(m.system, m.version, m.code, m.display)?;
        out.push(group(
            "match",
            vec![
                param(
                    "equivalence",
                    PValue::Code(m.equivalence.as_str().to_owned()),
                )?,
                param("concept", PValue::Coding(concept))?,
                param("source", PValue::Uri(m.source.to_owned()))?,
            ],
        )?);
    }
    parameters(out)
}

/// A `property` output parameter of `$lookup`.
fn property(p: Property) -> Result<ParametersParameter, FhirError> {
    let value = match p.value {
        Value::Code(v) => PValue::Code(v),
        Value::String(v) => PValue::String(v),
        Value::Coding(v) => PValue::Coding(v),
        Value::Decimal(v) => PValue::Decimal(v),
    };
    group(
        "property",
        vec![
            param("code", PValue::Code(p.code.to_owned()))?,
            param("value", value)?,
        ],
    )
}

fn param(name: &str, value: PValue) -> Result<ParametersParameter, FhirError> {
    Ok(ParametersParameter::builder()
        .name(name.to_owned())
        .value(value)
        .build()?)
}

fn string(name: &str, value: &str) -> Result<ParametersParameter, FhirError> {
    param(name, PValue::String(value.to_owned()))
}

fn group(name: &str, parts: Vec<ParametersParameter>) -> Result<ParametersParameter, FhirError> {
    Ok(ParametersParameter::builder()
        .name(name.to_owned())
        .part(parts.into_iter().map(Some).collect())
        .build()?)
}

fn parameters(list: Vec<ParametersParameter>) -> Result<Resource, FhirError> {
    Ok(Parameters::builder()
        .parameter(list.into_iter().map(Some).collect())
        .build()?
        .into())
}
