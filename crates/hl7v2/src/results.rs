//! An ORU^R01 as the [`LabResult`]s the normaliser consumes: one per OBX, following the HL7
//! v2-to-FHIR mapping (OBX-3 → codes, OBX-2/5/6 → value, OBX-8 → interpretation, OBX-11 →
//! status, OBX-14/OBR-7 → effective time, OBR-22 → issued).
//!
//! Nothing is interpreted beyond what HL7 itself defines: codes stay the sender's (only their
//! coding system is classified), units stay as written, numbers keep their digits. What HL7
//! cannot express in FHIR (an OBX-11 outside table 0085, an OBX-8 `AC`) is reported as an [`Hl7Error`] with
//! the segment and field, ready for the ACK.

use crate::datatypes::{CodedElement, Comparator as SnComparator, SnSeparator, StructuredNumeric};
use crate::{
    ErrorCode, Hl7Error, Location, Number, Observation, OrderObservation, OruR01, Patient,
    Severity, Timestamp, Value, ValueType,
};
use huren_core::code::check_national_code;
use huren_core::result::{
    CodeOrigin, Comparator, Decimal, Identifier, LabResult, PatientIdPolicy, PatientInfo,
    ResultStatus, SentCode, SentRange, SentValue, Sex, V2_INTERPRETATION_CODES,
};
use std::collections::HashSet;

/// The identifier system of results keyed by the filler order number (OBR-3).
pub const FILLER_ORDER_SYSTEM: &str = "urn:huren:hl7v2:filler-order";
/// The identifier system of results keyed by the placer order number (OBR-2), used when OBR-3
/// is empty.
pub const PLACER_ORDER_SYSTEM: &str = "urn:huren:hl7v2:placer-order";

/// Settings the message does not carry.
#[derive(Debug, Clone, Copy)]
pub struct ResultOptions<'a> {
    /// How PID-3 identifiers become `system|value` identifiers.
    pub patients: &'a PatientIdPolicy,
    /// UTC offset in minutes assumed for timestamps without one (Chinese LIS send local time:
    /// 480).
    pub default_offset_minutes: i16,
}

/// Every OBX of an ORU^R01 as a [`LabResult`], in message order, with the problems found.
///
/// A problem of [`Severity::Error`] means that its OBX is not among the results (an OBX-11
/// with no FHIR status, a result identity already used in the message); the other results are
/// still returned. [`Severity::Warning`] problems (an OBX-8 flag with no FHIR interpretation,
/// a patient sex that is not a table 0001 code) leave the result usable, with that piece left
/// out. Every problem names its segment and field, so it can go back in the ACK as is.
///
/// The message is used as parsed by [`crate::parse_oru`]: this is a pure function, and it
/// never panics.
pub fn lab_results(msg: &OruR01, options: &ResultOptions<'_>) -> (Vec<LabResult>, Vec<Hl7Error>) {
    let mut results = Vec::new();
    let mut problems = msg.refused.clone();
    let mut seen = HashSet::new();
    // Every PID and OBR of the message is in the model, in order: counting them gives the
    // occurrence numbers that locations (ERL-2) need.
    let (mut pids, mut obrs) = (0, 0);
    for group in &msg.patient_results {
        let patient = match &group.patient {
            Some(pid) => {
                pids += 1;
                patient_info(pid, pids, options, &mut problems)
            }
            None => PatientInfo::default(),
        };
        for order in &group.orders {
            obrs += 1;
            let obr = Location::segment(order.segment, "OBR", obrs);
            for obx in &order.observations {
                let Some(result) =
                    lab_result(msg, (order, &obr), obx, &patient, options, &mut problems)
                else {
                    continue;
                };
                if let Some(id) = &result.identifier
                    && !seen.insert(id.clone())
                {
                    problems.push(Hl7Error::Application {
                        at: Some(obx.location(4)),
                        code: ErrorCode::DuplicateKeyIdentifier,
                        severity: Severity::Error,
                        text: format!(
                            "an earlier OBX of this message has the same order number, OBX-3 \
                             and OBX-4 ({}); give each result its own OBX-4 sub-ID",
                            id.value
                        ),
                    });
                    continue;
                }
                results.push(result);
            }
        }
    }
    (results, problems)
}

