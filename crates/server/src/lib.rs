//! The huren application: configuration, startup (migrations, seed, catalog), the HTTP server
//! and the MLLP listener, the registry operations the command line runs, and the offline
//! normalizer (`huren normalize`). `main.rs` only parses arguments.
//!
//! This is the one crate that names concrete adapters (diesel store, tantivy search).

pub mod app;
pub mod config;
pub mod mllp;
pub mod normalize;
pub mod registry_ops;
pub mod seed;
pub mod tls;
pub mod token;

pub use app::Application;
pub use config::Settings;
