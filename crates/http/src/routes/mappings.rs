//! `/api/hospitals/{id}/mappings…`: a hospital's local codes, their national targets, the
//! curators' review, and suggestions.

use super::hospitals::{existing, may_curate, may_read, path_id, readable};
use super::{State, blocking};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::mapping_import::{ImportOptions, ImportReport, import_mappings, now_millis};
use crate::params::Params;
use actix_web::web::{Bytes, Path};
use actix_web::{HttpRequest, HttpResponse};
use huren_core::mapping::{Mapping, MappingChange, MappingFilter};
use huren_core::ports::{SuggestRequest, SuggestedCode, Suggestions};
use huren_core::{CodeSystem, Equivalence, HospitalId, MappingStatus, Registry, Status};
use serde::Deserialize;
use serde_json::{Value, json};

/// Rows per page of `GET …/mappings`, unless `count` says otherwise.
const PAGE: usize = 50;

/// A mapping as JSON, with its target's display names from the current registry. A mapping to
/// a LOINC term without a national code has `target_system` `loinc`, an empty
/// `national_code`, and the term's name in `loinc_display`.
pub(crate) fn mapping_json(m: &Mapping, registry: &Registry) -> Value {
    let target = registry.lookup(CodeSystem::National, &m.national_code);
    let loinc = if m.is_loinc_only() {
        Some(m.loinc.as_str())
    } else {
        target.map(|c| c.loinc.as_str()).filter(|l| !l.is_empty())
    };
    let term = loinc.and_then(|l| registry.lookup(CodeSystem::Loinc, l));
    let system = if !m.national_code.is_empty() {
        Some("national")
    } else if m.is_loinc_only() {
        Some("loinc")
    } else {
        None
    };
    json!({
        "local_code": m.term.local_code,
        "local_name": m.term.local_name,
        "specimen": m.term.specimen,
        "unit": m.term.unit,
        "unit_ucum": m.unit_ucum,
        "unit_alias": m.unit_alias,
        "ref_low": m.term.ref_low,
        "ref_high": m.term.ref_high,
        "ref_text": m.term.ref_text,
        "method": m.term.method,
        "note": m.term.note,
        "target_system": system,
        "national_code": m.national_code,
        "national_display": target.map(|c| json!({"zh": c.display_zh, "en": c.display_en})),
        "loinc": loinc,
        "loinc_display": term.map(|t| t.display_en.as_str()),
        "equivalence": m.equivalence.as_str(),
        "status": m.status.as_str(),
        "unmapped": m.is_unmapped(),
        "proposed_by": m.proposed_by,
        "updated_by": m.updated_by,
        "updated_at": rfc3339(m.updated_at),
    })
}

