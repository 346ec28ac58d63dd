//! Lab results in and out: `POST /fhir` (Bundles), `POST /fhir/Observation`, `POST /hl7v2`,
//! `POST /api/results/import` (CSV), the Observation reads and search, and a hospital's unmapped
//! queue.
//!
//! Every input becomes core's `LabResult`s and goes through one pipeline (`crate::ingest`):
//! normalize, build the Observation, write in one transaction.

use super::hospitals::readable;
use super::{State, blocking};
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::ingest::{Written, hospital_result_system, ingest};
use crate::mapping_import::now_millis;
use crate::params::Params;
use actix_web::http::header;
use actix_web::web::{Bytes, Path};
use actix_web::{HttpRequest, HttpResponse};
use huren_core::HospitalId;
use huren_core::normalize::Severity as NormSeverity;
use huren_core::observation::{
    CodeColumn, ObservationQuery, StoredObservation, WriteOutcome, fhir_instant_millis,
};
use huren_core::ports::SuggestRequest;
use huren_core::result::{Identifier, LabResult};
use huren_fhir::observation::{
    BundleKind, EntryOutcome, IngestContext, Problem, read_bundle, read_observation, with_meta,
};
use huren_fhir::{Issue, IssueCode, Severity};
use serde_json::{Value, json};

/// Results per page of a search, unless `_count` says otherwise.
const PAGE: usize = 50;
const MAX_PAGE: usize = 1000;

/// The hospital a sending system speaks for: its token's `hospital` claim. Only systems (LIS,
/// HIS) send results.
fn sender(who: &Principal) -> Result<HospitalId, ApiError> {
    who.require_scope("Observation", crate::auth::Access::Write)?;
    if who.role != Role::System {
        return Err(ApiError::Forbidden(format!(
            "{} `{}` may not send results; only a hospital's system may",
            who.role.as_str(),
            who.sub
        )));
    }
    let hospital = who.hospital.as_deref().ok_or_else(|| {
        ApiError::Forbidden(format!(
            "system `{}` has no `hospital` claim; results belong to a hospital",
            who.sub
        ))
    })?;
    HospitalId::parse(hospital).map_err(|e| ApiError::Forbidden(e.0))
}

/// A 403 when a result names another hospital as its performing laboratory
/// ([`crate::ingest::foreign_origin`]); nothing is written then.
fn same_origin(
    state: &crate::AppState,
    hospital: &HospitalId,
    results: &[LabResult],
) -> Result<(), ApiError> {
    match crate::ingest::foreign_origin(state, hospital, results)? {
        Some(why) => Err(ApiError::Forbidden(format!("{why}; nothing was written"))),
        None => Ok(()),
    }
}

/// An `OperationOutcome` issue from a normalization issue.
fn norm_issue(i: &huren_core::normalize::Issue, location: &str) -> Issue {
    Issue {
        severity: match i.severity {
            NormSeverity::Information => Severity::Information,
            NormSeverity::Warning => Severity::Warning,
        },
        code: IssueCode::Informational,
        diagnostics: format!("{}: {}", i.code, i.message),
        expression: if location.is_empty() {
            vec![]
        } else {
            vec![location.to_owned()]
        },
    }
}

fn outcome_value(issues: &[Issue]) -> Value {
    serde_json::from_slice(&huren_fhir::operation_outcome(issues)).unwrap_or(Value::Null)
}

/// `201 Created`, `200 OK` or `202 Accepted` (held) for one written result.
fn entry_status(w: &Written) -> &'static str {
    if w.prepared.hold.is_some() {
        return "202 Accepted";
    }
    match w.outcome {
        WriteOutcome::Created => "201 Created",
        WriteOutcome::Updated | WriteOutcome::Unchanged | WriteOutcome::Stale => "200 OK",
    }
}

fn location(w: &Written) -> String {
    format!(
        "Observation/{}/_history/{}",
        w.prepared.stored.id, w.version
    )
}