/// One OBX as a result, or `None` (with an error pushed) when it is unusable.
fn lab_result(
    msg: &OruR01,
    (order, obr): (&OrderObservation, &Location),
    obx: &Observation,
    patient: &PatientInfo,
    options: &ResultOptions<'_>,
    problems: &mut Vec<Hl7Error>,
) -> Option<LabResult> {
    let status = status(obx, problems)?;
    let value = value(obx, options, problems)?;
    if value == SentValue::Absent
        && matches!(
            status,
            ResultStatus::Final
                | ResultStatus::Corrected
                | ResultStatus::Amended
                | ResultStatus::Preliminary
        )
    {
        problems.push(Hl7Error::Application {
            at: Some(obx.location(5)),
            code: ErrorCode::RequiredFieldMissing,
            severity: Severity::Warning,
            text: format!(
                "OBX-5 is empty although OBX-11 is `{}` ({}); the result has no value",
                obx.result_status,
                status.as_str()
            ),
        });
    }
    let effective = match (&obx.observation_time, &order.observation_time) {
        (Some(ts), _) => date_time(ts, obx.location(14), options, problems),
        (None, Some(ts)) => date_time(ts, obr.clone().field(7), options, problems),
        (None, None) => None,
    };
    Some(LabResult {
        source: obx_location(obx).to_string(),
        identifier: identifier(order, obx),
        patient: patient.clone(),
        codes: codes(obx, problems),
        value,
        reference_range: (!obx.reference_range.trim().is_empty()).then(|| SentRange {
            text: obx.reference_range.trim().to_owned(),
            ..SentRange::default()
        }),
        interpretation: interpretation(obx, problems),
        status,
        effective,
        issued: order
            .status_change_time
            .as_ref()
            .and_then(|ts| instant(ts, options.default_offset_minutes)),
        performer: performer(msg, obx),
        specimen: order
            .specimen
            .as_ref()
            .map(|s| first_non_empty(&[&s.kind.text, &s.kind.identifier, &s.kind.original_text]))
            .unwrap_or_default()
            .to_owned(),
        notes: obx
            .notes
            .iter()
            .map(|n| n.text.trim())
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

fn obx_location(obx: &Observation) -> Location {
    Location::segment(obx.segment, "OBX", obx.occurrence)
}

fn first_non_empty<'s>(candidates: &[&'s str]) -> &'s str {
    candidates
        .iter()
        .map(|c| c.trim())
        .find(|c| !c.is_empty())
        .unwrap_or("")
}

// ── Status ───────────────────────────────────────────────────────────────────────────────

/// OBX-11 through the v2-to-FHIR ConceptMap; an unmapped or empty status is an error.
fn status(obx: &Observation, problems: &mut Vec<Hl7Error>) -> Option<ResultStatus> {
    let code = obx.result_status.trim();
    if code.is_empty() {
        problems.push(Hl7Error::MissingField {
            at: obx.location(11),
            name: "OBX-11 observation result status",
        });
        return None;
    }
    let status = ResultStatus::from_v2(code);
    if status.is_none() {
        problems.push(Hl7Error::Application {
            at: Some(obx.location(11)),
            code: ErrorCode::TableValueNotFound,
            severity: Severity::Error,
            text: format!(
                "OBX-11 result status `{code}` is not a code of HL7 table 0085 (A, B, C, D, F, \
                 I, N, O, P, R, S, U, V, W, X); the result was not taken"
            ),
        });
    }
    status
}

// ── Identity and codes ───────────────────────────────────────────────────────────────────

