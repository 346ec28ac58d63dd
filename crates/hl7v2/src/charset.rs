//! Character sets: bytes off the wire to text, and text back to bytes for the ACK.
//!
//! Chinese LIS send UTF-8 or GB18030/GBK. MSH-18 should say which, but it is often empty or
//! wrong, so the bytes have the last word: UTF-8 is tried first when nothing (or UTF-8) is
//! declared, because GBK text with Chinese in it is almost never valid UTF-8; anything that is
//! not UTF-8 is read as GB18030, the superset of GBK and GB 2312. Text that is neither is
//! refused with the offset of the first bad byte rather than decoded with replacement
//! characters, because a mangled patient name or test name must not be stored. Decoding goes
//! through `encoding_rs` (Firefox's encoding library), like `huren-csv`.

use crate::Hl7Error;
use std::borrow::Cow;

/// A character set a message can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Charset {
    /// UTF-8 (and its subset ASCII).
    Utf8,
    /// GB18030, which includes GBK and GB 2312.
    Gb18030,
    /// ISO 8859-1, read as windows-1252 as the WHATWG encoding standard does.
    Latin1,
}

impl Charset {
    /// The HL7 table 0211 name, for MSH-18.
    pub fn hl7_name(self) -> &'static str {
        match self {
            Self::Utf8 => "UNICODE UTF-8",
            Self::Gb18030 => "GB 18030-2000",
            Self::Latin1 => "8859/1",
        }
    }

    fn encoding(self) -> &'static encoding_rs::Encoding {
        match self {
            Self::Utf8 => encoding_rs::UTF_8,
            Self::Gb18030 => encoding_rs::GB18030,
            Self::Latin1 => encoding_rs::WINDOWS_1252,
        }
    }

    /// Reads an MSH-18 value: the HL7 table 0211 names (`UNICODE UTF-8`, `GB 18030-2000`,
    /// `8859/1`, `ASCII`) and what Chinese systems write instead (`UTF8`, `GBK`, `GB2312`,
    /// `CHINESE`, `CP936`…). Case, spaces, `-` and `_` do not matter. `None` for anything else.
    pub fn from_label(label: &str) -> Option<Self> {
        let key: String = label
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '_' | '/'))
            .flat_map(char::to_uppercase)
            .collect();
        match key.as_str() {
            "UNICODEUTF8" | "UTF8" | "UNICODE" | "ASCII" | "USASCII" => Some(Self::Utf8),
            "GB180302000" | "GB18030" | "GB180302005" | "GBK" | "GB2312" | "GB231280"
            | "CHINESE" | "CP936" | "EUCCN" | "ISOIR58" | "GB" => Some(Self::Gb18030),
            "88591" | "ISO88591" | "LATIN1" | "ISOIR100" => Some(Self::Latin1),
            _ => None,
        }
    }
}

/// Text decoded from a message's bytes, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// The message text, without a byte-order mark.
    pub text: Cow<'a, str>,
    /// The character set the bytes were read in.
    pub charset: Charset,
    /// MSH-18 (first repetition, first component) as sent, if any.
    pub declared: Option<String>,
    /// True when MSH-18 named a known character set and the bytes were not in it (so they were
    /// read in the other one). Worth a warning to the sender.
    pub mismatch: bool,
}

/// Decodes a message's bytes: UTF-8, or GB18030 when MSH-18 says so (`GB 18030-2000`, `GBK`,
/// `CHINESE`…) or when the bytes are not UTF-8. A UTF-8 byte-order mark is dropped.
///
/// # Errors
///
/// [`Hl7Error::Encoding`] when the bytes are not valid in any character set that fits.
pub fn decode(bytes: &[u8]) -> Result<Decoded<'_>, Hl7Error> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let declared = declared_charset(bytes);
    let declared_charset = declared.as_deref().and_then(Charset::from_label);
    let decoded = |text, charset: Charset| Decoded {
        text,
        charset,
        mismatch: declared_charset.is_some_and(|d| d != charset),
        declared: declared.clone(),
    };
    match declared_charset {
        Some(charset @ (Charset::Gb18030 | Charset::Latin1)) => {
            match strict(charset, bytes) {
                Ok(text) => Ok(decoded(text, charset)),
                // Declared GB18030 but actually UTF-8: a misconfigured interface engine.
                Err(offset) => match std::str::from_utf8(bytes) {
                    Ok(text) => Ok(decoded(Cow::Borrowed(text), Charset::Utf8)),
                    Err(_) => Err(Hl7Error::Encoding { declared, offset }),
                },
            }
        }
        Some(Charset::Utf8) | None => match std::str::from_utf8(bytes) {
            Ok(text) => Ok(decoded(Cow::Borrowed(text), Charset::Utf8)),
            Err(utf8) => match strict(Charset::Gb18030, bytes) {
                Ok(text) => Ok(decoded(text, Charset::Gb18030)),
                Err(_) => Err(Hl7Error::Encoding {
                    declared,
                    offset: utf8.valid_up_to(),
                }),
            },
        },
    }
}

