//! Route table. One module per resource or operation.

mod code_system;
mod expand;
mod hospitals;
mod labs;
mod lookup;
mod mappings;
mod metadata;
mod recognition;
mod registry;
mod results;
mod translate;
mod validate;

use crate::error::ApiError;
use crate::state::{AppState, Catalog};
use actix_web::{HttpResponse, web};
use huren_core::{CodeSystem, Language};

/// Registers every route of the service.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // A JSON body that does not parse is a 400 with an OperationOutcome, like every error.
    cfg.app_data(
        web::JsonConfig::default()
            .limit(1024 * 1024)
            .error_handler(|e, _| match e {
                actix_web::error::JsonPayloadError::Overflow { .. }
                | actix_web::error::JsonPayloadError::OverflowKnownLength { .. } => {
                    ApiError::TooLarge(e.to_string()).into()
                }
                e => ApiError::Body(format!("body is not valid: {e}")).into(),
            }),
    );
    cfg.route("/health", web::get().to(metadata::health))
        .route("/fhir/metadata", web::get().to(metadata::capability))
        .route("/fhir/CodeSystem/$lookup", web::get().to(lookup::lookup))
        .route("/fhir/CodeSystem/$lookup", web::post().to(lookup::lookup))
        .route(
            "/fhir/CodeSystem/$validate-code",
            web::get().to(validate::validate_code),
        )
        .route(
            "/fhir/CodeSystem/$validate-code",
            web::post().to(validate::validate_code),
        )
        .route("/fhir/ValueSet/$expand", web::get().to(expand::expand))
        .route("/fhir/ValueSet/$expand", web::post().to(expand::expand))
        .route(
            "/fhir/ConceptMap/$translate",
            web::get().to(translate::translate),
        )
        .route(
            "/fhir/ConceptMap/$translate",
            web::post().to(translate::translate),
        )
        .route("/fhir/ConceptMap/{id}", web::get().to(translate::read))
        .route("/fhir", web::post().to(results::bundle))
        .route("/fhir/Observation", web::post().to(results::create))
        .route("/fhir/Observation", web::get().to(results::search))
        .route("/fhir/Observation/{id}", web::get().to(results::read))
        .route(
            "/fhir/Observation/{id}/$recognition",
            web::get().to(recognition::recognition),
        )
        .route(
            "/fhir/Observation/{id}/$retest",
            web::post().to(recognition::retest),
        )
        .route("/fhir/AuditEvent", web::get().to(recognition::audit_events))
        .route(
            "/api/labs/{id}/recognition",
            web::get().to(recognition::lab_summary),
        )
        .route(
            "/fhir/Observation/{id}/_history",
            web::get().to(results::history),
        )
        .route(
            "/fhir/Observation/{id}/_history/{vid}",
            web::get().to(results::vread),
        )
        .route("/hl7v2", web::post().to(results::hl7v2))
        .route("/api/results/import", web::post().to(results::import_csv))
        .route("/api/catalogue", web::post().to(labs::catalogue))
        .route("/api/labs/{id}/eqa", web::post().to(labs::eqa))
        .route("/api/labs/{id}/iqc", web::post().to(labs::iqc))
        .route("/api/labs/{id}/iqc/status", web::get().to(labs::iqc_status))
        .route(
            "/api/hospitals/{id}/unmapped",
            web::get().to(results::unmapped),
        )
        .route("/fhir/CodeSystem", web::get().to(code_system::search))
        .route("/fhir/CodeSystem/{id}", web::get().to(code_system::read))
        .route("/api/registry/releases", web::get().to(registry::releases))
        .route("/api/registry/diff", web::get().to(registry::diff))
        .route("/api/registry/gaps", web::get().to(registry::gaps))
        .route(
            "/api/registry/candidates",
            web::get().to(registry::candidates),
        )
        .route("/api/hospitals", web::get().to(hospitals::list))
        .route("/api/hospitals", web::post().to(hospitals::upsert))
        .route("/api/hospitals/{id}", web::get().to(hospitals::read))
        .route(
            "/api/hospitals/{id}/suggestions",
            web::get().to(mappings::suggest),
        )
        .route(
            "/api/hospitals/{id}/mappings",
            web::get().to(mappings::list),
        )
        .route(
            "/api/hospitals/{id}/mappings/import",
            web::post().to(mappings::import),
        )
        .route(
            "/api/hospitals/{id}/mappings/export",
            web::get().to(mappings::export),
        )
        .route(
            "/api/hospitals/{id}/mappings/approve",
            web::post().to(mappings::bulk_approve),
        )
        .route(
            "/api/hospitals/{id}/mappings/{code}",
            web::get().to(mappings::read),
        )
        .route(
            "/api/hospitals/{id}/mappings/{code}/history",
            web::get().to(mappings::history),
        )
        .route(
            "/api/hospitals/{id}/mappings/{code}/suggestions",
            web::get().to(mappings::suggest_for_code),
        )
        .route(
            "/api/hospitals/{id}/mappings/{code}/{action}",
            web::post().to(mappings::act),
        )
        .default_service(web::to(not_found));
}

