//! Validation against the official FHIR R4 (4.0.1) JSON schema, `data/fhir.schema.json`, and the
//! official R4 example lab resources in `data/fhir-r4-examples/` (see `data/README.md`).
//!
//! The schema's root is a `oneOf` over all 146 resource types, whose only error is "not valid
//! under any of the schemas listed in the 'oneOf' keyword" followed by the whole resource. So a
//! resource is validated against `#/definitions/<resourceType>` instead (one compiled validator
//! per type, cached), and a resource nested in another (`Bundle.entry.resource`, `contained`,
//! which the schema types as the same `oneOf`) that fails is validated again the same way, so
//! every error names the exact path, e.g. `/entry/1/resource/status: "bogus" is not one of ...`.

use jsonschema::Validator;
use jsonschema::error::ValidationErrorKind;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};

/// Error messages longer than this (a `type` error quotes the offending value) are cut.
const MAX_MESSAGE_CHARS: usize = 400;

/// `crates/testkit/data`.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// The official FHIR R4 4.0.1 example lab resources (Observations and Bundles).
pub fn examples_dir() -> PathBuf {
    data_dir().join("fhir-r4-examples")
}

/// The official FHIR R4 4.0.1 JSON schema (draft-06).
pub fn schema_path() -> PathBuf {
    data_dir().join("fhir.schema.json")
}

static SCHEMA: LazyLock<Value> = LazyLock::new(|| {
    let path = schema_path();
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
});

/// One compiled validator per resource type, built on first use.
static VALIDATORS: LazyLock<Mutex<HashMap<String, Arc<Validator>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Whether `name` is a resource type of the schema (a key of its `discriminator.mapping`).
pub fn is_resource_type(name: &str) -> bool {
    SCHEMA["discriminator"]["mapping"].get(name).is_some()
}

/// The validator for `#/definitions/<resource_type>`, or `None` for an unknown type.
fn validator_for(resource_type: &str) -> Option<Arc<Validator>> {
    if !is_resource_type(resource_type) {
        return None;
    }
    let mut cache = VALIDATORS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(v) = cache.get(resource_type) {
        return Some(Arc::clone(v));
    }
    let schema = json!({
        "$schema": SCHEMA["$schema"],
        "$ref": format!("#/definitions/{resource_type}"),
        "definitions": SCHEMA["definitions"],
    });
    let validator = jsonschema::draft6::new(&schema)
        .unwrap_or_else(|e| panic!("compile FHIR schema for {resource_type}: {e}"));
    let validator = Arc::new(validator);
    cache.insert(resource_type.to_owned(), Arc::clone(&validator));
    Some(validator)
}

