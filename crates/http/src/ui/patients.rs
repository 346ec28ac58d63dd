//! The clinician's page: one patient's results, newest first, each with its national name, the
//! value as sent and as normalized, the reference range, the issuing hospital and the
//! recognition decision for the clinician's hospital now, every reason in words; and the
//! "test again anyway" form. The same search, scope rules and decision as
//! `GET /fhir/Observation?…&recognizable=` and `POST …/$retest`.

use super::{
    Lang, UiError, UiUser, check_csrf, china_time, concept_name, csrf, ok, page, see_other,
};
use crate::auth::Role;
use crate::error::ApiError;
use crate::recognition::Assessor;
use crate::routes::{decision_for, reads_all_results, record_retest};
use crate::state::AppState;
use actix_web::web::{Bytes, Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse};
use huren_core::HospitalId;
use huren_core::observation::{ObservationQuery, StoredObservation};
use huren_core::recognition::{Decision, RetestReason};
use huren_core::result::{Identifier, LabResult, SentValue};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

/// The most results one page shows.
const MAX_RESULTS: usize = 200;

#[derive(Debug, Deserialize)]
pub struct Find {
    /// A patient identifier: `system|value`, or the value alone.
    #[serde(default)]
    id: String,
    /// The receiving hospital (admins; clinicians ask for their own).
    #[serde(default)]
    receiver: String,
}

fn sent_value(v: &SentValue) -> String {
    match v {
        SentValue::Quantity {
            value,
            comparator,
            unit,
        } => format!(
            "{}{value} {unit}",
            comparator.map(|c| c.as_str()).unwrap_or_default()
        ),
        SentValue::Text { text } => text.clone(),
        SentValue::Coded { code, display, .. } => {
            if display.is_empty() {
                code.clone()
            } else {
                display.clone()
            }
        }
        SentValue::Range { low, high, unit } => format!(
            "{}–{} {unit}",
            low.as_ref().map(ToString::to_string).unwrap_or_default(),
            high.as_ref().map(ToString::to_string).unwrap_or_default()
        ),
        SentValue::Ratio {
            numerator,
            denominator,
        } => format!("{numerator}:{denominator}"),
        SentValue::DateTime { value } => value.clone(),
        SentValue::Absent => "—".into(),
    }
}