/// The issues that go with one written result: the sender's reading warnings, the
/// normalizer's, and what became of it.
fn written_issues(w: &Written, read: &[Issue], at: &str) -> Vec<Issue> {
    let mut issues: Vec<Issue> = read.to_vec();
    issues.extend(w.prepared.issues.iter().map(|i| norm_issue(i, at)));
    match w.outcome {
        WriteOutcome::Unchanged => issues.push(info(
            "the same result is already stored; nothing changed",
            at,
        )),
        WriteOutcome::Stale => issues.push(Issue {
            severity: Severity::Warning,
            code: IssueCode::Conflict,
            diagnostics: "a corrected version of this result is stored; this earlier version \
                          was not applied"
                .into(),
            expression: vec![at.to_owned()],
        }),
        _ => {}
    }
    issues
}

fn info(message: &str, at: &str) -> Issue {
    Issue {
        severity: Severity::Information,
        code: IssueCode::Informational,
        diagnostics: message.to_owned(),
        expression: if at.is_empty() {
            vec![]
        } else {
            vec![at.to_owned()]
        },
    }
}

fn problem_issues(problems: &[Problem]) -> Vec<Issue> {
    problems.iter().map(Problem::to_issue).collect()
}

fn body_text(body: &Bytes) -> Result<&str, ApiError> {
    if body.is_empty() {
        return Err(ApiError::Body("the body is empty".into()));
    }
    std::str::from_utf8(body).map_err(|e| {
        ApiError::Body(format!(
            "the body is not UTF-8 (byte {}); FHIR JSON is always UTF-8",
            e.valid_up_to()
        ))
    })
}

/// `POST /fhir/Observation`: one Observation. `201 Created` with `Location` and the stored
/// resource; `200 OK` when the same result was already stored (or replaced an earlier
/// version); `202 Accepted` with an `OperationOutcome` when it is held (unmapped local code);
/// `201`/`200` with an `OperationOutcome` (and the resource at `Location`) when it was kept
/// under a LOINC code the registry lacks.
pub async fn create(
    who: Principal,
    state: State,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    let hospital = sender(&who)?;
    let text = body_text(&body)?.to_owned();
    let state2 = state.clone();
    let store = state.store_as(&who, &req);
    let (written, read_warnings) = blocking(move || {
        let patients = state2.results.patients(&state2.urls, &hospital);
        let ctx = IngestContext {
            urls: &state2.urls,
            hospital: hospital.as_str(),
            patients: &patients,
        };
        let (result, warnings) = read_observation(&text, &ctx, "Observation")
            .map_err(|problems| rows_error(&problems))?;
        same_origin(&state2, &hospital, std::slice::from_ref(&result))?;
        let mut written = ingest(&state2, &*store, &hospital, vec![result], now_millis())?;
        Ok((written.remove(0), warnings))
    })
    .await?;
    let issues = written_issues(&written, &problem_issues(&read_warnings), "Observation");
    let loc = location(&written);
    if let Some(hold) = &written.prepared.hold {
        let mut all = vec![Issue {
            severity: Severity::Warning,
            code: IssueCode::Incomplete,
            diagnostics: format!("{hold} (stored as {loc})"),
            expression: vec!["Observation.code".into()],
        }];
        all.extend(issues);
        return Ok(HttpResponse::Accepted()
            .content_type(huren_fhir::FHIR_JSON)
            .insert_header((header::LOCATION, loc))
            .body(huren_fhir::operation_outcome(&all)));
    }
    let mut resp = match written.outcome {
        WriteOutcome::Created => HttpResponse::Created(),
        _ => HttpResponse::Ok(),
    };
    let gap = written
        .prepared
        .issues
        .iter()
        .any(|i| i.code == "registry-gap");
    if gap {
        // Stored and visible, but under a LOINC code the registry lacks: the answer says so (the
        // resource is at `Location`).
        return Ok(resp
            .content_type(huren_fhir::FHIR_JSON)
            .insert_header((header::LOCATION, loc))
            .insert_header((header::ETAG, format!("W/\"{}\"", written.version)))
            .body(huren_fhir::operation_outcome(&issues)));
    }
    let body = served(&written.prepared.stored, written.version)?;
    Ok(resp
        .content_type(huren_fhir::FHIR_JSON)
        .insert_header((header::LOCATION, loc))
        .insert_header((header::ETAG, format!("W/\"{}\"", written.version)))
        .body(body))
}