/// Validates one FHIR resource (JSON) against the official R4 4.0.1 JSON schema.
/// Returns every error as "instance_path: message".
///
/// The path is a JSON pointer into `resource` (`(root)` for the resource itself). A resource
/// type that R4 does not have is one error at `/resourceType`.
pub fn validate_r4(resource: &Value) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    validate_resource(resource, "", &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Validates `resource`, found at JSON pointer `at`, by its `resourceType`.
fn validate_resource(resource: &Value, at: &str, errors: &mut Vec<String>) {
    let Some(resource_type) = resource.get("resourceType") else {
        errors.push(format!(
            "{}: not a FHIR resource (no resourceType)",
            shown(at)
        ));
        return;
    };
    let Some(validator) = resource_type.as_str().and_then(validator_for) else {
        errors.push(format!(
            "{at}/resourceType: {resource_type} is not an R4 resource type"
        ));
        return;
    };
    for error in validator.iter_errors(resource) {
        let path = format!("{at}{}", error.instance_path());
        // A nested resource (`ResourceList`, a `oneOf` over every type): validate it again by its
        // own type for precise errors.
        if let ValidationErrorKind::OneOfNotValid { .. } = error.kind()
            && let Some(nested) = resource.pointer(error.instance_path().as_str())
            && nested.get("resourceType").is_some()
        {
            validate_resource(nested, &path, errors);
            continue;
        }
        let mut message = error.to_string();
        if let Some((cut, _)) = message.char_indices().nth(MAX_MESSAGE_CHARS) {
            message.truncate(cut);
            message.push('…');
        }
        errors.push(format!("{}: {message}", shown(&path)));
    }
}

fn shown(path: &str) -> &str {
    if path.is_empty() { "(root)" } else { path }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> Value {
        let path = examples_dir().join(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
    }

    fn example_names() -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(examples_dir())
            .expect("examples dir")
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|n| n.ends_with(".json"))
            .collect();
        names.sort();
        names
    }

    /// Asserts that `resource` fails and that some error starts with `prefix`.
    fn assert_error_at(resource: &Value, prefix: &str) -> Vec<String> {
        let errors = validate_r4(resource).expect_err("should not validate");
        assert!(
            errors.iter().any(|e| e.starts_with(prefix)),
            "no error at {prefix:?}: {errors:#?}"
        );
        errors
    }

    #[test]
    fn every_official_example_validates() {
        let names = example_names();
        let bundles = names.iter().filter(|n| n.starts_with("Bundle-")).count();
        let observations = names
            .iter()
            .filter(|n| n.starts_with("Observation-"))
            .count();
        assert_eq!((bundles, observations), (4, 10), "{names:?}");
        let failures: Vec<(String, Vec<String>)> = names
            .into_iter()
            .filter_map(|n| validate_r4(&example(&n)).err().map(|e| (n, e)))
            .collect();
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn bad_status_names_the_path() {
        let mut obs = example("Observation-f001.json");
        obs["status"] = json!("bogus");
        let errors = assert_error_at(&obs, "/status: ");
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(errors[0].contains("\"bogus\""), "{errors:#?}");
    }

    #[test]
    fn string_quantity_value_names_the_path() {
        let mut obs = example("Observation-f001.json");
        obs["valueQuantity"]["value"] = json!("six");
        let errors = assert_error_at(&obs, "/valueQuantity/value: ");
        // Not a number, and (since it is a string) not matching `decimal`'s pattern either.
        assert!(
            errors
                .iter()
                .all(|e| e.starts_with("/valueQuantity/value: ")),
            "{errors:#?}"
        );
    }

    #[test]
    fn unknown_property_is_rejected() {
        let mut obs = example("Observation-f001.json");
        obs["foo"] = json!(1);
        let errors = assert_error_at(&obs, "(root): ");
        assert!(errors.iter().any(|e| e.contains("'foo'")), "{errors:#?}");
    }

    #[test]
    fn error_inside_a_bundle_entry_names_the_path() {
        let mut bundle = example("Bundle-lipids.json");
        bundle["entry"][1]["resource"]["status"] = json!("bogus");
        bundle["entry"][2]["resource"]["valueQuantity"]["value"] = json!("six");
        let errors = assert_error_at(&bundle, "/entry/1/resource/status: ");
        assert_error_at(&bundle, "/entry/2/resource/valueQuantity/value: ");
        // No "not valid under any of the schemas listed in the 'oneOf' keyword" for the entries.
        assert!(
            errors
                .iter()
                .all(|e| e.starts_with("/entry/1/resource/status: ")
                    || e.starts_with("/entry/2/resource/valueQuantity/value: ")),
            "{errors:#?}"
        );
    }

    #[test]
    fn unknown_or_missing_resource_type_is_rejected() {
        assert_error_at(&json!({"resourceType": "LabThing"}), "/resourceType: ");
        assert_error_at(&json!({"status": "final"}), "(root): ");
        let mut obs = example("Observation-f001.json");
        obs["resourceType"] = json!("DiagnosticReport");
        assert_error_at(&obs, "(root): ");
    }

    #[test]
    fn missing_required_element_is_rejected() {
        let mut obs = example("Observation-f001.json");
        obs.as_object_mut().expect("object").remove("code");
        let errors = validate_r4(&obs).expect_err("code is required");
        assert!(errors.iter().any(|e| e.contains("\"code\"")), "{errors:#?}");
    }
}
