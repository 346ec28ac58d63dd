//! An ORU^R01 as the HTTP route and the MLLP listener take it: bytes → charset → parse →
//! one `LabResult` per OBX → the ACK. Nothing may panic, and the ACK must be built for every
//! message, accepted or not.
#![no_main]

use huren_core::result::PatientIdPolicy;
use huren_hl7v2::{AckCode, ResultOptions, ack, lab_results, parse_oru_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let policy = PatientIdPolicy {
        national_system: "urn:oid:2.16.156.10011.1.1".into(),
        national_types: vec!["NI".into(), "NNCHN".into()],
        hospital_system: "http://huren.example/fhir/hospital/h1/patient".into(),
    };
    let time = time::OffsetDateTime::UNIX_EPOCH;
    match parse_oru_bytes(bytes) {
        Ok(message) => {
            let options = ResultOptions {
                patients: &policy,
                default_offset_minutes: 480,
            };
            let (_results, problems) = lab_results(&message, &options);
            let code = if problems.is_empty() {
                AckCode::Accept
            } else {
                AckCode::Error
            };
            ack(&message.header, code, &problems, "ACK1", time);
        }
        Err(rejected) => {
            assert!(!rejected.errors.is_empty(), "a rejection names its problems");
            if let Some(header) = &rejected.header {
                ack(header, AckCode::Reject, &rejected.errors, "ACK1", time);
            }
        }
    }
});
