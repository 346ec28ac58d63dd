//! Route table. One module per resource or operation.

mod code_system;
mod expand;
mod hospitals;
mod integrity;
mod labs;
mod lookup;
mod mappings;
mod metadata;
mod recognition;
mod registry;
mod results;
mod translate;
mod validate;

pub(crate) use hospitals::{existing, may_curate, may_read, path_id};
pub(crate) use mappings::{BulkBody, ReviewBody, apply_review, approve_selected};
pub(crate) use recognition::{decision_for, lab_items, may_retest, record_retest};
pub(crate) use results::reads_all_results;

use crate::auth::Role;
use crate::error::ApiError;
use crate::state::{AppState, Catalog};
use actix_web::{HttpResponse, web};
use huren_core::{CodeSystem, Language};

/// Registers every route of the service.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // JSON bodies are read as bytes and parsed by `json_body` after the caller was authorized.
    register(cfg);
    cfg.default_service(web::to(not_found));
}

/// Who may call a route. Admins may call every route but the result inputs, which belong to a
/// hospital's system; "the path's hospital" is the `{id}` of `/api/hospitals/{id}/…`,
/// `/api/labs/{id}/…` and `/fhir/ConceptMap/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// No token needed.
    Public,
    /// Any valid token.
    AnyRole,
    /// Admins only.
    Admin,
    /// These roles, of any hospital, and admins.
    Roles(&'static [Role]),
    /// Admins, and every role of the path's hospital.
    Hospital,
    /// Admins, and this role of the path's hospital.
    HospitalRole(Role),
    /// A hospital's `system` token, for its own hospital (the token's): lab results in.
    Sender,
    /// One stored result: admins and clinicians of every hospital (mutual recognition), every
    /// other role of the result's own hospital.
    Result,
    /// A search of results: every role, but only admins and clinicians see every hospital's
    /// results; the others see their own hospital's.
    ResultSearch,
}

/// One registered route and its rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteAccess {
    /// `get` or `post`.
    pub method: &'static str,
    pub path: &'static str,
    pub rule: Rule,
}

/// Registers the routes and lists them with their rules in [`ROUTES`], from one table, so that
/// no route exists without a rule (`docs/security.md`; a test calls every route with every
/// role).
macro_rules! routes {
    ($( $method:ident $path:literal => $handler:path, $rule:expr; )*) => {
        /// Every route of the service and who may call it.
        pub const ROUTES: &[RouteAccess] = &[
            $( RouteAccess { method: stringify!($method), path: $path, rule: $rule }, )*
        ];

        fn register(cfg: &mut web::ServiceConfig) {
            $( cfg.route($path, web::$method().to($handler)); )*
        }
    };
}

const CLINICIANS: &[Role] = &[Role::Clinician];

