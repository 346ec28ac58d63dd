//! Errors as values: every problem says where it is (segment index, segment ID, field,
//! component) and what is wrong, and knows its HL7 table 0357 code and severity so that the
//! ACK can carry it back to the sender in an ERR segment.

use std::fmt;

/// Where in a message a problem is: the 1-based segment index in the message (MSH is 1), the
/// segment ID, and optionally the field, repetition and component.
///
/// It prints as `segment 5 (OBX), field 5, component 2`, and becomes the ERR-2 error location
/// (`OBX^2^5^1^2`) in an ACK.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// 1-based position of the segment in the message; MSH is 1. Blank lines are not segments.
    pub segment_index: usize,
    /// The segment ID, e.g. `OBX`.
    pub segment: String,
    /// 1-based occurrence of this segment ID in the message (the second OBX is 2). HL7 puts this
    /// number, not the position in the message, into ERL-2 "segment sequence".
    pub occurrence: usize,
    /// 1-based field number (MSH-1 is the field separator itself, as in HL7).
    pub field: Option<u32>,
    /// 1-based repetition of the field, when the problem is in a repetition other than the first.
    pub repetition: Option<u32>,
    /// 1-based component number.
    pub component: Option<u32>,
}

impl Location {
    /// The location of a whole segment.
    pub fn segment(segment_index: usize, segment: &str, occurrence: usize) -> Self {
        Self {
            segment_index,
            segment: segment.to_owned(),
            occurrence,
            field: None,
            repetition: None,
            component: None,
        }
    }

    /// The same segment, narrowed to `field`.
    #[must_use]
    pub fn field(mut self, field: usize) -> Self {
        self.field = Some(small(field));
        self
    }

    /// The same field, narrowed to repetition `repetition` (1-based).
    #[must_use]
    pub fn repetition(mut self, repetition: usize) -> Self {
        self.repetition = Some(small(repetition));
        self
    }

    /// The same field, narrowed to `component`.
    #[must_use]
    pub fn component(mut self, component: usize) -> Self {
        self.component = Some(small(component));
        self
    }

    /// The HL7 v2.5 ERL data type: segment ID ^ segment sequence ^ field position ^ field
    /// repetition ^ component number, empty positions trimmed. `component` is the message's
    /// component separator.
    pub fn to_erl(&self, component: char) -> String {
        let mut parts = vec![self.segment.clone(), self.occurrence.to_string()];
        if let Some(field) = self.field {
            parts.push(field.to_string());
            parts.push(self.repetition.unwrap_or(1).to_string());
            if let Some(c) = self.component {
                parts.push(c.to_string());
            }
        }
        parts.join(&component.to_string())
    }
}

/// Field, repetition and component numbers are small; `u32` keeps [`Hl7Error`] small.
fn small(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "segment {} ({})", self.segment_index, self.segment)?;
        if let Some(field) = self.field {
            write!(f, ", field {field}")?;
            if let Some(r) = self.repetition.filter(|&r| r > 1) {
                write!(f, ", repetition {r}")?;
            }
            if let Some(c) = self.component {
                write!(f, ", component {c}")?;
            }
        }
        Ok(())
    }
}

/// HL7 table 0357 "message error condition codes", the ERR-3 code of an ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 100: a segment is missing, out of order, or not expected.
    SegmentSequence,
    /// 101: a required field is missing.
    RequiredFieldMissing,
    /// 102: a value does not match its data type.
    DataType,
    /// 103: a value is not in the HL7 or local table it should come from.
    TableValueNotFound,
    /// 200: the message type is not supported.
    UnsupportedMessageType,
    /// 201: the trigger event is not supported.
    UnsupportedEventCode,
    /// 202: the processing ID is not supported.
    UnsupportedProcessingId,
    /// 203: the version ID is not supported.
    UnsupportedVersionId,
    /// 204: a key identifier (e.g. a patient or order) is unknown.
    UnknownKeyIdentifier,
    /// 205: a key identifier is a duplicate.
    DuplicateKeyIdentifier,
    /// 206: the record is locked by the application.
    ApplicationRecordLocked,
    /// 207: the receiver failed for a reason of its own.
    ApplicationInternalError,
}

