//! Properties: parsing never panics, whatever the bytes; a generated valid message comes back
//! with its key fields intact, in UTF-8 or GB18030, with any segment terminator; MLLP framing
//! survives any chunking.

use crate::data;
use huren_core::result::{Comparator, Decimal, PatientIdPolicy, SentValue};
use huren_hl7v2::mllp::{Decoder, frame};
use huren_hl7v2::{
    AckCode, MessageHeader, ResultOptions, Severity, Value, ack, decode, lab_results, parse_oru,
    parse_oru_bytes,
};
use proptest::prelude::*;

fn now() -> time::OffsetDateTime {
    time::macros::datetime!(2024-03-05 10:00:00 +08:00)
}

/// Parses, and builds the ACK the listener would send: neither may panic.
fn exercise(bytes: &[u8]) {
    let _ = decode(bytes);
    match parse_oru_bytes(bytes) {
        Ok(m) => {
            let _ = ack(&m.header, AckCode::Accept, &[], "X", now());
            for (_, _, obx) in m.observations() {
                let _ = (obx.unit(), obx.value(), obx.location(5));
            }
            let (results, problems) = lab_results(&m, &options(&policy()));
            let _ = ack(
                &m.header,
                AckCode::for_errors(&problems),
                &problems,
                "X",
                now(),
            );
            for r in results {
                let _ = (r.identifier, r.effective, r.issued);
            }
        }
        Err(rejected) => {
            let header = rejected.header.clone().unwrap_or_default();
            let _ = ack(&header, rejected.ack_code(), &rejected.errors, "X", now());
            for e in &rejected.errors {
                let _ = (e.to_string(), e.location().map(|l| l.to_erl('^')), e.code());
            }
        }
    }
}

fn policy() -> PatientIdPolicy {
    PatientIdPolicy {
        national_system: "urn:oid:2.16.156.10011.1.1".into(),
        national_types: vec!["NNCHN".into()],
        hospital_system: "https://huren.example/hospital/h1/patient".into(),
    }
}

fn options(patients: &PatientIdPolicy) -> ResultOptions<'_> {
    ResultOptions {
        patients,
        default_offset_minutes: 480,
    }
}

/// Bytes that mean something to HL7, MLLP or the character decoders.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        Just(b'|'),
        Just(b'^'),
        Just(b'~'),
        Just(b'\\'),
        Just(b'&'),
        Just(b'\r'),
        Just(b'\n'),
        Just(0x0B),
        Just(0x1C),
        Just(0xFF),
        Just(0x81),
        Just(0xE4),
        Just(b'"'),
        Just(b'.'),
        Just(b'+'),
        Just(b'-'),
        Just(b'<'),
        Just(b'X'),
        Just(b'0'),
        any::<u8>(),
    ]
}

const FILES: [&str; 14] = [
    "cbc.hl7",
    "chem.hl7",
    "corrected.hl7",
    "electrolytes.hl7",
    "gbk.hl7",
    "kidney.hl7",
    "lf.hl7",
    "liver.hl7",
    "no_obx.hl7",
    "nte.hl7",
    "problems.hl7",
    "sn.hl7",
    "two_patients.hl7",
    "v23.hl7",
];

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        exercise(&bytes);
        let mut prefixed = b"MSH|^~\\&|".to_vec();
        prefixed.extend(&bytes);
        exercise(&prefixed);
    }

    #[test]
    fn random_segments_never_panic(
        segments in proptest::collection::vec(
            "(MSH|PID|OBR|OBX|NTE|SPM|ZZ1|[A-Za-z]{1,4})[|^~\\\\&0-9A-Za-z.+<>: \"\u{4e00}-\u{4e0f}-]{0,80}",
            0..12,
        ),
        header in "MSH\\|\\^~\\\\&[|^~\\\\&0-9A-Z.]{0,60}",
    ) {
        let text = std::iter::once(header).chain(segments).collect::<Vec<_>>().join("\r");
        exercise(text.as_bytes());
    }

    #[test]
    fn mangled_messages_never_panic(
        file in 0..FILES.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), interesting_byte(), 0..3u8), 1..12),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = data(FILES[file]);
        for (at, byte, kind) in edits {
            if bytes.is_empty() { break; }
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => { bytes.remove(i); }
            }
        }
        exercise(&bytes);
        let keep = cut.index(bytes.len() + 1);
        exercise(&bytes[..keep]);
    }

    #[test]
    fn mllp_decoder_never_panics(
        bytes in proptest::collection::vec(interesting_byte(), 0..400),
        chunk in 1..50usize,
        limit in 1..200usize,
    ) {
        let mut decoder = Decoder::with_limit(limit);
        for part in bytes.chunks(chunk) {
            decoder.feed(part);
            while decoder.next_message().is_some() {}
            prop_assert!(decoder.buffered() <= limit + chunk + 1);
        }
        let _ = decoder.finish();
    }

    #[test]
    fn framed_payloads_come_back_whole(
        payloads in proptest::collection::vec(
            proptest::collection::vec(any::<u8>().prop_filter("not framing", |b| *b != 0x0B && *b != 0x1C), 0..200),
            1..5,
        ),
        chunk in 1..64usize,
    ) {
        let stream: Vec<u8> = payloads.iter().flat_map(|p| frame(p)).collect();
        let mut decoder = Decoder::new();
        let mut got = Vec::new();
        for part in stream.chunks(chunk) {
            decoder.feed(part);
            while let Some(m) = decoder.next_message() {
                got.push(m.expect("valid frames only"));
            }
        }
        prop_assert_eq!(got, payloads);
        prop_assert!(decoder.finish().is_none());
    }
}

