//! The one place that picks HTTP status codes: every failure becomes a status and an
//! `OperationOutcome` saying what went wrong and where.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use huren_core::ports::PortError;
use huren_fhir::{Issue, IssueCode, Severity};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A parameter is missing or malformed; `param` names it.
    #[error("parameter `{param}`: {message}")]
    Param { param: String, message: String },
    /// The request body is unusable.
    #[error("{0}")]
    Body(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotSupported(String),
    /// The request is bigger than a configured limit (body bytes, Bundle entries, CSV rows).
    #[error("{0}")]
    TooLarge(String),
    /// Rows of an uploaded file are bad: one issue per problem, each saying where. Nothing
    /// was written.
    #[error("{} problem(s) in the file; nothing was written", .0.len())]
    Rows(Vec<Issue>),
    /// The resource sent is invalid: one issue per problem, each with its location (FHIRPath).
    /// Nothing was written.
    #[error("{} problem(s) in the request; nothing was written", .0.len())]
    Invalid(Vec<Issue>),
    /// A failure of ours or of the database; details go to the log, not to the caller.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn param(param: &str, message: impl Into<String>) -> ApiError {
        ApiError::Param {
            param: param.to_owned(),
            message: message.into(),
        }
    }

    fn issue(&self) -> Issue {
        let (code, expression) = match self {
            ApiError::Param { param, .. } => (IssueCode::Invalid, vec![param.clone()]),
            ApiError::Body(_) => (IssueCode::Invalid, vec![]),
            ApiError::NotFound(_) => (IssueCode::NotFound, vec![]),
            ApiError::Unauthorized(_) => (IssueCode::Login, vec![]),
            ApiError::Forbidden(_) => (IssueCode::Forbidden, vec![]),
            ApiError::Conflict(_) => (IssueCode::Conflict, vec![]),
            ApiError::NotSupported(_) => (IssueCode::NotSupported, vec![]),
            ApiError::TooLarge(_) => (IssueCode::TooLong, vec![]),
            ApiError::Rows(_) | ApiError::Invalid(_) => (IssueCode::Invalid, vec![]),
            ApiError::Internal(_) => (IssueCode::Exception, vec![]),
        };
        let diagnostics = match self {
            ApiError::Internal(_) => "internal error; see the server log".to_owned(),
            other => other.to_string(),
        };
        Issue {
            severity: Severity::Error,
            code,
            diagnostics,
            expression,
        }
    }
}

impl From<crate::mapping_import::ImportError> for ApiError {
    fn from(e: crate::mapping_import::ImportError) -> ApiError {
        match e {
            crate::mapping_import::ImportError::File(m) => ApiError::Body(m),
            crate::mapping_import::ImportError::Store(p) => p.into(),
        }
    }
}

impl From<PortError> for ApiError {
    fn from(e: PortError) -> ApiError {
        match e {
            PortError::Conflict(m) => ApiError::Conflict(m),
            PortError::Backend(m) => ApiError::Internal(m),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Param { .. } | ApiError::Body(_) | ApiError::Invalid(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::NotSupported(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Rows(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(detail) = self {
            tracing::error!(%detail, "internal error");
        }
        let mut resp = HttpResponse::build(self.status_code());
        resp.content_type(huren_fhir::FHIR_JSON);
        if matches!(self, ApiError::Unauthorized(_)) {
            resp.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"huren\""));
        }
        let mut issues = vec![self.issue()];
        if let ApiError::Rows(rows) | ApiError::Invalid(rows) = self {
            issues.extend(rows.iter().cloned());
        }
        resp.body(huren_fhir::operation_outcome(&issues))
    }
}

/// Middleware that turns every error response actix-web makes on its own (a body over the
/// size limit: 413; a malformed request line or header: 400; …) into the same status with an
/// `OperationOutcome`, as every error of ours already is. A response that already carries a
/// FHIR body is left alone.
pub fn fhir_errors<B: actix_web::body::MessageBody + 'static>()
-> actix_web::middleware::ErrorHandlers<B> {
    actix_web::middleware::ErrorHandlers::new().default_handler(as_outcome)
}

fn as_outcome<B: actix_web::body::MessageBody + 'static>(
    res: actix_web::dev::ServiceResponse<B>,
) -> actix_web::Result<actix_web::middleware::ErrorHandlerResponse<B>> {
    use actix_web::middleware::ErrorHandlerResponse;
    let fhir = res
        .response()
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(huren_fhir::FHIR_JSON) || v.starts_with("text/html"));
    // A page's error is already a page (`crate::ui::UiError`).
    if fhir {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(
            "the request body is larger than this server takes (`huren serve --max-body-mb`)"
                .to_owned(),
        ),
        StatusCode::NOT_FOUND => ApiError::NotFound("no such endpoint".to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => {
            ApiError::NotSupported("this endpoint does not take that method".to_owned())
        }
        s if s.is_server_error() => ApiError::Internal(format!("status {s}")),
        s => ApiError::Body(format!(
            "the request was refused ({}): {}",
            s.as_u16(),
            s.canonical_reason().unwrap_or("bad request")
        )),
    };
    let (req, _) = res.into_parts();
    let mut answer = error.error_response();
    *answer.status_mut() = status;
    let res = actix_web::dev::ServiceResponse::new(req, answer)
        .map_into_boxed_body()
        .map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}
