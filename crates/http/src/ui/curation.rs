//! The curator's pages (`/ui/hospitals/{id}/…`): the unmapped queue with suggestions, the
//! review list with approve/reject/retire and bulk approval, a mapping's history, and the
//! upload of a mapping file with a dry run first. Every action is the API's own operation
//! (`apply_review`, `approve_selected`, `import_mappings`) after the API's checks
//! (`may_read`, `may_curate`).

use super::{
    Lang, UiError, UiUser, check_csrf, china_time, concept_name, csrf, local_page, ok, page,
    see_other,
};
use crate::error::ApiError;
use crate::mapping_import::{ImportOptions, ImportReport, import_mappings, now_millis};
use crate::routes::{
    BulkBody, ReviewBody, apply_review, approve_selected, blocking, existing, may_curate, may_read,
    path_id,
};
use crate::state::AppState;
use actix_web::web::{Bytes, Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse};
use huren_core::mapping::{LocalTerm, MappingFilter};
use huren_core::ports::SuggestRequest;
use huren_core::{CodeSystem, Equivalence, HospitalId, Mapping, MappingStatus};
use maud::{Markup, html};
use serde::Deserialize;

/// Rows one review page shows.
const PAGE_ROWS: usize = 200;

fn form<T: serde::de::DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Result<T, UiError> {
    serde_urlencoded::from_bytes(body)
        .map_err(|e| UiError::new(req, ApiError::Body(format!("the form cannot be read: {e}"))))
}

fn target_name(state: &AppState, lang: Lang, m: &Mapping) -> String {
    let system = if m.is_loinc_only() {
        CodeSystem::Loinc
    } else {
        CodeSystem::National
    };
    concept_name(state, lang, system, m.target())
}

fn status_text(lang: Lang, s: MappingStatus) -> &'static str {
    match s {
        MappingStatus::Proposed => lang.t("待审核", "proposed"),
        MappingStatus::Approved => lang.t("已批准", "approved"),
        MappingStatus::Rejected => lang.t("已驳回", "rejected"),
        MappingStatus::Retired => lang.t("已停用", "retired"),
    }
}

/// A one-button form posting a review action.
fn action_button(
    req: &HttpRequest,
    id: &HospitalId,
    code: &str,
    action: &str,
    label: &str,
    back: &str,
) -> Markup {
    html! {
        form.inline method="post" action=(format!("/ui/hospitals/{id}/mappings/{}/{action}", enc(code))) {
            input type="hidden" name="csrf" value=(csrf(req));
            input type="hidden" name="back" value=(back);
            button.small type="submit" name="do" value=(action) { (label) }
        }
    }
}

/// A path segment, percent-encoded.
fn enc(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .unwrap_or_default()
        .trim_start_matches('=')
        .replace('+', "%20")
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    done: String,
}

