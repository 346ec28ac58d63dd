//! ER7 text to a typed [`OruR01`]: `er7` splits the text into segments, fields, repetitions,
//! components and subcomponents and resolves escape sequences; this module knows what the
//! fields of MSH, PID, OBR, OBX, SPM and NTE mean and checks their values.
//!
//! Every problem in the body is collected, not just the first, so one ACK can list them all.
//! Only a message that cannot be read as an ORU^R01 at all (no MSH, another message type, an
//! unsupported version) stops early.

use crate::datatypes::{
    CodedElement, EntityIdentifier, HierarchicDesignator, Number, Organization, PatientIdentifier,
    Person, PersonName, StructuredNumeric,
};
use crate::message::{
    Delimiters, MessageHeader, MessageType, Note, Observation, OrderObservation, OruR01, Patient,
    PatientResult, Rejected, Specimen, Value, ValueType,
};
use crate::{Hl7Error, Location, Timestamp};
use er7::{Component, Field, Repetition, Separators};
use std::collections::HashMap;

/// Parses an ORU^R01 (v2.3 to v2.5.1, and later 2.x versions, which only add fields).
///
/// Segments may end with `\r` (the standard), `\n` or `\r\n`; blank lines are skipped and
/// are not counted as segments.
///
/// # Errors
///
/// [`Rejected`] with every problem found and, when the MSH could be read, the header to
/// address the ACK to.
pub fn parse_oru(text: &str) -> Result<OruR01, Rejected> {
    let message = match er7::parse(text) {
        Ok(m) => m,
        Err(e) => return Err(rejected(None, not_hl7(&e))),
    };
    if message.segments.first().is_none_or(|s| s.name != "MSH") {
        let found = message.segments.first().map_or("", |s| s.name.as_str());
        return Err(rejected(
            None,
            Hl7Error::NotHl7 {
                reason: format!(
                    "the first segment is {found}, not MSH (send one message, not a batch)"
                ),
            },
        ));
    }
    let seps = message.separators;
    let mut errors = Vec::new();
    let msh = Seg::new(&message.segments[0], 1, 1, &seps);
    let header = parse_header(&msh, &mut errors);
    if errors.iter().any(Hl7Error::is_rejection) {
        return Err(Rejected {
            header: Some(Box::new(header)),
            errors,
        });
    }

    let mut body = Body::default();
    let mut occurrences: HashMap<&str, usize> = HashMap::from([("MSH", 1)]);
    for (i, segment) in message.segments.iter().enumerate().skip(1) {
        let occurrence = occurrences.entry(segment.name.as_str()).or_default();
        *occurrence += 1;
        let seg = Seg::new(segment, i + 1, *occurrence, &seps);
        body.segment(&seg, &mut errors);
    }
    if body.obx_count == 0 {
        errors.push(Hl7Error::NoObservations);
    }
    let taken = body.obx_count - body.refused_obx;
    if errors.is_empty() && taken > 0 {
        Ok(OruR01 {
            header,
            patient_results: body.patient_results,
            notes: body.notes,
            refused: body.refused,
        })
    } else {
        errors.extend(body.refused);
        // In message order, so that a person reads them top to bottom.
        errors.sort_by_key(|e| e.location().map_or(0, |l| l.segment_index));
        Err(Rejected {
            header: Some(Box::new(header)),
            errors,
        })
    }
}

/// Decodes the bytes ([`crate::decode`]) and parses the text ([`parse_oru`]).
///
/// # Errors
///
/// As [`parse_oru`], plus [`Hl7Error::Encoding`]; the header is then read from a lossy
/// decoding, so that the ACK can still be addressed.
pub fn parse_oru_bytes(bytes: &[u8]) -> Result<OruR01, Rejected> {
    match crate::decode(bytes) {
        Ok(decoded) => parse_oru(&decoded.text),
        Err(e) => {
            let (lossy, _, _) = encoding_rs::GB18030.decode(bytes);
            Err(rejected(read_header(&lossy), e))
        }
    }
}