pub(super) fn rfc3339(millis: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn change_json(c: &MappingChange) -> Value {
    json!({
        "at": rfc3339(c.at),
        "by": c.by,
        "action": c.action,
        "from_status": c.from_status.map(|s| s.as_str()),
        "to_status": c.to_status.as_str(),
        "from_target": c.from_target,
        "to_target": c.to_target,
        "comment": c.comment,
    })
}

pub(super) fn suggestion_json(s: &SuggestedCode, registry: &Registry) -> Value {
    let c = registry.lookup(s.system, &s.code);
    let loinc = match s.system {
        CodeSystem::National => c.map(|c| c.loinc.as_str()),
        CodeSystem::Loinc => Some(s.code.as_str()),
    };
    let zh = c.map(|c| {
        if c.display_zh.is_empty() {
            c.synonyms_zh.first().map_or("", String::as_str)
        } else {
            c.display_zh.as_str()
        }
    });
    json!({
        "system": s.system.as_str(),
        "code": s.code,
        "display": c.map(|c| json!({"zh": zh, "en": c.display_en})),
        "loinc": loinc,
        "unit": c.map(|c| c.ucum_unit.as_str()),
        "score": (s.score * 1000.0).round() / 1000.0,
        "confidence": (s.confidence * 1000.0).round() / 1000.0,
        "reasons": s.reasons.iter().map(|r| json!({"code": r.code, "zh": r.zh, "en": r.en})).collect::<Vec<_>>(),
    })
}

/// Suggestions as JSON: the ranked list and whether it abstains.
pub(super) fn suggestions_json(found: &Suggestions, registry: &Registry) -> (Value, bool) {
    (
        Value::Array(
            found
                .codes
                .iter()
                .map(|s| suggestion_json(s, registry))
                .collect(),
        ),
        found.abstain,
    )
}

fn filter_of(params: &Params) -> Result<MappingFilter, ApiError> {
    let status = match params.get("status")? {
        None | Some("") => None,
        Some(s) => Some(MappingStatus::parse(s).ok_or_else(|| {
            ApiError::param(
                "status",
                format!("`{s}` is not proposed, approved, rejected or retired"),
            )
        })?),
    };
    let unmapped = match params.get("unmapped")? {
        None | Some("") => None,
        Some(_) => Some(params.bool("unmapped")?),
    };
    Ok(MappingFilter {
        status,
        unmapped,
        text: params.get("q")?.unwrap_or("").to_owned(),
    })
}

/// `POST /api/hospitals/{id}/mappings/import[?dry_run=true][&status=approved]`, body
/// `text/csv`: the curator's file. Any problem in any row writes nothing (422 with every
/// problem); a dry run writes nothing and answers the report.
pub async fn import(
    who: Principal,
    state: State,
    path: Path<String>,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path)?;
    may_curate(&who, &id)?;
    existing(&state, &id).await?;
    let params = Params::from_request(&req, &Bytes::new())?;
    let status = match params.get("status")? {
        None => None,
        Some(s) => Some(
            MappingStatus::parse(s)
                .filter(|s| matches!(s, MappingStatus::Proposed | MappingStatus::Approved))
                .ok_or_else(|| {
                    ApiError::param("status", format!("`{s}` is not proposed or approved"))
                })?,
        ),
    };
    let options = ImportOptions {
        dry_run: params.bool("dry_run")?,
        status,
        two_person_rule: state.two_person_rule,
        actor: who.sub.clone(),
        now: now_millis(),
    };
    super::csv_upload(&state, &body)?;
    let catalog = state.catalog();
    let store = state.store_as(&who, &req);
    let acting = store.clone();
    let key = id.clone();
    let report: ImportReport = blocking(move || {
        import_mappings(
            &*acting,
            &catalog.registry,
            &key,
            &body,
            &options,
            &mut |_| {},
        )
        .map_err(ApiError::from)
    })
    .await?;
    if !report.problems.is_empty() && !report.dry_run {
        return Err(super::rows_error(&report.problems));
    }
    let mut answer = serde_json::to_value(&report)
        .map_err(|e| ApiError::Internal(format!("import report: {e}")))?;
    if report.written {
        let state = state.clone();
        let released = blocking(move || Ok(crate::jobs::release_now(&state, &*store, &id))).await?;
        answer["released_results"] = json!(released);
    }
    Ok(HttpResponse::Ok().json(answer))
}

/// `GET /api/hospitals/{id}/mappings/export`: every mapping as the import's CSV.
pub async fn export(
    who: Principal,
    state: State,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = readable(&who, &state, &path).await?.id;
    let store = state.store.clone();
    let key = id.clone();
    let mappings = blocking(move || Ok(store.mappings(&key)?)).await?;
    let catalog = state.catalog();
    let registry = &catalog.registry;
    let loinc_of = |code: &str| {
        registry
            .lookup(CodeSystem::National, code)
            .map(|c| c.loinc.clone())
            .filter(|l| !l.is_empty())
    };
    let csv = huren_csv::mapping::write_mappings_with_loinc(&mappings, &loinc_of);
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{id}-mappings.csv\""),
        ))
        .body(csv))
}

/// `GET /api/hospitals/{id}/mappings?status=&unmapped=&q=&page=&count=`.
pub async fn list(
    who: Principal,
    state: State,
    path: Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = readable(&who, &state, &path).await?.id;
    let params = Params::from_request(&req, &Bytes::new())?;
    let filter = filter_of(&params)?;
    let page = params.usize("page", 1, 1_000_000)?.max(1);
    let count = params.usize("count", PAGE, 1000)?;
    let store = state.store.clone();
    let key = id.clone();
    let all = blocking(move || Ok(store.mappings(&key)?)).await?;
    let selected: Vec<&Mapping> = all.iter().filter(|m| filter.matches(m)).collect();
    let catalog = state.catalog();
    let items: Vec<Value> = selected
        .iter()
        .skip((page - 1) * count)
        .take(count)
        .map(|m| mapping_json(m, &catalog.registry))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "hospital": id.as_str(),
        "total": selected.len(),
        "page": page,
        "count": count,
        "mappings": items,
    })))
}

async fn one(state: &State, id: &HospitalId, code: &str) -> Result<Mapping, ApiError> {
    let store = state.store.clone();
    let (key, local) = (id.clone(), code.to_owned());
    blocking(move || Ok(store.mapping(&key, &local)?))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("hospital `{id}` has no local code `{code}`")))
}

