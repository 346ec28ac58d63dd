//! Shared state of the HTTP layer: the current catalog (registry snapshot + search index),
//! the store behind core's port, and the canonical URLs.

use crate::ingest::ResultsConfig;
use huren_core::Registry;
use huren_core::ports::{Storage, TermSearch};
use huren_fhir::Urls;
use std::sync::{Arc, RwLock};

/// A registry snapshot and the search index built from it. Both are derived from the database
/// and replaced together, so a search never names a code the registry does not know.
pub struct Catalog {
    pub registry: Registry,
    pub search: Box<dyn TermSearch>,
}

/// What every handler can reach.
pub struct AppState {
    catalog: RwLock<Arc<Catalog>>,
    pub store: Arc<dyn Storage>,
    pub urls: Urls,
    pub capability: Vec<u8>,
    /// Whether whoever proposed a mapping is barred from approving it.
    pub two_person_rule: bool,
    /// How results are normalized.
    pub results: ResultsConfig,
}

impl AppState {
    pub fn new(
        catalog: Catalog,
        store: Arc<dyn Storage>,
        urls: Urls,
        two_person_rule: bool,
    ) -> AppState {
        let capability = huren_fhir::capability_statement(&urls, env!("CARGO_PKG_VERSION"));
        AppState {
            catalog: RwLock::new(Arc::new(catalog)),
            store,
            urls,
            capability,
            two_person_rule,
            results: ResultsConfig::default(),
        }
    }

    /// The same state with these result settings.
    pub fn with_results(mut self, results: ResultsConfig) -> AppState {
        self.results = results;
        self
    }

    /// The current catalog; cheap (one reference count).
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Swaps in a newly built catalog (after an import, or when another process changed the
    /// database). Requests in flight keep the one they started with.
    pub fn set_catalog(&self, catalog: Catalog) {
        *self
            .catalog
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(catalog);
    }
}
