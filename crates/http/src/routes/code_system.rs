//! `GET /fhir/CodeSystem/{id}` and `GET /fhir/CodeSystem?url=`: the code-system resources,
//! whole, summarised, or one page of concepts at a time.

use super::{State, fhir};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::params::Params;
use actix_web::web::{Bytes, Path};
use actix_web::{HttpRequest, HttpResponse};
use huren_core::CodeSystem;
use huren_fhir::CodeSystemInput;

/// A read without paging includes all concepts up to this many; larger systems are paged.
const MAX_CONCEPTS: usize = 1000;

fn system_of_id(id: &str) -> Option<CodeSystem> {
    match id {
        "national-lab" => Some(CodeSystem::National),
        "loinc" => Some(CodeSystem::Loinc),
        _ => None,
    }
}

/// Renders one code system per the `_summary`, `_count` and `_offset` parameters.
fn render(
    state: &State,
    system: CodeSystem,
    params: &Params,
    summary_default: bool,
) -> Result<Vec<u8>, ApiError> {
    let catalog = state.catalog();
    let current = catalog
        .registry
        .current(system)
        .ok_or_else(|| ApiError::NotFound(format!("no {system} release is loaded")))?;
    let summary = match params.get("_summary")? {
        None => summary_default,
        Some("true") => true,
        Some("false") => false,
        Some(v) => {
            return Err(ApiError::param(
                "_summary",
                format!("`{v}` is not supported; use true or false"),
            ));
        }
    };
    let total = current.concepts.len();
    let count = params.usize("_count", MAX_CONCEPTS, MAX_CONCEPTS)?;
    let offset = params.usize("_offset", 0, usize::MAX)?;
    let start = offset.min(total);
    let end = start.saturating_add(count).min(total);
    let page = &current.concepts[start..end];
    Ok(huren_fhir::code_system(
        &state.urls,
        &CodeSystemInput {
            system,
            release: &current.release,
            total,
            concepts: (!summary).then_some(page),
        },
    ))
}

pub async fn read(
    _who: Principal,
    state: State,
    id: Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let system = system_of_id(&id)
        .ok_or_else(|| ApiError::NotFound(format!("CodeSystem/{id} is not known")))?;
    let params = Params::from_request(&req, &Bytes::new())?;
    Ok(fhir(render(&state, system, &params, false)?))
}

pub async fn search(
    _who: Principal,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_request(&req, &Bytes::new())?;
    let systems: Vec<CodeSystem> = match params.get("url")? {
        Some(url) => state.urls.parse_code_system(url).into_iter().collect(),
        None => CodeSystem::ALL.to_vec(),
    };
    let catalog = state.catalog();
    let mut resources = Vec::new();
    for s in systems {
        if catalog.registry.current(s).is_some() {
            // Search results are summaries unless `_summary=false` asks for concepts.
            resources.push(render(&state, s, &params, true)?);
        }
    }
    let self_link = format!("{}/CodeSystem?{}", state.urls.base, req.query_string());
    let bundle = huren_fhir::search_bundle(&self_link, resources.len(), &resources)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(fhir(bundle))
}