/// The stored JSON with `id` and `meta`.
fn served(o: &StoredObservation, version: i64) -> Result<Vec<u8>, ApiError> {
    with_meta(&o.resource, &o.id, version, o.updated_at)
        .map_err(|e| ApiError::Internal(format!("stored Observation {} is not JSON: {e}", o.id)))
}

fn rows_error(problems: &[Problem]) -> ApiError {
    ApiError::Invalid(problem_issues(problems))
}

/// `POST /fhir`: a Bundle of type `batch`, `transaction` or `collection`.
///
/// A transaction is all or nothing: any bad entry answers 400 with every problem and writes
/// nothing. A batch (and a collection, taken as a batch) answers each entry on its own in a
/// `batch-response`: `201 Created` / `200 OK` with a `location`, `202 Accepted` for a held
/// result, or `400 Bad Request` with an `OperationOutcome` for a bad entry.
pub async fn bundle(
    who: Principal,
    state: State,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    let hospital = sender(&who)?;
    let text = body_text(&body)?.to_owned();
    let state2 = state.clone();
    let store = state.store_as(&who, &req);
    let answer = blocking(move || {
        let patients = state2.results.patients(&state2.urls, &hospital);
        let ctx = IngestContext {
            urls: &state2.urls,
            hospital: hospital.as_str(),
            patients: &patients,
        };
        let bundle = read_bundle(&text, &ctx).map_err(|p| rows_error(&p))?;
        state2.limits.check_bundle_entries(bundle.entries.len())?;
        let transaction = bundle.kind == BundleKind::Transaction;
        if transaction {
            let errors: Vec<&Problem> = bundle
                .entries
                .iter()
                .filter(|e| e.outcome.is_error())
                .flat_map(|e| e.outcome.problems())
                .collect();
            if !errors.is_empty() {
                let issues: Vec<Issue> = errors.iter().map(|p| p.to_issue()).collect();
                return Err(ApiError::Invalid(issues));
            }
        }
        let results: Vec<LabResult> = bundle
            .entries
            .iter()
            .filter_map(|e| e.outcome.lab_result().cloned())
            .collect();
        same_origin(&state2, &hospital, &results)?;
        let mut written = ingest(&state2, &*store, &hospital, results, now_millis())?.into_iter();
        let mut entries = Vec::with_capacity(bundle.entries.len());
        for e in &bundle.entries {
            let at = format!("Bundle.entry[{}]", e.index);
            let response = match &e.outcome {
                EntryOutcome::Observation(Ok((_, warnings))) => {
                    let Some(w) = written.next() else {
                        return Err(ApiError::Internal("fewer results written than read".into()));
                    };
                    let mut issues = written_issues(&w, &problem_issues(warnings), &at);
                    if let Some(hold) = &w.prepared.hold {
                        issues.insert(
                            0,
                            Issue {
                                severity: Severity::Warning,
                                code: IssueCode::Incomplete,
                                diagnostics: hold.clone(),
                                expression: vec![format!("{at}.resource.code")],
                            },
                        );
                    }
                    let mut r = json!({
                        "status": entry_status(&w),
                        "location": location(&w),
                        "etag": format!("W/\"{}\"", w.version),
                    });
                    if !issues.is_empty() {
                        r["outcome"] = outcome_value(&issues);
                    }
                    r
                }
                outcome if outcome.is_error() => json!({
                    "status": "400 Bad Request",
                    "outcome": outcome_value(&problem_issues(outcome.problems())),
                }),
                outcome => {
                    let mut r = json!({"status": "200 OK"});
                    if !outcome.problems().is_empty() {
                        r["outcome"] = outcome_value(&problem_issues(outcome.problems()));
                    }
                    r
                }
            };
            entries.push(json!({"response": response}));
        }
        let kind = if transaction {
            "transaction-response"
        } else {
            "batch-response"
        };
        let mut answer = json!({
            "resourceType": "Bundle",
            "type": kind,
            "entry": entries,
        });
        if entries_empty(&answer) {
            answer.as_object_mut().map(|o| o.remove("entry"));
        }
        Ok(answer)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type(huren_fhir::FHIR_JSON)
        .body(serde_json::to_vec(&answer).unwrap_or_default()))
}

fn entries_empty(v: &Value) -> bool {
    v["entry"].as_array().is_some_and(Vec::is_empty)
}

/// Whether `who` may see a held result of `hospital` (its own hospital's people, admins).
fn sees_held(who: &Principal, hospital: &HospitalId) -> bool {
    who.role == Role::Admin || who.hospital.as_deref() == Some(hospital.as_str())
}

/// Whether `who` reads every hospital's results: admins, and clinicians (mutual recognition is
/// reading another hospital's results). Everyone else reads their own hospital's only.
pub(crate) fn reads_all_results(who: &Principal) -> bool {
    matches!(who.role, Role::Admin | Role::Clinician)
}

/// A 403 unless `who` may read results of `hospital` (see [`reads_all_results`]).
pub(crate) fn may_read_results(who: &Principal, hospital: &HospitalId) -> Result<(), ApiError> {
    who.require_scope("Observation", crate::auth::Access::Read)?;
    if reads_all_results(who) || who.hospital.as_deref() == Some(hospital.as_str()) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "{} `{}` may read its own hospital's results only, not `{hospital}`'s; clinicians \
             and admins read every hospital's",
            who.role.as_str(),
            who.sub
        )))
    }
}

