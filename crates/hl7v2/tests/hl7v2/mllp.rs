//! The data files carried over an MLLP stream, as a listener would receive them.

use crate::data;
use huren_hl7v2::mllp::{Decoder, frame};
use huren_hl7v2::{Hl7Error, parse_oru_bytes};

#[test]
fn a_stream_of_framed_messages_with_noise_between_them() {
    let names = ["cbc.hl7", "gbk.hl7", "lf.hl7", "no_obx.hl7", "sn.hl7"];
    let mut stream = Vec::new();
    for name in names {
        stream.extend(frame(&data(name)));
        // Some senders add a line feed after each frame.
        stream.push(b'\n');
    }
    stream.extend(b"\x0bMSH|^~\\&|LIS|BJCH|||20240305||ORU^R01|CUT"); // cut off by a disconnect

    for chunk_size in [1, 7, 64, 4096] {
        let mut decoder = Decoder::new();
        let mut messages = Vec::new();
        let mut garbage = 0;
        for chunk in stream.chunks(chunk_size) {
            decoder.feed(chunk);
            while let Some(next) = decoder.next_message() {
                match next {
                    Ok(message) => messages.push(message),
                    Err(Hl7Error::MllpGarbage { len, .. }) => garbage += len,
                    Err(other) => panic!("{other}"),
                }
            }
        }
        assert_eq!(garbage, names.len(), "one line feed after each frame");
        assert_eq!(messages.len(), names.len());
        for (message, name) in messages.iter().zip(names) {
            assert_eq!(message, &data(name), "{name}");
            assert_eq!(
                parse_oru_bytes(message).is_ok(),
                name != "no_obx.hl7",
                "{name}"
            );
        }
        match decoder.finish() {
            Some(Hl7Error::MllpTruncated { offset, len }) => {
                assert_eq!(offset as usize, stream.len() - len);
                assert_eq!(len, 42);
            }
            other => panic!("{other:?}"),
        }
    }
}
