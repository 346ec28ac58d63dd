//! FHIR R4 JSON in and out for huren: the terminology answers, the published resources and the
//! request bodies, built with fhir-model's R4B types.
//!
//! Architecture invariant: fhir-model is used here and nowhere else. Every public function takes
//! core domain values and returns serialized JSON bytes (or reads bytes), none of them generic,
//! so fhir-model's serde code is compiled once, in this crate. Outputs are built from typed
//! resources, never from hand-assembled JSON, so they are R4-shaped by construction: R4B's
//! `Parameters`, `CapabilityStatement`, `CodeSystem`, `ValueSet`, `ConceptMap`, `Bundle` and
//! `OperationOutcome` are wire-compatible with R4 4.0.1. Two exceptions:
//! - the last-resort `OperationOutcome` of the `outcome` module, written by hand because it runs
//!   when the typed path has just failed;
//! - Observations (`observation`), written with serde structs of their own because fhir-model
//!   stores decimals as `f64` and would turn a reported `6.30` into `6.3` (the digits reported are
//!   clinical information). Every shape they can take is validated against the official R4 JSON
//!   schema and parsed back with fhir-model in the tests.
//!
//! Input Observations are read twice: member by member from raw JSON (exact decimals, exact
//! locations, no silently dropped `value[x]`), then through fhir-model's typed parse to check
//! everything else.

pub mod audit;
mod capability;
mod error;
pub mod observation;
mod out;
mod outcome;
mod params;
mod properties;
pub mod recognition;
mod resources;
mod terminology;
mod urls;
mod wire;

pub use capability::capability_statement;
pub use error::FhirError;
pub use observation::{
    BundleIn, BundleKind, EmitContext, EntryIn, EntryOutcome, EntryRequest, IngestContext, Method,
    Problem, observation_json, read_bundle, read_observation, read_observation_with_patients,
    read_patient, recognized_observation_json, with_meta,
};
pub use outcome::{Issue, IssueCode, Severity, operation_outcome};
pub use params::parse_parameters;
pub use resources::bundle::search_bundle;
pub use resources::code_system::{CodeSystemInput, LOINC_NOTICE, code_system};
pub use resources::concept_map::{LocalMapElement, concept_map, hospital_concept_map};
pub use terminology::{
    CodedMatch, Expansion, LookupInput, TranslateMatch, expansion, lookup, translate,
    translate_codings, validate_code,
};
pub use urls::{DEFAULT_BASE, Urls};

/// The content type of every response: FHIR JSON, R4.
///
/// Not fhir-model's `r4b::JSON_MIME_TYPE`, which says `fhirVersion=4.3`: this server speaks R4.
pub const FHIR_JSON: &str = "application/fhir+json; fhirVersion=4.0";
