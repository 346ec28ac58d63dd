//! The registry pages: search national codes and LOINC terms in Chinese or English, and one
//! code's page. Answered from the catalog, as the FHIR terminology operations are.

use super::{Lang, UiError, UiUser, ok, page};
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::web::{Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse};
use huren_core::CodeSystem;
use maud::{Markup, html};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Search {
    #[serde(default)]
    q: String,
    #[serde(default)]
    system: String,
}

fn system_of(name: &str) -> CodeSystem {
    CodeSystem::parse(name).unwrap_or(CodeSystem::National)
}

fn concept_link(system: CodeSystem, code: &str) -> String {
    format!("/ui/registry/{}/{code}", system.as_str())
}

/// `GET /ui/registry?q=&system=national|loinc`.
pub async fn search(
    UiUser(who): UiUser,
    state: Data<AppState>,
    req: HttpRequest,
    query: Query<Search>,
) -> Result<HttpResponse, UiError> {
    let lang = Lang::of(&req);
    let system = system_of(&query.system);
    let text = query.q.trim();
    let catalog = state.catalog();
    let found = if text.is_empty() {
        None
    } else {
        Some(
            catalog
                .search
                .search(system, text, 0, 25)
                .map_err(|e| UiError::new(&req, ApiError::from(e)))?,
        )
    };
    let releases: Vec<_> = catalog.registry.releases().iter().rev().take(6).collect();
    let content = html! {
        form.search method="get" action="/ui/registry" role="search" {
            label for="q" { (lang.t("检索", "Search")) }
            input #q type="search" name="q" value=(text)
                placeholder=(lang.t("血糖、GLU、glucose、2345-7…", "glucose, GLU, 血糖, 2345-7…"));
            select name="system" aria-label=(lang.t("编码体系", "Code system")) {
                option value="national" selected[system == CodeSystem::National] { (lang.t("国家编码", "National")) }
                option value="loinc" selected[system == CodeSystem::Loinc] { "LOINC" }
            }
            button type="submit" { (lang.t("检索", "Search")) }
        }
        @if let Some(page) = &found {
            p.count { (page.total) " " (lang.t("条结果", "matches")) }
            table {
                thead { tr {
                    th { (lang.t("编码", "Code")) }
                    th { (lang.t("名称", "Name")) }
                    th { (lang.t("单位", "Unit")) }
                    th { (lang.t("状态", "Status")) }
                } }
                tbody {
                    @for code in &page.codes {
                        @if let Some(c) = catalog.registry.lookup(system, code) {
                            tr {
                                td { a href=(concept_link(system, &c.code)) { code { (c.code) } } }
                                td { (c.display(lang.core())) }
                                td { (c.ucum_unit) }
                                td { (c.status.as_str()) }
                            }
                        }
                    }
                }
            }
        } @else {
            h2 { (lang.t("版本", "Releases")) }
            ul {
                @for r in &releases {
                    li { (r.system.as_str()) " " strong { (r.label) } " — " (r.concept_count) " "
                        (lang.t("个编码", "codes")) " (" (r.imported_at) ")" }
                }
            }
        }
    };
    Ok(ok(page(
        &req,
        Some(&who),
        lang.t("注册表", "Registry"),
        content,
    )))
}

/// `GET /ui/registry/{system}/{code}`: the code's axes, names, unit, status, equivalents and
/// releases.
pub async fn concept(
    UiUser(who): UiUser,
    state: Data<AppState>,
    req: HttpRequest,
    path: Path<(String, String)>,
) -> Result<HttpResponse, UiError> {
    let lang = Lang::of(&req);
    let (system_name, code) = path.into_inner();
    let system = CodeSystem::parse(&system_name).ok_or_else(|| {
        UiError::new(
            &req,
            ApiError::NotFound(format!(
                "no code system `{system_name}` (national or loinc)"
            )),
        )
    })?;
    let catalog = state.catalog();
    let c = catalog.registry.lookup(system, &code).ok_or_else(|| {
        UiError::new(
            &req,
            ApiError::NotFound(format!("{system} has no code `{code}`")),
        )
    })?;
    let equivalents: Vec<(CodeSystem, String)> = match system {
        CodeSystem::National if !c.loinc.is_empty() => vec![(CodeSystem::Loinc, c.loinc.clone())],
        CodeSystem::National => Vec::new(),
        CodeSystem::Loinc => catalog
            .registry
            .national_for_loinc(&c.code)
            .iter()
            .map(|n| (CodeSystem::National, n.clone()))
            .collect(),
    };
    let releases: Vec<_> = catalog
        .registry
        .releases()
        .iter()
        .filter(|r| r.system == system)
        .collect();
    let current = catalog
        .registry
        .current(system)
        .map(|r| r.release.label.clone());
    let row =
        |label: &str, value: Markup| html! { tr { th scope="row" { (label) } td { (value) } } };
    let content = html! {
        p.lead { code { (c.code) } " · " (c.display(lang.core())) }
        table.facts {
            (row(lang.t("中文名称", "Chinese name"), html! { (c.display_zh) }))
            (row(lang.t("英文名称", "English name"), html! { (c.display_en) }))
            (row(lang.t("简称", "Short name"), html! { (c.short_name) }))
            (row(lang.t("缩写", "Abbreviations"), html! { (c.abbreviations.join(", ")) }))
            (row(lang.t("同义词", "Synonyms"), html! { (c.synonyms_zh.join("、")) " " (c.synonyms_en.join(", ")) }))
            (row(lang.t("规范单位 (UCUM)", "Canonical unit (UCUM)"), html! { (c.ucum_unit) }))
            (row(lang.t("类别", "Class"), html! { (c.class) }))
            (row(lang.t("状态", "Status"), html! {
                (c.status.as_str())
                @if !c.replaced_by.is_empty() {
                    " → " a href=(concept_link(system, &c.replaced_by)) { (c.replaced_by) }
                }
            }))
            @for (s, e) in &equivalents {
                (row(
                    match s { CodeSystem::Loinc => lang.t("LOINC 对应", "LOINC equivalent"), CodeSystem::National => lang.t("国家编码对应", "National equivalent") },
                    html! { a href=(concept_link(*s, e)) { code { (e) } } }
                ))
            }
        }
        @if let Some(axes) = &c.axes {
            h2 { (lang.t("六轴", "Six axes")) }
            table.facts {
                @for (name, value) in axes.named() {
                    (row(name, html! { (value) }))
                }
            }
        }
        h2 { (lang.t("版本", "Releases")) }
        ul {
            @for r in releases.iter().rev() {
                li {
                    strong { (r.label) }
                    @if current.as_deref() == Some(r.label.as_str()) { " (" (lang.t("当前", "current")) ")" }
                    " — " (r.imported_at)
                }
            }
        }
    };
    let system_name = match system {
        CodeSystem::National => lang.t("国家编码", "National code"),
        CodeSystem::Loinc => "LOINC",
    };
    let title = format!("{system_name} {}", c.code);
    Ok(ok(page(&req, Some(&who), &title, content)))
}
