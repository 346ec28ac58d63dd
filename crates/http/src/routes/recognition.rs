//! Mutual recognition for the people who use it:
//!
//! * `GET /fhir/Observation/{id}/$recognition[?at=…]`: may the caller's hospital recognize this
//!   result now (or at `at`)? A `Parameters` with every reason.
//! * `POST /fhir/Observation/{id}/$retest`: a clinician tests again anyway, with a coded reason;
//!   recorded as an `AuditEvent` (`GET /fhir/AuditEvent`, admins).
//! * `GET /api/labs/{hospital}/recognition`: which catalogue items of a laboratory are
//!   recognizable today, and what stands in the way of the others.
//!
//! The receiving hospital is the caller's own; an admin names it with `receiver`.

use super::hospitals::{admin_only, readable};
use super::{State, blocking, fhir};
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::mapping_import::now_millis;
use crate::params::Params;
use crate::recognition::{Assessor, recorded_of};
use actix_web::web::{Bytes, Path};
use actix_web::{HttpRequest, HttpResponse};
use huren_core::HospitalId;
use huren_core::audit::{AuditAction, AuditOutcome, AuditQuery};
use huren_core::observation::{
    CodeColumn, ObservationQuery, StoredObservation, fhir_instant_millis,
};
use huren_core::qc::{CHINA_OFFSET_MINUTES, day_of};
use huren_core::recognition::{
    Decision, IqcDay, MappingUse, Recorded, Region, ResultFacts, Retest, RetestReason, Severity,
};
use huren_core::result::ResultStatus;
use serde_json::{Value, json};

/// The receiving hospital of a question: the caller's own, or for an admin the `receiver`
/// parameter (else the caller's own, if any).
pub(crate) fn receiver_of(who: &Principal, params: &Params) -> Result<HospitalId, ApiError> {
    let asked = params.get("receiver")?;
    let own = who.hospital.as_deref();
    let id = match (asked, own) {
        (Some(r), _) if who.role == Role::Admin => r,
        (Some(r), Some(o)) if r == o => r,
        (Some(r), _) => {
            return Err(ApiError::Forbidden(format!(
                "{} `{}` may only ask for their own hospital, not `{r}`",
                who.role.as_str(),
                who.sub
            )));
        }
        (None, Some(o)) => o,
        (None, None) => {
            return Err(ApiError::param(
                "receiver",
                "the token names no hospital: give the receiving hospital's id",
            ));
        }
    };
    HospitalId::parse(id).map_err(|e| ApiError::param("receiver", e.to_string()))
}

/// The `at` parameter (a FHIR dateTime; times without an offset are China time) in Unix
/// seconds, else now.
pub(crate) fn at_of(params: &Params) -> Result<i64, ApiError> {
    match params.get("at")? {
        None => Ok(now_millis().div_euclid(1000)),
        Some(t) => fhir_instant_millis(t, CHINA_OFFSET_MINUTES)
            .map(|ms| ms.div_euclid(1000))
            .ok_or_else(|| {
                ApiError::param(
                    "at",
                    format!("`{t}` is not a FHIR dateTime (2026-12-06T10:00:00+08:00)"),
                )
            }),
    }
}

/// The receiver's region; an unknown receiving hospital is an error.
fn region_of(assessor: &mut Assessor<'_>, receiver: &HospitalId) -> Result<Region, ApiError> {
    assessor
        .hospital(receiver)?
        .map(huren_core::Hospital::region)
        .ok_or_else(|| ApiError::NotFound(format!("no hospital `{receiver}` (the receiver)")))
}

/// A visible Observation and its recorded facts, or 404.
fn visible(o: Option<StoredObservation>, id: &str) -> Result<StoredObservation, ApiError> {
    o.filter(|o| o.held.is_empty())
        .ok_or_else(|| ApiError::NotFound(format!("no Observation `{id}`")))
}

/// The decision for a stored result: a held one or one without recorded facts is not
/// recognizable, with the reason (`no-national-code` for one kept under a LOINC term).
pub(crate) fn decision_for(
    assessor: &mut Assessor<'_>,
    o: &StoredObservation,
    receiver: &Region,
    at: i64,
) -> Result<Decision, ApiError> {
    match recorded_of(o) {
        Some(rec) => Ok(assessor.decide(&o.hospital, &rec, receiver, at)?),
        None if o.national_code.is_empty() && !o.loinc.is_empty() => {
            Ok(huren_core::recognition::without_national_code(&o.loinc))
        }
        None => Ok(Decision {
            recognizable: false,
            entry: None,
            valid_until: None,
            reasons: vec![huren_core::recognition::Reason {
                code: "not-assessable",
                severity: Severity::Failure,
                zh: "结果无国家编码或采集时间，无法判断互认".into(),
                en: "the result has no national code or no collection time, so recognition \
                     cannot be judged"
                    .into(),
            }],
        }),
    }
}

