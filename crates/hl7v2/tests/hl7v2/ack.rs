//! ACKs for the data files and for broken versions of them.

use crate::{data, parse};
use huren_hl7v2::{
    AckCode, ErrorCode, Hl7Error, MessageHeader, Severity, ack, decode, encode, parse_oru,
    parse_oru_bytes,
};

fn now() -> time::OffsetDateTime {
    time::macros::datetime!(2024-03-05 10:00:00 +08:00)
}

fn segments(ack: &str) -> Vec<&str> {
    ack.split('\r').filter(|s| !s.is_empty()).collect()
}

#[test]
fn accepted_message() {
    let m = parse("cbc.hl7");
    let a = ack(&m.header, AckCode::Accept, &[], "HUREN0001", now());
    assert_eq!(
        segments(&a),
        [
            "MSH|^~\\&|HUREN|HUREN|LIS|BJCH^12110000400000000X^ISO|20240305100000+0800||ACK^R01^ACK|HUREN0001|P|2.5.1||||||UNICODE UTF-8",
            "MSA|AA|LIS20240305000123",
        ]
    );
}

#[test]
fn errors_in_a_broken_message_each_get_an_err_segment() {
    let text = String::from_utf8(data("electrolytes.hl7")).unwrap();
    let broken = text
        .replace("|5.80|", "|5,80|")
        .replace(
            "NA^钠^L^2951-2^Sodium [Moles/volume] in Serum or Plasma^LN",
            "",
        )
        .replace(
            "20240305081500+0800||||||||||||||||||F",
            "2024-03-05||||||||||||||||||F",
        );
    let rejected = parse_oru(&broken).unwrap_err();
    let messages: Vec<String> = rejected.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "segment 3 (OBR), field 7: \"2024-03-05\" is not an HL7 timestamp: time-zone offset \"-03-05\" is not +HHMM or -HHMM (expected YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ])",
            "segment 4 (OBX), field 5: \"5,80\" is not a number",
            "segment 5 (OBX), field 3: required field OBX-3 observation identifier is missing",
        ]
    );
    assert_eq!(rejected.ack_code(), AckCode::Error);
    let header = rejected.header.as_ref().unwrap();
    let a = ack(
        header,
        rejected.ack_code(),
        &rejected.errors,
        "HUREN0002",
        now(),
    );
    let segs = segments(&a);
    assert_eq!(segs.len(), 2 + 3);
    assert!(segs[1].starts_with("MSA|AE|LIS20240305000126|segment 3 (OBR), field 7: "));
    assert_eq!(
        segs[2],
        format!(
            "ERR||OBR^1^7^1|102^Data type error^HL70357|E||||{}",
            messages[0]
        )
    );
    assert_eq!(
        segs[3],
        format!(
            "ERR||OBX^1^5^1|102^Data type error^HL70357|E||||{}",
            messages[1]
        )
    );
    assert_eq!(
        segs[4],
        format!(
            "ERR||OBX^2^3^1|101^Required field missing^HL70357|E||||{}",
            messages[2]
        )
    );
}

#[test]
fn wrong_message_type_is_rejected() {
    let text = String::from_utf8(data("cbc.hl7"))
        .unwrap()
        .replace("ORU^R01^ORU_R01", "ORM^O01");
    let rejected = parse_oru(&text).unwrap_err();
    assert_eq!(rejected.errors.len(), 1);
    assert!(matches!(
        &rejected.errors[0],
        Hl7Error::WrongMessageType { found, .. } if found == "ORM^O01"
    ));
    let a = ack(
        rejected.header.as_ref().unwrap(),
        rejected.ack_code(),
        &rejected.errors,
        "H3",
        now(),
    );
    let segs = segments(&a);
    assert!(segs[0].contains("|ACK^O01^ACK|H3|"), "{}", segs[0]);
    assert_eq!(
        segs[2],
        "ERR||MSH^1^9^1|200^Unsupported message type^HL70357|E||||segment 1 (MSH), field 9: message type is \"ORM\\S\\O01\", expected ORU\\S\\R01"
    );
    assert!(segs[1].starts_with("MSA|AR|LIS20240305000123|"));
}

#[test]
fn not_hl7_is_rejected_with_a_default_header() {
    let rejected = parse_oru_bytes(b"GET / HTTP/1.1\r\n").unwrap_err();
    assert!(rejected.header.is_none());
    let a = ack(
        &MessageHeader::default(),
        rejected.ack_code(),
        &rejected.errors,
        "H4",
        now(),
    );
    assert!(segments(&a)[1].starts_with("MSA|AR||not an HL7 v2 message: "));
}

#[test]
fn an_undecodable_message_still_gets_an_addressed_ack() {
    let mut bytes = data("cbc.hl7");
    bytes.extend_from_slice(b"NTE|1||\xFF\xFE\r");
    let rejected = parse_oru_bytes(&bytes).unwrap_err();
    assert!(matches!(rejected.errors[..], [Hl7Error::Encoding { .. }]));
    assert_eq!(rejected.ack_code(), AckCode::Reject);
    let header = rejected.header.unwrap();
    assert_eq!(header.control_id, "LIS20240305000123");
}

#[test]
fn gb18030_ack_round_trips_with_chinese_warning() {
    let bytes = data("gbk.hl7");
    let decoded = decode(&bytes).unwrap();
    let m = parse_oru(&decoded.text).unwrap();
    let (_, _, glu) = m.observations().next().unwrap();
    let warning = Hl7Error::Application {
        at: Some(glu.location(3)),
        code: ErrorCode::TableValueNotFound,
        severity: Severity::Warning,
        text: format!("本地项目 {}^{} 未映射", glu.code.identifier, glu.code.text),
    };
    let code = AckCode::for_errors(std::slice::from_ref(&warning));
    assert_eq!(code, AckCode::Accept);
    let a = ack(&m.header, code, &[warning], "H5", now());
    let wire = encode(&a, decoded.charset);
    assert!(
        std::str::from_utf8(&wire).is_err(),
        "the ACK is sent in GB18030"
    );
    let back = decode(&wire).unwrap();
    assert_eq!(back.charset, huren_hl7v2::Charset::Gb18030);
    assert_eq!(back.declared.as_deref(), Some("GB 18030-2000"));
    let segs = segments(&back.text);
    assert_eq!(
        segs[2],
        "ERR||OBX^1^3^1|103^Table value not found^HL70357|W||||segment 4 (OBX), field 3: 本地项目 GLU\\S\\葡萄糖 未映射"
    );
}
