//! MLLP framing (HL7 v2.5.1 Appendix C): each message travels as 0x0B, the message bytes,
//! 0x1C 0x0D. [`frame`] wraps one message; [`Decoder`] takes bytes as they arrive from a socket
//! and hands back complete messages, or an error value for bytes that are not framing.
//!
//! The frame arithmetic (find the end block, check the carriage return, cap the buffer) is
//! `hl7-2-mllp`'s `Framer`. That framer empties its whole buffer on any protocol error, so a
//! good frame that arrived in the same read as garbage would be lost with it; the decoder
//! therefore hands it one frame at a time and does the resynchronisation itself: bytes outside
//! a frame are reported and skipped up to the next start block, and a start block inside an
//! unfinished frame reports that frame as truncated and opens the next one.

use crate::Hl7Error;
use hl7_2_mllp::{CARRIAGE_RETURN, END_BLOCK, Framer, START_BLOCK, Tolerance};
use std::collections::VecDeque;

/// The default cap on one frame: 16 MiB, far above any lab report.
pub const DEFAULT_LIMIT: usize = hl7_2_mllp::DEFAULT_LIMIT;

/// Wraps a message in an MLLP frame: 0x0B, the bytes, 0x1C 0x0D.
pub fn frame(message: &[u8]) -> Vec<u8> {
    hl7_2_mllp::encode(message)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between frames: anything but a start block is garbage.
    Outside,
    /// After a start block.
    Inside,
    /// Right after an end block: the next byte must be a carriage return.
    AfterEndBlock,
    /// In the rest of a frame that was over the limit: skipped silently to the next start block.
    Discarding,
}

/// A streaming MLLP decoder: [`feed`](Decoder::feed) it bytes in any chunks, take complete
/// messages (or framing errors) from [`next_message`](Decoder::next_message), and call
/// [`finish`](Decoder::finish) when the stream ends to learn whether a frame was cut short.
///
/// It never panics and never grows past its limit (plus one read).
#[derive(Debug)]
pub struct Decoder {
    framer: Framer,
    limit: usize,
    state: State,
    /// Stream offset of the next byte fed.
    fed: u64,
    /// Stream offset of the start block of the frame being read.
    frame_start: u64,
    ready: VecDeque<Result<Vec<u8>, Hl7Error>>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder with the [`DEFAULT_LIMIT`].
    pub fn new() -> Self {
        Self::with_limit(DEFAULT_LIMIT)
    }

    /// A decoder that drops (and reports) frames longer than `limit` bytes.
    pub fn with_limit(limit: usize) -> Self {
        Self {
            // Strict whatever features other crates enable: leniency is decided here.
            framer: Framer::new()
                .with_limit(limit)
                .with_tolerance(Tolerance::Strict),
            limit,
            state: State::Outside,
            fed: 0,
            frame_start: 0,
            ready: VecDeque::new(),
        }
    }

