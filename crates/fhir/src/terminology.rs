//! The answers of the terminology operations: `$lookup`, `$validate-code`, `$expand` and
//! `$translate`, each built from core values as FHIR R4 `Parameters` (or a `ValueSet`).
//!
//! The functions take already-decided results: which concept, which page, which matches. All
//! the deciding happens in core and in the HTTP layer; this module only says it in FHIR.

use crate::FhirError;
use crate::out::{
    CodingOut, ContainsOut, ExpansionOut, ParamOut, ParametersOut, ValueOut, ValueSetOut, to_bytes,
};
use crate::properties::{self, Property, SNOMED_URL, USE_FSN, USE_SYNONYM, Value};
use crate::urls::Urls;
use crate::wire::{non_empty, saturating_i32};
use huren_core::concept::Language;
use huren_core::{CodeSystem, Concept, Release};
use std::borrow::Cow;
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
    let c = input.concept;
    let display = display_of(c, input.lang);
    let intrinsic = properties::intrinsic(c);
    let loinc_only = if input.equivalents.is_empty() && input.system == CodeSystem::National {
        // The mapping is known even when the LOINC release is not loaded: say at least the code.
        properties::loinc_code_only(c)
    } else {
        Ok(None)
    };
    let equivalents: Result<Vec<Property>, FhirError> = input
        .equivalents
        .iter()
        .map(|e| properties::equivalent(urls, input.system, e))
        .collect();
    let (intrinsic, loinc_only, equivalents) = match (intrinsic, loinc_only, equivalents) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        (Err(e), ..) | (_, Err(e), _) | (.., Err(e)) => {
            return crate::outcome::internal_error(&e.to_string());
        }
    };
    let mut out = vec![ParamOut::string("name", lookup_name(input.system))];
    if let Some(v) = non_empty(&input.release.label) {
        out.push(ParamOut::string("version", v));
    }
    out.push(ParamOut::string("display", display));
    for (language, r#use, value) in designations(c, display) {
        let mut parts = Vec::with_capacity(3);
        if let Some(l) = language {
            parts.push(ParamOut::value(
                "language",
                ValueOut::Code(Cow::Borrowed(l.tag())),
            ));
        }
        parts.push(ParamOut::value(
            "use",
            ValueOut::Coding(CodingOut::new(SNOMED_URL, None, r#use.0, r#use.1)),
        ));
        parts.push(ParamOut::string("value", value));
        out.push(ParamOut::group("designation", parts));
    }
    for p in intrinsic.iter().chain(&loinc_only).chain(&equivalents) {
        out.push(property(p));
    }
    to_bytes(&ParametersOut(out))
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
    let mut out = vec![ParamOut::value("result", ValueOut::Boolean(result))];
    if let Some(m) = message.and_then(non_empty) {
        out.push(ParamOut::string("message", m));
    }
    if let Some(d) = display.and_then(non_empty) {
        out.push(ParamOut::string("display", d));
    }
    to_bytes(&ParametersOut(out))
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
    let system_url = urls.code_system(e.system);
    let version = non_empty(e.version);
    let mut parameter = Vec::with_capacity(4);
    let filter = e.filter.and_then(non_empty);
    if let Some(f) = filter {
        parameter.push(ParamOut::string("filter", f));
    }
    parameter.push(ParamOut::value(
        "count",
        ValueOut::Integer(saturating_i32(e.count)),
    ));
    parameter.push(ParamOut::value(
        "offset",
        ValueOut::Integer(saturating_i32(e.offset)),
    ));
    parameter.push(ParamOut::value(
        "displayLanguage",
        ValueOut::Code(Cow::Borrowed(e.lang.tag())),
    ));
    let contains = e
        .concepts
        .iter()
        .map(|c| ContainsOut {
            system: &system_url,
            version,
            code: &c.code,
            display: display_of(c, e.lang),
        })
        .collect();
    let identifier = format!(
        "urn:huren:expansion:{}:{}:{}:{}:{}",
        e.system.as_str(),
        percent_encode(e.version),
        e.offset,
        e.count,
        percent_encode(filter.unwrap_or("")),
    );
    to_bytes(&ValueSetOut {
        resource_type: "ValueSet",
        url: urls.value_set(e.system),
        version,
        name: value_set_name(e.system),
        status: "active",
        expansion: ExpansionOut {
            identifier,
            timestamp: timestamp(e.timestamp),
            total: saturating_i32(e.total),
            offset: saturating_i32(e.offset),
            parameter,
            contains,
        },
    })
}

fn value_set_name(system: CodeSystem) -> &'static str {
    match system {
        CodeSystem::National => "NationalLab",
        CodeSystem::Loinc => "LOINC",
    }
}

/// `s` when it is an RFC 3339 date-time, or the current time (see [`expansion`]).
fn timestamp(s: &str) -> String {
    use fhir_model::time::{OffsetDateTime, format_description::well_known::Rfc3339};
    match OffsetDateTime::parse(s, &Rfc3339) {
        Ok(_) => s.to_owned(),
        Err(_) => OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned()),
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
    translate_codings(&codings, message)
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
    let mut out = vec![ParamOut::value(
        "result",
        ValueOut::Boolean(!matches.is_empty()),
    )];
    match message.and_then(non_empty) {
        Some(m) => out.push(ParamOut::string("message", m)),
        None if matches.is_empty() => out.push(ParamOut::string("message", "no equivalent found")),
        None => {}
    }
    for m in matches {
        out.push(ParamOut::group(
            "match",
            vec![
                ParamOut::value(
                    "equivalence",
                    ValueOut::Code(Cow::Borrowed(m.equivalence.as_str())),
                ),
                ParamOut::value(
                    "concept",
                    ValueOut::Coding(CodingOut::new(m.system, m.version, m.code, m.display)),
                ),
                ParamOut::value("source", ValueOut::Uri(m.source)),
            ],
        ));
    }
    to_bytes(&ParametersOut(out))
}

/// A `property` output parameter of `$lookup`.
fn property(p: &Property) -> ParamOut<'_> {
    let value = match &p.value {
        Value::Code(v) => ValueOut::Code(Cow::Borrowed(v)),
        Value::String(v) => ValueOut::String(Cow::Borrowed(v)),
        Value::Coding(v) => ValueOut::Coding(CodingOut::of(v)),
        Value::Decimal(v) => ValueOut::Decimal(*v),
    };
    ParamOut::group(
        "property",
        vec![
            ParamOut::value("code", ValueOut::Code(Cow::Borrowed(p.code))),
            ParamOut::value("value", value),
        ],
    )
}
