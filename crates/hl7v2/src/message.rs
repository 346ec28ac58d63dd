//! The typed ORU^R01: header, patients, orders, observations and notes, each with the 1-based
//! index of the segment it came from, so that anything found later (an unmapped code, a unit
//! that does not convert) can still say "segment 5 (OBX), field 3".

use crate::datatypes::{
    CodedElement, EntityIdentifier, HierarchicDesignator, Number, Organization, PatientIdentifier,
    Person, PersonName, StructuredNumeric,
};
use crate::{Hl7Error, Location, Timestamp};
use std::fmt;

/// The five delimiters a message declares in MSH-1 and MSH-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Delimiters {
    pub field: char,
    pub component: char,
    pub repetition: char,
    pub escape: char,
    pub subcomponent: char,
}

impl Default for Delimiters {
    /// `|^~\&`, the delimiters every sender uses in practice.
    fn default() -> Self {
        Self {
            field: '|',
            component: '^',
            repetition: '~',
            escape: '\\',
            subcomponent: '&',
        }
    }
}

/// MSH-9: message code ^ trigger event ^ message structure, e.g. `ORU^R01^ORU_R01`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MessageType {
    pub code: String,
    pub trigger: String,
    pub structure: String,
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)?;
        if !self.trigger.is_empty() || !self.structure.is_empty() {
            write!(f, "^{}", self.trigger)?;
        }
        if !self.structure.is_empty() {
            write!(f, "^{}", self.structure)?;
        }
        Ok(())
    }
}

/// The MSH segment (always segment 1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageHeader {
    pub delimiters: Delimiters,
    /// MSH-3.
    pub sending_application: HierarchicDesignator,
    /// MSH-4: which hospital (through the MLLP listener's facility table).
    pub sending_facility: HierarchicDesignator,
    /// MSH-5.
    pub receiving_application: HierarchicDesignator,
    /// MSH-6.
    pub receiving_facility: HierarchicDesignator,
    /// MSH-7.
    pub time: Option<Timestamp>,
    /// MSH-9.
    pub message_type: MessageType,
    /// MSH-10, echoed in MSA-2 of the ACK.
    pub control_id: String,
    /// MSH-11 (`P` production, `T` training, `D` debugging), first component.
    pub processing_id: String,
    /// MSH-12, first component (`2.3`, `2.4`, `2.5`, `2.5.1`…).
    pub version: String,
    /// MSH-18, every repetition as sent (`GB 18030-2000`, `UNICODE UTF-8`).
    pub character_sets: Vec<String>,
}

/// A parsed ORU^R01 message.
#[derive(Debug, Clone, PartialEq)]
pub struct OruR01 {
    pub header: MessageHeader,
    /// PATIENT_RESULT groups: usually one. A group whose PID is absent (allowed from v2.5)
    /// has `patient: None`.
    pub patient_results: Vec<PatientResult>,
    /// NTE segments that stand before any PID or OBR (not allowed by the standard, kept
    /// rather than dropped).
    pub notes: Vec<Note>,
    /// Why each OBX that could not be taken was refused (a missing OBX-3, an OBX before any
    /// OBR, a value that does not fit OBX-2…): the message's other results are still used,
    /// and the ACK says `AE` with these.
    pub refused: Vec<Hl7Error>,
}

impl OruR01 {
    /// Every observation with its order and patient, in message order.
    pub fn observations(
        &self,
    ) -> impl Iterator<Item = (Option<&Patient>, &OrderObservation, &Observation)> {
        self.patient_results.iter().flat_map(|pr| {
            pr.orders.iter().flat_map(move |order| {
                order
                    .observations
                    .iter()
                    .map(move |obx| (pr.patient.as_ref(), order, obx))
            })
        })
    }
}

/// One PATIENT_RESULT group: a patient and their orders.
#[derive(Debug, Clone, PartialEq)]
pub struct PatientResult {
    pub patient: Option<Patient>,
    pub orders: Vec<OrderObservation>,
}

