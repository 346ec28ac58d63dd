//! Measurement support shared by the benches and their accuracy tests: the evaluation of
//! mapping suggestions ([`suggest_eval`]) and the lab-result ingest fixture
//! ([`ingest_fixture`]).

pub mod ingest_fixture;
pub mod suggest_eval;
