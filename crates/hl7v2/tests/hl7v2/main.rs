//! Integration tests of huren-hl7v2: realistic Chinese LIS messages from `tests/data`, ACKs
//! for them, MLLP streams carrying them, and properties over generated and garbled input.

mod ack;
mod messages;
mod mllp;
mod properties;
mod results;

use huren_hl7v2::{OruR01, parse_oru_bytes};
use std::path::Path;

/// The bytes of `tests/data/{name}`.
pub fn data(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `tests/data/{name}`, decoded and parsed; panics with every problem if it does not parse.
pub fn parse(name: &str) -> OruR01 {
    parse_oru_bytes(&data(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}