/// `GET /fhir/Observation/{id}/$recognition[?at=…][&receiver=…]`.
pub async fn recognition(
    who: Principal,
    state: State,
    path: Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let params = Params::from_request(&req, &Bytes::new())?;
    let receiver = receiver_of(&who, &params)?;
    let at = at_of(&params)?;
    let st = state.clone();
    let key = id.clone();
    let rcv = receiver.clone();
    let (decision, o) = blocking(move || {
        let o = visible(st.store.observation(&key)?, &key)?;
        super::results::may_read_results(&who, &o.hospital)?;
        let catalog = st.catalog();
        let mut assessor = Assessor::new(&*st.store, &catalog.registry, &st.results)?;
        let region = region_of(&mut assessor, &rcv)?;
        Ok((decision_for(&mut assessor, &o, &region, at)?, o))
    })
    .await?;
    crate::audit::note_results(&req, "recognition", [&o]);
    Ok(fhir(huren_fhir::recognition::parameters(
        &state.urls,
        &decision,
        receiver.as_str(),
        at,
    )))
}

/// `POST /fhir/Observation/{id}/$retest` (a clinician, or an admin naming `receiver`), body
/// `Parameters` with `reason` (a code of `{base}/CodeSystem/retest-reason`:
/// `condition-changed`, `fast-changing`, `major-intervention`, `emergency`, `forensic`,
/// `other`) and `text` (required for `other`): the override as a created `AuditEvent`.
pub async fn retest(
    who: Principal,
    state: State,
    path: Path<String>,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    may_retest(&who)?;
    let id = path.into_inner();
    let params = Params::from_request(&req, &body)?;
    let receiver = receiver_of(&who, &params)?;
    let code = params.get("reason.code")?.or(params.get("reason")?);
    let text = params.get("text")?.unwrap_or("");
    let retest = record_retest(&state, &who, &req, &id, receiver, code, text).await?;
    let event = huren_fhir::recognition::audit_event(&state.urls, &retest);
    Ok(HttpResponse::Created()
        .content_type(huren_fhir::FHIR_JSON)
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("{}/AuditEvent/retest-{}", state.urls.base, retest.id),
        ))
        .body(serde_json::to_vec(&event).unwrap_or_default()))
}

/// A 403 unless `who` may record a retest: clinicians, and admins for a named receiver.
pub(crate) fn may_retest(who: &Principal) -> Result<(), ApiError> {
    if matches!(who.role, Role::Clinician | Role::Admin) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "only a clinician records a retest ({} `{}`)",
            who.role.as_str(),
            who.sub
        )))
    }
}

/// A clinician's decision to test result `id` again, as `receiver` (the API's `$retest` and the
/// results page): the reason checked, recognition decided now, the retest stored through the
/// store acting as the clinician (so it is audited as theirs).
pub(crate) async fn record_retest(
    state: &State,
    who: &Principal,
    req: &HttpRequest,
    id: &str,
    receiver: HospitalId,
    code: Option<&str>,
    text: &str,
) -> Result<Retest, ApiError> {
    may_retest(who)?;
    let code = code.filter(|c| !c.trim().is_empty()).ok_or_else(|| {
        ApiError::param(
            "reason",
            "give the reason for testing again (valueCode or valueCoding)",
        )
    })?;
    let reason = RetestReason::parse(code).ok_or_else(|| {
        ApiError::param(
            "reason",
            format!(
                "`{code}` is not a retest reason; use one of {}",
                RetestReason::ALL.map(RetestReason::as_str).join(", ")
            ),
        )
    })?;
    let text = text.trim().to_owned();
    if reason == RetestReason::Other && text.is_empty() {
        return Err(ApiError::param(
            "text",
            "a retest for `other` reasons needs a text saying why",
        ));
    }
    let now = now_millis();
    let st = state.clone();
    let clinician = who.sub.clone();
    let acting = state.store_as(who, req);
    let id = id.to_owned();
    blocking(move || {
        let o = visible(st.store.observation(&id)?, &id)?;
        let catalog = st.catalog();
        let mut assessor = Assessor::new(&*st.store, &catalog.registry, &st.results)?;
        let region = region_of(&mut assessor, &receiver)?;
        let decision = decision_for(&mut assessor, &o, &region, now.div_euclid(1000))?;
        let mut r = Retest {
            id: 0,
            observation_id: o.id.clone(),
            issuer: o.hospital.clone(),
            receiver,
            clinician,
            reason,
            text,
            recognizable: decision.recognizable,
            recorded_at: now,
        };
        r.id = acting.put_retest(&r)?;
        Ok(r)
    })
    .await
}