/// `GET /ui/hospitals/{id}/mappings?status=&q=`: the review list.
pub async fn mappings(
    UiUser(who): UiUser,
    state: Data<AppState>,
    req: HttpRequest,
    path: Path<String>,
    query: Query<ListQuery>,
) -> Result<HttpResponse, UiError> {
    let lang = Lang::of(&req);
    let err = |e: ApiError| UiError::new(&req, e);
    let id = path_id(&path).map_err(err)?;
    may_read(&who, &id).map_err(err)?;
    let hospital = existing(&state, &id).await.map_err(err)?;
    let status = match query.status.as_str() {
        "" => None,
        s => Some(MappingStatus::parse(s).ok_or_else(|| {
            err(ApiError::param(
                "status",
                format!("`{s}` is not a mapping status"),
            ))
        })?),
    };
    let filter = MappingFilter {
        status,
        unmapped: None,
        text: query.q.trim().to_owned(),
    };
    let store = state.store.clone();
    let key = id.clone();
    let all = blocking(move || Ok(store.mappings(&key)?))
        .await
        .map_err(err)?;
    let selected: Vec<&Mapping> = all.iter().filter(|m| filter.matches(m)).collect();
    let curator = may_curate(&who, &id).is_ok();
    let back = match req.query_string() {
        "" => req.path().to_owned(),
        q => format!("{}?{q}", req.path()),
    };
    let content = html! {
        p.lead { (hospital.name) " (" (id) ")" }
        @if !query.done.is_empty() {
            p.notice role="status" { (query.done) }
        }
        p.help { (lang.t(
            "双人复核：提议映射的人不能批准自己的提议，须由另一位审核员批准。批准后，该编码暂存的结果会重新标准化并发布。",
            "Two-person rule: whoever proposed a mapping cannot approve it; another curator must. \
             Approving releases the results held for that code."
        )) }
        form.search method="get" action=(req.path()) role="search" {
            label for="q" { (lang.t("筛选", "Filter")) }
            input #q type="search" name="q" value=(filter.text) placeholder=(lang.t("本地编码、名称、目标编码", "local code, name, target"));
            select name="status" aria-label=(lang.t("状态", "Status")) {
                option value="" selected[status.is_none()] { (lang.t("全部状态", "any status")) }
                @for s in [MappingStatus::Proposed, MappingStatus::Approved, MappingStatus::Rejected, MappingStatus::Retired] {
                    option value=(s.as_str()) selected[status == Some(s)] { (status_text(lang, s)) }
                }
            }
            button type="submit" { (lang.t("筛选", "Filter")) }
        }
        p.count { (selected.len()) " " (lang.t("条映射", "mappings"))
            @if selected.len() > PAGE_ROWS { " (" (lang.t("显示前 ", "showing the first ")) (PAGE_ROWS) ")" } }
        @if curator && status != Some(MappingStatus::Approved) {
            form.bulk method="post" action=(format!("/ui/hospitals/{id}/mappings/approve")) {
                input type="hidden" name="csrf" value=(csrf(&req));
                input type="hidden" name="status" value=(status.map(|s| s.as_str()).unwrap_or("proposed"));
                input type="hidden" name="q" value=(filter.text);
                input type="hidden" name="back" value=(back);
                button type="submit" { (lang.t("批准筛选出的全部待审核映射", "Approve every proposed mapping shown by this filter")) }
            }
        }
        table.mappings {
            thead { tr {
                th { (lang.t("本地编码", "Local code")) }
                th { (lang.t("本地名称", "Local name")) }
                th { (lang.t("单位", "Unit")) }
                th { (lang.t("目标", "Target")) }
                th { (lang.t("状态", "Status")) }
                th { (lang.t("提议人", "Proposed by")) }
                @if curator { th { (lang.t("操作", "Actions")) } }
            } }
            tbody {
                @for m in selected.iter().take(PAGE_ROWS) {
                    tr {
                        td { a href=(format!("/ui/hospitals/{id}/mappings/{}", enc(&m.term.local_code))) { code { (m.term.local_code) } } }
                        td { (m.term.local_name) }
                        td { (m.term.unit) }
                        td {
                            @if m.is_unmapped() { span.muted { (lang.t("（未映射）", "(unmapped)")) } }
                            @else {
                                code { (m.target()) } " " (target_name(&state, lang, m))
                                @if m.is_loinc_only() { " " span.tag { "LOINC" } }
                            }
                        }
                        td { span class=(format!("status {}", m.status.as_str())) { (status_text(lang, m.status)) } }
                        td { (m.proposed_by) }
                        @if curator {
                            td.actions {
                                @if m.status != MappingStatus::Approved && !m.is_unmapped() {
                                    (action_button(&req, &id, &m.term.local_code, "approve", lang.t("批准", "Approve"), &back))
                                }
                                @if m.status == MappingStatus::Proposed {
                                    (action_button(&req, &id, &m.term.local_code, "reject", lang.t("驳回", "Reject"), &back))
                                }
                                @if m.status == MappingStatus::Approved {
                                    (action_button(&req, &id, &m.term.local_code, "retire", lang.t("停用", "Retire"), &back))
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
        lang.t("映射审核", "Mapping review"),
        content,
    )))
}

#[derive(Debug, Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    national_code: String,
    #[serde(default)]
    loinc: String,
}

/// `POST /ui/hospitals/{id}/mappings/{code}/{action}`: one review action, as the API's.
pub async fn act(
    UiUser(who): UiUser,
    state: Data<AppState>,
    req: HttpRequest,
    path: Path<(String, String, String)>,
    body: Bytes,
) -> Result<HttpResponse, UiError> {
    let err = |e: ApiError| UiError::new(&req, e);
    let (raw, code, action) = path.into_inner();
    let id = path_id(&raw).map_err(err)?;
    may_curate(&who, &id).map_err(err)?;
    let f: ActionForm = form(&req, &body)?;
    check_csrf(&req, &f.csrf).map_err(err)?;
    let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let review = ReviewBody {
        comment: f.comment.trim().to_owned(),
        national_code: some(&f.national_code),
        loinc: some(&f.loinc),
        equivalence: None,
    };
    let (m, released) = apply_review(&state, &who, &req, &id, &code, &action, review)
        .await
        .map_err(err)?;
    let lang = Lang::of(&req);
    let done = format!(
        "{}: {} → {}{}",
        m.term.local_code,
        action,
        status_text(lang, m.status),
        if released > 0 {
            format!(
                " ({released} {})",
                lang.t("条结果已发布", "results released")
            )
        } else {
            String::new()
        }
    );
    Ok(see_other(&with_done(
        local_page(&f.back, &format!("/ui/hospitals/{id}/mappings")),
        &done,
    )))
}

fn with_done(back: &str, done: &str) -> String {
    let (path, query) = back.split_once('?').unwrap_or((back, ""));
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| k != "done")
            .collect();
    pairs.push(("done".into(), done.into()));
    format!(
        "{path}?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

#[derive(Debug, Deserialize)]
struct BulkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
}

/// `POST /ui/hospitals/{id}/mappings/approve`: approves what the filter selects.
pub async fn bulk_approve(
    UiUser(who): UiUser,
    state: Data<AppState>,
    req: HttpRequest,
    path: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, UiError> {
    let err = |e: ApiError| UiError::new(&req, e);
    let id = path_id(&path).map_err(err)?;
    may_curate(&who, &id).map_err(err)?;
    let f: BulkForm = form(&req, &body)?;
    check_csrf(&req, &f.csrf).map_err(err)?;
    existing(&state, &id).await.map_err(err)?;
    let bulk = BulkBody {
        local_codes: None,
        status: Some(f.status.clone()),
        q: Some(f.q.clone()),
        comment: String::new(),
    };
    let (approved, unchanged, released) = approve_selected(&state, &who, &req, &id, bulk)
        .await
        .map_err(err)?;
    let lang = Lang::of(&req);
    let done = format!(
        "{approved} {}, {unchanged} {}, {released} {}",
        lang.t("条已批准", "approved"),
        lang.t("条原已批准", "already approved"),
        lang.t("条结果已发布", "results released")
    );
    Ok(see_other(&with_done(
        local_page(&f.back, &format!("/ui/hospitals/{id}/mappings")),
        &done,
    )))
}

/// `GET /ui/hospitals/{id}/mappings/{code}`: one mapping and its history.
pub async fn mapping(
    UiUser(who): UiUser,
    state: Data<AppState>,
    req: HttpRequest,
    path: Path<(String, String)>,
) -> Result<HttpResponse, UiError> {
    let lang = Lang::of(&req);
    let err = |e: ApiError| UiError::new(&req, e);
    let (raw, code) = path.into_inner();
    let id = path_id(&raw).map_err(err)?;
    may_read(&who, &id).map_err(err)?;
    let store = state.store.clone();
    let (key, local) = (id.clone(), code.clone());
    let (m, history) = blocking(move || {
        let m = store.mapping(&key, &local)?;
        let h = store.mapping_history(&key, &local)?;
        Ok((m, h))
    })
    .await
    .map_err(err)?;
    let m = m.ok_or_else(|| {
        err(ApiError::NotFound(format!(
            "hospital `{id}` has no local code `{code}`"
        )))
    })?;
    let content = html! {
        table.facts {
            tr { th { (lang.t("本地名称", "Local name")) } td { (m.term.local_name) } }
            tr { th { (lang.t("标本", "Specimen")) } td { (m.term.specimen) } }
            tr { th { (lang.t("单位", "Unit")) } td { (m.term.unit) @if !m.unit_ucum.is_empty() { " → " code { (m.unit_ucum) } } } }
            tr { th { (lang.t("目标", "Target")) } td {
                @if m.is_unmapped() { (lang.t("（未映射）", "(unmapped)")) }
                @else { code { (m.target()) } " " (target_name(&state, lang, &m)) }
            } }
            tr { th { (lang.t("对等关系", "Equivalence")) } td { (m.equivalence.as_str()) } }
            tr { th { (lang.t("状态", "Status")) } td { (status_text(lang, m.status)) } }
        }
        h2 { (lang.t("变更历史", "History")) }
        table.history {
            thead { tr {
                th { (lang.t("时间（北京时间）", "When (China time)")) }
                th { (lang.t("操作人", "By")) }
                th { (lang.t("操作", "Action")) }
                th { (lang.t("状态", "Status")) }
                th { (lang.t("目标", "Target")) }
                th { (lang.t("说明", "Comment")) }
            } }
            tbody {
                @for c in &history {
                    tr {
                        td.nowrap { (china_time(c.at.div_euclid(1000), true)) }
                        td { (c.by) }
                        td { (c.action) }
                        td { @if let Some(f) = c.from_status { (status_text(lang, f)) " → " } (status_text(lang, c.to_status)) }
                        td { @if !c.from_target.is_empty() && c.from_target != c.to_target { code { (c.from_target) } " → " } code { (c.to_target) } }
                        td { (c.comment) }
                    }
                }
            }
        }
        p { a href=(format!("/ui/hospitals/{id}/mappings")) { (lang.t("← 返回审核列表", "← Back to the review list")) } }
    };
    let title = format!("{} {}", lang.t("映射", "Mapping"), m.term.local_code);
    Ok(ok(page(&req, Some(&who), &title, content)))
}

/// `GET /ui/hospitals/{id}/unmapped`: the queue, most frequent first, with suggestions.
pub async fn unmapped(
    UiUser(who): UiUser,
    state: Data<AppState>,
    req: HttpRequest,
    path: Path<String>,
) -> Result<HttpResponse, UiError> {
    let lang = Lang::of(&req);
    let err = |e: ApiError| UiError::new(&req, e);
    let id = path_id(&path).map_err(err)?;
    may_read(&who, &id).map_err(err)?;
    existing(&state, &id).await.map_err(err)?;
    let store = state.store.clone();
    let key = id.clone();
    let (mut queue, approved) =
        blocking(move || Ok((store.unmapped_codes(&key)?, store.approved_names()?)))
            .await
            .map_err(err)?;
    queue.sort_by(|a, b| b.count.cmp(&a.count).then(a.local_code.cmp(&b.local_code)));
    let catalog = state.catalog();
    let curator = may_curate(&who, &id).is_ok();
    let content = html! {
        p.help { (lang.t(
            "结果携带的本地编码尚无已批准映射：结果已保存并暂存，映射批准后发布。按收到的结果数排序。",
            "Local codes that results arrived with and that have no approved mapping: the \
             results are kept and held until it is approved. Most frequent first."
        )) }
        @if queue.is_empty() { p.empty { (lang.t("队列为空。", "The queue is empty.")) } }
        @for u in &queue {
            @let found = catalog.search.suggest(&catalog.registry, &approved, &SuggestRequest {
                name: &u.local_name, unit: &u.unit, specimen: "", limit: 3,
            });
            section.queue-item {
                h2 { code { (u.local_code) } " " (u.local_name) " " span.muted { (u.unit) } }
                p.count { (u.count) " " (lang.t("条结果等待", "results waiting")) }
                @match found {
                    s if s.codes.is_empty() || s.abstain => p.muted { (lang.t("没有足够可信的建议；请上传映射文件。", "No suggestion is sure enough; upload a mapping file.")) },
                    s => table.suggestions {
                        tbody {
                            @for c in &s.codes {
                                tr {
                                    td { code { (c.code) } @if c.system == CodeSystem::Loinc { " " span.tag { "LOINC" } } }
                                    td { (concept_name(&state, lang, c.system, &c.code)) }
                                    td.nowrap { (lang.t("置信度 ", "confidence ")) (format!("{:.2}", c.confidence)) }
                                    td { ul.reasons { @for r in &c.reasons { li { (lang.t(&r.zh, &r.en)) } } } }
                                    @if curator {
                                        td {
                                            form.inline method="post" action=(format!("/ui/hospitals/{id}/unmapped/{}/propose", enc(&u.local_code))) {
                                                input type="hidden" name="csrf" value=(csrf(&req));
                                                input type="hidden" name=(if c.system == CodeSystem::Loinc { "loinc" } else { "national_code" }) value=(c.code);
                                                button.small type="submit" { (lang.t("提议", "Propose")) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    },
                }
            }
        }
    };
    Ok(ok(page(
        &req,
        Some(&who),
        lang.t("未映射队列", "Unmapped queue"),
        content,
    )))
}

/// `POST /ui/hospitals/{id}/unmapped/{code}/propose`: proposes a target for a queued code,
/// through the mapping import's own checks (one row: the code as the results name it, the
/// target), so a code without a mapping row gets one.
pub async fn propose(
    UiUser(who): UiUser,
    state: Data<AppState>,
    req: HttpRequest,
    path: Path<(String, String)>,
    body: Bytes,
) -> Result<HttpResponse, UiError> {
    let err = |e: ApiError| UiError::new(&req, e);
    let (raw, code) = path.into_inner();
    let id = path_id(&raw).map_err(err)?;
    may_curate(&who, &id).map_err(err)?;
    let f: ActionForm = form(&req, &body)?;
    check_csrf(&req, &f.csrf).map_err(err)?;
    let (national, loinc) = (f.national_code.trim(), f.loinc.trim());
    if national.is_empty() && loinc.is_empty() {
        return Err(err(ApiError::param(
            "national_code",
            "choose a target to propose",
        )));
    }
    let store = state.store.clone();
    let key = id.clone();
    let (queued, existing_row) = {
        let local = code.clone();
        blocking(move || {
            let q = store
                .unmapped_codes(&key)?
                .into_iter()
                .find(|u| u.local_code == local);
            let m = store.mapping(&key, &local)?;
            Ok((q, m))
        })
        .await
        .map_err(err)?
    };
    let row = match (existing_row, queued) {
        (Some(m), _) => m,
        (None, Some(u)) => Mapping {
            hospital: id.clone(),
            term: LocalTerm {
                local_code: u.local_code,
                local_name: u.local_name,
                unit: u.unit,
                ..LocalTerm::default()
            },
            national_code: String::new(),
            loinc: String::new(),
            unit_ucum: String::new(),
            unit_alias: String::new(),
            equivalence: Equivalence::Equivalent,
            status: MappingStatus::Proposed,
            proposed_by: String::new(),
            updated_by: String::new(),
            updated_at: 0,
        },
        (None, None) => {
            return Err(err(ApiError::NotFound(format!(
                "hospital `{id}` has no queued local code `{code}`"
            ))));
        }
    };
    let mut row = row;
    row.national_code = national.to_owned();
    row.loinc = if national.is_empty() {
        loinc.to_owned()
    } else {
        String::new()
    };
    row.status = MappingStatus::Proposed;
    let csv = huren_csv::write_mappings(&[row]);
    let options = ImportOptions {
        dry_run: false,
        status: Some(MappingStatus::Proposed),
        two_person_rule: state.two_person_rule,
        actor: who.sub.clone(),
        now: now_millis(),
    };
    let report = run_import(&state, &who, &req, &id, csv.into(), options)
        .await
        .map_err(err)?;
    if !report.problems.is_empty() {
        return Err(err(crate::routes::rows_error(&report.problems)));
    }
    let lang = Lang::of(&req);
    let done = format!(
        "{code}: {} {}",
        lang.t("已提议", "proposed"),
        if national.is_empty() { loinc } else { national }
    );
    Ok(see_other(&with_done(
        &format!("/ui/hospitals/{id}/mappings?status=proposed"),
        &done,
    )))
}

/// The mapping import, through the store acting as `who`.
async fn run_import(
    state: &Data<AppState>,
    who: &crate::auth::Principal,
    req: &HttpRequest,
    id: &HospitalId,
    body: Bytes,
    options: ImportOptions,
) -> Result<ImportReport, ApiError> {
    crate::routes::csv_upload(state, &body)?;
    let catalog = state.catalog();
    let store = state.store_as(who, req);
    let key = id.clone();
    let report = blocking(move || {
        import_mappings(
            &*store,
            &catalog.registry,
            &key,
            &body,
            &options,
            &mut |_| {},
        )
        .map_err(ApiError::from)
    })
    .await?;
    if report.written {
        let state = state.clone();
        let store = state.store_as(who, req);
        let key = id.clone();
        blocking(move || Ok(crate::jobs::release_now(&state, &*store, &key))).await?;
    }
    Ok(report)
}

/// `GET /ui/hospitals/{id}/upload`: the form.
pub async fn upload_form(
    UiUser(who): UiUser,
    state: Data<AppState>,
    req: HttpRequest,
    path: Path<String>,
) -> Result<HttpResponse, UiError> {
    let lang = Lang::of(&req);
    let err = |e: ApiError| UiError::new(&req, e);
    let id = path_id(&path).map_err(err)?;
    may_curate(&who, &id).map_err(err)?;
    existing(&state, &id).await.map_err(err)?;
    Ok(ok(page(
        &req,
        Some(&who),
        lang.t("上传映射文件", "Upload a mapping file"),
        upload_markup(lang, &req, &id),
    )))
}

fn upload_markup(lang: Lang, req: &HttpRequest, id: &HospitalId) -> Markup {
    html! {
        form.card method="post" action=(format!("/ui/hospitals/{id}/upload")) enctype="multipart/form-data" {
            p { (lang.t(
                "Excel 另存的 CSV（UTF-8 或 GBK 均可）。先试运行：列出每个问题的行号和列；无问题时再导入。",
                "A CSV saved from Excel (UTF-8 or GBK). A dry run first: every problem with its line \
                 and column; import when there is none."
            )) }
            input type="hidden" name="csrf" value=(csrf(req));
            label for="file" { (lang.t("映射文件", "Mapping file")) }
            input #file type="file" name="file" accept=".csv,text/csv" required;
            button type="submit" name="mode" value="dry-run" { (lang.t("试运行", "Dry run")) }
        }
    }
}

/// `POST /ui/hospitals/{id}/upload` (multipart: `csrf`, `mode` = `dry-run` or `import`,
/// `file`): the dry run's report, or the import.
pub async fn upload(
    UiUser(who): UiUser,
    state: Data<AppState>,
    req: HttpRequest,
    path: Path<String>,
    payload: actix_web::web::Payload,
) -> Result<HttpResponse, UiError> {
    use futures_util::StreamExt;
    let lang = Lang::of(&req);
    let err = |e: ApiError| UiError::new(&req, e);
    let id = path_id(&path).map_err(err)?;
    may_curate(&who, &id).map_err(err)?;
    let mut multipart = actix_multipart::Multipart::new(req.headers(), payload);
    let (mut token, mut mode, mut file) = (String::new(), String::new(), Vec::new());
    let limit = state.limits.max_body_bytes;
    while let Some(field) = multipart.next().await {
        let mut field =
            field.map_err(|e| err(ApiError::Body(format!("the upload cannot be read: {e}"))))?;
        let name = field.name().unwrap_or("").to_owned();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk
                .map_err(|e| err(ApiError::Body(format!("the upload cannot be read: {e}"))))?;
            if bytes.len() + chunk.len() > limit {
                return Err(err(ApiError::TooLarge(
                    "the file is larger than this server takes (`huren serve --max-body-mb`)"
                        .into(),
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "csrf" => token = String::from_utf8_lossy(&bytes).into_owned(),
            "mode" => mode = String::from_utf8_lossy(&bytes).into_owned(),
            "file" => file = bytes,
            _ => {}
        }
    }
    check_csrf(&req, &token).map_err(err)?;
    if file.is_empty() {
        return Err(err(ApiError::Body("choose a file to upload".into())));
    }
    let dry_run = mode != "import";
    let options = ImportOptions {
        dry_run,
        status: None,
        two_person_rule: state.two_person_rule,
        actor: who.sub.clone(),
        now: now_millis(),
    };
    let report = run_import(&state, &who, &req, &id, Bytes::from(file.clone()), options)
        .await
        .map_err(err)?;
    // The file travels back with the report so that "import" sends the very same bytes.
    let kept = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&file)
    };
    let content = html! {
        @if report.problems.is_empty() {
            p.notice role="status" {
                @if report.written { (lang.t("已导入：", "Imported: ")) } @else { (lang.t("试运行无问题：", "The dry run found no problem: ")) }
                (report.rows) (lang.t(" 行，新增 ", " rows, ")) (report.created) (lang.t("，更新 ", " new, "))
                (report.updated) (lang.t("，未变 ", " changed, ")) (report.unchanged) (lang.t("，未映射 ", " unchanged, "))
                (report.unmapped) (lang.t("。", " unmapped."))
            }
            @if !report.written {
                form.card method="post" action=(format!("/ui/hospitals/{id}/upload/import")) {
                    input type="hidden" name="csrf" value=(csrf(&req));
                    input type="hidden" name="file" value=(kept);
                    button type="submit" { (lang.t("导入", "Import")) }
                }
            } @else {
                p { a href=(format!("/ui/hospitals/{id}/mappings?status=proposed")) { (lang.t("去审核 →", "Review them →")) } }
            }
        } @else {
            p.error role="alert" { (report.problems.len()) (lang.t(" 个问题，未写入任何内容。请修改文件后重新上传。", " problems; nothing was written. Fix the file and upload it again.")) }
            table.problems {
                thead { tr { th { (lang.t("行", "Line")) } th { (lang.t("列", "Column")) } th { (lang.t("问题", "Problem")) } } }
                tbody {
                    @for p in &report.problems {
                        tr { td { (p.line) } td { (p.column.as_deref().unwrap_or("")) } td { (p.message) } }
                    }
                }
            }
            (upload_markup(lang, &req, &id))
        }
    };
    Ok(ok(page(
        &req,
        Some(&who),
        lang.t("上传映射文件", "Upload a mapping file"),
        content,
    )))
}

#[derive(Debug, Deserialize)]
struct ImportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    file: String,
}

/// `POST /ui/hospitals/{id}/upload/import`: imports the file the dry run checked.
pub async fn upload_import(
    UiUser(who): UiUser,
    state: Data<AppState>,
    req: HttpRequest,
    path: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, UiError> {
    let lang = Lang::of(&req);
    let err = |e: ApiError| UiError::new(&req, e);
    let id = path_id(&path).map_err(err)?;
    may_curate(&who, &id).map_err(err)?;
    let f: ImportForm = form(&req, &body)?;
    check_csrf(&req, &f.csrf).map_err(err)?;
    let file = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(f.file.as_bytes())
            .map_err(|_| {
                err(ApiError::Body(
                    "the file did not come back intact; upload it again".into(),
                ))
            })?
    };
    let options = ImportOptions {
        dry_run: false,
        status: None,
        two_person_rule: state.two_person_rule,
        actor: who.sub.clone(),
        now: now_millis(),
    };
    let report = run_import(&state, &who, &req, &id, Bytes::from(file), options)
        .await
        .map_err(err)?;
    if !report.problems.is_empty() {
        return Err(err(crate::routes::rows_error(&report.problems)));
    }
    let done = format!(
        "{} {} ({} {}, {} {})",
        report.rows,
        lang.t("行已导入", "rows imported"),
        report.created,
        lang.t("新增", "new"),
        report.updated,
        lang.t("更新", "changed")
    );
    Ok(see_other(&with_done(
        &format!("/ui/hospitals/{id}/mappings?status=proposed"),
        &done,
    )))
}
