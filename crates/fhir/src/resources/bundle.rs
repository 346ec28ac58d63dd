//! The searchset `Bundle` that answers a resource search.
//!
//! It takes resources already rendered by this crate (as bytes), so that the HTTP layer can
//! cache or reuse them, and places them in the Bundle as they are: parsing them back into
//! fhir-model types only to serialize them again would cost time at run time, and would
//! instantiate fhir-model's deserializer here (see `huren-fhir-codec`). Each entry is checked to
//! be a JSON object naming an R4 resource type, which is all the Bundle needs to know of it.

use crate::FhirError;
use crate::wire::saturating_u32;
use fhir_model::r4b::resources::ResourceType;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The `Bundle` as written: only the elements a searchset of ours has, in the order FHIR lists
/// them.
#[derive(Serialize)]
struct SearchSet<'a> {
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    total: u32,
    link: [Link<'a>; 1],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    entry: Vec<Entry<'a>>,
}

#[derive(Serialize)]
struct Link<'a> {
    relation: &'static str,
    url: &'a str,
}

#[derive(Serialize)]
struct Entry<'a> {
    #[serde(rename = "fullUrl", skip_serializing_if = "Option::is_none")]
    full_url: Option<String>,
    resource: &'a RawValue,
    search: Search,
}

#[derive(Serialize)]
struct Search {
    mode: &'static str,
}

/// What an entry must say of itself: its type, and its id for `fullUrl`.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "resourceType", borrow)]
    resource_type: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    id: Option<std::borrow::Cow<'a, str>>,
}

/// A searchset `Bundle` with a `self` link, the total number of matches and one entry per
/// resource.
///
/// Every entry has `search.mode = match`: fhir-sdk (and other clients) skip entries without it.
/// `fullUrl` is set when `self_link` is an absolute URL ending in `/{resourceType}` (its base is
/// then known) and the resource has an id.
pub fn search_bundle(
    self_link: &str,
    total: usize,
    resources: &[Vec<u8>],
) -> Result<Vec<u8>, FhirError> {
    let mut entry = Vec::with_capacity(resources.len());
    for (index, bytes) in resources.iter().enumerate() {
        let bad = |source| FhirError::BundleEntry { index, source };
        let resource: &RawValue = serde_json::from_slice(bytes).map_err(bad)?;
        let head: Head<'_> = serde_json::from_str(resource.get()).map_err(bad)?;
        if head.resource_type.parse::<ResourceType>().is_err() {
            return Err(bad(<serde_json::Error as serde::de::Error>::custom(
                format!("unknown resourceType `{}`", head.resource_type),
            )));
        }
        entry.push(Entry {
            full_url: head
                .id
                .as_deref()
                .and_then(|id| full_url(self_link, &head.resource_type, id)),
            resource,
            search: Search { mode: "match" },
        });
    }
    let bundle = SearchSet {
        resource_type: "Bundle",
        kind: "searchset",
        total: saturating_u32(total),
        link: [Link {
            relation: "self",
            url: self_link,
        }],
        entry,
    };
    serde_json::to_vec(&bundle).map_err(FhirError::Serialize)
}

/// `{base}/{type}/{id}`, where `base` is `self_link` up to its `/{type}` search path.
fn full_url(self_link: &str, ty: &str, id: &str) -> Option<String> {
    let path = self_link.split(['?', '#']).next()?.trim_end_matches('/');
    if !(path.starts_with("http://") || path.starts_with("https://")) {
        return None;
    }
    let base = path.strip_suffix(ty)?.strip_suffix('/')?;
    Some(format!("{base}/{ty}/{id}"))
}
