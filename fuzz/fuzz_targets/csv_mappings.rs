//! A curator's mapping CSV (any encoding, any delimiter): parsed rows or problems with their
//! lines, never a panic; the row counter used by the request limit agrees or stops cleanly.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = huren_csv::count_rows(bytes);
    let _ = huren_csv::parse_mappings(bytes);
});