/// The search parameters of `GET /fhir/AuditEvent`.
const AUDIT_PARAMS: &[&str] = &[
    "entity", "site", "agent", "patient", "subtype", "action", "outcome", "date", "_count",
    "_format",
];

/// `GET /fhir/AuditEvent[?entity=…][&site=…][&agent=…][&patient=…][&subtype=…][&action=…]
/// [&outcome=…][&date=ge…&date=lt…][&_count=…]` (admins): the audit trail, newest first, as a
/// `searchset` Bundle.
pub async fn audit_events(
    who: Principal,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    admin_only(&who, "read the audit trail")?;
    let params = Params::from_request(&req, &Bytes::new())?;
    if let Some(unknown) = params.names().find(|n| !AUDIT_PARAMS.contains(n)) {
        return Err(ApiError::param(
            unknown,
            format!(
                "unsupported search parameter; supported: {}",
                AUDIT_PARAMS.join(", ")
            ),
        ));
    }
    let text = |name: &str| -> Result<Option<String>, ApiError> {
        Ok(params
            .get(name)?
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned))
    };
    let site = text("site")?
        .map(|s| HospitalId::parse(&s).map_err(|e| ApiError::param("site", e.to_string())))
        .transpose()?;
    let action = text("action")?
        .map(|a| {
            AuditAction::parse(&a)
                .ok_or_else(|| ApiError::param("action", format!("`{a}` is not C, R, U, D or E")))
        })
        .transpose()?;
    let outcome = text("outcome")?
        .map(|o| {
            AuditOutcome::parse(&o)
                .ok_or_else(|| ApiError::param("outcome", format!("`{o}` is not 0, 4 or 8")))
        })
        .transpose()?;
    let (from, to) =
        super::results::date_range(&params, i32::from(state.results.default_offset_minutes))?;
    let query = AuditQuery {
        entity: text("entity")?,
        site,
        agent: text("agent")?,
        patient: text("patient")?,
        kind: text("subtype")?,
        action,
        outcome,
        from,
        to,
        limit: params.usize("_count", 100, 1000)?,
    };
    crate::audit::note(
        &req,
        crate::audit::ReadNote {
            kind: "audit",
            site: query.site.clone(),
            ..Default::default()
        },
    );
    let store = state.store.clone();
    let found = blocking(move || Ok(store.audit_events(&query)?)).await?;
    let entries: Vec<Value> = found
        .iter()
        .map(|r| {
            json!({
                "fullUrl": format!("{}/AuditEvent/{}", state.urls.base, r.id),
                "resource": huren_fhir::audit::audit_event(&state.urls, r),
                "search": {"mode": "match"},
            })
        })
        .collect();
    let mut bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": entries.len(),
        "link": [{"relation": "self", "url": format!("{}/AuditEvent?{}", state.urls.base, req.query_string())}],
    });
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(entries);
    }
    Ok(fhir(serde_json::to_vec(&bundle).unwrap_or_default()))
}

