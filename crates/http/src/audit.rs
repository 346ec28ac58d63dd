//! The HTTP side of the audit trail (`huren_core::audit`).
//!
//! - Writes: a handler writes through [`AppState::store_as`], the store acting as the caller,
//!   so each write is recorded by the store in the write's own transaction.
//! - Reads of patient data (`/fhir/Observation…`, `/fhir/AuditEvent`) and every refused or
//!   failed write request: recorded by the [`audit_trail`] middleware once the answer is known,
//!   with what the handler noted ([`note`]: the results and patients it served). A read whose
//!   record cannot be written is not served (fail closed).

use crate::auth::Principal;
use crate::error::ApiError;
use crate::mapping_import::now_millis;
use crate::state::AppState;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, ResponseError, web};
use huren_core::HospitalId;
use huren_core::audit::{Actor, AuditAction, AuditContext, AuditOutcome, AuditRecord};
use huren_core::ports::Storage;
use std::sync::Arc;

/// Records written in one transaction at most.
const MAX_BATCH: usize = 512;

type Pending = (
    AuditRecord,
    tokio::sync::oneshot::Sender<Result<(), String>>,
);

/// Writes the middleware's records with group commit: requests hand their record to one
/// writer thread and wait for its commit; the thread writes whatever has queued meanwhile in
/// one transaction. Under load, hundreds of reads share one commit instead of taking one each
/// (on SQLite, one writer at a time); alone, a record is written at once. A read is still
/// served only once its record is committed.
pub struct AuditWriter {
    queue: std::sync::mpsc::Sender<Pending>,
}

impl AuditWriter {
    /// Starts the writer thread over `store`; it ends when the writer is dropped.
    pub fn start(store: Arc<dyn Storage>) -> AuditWriter {
        let (tx, rx) = std::sync::mpsc::channel::<Pending>();
        let spawned = std::thread::Builder::new()
            .name("huren-audit".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(more) => batch.push(more),
                            Err(_) => break,
                        }
                    }
                    let records: Vec<AuditRecord> = batch.iter().map(|(r, _)| r.clone()).collect();
                    let outcome = store.record_audit(&records).map_err(|e| e.to_string());
                    for (_, reply) in batch {
                        let _ = reply.send(outcome.clone());
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the audit writer");
        }
        AuditWriter { queue: tx }
    }

    /// Queues `record` and waits until it is committed.
    pub async fn record(&self, record: AuditRecord) -> Result<(), String> {
        let (reply, done) = tokio::sync::oneshot::channel();
        self.queue
            .send((record, reply))
            .map_err(|_| "the audit writer is gone".to_owned())?;
        done.await
            .map_err(|_| "the audit writer is gone".to_owned())?
    }
}

/// The longest request line kept in a record.
const MAX_REQUEST: usize = 2048;

/// What a handler served, for the middleware's record of the read.
#[derive(Debug, Clone, Default)]
pub struct ReadNote {
    /// `read`, `search`, `recognition`, `audit`.
    pub kind: &'static str,
    pub site: Option<HospitalId>,
    pub patients: Vec<String>,
    pub entities: Vec<String>,
}

/// Notes what a read served, for its audit record.
pub fn note(req: &HttpRequest, note: ReadNote) {
    req.extensions_mut().insert(note);
}

/// Notes the results a read served (each version, its patients, its hospital).
pub fn note_results<'a>(
    req: &HttpRequest,
    kind: &'static str,
    results: impl IntoIterator<Item = &'a huren_core::observation::StoredObservation>,
) {
    let mut n = ReadNote {
        kind,
        ..ReadNote::default()
    };
    let mut sites = std::collections::BTreeSet::new();
    let mut patients = std::collections::BTreeSet::new();
    for o in results {
        n.entities
            .push(huren_core::integrity::observation_item(&o.id, o.version));
        sites.insert(o.hospital.clone());
        patients.extend(
            o.subjects
                .iter()
                .map(|s| format!("{}|{}", s.system, s.value)),
        );
    }
    if sites.len() == 1 {
        n.site = sites.pop_first();
    }
    n.patients = patients.into_iter().collect();
    note(req, n);
}

