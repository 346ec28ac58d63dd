//! The registry's own API (not FHIR): releases side by side, and what changed between two.

use super::{State, blocking};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::params::Params;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use huren_core::CodeSystem;
use huren_core::concept::ReleaseDiff;
use huren_core::result::LabResult;

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
                g.unit = r.sent_unit().to_owned();
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

/// `GET /api/registry/candidates[?_format=csv][&count=N]` (admin): the LOINC terms hospitals
/// map to or send results under that have no national code yet, most hospitals first, then
/// most results — what the registry's curators should give a national code next. Each with
/// the LOINC name (from the loaded LOINC release), the hospitals, the numbers of results and
/// mappings, the local names used and the units seen. `_format=csv` (or `Accept: text/csv`)
/// answers the same list as a CSV file.
pub async fn candidates(
    who: Principal,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    use huren_core::MappingStatus;
    use huren_core::candidates::{Sighting, rank};
    super::hospitals::admin_only(&who, "read the registry candidates")?;
    let params = Params::from_request(&req, &Bytes::new())?;
    let csv = match params.get("_format")? {
        None => req
            .headers()
            .get(actix_web::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/csv")),
        Some(f) if f.eq_ignore_ascii_case("csv") || f == "text/csv" => true,
        Some(f) if f.eq_ignore_ascii_case("json") || f.contains("json") => false,
        Some(f) => {
            return Err(ApiError::param(
                "_format",
                format!("`{f}` is not csv or json"),
            ));
        }
    };
    let count =
        match params.get("count")? {
            None => usize::MAX,
            Some(n) => n.parse::<usize>().ok().filter(|&n| n > 0).ok_or_else(|| {
                ApiError::param("count", format!("`{n}` is not a positive number"))
            })?,
        };
    let store = state.store.clone();
    let (mappings, results) =
        blocking(move || Ok((store.loinc_mappings()?, store.gap_observations(None)?))).await?;
    let catalog = state.catalog();
    let registry = &catalog.registry;
    // A term a release has just given a national code is no longer a candidate (its mappings
    // and results are moving).
    let open = |loinc: &str| registry.national_for_loinc(loinc).is_empty();
    let mut sightings = Vec::with_capacity(mappings.len() + results.len());
    for m in mappings {
        if matches!(m.status, MappingStatus::Rejected | MappingStatus::Retired) || !open(&m.loinc) {
            continue;
        }
        sightings.push(Sighting {
            loinc: m.loinc,
            hospital: m.hospital.to_string(),
            local_name: m.term.local_name,
            unit: m.term.unit,
            result: false,
        });
    }
    for o in results {
        if !open(&o.loinc) {
            continue;
        }
        let sent: Option<LabResult> = serde_json::from_str(&o.source).ok();
        let (local_name, unit) = sent.map_or_else(Default::default, |r| {
            let name = r
                .local_code()
                .map(|c| c.display.clone())
                .filter(|d| !d.trim().is_empty())
                .or_else(|| {
                    r.codes
                        .iter()
                        .map(|c| c.display.clone())
                        .find(|d| !d.is_empty())
                })
                .unwrap_or_default();
            (name, r.sent_unit().to_owned())
        });
        sightings.push(Sighting {
            loinc: o.loinc,
            hospital: o.hospital.to_string(),
            local_name,
            unit,
            result: true,
        });
    }
    let mut ranked = rank(sightings);
    let total = ranked.len();
    ranked.truncate(count);
    let name_of = |loinc: &str| {
        registry
            .lookup(CodeSystem::Loinc, loinc)
            .map(|t| t.display_en.clone())
            .filter(|n| !n.is_empty())
    };
    if csv {
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                "Content-Disposition",
                "attachment; filename=\"registry-candidates.csv\"",
            ))
            .body(huren_csv::candidates::write_candidates(&ranked, &name_of)));
    }
    let body: Vec<serde_json::Value> = ranked
        .iter()
        .enumerate()
        .map(|(i, c)| {
            serde_json::json!({
                "rank": i + 1,
                "loinc": c.loinc,
                "display": name_of(&c.loinc),
                "hospital_count": c.hospitals.len(),
                "hospitals": c.hospitals,
                "result_count": c.results,
                "mapping_count": c.mappings,
                "local_names": c.local_names,
                "units": c.units,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "total": total, "candidates": body })))
}