/// Encodes text (an ACK) in `charset`, for a reply in the character set the sender used.
/// GB18030 and UTF-8 can encode every character. For Latin-1, a character outside it becomes
/// `?`: `encoding_rs` would write `&#NNNN;`, and `&` is the HL7 subcomponent separator.
pub fn encode(text: &str, charset: Charset) -> Vec<u8> {
    match charset {
        Charset::Utf8 => text.as_bytes().to_vec(),
        Charset::Gb18030 => encoding_rs::GB18030.encode(text).0.into_owned(),
        Charset::Latin1 => {
            let latin1: String = text
                .chars()
                .map(|c| {
                    if matches!(u32::from(c), 0..0x80 | 0xA0..0x100) {
                        c
                    } else {
                        '?'
                    }
                })
                .collect();
            encoding_rs::WINDOWS_1252.encode(&latin1).0.into_owned()
        }
    }
}

/// Decodes without replacement characters; on failure, the offset of the first bad byte.
fn strict(charset: Charset, bytes: &[u8]) -> Result<Cow<'_, str>, usize> {
    let encoding = charset.encoding();
    if let Some(text) = encoding.decode_without_bom_handling_and_without_replacement(bytes) {
        return Ok(text);
    }
    // Find where it broke, for the error message.
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(bytes.len().saturating_mul(3).saturating_add(16));
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    Err(match result {
        encoding_rs::DecoderResult::Malformed(bad, after) => {
            read.saturating_sub(usize::from(bad) + usize::from(after))
        }
        _ => read,
    })
}

