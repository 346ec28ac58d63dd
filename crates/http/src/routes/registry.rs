//! The registry's own API (not FHIR): releases side by side, and what changed between two.

use super::{State, blocking};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::params::Params;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use huren_core::CodeSystem;
use huren_core::concept::ReleaseDiff;
use huren_core::result::{LabResult, SentValue};

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

/// `GET /api/registry/gaps` (admin): the LOINC codes results arrived with that the national
/// registry lacks, most recently seen first: `loinc`, `display` and `unit` as last sent,
/// `count` (results kept under it), `hospitals`, `first_seen`, `last_seen` (Unix
/// milliseconds). A code leaves the list when a release adds it and its results are
/// normalized again.
pub async fn gaps(who: Principal, state: State) -> Result<HttpResponse, ApiError> {
    super::hospitals::admin_only(&who, "read the registry gap list")?;
    let store = state.store.clone();
    let found = blocking(move || Ok(store.gap_observations(None)?)).await?;
    struct Gap {
        display: String,
        unit: String,
        count: usize,
        hospitals: std::collections::BTreeSet<String>,
        first_seen: i64,
        last_seen: i64,
    }
    let mut gaps: std::collections::HashMap<String, Gap> = std::collections::HashMap::new();
    for o in found {
        let sent: Option<LabResult> = serde_json::from_str(&o.source).ok();
        let g = gaps.entry(o.loinc.clone()).or_insert(Gap {
            display: String::new(),
            unit: String::new(),
            count: 0,
            hospitals: std::collections::BTreeSet::new(),
            first_seen: o.updated_at,
            last_seen: i64::MIN,
        });
        g.count += 1;
        g.hospitals.insert(o.hospital.to_string());
        g.first_seen = g.first_seen.min(o.updated_at);
        if o.updated_at >= g.last_seen {
            g.last_seen = o.updated_at;
            if let Some(r) = sent {
                if let Some(c) = r.codes.iter().find(|c| c.code.trim() == o.loinc) {
                    g.display = c.display.clone();
                }
                if let SentValue::Quantity { unit, .. } | SentValue::Range { unit, .. } = &r.value {
                    g.unit = unit.clone();
                }
            }
        }
    }
    let mut list: Vec<(String, Gap)> = gaps.into_iter().collect();
    list.sort_by(|a, b| {
        b.1.last_seen
            .cmp(&a.1.last_seen)
            .then_with(|| a.0.cmp(&b.0))
    });
    let body: Vec<serde_json::Value> = list
        .into_iter()
        .map(|(loinc, g)| {
            serde_json::json!({
                "loinc": loinc,
                "display": g.display,
                "unit": g.unit,
                "count": g.count,
                "hospitals": g.hospitals,
                "first_seen": g.first_seen,
                "last_seen": g.last_seen,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "gaps": body })))
}
