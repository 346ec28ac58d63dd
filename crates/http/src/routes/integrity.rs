//! `GET /api/integrity`: the tamper-evident chains recomputed (`huren_core::integrity`);
//! `GET /api/jobs`: the background jobs that verify them on schedule, among others.

use super::hospitals::admin_only;
use super::{State, blocking};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::params::Params;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use huren_core::HospitalId;
use serde_json::json;

/// `GET /api/integrity[?hospital=ID]` (admins): every hospital's chain (or one) recomputed
/// from the stored rows: `intact`, and per chain its links, its head hash (to compare with a
/// copy kept elsewhere) and the first broken link with what is wrong. A broken chain is a
/// `200` answer saying so: the check itself succeeded.
pub async fn integrity(
    who: Principal,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    admin_only(&who, "verify the integrity of stored results")?;
    let params = Params::from_request(&req, &Bytes::new())?;
    let hospital = params
        .get("hospital")?
        .map(|h| HospitalId::parse(h).map_err(|e| ApiError::param("hospital", e.to_string())))
        .transpose()?;
    let store = state.store.clone();
    let reports = blocking(move || Ok(store.verify_chains(hospital.as_ref())?)).await?;
    let chains: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            json!({
                "hospital": r.hospital,
                "links": r.links,
                "head": r.head,
                "intact": r.broken.is_none(),
                "broken": r.broken.as_ref().map(|b| json!({
                    "seq": b.seq,
                    "item": b.item,
                    "problem": b.problem,
                })),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "intact": reports.iter().all(|r| r.broken.is_none()),
        "chains": chains,
    })))
}

/// `GET /api/jobs[?limit=N]` (admins): the latest background jobs, newest first (default 100,
/// at most 1,000): what each did or why it failed, and which node holds or held it.
pub async fn jobs(
    who: Principal,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    admin_only(&who, "list the background jobs")?;
    let params = Params::from_request(&req, &Bytes::new())?;
    let limit = match params.get("limit")? {
        None => 100,
        Some(n) => n
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| ApiError::param("limit", "a whole number from 1 to 1000"))?,
    };
    let store = state.store.clone();
    let jobs = blocking(move || Ok(store.jobs(limit)?)).await?;
    let jobs: Vec<serde_json::Value> = jobs
        .iter()
        .map(|j| {
            json!({
                "id": j.id,
                "kind": j.kind.as_str(),
                "key": j.key,
                "state": j.state.as_str(),
                "created_at": j.created_at,
                "run_after": j.run_after,
                "claimed_by": j.claimed_by,
                "lease_until": j.lease_until,
                "attempts": j.attempts,
                "finished_at": j.finished_at,
                "outcome": j.outcome,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "node": state.node, "jobs": jobs })))
}