/// `GET /fhir/Observation/{id}`.
pub async fn read(
    who: Principal,
    state: State,
    path: Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let store = state.store.clone();
    let key = id.clone();
    let found = blocking(move || Ok(store.observation(&key)?)).await?;
    let o = found
        .filter(|o| o.held.is_empty() || sees_held(&who, &o.hospital))
        .ok_or_else(|| ApiError::NotFound(format!("no Observation `{id}`")))?;
    may_read_results(&who, &o.hospital)?;
    crate::audit::note_results(&req, "read", [&o]);
    Ok(HttpResponse::Ok()
        .content_type(huren_fhir::FHIR_JSON)
        .insert_header((header::ETAG, format!("W/\"{}\"", o.version)))
        .body(served(&o, o.version)?))
}

/// `GET /fhir/Observation/{id}/_history`: every version, newest first, as a `history` Bundle.
pub async fn history(
    who: Principal,
    state: State,
    path: Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let versions = versions(&who, &state, &id).await?;
    crate::audit::note_results(&req, "read", &versions);
    let entries: Vec<Value> = versions
        .iter()
        .map(|v| {
            let resource: Value = served(v, v.version)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or(Value::Null);
            json!({
                "fullUrl": format!("{}/Observation/{}/_history/{}", state.urls.base, v.id, v.version),
                "resource": resource,
                "request": {"method": if v.version == 1 { "POST" } else { "PUT" }, "url": format!("Observation/{}", v.id)},
                "response": {"status": if v.version == 1 { "201 Created" } else { "200 OK" }},
            })
        })
        .collect();
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "history",
        "total": entries.len(),
        "entry": entries,
    });
    Ok(HttpResponse::Ok()
        .content_type(huren_fhir::FHIR_JSON)
        .body(serde_json::to_vec(&bundle).unwrap_or_default()))
}

/// `GET /fhir/Observation/{id}/_history/{vid}`.
pub async fn vread(
    who: Principal,
    state: State,
    path: Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (id, vid) = path.into_inner();
    let version: i64 = vid
        .parse()
        .map_err(|_| ApiError::param("vid", format!("`{vid}` is not a version number")))?;
    let versions = versions(&who, &state, &id).await?;
    let v = versions
        .iter()
        .find(|v| v.version == version)
        .ok_or_else(|| ApiError::NotFound(format!("Observation `{id}` has no version {vid}")))?;
    crate::audit::note_results(&req, "read", [v]);
    Ok(HttpResponse::Ok()
        .content_type(huren_fhir::FHIR_JSON)
        .insert_header((header::ETAG, format!("W/\"{}\"", v.version)))
        .body(served(v, v.version)?))
}