/// One generated OBX.
#[derive(Debug, Clone)]
struct GenObx {
    code: String,
    name: String,
    value: GenValue,
    unit: &'static str,
    flag: &'static str,
    status: &'static str,
}

#[derive(Debug, Clone)]
enum GenValue {
    /// NM as text, e.g. `6.30`.
    Numeric(String),
    /// SN comparator and number, e.g. `>` and `11.0`.
    Comparator(&'static str, String),
    /// ST text.
    Text(String),
}

/// Escapes text for a generated message, written independently of the crate's escaping.
fn esc(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\E\\"),
            '|' => out.push_str("\\F\\"),
            '^' => out.push_str("\\S\\"),
            '~' => out.push_str("\\R\\"),
            '&' => out.push_str("\\T\\"),
            c => out.push(c),
        }
    }
    out
}

fn decimal() -> impl Strategy<Value = String> {
    (
        0..100_000u32,
        proptest::option::of("[0-9]{1,4}"),
        any::<bool>(),
    )
        .prop_map(|(int, frac, negative)| {
            let sign = if negative { "-" } else { "" };
            match frac {
                Some(f) => format!("{sign}{int}.{f}"),
                None => format!("{sign}{int}"),
            }
        })
}

/// Names with Chinese, Latin, and every delimiter, so escaping is exercised.
fn text() -> impl Strategy<Value = String> {
    "[\u{4e00}-\u{9fa5}A-Za-z0-9 ()/%µ|^~&\\\\-]{1,12}"
        .prop_filter("not blank", |s| !s.trim().is_empty())
}

fn gen_obx() -> impl Strategy<Value = GenObx> {
    let value = prop_oneof![
        decimal().prop_map(GenValue::Numeric),
        (prop::sample::select(vec![">", "<", ">=", "<="]), decimal())
            .prop_map(|(c, n)| GenValue::Comparator(c, n)),
        text().prop_map(GenValue::Text),
    ];
    (
        "[A-Z][A-Z0-9-]{0,7}",
        text(),
        value,
        prop::sample::select(vec![
            "mmol/L", "µmol/L", "10*9/L", "x10^9/L", "U/L", "mg/dL", "%", "",
        ]),
        prop::sample::select(vec!["", "H", "L", "N", "HH", "LL"]),
        prop::sample::select(vec!["F", "C", "P"]),
    )
        .prop_map(|(code, name, value, unit, flag, status)| GenObx {
            code,
            name,
            value,
            unit,
            flag,
            status,
        })
}