/// The normalized value of a stored Observation, as text.
fn normalized_value(r: &Value) -> String {
    if let Some(q) = r.get("valueQuantity") {
        let value = q.get("value").map(Value::to_string).unwrap_or_default();
        let unit = q
            .get("code")
            .or_else(|| q.get("unit"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let comparator = q.get("comparator").and_then(Value::as_str).unwrap_or("");
        return format!("{comparator}{value} {unit}");
    }
    for key in ["valueString", "valueDateTime"] {
        if let Some(s) = r.get(key).and_then(Value::as_str) {
            return s.to_owned();
        }
    }
    if let Some(c) = r.get("valueCodeableConcept") {
        return c
            .get("text")
            .or_else(|| c.pointer("/coding/0/display"))
            .or_else(|| c.pointer("/coding/0/code"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
    }
    "—".into()
}

fn range(r: &Value) -> String {
    let Some(rr) = r.pointer("/referenceRange/0") else {
        return String::new();
    };
    if let Some(t) = rr.get("text").and_then(Value::as_str) {
        return t.to_owned();
    }
    let v = |k: &str| rr.pointer(&format!("/{k}/value")).map(Value::to_string);
    let unit = rr
        .pointer("/low/code")
        .or_else(|| rr.pointer("/high/code"))
        .and_then(Value::as_str)
        .unwrap_or("");
    format!(
        "{}–{} {unit}",
        v("low").unwrap_or_default(),
        v("high").unwrap_or_default()
    )
}

/// One result as the page shows it.
struct Row {
    o: StoredObservation,
    name: String,
    sent: String,
    normalized: String,
    range: String,
    flag: String,
    when: String,
    decision: Option<Decision>,
}

fn row(lang: Lang, state: &AppState, o: StoredObservation, decision: Option<Decision>) -> Row {
    let resource: Value = serde_json::from_str(&o.resource).unwrap_or(Value::Null);
    let sent: Option<LabResult> = serde_json::from_str(&o.source).ok();
    let name = Some(concept_name(
        state,
        lang,
        huren_core::CodeSystem::National,
        &o.national_code,
    ))
    .filter(|n| !n.is_empty())
    .or_else(|| {
        resource
            .pointer("/code/coding/0/display")
            .or_else(|| resource.pointer("/code/text"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    })
    .unwrap_or_else(|| o.local_code.clone());
    Row {
        name,
        sent: sent
            .as_ref()
            .map(|s| sent_value(&s.value))
            .unwrap_or_default(),
        normalized: normalized_value(&resource),
        range: range(&resource),
        flag: resource
            .pointer("/interpretation/0/coding/0/code")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        // `2026-12-05T08:12:00+08:00` → `2026-12-05 08:12` (the sender's own offset).
        when: resource
            .get("effectiveDateTime")
            .and_then(Value::as_str)
            .map(|t| t.get(..16).unwrap_or(t).replace('T', " "))
            .unwrap_or_default(),
        o,
        decision,
    }
}

fn badge(lang: Lang, d: &Decision) -> Markup {
    let mark = d.entry.as_ref().map(|e| e.mark.as_str()).unwrap_or("HR");
    html! {
        @if d.recognizable {
            span.badge.yes title=(lang.t("可互认", "recognizable")) { (mark) " ✓ " (lang.t("可互认", "recognizable")) }
            @if let Some(until) = d.valid_until {
                " " span.until { (lang.t("有效至 ", "valid until ")) (china_time(until, false)) }
            }
        } @else {
            span.badge.no { "✗ " (lang.t("不可互认", "not recognizable")) }
        }
        @if !d.reasons.is_empty() {
            ul.reasons {
                @for r in &d.reasons {
                    li class=(format!("{:?}", r.severity).to_lowercase()) {
                        (lang.t(&r.zh, &r.en)) " " code { (r.code) }
                    }
                }
            }
        }
    }
}

fn retest_form(lang: Lang, req: &HttpRequest, o: &StoredObservation, receiver: &str) -> Markup {
    html! {
        details.retest {
            summary { (lang.t("仍要复查", "Test again anyway")) }
            form method="post" action=(format!("/ui/results/{}/retest", o.id)) {
                input type="hidden" name="csrf" value=(csrf(req));
                input type="hidden" name="receiver" value=(receiver);
                label { (lang.t("原因", "Reason")) " "
                    select name="reason" required {
                        @for r in RetestReason::ALL {
                            option value=(r.as_str()) { (r.display_zh()) " (" (r.as_str()) ")" }
                        }
                    }
                }
                label { (lang.t("说明", "Note")) " " input type="text" name="text" maxlength="500"; }
                button type="submit" { (lang.t("记录复查", "Record the retest")) }
            }
        }
    }
}

/// `GET /ui/patients?id=…[&receiver=…]`.
pub async fn results(
    UiUser(who): UiUser,
    state: Data<AppState>,
    req: HttpRequest,
    query: Query<Find>,
) -> Result<HttpResponse, UiError> {
    let lang = Lang::of(&req);
    let err = |e: ApiError| UiError::new(&req, e);
    who.require_scope("Observation", crate::auth::Access::Read)
        .map_err(err)?;
    let id = query.id.trim().to_owned();
    // Whose view: a clinician's own hospital; an admin names one (or sees no decision).
    let receiver = match (who.role, who.hospital.as_deref(), query.receiver.trim()) {
        (Role::Admin, _, r) if !r.is_empty() => Some(
            HospitalId::parse(r).map_err(|e| err(ApiError::param("receiver", e.to_string())))?,
        ),
        (_, Some(own), _) => HospitalId::parse(own).ok(),
        _ => None,
    };
    let mut rows = Vec::new();
    if !id.is_empty() {
        let scope = if reads_all_results(&who) {
            None
        } else {
            let own = who.hospital.as_deref().ok_or_else(|| {
                err(ApiError::Forbidden(format!(
                    "{} `{}` has no `hospital` claim, so no results to read",
                    who.role.as_str(),
                    who.sub
                )))
            })?;
            Some(HospitalId::parse(own).map_err(|e| err(ApiError::Forbidden(e.0)))?)
        };
        let query = ObservationQuery {
            hospital: scope,
            subject: Some(Identifier::parse_token(&id)),
            codes: Vec::new(),
            effective_from: None,
            effective_to: None,
            include_held: false,
            limit: MAX_RESULTS,
            offset: 0,
        };
        let st = state.clone();
        let rcv = receiver.clone();
        let found = crate::routes::blocking(move || {
            let found = st.store.search_observations(&query)?;
            let Some(receiver) = rcv else {
                return Ok(found.into_iter().map(|o| (o, None)).collect::<Vec<_>>());
            };
            let catalog = st.catalog();
            let mut assessor = Assessor::new(&*st.store, &catalog.registry, &st.results)?;
            let Some(region) = assessor
                .hospital(&receiver)?
                .map(huren_core::Hospital::region)
            else {
                // A receiver huren does not know: the results without a decision (the page
                // says why), rather than no page.
                return Ok(found.into_iter().map(|o| (o, None)).collect());
            };
            assessor.prefetch_results(&found)?;
            let now = crate::mapping_import::now_millis().div_euclid(1000);
            let mut out = Vec::with_capacity(found.len());
            for o in found {
                let d = decision_for(&mut assessor, &o, &region, now)?;
                out.push((o, Some(d)));
            }
            Ok(out)
        })
        .await
        .map_err(err)?;
        crate::audit::note_results(&req, "search", found.iter().map(|(o, _)| o));
        rows = found
            .into_iter()
            .map(|(o, d)| row(lang, &state, o, d))
            .collect();
    }
    let receiver_text = receiver
        .as_ref()
        .map(|r| r.as_str().to_owned())
        .unwrap_or_default();
    let content = html! {
        form.search method="get" action="/ui/patients" role="search" {
            label for="id" { (lang.t("患者标识", "Patient identifier")) }
            input #id type="search" name="id" value=(id) required
                placeholder=(lang.t("身份证号，或 系统|值", "national ID, or system|value"));
            @if who.role == Role::Admin {
                label for="receiver" { (lang.t("接诊医院", "Receiving hospital")) }
                input #receiver type="text" name="receiver" value=(receiver_text);
            }
            button type="submit" { (lang.t("查询", "Find")) }
        }
        @if !id.is_empty() {
            @if rows.is_empty() {
                p.empty { (lang.t("没有该患者的结果。", "No results for this patient.")) }
            } @else {
                p.count { (rows.len()) " " (lang.t("项结果，最新在前", "results, newest first")) }
                table.results {
                    thead { tr {
                        th { (lang.t("项目", "Test")) }
                        th { (lang.t("结果（规范单位）", "Result (canonical)")) }
                        th { (lang.t("原始结果", "As sent")) }
                        th { (lang.t("参考区间", "Reference range")) }
                        th { (lang.t("采集时间", "Collected")) }
                        th { (lang.t("检验机构", "Laboratory")) }
                        th { (lang.t("互认", "Recognition")) }
                    } }
                    tbody {
                        @for r in &rows {
                            tr {
                                td data-label=(lang.t("项目", "Test")) {
                                    (r.name)
                                    br; code.small { (r.o.national_code) }
                                }
                                td.value data-label=(lang.t("结果", "Result")) {
                                    (r.normalized)
                                    @if !r.flag.is_empty() && r.flag != "N" { " " span.flag { (r.flag) } }
                                }
                                td data-label=(lang.t("原始结果", "As sent")) { (r.sent) }
                                td data-label=(lang.t("参考区间", "Reference range")) { (r.range) }
                                td.nowrap data-label=(lang.t("采集时间", "Collected")) { (r.when) }
                                td.nowrap data-label=(lang.t("检验机构", "Laboratory")) { (r.o.hospital) }
                                td {
                                    @if let Some(d) = &r.decision {
                                        (badge(lang, d))
                                        @if matches!(who.role, Role::Clinician | Role::Admin) {
                                            (retest_form(lang, &req, &r.o, &receiver_text))
                                        }
                                    } @else if receiver.is_some() {
                                        (lang.t("（接诊医院未登记，无法判断）", "(the receiving hospital is not registered: cannot judge)"))
                                    } @else {
                                        (lang.t("（选择接诊医院后判断）", "(name a receiving hospital to judge)"))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(ok(page(
        &req,
        Some(&who),
        lang.t("患者结果", "Patient results"),
        content,
    )))
}

#[derive(Debug, Deserialize)]
pub struct RetestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    receiver: String,
}

/// `POST /ui/results/{id}/retest`: the clinician's decision to test again, recorded as the
/// API's `$retest` records it; back to the patient's page.
pub async fn retest(
    UiUser(who): UiUser,
    state: Data<AppState>,
    req: HttpRequest,
    path: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, UiError> {
    let err = |e: ApiError| UiError::new(&req, e);
    // Who first, as the API: a caller who may not record a retest learns nothing more.
    crate::routes::may_retest(&who).map_err(err)?;
    let form: RetestForm = serde_urlencoded::from_bytes(&body)
        .map_err(|e| err(ApiError::Body(format!("the form cannot be read: {e}"))))?;
    check_csrf(&req, &form.csrf).map_err(err)?;
    let id = path.into_inner();
    let receiver = match (who.role, who.hospital.as_deref()) {
        (Role::Admin, _) => HospitalId::parse(form.receiver.trim())
            .map_err(|e| err(ApiError::param("receiver", e.to_string())))?,
        (_, Some(own)) => HospitalId::parse(own).map_err(|e| err(ApiError::Forbidden(e.0)))?,
        _ => {
            return Err(err(ApiError::Forbidden(
                "a retest is recorded for the clinician's hospital; the token names none".into(),
            )));
        }
    };
    let retest = record_retest(
        &state,
        &who,
        &req,
        &id,
        receiver,
        Some(form.reason.as_str()),
        &form.text,
    )
    .await
    .map_err(err)?;
    let store = state.store.clone();
    let key = retest.observation_id.clone();
    let o = crate::routes::blocking(move || Ok(store.observation(&key)?))
        .await
        .map_err(err)?;
    // Back to the patient, by the identifier that links hospitals when there is one.
    let patient = o
        .and_then(|o| {
            let national = o
                .subjects
                .iter()
                .find(|s| s.system == state.results.national_id_system)
                .cloned();
            national.or_else(|| o.subjects.into_iter().next())
        })
        .map(|s| format!("{}|{}", s.system, s.value))
        .unwrap_or_default();
    let query = serde_urlencoded::to_string([("id", patient.as_str())]).unwrap_or_default();
    Ok(see_other(&format!(
        "/ui/patients?{query}&retested={}",
        retest.id
    )))
}
