//! Building the ACK that answers an ORU^R01: MSH with sender and receiver swapped, MSA with
//! the acknowledgment code and the original control ID, and one ERR segment per problem in the
//! v2.5 form (ERR-2 location, ERR-3 table 0357 code, ERR-4 severity, ERR-8 message), plus the
//! older ERR-1 for senders on v2.3/2.4, who know only that field.

use crate::message::{Delimiters, MessageHeader};
use crate::{Hl7Error, Location, Severity, Timestamp};

/// MSA-1, the acknowledgment code (original mode, table 0008).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AckCode {
    /// `AA`: accepted.
    Accept,
    /// `AE`: accepted for processing but in error; ERR segments say where.
    Error,
    /// `AR`: rejected (not HL7, not an ORU^R01, unsupported version…).
    Reject,
}

impl AckCode {
    /// `AA`, `AE` or `AR`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Accept => "AA",
            Self::Error => "AE",
            Self::Reject => "AR",
        }
    }

    /// The code for a set of problems: `AR` if any rejects the message as a whole, `AE` if any
    /// is an error, `AA` when there are none or only warnings.
    pub fn for_errors(errors: &[Hl7Error]) -> Self {
        if errors.iter().any(Hl7Error::is_rejection) {
            Self::Reject
        } else if errors.iter().any(|e| e.severity() == Severity::Error) {
            Self::Error
        } else {
            Self::Accept
        }
    }
}

/// Builds the ACK for `original` (use `MessageHeader::default()` when the message had no
/// readable MSH), with a new `control_id` and `time` for its MSH-10 and MSH-7. It uses the
/// original's delimiters, version, processing ID and MSH-18, and escapes every text it copies.
/// Segments end with `\r`; encode the result with [`crate::encode`] in the charset the message
/// came in.
pub fn ack(
    original: &MessageHeader,
    code: AckCode,
    errors: &[Hl7Error],
    control_id: &str,
    time: time::OffsetDateTime,
) -> String {
    let d = original.delimiters;
    let seps = er7::Separators {
        field: d.field,
        component: d.component,
        repetition: d.repetition,
        escape: d.escape,
        subcomponent: d.subcomponent,
        truncation: None,
    };
    let esc = |text: &str| er7::escape::escape(text, &seps).into_owned();
    let c = d.component.to_string();
    let hd = |hd: &crate::HierarchicDesignator| {
        join_trimmed(
            &[
                esc(&hd.namespace_id),
                esc(&hd.universal_id),
                esc(&hd.universal_id_type),
            ],
            &c,
        )
    };
    let version = if original.version.is_empty() {
        "2.5.1".to_owned()
    } else {
        original.version.clone()
    };
    let old = before_2_5(&version);
    let trigger = esc(&original.message_type.trigger);
    let message_type = match (trigger.is_empty(), before_2_4(&version)) {
        (true, _) => "ACK".to_owned(),
        (false, true) => format!("ACK{c}{trigger}"),
        (false, false) => format!("ACK{c}{trigger}{c}ACK"),
    };
    let processing_id = if original.processing_id.is_empty() {
        "P".to_owned()
    } else {
        esc(&original.processing_id)
    };

    // MSH fields from MSH-3 on; MSH-1 and MSH-2 are the delimiters.
    let mut msh = vec![
        hd(&original.receiving_application),
        hd(&original.receiving_facility),
        hd(&original.sending_application),
        hd(&original.sending_facility),
        Timestamp::from_offset_date_time(time).to_string(),
        String::new(),
        message_type,
        esc(control_id),
        processing_id,
        esc(&version),
    ];
    if !original.character_sets.is_empty() {
        msh.resize(15, String::new());
        let r = d.repetition.to_string();
        msh.push(
            original
                .character_sets
                .iter()
                .map(|s| esc(s))
                .collect::<Vec<_>>()
                .join(&r),
        );
    }
    let f = d.field.to_string();
    let mut out = format!(
        "MSH{}{}{}{}{}{f}{}\r",
        d.field,
        d.component,
        d.repetition,
        d.escape,
        d.subcomponent,
        msh.join(&f)
    );

    let text = errors
        .first()
        .map(|e| esc(&truncate(&e.to_string(), 80)))
        .unwrap_or_default();
    out.push_str(&join_trimmed(
        &[
            "MSA".to_owned(),
            code.code().to_owned(),
            esc(&original.control_id),
            text,
        ],
        &f,
    ));
    out.push('\r');

    for e in errors {
        out.push_str(&err_segment(e, d, old, &esc));
        out.push('\r');
    }
    out
}

