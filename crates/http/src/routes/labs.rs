//! A laboratory's quality data: `POST /api/labs/{hospital}/eqa` and `…/iqc` (the lab's `qc`
//! users, or admins) take the CSV files of `docs/recognition.md`, checked whole and written
//! all or nothing, as `huren import eqa|iqc` does.

use super::hospitals::{existing, path_id};
use super::{State, blocking};
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::quality_import::{QualityKind, QualityReport, import_quality};
use actix_web::HttpResponse;
use actix_web::web::{Bytes, Path};
use huren_core::HospitalId;

/// Whether `who` may send hospital `id`'s quality data: admins, and that hospital's `qc` users.
fn may_send_quality(who: &Principal, id: &HospitalId) -> Result<(), ApiError> {
    let own = who.hospital.as_deref() == Some(id.as_str());
    if who.role == Role::Admin || (who.role == Role::Qc && own) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "only an admin or a qc user of `{id}` may send its quality data ({} `{}`)",
            who.role.as_str(),
            who.sub
        )))
    }
}

async fn import(
    who: Principal,
    state: State,
    path: Path<String>,
    body: Bytes,
    kind: QualityKind,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path)?;
    may_send_quality(&who, &id)?;
    existing(&state, &id).await?;
    if body.is_empty() {
        return Err(ApiError::Body(
            "the body is empty; send the CSV file as text/csv".into(),
        ));
    }
    let catalog = state.catalog();
    let store = state.store.clone();
    let report: QualityReport = blocking(move || {
        import_quality(&*store, &catalog.registry, &id, kind, &body).map_err(|e| match e {
            crate::mapping_import::ImportError::File(m) => ApiError::Body(m),
            crate::mapping_import::ImportError::Store(p) => p.into(),
        })
    })
    .await?;
    if !report.problems.is_empty() {
        return Err(ApiError::Rows(
            report
                .problems
                .iter()
                .map(|p| super::row_issue(p.line, p.column.as_deref(), &p.message))
                .collect(),
        ));
    }
    Ok(HttpResponse::Ok().json(report))
}

/// `POST /api/labs/{hospital}/eqa`: EQA events.
pub async fn eqa(
    who: Principal,
    state: State,
    path: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    import(who, state, path, body, QualityKind::Eqa).await
}

/// `POST /api/labs/{hospital}/iqc`: IQC control results.
pub async fn iqc(
    who: Principal,
    state: State,
    path: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    import(who, state, path, body, QualityKind::Iqc).await
}
