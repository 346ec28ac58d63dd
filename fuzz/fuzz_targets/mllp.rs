//! The MLLP decoder over an arbitrary TCP byte stream, fed in two pieces split where the
//! first byte says: it must never panic, and what it buffers stays under its limit.
#![no_main]

use huren_hl7v2::mllp::Decoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Some((&split, rest)) = bytes.split_first() else {
        return;
    };
    let at = (split as usize).min(rest.len());
    let limit = 4096;
    let mut decoder = Decoder::with_limit(limit);
    for piece in [&rest[..at], &rest[at..]] {
        decoder.feed(piece);
        while let Some(message) = decoder.next_message() {
            if let Ok(message) = message {
                assert!(message.len() <= limit, "a message over the limit was framed");
            }
        }
        assert!(decoder.buffered() <= limit + 3, "the decoder buffers past its limit");
    }
    decoder.finish();
});