fn err_segment(e: &Hl7Error, d: Delimiters, old: bool, esc: &dyn Fn(&str) -> String) -> String {
    let c = d.component.to_string();
    let s = d.subcomponent.to_string();
    let code = e.code();
    let code_text = code.text();
    let erl = e
        .location()
        .map(|at| {
            // Only the segment ID can hold a delimiter (a garbled line read as a segment).
            let escaped = Location {
                segment: esc(&at.segment),
                ..at.clone()
            };
            escaped.to_erl(d.component)
        })
        .unwrap_or_default();
    // ERR-1 (ELD, before v2.5): segment ID ^ sequence ^ field ^ code&text&HL70357.
    let eld = if old {
        let mut parts = match e.location() {
            Some(at) => vec![
                esc(&at.segment),
                at.occurrence.to_string(),
                at.field.map(|f| f.to_string()).unwrap_or_default(),
            ],
            None => vec![String::new(); 3],
        };
        parts.push(format!("{}{s}{code_text}{s}HL70357", code.code()));
        parts.join(&c)
    } else {
        String::new()
    };
    join_trimmed(
        &[
            "ERR".to_owned(),
            eld,
            erl,
            format!("{}{c}{code_text}{c}HL70357", code.code()),
            e.severity().code().to_owned(),
            String::new(),
            String::new(),
            String::new(),
            esc(&e.to_string()),
        ],
        &d.field.to_string(),
    )
}

/// Joins `parts`, dropping trailing empty ones (`A^B^^` is written `A^B`).
fn join_trimmed(parts: &[String], sep: &str) -> String {
    let used = parts
        .iter()
        .rposition(|p| !p.is_empty())
        .map_or(0, |i| i + 1);
    parts[..used].join(sep)
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((i, _)) => text[..i].to_owned(),
        None => text.to_owned(),
    }
}

fn minor_version(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split('.');
    let major = parts.next()?.trim().parse().ok()?;
    let minor = parts.next()?.trim().parse().ok()?;
    Some((major, minor))
}

fn before_2_4(version: &str) -> bool {
    minor_version(version).is_some_and(|v| v < (2, 4))
}

