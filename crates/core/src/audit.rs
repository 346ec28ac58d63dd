//! The audit trail: who did what to which resource, when, from where, and how it ended.
//!
//! Every write is recorded by the store in the write's own transaction (a write and its record
//! commit or vanish together), as done by the [`Actor`] of the store's [`AuditContext`]; every
//! read of patient results, and every refused or failed request, is recorded by the HTTP layer.
//! `huren-fhir` renders each [`AuditRecord`] as an R4 `AuditEvent` (the codes below are that
//! resource's: `action` from `audit-event-action`, `outcome` from `audit-event-outcome`).

use crate::mapping::HospitalId;

/// What was done (FHIR `AuditEvent.action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    Create,
    Read,
    Update,
    Delete,
    /// An operation or a search (`E` in FHIR).
    Execute,
}

impl AuditAction {
    pub const ALL: [AuditAction; 5] = [
        AuditAction::Create,
        AuditAction::Read,
        AuditAction::Update,
        AuditAction::Delete,
        AuditAction::Execute,
    ];

    /// The FHIR code: `C`, `R`, `U`, `D` or `E`.
    pub fn code(self) -> &'static str {
        match self {
            AuditAction::Create => "C",
            AuditAction::Read => "R",
            AuditAction::Update => "U",
            AuditAction::Delete => "D",
            AuditAction::Execute => "E",
        }
    }

    pub fn parse(code: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.code() == code)
    }
}

/// How it ended (FHIR `AuditEvent.outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditOutcome {
    /// `0`.
    Success,
    /// `4`: refused or invalid (a 4xx answer: unauthenticated, forbidden, bad input).
    MinorFailure,
    /// `8`: the server failed (a 5xx answer).
    SeriousFailure,
}

impl AuditOutcome {
    pub const ALL: [AuditOutcome; 3] = [
        AuditOutcome::Success,
        AuditOutcome::MinorFailure,
        AuditOutcome::SeriousFailure,
    ];

    /// The FHIR code: `0`, `4` or `8`.
    pub fn code(self) -> &'static str {
        match self {
            AuditOutcome::Success => "0",
            AuditOutcome::MinorFailure => "4",
            AuditOutcome::SeriousFailure => "8",
        }
    }

    pub fn parse(code: &str) -> Option<AuditOutcome> {
        AuditOutcome::ALL.into_iter().find(|a| a.code() == code)
    }

    /// The outcome of an HTTP answer with this status.
    pub fn of_status(status: u16) -> AuditOutcome {
        match status {
            500.. => AuditOutcome::SeriousFailure,
            400.. => AuditOutcome::MinorFailure,
            _ => AuditOutcome::Success,
        }
    }
}

/// Who acted: the token's subject, role and hospital, and the client's network address.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    /// The token's `sub`; `anonymous` when no token was accepted; `huren` for the service's
    /// own work; `cli:USER` for the command line.
    pub sub: String,
    /// The token's role (`admin`, `curator`, …), or `system`.
    pub role: String,
    pub hospital: Option<HospitalId>,
    /// The client's IP address (the peer, or the first `X-Forwarded-For` hop when configured).
    pub address: Option<String>,
}

impl Actor {
    /// The service itself (background work such as releasing held results after a restart).
    pub fn service() -> Actor {
        Actor {
            sub: "huren".into(),
            role: "system".into(),
            hospital: None,
            address: None,
        }
    }
}

/// Who is acting and through which request: what the store stamps on each write it records.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditContext {
    pub actor: Actor,
    /// `METHOD /path?query` of the HTTP request, `mllp PEER`, or the command line.
    pub request: String,
}

impl AuditContext {
    pub fn service() -> AuditContext {
        AuditContext {
            actor: Actor::service(),
            request: String::new(),
        }
    }
}

/// One event of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Assigned by the store (0 before).
    pub id: i64,
    /// Unix milliseconds.
    pub recorded_at: i64,
    pub actor: Actor,
    pub request: String,
    /// What kind of event (a code of `{base}/CodeSystem/audit-type`): `results`, `mappings`,
    /// `eqa`, `iqc`, `catalogue`, `hospital`, `release`, `retest`, `read`, `search`,
    /// `recognition`, `request` (a refused or failed request).
    pub kind: String,
    pub action: AuditAction,
    pub outcome: AuditOutcome,
    /// What happened, in words (the error of a failed request).
    pub description: String,
    /// The hospital whose data the event concerns (the laboratory of a result, the owner of a
    /// mapping).
    pub site: Option<HospitalId>,
    /// The patients concerned, `system|value`.
    pub patients: Vec<String>,
    /// What was touched: `Observation/ID/_history/N`, `Observation/ID`,
    /// `Mapping/HOSPITAL/LOCAL-CODE`, `Hospital/ID`, `Release/SYSTEM/LABEL`, `Catalogue/…`.
    pub entities: Vec<String>,
    /// The coded reason (`{base}/CodeSystem/retest-reason`) and its text, for a retest.
    pub purpose: Option<(String, String)>,
}

impl AuditRecord {
    /// A successful event of `context`, now.
    pub fn new(
        context: &AuditContext,
        kind: &str,
        action: AuditAction,
        recorded_at: i64,
    ) -> AuditRecord {
        AuditRecord {
            id: 0,
            recorded_at,
            actor: context.actor.clone(),
            request: context.request.clone(),
            kind: kind.to_owned(),
            action,
            outcome: AuditOutcome::Success,
            description: String::new(),
            site: None,
            patients: Vec::new(),
            entities: Vec::new(),
            purpose: None,
        }
    }
}

/// A search of the audit trail; every given criterion must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditQuery {
    /// An entity as recorded, or an Observation id (then its versions match too).
    pub entity: Option<String>,
    pub site: Option<HospitalId>,
    /// The actor's `sub`.
    pub agent: Option<String>,
    /// A patient identifier, `system|value` or the value alone.
    pub patient: Option<String>,
    pub kind: Option<String>,
    pub action: Option<AuditAction>,
    pub outcome: Option<AuditOutcome>,
    /// Unix milliseconds, inclusive.
    pub from: Option<i64>,
    /// Unix milliseconds, exclusive.
    pub to: Option<i64>,
    /// At most this many, newest first.
    pub limit: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.code()), Some(a));
        }
        for o in AuditOutcome::ALL {
            assert_eq!(AuditOutcome::parse(o.code()), Some(o));
        }
        assert_eq!(AuditAction::parse("X"), None);
    }

    #[test]
    fn outcome_of_status() {
        assert_eq!(AuditOutcome::of_status(201), AuditOutcome::Success);
        assert_eq!(AuditOutcome::of_status(403), AuditOutcome::MinorFailure);
        assert_eq!(AuditOutcome::of_status(503), AuditOutcome::SeriousFailure);
    }
}
