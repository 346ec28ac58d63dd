//! HL7 v2 ORU^R01 in, ACK out, MLLP framing: the wire format of lab results sent by hospital
//! laboratory information systems (LIS), read into typed values that keep everything the
//! normaliser needs, with the segment each came from.
//!
//! ```text
//! bytes ──decode──▶ text ──parse_oru──▶ OruR01 ──lab_results──▶ LabResult ─▶ (huren-core)
//!   ▲                         │
//!   └─ mllp::Decoder          └─ Rejected { header, errors } ──ack──▶ ACK text ──encode──▶ bytes
//! ```
//!
//! * [`decode`]: UTF-8, or GB18030/GBK when MSH-18 says so or the bytes are not UTF-8.
//! * [`parse_oru`]: MSH, PID, OBR, OBX, SPM and NTE of an ORU^R01 (v2.3 to v2.5.1) into
//!   [`OruR01`]. Values keep the sender's text where it matters (`6.30` stays `6.30`,
//!   timestamps keep their precision); every problem is an [`Hl7Error`] naming the segment
//!   index, segment ID, field and component.
//! * [`lab_results`]: every OBX as a `huren_core::result::LabResult` (the shape the
//!   normaliser consumes), following the HL7 v2-to-FHIR mapping, with the OBX that cannot be
//!   used reported as [`Hl7Error`]s.
//! * [`ack`]: the ACK (AA/AE/AR) with one ERR segment per problem.
//! * [`mllp`]: framing and a streaming decoder for the TCP listener.
//!
//! ```
//! use huren_hl7v2::{AckCode, Value, ack, decode, parse_oru};
//!
//! let bytes = "MSH|^~\\&|LIS|HOSP|HUREN|HUREN|20240305093012+0800||ORU^R01^ORU_R01|MSG1|P|2.5.1\r\
//!              PID|1||0012345678^^^HOSP^MR||王小明||19850312|M\r\
//!              OBR|1||LAB123|CBC^血常规^L|||20240305081500+0800\r\
//!              OBX|1|NM|WBC^白细胞计数^L||6.30|10*9/L|3.5-9.5|N|||F".as_bytes();
//! let decoded = decode(bytes)?;
//! let message = parse_oru(&decoded.text)?;
//! let (_, order, obx) = message.observations().next().unwrap();
//! assert_eq!(order.filler_order_number.as_ref().unwrap().id, "LAB123");
//! assert_eq!((obx.segment, obx.code.identifier.as_str()), (4, "WBC"));
//! assert!(matches!(obx.value(), Some(Value::Numeric(n)) if n.as_str() == "6.30"));
//! assert_eq!(obx.unit(), Some("10*9/L"));
//!
//! let now = time::macros::datetime!(2024-03-05 09:30:13 +08:00);
//! let reply = ack(&message.header, AckCode::Accept, &[], "ACK1", now);
//! assert!(reply.ends_with("\rMSA|AA|MSG1\r"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Architecture invariant: no IO, no clock, no async. The caller supplies bytes, the ACK's
//! control ID and time, and decides what to store; parsing never panics, whatever the input
//! (a property test feeds it random and mangled messages).
//!
//! Architecture invariant: this crate knows HL7 v2, not lab medicine. It does not map codes,
//! convert units or interpret flags beyond what HL7 itself defines (coding system `LN` is
//! LOINC, the v2-to-FHIR ConceptMaps for OBX-8 and OBX-11); it depends on `huren-core` only,
//! for the [`LabResult`](huren_core::result::LabResult) it produces.
//!
//! # Crates used, and why
//!
//! * **`er7`** (0.1, zero dependencies) for the ER7 syntax: segments split at `\r`, `\n` or
//!   `\r\n`, delimiters read from MSH-1/MSH-2 rather than assumed, fields, repetitions,
//!   components and subcomponents, the explicit null `""`, and every escape sequence
//!   (`\F\ \S\ \R\ \E\ \T\`, `\Xhh\`; formatting sequences kept as sent) in both directions.
//!   It never fails below a usable MSH. It was chosen over `hl7-parser` 0.3, which parses with
//!   nom and silently drops every segment after the first one it cannot read (a blank line
//!   with `\n` separators is enough) and leaves escapes to the caller; over `rust-hl7` 0.5,
//!   "experimental only" by its own description, whose `query` panics on a missing segment;
//!   and over `hl7-2`, the schema/validation layer of the same family as `er7`, which is far
//!   more than reading eight segments needs. `er7` 0.2 needs Rust 1.96, so 0.1 is pinned until
//!   the toolchain moves.
//! * **`hl7-2-mllp`** (0.1, without its default `ack` feature, so zero dependencies) for MLLP:
//!   `encode`, and a `Framer` that finds frame ends, checks the 0x1C 0x0D trailer and caps the
//!   buffer. [`mllp::Decoder`] adds resynchronisation on top (see there). It was chosen over
//!   `hl7-mllp` 0.2, whose framer reports nothing about bytes outside frames, and
//!   `hl7-mllp-codec`, which is a tokio codec.
//! * **`encoding_rs`** for GB18030/GBK, as in `huren-csv`; **`time`** to check that dates
//!   exist and to write the ACK's time; **`thiserror`** for [`Hl7Error`].
//!
//! What this crate writes by hand is what no crate offers: the meaning of ORU^R01 fields,
//! value checks by OBX-2 type, HL7 timestamps at their precision, and the ACK with v2.5 ERR
//! segments.

mod ack;
mod charset;
pub mod datatypes;
mod error;
mod message;
pub mod mllp;
mod parse;
mod results;
mod timestamp;

pub use ack::{AckCode, ack};
pub use charset::{Charset, Decoded, decode, encode};
pub use datatypes::{
    CodedElement, Comparator, EntityIdentifier, HierarchicDesignator, Number, Organization,
    PatientIdentifier, Person, PersonName, SnSeparator, StructuredNumeric,
};
pub use error::{ErrorCode, Hl7Error, Location, Severity};
pub use message::{
    Delimiters, MessageHeader, MessageType, Note, Observation, OrderObservation, OruR01, Patient,
    PatientResult, Rejected, Specimen, Value, ValueType,
};
pub use parse::{parse_oru, parse_oru_bytes, read_header};
pub use results::{FILLER_ORDER_SYSTEM, PLACER_ORDER_SYSTEM, ResultOptions, lab_results};
pub use timestamp::{Precision, Timestamp, TimestampError};