/// `<order id>^<namespace>|<OBX-3 identifier>|<OBX-4>` in the filler (OBR-3) or, without one,
/// the placer (OBR-2) order system.
fn identifier(order: &OrderObservation, obx: &Observation) -> Option<Identifier> {
    let usable =
        |ei: &Option<crate::EntityIdentifier>| ei.clone().filter(|e| !e.id.trim().is_empty());
    let (system, ei) = match (
        usable(&order.filler_order_number),
        usable(&order.placer_order_number),
    ) {
        (Some(filler), _) => (FILLER_ORDER_SYSTEM, filler),
        (None, Some(placer)) => (PLACER_ORDER_SYSTEM, placer),
        (None, None) => return None,
    };
    let code = first_non_empty(&[&obx.code.identifier, &obx.code.alternate_identifier]);
    Some(Identifier::new(
        system,
        format!(
            "{}^{}|{code}|{}",
            ei.id.trim(),
            ei.namespace_id.trim(),
            obx.sub_id.trim()
        ),
    ))
}

/// Both OBX-3 triplets, in order; a triplet without an identifier is skipped.
fn codes(obx: &Observation, problems: &mut Vec<Hl7Error>) -> Vec<SentCode> {
    let c = &obx.code;
    [
        (&c.identifier, &c.text, &c.coding_system, 1),
        (
            &c.alternate_identifier,
            &c.alternate_text,
            &c.alternate_coding_system,
            4,
        ),
    ]
    .into_iter()
    .filter(|(code, ..)| !code.trim().is_empty())
    .map(|(code, text, system, component)| {
        let origin = origin(system);
        if origin == CodeOrigin::National
            && let Err(problem) = check_national_code(code.trim())
        {
            problems.push(Hl7Error::Application {
                at: Some(obx.location(3).component(component)),
                code: ErrorCode::DataType,
                severity: Severity::Warning,
                text: format!("OBX-3 national code: {problem}"),
            });
        }
        SentCode {
            origin,
            code: code.trim().to_owned(),
            display: text.trim().to_owned(),
        }
    })
    .collect()
}

/// The coding system of an OBX-3 triplet (HL7 table 0396): `LN` is LOINC; `L`, empty and
/// `99zzz` are the hospital's local codes; `NLAB` is the national lab code system.
fn origin(system: &str) -> CodeOrigin {
    let s = system.trim();
    if s.eq_ignore_ascii_case("LN") {
        CodeOrigin::Loinc
    } else if s.is_empty() || s.eq_ignore_ascii_case("L") || s.starts_with("99") {
        CodeOrigin::Local
    } else if s.eq_ignore_ascii_case("NLAB") {
        CodeOrigin::National
    } else {
        CodeOrigin::Other(system_uri(s))
    }
}

/// HL7 table 0396 coding-system names and the FHIR system URIs of the v2-to-FHIR guide, for
/// the systems lab messages use beside LOINC. Data: add a row for another system.
const CODING_SYSTEMS: &[(&str, &str)] = &[
    ("SCT", "http://snomed.info/sct"),
    ("UCUM", "http://unitsofmeasure.org"),
    ("I10", "http://hl7.org/fhir/sid/icd-10"),
    ("I10C", "http://hl7.org/fhir/sid/icd-10-cm"),
    ("CVX", "http://hl7.org/fhir/sid/cvx"),
];

/// A coding system as FHIR names it: the URI of a table 0396 name ([`CODING_SYSTEMS`], `LN`,
/// and `HL7nnnn` → `http://terminology.hl7.org/CodeSystem/v2-nnnn`), else the name as sent
/// (a local system).
fn system_uri(name: &str) -> String {
    let name = name.trim();
    if name.eq_ignore_ascii_case("LN") {
        return huren_core::code::LOINC_URL.to_owned();
    }
    if let Some(&(_, uri)) = CODING_SYSTEMS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        return uri.to_owned();
    }
    match name.get(..3) {
        Some(p)
            if p.eq_ignore_ascii_case("HL7")
                && name.len() == 7
                && name[3..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            format!("http://terminology.hl7.org/CodeSystem/v2-{}", &name[3..])
        }
        _ => name.to_owned(),
    }
}

// ── Value ────────────────────────────────────────────────────────────────────────────────

