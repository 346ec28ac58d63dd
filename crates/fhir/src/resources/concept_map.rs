//! The `ConceptMap` from LOINC to the national registry: the cross-reference as one resource.

use crate::FhirError;
use crate::urls::Urls;
use crate::wire::{non_empty, render};
use fhir_model::r4b::codes::{ConceptMapEquivalence, PublicationStatus};
use fhir_model::r4b::resources::{
    ConceptMap, ConceptMapGroup, ConceptMapGroupElement, ConceptMapGroupElementTarget,
    ConceptMapSource, ConceptMapTarget, Resource,
};
use huren_core::code::LOINC_URL;
use huren_core::{CodeSystem, Concept, Equivalence};

/// The `ConceptMap` LOINC → national from `(loinc code, national concept)` pairs.
///
/// Pairs that share a LOINC code become one element with several targets (in the order given),
/// because a ConceptMap element stands for one source code.
pub fn concept_map(urls: &Urls, national_version: &str, pairs: &[(&str, &Concept)]) -> Vec<u8> {
    render(try_concept_map(urls, national_version, pairs))
}

fn try_concept_map(
    urls: &Urls,
    national_version: &str,
    pairs: &[(&str, &Concept)],
) -> Result<Resource, FhirError> {
    // Grouped by LOINC code in order of first appearance, so the output order follows the input.
    let mut by_loinc: Vec<(&str, Vec<&Concept>)> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for &(loinc, national) in pairs {
        match index.get(loinc) {
            Some(&i) => by_loinc[i].1.push(national),
            None => {
                index.insert(loinc, by_loinc.len());
                by_loinc.push((loinc, vec![national]));
            }
        }
    }
    let elements = by_loinc
        .into_iter()
        .map(|(loinc, targets)| {
            let targets = targets
                .into_iter()
                .map(|n| {
                    let mut t = ConceptMapGroupElementTarget::builder()
                        .code(n.code.clone())
                        .equivalence(ConceptMapEquivalence::Equivalent);
                    if let Some(d) = non_empty(&n.display_zh) {
                        t = t.display(d.to_owned());
                    }
                    Ok(Some(t.build()?))
                })
                .collect::<Result<Vec<_>, FhirError>>()?;
            Ok(Some(
                ConceptMapGroupElement::builder()
                    .code(loinc.to_owned())
                    .target(targets)
                    .build()?,
            ))
        })
        .collect::<Result<Vec<_>, FhirError>>()?;
    let mut group = ConceptMapGroup::builder()
        .source(LOINC_URL.to_owned())
        .target(urls.code_system(CodeSystem::National))
        .element(elements);
    if let Some(v) = non_empty(national_version) {
        group = group.target_version(v.to_owned());
    }
    let mut cm = ConceptMap::builder()
        .id("loinc-national-lab".to_owned())
        .url(urls.concept_map())
        .name("LoincToNationalLab".to_owned())
        .title("LOINC → 国家检验项目代码 National laboratory test codes".to_owned())
        .status(PublicationStatus::Active)
        .source(ConceptMapSource::Uri(urls.value_set(CodeSystem::Loinc)))
        .target(ConceptMapTarget::Uri(urls.value_set(CodeSystem::National)))
        .group(vec![Some(group.build()?)]);
    if let Some(v) = non_empty(national_version) {
        cm = cm.version(v.to_owned());
    }
    Ok(cm.build()?.into())
}

/// One element of a hospital's map: a local code and its national target.
#[derive(Debug, Clone)]
pub struct LocalMapElement<'a> {
    pub local_code: &'a str,
    pub local_name: &'a str,
    pub national_code: &'a str,
    pub national_display: &'a str,
    pub equivalence: Equivalence,
}

/// A hospital's `ConceptMap` from its local code system to the national registry.
pub fn hospital_concept_map(
    urls: &Urls,
    hospital: &str,
    hospital_name: &str,
    national_version: &str,
    elements: &[LocalMapElement<'_>],
) -> Vec<u8> {
    render(try_hospital_concept_map(
        urls,
        hospital,
        hospital_name,
        national_version,
        elements,
    ))
}

fn try_hospital_concept_map(
    urls: &Urls,
    hospital: &str,
    hospital_name: &str,
    national_version: &str,
    elements: &[LocalMapElement<'_>],
) -> Result<Resource, FhirError> {
    let elements = elements
        .iter()
        .map(|e| {
            let equivalence = equivalence(e.equivalence);
            let mut t = ConceptMapGroupElementTarget::builder()
                .code(e.national_code.to_owned())
                .equivalence(equivalence);
            if let Some(d) = non_empty(e.national_display) {
                t = t.display(d.to_owned());
            }
            let mut el = ConceptMapGroupElement::builder()
                .code(e.local_code.to_owned())
                .target(vec![Some(t.build()?)]);
            if let Some(d) = non_empty(e.local_name) {
                el = el.display(d.to_owned());
            }
            Ok(Some(el.build()?))
        })
        .collect::<Result<Vec<_>, FhirError>>()?;
    let mut group = ConceptMapGroup::builder()
        .source(urls.local_code_system(hospital))
        .target(urls.code_system(CodeSystem::National))
        .element(elements);
    if let Some(v) = non_empty(national_version) {
        group = group.target_version(v.to_owned());
    }
    let title = format!("{hospital_name} 本地检验项目 → 国家检验项目代码 (local → national)");
    let cm = ConceptMap::builder()
        .id(hospital.to_owned())
        .url(urls.hospital_concept_map(hospital))
        .name(format!("Local{}ToNationalLab", hospital.replace('-', "_")))
        .title(title)
        .status(PublicationStatus::Active)
        .source(ConceptMapSource::Uri(format!(
            "{}?fhir_vs",
            urls.local_code_system(hospital)
        )))
        .target(ConceptMapTarget::Uri(urls.value_set(CodeSystem::National)))
        .group(vec![Some(group.build()?)]);
    Ok(cm.build()?.into())
}

fn equivalence(e: Equivalence) -> ConceptMapEquivalence {
    match e {
        Equivalence::Equivalent => ConceptMapEquivalence::Equivalent,
        Equivalence::Wider => ConceptMapEquivalence::Wider,
        Equivalence::Narrower => ConceptMapEquivalence::Narrower,
        Equivalence::Inexact => ConceptMapEquivalence::Inexact,
    }
}