/// The MSH of a text, read leniently (no check of any field), or `None` when there is none.
/// For addressing an ACK to a message that could not be parsed.
pub fn read_header(text: &str) -> Option<MessageHeader> {
    let message = er7::parse(text).ok()?;
    let first = message.segments.first().filter(|s| s.name == "MSH")?;
    let seps = message.separators;
    Some(parse_header(&Seg::new(first, 1, 1, &seps), &mut Vec::new()))
}

fn rejected(header: Option<MessageHeader>, error: Hl7Error) -> Rejected {
    Rejected {
        header: header.map(Box::new),
        errors: vec![error],
    }
}

fn not_hl7(e: &er7::Error) -> Hl7Error {
    Hl7Error::NotHl7 {
        reason: e.to_string(),
    }
}

/// One segment with its place in the message.
struct Seg<'m> {
    segment: &'m er7::Segment,
    index: usize,
    occurrence: usize,
    seps: &'m Separators,
}

impl<'m> Seg<'m> {
    fn new(
        segment: &'m er7::Segment,
        index: usize,
        occurrence: usize,
        seps: &'m Separators,
    ) -> Self {
        Self {
            segment,
            index,
            occurrence,
            seps,
        }
    }

    fn name(&self) -> &str {
        &self.segment.name
    }

    fn at_segment(&self) -> Location {
        Location::segment(self.index, self.name(), self.occurrence)
    }

    fn at(&self, field: usize) -> Location {
        self.at_segment().field(field)
    }

    fn field(&self, n: usize) -> Option<&'m Field> {
        self.segment.field(n)
    }

    /// The field's non-empty repetitions, with their 1-based numbers.
    fn repetitions(&self, n: usize) -> impl Iterator<Item = (usize, &'m Repetition)> {
        self.field(n)
            .map(|f| f.repetitions.as_slice())
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.is_empty() && !r.is_null())
            .map(|(i, r)| (i + 1, r))
    }

    /// The first non-empty repetition.
    fn first(&self, n: usize) -> Option<&'m Repetition> {
        self.repetitions(n).next().map(|(_, r)| r)
    }

    /// Component `c` of the field's first repetition, decoded.
    fn text(&self, n: usize, c: usize) -> String {
        self.first(n)
            .map(|r| comp(r, c, self.seps))
            .unwrap_or_default()
    }

    /// The whole field, decoded (delimiters inside it kept).
    fn whole(&self, n: usize) -> String {
        self.field(n)
            .filter(|f| !f.is_null())
            .map(|f| f.to_text(self.seps))
            .unwrap_or_default()
    }

    /// A TS field (component 1), or `None` when empty; a bad one is reported.
    fn timestamp(&self, n: usize, errors: &mut Vec<Hl7Error>) -> Option<Timestamp> {
        let text = self.text(n, 1);
        let text = text.trim_matches(' ');
        if text.is_empty() {
            return None;
        }
        match Timestamp::parse(text) {
            Ok(ts) => Some(ts),
            Err(e) => {
                errors.push(Hl7Error::BadTimestamp {
                    at: self.at(n),
                    value: text.to_owned(),
                    reason: e.0,
                });
                None
            }
        }
    }

    fn coded(&self, n: usize) -> Option<CodedElement> {
        self.first(n)
            .map(|r| coded(r, self.seps))
            .filter(|c| !c.is_empty())
    }

    fn hd(&self, n: usize) -> HierarchicDesignator {
        self.first(n)
            .map(|r| HierarchicDesignator {
                namespace_id: comp(r, 1, self.seps),
                universal_id: comp(r, 2, self.seps),
                universal_id_type: comp(r, 3, self.seps),
            })
            .unwrap_or_default()
    }

    fn ei(&self, n: usize) -> Option<EntityIdentifier> {
        self.first(n).map(|r| EntityIdentifier {
            id: comp(r, 1, self.seps),
            namespace_id: comp(r, 2, self.seps),
            universal_id: comp(r, 3, self.seps),
            universal_id_type: comp(r, 4, self.seps),
        })
    }
}

