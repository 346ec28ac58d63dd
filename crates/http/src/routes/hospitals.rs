//! `/api/hospitals`: the hospitals (and independent labs) huren knows.

use super::{State, blocking};
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use actix_web::HttpResponse;
use actix_web::web::Path;
use huren_core::{Hospital, HospitalId, LabProfile};
use serde::{Deserialize, Serialize};

/// A hospital as JSON.
#[derive(Debug, Deserialize, Serialize)]
pub struct HospitalJson {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub province: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub level: String,
    /// Medical alliance and named-region ids (`jjjl`).
    #[serde(default)]
    pub alliances: Vec<String>,
    /// The Westgard rule set of its IQC; empty for the classic set.
    #[serde(default)]
    pub iqc_rules: String,
    #[serde(default)]
    pub harmonized_intervals: bool,
    /// ISO 15189 accreditation (`CNAS MT0001`).
    #[serde(default)]
    pub accreditation: String,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub accredited_until: String,
}

impl HospitalJson {
    /// Checks the fields; the error names the first bad one.
    pub fn into_hospital(self) -> Result<Hospital, ApiError> {
        let first = |problems: Vec<(&'static str, String)>| {
            let (field, message) = problems.into_iter().next().unwrap_or_default();
            ApiError::param(field, message)
        };
        let mut h = Hospital::parse(
            &self.id,
            &self.name,
            &self.province,
            &self.city,
            &self.level,
        )
        .map_err(first)?;
        h.lab = LabProfile::parse(
            &self.alliances.join(";"),
            &self.iqc_rules,
            if self.harmonized_intervals {
                "true"
            } else {
                "false"
            },
            &self.accreditation,
            &self.accredited_until,
        )
        .map_err(first)?;
        Ok(h)
    }
}

impl From<&Hospital> for HospitalJson {
    fn from(h: &Hospital) -> HospitalJson {
        HospitalJson {
            id: h.id.to_string(),
            name: h.name.clone(),
            province: h.province.clone(),
            city: h.city.clone(),
            level: h.level.clone(),
            alliances: h.lab.alliances.clone(),
            iqc_rules: h.lab.iqc_rules.clone(),
            harmonized_intervals: h.lab.harmonized_intervals,
            accreditation: h.lab.accreditation.clone(),
            accredited_until: h.lab.accredited_until.clone(),
        }
    }
}

/// Whether `who` may read hospital `id`'s data: admins any, everyone else their own.
pub(crate) fn may_read(who: &Principal, id: &HospitalId) -> Result<(), ApiError> {
    if who.role == Role::Admin || who.hospital.as_deref() == Some(id.as_str()) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "{} `{}` may not see hospital `{id}`",
            who.role.as_str(),
            who.sub
        )))
    }
}

/// Whether `who` may `act` for hospital `id` (`change its mappings`): admins, and that
/// hospital's users of `role` (`a curator`).
pub(crate) fn may_act(
    who: &Principal,
    id: &HospitalId,
    role: Role,
    as_whom: &str,
    act: &str,
) -> Result<(), ApiError> {
    let own = who.hospital.as_deref() == Some(id.as_str());
    if who.role == Role::Admin || (who.role == role && own) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "only an admin or {as_whom} of `{id}` may {act} ({} `{}`)",
            who.role.as_str(),
            who.sub
        )))
    }
}

/// Whether `who` may change hospital `id`'s mappings: admins, and that hospital's curators.
pub(crate) fn may_curate(who: &Principal, id: &HospitalId) -> Result<(), ApiError> {
    may_act(who, id, Role::Curator, "a curator", "change its mappings")
}

/// The hospital id of a path, checked.
pub(crate) fn path_id(raw: &str) -> Result<HospitalId, ApiError> {
    HospitalId::parse(raw).map_err(|e| ApiError::param("hospital", e.to_string()))
}

/// The hospital of a `/…/{id}/…` path that `who` may read: a bad id is a 400, another
/// hospital's a 403, an unknown one a 404.
pub(crate) async fn readable(
    who: &Principal,
    state: &State,
    path: &str,
) -> Result<Hospital, ApiError> {
    let id = path_id(path)?;
    may_read(who, &id)?;
    existing(state, &id).await
}

/// An admin, or a 403 saying that only an admin may do `what`.
pub(crate) fn admin_only(who: &Principal, what: &str) -> Result<(), ApiError> {
    if who.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "only an admin may {what} ({} `{}`)",
            who.role.as_str(),
            who.sub
        )))
    }
}

/// The hospital, or 404.
pub(crate) async fn existing(state: &State, id: &HospitalId) -> Result<Hospital, ApiError> {
    let found = match state.store.hospital_in_memory(id) {
        Some(found) => found,
        None => {
            let store = state.store.clone();
            let key = id.clone();
            blocking(move || Ok(store.hospital(&key)?)).await?
        }
    };
    found.ok_or_else(|| ApiError::NotFound(format!("no hospital `{id}`")))
}

/// `POST /api/hospitals` (admin): creates or updates one hospital.
pub async fn upsert(
    who: Principal,
    state: State,
    req: actix_web::HttpRequest,
    body: actix_web::web::Bytes,
) -> Result<HttpResponse, ApiError> {
    // Who first: a caller who may not create hospitals learns nothing from the body's checks.
    admin_only(&who, "create or update hospitals")?;
    let hospital = super::json_body::<HospitalJson>(&body, "valid")?.into_hospital()?;
    let store = state.store_as(&who, &req);
    let h = hospital.clone();
    let created = blocking(move || Ok(store.upsert_hospital(&h)?)).await?;
    let json = HospitalJson::from(&hospital);
    Ok(if created {
        HttpResponse::Created()
            .insert_header(("Location", format!("/api/hospitals/{}", hospital.id)))
            .json(json)
    } else {
        HttpResponse::Ok().json(json)
    })
}

/// `GET /api/hospitals`: every hospital for admins, one's own for everyone else.
pub async fn list(who: Principal, state: State) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    let all = blocking(move || Ok(store.hospitals()?)).await?;
    let visible: Vec<HospitalJson> = all
        .iter()
        .filter(|h| who.role == Role::Admin || who.hospital.as_deref() == Some(h.id.as_str()))
        .map(HospitalJson::from)
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "hospitals": visible })))
}

/// `GET /api/hospitals/{id}`.
pub async fn read(
    who: Principal,
    state: State,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let h = readable(&who, &state, &path).await?;
    Ok(HttpResponse::Ok().json(HospitalJson::from(&h)))
}
