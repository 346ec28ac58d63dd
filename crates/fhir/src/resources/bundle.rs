//! The searchset `Bundle` that answers a resource search.
//!
//! It takes resources already rendered by this crate (as bytes), so that the HTTP layer can
//! cache or reuse them, and parses them back: a `Bundle` must hold typed resources.

use crate::FhirError;
use crate::wire::saturating_u32;
use fhir_model::r4b::codes::{BundleType, SearchEntryMode};
use fhir_model::r4b::resources::{Bundle, BundleEntry, BundleEntrySearch, BundleLink, Resource};

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
    let mut entries = Vec::with_capacity(resources.len());
    for (index, bytes) in resources.iter().enumerate() {
        let resource: Resource = serde_json::from_slice(bytes)
            .map_err(|source| FhirError::BundleEntry { index, source })?;
        let mut entry = BundleEntry::builder().search(
            BundleEntrySearch::builder()
                .mode(SearchEntryMode::Match)
                .build()?,
        );
        if let Some(url) = full_url(self_link, &resource) {
            entry = entry.full_url(url);
        }
        entries.push(Some(entry.resource(resource).build()?));
    }
    let bundle = Bundle::builder()
        .r#type(BundleType::Searchset)
        .total(saturating_u32(total))
        .link(vec![Some(
            BundleLink::builder()
                .relation("self".to_owned())
                .url(self_link.to_owned())
                .build()?,
        )])
        .entry(entries)
        .build()?;
    serde_json::to_vec(&Resource::from(bundle)).map_err(FhirError::Serialize)
}

/// `{base}/{type}/{id}`, where `base` is `self_link` up to its `/{type}` search path.
fn full_url(self_link: &str, resource: &Resource) -> Option<String> {
    let id = resource.as_base_resource().id().as_deref()?;
    let ty = resource.resource_type();
    let ty = ty.as_str();
    let path = self_link.split(['?', '#']).next()?.trim_end_matches('/');
    if !(path.starts_with("http://") || path.starts_with("https://")) {
        return None;
    }
    let base = path.strip_suffix(ty)?.strip_suffix('/')?;
    Some(format!("{base}/{ty}/{id}"))
}
