//! A laboratory's quality data: `POST /api/labs/{hospital}/eqa` and `…/iqc` (the lab's `qc`
//! users, or admins) take the CSV files of `docs/recognition.md`, checked whole and written
//! all or nothing, as `huren import eqa|iqc` does; `GET …/iqc/status` evaluates the Westgard
//! rules for one item and day.

use super::hospitals::{admin_only, existing, may_act, path_id, readable};
use super::{State, blocking};
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::params::Params;
use crate::quality_import::{
    QualityKind, QualityReport, import_catalogue, import_quality, resolve_code,
};
use crate::recognition::iqc_day;
use actix_web::web::{Bytes, Path};
use actix_web::{HttpRequest, HttpResponse};
use huren_core::HospitalId;
use huren_core::observation::fhir_instant_millis;
use huren_core::qc::{Action, CHINA_OFFSET_MINUTES, RuleSet, day_of};
use huren_csv::ItemRef;
use serde_json::json;

/// Whether `who` may send hospital `id`'s quality data: admins, and that hospital's `qc` users.
fn may_send_quality(who: &Principal, id: &HospitalId) -> Result<(), ApiError> {
    may_act(who, id, Role::Qc, "a qc user", "send its quality data")
}

/// The report, or a 422 with one issue per bad row (nothing was written then).
fn answer(report: QualityReport) -> Result<HttpResponse, ApiError> {
    if !report.problems.is_empty() {
        return Err(super::rows_error(&report.problems));
    }
    Ok(HttpResponse::Ok().json(report))
}

/// `POST /api/catalogue` (admin): adds or replaces recognition catalogue entries from a CSV
/// file (`scope, national_code|loinc, validity_days, mark, strict_iqc`), all or nothing.
pub async fn catalogue(
    who: Principal,
    state: State,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    admin_only(&who, "change the recognition catalogue")?;
    super::csv_upload(&state, &body)?;
    let catalog = state.catalog();
    let store = state.store_as(&who, &req);
    let report = blocking(move || Ok(import_catalogue(&*store, &catalog.registry, &body)?)).await?;
    answer(report)
}

async fn import(
    who: Principal,
    state: State,
    path: Path<String>,
    req: HttpRequest,
    body: Bytes,
    kind: QualityKind,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path)?;
    may_send_quality(&who, &id)?;
    existing(&state, &id).await?;
    super::csv_upload(&state, &body)?;
    let catalog = state.catalog();
    let store = state.store_as(&who, &req);
    let report: QualityReport = blocking(move || {
        Ok(import_quality(
            &*store,
            &catalog.registry,
            &id,
            kind,
            &body,
        )?)
    })
    .await?;
    answer(report)
}

/// `POST /api/labs/{hospital}/eqa`: EQA events.
pub async fn eqa(
    who: Principal,
    state: State,
    path: Path<String>,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    import(who, state, path, req, body, QualityKind::Eqa).await
}

/// `POST /api/labs/{hospital}/iqc`: IQC control results.
pub async fn iqc(
    who: Principal,
    state: State,
    path: Path<String>,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    import(who, state, path, req, body, QualityKind::Iqc).await
}

/// `GET /api/labs/{hospital}/iqc/status?code=NATIONAL_OR_LOINC&date=YYYY-MM-DD[&rules=…]`:
/// the IQC status of one item on one analysis day (that hospital's users, admins): `in-control`,
/// `warning` or `rejected` with the rules that fired and every run of the day, or `no-data`.
/// `rules` is a Westgard rule set (`1-2s:warning,1-3s,2-2s,R-4s,4-1s,10x`); by default the
/// laboratory's own (its `iqc_rules`), else that classic set.
pub async fn iqc_status(
    who: Principal,
    state: State,
    path: Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = readable(&who, &state, &path).await?.id;
    let params = Params::from_request(&req, &Bytes::new())?;
    let code = params.required("code")?.to_owned();
    let catalog = state.catalog();
    // The code as a national code, else as a LOINC code with one national code.
    let national = resolve_code(&catalog.registry, &ItemRef::National(code.clone()))
        .or_else(|_| resolve_code(&catalog.registry, &ItemRef::Loinc(code.clone())))
        .map_err(|_| {
            ApiError::param(
                "code",
                format!(
                    "`{code}` is neither a national code nor a LOINC code with one national code"
                ),
            )
        })?;
    let date = params.required("date")?;
    let day = fhir_instant_millis(date, CHINA_OFFSET_MINUTES)
        .filter(|_| date.len() == 10)
        .map(|ms| day_of(ms / 1000, CHINA_OFFSET_MINUTES))
        .ok_or_else(|| ApiError::param("date", format!("`{date}` is not a date (YYYY-MM-DD)")))?;
    let explicit = match params.get("rules")? {
        None => None,
        Some(r) => Some(RuleSet::parse(r).map_err(|m| ApiError::param("rules", m))?),
    };
    let store = state.store.clone();
    let (key, item) = (id.clone(), national.clone());
    let (rules, today, status) = blocking(move || {
        // The laboratory's own rule set unless the question names one.
        let rules = match explicit {
            Some(r) => r,
            None => store
                .hospital(&key)?
                .map_or_else(RuleSet::classic, |h| h.lab.rule_set()),
        };
        let (today, status) = iqc_day(&*store, &key, &item, day, &rules)?;
        Ok((rules, today, status))
    })
    .await?;
    let verdict = match status.as_ref().map(|s| s.worst) {
        None => "no-data",
        Some(None) => "in-control",
        Some(Some(Action::Warning)) => "warning",
        Some(Some(Action::Reject)) => "rejected",
    };
    let run_details: Vec<_> = today
        .iter()
        .map(|r| {
            json!({
                "run_at": r.run_at,
                "fired": r.fired.iter().map(|f| json!({
                    "rule": f.rule,
                    "action": match f.action { Action::Warning => "warning", Action::Reject => "reject" },
                    "observations": f.observations.iter().map(|(run_at, level, z)| json!({
                        "run_at": run_at, "level": level, "z": (z * 1000.0).round() / 1000.0,
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "hospital": id.as_str(),
        "code": national,
        "date": date,
        "rules": rules.to_string(),
        "status": verdict,
        "fired": status.map(|s| s.rules).unwrap_or_default(),
        "runs": run_details,
    })))
}
