//! The concept properties the service publishes, in one place: their codes, types and URIs
//! (declared by the `CodeSystem` resource) and their values for a concept (sent by `$lookup`
//! and in `CodeSystem.concept`). Keeping both here is what guarantees that every property a
//! lookup returns is declared by its code system.

use crate::FhirError;
use crate::urls::Urls;
use crate::wire::{coding, non_empty};
use fhir_model::r4b::codes::PropertyType;
use fhir_model::r4b::resources::CodeSystemProperty;
use fhir_model::r4b::types::Coding;
use huren_core::code::LOINC_URL;
use huren_core::{CodeSystem, Concept};

/// UCUM's canonical URL, the system of `canonical-unit`.
pub(crate) const UCUM_URL: &str = "http://unitsofmeasure.org";

/// SNOMED CT, whose designation-use codes FHIR recommends.
pub(crate) const SNOMED_URL: &str = "http://snomed.info/sct";
/// SNOMED CT 900000000000003001: for the display names.
pub(crate) const USE_FSN: (&str, &str) = ("900000000000003001", "Fully specified name");
/// SNOMED CT 900000000000013009: for synonyms, abbreviations and the short name.
pub(crate) const USE_SYNONYM: (&str, &str) = ("900000000000013009", "Synonym");

/// A property value, in the types `$lookup` and `CodeSystem.concept.property` share.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Code(String),
    String(String),
    Coding(Coding),
    Decimal(f64),
}

/// One property of one concept.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Property {
    pub code: &'static str,
    pub value: Value,
}

/// Where a property is defined: LOINC's own properties keep LOINC's URIs, so that a client that
/// knows LOINC recognizes them; the ones this service adds are defined under its base.
enum Origin {
    Loinc,
    Huren,
}

/// Every property code the service can emit, with its type, origin and meaning.
const DECLARED: [(&str, PropertyType, Origin, &str); 13] = [
    (
        "COMPONENT",
        PropertyType::String,
        Origin::Loinc,
        "First axis: the analyte measured",
    ),
    (
        "PROPERTY",
        PropertyType::String,
        Origin::Loinc,
        "Second axis: the kind of quantity",
    ),
    (
        "TIME_ASPCT",
        PropertyType::String,
        Origin::Loinc,
        "Third axis: point in time or interval",
    ),
    (
        "SYSTEM",
        PropertyType::String,
        Origin::Loinc,
        "Fourth axis: the specimen or system",
    ),
    (
        "SCALE_TYP",
        PropertyType::String,
        Origin::Loinc,
        "Fifth axis: the scale of the result",
    ),
    (
        "METHOD_TYP",
        PropertyType::String,
        Origin::Loinc,
        "Sixth axis: the method, when it matters",
    ),
    (
        "CLASS",
        PropertyType::String,
        Origin::Loinc,
        "The LOINC class of the test",
    ),
    (
        "STATUS",
        PropertyType::Code,
        Origin::Loinc,
        "ACTIVE, TRIAL, DISCOURAGED or DEPRECATED",
    ),
    (
        "canonical-unit",
        PropertyType::Coding,
        Origin::Huren,
        "The canonical UCUM unit of results",
    ),
    (
        "molar-mass",
        PropertyType::Decimal,
        Origin::Huren,
        "Molar mass of the analyte in g/mol",
    ),
    (
        "replaced-by",
        PropertyType::Code,
        Origin::Huren,
        "The code that replaces a deprecated one",
    ),
    (
        "loinc",
        PropertyType::Coding,
        Origin::Huren,
        "The equivalent LOINC concept",
    ),
    (
        "national",
        PropertyType::Coding,
        Origin::Huren,
        "An equivalent national concept",
    ),
];

/// The property declarations of a code system's `CodeSystem` resource. The national system
/// declares `loinc` (its cross-reference); LOINC declares `national` instead.
pub(crate) fn declarations(
    urls: &Urls,
    system: CodeSystem,
) -> Result<Vec<Option<CodeSystemProperty>>, FhirError> {
    let national_url = urls.code_system(CodeSystem::National);
    let skip = match system {
        CodeSystem::National => "national",
        CodeSystem::Loinc => "loinc",
    };
    DECLARED
        .iter()
        .filter(|(code, ..)| *code != skip)
        .map(|(code, ty, origin, description)| {
            let uri = match origin {
                Origin::Loinc => format!("{LOINC_URL}/property/{code}"),
                Origin::Huren => format!("{national_url}#{code}"),
            };
            Ok(Some(
                CodeSystemProperty::builder()
                    .code((*code).to_owned())
                    .uri(uri)
                    .description((*description).to_owned())
                    .r#type(*ty)
                    .build()?,
            ))
        })
        .collect()
}

/// The properties a concept carries by itself: its axes, class, status, unit, molar mass and
/// replacement. Empty values are left out (FHIR forbids empty strings).
pub(crate) fn intrinsic(concept: &Concept) -> Result<Vec<Property>, FhirError> {
    let mut out = Vec::with_capacity(11);
    let string = |code, v: &str| {
        non_empty(v).map(|v| Property {
            code,
            value: Value::String(v.to_owned()),
        })
    };
    if let Some(axes) = &concept.axes {
        out.extend(axes.named().into_iter().filter_map(|(c, v)| string(c, v)));
    }
    out.extend(string("CLASS", &concept.class));
    out.push(Property {
        code: "STATUS",
        value: Value::Code(concept.status.as_str().to_owned()),
    });
    if let Some(unit) = non_empty(&concept.ucum_unit) {
        out.push(Property {
            code: "canonical-unit",
            value: Value::Coding(coding(UCUM_URL, None, unit, "")?),
        });
    }
    // A non-finite f64 would serialize as JSON `null`, which is not a FHIR decimal.
    if let Some(m) = concept.molar_mass.filter(|m| m.is_finite()) {
        out.push(Property {
            code: "molar-mass",
            value: Value::Decimal(m),
        });
    }
    if let Some(r) = non_empty(&concept.replaced_by) {
        out.push(Property {
            code: "replaced-by",
            value: Value::Code(r.to_owned()),
        });
    }
    Ok(out)
}

/// The cross-reference from a concept of `system` to an equivalent concept of the other system:
/// `loinc` on a national concept, `national` on a LOINC concept. Each side is shown by the name
/// its own community reads: the LOINC long common name, the Chinese national display.
pub(crate) fn equivalent(
    urls: &Urls,
    system: CodeSystem,
    other: &Concept,
) -> Result<Property, FhirError> {
    Ok(match system {
        CodeSystem::National => Property {
            code: "loinc",
            value: Value::Coding(coding(LOINC_URL, None, &other.code, &other.display_en)?),
        },
        CodeSystem::Loinc => Property {
            code: "national",
            value: Value::Coding(coding(
                &urls.code_system(CodeSystem::National),
                None,
                &other.code,
                &other.display_zh,
            )?),
        },
    })
}

/// The `loinc` property from a national concept's own `loinc` field, for when the LOINC concept
/// itself is not at hand (its release not loaded, or a page of `CodeSystem.concept`).
pub(crate) fn loinc_code_only(concept: &Concept) -> Result<Option<Property>, FhirError> {
    non_empty(&concept.loinc)
        .map(|code| {
            Ok(Property {
                code: "loinc",
                value: Value::Coding(coding(LOINC_URL, None, code, "")?),
            })
        })
        .transpose()
}

/// A designation-use coding (SNOMED CT).
pub(crate) fn designation_use((code, display): (&str, &str)) -> Result<Coding, FhirError> {
    coding(SNOMED_URL, None, code, display)
}