impl ErrorCode {
    /// The numeric code, e.g. 101.
    pub fn code(self) -> u16 {
        match self {
            Self::SegmentSequence => 100,
            Self::RequiredFieldMissing => 101,
            Self::DataType => 102,
            Self::TableValueNotFound => 103,
            Self::UnsupportedMessageType => 200,
            Self::UnsupportedEventCode => 201,
            Self::UnsupportedProcessingId => 202,
            Self::UnsupportedVersionId => 203,
            Self::UnknownKeyIdentifier => 204,
            Self::DuplicateKeyIdentifier => 205,
            Self::ApplicationRecordLocked => 206,
            Self::ApplicationInternalError => 207,
        }
    }

    /// The table's display text, e.g. "Required field missing".
    pub fn text(self) -> &'static str {
        match self {
            Self::SegmentSequence => "Segment sequence error",
            Self::RequiredFieldMissing => "Required field missing",
            Self::DataType => "Data type error",
            Self::TableValueNotFound => "Table value not found",
            Self::UnsupportedMessageType => "Unsupported message type",
            Self::UnsupportedEventCode => "Unsupported event code",
            Self::UnsupportedProcessingId => "Unsupported processing id",
            Self::UnsupportedVersionId => "Unsupported version id",
            Self::UnknownKeyIdentifier => "Unknown key identifier",
            Self::DuplicateKeyIdentifier => "Duplicate key identifier",
            Self::ApplicationRecordLocked => "Application record locked",
            Self::ApplicationInternalError => "Application internal error",
        }
    }
}

/// HL7 table 0516 "error severity", ERR-4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// `E`: the message (or part of it) was not processed.
    Error,
    /// `W`: processed, but the sender should look at this.
    Warning,
    /// `I`: for information only.
    Information,
}

impl Severity {
    /// The one-letter code: `E`, `W` or `I`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Error => "E",
            Self::Warning => "W",
            Self::Information => "I",
        }
    }
}