/// `GET /api/hospitals/{id}/mappings/{local_code}`.
pub async fn read(
    who: Principal,
    state: State,
    path: Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw, code) = path.into_inner();
    let id = path_id(&raw)?;
    may_read(&who, &id)?;
    let m = one(&state, &id, &code).await?;
    Ok(HttpResponse::Ok().json(mapping_json(&m, &state.catalog().registry)))
}

/// `GET /api/hospitals/{id}/mappings/{local_code}/history`, oldest first.
pub async fn history(
    who: Principal,
    state: State,
    path: Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw, code) = path.into_inner();
    let id = path_id(&raw)?;
    may_read(&who, &id)?;
    one(&state, &id, &code).await?;
    let store = state.store.clone();
    let (key, local) = (id.clone(), code.clone());
    let changes = blocking(move || Ok(store.mapping_history(&key, &local)?)).await?;
    Ok(HttpResponse::Ok().json(json!({
        "hospital": id.as_str(),
        "local_code": code,
        "history": changes.iter().map(change_json).collect::<Vec<_>>(),
    })))
}

/// The body of a review action: all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    #[serde(default)]
    pub comment: String,
    /// `propose` only: the national code to map to.
    #[serde(default)]
    pub national_code: Option<String>,
    /// `propose` only, instead of `national_code`: a LOINC code, mapped to its national
    /// equivalent, or to the LOINC term itself when no national code is equivalent to it.
    #[serde(default)]
    pub loinc: Option<String>,
    /// `propose` and `approve`: how the local test relates to the national concept.
    #[serde(default)]
    pub equivalence: Option<String>,
}

fn review_body(body: &Bytes) -> Result<ReviewBody, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(ReviewBody::default());
    }
    super::json_body(body, "a review")
}

/// The target a `propose` names: (national code, LOINC code of a LOINC-only target).
fn proposed_target(body: &ReviewBody, registry: &Registry) -> Result<(String, String), ApiError> {
    let usable = |c: &huren_core::Concept, field: &str| {
        if c.status == Status::Deprecated {
            Err(ApiError::param(
                field,
                format!("`{}` is deprecated; use `{}`", c.code, c.replaced_by),
            ))
        } else {
            Ok(())
        }
    };
    match (body.national_code.as_deref(), body.loinc.as_deref()) {
        (Some(code), None) => {
            let concept = registry.lookup(CodeSystem::National, code).ok_or_else(|| {
                ApiError::param(
                    "national_code",
                    format!("`{code}` is not a current national code"),
                )
            })?;
            usable(concept, "national_code")?;
            Ok((code.to_owned(), String::new()))
        }
        (None, Some(loinc)) => match registry.national_for_loinc(loinc) {
            [one] => {
                let concept = registry
                    .lookup(CodeSystem::National, one)
                    .ok_or_else(|| ApiError::param("loinc", format!("`{one}` is not current")))?;
                usable(concept, "loinc")?;
                Ok((one.clone(), String::new()))
            }
            [] => {
                let term = registry.lookup(CodeSystem::Loinc, loinc).ok_or_else(|| {
                    ApiError::param(
                        "loinc",
                        format!(
                            "`{loinc}` has no national equivalent and is not in the loaded \
                             LOINC release"
                        ),
                    )
                })?;
                usable(term, "loinc")?;
                Ok((String::new(), loinc.to_owned()))
            }
            many => Err(ApiError::param(
                "loinc",
                format!(
                    "`{loinc}` is ambiguous: national codes {} are equivalent to it; give the \
                     national_code",
                    many.join(", ")
                ),
            )),
        },
        (Some(_), Some(_)) => Err(ApiError::param(
            "national_code",
            "give national_code or loinc, not both",
        )),
        (None, None) => Err(ApiError::param(
            "national_code",
            "national_code (or loinc) is required to propose",
        )),
    }
}

