//! The resources the service publishes by themselves (not as an operation's answer): the two
//! `CodeSystem`s, the LOINC → national `ConceptMap`, and the searchset `Bundle` around them.

pub mod bundle;
pub mod code_system;
pub mod concept_map;