/// The PID segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patient {
    /// 1-based index of the PID segment in the message.
    pub segment: usize,
    /// PID-3, every repetition.
    pub identifiers: Vec<PatientIdentifier>,
    /// PID-5, every repetition.
    pub names: Vec<PersonName>,
    /// PID-7.
    pub birth_date: Option<Timestamp>,
    /// PID-8 (`M`, `F`, `O`, `U`…), as sent.
    pub sex: String,
    /// NTE segments right after the PID.
    pub notes: Vec<Note>,
}

/// One ORDER_OBSERVATION group: an OBR with its observations, notes and specimen.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderObservation {
    /// 1-based index of the OBR segment in the message.
    pub segment: usize,
    /// OBR-1 set ID, as sent.
    pub set_id: String,
    /// OBR-2.
    pub placer_order_number: Option<EntityIdentifier>,
    /// OBR-3: with OBX-3 and OBX-4, what makes a result the same result when it is sent again.
    pub filler_order_number: Option<EntityIdentifier>,
    /// OBR-4: the panel, e.g. `CBC^血常规^L`.
    pub service: Option<CodedElement>,
    /// OBR-7: collection time; the effective time when OBX-14 is empty.
    pub observation_time: Option<Timestamp>,
    /// OBR-22: results reported or status changed.
    pub status_change_time: Option<Timestamp>,
    /// OBR-25 (table 0123: `F`, `C`, `P`…), as sent.
    pub result_status: String,
    /// SPM-4 (v2.5), or OBR-15 component 1 (v2.3/2.4) when there is no SPM.
    pub specimen: Option<Specimen>,
    /// NTE segments right after the OBR.
    pub notes: Vec<Note>,
    pub observations: Vec<Observation>,
}

/// Where the specimen type came from and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Specimen {
    /// 1-based index of the SPM or OBR segment.
    pub segment: usize,
    /// 4 for SPM-4, 15 for OBR-15.
    pub field: usize,
    /// The specimen type, e.g. `SER^血清^HL70487`.
    pub kind: CodedElement,
}

/// OBX-2 (HL7 table 0125): how OBX-5 is to be read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// NM: a number.
    Numeric,
    /// SN: comparator ^ number ^ separator ^ number.
    StructuredNumeric,
    /// NR: low ^ high.
    NumericRange,
    /// ST: a string.
    String,
    /// TX: text.
    Text,
    /// FT: formatted text.
    FormattedText,
    /// CE, CWE, CNE, CF: a coded element; the code as sent.
    Coded(String),
    /// IS, ID: a bare code.
    Code(String),
    /// DT, DTM, TS: a date or date/time.
    DateTime(String),
    /// A type of table 0125 this crate keeps as text (TM, DR, ED, XCN…).
    Other(String),
}

/// Every code of HL7 table 0125 up to v2.5.1 (and DTM from 2.5, NA/MA waveform types).
const TABLE_0125: &[&str] = &[
    "AD", "CE", "CF", "CK", "CN", "CNE", "CP", "CWE", "CX", "DR", "DT", "DTM", "ED", "FT", "ID",
    "IS", "MA", "MO", "NA", "NM", "NR", "PN", "RP", "SN", "ST", "TM", "TN", "TS", "TX", "XAD",
    "XCN", "XON", "XPN", "XTN",
];

impl ValueType {
    /// Reads an OBX-2 code; `None` when it is not in table 0125.
    pub fn parse(code: &str) -> Option<Self> {
        let code = code.trim();
        Some(match code {
            "NM" => Self::Numeric,
            "SN" => Self::StructuredNumeric,
            "NR" => Self::NumericRange,
            "ST" => Self::String,
            "TX" => Self::Text,
            "FT" => Self::FormattedText,
            "CE" | "CWE" | "CNE" | "CF" => Self::Coded(code.to_owned()),
            "IS" | "ID" => Self::Code(code.to_owned()),
            "DT" | "DTM" | "TS" => Self::DateTime(code.to_owned()),
            c if TABLE_0125.contains(&c) => Self::Other(c.to_owned()),
            _ => return None,
        })
    }

    /// The OBX-2 code.
    pub fn code(&self) -> &str {
        match self {
            Self::Numeric => "NM",
            Self::StructuredNumeric => "SN",
            Self::NumericRange => "NR",
            Self::String => "ST",
            Self::Text => "TX",
            Self::FormattedText => "FT",
            Self::Coded(c) | Self::Code(c) | Self::DateTime(c) | Self::Other(c) => c,
        }
    }
}

