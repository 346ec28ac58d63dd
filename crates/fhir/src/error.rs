//! The one error type of this crate.
//!
//! Building our own resources cannot fail in practice (the builders only reject a missing
//! required field, and every path sets them), so most variants describe bad *input*: a request
//! body that is not a `Parameters` resource, or bytes handed to [`crate::search_bundle`] that are
//! not a resource.

use fhir_model::BuilderError;

/// Everything that can go wrong in FHIR JSON in or out.
#[derive(Debug, thiserror::Error)]
pub enum FhirError {
    /// The body is not JSON at all (the message carries serde's line and column).
    #[error("body is not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// The body is JSON but not a resource of the expected type.
    #[error("body is not a FHIR {expected} resource: {problem}")]
    WrongResource {
        expected: &'static str,
        problem: String,
    },
    /// The body claims to be a `Parameters` resource but does not fit its structure.
    #[error("body is not a valid FHIR Parameters resource: {0}")]
    InvalidParameters(#[source] serde_json::Error),
    /// One parameter of a `Parameters` resource is unusable.
    #[error("parameter `{name}` {problem}")]
    Parameter { name: String, problem: String },
    /// An entry handed to [`crate::search_bundle`] is not a FHIR resource.
    #[error("bundle entry {index} is not a FHIR resource: {source}")]
    BundleEntry {
        index: usize,
        #[source]
        source: serde_json::Error,
    },
    /// A fhir-model builder was missing a required field (a bug in this crate).
    #[error("a FHIR resource could not be built: {0}")]
    Build(#[from] BuilderError),
    /// A date or time string is not a FHIR dateTime.
    #[error("`{value}` is not a FHIR dateTime: {message}")]
    DateTime { value: String, message: String },
    /// Serializing a typed resource failed (a bug in this crate).
    #[error("a FHIR resource could not be serialized: {0}")]
    Serialize(#[source] serde_json::Error),
}