    /// Takes the next bytes of the stream.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while let Some(&first) = bytes.first() {
            let used = match self.state {
                State::Outside => self.outside(bytes, true),
                State::Discarding => self.outside(bytes, false),
                State::Inside => self.inside(bytes),
                State::AfterEndBlock => {
                    if first == CARRIAGE_RETURN {
                        self.framer.push(&bytes[..1]);
                        self.drain();
                        1
                    } else {
                        self.framer.reset();
                        self.state = State::Outside;
                        self.ready.push_back(Err(Hl7Error::MllpNoCarriageReturn {
                            offset: self.frame_start,
                        }));
                        // Not consumed: it may be the start block of the next frame.
                        0
                    }
                }
            };
            self.fed += used as u64;
            bytes = &bytes[used..];
        }
    }

    /// The next complete message (the bytes between 0x0B and 0x1C 0x0D), or a framing error,
    /// in stream order; `None` until more bytes are fed.
    pub fn next_message(&mut self) -> Option<Result<Vec<u8>, Hl7Error>> {
        self.ready.pop_front()
    }

    /// Ends the stream: a frame still open is reported as truncated and dropped. The decoder
    /// can then be used for a new stream (offsets keep counting).
    pub fn finish(&mut self) -> Option<Hl7Error> {
        let open = matches!(self.state, State::Inside | State::AfterEndBlock);
        let len = self.framer.buffered();
        self.framer.reset();
        self.state = State::Outside;
        open.then_some(Hl7Error::MllpTruncated {
            offset: self.frame_start,
            len,
        })
    }

    /// Bytes held for a frame not yet complete.
    pub fn buffered(&self) -> usize {
        self.framer.buffered()
    }

    /// Between frames: skip to the next start block (reporting what was skipped unless it is
    /// the tail of an oversized frame), then open a frame.
    fn outside(&mut self, bytes: &[u8], report: bool) -> usize {
        let skip = bytes
            .iter()
            .position(|&b| b == START_BLOCK)
            .unwrap_or(bytes.len());
        if skip > 0 {
            if report {
                self.garbage(skip);
            }
            return skip;
        }
        self.frame_start = self.fed;
        self.framer.push(&bytes[..1]);
        self.state = State::Inside;
        1
    }

    /// Inside a frame: take bytes up to and including the end block, or up to (not including)
    /// a start block that shows this frame was cut short.
    fn inside(&mut self, bytes: &[u8]) -> usize {
        match bytes
            .iter()
            .position(|&b| b == END_BLOCK || b == START_BLOCK)
        {
            Some(i) if bytes[i] == START_BLOCK => {
                let len = self.framer.buffered() + i;
                self.framer.reset();
                self.state = State::Outside;
                self.ready.push_back(Err(Hl7Error::MllpTruncated {
                    offset: self.frame_start,
                    len,
                }));
                i
            }
            Some(i) => {
                self.framer.push(&bytes[..=i]);
                self.state = State::AfterEndBlock;
                self.drain();
                i + 1
            }
            None => {
                self.framer.push(bytes);
                self.drain();
                bytes.len()
            }
        }
    }

    /// Moves what the framer has finished into the queue.
    fn drain(&mut self) {
        loop {
            match self.framer.next_frame() {
                Ok(Some(message)) => {
                    self.state = State::Outside;
                    self.ready.push_back(Ok(message));
                }
                Ok(None) => return,
                Err(e) => {
                    let offset = self.frame_start;
                    self.framer.reset();
                    let error = match e {
                        hl7_2_mllp::Error::TooLarge { .. } => {
                            self.state = State::Discarding;
                            Hl7Error::MllpTooLarge {
                                offset,
                                limit: self.limit,
                            }
                        }
                        hl7_2_mllp::Error::NoCarriageReturn => {
                            self.state = State::Outside;
                            Hl7Error::MllpNoCarriageReturn { offset }
                        }
                        // The decoder never hands the framer leading bytes or a second start
                        // block; should it ever, the frame is unusable either way.
                        _ => {
                            self.state = State::Outside;
                            Hl7Error::MllpTruncated { offset, len: 0 }
                        }
                    };
                    self.ready.push_back(Err(error));
                    return;
                }
            }
        }
    }

    /// Reports `len` bytes outside any frame, merged with garbage reported just before.
    fn garbage(&mut self, len: usize) {
        if let Some(Err(Hl7Error::MllpGarbage {
            offset,
            len: previous,
        })) = self.ready.back_mut()
            && *offset + *previous as u64 == self.fed
        {
            *previous += len;
            return;
        }
        self.ready.push_back(Err(Hl7Error::MllpGarbage {
            offset: self.fed,
            len,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(chunks: &[&[u8]]) -> (Vec<Result<Vec<u8>, Hl7Error>>, Option<Hl7Error>) {
        let mut d = Decoder::new();
        let mut out = Vec::new();
        for chunk in chunks {
            d.feed(chunk);
            while let Some(m) = d.next_message() {
                out.push(m);
            }
        }
        (out, d.finish())
    }

    #[test]
    fn frames_round_trip_in_any_chunks() {
        let stream = [frame(b"MSH|one"), frame(b"MSH|two")].concat();
        for split in 0..=stream.len() {
            let (a, b) = stream.split_at(split);
            let (out, end) = decode_all(&[a, b]);
            assert_eq!(
                out,
                [Ok(b"MSH|one".to_vec()), Ok(b"MSH|two".to_vec())],
                "split {split}"
            );
            assert_eq!(end, None);
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(decode_all(&bytes).0.len(), 2);
    }

    #[test]
    fn garbage_before_a_frame_is_reported_and_the_frame_survives() {
        let stream = [&b"\r\nhello"[..], &frame(b"MSH|1"), b"\n", &frame(b"MSH|2")].concat();
        let (out, end) = decode_all(&[&stream[..3], &stream[3..]]);
        assert_eq!(
            out,
            [
                // Reported as it arrives, so split where the read was split.
                Err(Hl7Error::MllpGarbage { offset: 0, len: 3 }),
                Err(Hl7Error::MllpGarbage { offset: 3, len: 4 }),
                Ok(b"MSH|1".to_vec()),
                Err(Hl7Error::MllpGarbage { offset: 15, len: 1 }),
                Ok(b"MSH|2".to_vec()),
            ]
        );
        assert_eq!(end, None);
        // Within one read it is one run.
        let (out, _) = decode_all(&[&stream]);
        assert_eq!(out[0], Err(Hl7Error::MllpGarbage { offset: 0, len: 7 }));
    }

    #[test]
    fn a_truncated_frame_is_reported() {
        let (out, end) = decode_all(&[b"\x0bMSH|^~\\&|LIS"]);
        assert!(out.is_empty());
        assert_eq!(end, Some(Hl7Error::MllpTruncated { offset: 0, len: 13 }));

        // Cut short by the next frame's start block: the next frame is kept.
        let stream = [&b"\x0bMSH|half"[..], &frame(b"MSH|whole")].concat();
        let (out, end) = decode_all(&[&stream]);
        assert_eq!(
            out,
            [
                Err(Hl7Error::MllpTruncated { offset: 0, len: 9 }),
                Ok(b"MSH|whole".to_vec())
            ]
        );
        assert_eq!(end, None);

        // Cut after the end block.
        let (_, end) = decode_all(&[b"\x0bMSH|x\x1c"]);
        assert_eq!(end, Some(Hl7Error::MllpTruncated { offset: 0, len: 7 }));
    }

    #[test]
    fn a_missing_carriage_return_is_reported_and_the_next_frame_kept() {
        let stream = [&b"\x0bMSH|a\x1c"[..], &frame(b"MSH|b")].concat();
        let (out, _) = decode_all(&[&stream]);
        assert_eq!(
            out,
            [
                Err(Hl7Error::MllpNoCarriageReturn { offset: 0 }),
                Ok(b"MSH|b".to_vec())
            ]
        );
        let (out, _) = decode_all(&[b"\x0bMSH|a\x1cX", &frame(b"MSH|b")]);
        assert_eq!(
            out,
            [
                Err(Hl7Error::MllpNoCarriageReturn { offset: 0 }),
                Err(Hl7Error::MllpGarbage { offset: 7, len: 1 }),
                Ok(b"MSH|b".to_vec())
            ]
        );
    }

    #[test]
    fn an_oversized_frame_is_dropped_once_and_the_stream_goes_on() {
        let mut d = Decoder::with_limit(16);
        let big = frame(&[b'x'; 100]);
        for chunk in big.chunks(7) {
            d.feed(chunk);
        }
        d.feed(&frame(b"MSH|ok"));
        let out: Vec<_> = std::iter::from_fn(|| d.next_message()).collect();
        assert_eq!(
            out,
            [
                Err(Hl7Error::MllpTooLarge {
                    offset: 0,
                    limit: 16
                }),
                Ok(b"MSH|ok".to_vec())
            ]
        );
        assert!(d.buffered() <= 16 + 7);
        assert_eq!(d.finish(), None);
    }

    #[test]
    fn an_empty_frame_is_a_message() {
        assert_eq!(decode_all(&[b"\x0b\x1c\r"]).0, [Ok(Vec::new())]);
    }
}