fn timestamp() -> impl Strategy<Value = String> {
    (
        1990..2031u32,
        1..13u32,
        1..29u32,
        0..24u32,
        0..60u32,
        0..60u32,
        prop::sample::select(vec!["", "+0800", "-0500", "+0000"]),
        0..4usize,
    )
        .prop_map(|(y, mo, d, h, mi, s, offset, precision)| {
            let full = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}");
            let len = [8, 10, 12, 14][precision];
            format!("{}{offset}", &full[..len])
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn generated_messages_round_trip_their_key_fields(
        control_id in "[A-Z0-9]{1,20}",
        facility in "[A-Za-z0-9]{1,10}",
        patient_id in "[0-9]{6,18}",
        patient_name in text(),
        time in timestamp(),
        observations in proptest::collection::vec(gen_obx(), 1..8),
        terminator in prop::sample::select(vec!["\r", "\n", "\r\n"]),
        gb18030 in any::<bool>(),
    ) {
        let charset = if gb18030 { "GB 18030-2000" } else { "UNICODE UTF-8" };
        let mut segments = vec![
            format!("MSH|^~\\&|LIS|{facility}|HUREN|HUREN|{time}||ORU^R01^ORU_R01|{control_id}|P|2.5.1|||||{charset}"),
            format!("PID|1||{patient_id}^^^{facility}^MR||{}||19850312|F", esc(&patient_name)),
            format!("OBR|1||F{control_id}|PANEL^组合^L|||{time}"),
        ];
        for (i, o) in observations.iter().enumerate() {
            let (vt, value) = match &o.value {
                GenValue::Numeric(n) => ("NM", n.clone()),
                GenValue::Comparator(c, n) => ("SN", format!("{c}^{n}")),
                GenValue::Text(t) => ("ST", esc(t)),
            };
            segments.push(format!(
                "OBX|{}|{vt}|{}^{}^L||{value}|{}||{}|||{}|||{time}",
                i + 1, o.code, esc(&o.name), esc(o.unit), o.flag, o.status,
            ));
        }
        let text = segments.join(terminator);
        let bytes = if gb18030 {
            encoding_rs::GB18030.encode(&text).0.into_owned()
        } else {
            text.clone().into_bytes()
        };

        let m = parse_oru_bytes(&bytes).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&m, &parse_oru(&text).unwrap());
        prop_assert_eq!(&m.header.control_id, &control_id);
        prop_assert_eq!(&m.header.sending_facility.namespace_id, &facility);
        prop_assert_eq!(m.header.time.as_ref().unwrap().to_string(), time.clone());
        let patient = m.patient_results[0].patient.as_ref().unwrap();
        prop_assert_eq!(&patient.identifiers[0].id, &patient_id);
        prop_assert_eq!(&patient.names[0].family, &patient_name);
        let parsed: Vec<_> = m.observations().map(|(_, _, o)| o).collect();
        prop_assert_eq!(parsed.len(), observations.len());
        for (i, (got, want)) in parsed.iter().zip(&observations).enumerate() {
            prop_assert_eq!(got.segment, 4 + i);
            prop_assert_eq!(got.set_id, Some(u32::try_from(i + 1).unwrap()));
            prop_assert_eq!(&got.code.identifier, &want.code);
            prop_assert_eq!(&got.code.text, &want.name);
            prop_assert_eq!(got.unit().unwrap_or(""), want.unit);
            prop_assert_eq!(got.abnormal_flags.first().map_or("", String::as_str), want.flag);
            prop_assert_eq!(got.result_status.as_str(), want.status);
            prop_assert_eq!(got.observation_time.as_ref().unwrap().to_string(), time.clone());
            match (&want.value, got.value()) {
                (GenValue::Numeric(n), Some(Value::Numeric(v))) => prop_assert_eq!(v.as_str(), n),
                (GenValue::Comparator(c, n), Some(Value::StructuredNumeric(sn))) => {
                    prop_assert_eq!(sn.comparator.map(|c| c.as_str()), Some(*c));
                    prop_assert_eq!(sn.num1.as_ref().map(|n| n.as_str()), Some(n.as_str()));
                }
                (GenValue::Text(t), Some(Value::Text(v))) => prop_assert_eq!(v, t),
                (want, got) => prop_assert!(false, "{:?} came back as {:?}", want, got),
            }
        }
        // One result per OBX (a code sent twice in one order is a duplicate identity), values
        // with the sender's digits.
        let (results, problems) = lab_results(&m, &options(&policy()));
        let mut first = std::collections::HashSet::new();
        let kept: Vec<_> = observations.iter().filter(|o| first.insert(o.code.clone())).collect();
        prop_assert_eq!(results.len(), kept.len());
        prop_assert_eq!(
            problems.iter().filter(|p| p.severity() == Severity::Error).count(),
            observations.len() - kept.len()
        );
        for (r, want) in results.iter().zip(kept) {
            prop_assert_eq!(&r.codes[0].code, &want.code);
            let year = format!("{}-", &time[..4]);
            prop_assert!(r.effective.as_deref().is_some_and(|e| e.starts_with(&year)));
            prop_assert_eq!(r.specimen.as_str(), "");
            match (&want.value, &r.value) {
                (GenValue::Numeric(n), SentValue::Quantity { value, comparator: None, unit }) => {
                    prop_assert_eq!(value, &Decimal::parse(n).unwrap());
                    prop_assert_eq!(unit.as_str(), want.unit);
                }
                (GenValue::Comparator(c, n), SentValue::Quantity { value, comparator: Some(got), unit }) => {
                    prop_assert_eq!(Some(*got), Comparator::parse(c));
                    prop_assert_eq!(value, &Decimal::parse(n).unwrap());
                    prop_assert_eq!(unit.as_str(), want.unit);
                }
                (GenValue::Text(t), SentValue::Text { text }) => prop_assert_eq!(text, t),
                (want, got) => prop_assert!(false, "{:?} came back as {:?}", want, got),
            }
        }

        // The ACK is addressed back to the sender.
        let a = ack(&m.header, AckCode::Accept, &[], "A1", now());
        let expected_msa = format!("MSA|AA|{control_id}");
        prop_assert!(a.contains(&expected_msa));
        let _ = MessageHeader::default();
    }
}