async fn versions(
    who: &Principal,
    state: &State,
    id: &str,
) -> Result<Vec<StoredObservation>, ApiError> {
    let store = state.store.clone();
    let key = id.to_owned();
    let versions = blocking(move || Ok(store.observation_versions(&key)?)).await?;
    match versions.first() {
        Some(current) if current.held.is_empty() || sees_held(who, &current.hospital) => {
            may_read_results(who, &current.hospital)?;
            Ok(versions)
        }
        _ => Err(ApiError::NotFound(format!("no Observation `{id}`"))),
    }
}

/// The time range of the `date` parameters (`ge`, `gt`, `le`, `lt`, `eq` prefixes; a date
/// without a time covers its day): `[from, to)` in Unix milliseconds.
pub(super) fn date_range(
    params: &Params,
    offset_minutes: i32,
) -> Result<(Option<i64>, Option<i64>), ApiError> {
    let mut from = None;
    let mut to = None;
    for d in params.all("date") {
        let (prefix, value) = match d.get(..2) {
            Some(p @ ("ge" | "gt" | "le" | "lt" | "eq")) => (p, &d[2..]),
            _ => ("eq", d),
        };
        let at = fhir_instant_millis(value, offset_minutes).ok_or_else(|| {
            ApiError::param(
                "date",
                format!("`{value}` is not a FHIR date or dateTime (e.g. 2026-11-20 or 2026-11-20T08:00:00+08:00)"),
            )
        })?;
        match prefix {
            "ge" | "gt" => from = Some(at),
            "le" | "lt" => to = Some(end_of(value, at)),
            _ => {
                from = Some(at);
                to = Some(end_of(value, at));
            }
        }
    }
    Ok((from, to))
}

/// The search parameters `GET /fhir/Observation` understands.
const SEARCH_PARAMS: &[&str] = &[
    "subject:identifier",
    "patient:identifier",
    "code",
    "date",
    "recognizable",
    "receiver",
    "at",
    "_count",
    "_offset",
    "_format",
];

/// How many of one patient's results `recognizable=` judges at most.
const MAX_JUDGED: usize = 2000;

