//! A FHIR Bundle of Observations as `POST /fhir` takes it: entries as `LabResult`s, or
//! problems with their FHIRPath locations, never a panic.
#![no_main]

use huren_core::result::PatientIdPolicy;
use huren_fhir::Urls;
use huren_fhir::observation::{IngestContext, read_bundle};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(json) = std::str::from_utf8(bytes) else {
        return;
    };
    let urls = Urls::new(huren_fhir::DEFAULT_BASE);
    let policy = PatientIdPolicy {
        national_system: "urn:oid:2.16.156.10011.1.1".into(),
        national_types: vec!["NI".into()],
        hospital_system: "http://huren.example/fhir/hospital/h1/patient".into(),
    };
    let ctx = IngestContext {
        urls: &urls,
        hospital: "h1",
        patients: &policy,
    };
    let _ = read_bundle(json, &ctx);
});
