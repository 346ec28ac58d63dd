//! A stored result's three texts — the Observation as served, the result as sent and its
//! recognition facts — packed into one compressed value (`body`).
//!
//! Why: those texts were ~2.8 kB per result, one SQLite page each with the rest of the page
//! wasted, about 5 kB per stored result in all. They are JSON made mostly of the same keys,
//! code system URLs and reason texts, which zstd with a dictionary trained on stored results
//! reduces to a small fraction (on the performance harness's results: ~130 bytes for 2.9 kB with
//! dictionary 2; `docs/performance.md`). zstd is the `zstd` crate (the reference C library,
//! built from source by `cc`; tantivy already links it), not a hand-written codec.
//!
//! Format: one byte naming the format, then a zstd frame (with its checksum) of
//! `resource NUL source NUL recognition` (JSON never holds a raw NUL), compressed with the
//! format's dictionary: format 1 with dictionary 1 (`dict/observations-1.zdict`, 32 KiB,
//! dictionary id 1), format 2 with dictionary 2 (`dict/observations-2.zdict`, 110 KiB, id 2).
//! New rows are written in format 2. A dictionary, once used, must be kept for as long as rows
//! use it: a better one is added as a new format with its own id, and rows written before keep
//! decoding with theirs.
//!
//! Dictionary 1 was trained with `zstd --train --maxdict=32768 --dictID=1` on 4,000 results
//! stored by the performance harness (`benches/src/bin/perf.rs`) for 10 of its hospitals.
//! Dictionary 2 was trained with `zstd --train --maxdict=112640 --dictID=2` (zstd's default
//! size) on 12,000 results stored by the harness for its 50 hospitals, after the stored
//! resource had gained its recognition tag and extension, which dictionary 1 had never seen:
//! on 2,000 results of another run of the harness it makes frames of 132 bytes where dictionary
//! 1 made 429 at the same level (3), and packs and unpacks about twice as fast. The harness's
//! results come from one generator; real results, with other names, values and identifiers,
//! pack less well (`zstd -b3 -D crates/store/dict/observations-2.zdict` on a sample of a
//! deployment's own bodies measures it).
//!
//! Rows written before `body` existed keep their texts in the old columns and an empty `body`;
//! they are read as they are ([`unpack_or`]).

use std::cell::RefCell;
use std::sync::LazyLock;

/// The format byte of dictionary-1 zstd frames (read only).
const FORMAT_1: u8 = 1;
/// The format byte of dictionary-2 zstd frames (written).
const FORMAT_2: u8 = 2;
/// The dictionary of format 1.
const DICTIONARY_1: &[u8] = include_bytes!("../dict/observations-1.zdict");
/// The dictionary of format 2.
const DICTIONARY_2: &[u8] = include_bytes!("../dict/observations-2.zdict");
/// zstd's level: its default, 3. With dictionary 2, level 5 made frames 9 % smaller (120
/// bytes against 132) at a quarter of the speed; the level 6 used with dictionary 1 packed at
/// 94 MB/s, ~30 µs per result and 14 % of the ingest's time (`docs/performance.md`, the eighth
/// pass). The level is the packer's alone: frames of any level unpack alike.
const LEVEL: i32 = 3;
/// The largest unpacked size taken (a stored result is a few kB; this bounds a corrupt frame).
const MAX_UNPACKED: usize = 16 << 20;

static ENCODER_2: LazyLock<zstd::dict::EncoderDictionary<'static>> =
    LazyLock::new(|| zstd::dict::EncoderDictionary::copy(DICTIONARY_2, LEVEL));
static DECODER_1: LazyLock<zstd::dict::DecoderDictionary<'static>> =
    LazyLock::new(|| zstd::dict::DecoderDictionary::copy(DICTIONARY_1));
static DECODER_2: LazyLock<zstd::dict::DecoderDictionary<'static>> =
    LazyLock::new(|| zstd::dict::DecoderDictionary::copy(DICTIONARY_2));

thread_local! {
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    /// One decompressor per format, made when a row of that format is first read.
    static DECOMPRESSORS: RefCell<[Option<zstd::bulk::Decompressor<'static>>; 2]> = const { RefCell::new([None, None]) };
}

/// Packs the three texts (format 2).
pub(crate) fn pack(resource: &str, source: &str, recognition: &str) -> Vec<u8> {
    let mut plain = Vec::with_capacity(resource.len() + source.len() + recognition.len() + 2);
    plain.extend_from_slice(resource.as_bytes());
    plain.push(0);
    plain.extend_from_slice(source.as_bytes());
    plain.push(0);
    plain.extend_from_slice(recognition.as_bytes());
    COMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        let compressor = match &mut *cell {
            Some(c) => c,
            None => cell.insert(new_compressor()),
        };
        let frame = compressor
            .compress(&plain)
            .expect("zstd compresses any input into a growable buffer");
        let mut out = Vec::with_capacity(frame.len() + 1);
        out.push(FORMAT_2);
        out.extend_from_slice(&frame);
        out
    })
}

fn new_compressor() -> zstd::bulk::Compressor<'static> {
    let mut c = zstd::bulk::Compressor::with_prepared_dictionary(&ENCODER_2)
        .expect("a zstd context with a prepared dictionary");
    c.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))
        .expect("the checksum flag is a valid parameter");
    c
}

