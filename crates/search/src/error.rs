//! The crate's one error type.

/// A failure to build or query the search index. Searches that find nothing are not errors;
/// they are empty pages.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// tantivy failed (schema, writer, reader or collector).
    #[error("search index failure: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// An analyzer the schema names is not registered on the index; a bug of this crate.
    #[error("analyzer `{0}` is not registered on the search index")]
    MissingAnalyzer(&'static str),
}
