//! Ports: the traits through which the outer crates store and search the registry.
//! `huren-store` implements [`RegistryStore`]; `huren-search` implements [`ConceptSearch`].

use crate::code::CodeSystem;
use crate::concept::{Concept, Release};

/// A failure of an adapter behind a port. Outcomes that are answers (an unknown code, a failed
/// validation) are values, never this error.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// The backing service failed or is unreachable.
    #[error("storage failure: {0}")]
    Backend(String),
    /// The write contradicts what is stored (e.g. a release label already used).
    #[error("{0}")]
    Conflict(String),
}

/// Durable storage of registry releases.
pub trait RegistryStore: Send + Sync {
    /// Every release of every code system, oldest first.
    fn releases(&self) -> Result<Vec<Release>, PortError>;

    /// Stores a release and all its concepts in one transaction: either everything is written
    /// or nothing is. A label already used for the same system is a [`PortError::Conflict`].
    fn insert_release(
        &self,
        system: CodeSystem,
        label: &str,
        source: &str,
        concepts: &[Concept],
    ) -> Result<Release, PortError>;

    /// All concepts of one release, ordered by code.
    fn release_concepts(&self, release_id: i64) -> Result<Vec<Concept>, PortError>;

    /// One concept of one release.
    fn concept(&self, release_id: i64, code: &str) -> Result<Option<Concept>, PortError>;
}

/// One page of free-text search results.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchPage {
    /// How many concepts matched in all.
    pub total: usize,
    /// Matched codes, best first.
    pub codes: Vec<String>,
}

/// Free-text search over the current release of each code system.
pub trait ConceptSearch: Send + Sync {
    /// Ranked search of `text` in `system`, skipping `offset` hits and returning at most
    /// `count`. Empty `text` is not a search; callers list concepts instead.
    fn search(
        &self,
        system: CodeSystem,
        text: &str,
        offset: usize,
        count: usize,
    ) -> Result<SearchPage, PortError>;
}