/// Component `c` of a repetition, decoded (subcomponent separators kept).
fn comp(r: &Repetition, c: usize, seps: &Separators) -> String {
    r.component(c)
        .filter(|c| !c.is_null())
        .map(|c| c.to_text(seps))
        .unwrap_or_default()
}

/// Subcomponent `s` of a component, decoded.
fn sub(c: Option<&Component>, s: usize, seps: &Separators) -> String {
    c.and_then(|c| c.subcomponent(s))
        .map(|s| s.value(seps).into_owned())
        .unwrap_or_default()
}

fn coded(r: &Repetition, seps: &Separators) -> CodedElement {
    CodedElement {
        identifier: comp(r, 1, seps),
        text: comp(r, 2, seps),
        coding_system: comp(r, 3, seps),
        alternate_identifier: comp(r, 4, seps),
        alternate_text: comp(r, 5, seps),
        alternate_coding_system: comp(r, 6, seps),
        original_text: comp(r, 9, seps),
    }
}

/// A CE carried as the subcomponents of one component (OBR-15.1 in v2.3/2.4).
fn coded_in_component(c: Option<&Component>, seps: &Separators) -> CodedElement {
    CodedElement {
        identifier: sub(c, 1, seps),
        text: sub(c, 2, seps),
        coding_system: sub(c, 3, seps),
        alternate_identifier: sub(c, 4, seps),
        alternate_text: sub(c, 5, seps),
        alternate_coding_system: sub(c, 6, seps),
        original_text: String::new(),
    }
}

fn hd_in_component(c: Option<&Component>, seps: &Separators) -> HierarchicDesignator {
    HierarchicDesignator {
        namespace_id: sub(c, 1, seps),
        universal_id: sub(c, 2, seps),
        universal_id_type: sub(c, 3, seps),
    }
}

fn parse_header(msh: &Seg<'_>, errors: &mut Vec<Hl7Error>) -> MessageHeader {
    let seps = msh.seps;
    let message_type = MessageType {
        code: msh.text(9, 1).trim().to_owned(),
        trigger: msh.text(9, 2).trim().to_owned(),
        structure: msh.text(9, 3).trim().to_owned(),
    };
    let control_id = msh.text(10, 1);
    let version = msh.text(12, 1).trim().to_owned();
    if message_type.code.is_empty() {
        errors.push(Hl7Error::MissingField {
            at: msh.at(9),
            name: "MSH-9 message type",
        });
    } else if message_type.code != "ORU" || message_type.trigger != "R01" {
        errors.push(Hl7Error::WrongMessageType {
            at: msh.at(9),
            found: message_type.to_string(),
        });
    }
    if control_id.is_empty() {
        errors.push(Hl7Error::MissingField {
            at: msh.at(10),
            name: "MSH-10 message control ID",
        });
    }
    if version.is_empty() {
        errors.push(Hl7Error::MissingField {
            at: msh.at(12),
            name: "MSH-12 version ID",
        });
    } else if !supported_version(&version) {
        errors.push(Hl7Error::UnsupportedVersion {
            at: msh.at(12),
            found: version.clone(),
        });
    }
    let time = msh.timestamp(7, errors);
    MessageHeader {
        delimiters: Delimiters {
            field: seps.field,
            component: seps.component,
            repetition: seps.repetition,
            escape: seps.escape,
            subcomponent: seps.subcomponent,
        },
        sending_application: msh.hd(3),
        sending_facility: msh.hd(4),
        receiving_application: msh.hd(5),
        receiving_facility: msh.hd(6),
        time,
        message_type,
        control_id,
        processing_id: msh.text(11, 1),
        version,
        character_sets: msh
            .repetitions(18)
            .map(|(_, r)| comp(r, 1, seps))
            .filter(|c| !c.is_empty())
            .collect(),
    }
}

