//! The last step of every answer: typed resource to bytes, plus the small builders all modules
//! share (codings, non-empty strings).
//!
//! Every resource is serialized through the `Resource` enum, so serde's serializer is
//! instantiated once for all outputs and `resourceType` is always present. (Reading goes through
//! `huren-fhir-codec`, where the far larger deserializer is compiled once.)

use crate::FhirError;
use crate::outcome;
use fhir_model::r4b::resources::Resource;
use fhir_model::r4b::types::Coding;

/// Serializes a resource that was built by this crate.
///
/// Building fails only if a required field was forgotten, which the tests of every function
/// rule out; should it happen anyway, the caller gets a valid `OperationOutcome` describing the
/// bug instead of a panic in the middle of a request.
pub(crate) fn render(built: Result<Resource, FhirError>) -> Vec<u8> {
    match built.and_then(|r| serde_json::to_vec(&r).map_err(FhirError::Serialize)) {
        Ok(bytes) => bytes,
        Err(e) => outcome::internal_error(&e.to_string()),
    }
}

/// A `Coding` with its system, code and (when non-empty) display and version.
pub(crate) fn coding(
    system: &str,
    version: Option<&str>,
    code: &str,
    display: &str,
) -> Result<Coding, FhirError> {
    let mut c = Coding::builder()
        .system(system.to_owned())
        .code(code.to_owned());
    if let Some(v) = version.and_then(non_empty) {
        c = c.version(v.to_owned());
    }
    if let Some(d) = non_empty(display) {
        c = c.display(d.to_owned());
    }
    Ok(c.build()?)
}

/// `Some(s)` unless `s` is empty or blank: FHIR JSON forbids empty strings, so optional text
/// elements are left out rather than sent as `""`.
pub(crate) fn non_empty(s: &str) -> Option<&str> {
    if s.trim().is_empty() { None } else { Some(s) }
}

/// Converts a count to FHIR's 32-bit integer types, saturating instead of wrapping: a count of
/// more than two billion codes is not a case worth an error path.
pub(crate) fn saturating_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Like [`saturating_i32`], for `unsignedInt` elements (whose FHIR range also ends at 2³¹ − 1).
pub(crate) fn saturating_u32(n: usize) -> u32 {
    saturating_i32(n).unsigned_abs()
}