/// Every catalogue item of laboratory `id`, judged at `at` (seconds) as `lab_summary` says:
/// the laboratory and one JSON object per item (code, display, recognizable, scope, mark,
/// EQA, IQC today, reasons). The API's summary and the lab manager's page both show this.
pub(crate) async fn lab_items(
    state: &State,
    id: &HospitalId,
    at: i64,
) -> Result<(huren_core::Hospital, Vec<Value>), ApiError> {
    let st = state.clone();
    let lab = id.clone();
    blocking(move || {
        let catalog = st.catalog();
        let mut assessor = Assessor::new(&*st.store, &catalog.registry, &st.results)?;
        let hospital = assessor
            .hospital(&lab)?
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("no hospital `{lab}`")))?;
        let region = hospital.region();
        let rules = hospital.lab.rule_set();
        let mut codes: Vec<String> = assessor
            .catalogue()
            .iter()
            .filter(|e| e.scope.covers(&region))
            .map(|e| e.national_code.clone())
            .collect();
        codes.dedup();
        // Every item's EQA events and control results in two queries.
        let wanted: Vec<(String, i64)> = codes.iter().map(|c| (c.clone(), at)).collect();
        assessor.prefetch(&lab, &wanted)?;
        let today = day_of(at, CHINA_OFFSET_MINUTES);
        let mut items = Vec::with_capacity(codes.len());
        for code in codes {
            let latest = st
                .store
                .search_observations(&ObservationQuery {
                    hospital: Some(lab.clone()),
                    subject: None,
                    codes: vec![(CodeColumn::National, code.clone())],
                    effective_from: None,
                    effective_to: None,
                    include_held: false,
                    limit: 1,
                    offset: 0,
                })?
                .into_iter()
                .next();
            let from_latest = latest.as_ref().and_then(recorded_of);
            let rec = Recorded {
                result: ResultFacts {
                    national_code: code.clone(),
                    status: ResultStatus::Final,
                    value_in_canonical_unit: true,
                    mapping: MappingUse::ApprovedEquivalent,
                    collected_at: at,
                },
                lab_interval: from_latest.as_ref().and_then(|r| r.lab_interval),
                national_interval: from_latest.as_ref().and_then(|r| r.national_interval),
            };
            let d = assessor.decide(&lab, &rec, &region, at)?;
            let iqc = match assessor.iqc_condition_of(&lab, &code, today, &rules)? {
                IqcDay::InControl => json!({"status": "in-control"}),
                IqcDay::Warning(r) => json!({"status": "warning", "fired": r}),
                IqcDay::Rejected(r) => json!({"status": "rejected", "fired": r}),
                IqcDay::Missing => json!({"status": "no-data"}),
            };
            let eqa_events = assessor.eqa_of(&lab, &code)?.to_vec();
            let eqa = st.results.eqa.assess(&eqa_events, today);
            let concept = catalog
                .registry
                .lookup(huren_core::CodeSystem::National, &code);
            items.push(json!({
                "code": code,
                "display": concept.map(|c| c.display_zh.clone()).unwrap_or_default(),
                "recognizable": d.recognizable,
                "scope": d.entry.as_ref().map(|e| e.scope.to_string()),
                "mark": d.entry.as_ref().map(|e| e.mark.clone()),
                "validity_days": d.entry.as_ref().map(|e| e.validity_days),
                "eqa": {
                    "passes": eqa.passes(),
                    "latest": eqa.latest.map(|e| json!({
                        "program": e.program, "event": e.event,
                        "samples": e.samples, "acceptable": e.acceptable,
                    })),
                    "satisfactory": eqa.latest_satisfactory,
                    "age_days": eqa.latest_age_days,
                    "unsuccessful_in": eqa.unsuccessful_in,
                },
                "iqc_today": iqc,
                "latest_result": latest.map(|o| o.id),
                "reasons": reasons_json(&d),
            }));
        }
        Ok((hospital, items))
    })
    .await
}

fn reasons_json(d: &Decision) -> Vec<Value> {
    d.reasons
        .iter()
        .map(|r| {
            json!({
                "code": r.code,
                "severity": match r.severity { Severity::Failure => "failure", Severity::Warning => "warning" },
                "zh": r.zh,
                "en": r.en,
            })
        })
        .collect()
}

/// `GET /api/labs/{hospital}/recognition[?at=…]` (that hospital's users, admins): for every
/// catalogue item with a scope covering the laboratory, whether a final result of it, taken
/// now and reported in its canonical unit through an equivalent mapping, would be recognizable
/// within the laboratory's own region today — so the reasons left are the laboratory's to fix
/// (EQA, IQC, reference interval). The reference interval is judged from the lab's latest
/// result of the item, when there is one.
pub async fn lab_summary(
    who: Principal,
    state: State,
    path: Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = readable(&who, &state, &path).await?.id;
    let params = Params::from_request(&req, &Bytes::new())?;
    let at = at_of(&params)?;
    let (hospital, items) = lab_items(&state, &id, at).await?;
    let recognizable = items
        .iter()
        .filter(|i| i["recognizable"] == json!(true))
        .count();
    Ok(HttpResponse::Ok().json(json!({
        "hospital": id.as_str(),
        "at": at,
        "accreditation": {
            "iso15189": hospital.lab.accreditation,
            "until": hospital.lab.accredited_until,
        },
        "iqc_rules": hospital.lab.rule_set().to_string(),
        "items": items.len(),
        "recognizable": recognizable,
        "catalogue": items,
    })))
}
