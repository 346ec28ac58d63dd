//! The registry's own API (not FHIR): releases side by side, and what changed between two.

use super::{State, blocking};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::params::Params;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use huren_core::CodeSystem;
use huren_core::concept::ReleaseDiff;

pub async fn releases(_who: Principal, state: State) -> HttpResponse {
    let catalog = state.catalog();
    HttpResponse::Ok().json(catalog.registry.releases())
}

/// `GET /api/registry/diff?system=national&from=A&to=B`.
pub async fn diff(
    _who: Principal,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_request(&req, &Bytes::new())?;
    let system_name = params.get("system")?.unwrap_or("national");
    let system = CodeSystem::parse(system_name).ok_or_else(|| {
        ApiError::param(
            "system",
            format!("`{system_name}` is not national or loinc"),
        )
    })?;
    let catalog = state.catalog();
    let find = |name: &str| -> Result<i64, ApiError> {
        let label = params.required(name)?;
        catalog
            .registry
            .release(system, label)
            .map(|r| r.id)
            .ok_or_else(|| ApiError::NotFound(format!("{system} has no release `{label}`")))
    };
    let (from, to) = (find("from")?, find("to")?);
    let store = state.store.clone();
    let diff: ReleaseDiff = blocking(move || {
        let old = store.release_concepts(from)?;
        let new = store.release_concepts(to)?;
        Ok(ReleaseDiff::between(&old, &new))
    })
    .await?;
    Ok(HttpResponse::Ok().json(diff))
}
