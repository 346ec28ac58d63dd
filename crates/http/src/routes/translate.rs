//! `ConceptMap/$translate` and `GET /fhir/ConceptMap/{id}`: the LOINC ↔ national
//! cross-reference, in both directions.

use super::{State, code_system_param, fhir};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::params::Params;
use actix_web::web::{Bytes, Path};
use actix_web::{HttpRequest, HttpResponse};
use huren_core::CodeSystem;
use huren_fhir::TranslateMatch;

/// The id of the one ConceptMap huren serves so far.
const MAP_ID: &str = "loinc-national-lab";

pub async fn translate(
    _who: Principal,
    state: State,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_request(&req, &body)?;
    if let Some(url) = params.get("url")?
        && url.split('|').next() != Some(state.urls.concept_map().as_str())
    {
        return Err(ApiError::NotFound(format!("unknown ConceptMap `{url}`")));
    }
    let source = code_system_param(&state, "system", params.required("system")?)?;
    let code = params.required("code")?;
    let other = match source {
        CodeSystem::National => CodeSystem::Loinc,
        CodeSystem::Loinc => CodeSystem::National,
    };
    // `targetsystem` (R4) or `target` names the other side; without it, the other system.
    // `reverse=true` is accepted: the direction follows from the two systems either way.
    let target = match (params.get("targetsystem")?, params.get("target")?) {
        (Some(t), _) => code_system_param(&state, "targetsystem", t)?,
        (None, Some(t)) => state
            .urls
            .parse_code_system(t)
            .or_else(|| state.urls.parse_value_set(t))
            .ok_or_else(|| ApiError::param("target", format!("unknown target `{t}`")))?,
        (None, None) => other,
    };
    params.bool("reverse")?;
    if target == source {
        return Err(ApiError::param(
            "targetsystem",
            "source and target are the same code system",
        ));
    }
    let catalog = state.catalog();
    let registry = &catalog.registry;
    let version = |s| registry.current(s).map_or("", |c| c.release.label.as_str());
    let mut matches = Vec::new();
    let mut message = None;
    match source {
        CodeSystem::Loinc => {
            for n in registry.national_for_loinc(code) {
                if let Some(c) = registry.lookup(CodeSystem::National, n) {
                    matches.push(TranslateMatch {
                        system: CodeSystem::National,
                        version: version(CodeSystem::National),
                        concept: c,
                    });
                }
            }
        }
        CodeSystem::National => match registry.lookup(CodeSystem::National, code) {
            None => message = Some(format!("national code `{code}` is unknown")),
            Some(n) if n.loinc.is_empty() => {
                message = Some(format!("national code `{code}` has no LOINC equivalent"));
            }
            Some(n) => match registry.lookup(CodeSystem::Loinc, &n.loinc) {
                Some(l) => matches.push(TranslateMatch {
                    system: CodeSystem::Loinc,
                    version: version(CodeSystem::Loinc),
                    concept: l,
                }),
                None => {
                    message = Some(format!(
                        "the LOINC equivalent {} is not in the loaded LOINC release",
                        n.loinc
                    ));
                }
            },
        },
    }
    if matches.is_empty() && message.is_none() {
        message = Some(format!("no national code is mapped to LOINC `{code}`"));
    }
    Ok(fhir(huren_fhir::translate(
        &state.urls,
        &matches,
        message.as_deref(),
    )))
}

pub async fn read(
    _who: Principal,
    state: State,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    if id.as_str() != MAP_ID {
        return Err(ApiError::NotFound(format!("ConceptMap/{id} is not known")));
    }
    let catalog = state.catalog();
    let national = catalog
        .registry
        .current(CodeSystem::National)
        .ok_or_else(|| ApiError::NotFound("no national release is loaded".into()))?;
    let pairs: Vec<(&str, &huren_core::Concept)> = national
        .concepts
        .iter()
        .filter(|c| !c.loinc.is_empty())
        .map(|c| (c.loinc.as_str(), &**c))
        .collect();
    Ok(fhir(huren_fhir::concept_map(
        &state.urls,
        &national.release.label,
        &pairs,
    )))
}
