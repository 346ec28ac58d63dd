//! The published resources: CapabilityStatement, CodeSystem, ConceptMap, searchset Bundle.

use crate::fixtures::*;
use fhir_model::r4b::codes::{
    BundleType, CapabilityStatementKind, CodeSystemContentMode, ConceptMapEquivalence, FHIRVersion,
    PropertyType, PublicationStatus, RestfulCapabilityMode, SearchEntryMode,
};
use fhir_model::r4b::resources::{
    Bundle, CapabilityStatement, CodeSystem as FhirCodeSystem, CodeSystemConceptPropertyValue,
    ConceptMap, ConceptMapSource, ConceptMapTarget, Resource,
};
use huren_core::CodeSystem;
use huren_fhir::{
    CodeSystemInput, FhirError, LOINC_NOTICE, Urls, capability_statement, code_system, concept_map,
    search_bundle,
};
use std::sync::Arc;

/// A rest resource as (type, interactions, (operation name, definition)).
type ResourceSummary = (String, Vec<String>, Vec<(String, String)>);

/// A ConceptMap element as (source code, [(target code, target display)]).
type Element = (Option<String>, Vec<(Option<String>, Option<String>)>);

#[test]
fn capability_statement_lists_exactly_the_supported_operations() {
    let bytes = capability_statement(&Urls::new(BASE), "0.1.0");
    let v = json(&bytes, "CapabilityStatement");
    assert_eq!(v["fhirVersion"], "4.0.1");
    assert_eq!(v["date"], "2026-11-22");
    assert_eq!(v["format"], serde_json::json!(["json"]));

    let cap: CapabilityStatement = typed(&bytes);
    assert_eq!(cap.status, PublicationStatus::Active);
    assert_eq!(cap.kind, CapabilityStatementKind::Instance);
    assert_eq!(cap.fhir_version, FHIRVersion::N401);
    let software = cap.software.as_ref().unwrap();
    assert_eq!(
        (software.name.as_str(), software.version.as_deref()),
        ("huren", Some("0.1.0"))
    );
    assert_eq!(
        cap.implementation.as_ref().unwrap().url.as_deref(),
        Some(BASE)
    );
    let rest = cap.rest[0].as_ref().unwrap();
    assert_eq!(rest.mode, RestfulCapabilityMode::Server);
    let security = rest
        .security
        .as_ref()
        .unwrap()
        .description
        .as_deref()
        .unwrap();
    for needle in ["Bearer", "HS256", "/fhir/metadata", "/health"] {
        assert!(security.contains(needle), "{needle} in {security}");
    }
    let summary: Vec<ResourceSummary> = rest
        .resource
        .iter()
        .flatten()
        .map(|r| {
            (
                r.r#type.to_string(),
                r.interaction
                    .iter()
                    .flatten()
                    .map(|i| i.code.clone())
                    .collect(),
                r.operation
                    .iter()
                    .flatten()
                    .map(|o| (o.name.clone(), o.definition.clone()))
                    .collect(),
            )
        })
        .collect();
    let def = |s: &str| format!("http://hl7.org/fhir/OperationDefinition/{s}");
    assert_eq!(
        summary,
        vec![
            (
                "CodeSystem".into(),
                vec!["read".into(), "search-type".into()],
                vec![
                    ("lookup".into(), def("CodeSystem-lookup")),
                    ("validate-code".into(), def("CodeSystem-validate-code")),
                ]
            ),
            (
                "ValueSet".into(),
                vec![],
                vec![("expand".into(), def("ValueSet-expand"))]
            ),
            (
                "ConceptMap".into(),
                vec![],
                vec![("translate".into(), def("ConceptMap-translate"))]
            ),
        ]
    );
    let params: Vec<_> = v["rest"][0]["resource"][0]["searchParam"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["type"].as_str().unwrap()))
        .collect();
    assert_eq!(params, [("url", "uri"), ("_summary", "token")]);
}

fn cs(
    system: CodeSystem,
    label: &str,
    total: usize,
    concepts: Option<&[Arc<huren_core::Concept>]>,
) -> Vec<u8> {
    let release = release(system, label);
    code_system(
        &Urls::new(BASE),
        &CodeSystemInput {
            system,
            release: &release,
            total,
            concepts,
        },
    )
}