/// 2.3 and later 2.x versions: `2.3`, `2.3.1`, `2.4`, `2.5`, `2.5.1`, `2.6`…
fn supported_version(version: &str) -> bool {
    let mut parts = version.split('.');
    let major = parts.next().and_then(|p| p.parse::<u32>().ok());
    let minor = parts.next().and_then(|p| p.parse::<u32>().ok());
    let rest_ok = parts.all(|p| p.parse::<u32>().is_ok());
    major == Some(2) && minor.is_some_and(|m| m >= 3) && rest_ok
}

/// Where the last group-opening segment left us, to attach NTE and SPM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Last {
    #[default]
    Nothing,
    Patient,
    Order,
    Observation,
    /// An OBX that was refused: its notes go with it.
    Refused,
    Specimen,
}

#[derive(Default)]
struct Body {
    patient_results: Vec<PatientResult>,
    notes: Vec<Note>,
    last: Last,
    obx_count: usize,
    /// OBX segments that cannot be taken, with why; the others still are.
    refused_obx: usize,
    refused: Vec<Hl7Error>,
}

impl Body {
    fn segment(&mut self, seg: &Seg<'_>, errors: &mut Vec<Hl7Error>) {
        match seg.name() {
            "PID" => {
                self.patient_results.push(PatientResult {
                    patient: Some(parse_pid(seg, errors)),
                    orders: Vec::new(),
                });
                self.last = Last::Patient;
            }
            "OBR" => {
                let order = parse_obr(seg, errors);
                if self.patient_results.is_empty() {
                    self.patient_results.push(PatientResult {
                        patient: None,
                        orders: Vec::new(),
                    });
                }
                if let Some(pr) = self.patient_results.last_mut() {
                    pr.orders.push(order);
                }
                self.last = Last::Order;
            }
            "OBX" => {
                // A bad OBX is refused on its own: the message's other results are taken.
                self.obx_count += 1;
                let mut problems = Vec::new();
                let obx = parse_obx(seg, &mut problems);
                if self.order().is_none() {
                    problems.push(Hl7Error::SegmentSequence {
                        at: seg.at_segment(),
                        problem: "OBX before any OBR: an observation must belong to an order",
                    });
                }
                if problems.is_empty() {
                    if let Some(order) = self.order() {
                        order.observations.push(obx);
                    }
                    self.last = Last::Observation;
                } else {
                    self.refused_obx += 1;
                    self.refused.extend(problems);
                    self.last = Last::Refused;
                }
            }
            "SPM" => match self.order() {
                Some(order) => {
                    if let Some(kind) = seg.coded(4) {
                        // SPM-4 is the v2.5 place for the specimen type; it wins over OBR-15.
                        if order.specimen.as_ref().is_none_or(|s| s.field != 4) {
                            order.specimen = Some(Specimen {
                                segment: seg.index,
                                field: 4,
                                kind,
                            });
                        }
                    }
                    self.last = Last::Specimen;
                }
                None => errors.push(Hl7Error::SegmentSequence {
                    at: seg.at_segment(),
                    problem: "SPM before any OBR: a specimen must belong to an order",
                }),
            },
            "NTE" => {
                let note = parse_nte(seg);
                match self.last {
                    Last::Nothing => self.notes.push(note),
                    Last::Patient => {
                        if let Some(p) = self
                            .patient_results
                            .last_mut()
                            .and_then(|pr| pr.patient.as_mut())
                        {
                            p.notes.push(note);
                        }
                    }
                    Last::Order | Last::Specimen => {
                        if let Some(order) = self.order() {
                            order.notes.push(note);
                        }
                    }
                    Last::Refused => {}
                    Last::Observation => {
                        if let Some(obx) = self.order().and_then(|o| o.observations.last_mut()) {
                            obx.notes.push(note);
                        }
                    }
                }
            }
            "MSH" => errors.push(Hl7Error::SegmentSequence {
                at: seg.at_segment(),
                problem: "a second MSH: send one message at a time",
            }),
            name if !is_segment_id(name) => errors.push(Hl7Error::SegmentSequence {
                at: seg.at_segment(),
                problem: "not a segment: a segment ID is three capital letters or digits \
                          (a line break inside a field?)",
            }),
            // ORC, PV1, PV2, PD1, NK1, SFT, TQ1, CTD, FT1, CTI, DSC and Z-segments carry
            // nothing the normaliser needs.
            _ => {}
        }
    }