/// `GET /fhir/Observation?subject:identifier=SYSTEM|VALUE&code=[system|]code&date=ge…&date=le…
/// &_count=N`: a `searchset` Bundle, newest first, with a `next` link while there are more.
/// `code` matches national, LOINC and local codes alike (a system narrows it). Visible results
/// only; clinicians and admins see every hospital's, which is the point of mutual recognition;
/// every other role its own hospital's.
///
/// `recognizable=true` (or `false`) keeps the patient's results that the caller's hospital may
/// (or may not) recognize now (or at `at`); an admin names the hospital with `receiver`. It
/// needs a patient.
pub async fn search(
    who: Principal,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_request(&req, &Bytes::new())?;
    if let Some(unknown) = params.names().find(|n| !SEARCH_PARAMS.contains(n)) {
        return Err(ApiError::param(
            unknown,
            format!(
                "unsupported search parameter; supported: {}",
                SEARCH_PARAMS.join(", ")
            ),
        ));
    }
    let subject = match (
        params.get("subject:identifier")?,
        params.get("patient:identifier")?,
    ) {
        (Some(_), Some(_)) => {
            return Err(ApiError::param(
                "patient:identifier",
                "give subject:identifier or patient:identifier, not both",
            ));
        }
        (Some(t), None) | (None, Some(t)) => Some(Identifier::parse_token(t)),
        (None, None) => None,
    };
    let mut codes = Vec::new();
    for token in params.all("code") {
        for one in token.split(',') {
            codes.push(code_filter(&state, one)?);
        }
    }
    if subject.is_none() && codes.is_empty() {
        return Err(ApiError::param(
            "subject:identifier",
            "a search needs a patient (subject:identifier or patient:identifier) or a code",
        ));
    }
    let (from, to) = date_range(&params, i32::from(state.results.default_offset_minutes))?;
    let count = params.usize("_count", PAGE, MAX_PAGE)?;
    let offset = params.usize("_offset", 0, usize::MAX)?;
    let recognizable = match params.get("recognizable")? {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => {
            return Err(ApiError::param(
                "recognizable",
                format!("`{other}` is not true or false"),
            ));
        }
    };
    let judged = match recognizable {
        Some(wanted) => {
            if subject.is_none() {
                return Err(ApiError::param(
                    "recognizable",
                    "recognizable= needs a patient (subject:identifier or patient:identifier)",
                ));
            }
            let receiver = super::recognition::receiver_of(&who, &params)?;
            Some((wanted, receiver, super::recognition::at_of(&params)?))
        }
        None => {
            for p in ["receiver", "at"] {
                if params.get(p)?.is_some() {
                    return Err(ApiError::param(p, "only used with recognizable="));
                }
            }
            None
        }
    };
    who.require_scope("Observation", crate::auth::Access::Read)?;
    let scope = if reads_all_results(&who) {
        None
    } else {
        let own = who.hospital.as_deref().ok_or_else(|| {
            ApiError::Forbidden(format!(
                "{} `{}` has no `hospital` claim, so no results to read",
                who.role.as_str(),
                who.sub
            ))
        })?;
        Some(HospitalId::parse(own).map_err(|e| ApiError::Forbidden(e.0))?)
    };
    let query = ObservationQuery {
        hospital: scope,
        subject,
        codes,
        effective_from: from,
        effective_to: to,
        include_held: false,
        // One more than asked, to know whether there is a next page; every result of the
        // patient when they are judged first.
        limit: if judged.is_some() {
            MAX_JUDGED
        } else {
            count + 1
        },
        offset: if judged.is_some() { 0 } else { offset },
    };
    let st = state.clone();
    let mut found = blocking(move || {
        let found = st.store.search_observations(&query)?;
        let Some((wanted, receiver, at)) = judged else {
            return Ok(found);
        };
        let catalog = st.catalog();
        let mut assessor =
            crate::recognition::Assessor::new(&*st.store, &catalog.registry, &st.results)?;
        let region = assessor
            .hospital(&receiver)?
            .map(huren_core::Hospital::region)
            .ok_or_else(|| {
                ApiError::NotFound(format!("no hospital `{receiver}` (the receiver)"))
            })?;
        assessor.prefetch_results(&found)?;
        let mut kept = Vec::new();
        for o in found {
            let d = super::recognition::decision_for(&mut assessor, &o, &region, at)?;
            if d.recognizable == wanted {
                kept.push(o);
            }
        }
        Ok(kept.into_iter().skip(offset).take(count + 1).collect())
    })
    .await?;
    let more = found.len() > count;
    found.truncate(count);
    crate::audit::note_results(&req, "search", &found);
    let self_url = format!("{}/Observation?{}", state.urls.base, req.query_string());
    let mut links = vec![json!({"relation": "self", "url": self_url})];
    if more {
        let mut next: Vec<String> = req
            .query_string()
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("_offset=") && !p.starts_with("_count="))
            .map(str::to_owned)
            .collect();
        next.push(format!("_count={count}"));
        next.push(format!("_offset={}", offset + count));
        links.push(json!({
            "relation": "next",
            "url": format!("{}/Observation?{}", state.urls.base, next.join("&")),
        }));
    }
    // The stored resources are spliced in as they are (with `id` and `meta`), not parsed into
    // `Value`s and written again: that round trip was a sixth of a patient query's time.
    let mut entries = Vec::with_capacity(found.len());
    for o in &found {
        let resource = served(o, o.version)?;
        let mut entry = Vec::with_capacity(resource.len() + 128);
        entry.extend_from_slice(b"{\"fullUrl\":");
        serde_json::to_writer(
            &mut entry,
            &format!("{}/Observation/{}", state.urls.base, o.id),
        )
        .map_err(|e| ApiError::Internal(e.to_string()))?;
        entry.extend_from_slice(b",\"resource\":");
        entry.extend_from_slice(&resource);
        entry.extend_from_slice(b",\"search\":{\"mode\":\"match\"}}");
        entries.push(entry);
    }
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
    });
    let mut body = serde_json::to_vec(&bundle).map_err(|e| ApiError::Internal(e.to_string()))?;
    if !entries.is_empty() {
        body.pop(); // the closing brace
        body.extend_from_slice(b",\"entry\":[");
        for (i, entry) in entries.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(entry);
        }
        body.extend_from_slice(b"]}");
    }
    Ok(HttpResponse::Ok()
        .content_type(huren_fhir::FHIR_JSON)
        .body(body))
}