/// The client's address: the peer, and what `X-Forwarded-For` claims when a proxy sent it
/// (recorded, not trusted).
fn address(
    req: &actix_web::dev::RequestHead,
    peer: Option<std::net::SocketAddr>,
) -> Option<String> {
    let peer = peer.map(|p| p.ip().to_string());
    let forwarded = req
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    match (peer, forwarded) {
        (Some(p), Some(f)) => Some(format!("{p} (X-Forwarded-For: {})", truncate(f, 200))),
        (p, _) => p,
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn request_line(head: &actix_web::dev::RequestHead) -> String {
    let line = match head.uri.query() {
        Some(q) => format!("{} {}?{q}", head.method, head.uri.path()),
        None => format!("{} {}", head.method, head.uri.path()),
    };
    truncate(&line, MAX_REQUEST).to_owned()
}

fn actor(who: Option<&Principal>, address: Option<String>) -> Actor {
    match who {
        Some(p) => Actor {
            sub: p.sub.clone(),
            role: p.role.as_str().to_owned(),
            hospital: p
                .hospital
                .as_deref()
                .and_then(|h| HospitalId::parse(h).ok()),
            address,
        },
        None => Actor {
            sub: "anonymous".into(),
            role: String::new(),
            hospital: None,
            address,
        },
    }
}

/// Who is acting, through which request.
pub fn context(who: &Principal, req: &HttpRequest) -> AuditContext {
    AuditContext {
        actor: actor(Some(who), address(req.head(), req.peer_addr())),
        request: request_line(req.head()),
    }
}

impl AppState {
    /// The store, acting as `who` in `req`: every write through it is audited as theirs.
    pub fn store_as(&self, who: &Principal, req: &HttpRequest) -> Arc<dyn Storage> {
        self.store.acting_as(context(who, req))
    }
}

/// Whether a path serves patient data.
fn patient_data(path: &str) -> bool {
    [
        "/fhir/Observation",
        "/fhir/AuditEvent",
        "/ui/patients",
        "/ui/results/",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

/// Whether a path is a terminology operation (no patient data, nothing written).
fn terminology(path: &str) -> bool {
    ["$lookup", "$validate-code", "$expand", "$translate"]
        .iter()
        .any(|op| path.ends_with(op))
}

/// The Observation a failed read was about, from its path.
fn path_entity(path: &str) -> Vec<String> {
    path.strip_prefix("/fhir/Observation/")
        .and_then(|rest| rest.split('/').next())
        .filter(|id| !id.is_empty())
        .map(|id| vec![format!("Observation/{id}")])
        .unwrap_or_default()
}

/// Middleware: records reads of patient data and refused or failed writes (see the module).
pub async fn audit_trail(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let path = req.path().to_owned();
    let read = matches!(req.method().as_str(), "GET" | "HEAD");
    let watched = if read {
        patient_data(&path)
    } else {
        !terminology(&path)
    };
    if !watched {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let request = request_line(req.head());
    let addr = address(req.head(), req.peer_addr());
    let res = next.call(req).await?;
    let status = res.status().as_u16();
    // A successful write was recorded by the store in its transaction.
    if !read && status < 400 {
        return Ok(res.map_into_left_body());
    }
    let Some(state) = state else {
        return Ok(res.map_into_left_body());
    };
    let (who, note) = {
        let ext = res.request().extensions();
        (
            ext.get::<Principal>().cloned(),
            ext.get::<ReadNote>().cloned(),
        )
    };
    let note = note.unwrap_or_else(|| ReadNote {
        kind: if read { "read" } else { "request" },
        entities: path_entity(&path),
        ..ReadNote::default()
    });
    let action = match (read, note.kind) {
        (true, "read") => AuditAction::Read,
        (true, _) => AuditAction::Execute,
        (false, _) => match res.request().method().as_str() {
            "PUT" | "PATCH" => AuditAction::Update,
            "DELETE" => AuditAction::Delete,
            _ => AuditAction::Create,
        },
    };
    let outcome = AuditOutcome::of_status(status);
    let mut record = AuditRecord::new(
        &AuditContext {
            actor: actor(who.as_ref(), addr),
            request,
        },
        note.kind,
        action,
        now_millis(),
    );
    record.outcome = outcome;
    record.description = match outcome {
        AuditOutcome::Success => String::new(),
        _ => format!(
            "answered {status} {}",
            res.status().canonical_reason().unwrap_or_default()
        ),
    };
    record.site = note.site;
    record.patients = note.patients;
    record.entities = note.entities;
    match state.audit.record(record).await {
        Ok(()) => Ok(res.map_into_left_body()),
        Err(e) => Ok(refused(res, &e, outcome)),
    }
}

/// A read whose record could not be written is not served; a failure stays what it was.
fn refused<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
    error: &str,
    outcome: AuditOutcome,
) -> ServiceResponse<EitherBody<B>> {
    tracing::error!(error, "writing the audit trail failed");
    if outcome != AuditOutcome::Success {
        return res.map_into_left_body();
    }
    let (req, _) = res.into_parts();
    let answer = ApiError::Internal(format!(
        "the audit trail could not be written ({error}); the read is not served"
    ))
    .error_response();
    ServiceResponse::new(req, answer).map_into_right_body()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_watched() {
        assert!(patient_data("/fhir/Observation/abc/_history/2"));
        assert!(patient_data("/fhir/AuditEvent"));
        assert!(!patient_data("/fhir/CodeSystem/$lookup"));
        assert!(terminology("/fhir/ValueSet/$expand"));
        assert!(!terminology("/fhir/Observation/x/$retest"));
        assert_eq!(
            path_entity("/fhir/Observation/abc/$recognition"),
            ["Observation/abc"]
        );
        assert!(path_entity("/fhir/Observation").is_empty());
    }

    #[test]
    fn long_lines_are_cut_on_a_character() {
        assert_eq!(truncate("血糖", 4), "血");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
