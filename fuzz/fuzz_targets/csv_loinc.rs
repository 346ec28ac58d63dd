//! A code table (LOINC's `Loinc.csv`, the Top-2000 file or the national table; the header
//! decides which): concepts or problems with their lines, never a panic.
#![no_main]

use huren_core::CodeSystem;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = huren_csv::parse_code_table(bytes, CodeSystem::Loinc);
    let _ = huren_csv::parse_code_table(bytes, CodeSystem::National);
});
