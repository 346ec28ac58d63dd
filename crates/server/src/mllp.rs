//! The MLLP listener: HL7 v2 ORU^R01 messages over TCP, as hospital laboratory systems (LIS)
//! and interface engines send them, answered with an ACK on the same connection.
//!
//! `huren serve --mllp-addr 0.0.0.0:2575 --mllp-facility LIS-A=hosp-a` (or `HUREN_MLLP_ADDR`,
//! `HUREN_MLLP_FACILITIES=LIS-A=hosp-a,LIS-B=hosp-b`) runs it next to the HTTP server, on the
//! same actix (tokio) runtime; it is off by default.
//!
//! # Who is sending
//!
//! MLLP has no authentication, so the hospital a message belongs to comes from its MSH-4
//! (sending facility, namespace ID or universal ID) through the `--mllp-facility` table. A
//! facility that is not in the table is answered `AR` with an ERR (table 0357 code 204,
//! location `MSH-4`) saying how to map it; nothing is stored. Listen on an interface that only
//! the hospitals' interface engines can reach (or behind a TLS-terminating proxy): anyone who
//! can connect can send results in the name of a configured facility.
//!
//! # One connection
//!
//! Bytes go through [`huren_hl7v2::mllp::Decoder`] (frames capped at [`FRAME_LIMIT`]). The MLLP
//! framing comes from the `hl7-2-mllp` crate (see `huren-hl7v2`'s crate docs for why that crate
//! and not another); the decoder adds resynchronisation, so a bad frame never costs the next
//! good one. Each complete message, in the order received:
//!
//! * no readable MSH (not HL7, undecodable bytes): `AR` with the parser's ERR, addressed with an
//!   empty header;
//! * unknown sending facility: `AR` as above;
//! * otherwise the shared pipeline `huren_http::ingest::hl7v2_message` (the one behind
//!   `POST /hl7v2`) runs on the blocking thread pool and its ACK (`AA`, `AE` with an ERR per
//!   problem, `AR`) is sent back, encoded in the character set the message came in.
//!
//! Framing errors are answered too, so the sender learns that something it sent was lost:
//! bytes outside any frame, a frame longer than the limit, a frame cut short by the next start
//! block, an end block without its carriage return each get an `AR` with an ERR naming the
//! problem and the stream offset (MSA-2 is empty: the message could not be read). Whitespace
//! between frames (a `\n` after each 0x1C 0x0D, which some engines write) is tolerated
//! silently. The connection stays open after any of these. When the peer closes the
//! connection inside a frame there is no one to answer: a warning with the byte count is
//! logged and the partial message dropped.
//!
//! Messages on one connection are handled strictly one after the other, so ACKs come back in
//! order (senders may pipeline). Each message is logged (`tracing`, target `huren::mllp`) with
//! the peer, MSH-4, MSH-10 and the ACK code. Connections are never timed out: LIS keep one open
//! for days. Stopping the server drops the connections; a message stored but not yet
//! acknowledged is sent again by the LIS and stored once (results are identified by their
//! order number and OBX, see `huren_http::ingest`).

use actix_web::rt::net::{TcpListener, TcpStream};
use actix_web::web;
use huren_core::audit::{Actor, AuditContext};
use huren_hl7v2::mllp::{Decoder, frame};
use huren_hl7v2::{
    AckCode, Charset, ErrorCode, Hl7Error, Location, MessageHeader, Severity, ack, decode, encode,
    read_header,
};
use huren_http::AppState;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The largest frame accepted: 1 MiB, far above a lab report (a CBC is about 2 KiB). A longer
/// frame is dropped and answered `AR`.
pub const FRAME_LIMIT: usize = 1024 * 1024;

/// Bytes read from a socket at a time.
const READ_BUFFER: usize = 64 * 1024;

