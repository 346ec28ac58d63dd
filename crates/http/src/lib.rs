//! The HTTP face of huren: actix-web routes for the FHIR terminology operations and the admin
//! API, JWT authentication, and errors rendered as `OperationOutcome`.
//!
//! Architecture invariants:
//! - Handlers reach storage only through core's ports (`huren_core::ports::Storage`) and answer
//!   terminology reads from the in-memory [`Catalog`], never from SQL.
//! - Status codes are chosen in `error.rs` only.
//! - Every route but `/fhir/metadata` and `/health` requires a valid bearer token.

pub mod audit;
pub mod auth;
pub mod error;
pub mod ingest;
pub mod jobs;
pub mod mapping_import;
mod params;
pub mod quality_import;
pub mod recognition;
mod routes;
mod state;
pub mod ui;

pub use auth::{Authenticator, Principal, Role};
pub use error::ApiError;
pub use routes::{ROUTES, RouteAccess, Rule, configure};
pub use state::{AppState, Catalog, Limits, default_node_id};
