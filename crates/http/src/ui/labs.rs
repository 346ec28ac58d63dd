//! The lab manager's page: every catalogue item of the laboratory, whether a result taken now
//! would be recognizable in its own region, and why not (EQA, IQC, reference interval,
//! catalogue), so the lab sees what to fix. The same judgement as
//! `GET /api/labs/{id}/recognition`.

use super::{Lang, UiError, UiUser, concept_name, ok, page};
use crate::error::ApiError;
use crate::routes::{lab_items, may_read, path_id};
use crate::state::AppState;
use actix_web::web::{Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use huren_core::CodeSystem;
use maud::html;
use serde_json::Value;

fn iqc_text(lang: Lang, iqc: &Value) -> String {
    let fired = iqc["fired"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    match iqc["status"].as_str() {
        Some("in-control") => lang.t("在控", "in control").to_owned(),
        Some("warning") => format!("{} ({fired})", lang.t("警告", "warning")),
        Some("rejected") => format!("{} ({fired})", lang.t("失控", "rejected")),
        _ => lang.t("今日无质控数据", "no control data today").to_owned(),
    }
}

fn eqa_text(lang: Lang, eqa: &Value) -> String {
    match &eqa["latest"] {
        Value::Null => lang.t("无室间质评记录", "no EQA event").to_owned(),
        latest => format!(
            "{} {} {}/{} ({} {})",
            latest["program"].as_str().unwrap_or(""),
            latest["event"].as_str().unwrap_or(""),
            latest["acceptable"],
            latest["samples"],
            eqa["age_days"],
            lang.t("天前", "days ago")
        ),
    }
}

/// `GET /ui/labs/{id}`.
pub async fn lab(
    UiUser(who): UiUser,
    state: Data<AppState>,
    req: HttpRequest,
    path: Path<String>,
) -> Result<HttpResponse, UiError> {
    let lang = Lang::of(&req);
    let err = |e: ApiError| UiError::new(&req, e);
    let id = path_id(&path).map_err(err)?;
    may_read(&who, &id).map_err(err)?;
    let now = crate::mapping_import::now_millis().div_euclid(1000);
    let (hospital, items) = lab_items(&state, &id, now).await.map_err(err)?;
    let recognizable = items
        .iter()
        .filter(|i| i["recognizable"] == Value::Bool(true))
        .count();
    let content = html! {
        p.lead {
            (hospital.name) " (" (id) ") · " (recognizable) " / " (items.len())
            " " (lang.t("个目录项目今日可互认", "catalogue items recognizable today"))
        }
        p.help {
            (lang.t("ISO 15189 认可：", "ISO 15189 accreditation: "))
            @if hospital.lab.accreditation.is_empty() { (lang.t("无", "none")) }
            @else { (hospital.lab.accreditation) " (" (lang.t("至 ", "until ")) (hospital.lab.accredited_until) ")" }
            " · " (lang.t("室内质控规则：", "IQC rules: ")) (hospital.lab.rule_set().to_string())
        }
        table.lab {
            thead { tr {
                th { (lang.t("项目", "Item")) }
                th { (lang.t("互认", "Recognition")) }
                th { (lang.t("室间质评", "EQA")) }
                th { (lang.t("今日室内质控", "IQC today")) }
                th { (lang.t("需处理", "To fix")) }
            } }
            tbody {
                @for i in &items {
                    tr {
                        td { (concept_name(&state, lang, CodeSystem::National, i["code"].as_str().unwrap_or(""))) br; code.small { (i["code"].as_str().unwrap_or("")) } }
                        td {
                            @if i["recognizable"] == Value::Bool(true) {
                                span.badge.yes { (i["mark"].as_str().unwrap_or("HR")) " ✓" }
                            } @else {
                                span.badge.no { "✗ " (lang.t("不可互认", "not recognizable")) }
                            }
                        }
                        td { (eqa_text(lang, &i["eqa"])) }
                        td { (iqc_text(lang, &i["iqc_today"])) }
                        td {
                            ul.reasons {
                                @for r in i["reasons"].as_array().into_iter().flatten() {
                                    li class=(r["severity"].as_str().unwrap_or("")) {
                                        (match lang { Lang::Zh => r["zh"].as_str(), Lang::En => r["en"].as_str() }.unwrap_or(""))
                                        " " code { (r["code"].as_str().unwrap_or("")) }
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
        lang.t("本实验室互认状态", "Our laboratory's recognition"),
        content,
    )))
}