/// Binds the listener (port 0 picks a free port).
pub async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Accepts connections until the future is dropped (which closes every open connection).
pub async fn serve(listener: TcpListener, state: web::Data<AppState>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        match listener.accept().await {
            Ok((stream, peer)) => {
                tracing::debug!(%peer, "MLLP connection opened");
                connections.spawn_local(connection(stream, peer, state.clone()));
            }
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(error = %e, "MLLP accept failed");
                actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// Serves one connection until the peer closes it (or a read or write fails).
async fn connection(mut stream: TcpStream, peer: SocketAddr, state: web::Data<AppState>) {
    let mut decoder = Decoder::with_limit(FRAME_LIMIT);
    let mut buf = vec![0; READ_BUFFER];
    // Stream offset of the first byte of `buf`, as the decoder counts.
    let mut offset: u64 = 0;
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(%peer, error = %e, "MLLP read failed; connection closed");
                return;
            }
        };
        let chunk = &buf[..n];
        decoder.feed(chunk);
        while let Some(item) = decoder.next_message() {
            let reply = match item {
                Ok(message) => message_reply(&state, message, peer).await,
                Err(Hl7Error::MllpGarbage { offset: at, len })
                    if is_whitespace(chunk, offset, at, len) =>
                {
                    tracing::debug!(%peer, offset = at, len, "whitespace between MLLP frames");
                    continue;
                }
                Err(e) => framing_reply(&e, peer),
            };
            if let Err(e) = stream.write_all(&frame(&reply)).await {
                tracing::warn!(%peer, error = %e, "MLLP write failed; connection closed");
                return;
            }
        }
        offset += n as u64;
    }
    match decoder.finish() {
        Some(Hl7Error::MllpTruncated { offset, len }) => tracing::warn!(
            %peer,
            offset,
            bytes = len,
            "MLLP connection closed inside a frame; the partial message ({len} bytes) is dropped"
        ),
        Some(e) => tracing::warn!(%peer, error = %e, "MLLP connection closed inside a frame"),
        None => tracing::debug!(%peer, "MLLP connection closed"),
    }
}

/// Whether the garbage run `at..at+len` lies in `chunk` (which starts at stream offset
/// `chunk_start`) and is only whitespace. The decoder reports garbage while it is fed, so a
/// run is always within the chunk just fed.
fn is_whitespace(chunk: &[u8], chunk_start: u64, at: u64, len: usize) -> bool {
    let Some(start) = at
        .checked_sub(chunk_start)
        .and_then(|s| usize::try_from(s).ok())
    else {
        return false;
    };
    chunk
        .get(start..start.saturating_add(len))
        .is_some_and(|run| {
            run.iter()
                .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        })
}

/// The ACK (unframed bytes) for one complete message.
async fn message_reply(state: &web::Data<AppState>, message: Vec<u8>, peer: SocketAddr) -> Vec<u8> {
    let (header, charset) = match decode(&message) {
        Ok(d) => (read_header(&d.text), d.charset),
        Err(_) => {
            // Not text in any charset we know: the parser reads a header leniently.
            let lossy = String::from_utf8_lossy(&message);
            let header = read_header(&lossy);
            let charset = header
                .as_ref()
                .and_then(|h| h.character_sets.first())
                .and_then(|s| Charset::from_label(s))
                .unwrap_or(Charset::Utf8);
            (header, charset)
        }
    };
    let facility = header
        .as_ref()
        .map(|h| facility_name(&h.sending_facility))
        .unwrap_or_default();
    let control_id = header
        .as_ref()
        .map(|h| h.control_id.clone())
        .unwrap_or_default();
    let text = match (
        &header,
        huren_http::ingest::facility_hospital(&state.results, &message),
    ) {
        (None, _) => {
            // No MSH to read a facility from: the parser says what is wrong.
            let errors = match huren_hl7v2::parse_oru_bytes(&message) {
                Err(rejected) => rejected.errors,
                Ok(_) => vec![Hl7Error::NotHl7 {
                    reason: "no readable MSH segment".into(),
                }],
            };
            ack_now(&MessageHeader::default(), AckCode::Reject, &errors)
        }
        (Some(header), None) => {
            let error = Hl7Error::Application {
                at: Some(Location::segment(1, "MSH", 1).field(4)),
                code: ErrorCode::UnknownKeyIdentifier,
                severity: Severity::Error,
                text: if facility.is_empty() {
                    "MSH-4 (sending facility) is empty; the listener needs it to know the \
                     hospital (configure --mllp-facility FACILITY=HOSPITAL)"
                        .to_owned()
                } else {
                    format!(
                        "sending facility `{facility}` is not configured; map it with \
                         --mllp-facility {facility}=HOSPITAL"
                    )
                },
            };
            ack_now(header, AckCode::Reject, &[error])
        }
        (Some(header), Some(hospital)) => {
            let state = state.clone();
            let h = hospital.clone();
            // Audited as the facility's connection: MLLP carries no token.
            let store = state.store.acting_as(AuditContext {
                actor: Actor {
                    sub: format!("mllp:{facility}"),
                    role: "system".into(),
                    hospital: Some(hospital.clone()),
                    address: Some(peer.ip().to_string()),
                },
                request: format!("MLLP {peer}"),
            });
            match web::block(move || {
                huren_http::ingest::hl7v2_message(&state, &*store, &h, &message)
            })
            .await
            {
                Ok(ack) => ack,
                Err(e) => {
                    tracing::error!(%peer, error = %e, "the HL7 v2 pipeline failed");
                    let error = Hl7Error::Application {
                        at: None,
                        code: ErrorCode::ApplicationInternalError,
                        severity: Severity::Error,
                        text: "the message could not be processed; nothing was stored, send \
                               again"
                            .into(),
                    };
                    ack_now(header, AckCode::Error, &[error])
                }
            }
        }
    };
    let code = msa_code(&text);
    if code == "AA" {
        tracing::info!(%peer, facility, control_id, ack = code, "MLLP message");
    } else {
        tracing::warn!(
            %peer,
            facility,
            control_id,
            ack = code,
            reply = %text.trim_end().replace('\r', " "),
            "MLLP message not accepted"
        );
    }
    encode(&text, charset)
}

