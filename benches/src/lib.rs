//! Measurement support shared by the benches and their accuracy tests: the held-out
//! evaluation of mapping suggestions ([`suggest_eval`]).

pub mod suggest_eval;