/// What one review action does to one mapping; `Err` says why it may not.
fn review(
    m: &Mapping,
    action: &str,
    body: &ReviewBody,
    who: &Principal,
    two_person_rule: bool,
    registry: &Registry,
) -> Result<Mapping, ApiError> {
    let mut next = m.clone();
    if let Some(e) = &body.equivalence {
        next.equivalence = Equivalence::parse(e).ok_or_else(|| {
            ApiError::param(
                "equivalence",
                format!("`{e}` is not equivalent, wider, narrower or inexact"),
            )
        })?;
    }
    match action {
        "propose" => {
            let (national, loinc) = proposed_target(body, registry)?;
            next.national_code = national;
            next.loinc = loinc;
            next.status = MappingStatus::Proposed;
            next.proposed_by = who.sub.clone();
        }
        "approve" => {
            if m.is_unmapped() {
                return Err(ApiError::Conflict(format!(
                    "`{}` has no target yet; propose one first",
                    m.term.local_code
                )));
            }
            if two_person_rule && m.proposed_by == who.sub {
                return Err(ApiError::Forbidden(format!(
                    "two-person rule: `{}` proposed the mapping of `{}`, so another curator must approve it",
                    who.sub, m.term.local_code
                )));
            }
            next.status = MappingStatus::Approved;
        }
        "reject" => next.status = MappingStatus::Rejected,
        "retire" => {
            if m.status != MappingStatus::Approved {
                return Err(ApiError::Conflict(format!(
                    "only an approved mapping can be retired; `{}` is {}",
                    m.term.local_code, m.status
                )));
            }
            next.status = MappingStatus::Retired;
        }
        other => {
            return Err(ApiError::NotFound(format!(
                "unknown action `{other}`; use propose, approve, reject or retire"
            )));
        }
    }
    Ok(next)
}

/// `POST /api/hospitals/{id}/mappings/{local_code}/{propose|approve|reject|retire}` with an
/// optional JSON body `{"comment": …, "national_code": …|"loinc": …, "equivalence": …}`.
pub async fn act(
    who: Principal,
    state: State,
    path: Path<(String, String, String)>,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    let (raw, code, action) = path.into_inner();
    let id = path_id(&raw)?;
    may_curate(&who, &id)?;
    let body = review_body(&body)?;
    let (next, released) = apply_review(&state, &who, &req, &id, &code, &action, body).await?;
    let mut answer = mapping_json(&next, &state.catalog().registry);
    answer["released_results"] = json!(released);
    Ok(HttpResponse::Ok().json(answer))
}

/// One review action on one mapping (the API's and the review page's): checked as
/// [`review`] says, written with its history entry through the store acting as `who`, and the
/// held results released when it approves. Returns the mapping as written and how many results
/// were released. The caller has checked that `who` may curate `id`.
pub(crate) async fn apply_review(
    state: &State,
    who: &Principal,
    req: &HttpRequest,
    id: &HospitalId,
    code: &str,
    action: &str,
    body: ReviewBody,
) -> Result<(Mapping, usize), ApiError> {
    let m = one(state, id, code).await?;
    let catalog = state.catalog();
    let mut next = review(
        &m,
        action,
        &body,
        who,
        state.two_person_rule,
        &catalog.registry,
    )?;
    let now = now_millis();
    next.updated_by = who.sub.clone();
    next.updated_at = now;
    let change = MappingChange {
        hospital: id.clone(),
        local_code: code.to_owned(),
        at: now,
        by: who.sub.clone(),
        action: action.to_owned(),
        from_status: Some(m.status),
        to_status: next.status,
        from_target: m.target().to_owned(),
        to_target: next.target().to_owned(),
        comment: body.comment,
    };
    let store = state.store_as(who, req);
    let acting = store.clone();
    let write = next.clone();
    blocking(move || Ok(acting.apply_mappings(&[write], &[change])?)).await?;
    let released = if next.status == MappingStatus::Approved {
        let state = state.clone();
        let id = id.clone();
        blocking(move || Ok(crate::jobs::release_now(&state, &*store, &id))).await?
    } else {
        0
    };
    Ok((next, released))
}

/// The body of a bulk approval: a list of local codes, or a filter.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkBody {
    #[serde(default)]
    pub local_codes: Option<Vec<String>>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub comment: String,
}

/// `POST /api/hospitals/{id}/mappings/approve`: approves the listed local codes, or every
/// mapping matching the filter (`status`, `q`; unmapped codes are never approved), in one
/// transaction. If any listed code cannot be approved, nothing is.
pub async fn bulk_approve(
    who: Principal,
    state: State,
    path: Path<String>,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path)?;
    may_curate(&who, &id)?;
    existing(&state, &id).await?;
    let body: BulkBody = super::json_body(&body, "a bulk approval")?;
    let (approved, unchanged, released) = approve_selected(&state, &who, &req, &id, body).await?;
    Ok(HttpResponse::Ok().json(json!({
        "hospital": id.as_str(),
        "approved": approved,
        "already_approved": unchanged,
        "released_results": released,
    })))
}