/// The ACK (unframed bytes) for a framing error.
fn framing_reply(error: &Hl7Error, peer: SocketAddr) -> Vec<u8> {
    tracing::warn!(%peer, error = %error, "MLLP framing error; answered AR");
    ack_now(
        &MessageHeader::default(),
        AckCode::Reject,
        std::slice::from_ref(error),
    )
    .into_bytes()
}

/// An ACK with a control ID and time of now.
fn ack_now(header: &MessageHeader, code: AckCode, errors: &[Hl7Error]) -> String {
    let now = time::OffsetDateTime::now_utc();
    let control_id = format!("HUREN{}", now.unix_timestamp_nanos() / 1_000_000);
    ack(header, code, errors, &control_id, now)
}

/// MSH-4 as the facility table is keyed: the namespace ID, else the universal ID.
fn facility_name(hd: &huren_hl7v2::HierarchicDesignator) -> String {
    if hd.namespace_id.is_empty() {
        hd.universal_id.clone()
    } else {
        hd.namespace_id.clone()
    }
}

/// MSA-1 of an ACK text (for the log).
fn msa_code(ack: &str) -> &str {
    ack.split(['\r', '\n'])
        .find_map(|segment| {
            let rest = segment.strip_prefix("MSA")?;
            let separator = rest.chars().next()?;
            rest[separator.len_utf8()..].split(separator).next()
        })
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whitespace_runs_within_the_chunk_are_whitespace() {
        let chunk = b"\x0bMSH|x\x1c\r\r\n";
        assert!(is_whitespace(chunk, 100, 108, 2));
        assert!(!is_whitespace(chunk, 100, 101, 3));
        assert!(!is_whitespace(chunk, 100, 99, 1), "before the chunk");
        assert!(!is_whitespace(chunk, 100, 109, 5), "past the chunk");
    }

    #[test]
    fn the_ack_code_is_read_from_msa() {
        assert_eq!(msa_code("MSH|^~\\&|A\rMSA|AR|X|text\rERR|..."), "AR");
        assert_eq!(msa_code("MSH#^~\\&\rMSA#AA#1\r"), "AA");
        assert_eq!(msa_code("MSH|^~\\&\r"), "");
    }

    #[test]
    fn framing_errors_are_rejections_naming_the_problem() {
        let reply = framing_reply(
            &Hl7Error::MllpTruncated { offset: 0, len: 9 },
            "127.0.0.1:1".parse().unwrap(),
        );
        let text = String::from_utf8(reply).unwrap();
        assert!(text.contains("\rMSA|AR|"), "{text}");
        assert!(text.contains("truncated after 9 byte(s)"), "{text}");
    }
}
