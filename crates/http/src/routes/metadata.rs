//! `GET /fhir/metadata` (the CapabilityStatement) and `GET /health`; both are public.

use super::{State, fhir};
use actix_web::HttpResponse;

pub async fn capability(state: State) -> HttpResponse {
    fhir(state.capability.clone())
}

pub async fn health(state: State) -> HttpResponse {
    let catalog = state.catalog();
    let count = |s| catalog.registry.current(s).map_or(0, |c| c.concepts.len());
    HttpResponse::Ok().json(serde_json::json!({
        "status": "ok",
        "national_concepts": count(huren_core::CodeSystem::National),
        "loinc_concepts": count(huren_core::CodeSystem::Loinc),
    }))
}