/// The last millisecond of the period a FHIR date names (`2026-11-20` → end of that day), for
/// `le`: a date means the whole day.
fn end_of(value: &str, start: i64) -> i64 {
    if value.contains('T') {
        return start;
    }
    let day = 86_400_000;
    match value.len() {
        4 => start + 366 * day - 1, // a year: close enough at the edges, never too short
        7 => start + 31 * day - 1,
        _ => start + day - 1,
    }
}

fn code_filter(state: &State, token: &str) -> Result<(CodeColumn, String), ApiError> {
    let (system, code) = match token.split_once('|') {
        Some((s, c)) => (Some(s), c),
        None => (None, token),
    };
    if code.is_empty() {
        return Err(ApiError::param("code", format!("`{token}` names no code")));
    }
    let column = match system {
        None | Some("") => CodeColumn::Any,
        Some("http://loinc.org") => CodeColumn::Loinc,
        Some(s) if state.urls.parse_code_system(s) == Some(huren_core::CodeSystem::National) => {
            CodeColumn::National
        }
        Some(s) if state.urls.parse_code_system(s) == Some(huren_core::CodeSystem::Loinc) => {
            CodeColumn::Loinc
        }
        Some(s) if state.urls.parse_local_code_system(s).is_some() => CodeColumn::Local,
        Some(s) => {
            return Err(ApiError::param(
                "code",
                format!(
                    "unknown code system `{s}`: use LOINC, the national system or a hospital's local system"
                ),
            ));
        }
    };
    Ok((column, code.to_owned()))
}