#[test]
fn code_system_summary() {
    let bytes = cs(CodeSystem::National, "2026.1", 2, None);
    let v = json(&bytes, "CodeSystem");
    assert_eq!(
        v["meta"]["tag"][0]["code"], "SUBSETTED",
        "a summary says it is one"
    );
    assert!(v.get("concept").is_none());
    let c: FhirCodeSystem = typed(&bytes);
    assert_eq!(c.id.as_deref(), Some("national-lab"));
    assert_eq!(c.url.as_deref(), Some(NATIONAL_URL));
    assert_eq!(c.version.as_deref(), Some("2026.1"));
    assert_eq!(c.name.as_deref(), Some("NationalLab"));
    assert_eq!(
        c.title.as_deref(),
        Some("国家检验项目代码 National laboratory test codes")
    );
    assert_eq!(c.status, PublicationStatus::Active);
    assert_eq!(c.content, CodeSystemContentMode::NotPresent);
    assert_eq!(c.count, Some(2));
    assert_eq!(c.case_sensitive, Some(true));
    assert_eq!(
        c.value_set.as_deref(),
        Some("http://huren.example/fhir/ValueSet/national-lab")
    );
    let copyright = c.copyright.as_deref().unwrap();
    assert!(copyright.contains("LOINC-mapped") && copyright.ends_with(LOINC_NOTICE));

    let declared: Vec<(String, Option<String>, PropertyType)> = c
        .property
        .iter()
        .flatten()
        .map(|p| (p.code.clone(), p.uri.clone(), p.r#type))
        .collect();
    let codes: Vec<&str> = declared.iter().map(|(c, ..)| c.as_str()).collect();
    assert_eq!(
        codes,
        [
            "COMPONENT",
            "PROPERTY",
            "TIME_ASPCT",
            "SYSTEM",
            "SCALE_TYP",
            "METHOD_TYP",
            "CLASS",
            "STATUS",
            "canonical-unit",
            "molar-mass",
            "replaced-by",
            "loinc"
        ]
    );
    assert_eq!(
        declared[0].1.as_deref(),
        Some("http://loinc.org/property/COMPONENT")
    );
    assert_eq!(declared[7].2, PropertyType::Code);
    assert_eq!(
        declared[8],
        (
            "canonical-unit".into(),
            Some(format!("{NATIONAL_URL}#canonical-unit")),
            PropertyType::Coding
        )
    );
    assert_eq!(declared[9].2, PropertyType::Decimal);
}

#[test]
fn code_system_complete_page() {
    let page = [Arc::new(national_glucose()), Arc::new(national_urea())];
    let bytes = cs(CodeSystem::National, "2026.1", 2, Some(&page));
    let v = json(&bytes, "CodeSystem");
    assert!(v.get("meta").is_none());
    assert_eq!(v["content"], "complete");
    assert_eq!(
        v["concept"][0]["designation"],
        serde_json::json!([{"language": "en",
            "use": {"system": "http://snomed.info/sct", "code": "900000000000003001",
                    "display": "Fully specified name"},
            "value": "Glucose [Moles/volume] in Serum or Plasma"}])
    );
    let c: FhirCodeSystem = typed(&bytes);
    let first = c.concept[0].as_ref().unwrap();
    assert_eq!(first.code, "9000024-1");
    assert_eq!(first.display.as_deref(), Some("葡萄糖"));
    let props: Vec<(&str, &CodeSystemConceptPropertyValue)> = first
        .property
        .iter()
        .flatten()
        .map(|p| (p.code.as_str(), &p.value))
        .collect();
    assert_eq!(
        props[0],
        (
            "COMPONENT",
            &CodeSystemConceptPropertyValue::String("Glucose".into())
        )
    );
    assert!(props.contains(&(
        "STATUS",
        &CodeSystemConceptPropertyValue::Code("ACTIVE".into())
    )));
    let unit = props.iter().find(|(c, _)| *c == "canonical-unit").unwrap();
    assert!(matches!(unit.1, CodeSystemConceptPropertyValue::Coding(c)
        if c.system.as_deref() == Some("http://unitsofmeasure.org") && c.code.as_deref() == Some("mmol/L")));
    let loinc = props.iter().find(|(c, _)| *c == "loinc").unwrap();
    assert!(matches!(loinc.1, CodeSystemConceptPropertyValue::Coding(c)
        if c.system.as_deref() == Some(LOINC) && c.code.as_deref() == Some("14749-6")));
    // Every property a concept carries is declared.
    let declared: Vec<&str> = c
        .property
        .iter()
        .flatten()
        .map(|p| p.code.as_str())
        .collect();
    for concept in c.concept.iter().flatten() {
        for p in concept.property.iter().flatten() {
            assert!(declared.contains(&p.code.as_str()), "{} undeclared", p.code);
        }
    }
}

#[test]
fn loinc_code_system_fragment() {
    let page = [Arc::new(loinc_glucose())];
    let bytes = cs(CodeSystem::Loinc, "2.80", 98_000, Some(&page));
    let c: FhirCodeSystem = typed(&bytes);
    assert_eq!(c.id.as_deref(), Some("loinc"));
    assert_eq!(c.url.as_deref(), Some(LOINC));
    assert_eq!(c.name.as_deref(), Some("LOINC"));
    assert_eq!(c.content, CodeSystemContentMode::Fragment);
    assert_eq!(c.count, Some(98_000));
    assert_eq!(c.copyright.as_deref(), Some(LOINC_NOTICE));
    assert_eq!(c.value_set.as_deref(), Some("http://loinc.org/vs"));
    let declared: Vec<&str> = c
        .property
        .iter()
        .flatten()
        .map(|p| p.code.as_str())
        .collect();
    assert!(declared.contains(&"national") && !declared.contains(&"loinc"));
    let concept = c.concept[0].as_ref().unwrap();
    assert_eq!(
        concept.display.as_deref(),
        Some("Glucose [Moles/volume] in Serum or Plasma")
    );
    assert!(
        concept.designation.is_empty(),
        "LOINC has no Chinese name here"
    );
}

#[test]
fn concept_map_groups_by_loinc_code() {
    let glucose = national_glucose();
    let urea = national_urea();
    let mut glucose_b = national_glucose();
    glucose_b.code = "9000048-0".into();
    glucose_b.display_zh = "葡萄糖(干化学)".into();
    let bytes = concept_map(
        &Urls::new(BASE),
        "2026.1",
        &[
            ("14749-6", &glucose),
            ("22664-7", &urea),
            ("14749-6", &glucose_b),
        ],
    );
    let v = json(&bytes, "ConceptMap");
    assert_eq!(v["sourceUri"], "http://loinc.org/vs");
    assert_eq!(
        v["targetUri"],
        "http://huren.example/fhir/ValueSet/national-lab"
    );
    let cm: ConceptMap = typed(&bytes);
    assert_eq!(cm.id.as_deref(), Some("loinc-national-lab"));
    assert_eq!(
        cm.url.as_deref(),
        Some("http://huren.example/fhir/ConceptMap/loinc-national-lab")
    );
    assert_eq!(cm.version.as_deref(), Some("2026.1"));
    assert_eq!(cm.status, PublicationStatus::Active);
    assert_eq!(
        cm.source,
        Some(ConceptMapSource::Uri("http://loinc.org/vs".into()))
    );
    assert!(
        matches!(&cm.target, Some(ConceptMapTarget::Uri(u)) if u.ends_with("/ValueSet/national-lab"))
    );
    let group = cm.group[0].as_ref().unwrap();
    assert_eq!(group.source.as_deref(), Some(LOINC));
    assert_eq!(group.target.as_deref(), Some(NATIONAL_URL));
    let elements: Vec<Element> = group
        .element
        .iter()
        .flatten()
        .map(|e| {
            assert!(
                e.target
                    .iter()
                    .flatten()
                    .all(|t| t.equivalence == ConceptMapEquivalence::Equivalent)
            );
            (
                e.code.clone(),
                e.target
                    .iter()
                    .flatten()
                    .map(|t| (t.code.clone(), t.display.clone()))
                    .collect(),
            )
        })
        .collect();
    let s = |x: &str| Some(x.to_owned());
    assert_eq!(
        elements,
        vec![
            (
                s("14749-6"),
                vec![
                    (s("9000024-1"), s("葡萄糖")),
                    (s("9000048-0"), s("葡萄糖(干化学)"))
                ]
            ),
            (s("22664-7"), vec![(s("9000031-6"), s("尿素"))]),
        ]
    );
}

#[test]
fn search_bundle_marks_every_entry_as_a_match() {
    let national = cs(CodeSystem::National, "2026.1", 2, None);
    let loinc = cs(CodeSystem::Loinc, "2.80", 98_000, None);
    let self_link = format!("{BASE}/CodeSystem?_summary=true");
    let bytes = search_bundle(&self_link, 2, &[national, loinc]).unwrap();
    let v = json(&bytes, "Bundle");
    assert_eq!(
        v["entry"][0]["search"],
        serde_json::json!({"mode": "match"})
    );
    let b: Bundle = typed(&bytes);
    assert_eq!(b.r#type, BundleType::Searchset);
    assert_eq!(b.total, Some(2));
    let link = b.link[0].as_ref().unwrap();
    assert_eq!(
        (link.relation.as_str(), link.url.as_str()),
        ("self", self_link.as_str())
    );
    let entries: Vec<_> = b.entry.iter().flatten().collect();
    assert_eq!(entries.len(), 2);
    for e in &entries {
        assert_eq!(
            e.search.as_ref().unwrap().mode,
            Some(SearchEntryMode::Match)
        );
        assert!(matches!(e.resource, Some(Resource::CodeSystem(_))));
    }
    assert_eq!(
        entries[0].full_url.as_deref(),
        Some("http://huren.example/fhir/CodeSystem/national-lab")
    );
    assert_eq!(
        entries[1].full_url.as_deref(),
        Some("http://huren.example/fhir/CodeSystem/loinc")
    );
}

#[test]
fn search_bundle_edge_cases() {
    // Empty searchset; a relative self link gives no fullUrl base (and no error).
    let b: Bundle =
        typed(&search_bundle("http://huren.example/fhir/CodeSystem?url=x", 0, &[]).unwrap());
    assert_eq!(b.total, Some(0));
    assert!(b.entry.is_empty());
    let one = cs(CodeSystem::Loinc, "2.80", 1, None);
    let b: Bundle = typed(&search_bundle("CodeSystem?url=http://loinc.org", 1, &[one]).unwrap());
    assert_eq!(b.entry[0].as_ref().unwrap().full_url, None);

    let err = search_bundle("x", 1, &[b"{\"resourceType\":\"Nope\"}".to_vec()]).unwrap_err();
    assert!(
        matches!(err, FhirError::BundleEntry { index: 0, .. }),
        "{err}"
    );
    let err = search_bundle("x", 1, &[b"not json".to_vec()]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("bundle entry 0 is not a FHIR resource"),
        "{err}"
    );
}
