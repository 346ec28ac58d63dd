//! Shared state of the HTTP layer: the current catalog (registry snapshot + search index),
//! the store behind core's port, and the canonical URLs.

use crate::ingest::ResultsConfig;
use actix_web::web::Bytes;
use huren_core::Registry;
use huren_core::ports::{Storage, TermSearch};
use huren_fhir::Urls;
use std::sync::{Arc, RwLock};

/// A registry snapshot and the search index built from it. Both are derived from the database
/// and replaced together, so a search never names a code the registry does not know.
pub struct Catalog {
    pub registry: Registry,
    pub search: Box<dyn TermSearch>,
    /// `$lookup` answers of this snapshot's current releases, as sent ([`AnswerCache`]).
    pub(crate) lookups: AnswerCache,
}

impl Catalog {
    pub fn new(registry: Registry, search: Box<dyn TermSearch>) -> Catalog {
        Catalog {
            registry,
            search,
            lookups: AnswerCache::new(LOOKUP_ANSWERS),
        }
    }
}

/// How many `$lookup` answers a catalog keeps (a national concept's answer is about 5 kB).
const LOOKUP_ANSWERS: usize = 2048;

/// The key of a kept answer: code system, code, display language.
pub(crate) type AnswerKey = (huren_core::CodeSystem, String, &'static str);

/// The latest answers of one kind, exactly as sent, for one catalog.
///
/// Why: a `$lookup` of a national concept is some 40 parameters (5 kB of JSON) built and
/// escaped for every request, while its content changes only with the catalog, which is
/// immutable; the cache lives and dies with it, so a kept answer is always the one the
/// catalog would build (issue 20). `lru` is the crate tantivy already builds.
pub(crate) struct AnswerCache(std::sync::Mutex<lru::LruCache<AnswerKey, Bytes>>);

impl AnswerCache {
    fn new(size: usize) -> AnswerCache {
        let size = std::num::NonZeroUsize::new(size).unwrap_or(std::num::NonZeroUsize::MIN);
        AnswerCache(std::sync::Mutex::new(lru::LruCache::new(size)))
    }

    pub(crate) fn get(&self, key: &AnswerKey) -> Option<Bytes> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    pub(crate) fn put(&self, key: AnswerKey, answer: Bytes) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .put(key, answer);
    }
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
    /// How much one request may carry.
    pub limits: Limits,
    /// Writes the audit records of reads and refused requests (group commit).
    pub audit: crate::audit::AuditWriter,
    /// This node's name in the job table's claims (`huren serve --node-id`).
    pub node: String,
}

/// How much one request may carry: beyond these, a 413 with an `OperationOutcome` saying which
/// limit and how to stay under it. Configuration (`huren serve --max-…`), not rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of one request body (default 10 MiB).
    pub max_body_bytes: usize,
    /// Entries of one FHIR Bundle (default 10,000).
    pub max_bundle_entries: usize,
    /// Data rows of one uploaded CSV file (default 200,000: a whole hospital's mapping table
    /// with room to spare).
    pub max_csv_rows: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body_bytes: 10 * 1024 * 1024,
            max_bundle_entries: 10_000,
            max_csv_rows: 200_000,
        }
    }
}

impl Limits {
    /// A 413 unless a file of `rows` data rows is within [`Limits::max_csv_rows`].
    pub fn check_csv_rows(&self, rows: usize) -> Result<(), crate::error::ApiError> {
        if rows > self.max_csv_rows {
            return Err(crate::error::ApiError::TooLarge(format!(
                "the file has {rows} rows; at most {} are taken in one request: split it",
                self.max_csv_rows
            )));
        }
        Ok(())
    }

    /// A 413 unless a Bundle of `entries` entries is within [`Limits::max_bundle_entries`].
    pub fn check_bundle_entries(&self, entries: usize) -> Result<(), crate::error::ApiError> {
        if entries > self.max_bundle_entries {
            return Err(crate::error::ApiError::TooLarge(format!(
                "the Bundle has {entries} entries; at most {} are taken in one request: split it",
                self.max_bundle_entries
            )));
        }
        Ok(())
    }
}

/// A node name unique on the machine and across machines: the host name and the process id
/// (and a count, for a second server in one process, as in the tests).
pub fn default_node_id() -> String {
    static SERVERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SERVERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "huren".to_owned());
    match n {
        0 => format!("{host}:{}", std::process::id()),
        n => format!("{host}:{}#{n}", std::process::id()),
    }
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
            audit: crate::audit::AuditWriter::start(store.clone()),
            store,
            urls,
            capability,
            two_person_rule,
            results: ResultsConfig::default(),
            limits: Limits::default(),
            node: default_node_id(),
        }
    }

    /// The same state, claiming jobs as `node`.
    pub fn with_node(mut self, node: String) -> AppState {
        self.node = node;
        self
    }

    /// The same state with these request limits.
    pub fn with_limits(mut self, limits: Limits) -> AppState {
        self.limits = limits;
        self
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