/// Everything that can be wrong with an HL7 v2 message or its MLLP stream.
///
/// Parsing never stops at the first problem in the body: it returns every problem it finds
/// (see [`crate::Rejected`]). Only problems that make the rest unreadable (no MSH, not an
/// ORU^R01) stop it early.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Hl7Error {
    /// The text does not start with an MSH segment with usable delimiters.
    #[error("not an HL7 v2 message: {reason}")]
    NotHl7 { reason: String },

    /// The bytes are not text in the declared character set, nor in UTF-8 or GB18030.
    #[error(
        "the message is not valid {} text (invalid bytes at offset {offset})",
        .declared.as_deref().unwrap_or("UTF-8 or GB18030")
    )]
    Encoding {
        /// MSH-18 as sent, if any.
        declared: Option<String>,
        /// Byte offset of the first byte that does not decode.
        offset: usize,
    },

    /// MSH-9 names another message type; `found` is MSH-9 as sent.
    #[error("{at}: message type is {found:?}, expected ORU^R01")]
    WrongMessageType { at: Location, found: String },

    /// MSH-12 is a version this crate does not read (before 2.3, or not a version at all).
    #[error("{at}: version {found:?} is not supported (2.3 or later)")]
    UnsupportedVersion { at: Location, found: String },

    /// A field that must be valued is empty or absent; `name` says which, e.g. `MSH-10`.
    #[error("{at}: required field {name} is missing")]
    MissingField { at: Location, name: &'static str },

    /// A segment where the ORU^R01 structure does not allow it (an OBX before any OBR).
    #[error("{at}: {problem}")]
    SegmentSequence { at: Location, problem: &'static str },

    /// The message has no OBX segment at all.
    #[error("the ORU^R01 message has no OBX segment")]
    NoObservations,

    /// A value of type NM (or a numeric component) that is not a decimal number.
    #[error("{at}: {value:?} is not a number")]
    NotANumber { at: Location, value: String },

    /// An SN (structured numeric) value that does not follow comparator^num1^separator^num2.
    #[error("{at}: {value:?} is not a structured numeric (SN): {reason}")]
    BadStructuredNumeric {
        at: Location,
        value: String,
        reason: String,
    },

    /// A date/time that is not `YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]`, or not a real date.
    #[error("{at}: {value:?} is not an HL7 timestamp: {reason}")]
    BadTimestamp {
        at: Location,
        value: String,
        reason: String,
    },

    /// A value that should come from an HL7 table and does not, e.g. OBX-2 `XYZ`.
    #[error("{at}: {value:?} is not a code of HL7 table {table}")]
    UnknownCode {
        at: Location,
        value: String,
        table: &'static str,
    },

    /// Any other value that does not fit its data type; `expected` says what was expected.
    #[error("{at}: {value:?} is not {expected}")]
    InvalidValue {
        at: Location,
        value: String,
        expected: &'static str,
    },

    /// A problem found by the application after parsing (an unmapped code, a duplicate result),
    /// made here so it travels back in the same ACK as parsing problems.
    #[error("{}{text}", application_prefix(.at.as_ref()))]
    Application {
        at: Option<Location>,
        code: ErrorCode,
        severity: Severity,
        text: String,
    },

    /// Bytes that arrived outside any MLLP frame (before a 0x0B start block).
    #[error("{len} byte(s) outside any MLLP frame at stream offset {offset}")]
    MllpGarbage { offset: u64, len: usize },

    /// An MLLP frame that was opened (0x0B) but never closed (0x1C 0x0D) before the stream
    /// ended or another frame started.
    #[error("the MLLP frame starting at stream offset {offset} is truncated after {len} byte(s)")]
    MllpTruncated { offset: u64, len: usize },

    /// An MLLP end block (0x1C) not followed by a carriage return.
    #[error("the MLLP frame starting at stream offset {offset} ends without 0x1C 0x0D")]
    MllpNoCarriageReturn { offset: u64 },

    /// An MLLP frame longer than the decoder's limit; the frame was dropped.
    #[error("the MLLP frame starting at stream offset {offset} exceeds the {limit}-byte limit")]
    MllpTooLarge { offset: u64, limit: usize },
}

fn application_prefix(at: Option<&Location>) -> String {
    at.map(|at| format!("{at}: ")).unwrap_or_default()
}

impl Hl7Error {
    /// Where the problem is, when it is inside a message.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Self::WrongMessageType { at, .. }
            | Self::UnsupportedVersion { at, .. }
            | Self::MissingField { at, .. }
            | Self::SegmentSequence { at, .. }
            | Self::NotANumber { at, .. }
            | Self::BadStructuredNumeric { at, .. }
            | Self::BadTimestamp { at, .. }
            | Self::UnknownCode { at, .. }
            | Self::InvalidValue { at, .. } => Some(at),
            Self::Application { at, .. } => at.as_ref(),
            Self::NotHl7 { .. }
            | Self::Encoding { .. }
            | Self::NoObservations
            | Self::MllpGarbage { .. }
            | Self::MllpTruncated { .. }
            | Self::MllpNoCarriageReturn { .. }
            | Self::MllpTooLarge { .. } => None,
        }
    }

    /// The HL7 table 0357 code for ERR-3.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotHl7 { .. }
            | Self::SegmentSequence { .. }
            | Self::NoObservations
            | Self::MllpGarbage { .. }
            | Self::MllpTruncated { .. }
            | Self::MllpNoCarriageReturn { .. }
            | Self::MllpTooLarge { .. } => ErrorCode::SegmentSequence,
            Self::MissingField { .. } => ErrorCode::RequiredFieldMissing,
            Self::Encoding { .. }
            | Self::NotANumber { .. }
            | Self::BadStructuredNumeric { .. }
            | Self::BadTimestamp { .. }
            | Self::InvalidValue { .. } => ErrorCode::DataType,
            Self::UnknownCode { .. } => ErrorCode::TableValueNotFound,
            Self::WrongMessageType { found, .. } => {
                if found.split('^').next().is_some_and(|c| c.trim() == "ORU") {
                    ErrorCode::UnsupportedEventCode
                } else {
                    ErrorCode::UnsupportedMessageType
                }
            }
            Self::UnsupportedVersion { .. } => ErrorCode::UnsupportedVersionId,
            Self::Application { code, .. } => *code,
        }
    }

    /// ERR-4 severity: [`Severity::Error`] for everything this crate finds; an
    /// [`Hl7Error::Application`] problem carries its own.
    pub fn severity(&self) -> Severity {
        match self {
            Self::Application { severity, .. } => *severity,
            _ => Severity::Error,
        }
    }

    /// True when the message as a whole cannot be accepted (an ACK should say `AR`, "reject"):
    /// it is not HL7, not an ORU^R01, of an unsupported version, undecodable, or lacks the
    /// MSH fields that identify it. Other errors are about its content (`AE`).
    pub fn is_rejection(&self) -> bool {
        match self {
            Self::NotHl7 { .. }
            | Self::Encoding { .. }
            | Self::WrongMessageType { .. }
            | Self::UnsupportedVersion { .. }
            | Self::MllpGarbage { .. }
            | Self::MllpTruncated { .. }
            | Self::MllpNoCarriageReturn { .. }
            | Self::MllpTooLarge { .. } => true,
            Self::MissingField { name, .. } => name.starts_with("MSH-"),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_read_like_a_person_would_say_them() {
        let at = Location::segment(5, "OBX", 2).field(5);
        assert_eq!(at.to_string(), "segment 5 (OBX), field 5");
        assert_eq!(at.to_erl('^'), "OBX^2^5^1");
        let at = at.component(2);
        assert_eq!(at.to_string(), "segment 5 (OBX), field 5, component 2");
        assert_eq!(at.to_erl('^'), "OBX^2^5^1^2");
        let at = Location::segment(3, "PID", 1)
            .field(3)
            .repetition(2)
            .component(4);
        assert_eq!(
            at.to_string(),
            "segment 3 (PID), field 3, repetition 2, component 4"
        );
        assert_eq!(at.to_erl('^'), "PID^1^3^2^4");
        assert_eq!(Location::segment(1, "MSH", 1).to_erl('^'), "MSH^1");
    }

    #[test]
    fn errors_name_their_place_and_problem() {
        let e = Hl7Error::NotANumber {
            at: Location::segment(5, "OBX", 1).field(5),
            value: "abc".into(),
        };
        assert_eq!(
            e.to_string(),
            "segment 5 (OBX), field 5: \"abc\" is not a number"
        );
        assert_eq!(e.code().code(), 102);
        assert!(!e.is_rejection());

        let e = Hl7Error::WrongMessageType {
            at: Location::segment(1, "MSH", 1).field(9),
            found: "ADT^A01".into(),
        };
        assert_eq!(e.code(), ErrorCode::UnsupportedMessageType);
        assert!(e.is_rejection());
        let e = Hl7Error::WrongMessageType {
            at: Location::segment(1, "MSH", 1).field(9),
            found: "ORU^R30".into(),
        };
        assert_eq!(e.code(), ErrorCode::UnsupportedEventCode);

        let e = Hl7Error::Application {
            at: None,
            code: ErrorCode::TableValueNotFound,
            severity: Severity::Warning,
            text: "local code GLU is not mapped".into(),
        };
        assert_eq!(e.to_string(), "local code GLU is not mapped");
        assert_eq!(e.severity().code(), "W");
    }
}