async fn not_found(req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}

/// A FHIR JSON response.
fn fhir(body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(huren_fhir::FHIR_JSON)
        .body(body)
}

/// Resolves a code-system parameter (`system` or `url`) to one of ours.
fn code_system_param(state: &AppState, name: &str, value: &str) -> Result<CodeSystem, ApiError> {
    state.urls.parse_code_system(value).ok_or_else(|| {
        ApiError::param(
            name,
            format!(
                "unknown code system `{value}`; known: {} and {}",
                state.urls.code_system(CodeSystem::National),
                state.urls.code_system(CodeSystem::Loinc)
            ),
        )
    })
}

/// The display language: `displayLanguage`, else the first `Accept-Language` tag we know,
/// else Chinese.
fn language(
    params: &crate::params::Params,
    req: &actix_web::HttpRequest,
) -> Result<Language, ApiError> {
    if let Some(tag) = params.get("displayLanguage")? {
        return Language::parse(tag).ok_or_else(|| {
            ApiError::param(
                "displayLanguage",
                format!("`{tag}` is not supported; use zh or en"),
            )
        });
    }
    let accept = req
        .headers()
        .get(actix_web::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Ok(accept
        .split(',')
        .filter_map(|t| Language::parse(t.split(';').next().unwrap_or("").trim()))
        .next()
        .unwrap_or_default())
}

/// The release a `version` parameter names, or the current one.
fn release_of<'a>(
    catalog: &'a Catalog,
    system: CodeSystem,
    version: Option<&str>,
) -> Result<&'a huren_core::Release, ApiError> {
    match version {
        Some(v) => catalog
            .registry
            .release(system, v)
            .ok_or_else(|| ApiError::NotFound(format!("{system} has no release `{v}`"))),
        None => catalog
            .registry
            .current(system)
            .map(|c| &c.release)
            .ok_or_else(|| ApiError::NotFound(format!("no {system} release is loaded"))),
    }
}

/// A 422 naming every bad row of an import report.
/// An uploaded CSV file that may be parsed: not empty, and with no more data rows than the
/// server's limit (counted in one pass before any row is parsed for real; a file that cannot
/// even be decoded is left for the parser to report).
fn csv_upload(state: &AppState, body: &[u8]) -> Result<(), ApiError> {
    if body.is_empty() {
        return Err(ApiError::Body(
            "the body is empty; send the CSV file as text/csv".into(),
        ));
    }
    match huren_csv::count_rows(body) {
        Ok(rows) => state.limits.check_csv_rows(rows),
        Err(_) => Ok(()),
    }
}

fn rows_error(problems: &[crate::mapping_import::ProblemReport]) -> ApiError {
    ApiError::Rows(
        problems
            .iter()
            .map(|p| row_issue(p.line, p.column.as_deref(), &p.message))
            .collect(),
    )
}

/// The `OperationOutcome` issue for one problem of an uploaded CSV file, located by line and
/// column (mapping tables and result batches alike).
fn row_issue(line: u64, column: Option<&str>, message: &str) -> huren_fhir::Issue {
    let location = match column {
        Some(c) => format!("line {line}, column {c}"),
        None => format!("line {line}"),
    };
    huren_fhir::Issue {
        severity: huren_fhir::Severity::Error,
        code: huren_fhir::IssueCode::Invalid,
        diagnostics: format!("{location}: {message}"),
        expression: vec![location],
    }
}

/// Runs blocking store work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    web::block(f)
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?
}

type State = web::Data<AppState>;