/// MSH-18, read from the raw bytes before any decoding: the MSH segment up to MSH-18 is ASCII
/// in practice, and the delimiters are single ASCII bytes. `None` when there is no MSH, no
/// MSH-18, or the delimiters are not ASCII.
fn declared_charset(bytes: &[u8]) -> Option<String> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let msh = &bytes[start..];
    let line_end = msh
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(msh.len());
    let line = &msh[..line_end];
    if !line.starts_with(b"MSH") {
        return None;
    }
    let &field = line.get(3)?;
    let component = line.get(4).copied().unwrap_or(b'^');
    let repetition = line.get(5).copied().unwrap_or(b'~');
    if !field.is_ascii() || !component.is_ascii() || !repetition.is_ascii() {
        return None;
    }
    // Split at the field separator: piece 0 is "MSH", piece n is MSH-(n+1).
    let msh18 = line.split(|&b| b == field).nth(17)?;
    let first = msh18
        .split(|&b| b == repetition)
        .next()?
        .split(|&b| b == component)
        .next()?;
    let label = String::from_utf8_lossy(first).trim().to_owned();
    (!label.is_empty()).then_some(label)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msh(charset: &str) -> String {
        format!(
            "MSH|^~\\&|LIS|HOSP|HUREN|HUREN|20240305083000||ORU^R01|1|P|2.5||||||{}\rPID|1||1||",
            charset
        )
    }

    #[test]
    fn labels() {
        for (label, charset) in [
            ("UNICODE UTF-8", Some(Charset::Utf8)),
            ("utf-8", Some(Charset::Utf8)),
            ("GB 18030-2000", Some(Charset::Gb18030)),
            ("gbk", Some(Charset::Gb18030)),
            ("CHINESE", Some(Charset::Gb18030)),
            ("GB2312", Some(Charset::Gb18030)),
            ("8859/1", Some(Charset::Latin1)),
            ("ISO IR87", None),
            ("", None),
        ] {
            assert_eq!(Charset::from_label(label), charset, "{label}");
        }
    }

    #[test]
    fn declared_gb18030_is_decoded() {
        let text = msh("GB 18030-2000") + "张三^^";
        let (bytes, _, _) = encoding_rs::GB18030.encode(&text);
        let d = decode(&bytes).unwrap();
        assert_eq!(d.charset, Charset::Gb18030);
        assert_eq!(d.declared.as_deref(), Some("GB 18030-2000"));
        assert!(!d.mismatch);
        assert!(d.text.ends_with("张三^^"));
    }

    #[test]
    fn undeclared_gbk_is_sniffed() {
        let text = msh("") + "血常规";
        let (bytes, _, _) = encoding_rs::GBK.encode(&text);
        assert!(std::str::from_utf8(&bytes).is_err());
        let d = decode(&bytes).unwrap();
        assert_eq!(
            (d.charset, d.declared.as_deref(), d.mismatch),
            (Charset::Gb18030, None, false)
        );
        assert!(d.text.ends_with("血常规"));
    }

    #[test]
    fn utf8_declared_but_gbk_sent_is_read_as_gbk_and_flagged() {
        let text = msh("UNICODE UTF-8") + "肌酐";
        let (bytes, _, _) = encoding_rs::GBK.encode(&text);
        let d = decode(&bytes).unwrap();
        assert_eq!(d.charset, Charset::Gb18030);
        assert!(d.mismatch);
        assert!(d.text.ends_with("肌酐"));
    }

    #[test]
    fn gb_declared_but_utf8_sent_is_read_as_utf8_when_gb_fails() {
        // 中 is E4 B8 AD in UTF-8: E4 B8 is a GB18030 pair, but AD followed by "/" is not.
        let bytes = (msh("GBK") + "中/").into_bytes();
        let d = decode(&bytes).unwrap();
        assert_eq!(d.charset, Charset::Utf8);
        assert!(d.mismatch);
    }

    #[test]
    fn utf8_with_bom() {
        let bytes = [&b"\xEF\xBB\xBF"[..], msh("UNICODE UTF-8").as_bytes()].concat();
        let d = decode(&bytes).unwrap();
        assert!(d.text.starts_with("MSH|"));
        assert_eq!(d.charset, Charset::Utf8);
    }

    #[test]
    fn garbage_is_refused_with_an_offset() {
        let mut bytes = msh("").into_bytes();
        let at = bytes.len();
        bytes.extend_from_slice(&[0x81, 0x20, 0xFF]);
        match decode(&bytes) {
            Err(Hl7Error::Encoding {
                declared: None,
                offset,
            }) => assert_eq!(offset, at),
            other => panic!("{other:?}"),
        }
        let mut bytes = msh("GBK").into_bytes();
        let at = bytes.len();
        bytes.extend_from_slice(&[0x81, 0x20, 0xFF]);
        match decode(&bytes) {
            Err(Hl7Error::Encoding {
                declared: Some(d),
                offset,
            }) => {
                assert_eq!((d.as_str(), offset), ("GBK", at));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn msh18_is_read_from_repetitions_and_components() {
        assert_eq!(
            declared_charset(msh("GBK~UNICODE UTF-8").as_bytes()).as_deref(),
            Some("GBK")
        );
        assert_eq!(declared_charset(b"MSH|^~\\&|A"), None);
        assert_eq!(declared_charset(b"PID|1"), None);
        assert_eq!(declared_charset(b"MSH"), None);
        assert_eq!(declared_charset(b""), None);
    }

    #[test]
    fn latin1_replaces_what_it_cannot_encode() {
        assert_eq!(encode("MSA|AE|1|é 葡", Charset::Latin1), b"MSA|AE|1|\xE9 ?");
    }

    #[test]
    fn encode_round_trips() {
        for charset in [Charset::Utf8, Charset::Gb18030] {
            let bytes = encode("MSA|AE|1|葡萄糖 µmol/L", charset);
            assert_eq!(decode(&bytes).unwrap().text, "MSA|AE|1|葡萄糖 µmol/L");
        }
    }
}