/// The three texts of a packed body.
pub(crate) fn unpack(body: &[u8]) -> Result<(String, String, String), String> {
    let (&format, frame) = body.split_first().ok_or("empty body")?;
    let (slot, dictionary) = match format {
        FORMAT_1 => (0, &*DECODER_1),
        FORMAT_2 => (1, &*DECODER_2),
        _ => return Err(format!("unknown body format {format}")),
    };
    let size = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(n)) if n <= MAX_UNPACKED as u64 => n as usize,
        Ok(_) => return Err("body frame without a usable content size".into()),
        Err(e) => return Err(format!("body is not a zstd frame: {e:?}")),
    };
    let plain = DECOMPRESSORS.with(|cell| {
        let mut cell = cell.borrow_mut();
        let d = match &mut cell[slot] {
            Some(d) => d,
            empty => empty.insert(
                zstd::bulk::Decompressor::with_prepared_dictionary(dictionary)
                    .map_err(|e| format!("zstd context: {e}"))?,
            ),
        };
        d.decompress(frame, size)
            .map_err(|e| format!("corrupt body: {e}"))
    })?;
    let plain = String::from_utf8(plain).map_err(|_| "body is not UTF-8".to_owned())?;
    let mut parts = plain.splitn(3, '\0');
    let (Some(resource), Some(source), Some(recognition)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err("body lacks its three parts".into());
    };
    Ok((
        resource.to_owned(),
        source.to_owned(),
        recognition.to_owned(),
    ))
}

/// The texts of a row: unpacked from `body`, or the old columns' when `body` is empty (rows
/// written before it existed). A body that cannot be unpacked gives empty texts and an error in
/// the log: serving such a result fails ("not JSON") and the hash chain reports it changed,
/// rather than the result vanishing from reads.
pub(crate) fn unpack_or(
    id: &str,
    body: &[u8],
    old: (String, String, String),
) -> (String, String, String) {
    if body.is_empty() {
        return old;
    }
    unpack(body).unwrap_or_else(|e| {
        tracing::error!(observation = id, error = %e, "stored result cannot be unpacked");
        (String::new(), String::new(), String::new())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_every_byte() {
        for (r, s, g) in [
            (
                r#"{"resourceType":"Observation","valueQuantity":{"value":5.551}}"#,
                r#"{"value":"100"}"#,
                "",
            ),
            ("", "", ""),
            ("血糖 ✓", "{\"note\":\"a\\u0000b\"}", "{}"),
        ] {
            let body = pack(r, s, g);
            assert_eq!(body[0], FORMAT_2);
            assert_eq!(unpack(&body).unwrap(), (r.into(), s.into(), g.into()));
        }
    }

    /// A body as the releases before dictionary 2 wrote it: format 1, dictionary 1, level 6.
    fn pack_format_1(plain: &[u8]) -> Vec<u8> {
        let mut c = zstd::bulk::Compressor::with_dictionary(6, DICTIONARY_1).unwrap();
        c.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))
            .unwrap();
        let mut body = vec![FORMAT_1];
        body.extend(c.compress(plain).unwrap());
        body
    }

    #[test]
    fn rows_of_format_1_read_as_before() {
        let body = pack_format_1(b"{\"resourceType\":\"Observation\"}\0{\"value\":\"5\"}\0{}");
        assert_eq!(
            unpack(&body).unwrap(),
            (
                r#"{"resourceType":"Observation"}"#.into(),
                r#"{"value":"5"}"#.into(),
                "{}".into()
            )
        );
        // Each frame names its dictionary: read with the other format's, it is an error.
        let mut wrong = body.clone();
        wrong[0] = FORMAT_2;
        assert!(unpack(&wrong).is_err());
        let mut wrong = pack("a", "b", "c");
        wrong[0] = FORMAT_1;
        assert!(unpack(&wrong).is_err());
    }

    #[test]
    fn a_stored_result_packs_small() {
        let resource = r#"{"resourceType":"Observation","meta":{"tag":[{"code":"not-recognizable","display":"不可互认","system":"http://huren.example/fhir/CodeSystem/recognition"}]},"identifier":[{"system":"urn:lis:hosp-a","value":"R1"}],"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory","display":"Laboratory"}]}],"code":{"coding":[{"system":"http://huren.example/fhir/CodeSystem/national-lab","code":"9000033-2","display":"葡萄糖"}]},"subject":{"identifier":{"system":"urn:huren:id:national-patient","value":"420106198001011234"}},"effectiveDateTime":"2026-11-20T08:12:00+08:00","valueQuantity":{"value":5.551,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}"#;
        let body = pack(resource, "{}", "{}");
        assert!(
            body.len() * 3 < resource.len(),
            "{} of {}",
            body.len(),
            resource.len()
        );
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        let mut body = pack("{\"a\":1}", "{}", "{}");
        let last = body.len() - 1;
        body[last] ^= 0xff; // the checksum
        assert!(unpack(&body).is_err());
        assert!(unpack(&[]).is_err());
        assert!(unpack(&[9, 1, 2]).unwrap_err().contains("format 9"));
        assert!(unpack(&[FORMAT_1, 1, 2, 3]).is_err());
        assert!(unpack(&[FORMAT_2, 1, 2, 3]).is_err());
        let (r, s, g) = unpack_or("x", &body, ("a".into(), "b".into(), "c".into()));
        assert_eq!((r.as_str(), s.as_str(), g.as_str()), ("", "", ""));
        let old = unpack_or("x", &[], ("a".into(), "b".into(), "c".into()));
        assert_eq!(old.0, "a");
    }
}
