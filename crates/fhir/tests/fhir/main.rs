//! The public API of huren-fhir, end to end: each answer is parsed back into fhir-model's R4B
//! types (proving it is well-formed FHIR) and its key fields are checked; `$lookup` also has a
//! golden JSON test.

mod fixtures;
mod lookup;
mod observations;
mod operations;
mod params;
mod resources;
