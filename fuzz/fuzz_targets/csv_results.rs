//! A results CSV as `POST /api/hospitals/{id}/results` takes it: every row a `LabResult`,
//! or every problem with its line and column, never a panic.
#![no_main]

use huren_core::result::PatientIdPolicy;
use huren_csv::{ResultsOptions, parse_results};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let policy = PatientIdPolicy {
        national_system: "urn:oid:2.16.156.10011.1.1".into(),
        national_types: vec!["NI".into()],
        hospital_system: "http://huren.example/fhir/hospital/h1/patient".into(),
    };
    let options = ResultsOptions {
        patients: &policy,
        default_offset_minutes: 480,
        result_id_system: "http://huren.example/fhir/hospital/h1/result",
    };
    let _ = parse_results(bytes, &options);
});