/// One repetition of OBX-5, read according to OBX-2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// NM, with the sender's precision.
    Numeric(Number),
    /// SN.
    StructuredNumeric(StructuredNumeric),
    /// NR: low ^ high, either may be open.
    NumericRange {
        low: Option<Number>,
        high: Option<Number>,
    },
    /// ST, TX, FT: decoded text (FT formatting commands such as `\.br\` are kept as sent).
    Text(String),
    /// CE, CWE, CNE, CF; IS and ID as an identifier alone.
    Coded(CodedElement),
    /// DT, DTM, TS.
    DateTime(Timestamp),
    /// Any other type, as decoded text with its component separators.
    Other(String),
}

/// An OBX segment with its notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// 1-based index of the OBX segment in the message.
    pub segment: usize,
    /// 1-based occurrence of OBX in the message (ERL-2 in an ACK).
    pub occurrence: usize,
    /// OBX-1.
    pub set_id: Option<u32>,
    /// OBX-2; `None` only when OBX-5 is empty too.
    pub value_type: Option<ValueType>,
    /// OBX-3: the key into the hospital's mapping table.
    pub code: CodedElement,
    /// OBX-4.
    pub sub_id: String,
    /// OBX-5 exactly as it was in the message (escape sequences and delimiters included).
    pub raw_value: String,
    /// OBX-5, one entry per repetition; empty when OBX-5 is empty.
    pub values: Vec<Value>,
    /// OBX-6.
    pub units: Option<CodedElement>,
    /// OBX-7, as sent (decoded): `3.5-5.3`, `<5.2`, `阴性`.
    pub reference_range: String,
    /// OBX-8, every repetition (table 0078: `H`, `L`, `HH`, `N`, `A`…).
    pub abnormal_flags: Vec<String>,
    /// OBX-11 (table 0085: `F`, `C`, `P`, `D`, `X`…), as sent.
    pub result_status: String,
    /// OBX-14.
    pub observation_time: Option<Timestamp>,
    /// OBX-15.
    pub producer: Option<CodedElement>,
    /// OBX-16, every repetition.
    pub responsible_observers: Vec<Person>,
    /// OBX-19.
    pub analysis_time: Option<Timestamp>,
    /// OBX-23: the lab whose EQA status decides recognition.
    pub performing_organization: Option<Organization>,
    /// NTE segments right after this OBX.
    pub notes: Vec<Note>,
}

impl Observation {
    /// The first (usually only) value.
    pub fn value(&self) -> Option<&Value> {
        self.values.first()
    }

    /// The unit: OBX-6 identifier, or its text when the identifier is empty.
    pub fn unit(&self) -> Option<&str> {
        self.units
            .as_ref()
            .map(CodedElement::code_or_text)
            .filter(|u| !u.is_empty())
    }

    /// The location of one of this OBX's fields, for problems found after parsing (an
    /// unmapped OBX-3, a unit that does not convert), to be reported as
    /// [`Hl7Error::Application`].
    pub fn location(&self, field: usize) -> Location {
        Location::segment(self.segment, "OBX", self.occurrence).field(field)
    }
}

/// An NTE segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// 1-based index of the NTE segment in the message.
    pub segment: usize,
    /// NTE-2 source of comment (`L` lab, `P` placer…).
    pub source: String,
    /// NTE-3, repetitions joined with newlines.
    pub text: String,
}

/// A message that cannot be accepted, with every problem found and the header when there was
/// one (to address the ACK).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Boxed: a `Result` should not carry a whole header inline on its success path.
    pub header: Option<Box<MessageHeader>>,
    /// Never empty.
    pub errors: Vec<Hl7Error>,
}

impl Rejected {
    /// `AR` when the message as a whole is unacceptable (see [`Hl7Error::is_rejection`]),
    /// `AE` otherwise.
    pub fn ack_code(&self) -> crate::AckCode {
        crate::AckCode::for_errors(&self.errors)
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        write!(
            f,
            "message rejected with {n} problem{}",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.errors {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Rejected {}