routes! {
    get "/health" => metadata::health, Rule::Public;
    get "/fhir/metadata" => metadata::capability, Rule::Public;
    get "/fhir/CodeSystem/$lookup" => lookup::lookup, Rule::AnyRole;
    post "/fhir/CodeSystem/$lookup" => lookup::lookup, Rule::AnyRole;
    get "/fhir/CodeSystem/$validate-code" => validate::validate_code, Rule::AnyRole;
    post "/fhir/CodeSystem/$validate-code" => validate::validate_code, Rule::AnyRole;
    get "/fhir/ValueSet/$expand" => expand::expand, Rule::AnyRole;
    post "/fhir/ValueSet/$expand" => expand::expand, Rule::AnyRole;
    get "/fhir/ConceptMap/$translate" => translate::translate, Rule::AnyRole;
    post "/fhir/ConceptMap/$translate" => translate::translate, Rule::AnyRole;
    get "/fhir/ConceptMap/{id}" => translate::read, Rule::Hospital;
    post "/fhir" => results::bundle, Rule::Sender;
    post "/fhir/Observation" => results::create, Rule::Sender;
    get "/fhir/Observation" => results::search, Rule::ResultSearch;
    get "/fhir/Observation/{id}" => results::read, Rule::Result;
    get "/fhir/Observation/{id}/$recognition" => recognition::recognition, Rule::Result;
    post "/fhir/Observation/{id}/$retest" => recognition::retest, Rule::Roles(CLINICIANS);
    get "/fhir/AuditEvent" => recognition::audit_events, Rule::Admin;
    get "/fhir/Observation/{id}/_history" => results::history, Rule::Result;
    get "/fhir/Observation/{id}/_history/{vid}" => results::vread, Rule::Result;
    post "/hl7v2" => results::hl7v2, Rule::Sender;
    post "/api/results/import" => results::import_csv, Rule::Sender;
    post "/api/catalogue" => labs::catalogue, Rule::Admin;
    get "/api/labs/{id}/recognition" => recognition::lab_summary, Rule::Hospital;
    post "/api/labs/{id}/eqa" => labs::eqa, Rule::HospitalRole(Role::Qc);
    post "/api/labs/{id}/iqc" => labs::iqc, Rule::HospitalRole(Role::Qc);
    get "/api/labs/{id}/iqc/status" => labs::iqc_status, Rule::Hospital;
    get "/api/hospitals/{id}/unmapped" => results::unmapped, Rule::Hospital;
    get "/fhir/CodeSystem" => code_system::search, Rule::AnyRole;
    get "/fhir/CodeSystem/{id}" => code_system::read, Rule::AnyRole;
    get "/api/registry/releases" => registry::releases, Rule::AnyRole;
    get "/api/registry/diff" => registry::diff, Rule::AnyRole;
    get "/api/registry/gaps" => registry::gaps, Rule::Admin;
    get "/api/registry/candidates" => registry::candidates, Rule::Admin;
    get "/api/integrity" => integrity::integrity, Rule::Admin;
    get "/api/jobs" => integrity::jobs, Rule::Admin;
    get "/api/hospitals" => hospitals::list, Rule::AnyRole;
    post "/api/hospitals" => hospitals::upsert, Rule::Admin;
    get "/api/hospitals/{id}" => hospitals::read, Rule::Hospital;
    get "/api/hospitals/{id}/suggestions" => mappings::suggest, Rule::Hospital;
    get "/api/hospitals/{id}/mappings" => mappings::list, Rule::Hospital;
    post "/api/hospitals/{id}/mappings/import" => mappings::import, Rule::HospitalRole(Role::Curator);
    get "/api/hospitals/{id}/mappings/export" => mappings::export, Rule::Hospital;
    post "/api/hospitals/{id}/mappings/approve" => mappings::bulk_approve, Rule::HospitalRole(Role::Curator);
    get "/api/hospitals/{id}/mappings/{code}" => mappings::read, Rule::Hospital;
    get "/api/hospitals/{id}/mappings/{code}/history" => mappings::history, Rule::Hospital;
    get "/api/hospitals/{id}/mappings/{code}/suggestions" => mappings::suggest_for_code, Rule::Hospital;
    post "/api/hospitals/{id}/mappings/{code}/{action}" => mappings::act, Rule::HospitalRole(Role::Curator);
    get "/ui" => crate::ui::home, Rule::Public;
    get "/ui/assets/huren.css" => crate::ui::stylesheet, Rule::Public;
    get "/ui/lang" => crate::ui::switch_lang, Rule::Public;
    get "/ui/sign-in" => crate::ui::signin::form, Rule::Public;
    post "/ui/sign-in" => crate::ui::signin::submit, Rule::Public;
    post "/ui/sign-out" => crate::ui::signin::sign_out, Rule::AnyRole;
    get "/ui/registry" => crate::ui::registry::search, Rule::AnyRole;
    get "/ui/registry/{system}/{code}" => crate::ui::registry::concept, Rule::AnyRole;
    get "/ui/patients" => crate::ui::patients::results, Rule::ResultSearch;
    post "/ui/results/{id}/retest" => crate::ui::patients::retest, Rule::Roles(CLINICIANS);
    get "/ui/hospitals/{id}/mappings" => crate::ui::curation::mappings, Rule::Hospital;
    post "/ui/hospitals/{id}/mappings/approve" => crate::ui::curation::bulk_approve, Rule::HospitalRole(Role::Curator);
    get "/ui/hospitals/{id}/mappings/{code}" => crate::ui::curation::mapping, Rule::Hospital;
    post "/ui/hospitals/{id}/mappings/{code}/{action}" => crate::ui::curation::act, Rule::HospitalRole(Role::Curator);
    get "/ui/hospitals/{id}/unmapped" => crate::ui::curation::unmapped, Rule::Hospital;
    post "/ui/hospitals/{id}/unmapped/{code}/propose" => crate::ui::curation::propose, Rule::HospitalRole(Role::Curator);
    get "/ui/hospitals/{id}/upload" => crate::ui::curation::upload_form, Rule::HospitalRole(Role::Curator);
    post "/ui/hospitals/{id}/upload" => crate::ui::curation::upload, Rule::HospitalRole(Role::Curator);
    post "/ui/hospitals/{id}/upload/import" => crate::ui::curation::upload_import, Rule::HospitalRole(Role::Curator);
    get "/ui/labs/{id}" => crate::ui::labs::lab, Rule::Hospital;
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
    fhir_bytes(body.into())
}

/// [`fhir`] for an answer already in shared bytes (a kept one: sent without a copy).
fn fhir_bytes(body: web::Bytes) -> HttpResponse {
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
/// The largest JSON body of the `/api` endpoints (hospitals, review actions): 1 MiB.
const JSON_LIMIT: usize = 1024 * 1024;

/// A JSON body of an `/api` endpoint (`what` it should be: `a review`), read after the caller
/// was authorized: over [`JSON_LIMIT`] a 413, not JSON of the expected shape a 400 saying why.
fn json_body<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, ApiError> {
    if body.len() > JSON_LIMIT {
        return Err(ApiError::TooLarge(format!(
            "the JSON body has {} bytes; this endpoint takes at most {JSON_LIMIT}",
            body.len()
        )));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::Body(format!("body is not {what}: {e}")))
}

/// An uploaded CSV file that may be parsed: not empty, and with no more data rows than the
/// server's limit (counted in one pass before any row is parsed for real; a file that cannot
/// even be decoded is left for the parser to report).
pub(crate) fn csv_upload(state: &AppState, body: &[u8]) -> Result<(), ApiError> {
    if body.is_empty() {
        return Err(ApiError::Body(
            "the body is empty; send the CSV file as text/csv".into(),
        ));
    }
    // A file has no more data rows than line breaks: only a file with more line breaks than
    // the limit is counted exactly (quoted fields may hold line breaks).
    let breaks = body.iter().filter(|&&b| b == b'\n').count();
    if breaks <= state.limits.max_csv_rows {
        return Ok(());
    }
    match huren_csv::count_rows(body) {
        Ok(rows) => state.limits.check_csv_rows(rows),
        Err(_) => Ok(()),
    }
}

pub(crate) fn rows_error(problems: &[crate::mapping_import::ProblemReport]) -> ApiError {
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
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    web::block(f)
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?
}

type State = web::Data<AppState>;
