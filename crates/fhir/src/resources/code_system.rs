//! The `CodeSystem` resources of the national registry and of LOINC, in summary form or with
//! one page of concepts.

use crate::FhirError;
use crate::properties::{self, Value};
use crate::urls::Urls;
use crate::wire::{coding, non_empty, render, saturating_u32};
use fhir_model::r4b::codes::{CodeSystemContentMode, PublicationStatus};
use fhir_model::r4b::resources::{
    CodeSystem as FhirCodeSystem, CodeSystemConcept, CodeSystemConceptDesignation,
    CodeSystemConceptProperty, CodeSystemConceptPropertyValue as CValue, Resource,
};
use fhir_model::r4b::types::Meta;
use huren_core::concept::Language;
use huren_core::{CodeSystem, Concept, Release};
use std::sync::Arc;

/// The notice LOINC's licence requires wherever LOINC content is distributed.
pub const LOINC_NOTICE: &str = "This material contains content from LOINC (http://loinc.org). \
    LOINC is copyright © 1995-2020, Regenstrief Institute, Inc. and the Logical Observation \
    Identifiers Names and Codes (LOINC) Committee and is available at no cost under the license \
    at http://loinc.org/license. LOINC® is a registered United States trademark of Regenstrief \
    Institute, Inc.";

const NATIONAL_COPYRIGHT_INTRO: &str = "The national laboratory test code registry \
    (国家检验项目代码) is a LOINC-mapped national code system: every national code carries the six \
    LOINC axes and, where one exists, its equivalent LOINC code.";

/// FHIR's tag for a resource that is shown in part (here: without its concepts).
const SUBSETTED_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";

/// What to put in a `CodeSystem` resource.
#[derive(Debug)]
pub struct CodeSystemInput<'a> {
    pub system: CodeSystem,
    /// The release shown; its label is the `version`.
    pub release: &'a Release,
    /// The number of concepts in the release (`count`).
    pub total: usize,
    /// `None` → summary (no `concept` element, `meta.tag` SUBSETTED); `Some(page)` → those
    /// concepts.
    pub concepts: Option<&'a [Arc<Concept>]>,
}

/// The `CodeSystem` resource of a release.
pub fn code_system(urls: &Urls, input: &CodeSystemInput<'_>) -> Vec<u8> {
    render(try_code_system(urls, input))
}

fn try_code_system(urls: &Urls, input: &CodeSystemInput<'_>) -> Result<Resource, FhirError> {
    let system = input.system;
    let (id, name, title) = match system {
        CodeSystem::National => (
            "national-lab",
            "NationalLab",
            "国家检验项目代码 National laboratory test codes",
        ),
        CodeSystem::Loinc => ("loinc", "LOINC", "LOINC"),
    };
    let copyright = match system {
        CodeSystem::National => format!("{NATIONAL_COPYRIGHT_INTRO} {LOINC_NOTICE}"),
        CodeSystem::Loinc => LOINC_NOTICE.to_owned(),
    };
    let content = match input.concepts {
        None => CodeSystemContentMode::NotPresent,
        Some(page) if page.len() >= input.total => CodeSystemContentMode::Complete,
        Some(_) => CodeSystemContentMode::Fragment,
    };
    let mut cs = FhirCodeSystem::builder()
        .id(id.to_owned())
        .url(urls.code_system(system))
        .name(name.to_owned())
        .title(title.to_owned())
        .status(PublicationStatus::Active)
        .copyright(copyright)
        .case_sensitive(true)
        .value_set(urls.value_set(system))
        .content(content)
        .count(saturating_u32(input.total))
        .property(properties::declarations(urls, system)?);
    if let Some(v) = non_empty(&input.release.label) {
        cs = cs.version(v.to_owned());
    }
    match input.concepts {
        None => {
            let tag = coding(
                SUBSETTED_SYSTEM,
                None,
                "SUBSETTED",
                "Resource encoded in summary mode",
            )?;
            cs = cs.meta(Meta::builder().tag(vec![Some(tag)]).build()?);
        }
        Some(page) => {
            let concepts = page
                .iter()
                .map(|c| concept(system, c).map(Some))
                .collect::<Result<Vec<_>, _>>()?;
            cs = cs.concept(concepts);
        }
    }
    Ok(cs.build()?.into())
}

/// One `CodeSystem.concept`: shown in the system's own language (Chinese for the national
/// registry, English for LOINC), with the other language as a designation.
fn concept(system: CodeSystem, c: &Concept) -> Result<CodeSystemConcept, FhirError> {
    let (own, other) = match system {
        CodeSystem::National => (Language::Zh, Language::En),
        CodeSystem::Loinc => (Language::En, Language::Zh),
    };
    let display = c.display(own);
    let mut b = CodeSystemConcept::builder().code(c.code.clone());
    if let Some(d) = non_empty(display) {
        b = b.display(d.to_owned());
    }
    let other_name = match other {
        Language::Zh => &c.display_zh,
        Language::En => &c.display_en,
    };
    if let Some(name) = non_empty(other_name).filter(|n| *n != display) {
        b = b.designation(vec![Some(
            CodeSystemConceptDesignation::builder()
                .language(other.tag().to_owned())
                .r#use(properties::designation_use(properties::USE_FSN)?)
                .value(name.to_owned())
                .build()?,
        )]);
    }
    let mut props = properties::intrinsic(c)?;
    if system == CodeSystem::National {
        props.extend(properties::loinc_code_only(c)?);
    }
    let props = props
        .into_iter()
        .map(|p| {
            let value = match p.value {
                Value::Code(v) => CValue::Code(v),
                Value::String(v) => CValue::String(v),
                Value::Coding(v) => CValue::Coding(v),
                Value::Decimal(v) => CValue::Decimal(v),
            };
            Ok(Some(
                CodeSystemConceptProperty::builder()
                    .code(p.code.to_owned())
                    .value(value)
                    .build()?,
            ))
        })
        .collect::<Result<Vec<_>, FhirError>>()?;
    Ok(b.property(props).build()?)
}
