//! The `CapabilityStatement` served at `/fhir/metadata`: what this terminology server can do.
//!
//! It lists exactly what the HTTP layer routes, nothing more, because clients (fhir-sdk among
//! them) decide what to call from it.

use crate::FhirError;
use crate::urls::Urls;
use crate::wire::{non_empty, render};
use fhir_model::r4b::codes::{
    CapabilityStatementKind, FHIRVersion, PublicationStatus, ResourceType, RestfulCapabilityMode,
    SearchParamType,
};
use fhir_model::r4b::resources::{
    CapabilityStatement, CapabilityStatementImplementation, CapabilityStatementRest,
    CapabilityStatementRestResource, CapabilityStatementRestResourceInteraction,
    CapabilityStatementRestResourceOperation, CapabilityStatementRestResourceSearchParam,
    CapabilityStatementRestSecurity, CapabilityStatementSoftware, Resource,
};

/// The date the statement was last changed: part of the published contract, so it is fixed
/// here rather than taken from the clock.
const DATE: &str = "2026-11-22";

/// The standard operation definitions the server implements.
const LOOKUP: &str = "http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup";
const VALIDATE_CODE: &str = "http://hl7.org/fhir/OperationDefinition/CodeSystem-validate-code";
const EXPAND: &str = "http://hl7.org/fhir/OperationDefinition/ValueSet-expand";
const TRANSLATE: &str = "http://hl7.org/fhir/OperationDefinition/ConceptMap-translate";

const SECURITY: &str = "Every endpoint except /fhir/metadata and /health requires an \
    `Authorization: Bearer <JWT>` header. Tokens are signed with HS256 today; RS256 and ES256 \
    are planned.";

/// The server's `CapabilityStatement`.
pub fn capability_statement(urls: &Urls, software_version: &str) -> Vec<u8> {
    render(try_capability_statement(urls, software_version))
}

fn try_capability_statement(urls: &Urls, software_version: &str) -> Result<Resource, FhirError> {
    let date = DATE
        .parse::<fhir_model::DateTime>()
        .map_err(|e| FhirError::DateTime {
            value: DATE.to_owned(),
            message: e.to_string(),
        })?;
    let mut software = CapabilityStatementSoftware::builder().name("huren".to_owned());
    if let Some(v) = non_empty(software_version) {
        software = software.version(v.to_owned());
    }
    let code_system = CapabilityStatementRestResource::builder()
        .r#type(ResourceType::CodeSystem)
        .interaction(vec![interaction("read")?, interaction("search-type")?])
        .search_param(vec![
            search_param(
                "url",
                SearchParamType::Uri,
                Some("http://hl7.org/fhir/SearchParameter/CodeSystem-url"),
                "The canonical URL of the code system",
            )?,
            search_param(
                "_summary",
                SearchParamType::Token,
                None,
                "`true` leaves out the concepts",
            )?,
        ])
        .operation(vec![
            operation("lookup", LOOKUP)?,
            operation("validate-code", VALIDATE_CODE)?,
        ])
        .build()?;
    let value_set = CapabilityStatementRestResource::builder()
        .r#type(ResourceType::ValueSet)
        .operation(vec![operation("expand", EXPAND)?])
        .build()?;
    let concept_map = CapabilityStatementRestResource::builder()
        .r#type(ResourceType::ConceptMap)
        .operation(vec![operation("translate", TRANSLATE)?])
        .build()?;
    let rest = CapabilityStatementRest::builder()
        .mode(RestfulCapabilityMode::Server)
        .security(
            CapabilityStatementRestSecurity::builder()
                .description(SECURITY.to_owned())
                .build()?,
        )
        .resource(vec![Some(code_system), Some(value_set), Some(concept_map)])
        .build()?;
    let cap = CapabilityStatement::builder()
        .name("HurenTerminologyServer".to_owned())
        .status(PublicationStatus::Active)
        .date(date)
        .kind(CapabilityStatementKind::Instance)
        .software(software.build()?)
        .implementation(
            CapabilityStatementImplementation::builder()
                .description(
                    "huren: the national laboratory test code registry (国家检验项目代码), \
                     cross-referenced to LOINC"
                        .to_owned(),
                )
                .url(urls.base.clone())
                .build()?,
        )
        .fhir_version(FHIRVersion::N401)
        // Both application/fhir+json and application/json are accepted; "json" covers both.
        .format(vec![Some("json".to_owned())])
        .rest(vec![Some(rest)])
        .build()?;
    Ok(cap.into())
}

fn interaction(
    code: &str,
) -> Result<Option<CapabilityStatementRestResourceInteraction>, FhirError> {
    Ok(Some(
        CapabilityStatementRestResourceInteraction::builder()
            .code(code.to_owned())
            .build()?,
    ))
}

fn search_param(
    name: &str,
    ty: SearchParamType,
    definition: Option<&str>,
    documentation: &str,
) -> Result<Option<CapabilityStatementRestResourceSearchParam>, FhirError> {
    let mut b = CapabilityStatementRestResourceSearchParam::builder()
        .name(name.to_owned())
        .r#type(ty)
        .documentation(documentation.to_owned());
    if let Some(d) = definition {
        b = b.definition(d.to_owned());
    }
    Ok(Some(b.build()?))
}

fn operation(
    name: &str,
    definition: &str,
) -> Result<Option<CapabilityStatementRestResourceOperation>, FhirError> {
    Ok(Some(
        CapabilityStatementRestResourceOperation::builder()
            .name(name.to_owned())
            .definition(definition.to_owned())
            .build()?,
    ))
}