/// OBX-5 read by OBX-2, with the OBX-6 unit for numbers: NM and SN single numbers as
/// quantities, SN ranges and NR as ranges, SN ratios (`1:128`) as ratios, DT/DTM/TS as
/// date-times, coded types as codes, the rest as text. `None` (with an error) for an RP or ED
/// OBX, which is not a lab value, and when a number cannot be written as a FHIR decimal (which
/// the parser's checks already exclude).
fn value(
    obx: &Observation,
    options: &ResultOptions<'_>,
    problems: &mut Vec<Hl7Error>,
) -> Option<SentValue> {
    if let Some(ValueType::Other(t)) = &obx.value_type
        && matches!(t.as_str(), "RP" | "ED")
    {
        // A pointer to a document or an image, or an encapsulated file: a report, not a lab
        // value huren can normalize or recognize.
        problems.push(Hl7Error::Application {
            at: Some(obx.location(2)),
            code: ErrorCode::DataType,
            severity: Severity::Error,
            text: format!(
                "OBX-2 `{t}` ({}) is not a lab value; send the result as NM, SN, CWE or ST; \
                 the result was not taken",
                if t == "RP" {
                    "a reference pointer"
                } else {
                    "encapsulated data"
                }
            ),
        });
        return None;
    }
    let Some(first) = obx.values.first() else {
        return Some(SentValue::Absent);
    };
    let text_type = matches!(
        obx.value_type,
        Some(ValueType::String | ValueType::Text | ValueType::FormattedText)
    );
    if text_type {
        // Repetitions of a text value are its lines.
        let lines: Vec<&str> = obx
            .values
            .iter()
            .filter_map(|v| match v {
                Value::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        return Some(SentValue::Text {
            text: lines.join("\n"),
        });
    }
    if obx.values.len() > 1 {
        problems.push(Hl7Error::Application {
            at: Some(obx.location(5).repetition(2)),
            code: ErrorCode::DataType,
            severity: Severity::Warning,
            text: format!(
                "OBX-5 has {} repetitions; only the first is kept",
                obx.values.len()
            ),
        });
    }
    let unit = || obx.unit().unwrap_or("").to_owned();
    let decimal = |n: &Number, problems: &mut Vec<Hl7Error>| {
        let d = decimal(n);
        if d.is_none() {
            problems.push(Hl7Error::NotANumber {
                at: obx.location(5),
                value: n.as_str().to_owned(),
            });
        }
        d
    };
    Some(match first {
        Value::Numeric(n) => SentValue::Quantity {
            value: decimal(n, problems)?,
            comparator: None,
            unit: unit(),
        },
        Value::StructuredNumeric(sn) => match quantity_comparator(sn) {
            Some(comparator) => match &sn.num1 {
                Some(n) => SentValue::Quantity {
                    value: decimal(n, problems)?,
                    comparator,
                    unit: unit(),
                },
                None => SentValue::Absent,
            },
            None => sn_value(sn, unit()).unwrap_or_else(|| SentValue::Text { text: sn_text(sn) }),
        },
        Value::NumericRange { low, high } => {
            let low = match low {
                Some(n) => Some(decimal(n, problems)?),
                None => None,
            };
            let high = match high {
                Some(n) => Some(decimal(n, problems)?),
                None => None,
            };
            SentValue::Range {
                low,
                high,
                unit: unit(),
            }
        }
        Value::Text(t) | Value::Other(t) => SentValue::Text { text: t.clone() },
        Value::Coded(ce) => coded_value(ce),
        Value::DateTime(ts) => match fhir_date_time(ts, options.default_offset_minutes) {
            Some(value) => SentValue::DateTime { value },
            None => SentValue::Text {
                text: ts.to_string(),
            },
        },
    })
}

/// An SN that is a range (`^2^-^5`) or a ratio (`^1^:^128`, `^1^/^2`) without a comparator, as
/// a FHIR Range or Ratio; `None` for the others (`2+`, `<>0`, `>^1^:^40`), which are text.
fn sn_value(sn: &StructuredNumeric, unit: String) -> Option<SentValue> {
    if sn.comparator.is_some_and(|c| c != SnComparator::Eq) {
        return None;
    }
    let (a, b) = (decimal(sn.num1.as_ref()?)?, decimal(sn.num2.as_ref()?)?);
    match sn.separator? {
        SnSeparator::Range => Some(SentValue::Range {
            low: Some(a),
            high: Some(b),
            unit,
        }),
        SnSeparator::Colon | SnSeparator::Slash => Some(SentValue::Ratio {
            numerator: a,
            denominator: b,
        }),
        SnSeparator::Plus | SnSeparator::Dot => None,
    }
}

/// The sender's digits as a FHIR decimal; HL7 allows `5.`, FHIR does not (it becomes `5`).
fn decimal(n: &Number) -> Option<Decimal> {
    let text = n.as_str();
    Decimal::parse(text.strip_suffix('.').unwrap_or(text))
}

/// `Some(comparator)` when the SN is a single number (`>^11.0`, `^5.0`, `=^3`), which is a
/// Quantity; `None` when it needs text (a range, a ratio, `2+`, `<>`).
fn quantity_comparator(sn: &StructuredNumeric) -> Option<Option<Comparator>> {
    if sn.separator.is_some() || sn.num2.is_some() {
        return None;
    }
    match sn.comparator {
        None | Some(SnComparator::Eq) => Some(None),
        Some(SnComparator::Lt) => Some(Some(Comparator::Lt)),
        Some(SnComparator::Le) => Some(Some(Comparator::Le)),
        Some(SnComparator::Gt) => Some(Some(Comparator::Gt)),
        Some(SnComparator::Ge) => Some(Some(Comparator::Ge)),
        Some(SnComparator::Ne) => None,
    }
}

/// An SN as a person writes it: `1-5`, `1:40`, `2+`, `<>0`.
fn sn_text(sn: &StructuredNumeric) -> String {
    let mut text = String::new();
    if let Some(c) = sn.comparator.filter(|&c| c != SnComparator::Eq) {
        text.push_str(c.as_str());
    }
    for part in [
        sn.num1.as_ref().map(Number::as_str),
        sn.separator.map(SnSeparator::as_str),
        sn.num2.as_ref().map(Number::as_str),
    ]
    .into_iter()
    .flatten()
    {
        text.push_str(part);
    }
    text
}

/// A coded OBX-5 (CWE, CE, CNE; IS and ID have an identifier only); without any identifier,
/// the text is all there is.
fn coded_value(ce: &CodedElement) -> SentValue {
    let (code, display, system) = if !ce.identifier.trim().is_empty() {
        (&ce.identifier, &ce.text, &ce.coding_system)
    } else if !ce.alternate_identifier.trim().is_empty() {
        (
            &ce.alternate_identifier,
            &ce.alternate_text,
            &ce.alternate_coding_system,
        )
    } else {
        return SentValue::Text {
            text: first_non_empty(&[&ce.text, &ce.alternate_text, &ce.original_text]).to_owned(),
        };
    };
    SentValue::Coded {
        system: if system.trim().is_empty() {
            String::new()
        } else {
            system_uri(system)
        },
        code: code.trim().to_owned(),
        display: display.trim().to_owned(),
    }
}

// ── Interpretation ───────────────────────────────────────────────────────────────────────

/// OBX-8 flags that have a v3 ObservationInterpretation code; the others are reported.
fn interpretation(obx: &Observation, problems: &mut Vec<Hl7Error>) -> Vec<String> {
    let mut kept = Vec::new();
    for flag in &obx.abnormal_flags {
        let flag = flag.trim();
        if V2_INTERPRETATION_CODES.contains(&flag) {
            if !kept.iter().any(|k| k == flag) {
                kept.push(flag.to_owned());
            }
        } else {
            problems.push(Hl7Error::Application {
                at: Some(obx.location(8)),
                code: ErrorCode::TableValueNotFound,
                severity: Severity::Warning,
                text: format!("OBX-8 flag `{flag}` has no FHIR interpretation; it was not kept"),
            });
        }
    }
    kept
}

// ── Patient ──────────────────────────────────────────────────────────────────────────────

/// PID-3, PID-7 and PID-8; names are never kept.
fn patient_info(
    pid: &Patient,
    occurrence: usize,
    options: &ResultOptions<'_>,
    problems: &mut Vec<Hl7Error>,
) -> PatientInfo {
    let at = |field: usize| Location::segment(pid.segment, "PID", occurrence).field(field);
    let mut identifiers: Vec<Identifier> = Vec::new();
    for cx in pid.identifiers.iter().filter(|cx| !cx.id.trim().is_empty()) {
        let id = options.patients.identifier(&cx.type_code, &cx.id);
        if !identifiers.contains(&id) {
            identifiers.push(id);
        }
    }
    let sex = match pid.sex.trim() {
        "" => None,
        s => {
            let sex = Sex::parse(s);
            if sex.is_none() {
                problems.push(Hl7Error::Application {
                    at: Some(at(8)),
                    code: ErrorCode::TableValueNotFound,
                    severity: Severity::Warning,
                    text: format!(
                        "PID-8 sex `{s}` is not a code of HL7 table 0001 (M, F, O, U, A, N); \
                         the sex is left out"
                    ),
                });
            }
            sex
        }
    };
    PatientInfo {
        identifiers,
        sex,
        birth_date: pid.birth_date.as_ref().and_then(fhir_date),
    }
}

// ── Times ────────────────────────────────────────────────────────────────────────────────

/// A FHIR `dateTime` for an effective time, reported (as a warning) when FHIR cannot hold it.
fn date_time(
    ts: &Timestamp,
    at: Location,
    options: &ResultOptions<'_>,
    problems: &mut Vec<Hl7Error>,
) -> Option<String> {
    let text = fhir_date_time(ts, options.default_offset_minutes);
    if text.is_none() {
        let problem = Hl7Error::Application {
            at: Some(at),
            code: ErrorCode::DataType,
            severity: Severity::Warning,
            text: format!("{ts} cannot be written as a FHIR dateTime; the time is left out"),
        };
        // OBR-7 stands for every OBX of its order: say it once.
        if !problems.contains(&problem) {
            problems.push(problem);
        }
    }
    text
}

/// The date part, at the sender's precision: `2024`, `2024-03`, `2024-03-05`. `None` for year
/// 0000, which FHIR does not allow.
fn fhir_date(ts: &Timestamp) -> Option<String> {
    if ts.year == 0 {
        return None;
    }
    let mut out = format!("{:04}", ts.year);
    for part in [ts.month, ts.day].into_iter().map_while(|p| p) {
        out.push_str(&format!("-{part:02}"));
    }
    Some(out)
}

/// A FHIR `dateTime` at the sender's precision: a date as a date; a time with seconds (`:00`
/// added to hour or minute precision, which FHIR does not allow) and the sender's offset, or
/// `default_offset` when it sent none.
fn fhir_date_time(ts: &Timestamp, default_offset: i16) -> Option<String> {
    let date = fhir_date(ts)?;
    let Some(hour) = ts.hour else {
        return Some(date);
    };
    let offset = offset(ts.offset_minutes.unwrap_or(default_offset))?;
    let fraction = ts
        .fraction
        .as_ref()
        .map(|f| format!(".{f}"))
        .unwrap_or_default();
    Some(format!(
        "{date}T{hour:02}:{:02}:{:02}{fraction}{offset}",
        ts.minute.unwrap_or(0),
        ts.second.unwrap_or(0),
    ))
}

/// A FHIR `instant` (seconds and offset required) when the timestamp has at least minutes.
fn instant(ts: &Timestamp, default_offset: i16) -> Option<String> {
    ts.minute?;
    fhir_date_time(ts, default_offset)
}

/// `+08:00`; `None` beyond FHIR's ±14:00.
fn offset(minutes: i16) -> Option<String> {
    let abs = minutes.unsigned_abs();
    if abs > 14 * 60 {
        return None;
    }
    let sign = if minutes < 0 { '-' } else { '+' };
    Some(format!("{sign}{:02}:{:02}", abs / 60, abs % 60))
}

// ── Performer ────────────────────────────────────────────────────────────────────────────

/// OBX-23 name or identifier, else OBX-15, else the MSH-4 sending facility.
fn performer(msg: &OruR01, obx: &Observation) -> Option<String> {
    let candidates = [
        obx.performing_organization
            .as_ref()
            .map(|o| first_non_empty(&[&o.name, &o.id])),
        obx.producer
            .as_ref()
            .map(|p| first_non_empty(&[&p.identifier, &p.text, &p.alternate_identifier])),
        Some(first_non_empty(&[
            &msg.header.sending_facility.namespace_id,
            &msg.header.sending_facility.universal_id,
        ])),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|c| !c.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn fhir_times_keep_the_senders_precision() {
        for (hl7, date_time, inst) in [
            ("2026", Some("2026"), None),
            ("202611", Some("2026-11"), None),
            ("20261120", Some("2026-11-20"), None),
            ("2026112008", Some("2026-11-20T08:00:00+08:00"), None),
            (
                "202611200812",
                Some("2026-11-20T08:12:00+08:00"),
                Some("2026-11-20T08:12:00+08:00"),
            ),
            (
                "20261120081230-0530",
                Some("2026-11-20T08:12:30-05:30"),
                Some("2026-11-20T08:12:30-05:30"),
            ),
            (
                "20261120081230.25+0000",
                Some("2026-11-20T08:12:30.25+00:00"),
                Some("2026-11-20T08:12:30.25+00:00"),
            ),
            ("00001120", None, None),
            ("202611200812+1430", None, None),
        ] {
            assert_eq!(fhir_date_time(&ts(hl7), 480).as_deref(), date_time, "{hl7}");
            assert_eq!(instant(&ts(hl7), 480).as_deref(), inst, "{hl7}");
        }
        assert_eq!(
            fhir_date_time(&ts("202611200812"), -300).as_deref(),
            Some("2026-11-20T08:12:00-05:00")
        );
        assert_eq!(
            fhir_date(&ts("19850312083000")).as_deref(),
            Some("1985-03-12")
        );
    }

    #[test]
    fn coding_systems() {
        assert_eq!(origin("LN"), CodeOrigin::Loinc);
        assert_eq!(origin("L"), CodeOrigin::Local);
        assert_eq!(origin(""), CodeOrigin::Local);
        assert_eq!(origin("99LIS"), CodeOrigin::Local);
        assert_eq!(origin("NLAB"), CodeOrigin::National);
        assert_eq!(
            origin("SCT"),
            CodeOrigin::Other("http://snomed.info/sct".into())
        );
        assert_eq!(
            system_uri("HL70078"),
            "http://terminology.hl7.org/CodeSystem/v2-0078"
        );
        assert_eq!(system_uri("99LAB"), "99LAB");
        assert_eq!(system_uri("HL7X"), "HL7X");
    }

    #[test]
    fn structured_numerics_as_quantity_or_text() {
        let sn = |text: &str| {
            StructuredNumeric::from_components(&text.split('^').collect::<Vec<_>>()).unwrap()
        };
        assert_eq!(
            quantity_comparator(&sn(">^11.0")),
            Some(Some(Comparator::Gt))
        );
        assert_eq!(quantity_comparator(&sn("<=^3")), Some(Some(Comparator::Le)));
        assert_eq!(quantity_comparator(&sn("^5.0")), Some(None));
        assert_eq!(quantity_comparator(&sn("=^5.0")), Some(None));
        for (text, readable) in [
            ("^1^-^5", "1-5"),
            ("^1^:^40", "1:40"),
            ("^1^/^2", "1/2"),
            ("^2^+", "2+"),
            ("<>^0", "<>0"),
            (">^1^:^40", ">1:40"),
        ] {
            assert_eq!(quantity_comparator(&sn(text)), None, "{text}");
            assert_eq!(sn_text(&sn(text)), readable);
        }
    }

    #[test]
    fn hl7_decimals_become_fhir_decimals() {
        for (hl7, fhir) in [("6.30", "6.30"), ("5.", "5"), (".5", "0.5"), ("+007", "7")] {
            let d = decimal(&Number::parse(hl7).unwrap()).unwrap();
            assert_eq!(d.as_str(), fhir, "{hl7}");
        }
    }
}
