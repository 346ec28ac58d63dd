//! Free-text search over the code registry with tantivy: the adapter behind
//! [`huren_core::ports::ConceptSearch`].
//!
//! A [`SearchIndex`] is built in RAM from a [`huren_core::Registry`] snapshot and answers
//! ranked searches in one code system at a time. Chinese text is indexed twice, as jieba words
//! (with the registry's own lab names added to jieba's dictionary) and as character bigrams;
//! English text as words and as stems; abbreviations and codes as exact terms.
//!
//! [`suggest()`] builds on the index: it proposes national concepts for a hospital's local
//! test (messy name, unit, specimen), re-ranked by unit convertibility, mass or molar
//! property, specimen and other hospitals' approved mappings.
//!
//! Architecture invariant: the index is derived data, never the source of truth. It is
//! rebuilt from each new registry snapshot (which is why building must stay fast), and it
//! never writes to disk. Each index keeps the latest search pages asked of it (an LRU of
//! `lru`, the crate tantivy already uses): the index never changes, so a kept page is exact.

mod analysis;
mod error;
mod index;
mod query;
mod suggest;

#[cfg(test)]
mod tests;

pub use error::SearchError;
pub use index::SearchIndex;
pub use suggest::{
    ABSTAIN_BELOW, Evidence, Reason, SuggestQuery, Suggestion, abstains, confidence,
    local_name_key, suggest,
};