/// Approves the listed local codes, or every mapping the filter selects, in one transaction
/// (the API's bulk approval and the review page's): (approved, already approved, results
/// released). If any listed code cannot be approved, nothing is. The caller has checked that
/// `who` may curate `id`.
pub(crate) async fn approve_selected(
    state: &State,
    who: &Principal,
    req: &HttpRequest,
    id: &HospitalId,
    body: BulkBody,
) -> Result<(usize, usize, usize), ApiError> {
    let store = state.store.clone();
    let key = id.clone();
    let all = blocking(move || Ok(store.mappings(&key)?)).await?;
    let catalog = state.catalog();
    let selected: Vec<&Mapping> = match &body.local_codes {
        Some(codes) => {
            let mut out = Vec::with_capacity(codes.len());
            for code in codes {
                out.push(
                    all.iter()
                        .find(|m| &m.term.local_code == code)
                        .ok_or_else(|| {
                            ApiError::NotFound(format!(
                                "hospital `{id}` has no local code `{code}`"
                            ))
                        })?,
                );
            }
            out
        }
        None => {
            let status = match body.status.as_deref() {
                None | Some("") => Some(MappingStatus::Proposed),
                Some(s) => Some(MappingStatus::parse(s).ok_or_else(|| {
                    ApiError::param("status", format!("`{s}` is not a mapping status"))
                })?),
            };
            let filter = MappingFilter {
                status,
                unmapped: Some(false),
                text: body.q.clone().unwrap_or_default(),
            };
            all.iter().filter(|m| filter.matches(m)).collect()
        }
    };
    let now = now_millis();
    let none = ReviewBody::default();
    // Sized once: grown by doubling, a 100k-row approval kept room for 31k more of each.
    let mut writes = Vec::with_capacity(selected.len());
    let mut history = Vec::with_capacity(selected.len());
    let mut unchanged = 0usize;
    for m in selected {
        if m.status == MappingStatus::Approved {
            unchanged += 1;
            continue;
        }
        let mut next = review(
            m,
            "approve",
            &none,
            who,
            state.two_person_rule,
            &catalog.registry,
        )?;
        next.updated_by = who.sub.clone();
        next.updated_at = now;
        history.push(MappingChange {
            hospital: id.clone(),
            local_code: m.term.local_code.clone(),
            at: now,
            by: who.sub.clone(),
            action: "approve".into(),
            from_status: Some(m.status),
            to_status: next.status,
            from_target: m.target().to_owned(),
            to_target: next.target().to_owned(),
            comment: body.comment.clone(),
        });
        writes.push(next);
    }
    let approved = writes.len();
    let mut released = 0;
    if !writes.is_empty() {
        let store = state.store_as(who, req);
        let acting = store.clone();
        blocking(move || Ok(acting.apply_mappings(&writes, &history)?)).await?;
        let state = state.clone();
        let key = id.clone();
        released = blocking(move || Ok(crate::jobs::release_now(&state, &*store, &key))).await?;
    }
    Ok((approved, unchanged, released))
}

async fn suggestions_for(
    state: &State,
    name: &str,
    unit: &str,
    specimen: &str,
    limit: usize,
) -> Result<Value, ApiError> {
    let store = state.store.clone();
    let approved = blocking(move || Ok(store.approved_names()?)).await?;
    let catalog = state.catalog();
    let found = catalog.search.suggest(
        &catalog.registry,
        &approved,
        &SuggestRequest {
            name,
            unit,
            specimen,
            limit,
        },
    );
    let (suggestions, abstain) = suggestions_json(&found, &catalog.registry);
    Ok(json!({
        "query": {"name": name, "unit": unit, "specimen": specimen},
        "abstain": abstain,
        "suggestions": suggestions,
    }))
}

/// `GET /api/hospitals/{id}/mappings/{local_code}/suggestions?limit=5`.
pub async fn suggest_for_code(
    who: Principal,
    state: State,
    path: Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (raw, code) = path.into_inner();
    let id = path_id(&raw)?;
    may_read(&who, &id)?;
    let params = Params::from_request(&req, &Bytes::new())?;
    let limit = params.usize("limit", 5, 50)?;
    let m = one(&state, &id, &code).await?;
    let body = suggestions_for(
        &state,
        &m.term.local_name,
        &m.term.unit,
        &m.term.specimen,
        limit,
    )
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /api/hospitals/{id}/suggestions?name=&unit=&specimen=&limit=5`.
pub async fn suggest(
    who: Principal,
    state: State,
    path: Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path)?;
    may_read(&who, &id)?;
    let params = Params::from_request(&req, &Bytes::new())?;
    let name = params.required("name")?.trim();
    if name.is_empty() {
        return Err(ApiError::param("name", "is empty"));
    }
    let unit = params.get("unit")?.unwrap_or("").trim();
    let specimen = params.get("specimen")?.unwrap_or("").trim();
    let limit = params.usize("limit", 5, 50)?;
    let body = suggestions_for(&state, name, unit, specimen, limit).await?;
    Ok(HttpResponse::Ok().json(body))
}