fn before_2_5(version: &str) -> bool {
    minor_version(version).is_some_and(|v| v < (2, 5))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn header(version: &str) -> MessageHeader {
        crate::read_header(&format!(
            "MSH|^~\\&|LIS|HOSP^1.2.3^ISO|HUREN|CENTER|20240305083000||ORU^R01^ORU_R01|MSG0001|P|{version}"
        ))
        .unwrap()
    }

    fn at() -> time::OffsetDateTime {
        time::macros::datetime!(2024-03-05 08:30:05 +08:00)
    }

    #[test]
    fn accept() {
        let a = ack(&header("2.5.1"), AckCode::Accept, &[], "ACK0001", at());
        assert_eq!(
            a,
            "MSH|^~\\&|HUREN|CENTER|LIS|HOSP^1.2.3^ISO|20240305083005+0800||ACK^R01^ACK|ACK0001|P|2.5.1\r\
             MSA|AA|MSG0001\r"
        );
    }

    #[test]
    fn errors_become_err_segments_with_escaped_text() {
        let errors = [
            Hl7Error::NotANumber {
                at: Location::segment(5, "OBX", 2).field(5),
                value: "1|2^3".into(),
            },
            Hl7Error::Application {
                at: Some(Location::segment(4, "OBX", 1).field(3)),
                code: ErrorCode::TableValueNotFound,
                severity: Severity::Warning,
                text: "local code GLU & co is not mapped".into(),
            },
        ];
        let a = ack(
            &header("2.5"),
            AckCode::for_errors(&errors),
            &errors,
            "A2",
            at(),
        );
        let lines: Vec<&str> = a.split('\r').collect();
        assert_eq!(
            lines[1],
            "MSA|AE|MSG0001|segment 5 (OBX), field 5: \"1\\F\\2\\S\\3\" is not a number"
        );
        assert_eq!(
            lines[2],
            "ERR||OBX^2^5^1|102^Data type error^HL70357|E||||segment 5 (OBX), field 5: \"1\\F\\2\\S\\3\" is not a number"
        );
        assert_eq!(
            lines[3],
            "ERR||OBX^1^3^1|103^Table value not found^HL70357|W||||segment 4 (OBX), field 3: local code GLU \\T\\ co is not mapped"
        );
        assert_eq!(lines[4], "");
        // The ACK parses back with the same escapes resolved.
        let parsed = er7::parse(&a).unwrap();
        assert_eq!(
            parsed.query("ERR[2]-8").unwrap().unwrap(),
            errors[1].to_string()
        );
    }

    #[test]
    fn old_versions_get_err_1_and_a_two_part_type() {
        let errors = [Hl7Error::MissingField {
            at: Location::segment(4, "OBX", 1).field(3),
            name: "OBX-3 observation identifier",
        }];
        let a = ack(&header("2.3"), AckCode::Error, &errors, "A3", at());
        let lines: Vec<&str> = a.split('\r').collect();
        assert!(lines[0].contains("|ACK^R01|A3|P|2.3"), "{}", lines[0]);
        assert!(
            lines[2].starts_with("ERR|OBX^1^3^101&Required field missing&HL70357|OBX^1^3^1|101^"),
            "{}",
            lines[2]
        );
    }

    #[test]
    fn reject_without_a_header_and_without_a_location() {
        let errors = [Hl7Error::NotHl7 {
            reason: "message starts with a PID segment".into(),
        }];
        let a = ack(
            &MessageHeader::default(),
            AckCode::Reject,
            &errors,
            "A4",
            at(),
        );
        let lines: Vec<&str> = a.split('\r').collect();
        assert_eq!(
            lines[0],
            "MSH|^~\\&|||||20240305083005+0800||ACK|A4|P|2.5.1"
        );
        assert_eq!(
            lines[1],
            "MSA|AR||not an HL7 v2 message: message starts with a PID segment"
        );
        assert_eq!(
            lines[2],
            "ERR|||100^Segment sequence error^HL70357|E||||not an HL7 v2 message: message starts with a PID segment"
        );
    }

    #[test]
    fn charset_is_echoed_and_msa_text_is_short() {
        let mut h = header("2.5");
        h.character_sets = vec!["GB 18030-2000".into()];
        let long = "超".repeat(200);
        let errors = [Hl7Error::Application {
            at: None,
            code: ErrorCode::ApplicationInternalError,
            severity: Severity::Error,
            text: long.clone(),
        }];
        let a = ack(&h, AckCode::Error, &errors, "A5", at());
        let lines: Vec<&str> = a.split('\r').collect();
        assert!(
            lines[0].ends_with("|P|2.5||||||GB 18030-2000"),
            "{}",
            lines[0]
        );
        assert_eq!(lines[1], format!("MSA|AE|MSG0001|{}", "超".repeat(80)));
        assert!(lines[2].ends_with(&long));
    }

    #[test]
    fn ack_codes() {
        assert_eq!(AckCode::for_errors(&[]), AckCode::Accept);
        let warn = Hl7Error::Application {
            at: None,
            code: ErrorCode::TableValueNotFound,
            severity: Severity::Warning,
            text: "w".into(),
        };
        assert_eq!(
            AckCode::for_errors(std::slice::from_ref(&warn)),
            AckCode::Accept
        );
        assert_eq!(
            AckCode::for_errors(&[warn.clone(), Hl7Error::NoObservations]),
            AckCode::Error
        );
        assert_eq!(
            AckCode::for_errors(&[warn, Hl7Error::NotHl7 { reason: "x".into() }]),
            AckCode::Reject
        );
    }
}
