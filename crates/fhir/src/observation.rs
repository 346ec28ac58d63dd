//! Lab results in and out as R4 `Observation`s.
//!
//! **In** ([`read_observation`], [`read_patient`], [`read_bundle`]): strict. An Observation
//! becomes a [`LabResult`](huren_core::result::LabResult) (the result as the hospital sent it) or a list of every
//! [`Problem`] found, each with a FHIRPath-like location (`Observation.valueQuantity.value`,
//! `Bundle.entry[3].resource.status`). The JSON is read twice:
//!
//! * by this module, member by member with the values left as raw JSON text
//!   (`serde_json::value::RawValue`), so that `valueQuantity.value` keeps its digits (`6.30`
//!   stays `6.30`: fhir-model stores decimals as `f64`) and every element we use is checked
//!   where it stands: exactly one supported `value[x]`, at most one `effective[x]`, real FHIR
//!   `dateTime`s and `instant`s (fhir-model silently drops a malformed choice element),
//!   status codes, comparators, and that a hospital sends no other hospital's local codes;
//! * by fhir-model's typed R4B `Observation` (wire-compatible with R4 4.0.1), for everything
//!   else: datatypes and codes of the elements this module does not read. When that fails,
//!   each top-level element is tried on its own to say which one is wrong.
//!
//! Unknown top-level elements (fhir-model ignores them) are warnings; `modifierExtension` is an
//! error, because FHIR requires a reader that does not understand one to reject the resource.
//!
//! **Out** ([`observation_json`], [`with_meta`]): a normalized result as an R4 Observation,
//! written with serde (not fhir-model's builders) so that decimals keep their text.

mod bundle;
mod emit;
pub(crate) mod json;
mod read;
pub(crate) mod time;

pub use bundle::{BundleIn, BundleKind, EntryIn, EntryOutcome, EntryRequest, Method, read_bundle};
pub use emit::{
    INTERPRETATION_COMPUTED_PATH, ORIGINAL_VALUE_PATH, observation_json,
    recognized_observation_json, with_meta,
};
pub use read::{read_observation, read_observation_with_patients, read_patient};

use crate::Urls;
use crate::outcome::{Issue, IssueCode, Severity};
use huren_core::result::PatientIdPolicy;

/// What reading a hospital's resources needs to know.
#[derive(Debug, Clone, Copy)]
pub struct IngestContext<'a> {
    pub urls: &'a Urls,
    /// The sending hospital's id: its local code system is `urls.local_code_system(hospital)`,
    /// and the local code systems of other hospitals are refused.
    pub hospital: &'a str,
    /// How patient identifiers without a system get one.
    pub patients: &'a PatientIdPolicy,
}

/// What writing a normalized result needs to know.
#[derive(Debug, Clone, Copy)]
pub struct EmitContext<'a> {
    pub urls: &'a Urls,
    /// The hospital that sent the result (for the system of its local code).
    pub hospital: &'a str,
    /// Which patient identifier is the national one (the subject of the Observation).
    pub patients: &'a PatientIdPolicy,
}

/// One problem found in an input resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `Error` (the resource, or Bundle entry, is refused), `Warning` (read, but something is
    /// off or ignored) or `Information` (a note, e.g. an entry skipped on purpose).
    pub severity: Severity,
    pub code: IssueCode,
    /// FHIRPath-like: `Observation.code.coding[1].system`,
    /// `Bundle.entry[3].resource.valueQuantity.value`.
    pub location: String,
    pub message: String,
}

impl Problem {
    pub fn is_error(&self) -> bool {
        matches!(self.severity, Severity::Error | Severity::Fatal)
    }

    /// The `OperationOutcome` issue for this problem (location as its expression).
    pub fn to_issue(&self) -> Issue {
        Issue {
            severity: self.severity,
            code: self.code,
            diagnostics: self.message.clone(),
            expression: vec![self.location.clone()],
        }
    }
}

impl From<Problem> for Issue {
    fn from(p: Problem) -> Issue {
        Issue {
            severity: p.severity,
            code: p.code,
            diagnostics: p.message,
            expression: vec![p.location],
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Fatal => "fatal",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information => "information",
        };
        write!(f, "{sev} at {}: {}", self.location, self.message)
    }
}

/// HL7's URL of UCUM.
const UCUM: &str = "http://unitsofmeasure.org";
/// The code system of `Observation.interpretation`.
const V3_INTERPRETATION: &str =
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";

#[cfg(test)]
mod tests;
