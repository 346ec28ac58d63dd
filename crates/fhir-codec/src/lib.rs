//! fhir-model's R4B resources read from JSON, in non-generic functions compiled once and
//! without optimisation.
//!
//! This crate exists for the build, not for a domain boundary. Every fhir-model resource has a
//! `contained: Vec<Resource>` (and `Parameters` and `Bundle` hold a `Resource` too), so reading
//! any one resource with serde instantiates the deserializers of all ~145 R4B resource types.
//! Optimised, that code took 260 s of LLVM time in every release build (and, in `huren-fhir`,
//! again after every change to `huren-core` or to a FHIR renderer); unoptimised it takes about
//! 10 s. Serializing is ten times cheaper to compile and stays in `huren-fhir`, optimised.
//!
//! - The crate depends on fhir-model, serde and serde_json only, never on a huren crate, so no
//!   change elsewhere in the workspace recompiles it.
//! - Its functions are not generic and not `#[inline]`, so callers link to the code compiled
//!   here instead of instantiating serde again.
//! - It has one deserializer (from a `&str`): a second entry point for byte slices would double
//!   the generated code, so bytes are checked for UTF-8 and then read as text.
//! - The workspace profile builds it at `opt-level = 0` in release too. Reading a resource is
//!   then about 4× slower (21 µs instead of 5 µs for the official example Observation f001;
//!   see `docs/performance.md`, "Build"), which huren pays once per received Observation or
//!   POSTed `Parameters`; optimised, it would cost four minutes of every clean build.
//!
//! Architecture invariant: `huren-fhir` is this crate's only user, and outside tests it never
//! deserializes a fhir-model type itself. Only this crate and `huren-fhir` name fhir-model.

use fhir_model::r4b::resources::Resource;

/// Reads one resource of any R4B type, dispatching on its `resourceType`.
///
/// # Errors
///
/// Not JSON, not an object, an unknown `resourceType`, or an element that does not fit the
/// R4B model. serde's message names the problem; its line and column are only meaningful for
/// syntax errors, since the `resourceType` tag makes serde buffer the resource first.
pub fn from_json(text: &str) -> Result<Resource, serde_json::Error> {
    serde_json::from_str(text)
}

/// [`from_json`] for bytes.
///
/// # Errors
///
/// As [`from_json`], or bytes that are not UTF-8 (the message gives the offset of the first bad
/// byte).
pub fn from_json_bytes(bytes: &[u8]) -> Result<Resource, serde_json::Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => from_json(text),
        Err(e) => Err(<serde_json::Error as serde::de::Error>::custom(format!(
            "body is not UTF-8: invalid byte at offset {}",
            e.valid_up_to()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fhir_model::r4b::resources::OperationOutcome;

    #[test]
    fn reads_any_resource_type() {
        let text = r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","diagnostics":"x"}]}"#;
        let r = from_json(text).unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), text);
        let oo = OperationOutcome::try_from(r).unwrap();
        assert_eq!(oo.issue.len(), 1);
        let p = from_json_bytes(br#"{"resourceType":"Patient","id":"p1"}"#).unwrap();
        assert!(matches!(p, Resource::Patient(_)));
    }

    #[test]
    fn errors_name_the_problem() {
        let e = from_json(r#"{"resourceType":"NoSuchThing"}"#).unwrap_err();
        assert!(e.to_string().contains("NoSuchThing"), "{e}");
        let e = from_json(r#"{"resourceType":"Patient","gender":7}"#).unwrap_err();
        assert!(e.to_string().contains("expected a string"), "{e}");
        let e = from_json_bytes(b"{\"resourceType\":\"Patient\",\"id\":\"\xff\"}").unwrap_err();
        assert!(e.to_string().contains("offset 32"), "{e}");
    }
}
