//! The audit trail as R4 `AuditEvent`s (`huren_core::audit`).
//!
//! - `type`: a retest is `{base}/CodeSystem/recognition|retest`; every other event is DICOM's
//!   `rest` (RESTful operation), with the event's kind as `subtype` in
//!   `{base}/CodeSystem/audit-type`.
//! - `agent[0]`: who (identifier `{base}/user|sub`, and the hospital in `display`), the role in
//!   `{base}/CodeSystem/role`, the client's address as `network` (type `2`, IP address), and
//!   the request line (`POST /fhir`) as `name`.
//! - `source.site`: the hospital whose data the event concerns; `observer`: huren.
//! - `entity`: each thing touched; Observations as references, everything else as an
//!   identifier in `{base}/audit-entity`, patients as identifiers in their own systems (role
//!   `1`, patient).

use crate::Urls;
use crate::observation::time::instant_from_millis;
use crate::recognition::{RECOGNITION_SYSTEM_PATH, RETEST_REASON_SYSTEM_PATH, USER_SYSTEM_PATH};
use huren_core::audit::AuditRecord;
use serde_json::{Value, json};

/// `{base}` + this: the kinds of audit events.
pub const AUDIT_TYPE_SYSTEM_PATH: &str = "/CodeSystem/audit-type";
/// `{base}` + this: huren's roles.
pub const ROLE_SYSTEM_PATH: &str = "/CodeSystem/role";
/// `{base}` + this: the identifier system of audited things that are not FHIR resources.
pub const ENTITY_SYSTEM_PATH: &str = "/audit-entity";

/// One record as an `AuditEvent`.
#[must_use]
pub fn audit_event(urls: &Urls, r: &AuditRecord) -> Value {
    let mut event = json!({
        "resourceType": "AuditEvent",
        "id": r.id.to_string(),
        "action": r.action.code(),
        "recorded": instant_from_millis(r.recorded_at),
        "outcome": r.outcome.code(),
    });
    if r.kind == "retest" {
        event["type"] = json!({
            "system": format!("{}{RECOGNITION_SYSTEM_PATH}", urls.base),
            "code": "retest",
            "display": "复查（不互认）",
        });
    } else {
        event["type"] = json!({
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
            "display": "RESTful Operation",
        });
        event["subtype"] = json!([{
            "system": format!("{}{AUDIT_TYPE_SYSTEM_PATH}", urls.base),
            "code": r.kind,
        }]);
    }
    if !r.description.is_empty() {
        event["outcomeDesc"] = json!(r.description);
    }
    if let Some((code, text)) = &r.purpose {
        let mut purpose = json!({
            "coding": [{
                "system": format!("{}{RETEST_REASON_SYSTEM_PATH}", urls.base),
                "code": code,
            }],
        });
        if !text.trim().is_empty() {
            purpose["text"] = json!(text);
        }
        event["purposeOfEvent"] = json!([purpose]);
    }
    let mut who = json!({
        "identifier": {"system": format!("{}{USER_SYSTEM_PATH}", urls.base), "value": r.actor.sub},
    });
    if let Some(h) = &r.actor.hospital {
        who["display"] = json!(format!("{} ({})", r.actor.sub, h.as_str()));
    }
    let mut agent = json!({"who": who, "requestor": true});
    if !r.actor.role.is_empty() {
        agent["role"] = json!([{
            "coding": [{"system": format!("{}{ROLE_SYSTEM_PATH}", urls.base), "code": r.actor.role}],
        }]);
    }
    if !r.request.is_empty() {
        agent["name"] = json!(r.request);
    }
    if let Some(address) = &r.actor.address {
        agent["network"] = json!({"address": address, "type": "2"});
    }
    event["agent"] = json!([agent]);
    let mut source = json!({"observer": {"display": "huren"}});
    if let Some(site) = &r.site {
        source["site"] = json!(site.as_str());
    }
    event["source"] = source;
    let mut entities: Vec<Value> = r
        .entities
        .iter()
        .map(|e| {
            if e.starts_with("Observation/") {
                json!({"what": {"reference": e}})
            } else {
                json!({"what": {"identifier": {
                    "system": format!("{}{ENTITY_SYSTEM_PATH}", urls.base),
                    "value": e,
                }}})
            }
        })
        .collect();
    entities.extend(r.patients.iter().map(|p| {
        let (system, value) = p.split_once('|').unwrap_or(("", p));
        let mut identifier = json!({"value": value});
        if !system.is_empty() {
            identifier["system"] = json!(system);
        }
        json!({
            "what": {"identifier": identifier},
            "type": {
                "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                "code": "1",
                "display": "Person",
            },
        })
    }));
    if !entities.is_empty() {
        event["entity"] = Value::Array(entities);
    }
    event
}