/// `POST /hl7v2`: one ORU^R01 message (ER7; `\r`, `\n` or `\r\n` between segments; the
/// character set from MSH-18) → an ACK: `AA`, `AE` with an ERR per problem (the other results
/// are kept), or `AR`.
pub async fn hl7v2(
    who: Principal,
    state: State,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    let hospital = sender(&who)?;
    let state2 = state.clone();
    let store = state.store_as(&who, &req);
    let ack = blocking(move || {
        Ok(crate::ingest::hl7v2_message(
            &state2, &*store, &hospital, &body,
        ))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("x-application/hl7-v2+er7; charset=utf-8")
        .body(ack))
}

/// `POST /api/results/import`, body `text/csv`: a batch of results. Any bad row writes nothing
/// (422 with every problem, by line and column); otherwise the report counts what happened.
pub async fn import_csv(
    who: Principal,
    state: State,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    let hospital = sender(&who)?;
    super::csv_upload(&state, &body)?;
    let state2 = state.clone();
    let store = state.store_as(&who, &req);
    let report = blocking(move || {
        let patients = state2.results.patients(&state2.urls, &hospital);
        let result_system = hospital_result_system(&state2.urls, &hospital);
        let options = huren_csv::ResultsOptions {
            patients: &patients,
            default_offset_minutes: state2.results.default_offset_minutes,
            result_id_system: &result_system,
        };
        let results = huren_csv::parse_results(&body, &options).map_err(|e| match e {
            huren_csv::ResultsError::File(e) => ApiError::Body(e.to_string()),
            other => ApiError::Rows(
                other
                    .problems()
                    .iter()
                    .map(|p| super::row_issue(p.line, p.column.as_deref(), &p.message))
                    .collect(),
            ),
        })?;
        let rows = results.len();
        let lines: Vec<String> = results.iter().map(|r| r.source.clone()).collect();
        same_origin(&state2, &hospital, &results)?;
        let written = ingest(&state2, &*store, &hospital, results, now_millis())?;
        Ok(report_json(rows, &lines, &written))
    })
    .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The JSON report of a CSV import: counts, and per line what happened when it was not a plain
/// creation.
fn report_json(rows: usize, lines: &[String], written: &[Written]) -> Value {
    let count = |f: &dyn Fn(&Written) -> bool| written.iter().filter(|w| f(w)).count();
    let notes: Vec<Value> = written
        .iter()
        .zip(lines)
        .filter(|(w, _)| {
            w.prepared.hold.is_some()
                || w.prepared
                    .issues
                    .iter()
                    .any(|i| i.severity == NormSeverity::Warning)
        })
        .map(|(w, line)| {
            json!({
                "line": line,
                "observation": w.prepared.stored.id,
                "held": w.prepared.hold,
                "warnings": w.prepared.issues.iter()
                    .filter(|i| i.severity == NormSeverity::Warning)
                    .map(|i| format!("{}: {}", i.code, i.message))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "rows": rows,
        "created": count(&|w| w.outcome == WriteOutcome::Created),
        "updated": count(&|w| w.outcome == WriteOutcome::Updated),
        "unchanged": count(&|w| matches!(w.outcome, WriteOutcome::Unchanged | WriteOutcome::Stale)),
        "held": count(&|w| w.prepared.hold.is_some()),
        "notes": notes,
    })
}

/// `GET /api/hospitals/{id}/unmapped[?limit=3]`: the local codes results arrived with that have
/// no approved mapping, most recently seen first, with how often and when, and the top
/// suggestions for each.
pub async fn unmapped(
    who: Principal,
    state: State,
    path: Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = readable(&who, &state, &path).await?.id;
    let params = Params::from_request(&req, &Bytes::new())?;
    let limit = params.usize("limit", 3, 20)?;
    let store = state.store.clone();
    let key = id.clone();
    let (queue, mappings, evidence) = blocking(move || {
        let queue = store.unmapped_codes(&key)?;
        let codes: Vec<String> = queue.iter().map(|u| u.local_code.clone()).collect();
        let mappings = store.mappings_for(&key, &codes)?;
        let evidence = store.approved_names()?;
        Ok((queue, mappings, evidence))
    })
    .await?;
    let approved: std::collections::HashSet<&str> = mappings
        .iter()
        .filter(|m| m.status == huren_core::MappingStatus::Approved && !m.is_unmapped())
        .map(|m| m.term.local_code.as_str())
        .collect();
    let catalog = state.catalog();
    let items: Vec<Value> = queue
        .iter()
        .filter(|u| !approved.contains(u.local_code.as_str()))
        .map(|u| {
            let mapping = mappings.iter().find(|m| m.term.local_code == u.local_code);
            let suggestions = catalog.search.suggest(
                &catalog.registry,
                &evidence,
                &SuggestRequest {
                    name: &u.local_name,
                    unit: &u.unit,
                    specimen: "",
                    limit,
                },
            );
            let (suggestions, abstain) =
                super::mappings::suggestions_json(&suggestions, &catalog.registry);
            json!({
                "local_code": u.local_code,
                "local_name": u.local_name,
                "unit": u.unit,
                "count": u.count,
                "first_seen": super::mappings::rfc3339(u.first_seen),
                "last_seen": super::mappings::rfc3339(u.last_seen),
                "mapping_status": mapping.map(|m| m.status.as_str()),
                "abstain": abstain,
                "suggestions": suggestions,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"hospital": id.as_str(), "unmapped": items})))
}
