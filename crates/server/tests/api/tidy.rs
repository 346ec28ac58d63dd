//! Architecture checks kept as ordinary tests: every dependency arrow between huren crates
//! points toward core, as `docs/architecture.md` says.

use std::collections::BTreeSet;

/// For each crate, the huren crates it may depend on (normal dependencies).
const ALLOWED: [(&str, &[&str]); 10] = [
    ("core", &[]),
    // The codec is a build-graph split of fhir, and must not depend on any huren crate: a change
    // elsewhere would then recompile fhir-model's serde code.
    ("fhir-codec", &[]),
    ("fhir", &["huren-core", "huren-fhir-codec"]),
    ("csv", &["huren-core"]),
    ("store", &["huren-core"]),
    ("search", &["huren-core"]),
    ("hl7v2", &["huren-core"]),
    (
        "http",
        &["huren-core", "huren-fhir", "huren-csv", "huren-hl7v2"],
    ),
    (
        "server",
        &[
            "huren-core",
            "huren-fhir",
            "huren-csv",
            "huren-store",
            "huren-search",
            "huren-http",
            "huren-hl7v2",
        ],
    ),
    ("testkit", &["huren-core"]),
];

#[test]
fn dependency_arrows_point_toward_core() {
    let root = huren_testkit::repo_root().join("crates");
    let mut seen = BTreeSet::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let allowed = ALLOWED
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("crate `{name}` is not in the architecture table"))
            .1;
        seen.insert(name.clone());
        // Only the [dependencies] section: dev-dependencies may use testkit.
        let deps = manifest
            .split("\n[")
            .find(|s| s.starts_with("dependencies]"))
            .unwrap_or("");
        for line in deps.lines() {
            let dep = line.split(['.', ' ', '=']).next().unwrap_or("");
            if dep.starts_with("huren") {
                assert!(
                    allowed.contains(&dep),
                    "crates/{name} must not depend on {dep}"
                );
            }
            assert!(
                name == "fhir" || name == "fhir-codec" || dep != "fhir-model",
                "fhir-model belongs to huren-fhir and its codec only (found in crates/{name})"
            );
        }
    }
    assert_eq!(seen.len(), ALLOWED.len());
}