    fn order(&mut self) -> Option<&mut OrderObservation> {
        self.patient_results.last_mut()?.orders.last_mut()
    }
}

fn is_segment_id(name: &str) -> bool {
    name.len() == 3
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn parse_pid(seg: &Seg<'_>, errors: &mut Vec<Hl7Error>) -> Patient {
    let seps = seg.seps;
    Patient {
        segment: seg.index,
        identifiers: seg
            .repetitions(3)
            .map(|(_, r)| PatientIdentifier {
                id: comp(r, 1, seps),
                assigning_authority: hd_in_component(r.component(4), seps),
                type_code: comp(r, 5, seps),
            })
            .collect(),
        names: seg
            .repetitions(5)
            .map(|(_, r)| PersonName {
                family: sub(r.component(1), 1, seps),
                given: comp(r, 2, seps),
                middle: comp(r, 3, seps),
            })
            .collect(),
        birth_date: seg.timestamp(7, errors),
        sex: seg.text(8, 1).trim().to_owned(),
        notes: Vec::new(),
    }
}

fn parse_obr(seg: &Seg<'_>, errors: &mut Vec<Hl7Error>) -> OrderObservation {
    // OBR-15 (v2.3/2.4 specimen source): component 1 is a CE written as subcomponents.
    let specimen = seg
        .first(15)
        .map(|r| coded_in_component(r.component(1), seg.seps))
        .filter(|c| !c.is_empty())
        .map(|kind| Specimen {
            segment: seg.index,
            field: 15,
            kind,
        });
    OrderObservation {
        segment: seg.index,
        set_id: seg.text(1, 1),
        placer_order_number: seg.ei(2),
        filler_order_number: seg.ei(3),
        service: seg.coded(4),
        observation_time: seg.timestamp(7, errors),
        status_change_time: seg.timestamp(22, errors),
        result_status: seg.text(25, 1).trim().to_owned(),
        specimen,
        notes: Vec::new(),
        observations: Vec::new(),
    }
}

fn parse_nte(seg: &Seg<'_>) -> Note {
    Note {
        segment: seg.index,
        source: seg.text(2, 1),
        text: seg
            .repetitions(3)
            .map(|(_, r)| r.to_text(seg.seps))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn parse_obx(seg: &Seg<'_>, errors: &mut Vec<Hl7Error>) -> Observation {
    let seps = seg.seps;
    let set_id_text = seg.text(1, 1);
    let set_id = match set_id_text.trim() {
        "" => None,
        t => match t.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push(Hl7Error::InvalidValue {
                    at: seg.at(1),
                    value: set_id_text.clone(),
                    expected: "a set ID (a whole number)",
                });
                None
            }
        },
    };
    let value_type_text = seg.text(2, 1).trim().to_owned();
    let value_type = match value_type_text.as_str() {
        "" => None,
        t => {
            let vt = ValueType::parse(t);
            if vt.is_none() {
                errors.push(Hl7Error::UnknownCode {
                    at: seg.at(2),
                    value: t.to_owned(),
                    table: "0125 (value type)",
                });
            }
            vt
        }
    };
    let code = seg.coded(3).unwrap_or_default();
    if code.is_empty() {
        errors.push(Hl7Error::MissingField {
            at: seg.at(3),
            name: "OBX-3 observation identifier",
        });
    }
    let has_value = seg.repetitions(5).next().is_some();
    let mut values = Vec::new();
    if has_value {
        match &value_type {
            Some(vt) => {
                for (r, rep) in seg.repetitions(5) {
                    let at = if r > 1 {
                        seg.at(5).repetition(r)
                    } else {
                        seg.at(5)
                    };
                    if let Some(v) = parse_value(vt, rep, at, seps, errors) {
                        values.push(v);
                    }
                }
            }
            // An unknown OBX-2 was reported above; an empty one is a missing field.
            None if value_type_text.is_empty() => errors.push(Hl7Error::MissingField {
                at: seg.at(2),
                name: "OBX-2 value type (OBX-5 is valued)",
            }),
            None => {}
        }
    }
    Observation {
        segment: seg.index,
        occurrence: seg.occurrence,
        set_id,
        value_type,
        code,
        sub_id: seg.whole(4),
        raw_value: seg.field(5).map(|f| f.to_er7(seps)).unwrap_or_default(),
        values,
        units: seg.coded(6),
        reference_range: seg.whole(7),
        abnormal_flags: seg
            .repetitions(8)
            .map(|(_, r)| comp(r, 1, seps).trim().to_owned())
            .filter(|f| !f.is_empty())
            .collect(),
        result_status: seg.text(11, 1).trim().to_owned(),
        observation_time: seg.timestamp(14, errors),
        producer: seg.coded(15),
        responsible_observers: seg
            .repetitions(16)
            .map(|(_, r)| Person {
                id: comp(r, 1, seps),
                family: sub(r.component(2), 1, seps),
                given: comp(r, 3, seps),
            })
            .collect(),
        analysis_time: seg.timestamp(19, errors),
        performing_organization: seg.first(23).map(|r| {
            let xon10 = comp(r, 10, seps);
            Organization {
                name: comp(r, 1, seps),
                id: if xon10.is_empty() {
                    comp(r, 3, seps)
                } else {
                    xon10
                },
                assigning_authority: hd_in_component(r.component(6), seps),
                id_type: comp(r, 7, seps),
            }
        }),
        notes: Vec::new(),
    }
}

/// One OBX-5 repetition read as `vt`; `None` (with an error pushed) when it does not fit.
fn parse_value(
    vt: &ValueType,
    rep: &Repetition,
    at: Location,
    seps: &Separators,
    errors: &mut Vec<Hl7Error>,
) -> Option<Value> {
    let text = rep.to_text(seps);
    let number = |c: usize, errors: &mut Vec<Hl7Error>| -> Result<Option<Number>, ()> {
        let t = comp(rep, c, seps);
        if t.trim_matches(' ').is_empty() {
            return Ok(None);
        }
        Number::parse(&t).map(Some).ok_or_else(|| {
            errors.push(Hl7Error::NotANumber {
                at: at.clone().component(c),
                value: t.clone(),
            });
        })
    };
    match vt {
        ValueType::Numeric => match Number::parse(&text) {
            Some(n) => Some(Value::Numeric(n)),
            None => {
                errors.push(Hl7Error::NotANumber { at, value: text });
                None
            }
        },
        ValueType::StructuredNumeric => {
            let components: Vec<String> = rep.components.iter().map(|c| c.to_text(seps)).collect();
            let refs: Vec<&str> = components.iter().map(String::as_str).collect();
            match StructuredNumeric::from_components(&refs) {
                Ok(sn) => Some(Value::StructuredNumeric(sn)),
                Err((component, reason)) => {
                    errors.push(Hl7Error::BadStructuredNumeric {
                        at: at.component(component),
                        value: text,
                        reason,
                    });
                    None
                }
            }
        }
        ValueType::NumericRange => {
            let low = number(1, errors);
            let high = number(2, errors);
            match (low, high) {
                (Ok(low), Ok(high)) => Some(Value::NumericRange { low, high }),
                _ => None,
            }
        }
        ValueType::String | ValueType::Text | ValueType::FormattedText => Some(Value::Text(text)),
        ValueType::Coded(_) => Some(Value::Coded(coded(rep, seps))),
        ValueType::Code(_) => Some(Value::Coded(CodedElement {
            identifier: comp(rep, 1, seps),
            ..CodedElement::default()
        })),
        ValueType::DateTime(_) => {
            let t = comp(rep, 1, seps);
            match Timestamp::parse(t.trim_matches(' ')) {
                Ok(ts) => Some(Value::DateTime(ts)),
                Err(e) => {
                    errors.push(Hl7Error::BadTimestamp {
                        at,
                        value: t,
                        reason: e.0,
                    });
                    None
                }
            }
        }
        ValueType::Other(_) => Some(Value::Other(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSH: &str =
        "MSH|^~\\&|LIS|HOSP|HUREN|HUREN|20240305083000||ORU^R01^ORU_R01|MSG1|P|2.5.1\r";

    fn parse(body: &str) -> Result<OruR01, Rejected> {
        parse_oru(&format!("{MSH}{body}"))
    }

    fn errors(body: &str) -> Vec<String> {
        parse(body)
            .unwrap_err()
            .errors
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn versions() {
        for v in ["2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.8.2"] {
            assert!(supported_version(v), "{v}");
        }
        for v in ["2.2", "2.1", "3.0", "2", "2.x", "", "2.5.a"] {
            assert!(!supported_version(v), "{v}");
        }
    }

    #[test]
    fn every_body_problem_is_reported_not_just_the_first() {
        let got = errors(
            "PID|1||P1\rOBR|1||F1|CBC\rOBX|x|NM|WBC||abc\rOBX|2||RBC||4.5\rOBX|3|NM|||5\r\
             OBX|4|XX|HGB||1\rOBX|5|TS|T||2024-03-05",
        );
        assert_eq!(
            got,
            [
                "segment 4 (OBX), field 1: \"x\" is not a set ID (a whole number)",
                "segment 4 (OBX), field 5: \"abc\" is not a number",
                "segment 5 (OBX), field 2: required field OBX-2 value type (OBX-5 is valued) is missing",
                "segment 6 (OBX), field 3: required field OBX-3 observation identifier is missing",
                "segment 7 (OBX), field 2: \"XX\" is not a code of HL7 table 0125 (value type)",
                "segment 8 (OBX), field 5: \"2024-03-05\" is not an HL7 timestamp: time-zone offset \"-03-05\" is not +HHMM or -HHMM (expected YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ])",
            ]
        );
    }

    #[test]
    fn a_bad_obx_is_refused_and_the_others_are_taken() {
        let m = parse(
            "PID|1||P1\rOBX|1|NM|GLU||5.1\rOBR|1||F1|CHEM\rOBX|2|NM|||4.2\r\
             OBX|3|NM|K^Potassium^L||4.1|mmol/L\rNTE|1||after a good OBX\rOBX|4|NM|NA||abc\r\
             NTE|1||after a refused OBX",
        )
        .unwrap();
        let taken: Vec<&str> = m.patient_results[0].orders[0]
            .observations
            .iter()
            .map(|o| o.code.identifier.as_str())
            .collect();
        assert_eq!(taken, ["K"]);
        assert_eq!(
            m.patient_results[0].orders[0].observations[0].notes.len(),
            1
        );
        let refused: Vec<String> = m.refused.iter().map(ToString::to_string).collect();
        assert_eq!(
            refused,
            [
                "segment 3 (OBX): OBX before any OBR: an observation must belong to an order",
                "segment 5 (OBX), field 3: required field OBX-3 observation identifier is missing",
                "segment 8 (OBX), field 5: \"abc\" is not a number",
            ]
        );
        // Nothing to take: the message is refused with every reason.
        assert_eq!(errors("PID|1\rOBR|1\rOBX|1|NM|||5\rOBX|2|NM|X||y").len(), 2);
    }

    #[test]
    fn structure_problems() {
        assert_eq!(
            errors("PID|1\rOBX|1|NM|GLU||5.1"),
            [
                "segment 3 (OBX): OBX before any OBR: an observation must belong to an order",
                // The stray OBX was counted, so there is no "no OBX" error on top.
            ]
        );
        assert_eq!(
            errors("PID|1\rOBR|1\rOBX|1|NM|GLU||5.1\rMSH|^~\\&|X"),
            ["segment 5 (MSH): a second MSH: send one message at a time"]
        );
        assert_eq!(
            errors("PID|1\rOBR|1\rOBX|1|TX|NOTE||first line\rsecond line|x"),
            [
                "segment 5 (second line): not a segment: a segment ID is three capital letters or digits (a line break inside a field?)"
            ]
        );
    }

    #[test]
    fn repetitions_are_located() {
        assert_eq!(
            errors("PID|1\rOBR|1\rOBX|1|NM|GLU||5.1~x"),
            ["segment 4 (OBX), field 5, repetition 2: \"x\" is not a number"]
        );
        let e = parse("PID|1\rOBR|1\rOBX|1|NR|R||1^y").unwrap_err();
        assert_eq!(e.errors[0].location().unwrap().to_erl('^'), "OBX^1^5^1^2");
    }

    #[test]
    fn escapes_are_decoded_in_values_but_raw_value_is_as_sent() {
        let m = parse("PID|1\rOBR|1\rOBX|1|ST|C\\T\\D^Comment \\F\\ 1||a\\S\\b\\E\\c").unwrap();
        let obx = &m.patient_results[0].orders[0].observations[0];
        assert_eq!(obx.code.identifier, "C&D");
        assert_eq!(obx.code.text, "Comment | 1");
        assert_eq!(obx.values, [Value::Text("a^b\\c".into())]);
        assert_eq!(obx.raw_value, "a\\S\\b\\E\\c");
    }

    #[test]
    fn null_and_empty_values() {
        let m = parse("PID|1\rOBR|1\rOBX|1|NM|GLU||\"\"||||||D\rOBX|2|NM|K||").unwrap();
        let obx = &m.patient_results[0].orders[0].observations;
        assert!(obx[0].values.is_empty());
        assert_eq!(obx[0].raw_value, "\"\"");
        assert!(obx[1].values.is_empty());
    }

    #[test]
    fn custom_delimiters() {
        let text = "MSH#*!?@#LIS#HOSP#####ORU*R01#1#P#2.5\rPID#1##P1*** HOSP*MR\rOBR#1\r\
                    OBX#1#SN#X*Titre*L##*1*:*40";
        let m = parse_oru(text).unwrap();
        let obx = &m.patient_results[0].orders[0].observations[0];
        assert_eq!(obx.code.text, "Titre");
        assert_eq!(
            obx.value(),
            Some(&Value::StructuredNumeric(
                StructuredNumeric::from_components(&["", "1", ":", "40"]).unwrap()
            ))
        );
        assert_eq!(m.header.delimiters.component, '*');
    }

    #[test]
    fn not_hl7() {
        for text in ["", "hello", "PID|1||x", "FHS|^~\\&|A\rMSH|^~\\&|B", "MSH"] {
            let e = parse_oru(text).unwrap_err();
            assert!(e.header.is_none(), "{text}");
            assert!(
                matches!(e.errors[..], [Hl7Error::NotHl7 { .. }]),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn wrong_type_is_reported_with_what_it_was_and_stops() {
        let e =
            parse_oru("MSH|^~\\&|A|B|C|D|20240101||ADT^A01^ADT_A01|9|P|2.5\rPID|1").unwrap_err();
        assert_eq!(
            e.errors[0].to_string(),
            "segment 1 (MSH), field 9: message type is \"ADT^A01^ADT_A01\", expected ORU^R01"
        );
        assert_eq!(e.errors.len(), 1);
        assert_eq!(e.ack_code(), crate::AckCode::Reject);
        assert_eq!(e.header.unwrap().control_id, "9");
    }
}
