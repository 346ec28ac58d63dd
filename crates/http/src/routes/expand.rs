//! `ValueSet/$expand`: the codes of a value set, optionally filtered by free text (Chinese,
//! English, abbreviations, codes), ranked by the search index.

use super::{State, fhir, language};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::params::Params;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use huren_core::Concept;
use huren_fhir::Expansion;

/// Largest page an expansion returns.
const MAX_COUNT: usize = 1000;

pub async fn expand(
    _who: Principal,
    state: State,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_request(&req, &body)?;
    let url = params.required("url")?;
    let system = state.urls.parse_value_set(url).ok_or_else(|| {
        ApiError::NotFound(format!(
            "unknown value set `{url}`; known: {} and {}",
            state.urls.value_set(huren_core::CodeSystem::National),
            state.urls.value_set(huren_core::CodeSystem::Loinc)
        ))
    })?;
    let count = params.usize("count", 20, MAX_COUNT)?;
    let offset = params.usize("offset", 0, usize::MAX)?;
    let lang = language(&params, &req)?;
    let filter = params
        .get("filter")?
        .map(str::trim)
        .filter(|f| !f.is_empty());
    if filter.is_some_and(|f| f.chars().count() > 200) {
        return Err(ApiError::param("filter", "is longer than 200 characters"));
    }
    let catalog = state.catalog();
    let current = catalog
        .registry
        .current(system)
        .ok_or_else(|| ApiError::NotFound(format!("no {system} release is loaded")))?;
    let (total, concepts): (usize, Vec<&Concept>) = match filter {
        Some(text) => {
            let page = catalog.search.search(system, text, offset, count)?;
            let concepts = page
                .codes
                .iter()
                .filter_map(|code| current.get(code).map(|c| &**c))
                .collect();
            (page.total, concepts)
        }
        None => (
            current.concepts.len(),
            current
                .concepts
                .iter()
                .skip(offset)
                .take(count)
                .map(|c| &**c)
                .collect(),
        ),
    };
    let timestamp = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    Ok(fhir(huren_fhir::expansion(
        &state.urls,
        &Expansion {
            system,
            version: &current.release.label,
            filter,
            offset,
            count,
            total,
            lang,
            concepts,
            timestamp: &timestamp,
        },
    )))
}
