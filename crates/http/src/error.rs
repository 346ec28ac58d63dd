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
