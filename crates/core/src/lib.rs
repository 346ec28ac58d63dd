//! Domain types and rules of huren: LOINC-style codes and check digits, concepts with their
//! six axes, releases of the registry, UCUM units, mappings, normalization, laboratory quality
//! (Westgard rules, EQA scoring), the recognition decision, and the ports (traits) through
//! which the outer crates store and search.
//!
//! Architecture invariant: this crate does no IO, no async, no HTTP and no SQL. Everything
//! here is a pure function or a plain value, so every rule can be unit-tested in isolation.

pub mod audit;
pub mod candidates;
pub mod code;
pub mod concept;
pub mod integrity;
pub mod jobs;
pub mod loinc_name;
pub mod mapping;
pub mod mapping_rules;
pub mod normalize;
pub mod observation;
pub mod ports;
pub mod qc;
pub mod recognition;
pub mod reference;
pub mod registry;
pub mod result;
pub mod specimen;
pub mod units;

pub use code::{CodeProblem, CodeSystem};
pub use concept::{Axes, Concept, Language, Release, Status};
pub use mapping::{Equivalence, Hospital, HospitalId, LabProfile, Mapping, MappingStatus};
pub use registry::Registry;
