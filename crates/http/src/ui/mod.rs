//! The web pages (`/ui/…`): server-rendered HTML for curators, clinicians, lab managers and
//! everyone who searches the registry, in Chinese first with an English switch.
//!
//! - **Same rules as the API.** A page handler takes the same [`Principal`] (from the session
//!   cookie instead of the `Authorization` header), calls the same checks (`may_read`,
//!   `may_read_results`, …) and the same core operations through the ports; a refusal is the
//!   API's `ApiError` with its status, rendered as a page ([`UiError`]). No SQL, no second rule
//!   set.
//! - **Session.** Signing in takes the same JWT as the API (pasted, or later from an OIDC login)
//!   and keeps it in an HttpOnly, `SameSite=Strict` cookie scoped to `/ui` (`Secure` over
//!   HTTPS), so API routes never see it; it expires with the token.
//! - **Forms.** Every POST carries a CSRF token derived from the session (and, for the sign-in
//!   form itself, a random double-submit cookie); every value is escaped by maud.
//! - **Assets.** One stylesheet, embedded in the binary; no JavaScript is needed to use any page.
//!
//! Why maud: templates checked at compile time, values escaped unless marked otherwise, no
//! template files to ship, and nothing but the Rust toolchain to build.

pub mod curation;
pub mod labs;
pub mod patients;
pub mod registry;
pub mod signin;

use crate::auth::{Principal, Role};
use crate::error::ApiError;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use huren_core::CodeSystem;
use maud::{DOCTYPE, Markup, html};
use sha2::{Digest, Sha256};

/// The cookie holding the signed-in user's token.
pub const SESSION_COOKIE: &str = "huren_session";
/// The sign-in form's double-submit cookie.
pub const SIGNIN_CSRF_COOKIE: &str = "huren_signin";
/// The chosen language.
pub const LANG_COOKIE: &str = "huren_lang";

const STYLE: &str = include_str!("huren.css");

/// The page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// `?lang=`, else the language cookie, else Chinese.
    pub fn of(req: &HttpRequest) -> Lang {
        let asked = req
            .query_string()
            .split('&')
            .find_map(|p| p.strip_prefix("lang="))
            .map(str::to_owned)
            .or_else(|| req.cookie(LANG_COOKIE).map(|c| c.value().to_owned()));
        match asked.as_deref() {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    /// The Chinese or the English text.
    pub fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// The same language as core's (`huren_core::Concept::display` picks names by it).
    pub fn core(self) -> huren_core::Language {
        match self {
            Lang::Zh => huren_core::Language::Zh,
            Lang::En => huren_core::Language::En,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    fn other(self) -> (&'static str, &'static str) {
        match self {
            Lang::Zh => ("en", "English"),
            Lang::En => ("zh", "中文"),
        }
    }
}

/// The name of a code of the current registry in the page's language (core's
/// `huren_core::Concept::display`: the other language when this one has none), or empty when the
/// registry does not have the code.
pub fn concept_name(
    state: &crate::state::AppState,
    lang: Lang,
    system: CodeSystem,
    code: &str,
) -> String {
    state
        .catalog()
        .registry
        .lookup(system, code)
        .map(|c| c.display(lang.core()).to_owned())
        .unwrap_or_default()
}

/// A time (Unix seconds) as China's date, `2026-12-05`, and with `with_time` its `08:12`.
pub fn china_time(seconds: i64, with_time: bool) -> String {
    let offset = i64::from(huren_core::qc::CHINA_OFFSET_MINUTES) * 60;
    time::OffsetDateTime::from_unix_timestamp(seconds + offset)
        .map(|t| {
            if with_time {
                format!("{} {:02}:{:02}", t.date(), t.hour(), t.minute())
            } else {
                t.date().to_string()
            }
        })
        .unwrap_or_default()
}

/// `back` when it is a page of ours, else `default`: a form's return address is never an open
/// redirect.
pub fn local_page<'a>(back: &'a str, default: &'a str) -> &'a str {
    if (back == "/ui" || back.starts_with("/ui/")) && !back.contains("//") {
        back
    } else {
        default
    }
}

/// The CSRF token of a session: a digest of the session's token, so a page of another site,
/// which can read neither the cookie nor our pages, cannot forge it.
pub fn csrf_of(session: &str) -> String {
    let digest = Sha256::digest(format!("huren-ui-csrf\n{session}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The CSRF token the signed-in request's forms must carry: of the token the request is
/// authenticated with (the session's, or the bearer token's when a page is called with one).
pub fn csrf(req: &HttpRequest) -> String {
    let token = match crate::auth::credential(req) {
        Ok(crate::auth::Credential::Bearer(t) | crate::auth::Credential::Session(t)) => t,
        Err(_) => String::new(),
    };
    csrf_of(&token)
}

/// A 403 unless the form's `csrf` is the session's.
pub fn check_csrf(req: &HttpRequest, sent: &str) -> Result<(), ApiError> {
    if !sent.is_empty() && sent == csrf(req) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "the form is out of date or did not come from this site (CSRF check); reload the \
             page and send it again"
                .into(),
        ))
    }
}

/// The signed-in user of a page: the same [`Principal`] as the API's, from the session cookie
/// (or a bearer token); a failure is the API's 401 as a page.
pub struct UiUser(pub Principal);

impl actix_web::FromRequest for UiUser {
    type Error = UiError;
    type Future = std::future::Ready<Result<UiUser, UiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let who = crate::auth::authenticate(req);
        if let Ok(p) = &who {
            // For the audit trail's record of this request.
            actix_web::HttpMessage::extensions_mut(req).insert(p.clone());
        }
        std::future::ready(who.map(UiUser).map_err(|e| UiError::new(req, e)))
    }
}

/// The menu entries a role sees.
fn menu(lang: Lang, who: &Principal) -> Vec<(String, &'static str)> {
    let mut items = vec![("/ui/registry".to_owned(), lang.t("注册表", "Registry"))];
    if matches!(who.role, Role::Clinician | Role::Admin) {
        items.push((
            "/ui/patients".to_owned(),
            lang.t("患者结果", "Patient results"),
        ));
    }
    if let Some(h) = &who.hospital {
        if who.role == Role::Curator {
            items.push((
                format!("/ui/hospitals/{h}/mappings"),
                lang.t("映射审核", "Mappings"),
            ));
            items.push((
                format!("/ui/hospitals/{h}/unmapped"),
                lang.t("未映射队列", "Unmapped"),
            ));
            items.push((
                format!("/ui/hospitals/{h}/upload"),
                lang.t("上传", "Upload"),
            ));
        }
        if matches!(who.role, Role::Qc | Role::Curator) {
            items.push((format!("/ui/labs/{h}"), lang.t("本实验室", "Our lab")));
        }
    }
    items
}

/// A whole page: header with the menu, the signed-in user, the language switch and sign-out.
pub fn page(req: &HttpRequest, who: Option<&Principal>, title: &str, content: Markup) -> Markup {
    let lang = Lang::of(req);
    let (other, other_name) = lang.other();
    // The switch remembers the choice (a cookie) and comes back to this page.
    let back = match req.query_string() {
        "" => req.path().to_owned(),
        q => format!("{}?{q}", req.path()),
    };
    let switch = format!(
        "/ui/lang?{}",
        serde_urlencoded::to_string([("to", other), ("back", back.as_str())]).unwrap_or_default()
    );
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · huren 互认" }
                link rel="stylesheet" href="/ui/assets/huren.css";
            }
            body {
                header {
                    a.brand href="/ui" { "huren 互认" }
                    @if let Some(who) = who {
                        nav {
                            @for (href, label) in menu(lang, who) {
                                a href=(href) { (label) }
                            }
                        }
                        span.who {
                            (who.sub) " · " (who.role.as_str())
                            @if let Some(h) = &who.hospital { " · " (h) }
                        }
                        form.inline method="post" action="/ui/sign-out" {
                            input type="hidden" name="csrf" value=(csrf(req));
                            button type="submit" { (lang.t("退出", "Sign out")) }
                        }
                    }
                    a.lang href=(switch) lang=(other) { (other_name) }
                }
                main {
                    h1 { (title) }
                    (content)
                }
            }
        }
    }
}

/// An HTML answer that is never cached and never framed.
pub fn html_response(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        // Patient identifiers travel in page URLs: never to another site.
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ))
        .body(markup.into_string())
}

/// A 200 page.
pub fn ok(markup: Markup) -> HttpResponse {
    html_response(StatusCode::OK, markup)
}

/// A redirect after a form (303: the browser GETs the target).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// An API error as a page: the same status and message as the API gives.
#[derive(Debug)]
pub struct UiError {
    error: ApiError,
    lang: Lang,
}

impl UiError {
    pub fn new(req: &HttpRequest, error: ApiError) -> UiError {
        UiError {
            error,
            lang: Lang::of(req),
        }
    }
}

impl std::fmt::Display for UiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl ResponseError for UiError {
    fn status_code(&self) -> StatusCode {
        self.error.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let lang = self.lang;
        let status = self.status_code();
        if let ApiError::Internal(detail) = &self.error {
            tracing::error!(%detail, "internal error");
        }
        let message = match &self.error {
            ApiError::Internal(_) => "internal error; see the server log".to_owned(),
            e => e.to_string(),
        };
        let title = match status {
            StatusCode::UNAUTHORIZED => lang.t("请先登录", "Please sign in"),
            StatusCode::FORBIDDEN => lang.t("无权访问", "Not allowed"),
            StatusCode::NOT_FOUND => lang.t("未找到", "Not found"),
            s if s.is_client_error() => lang.t("请求有误", "The request is not right"),
            _ => lang.t("服务器错误", "Server error"),
        };
        let markup = html! {
            (DOCTYPE)
            html lang=(lang.code()) {
                head {
                    meta charset="utf-8";
                    title { (title) " · huren 互认" }
                    link rel="stylesheet" href="/ui/assets/huren.css";
                }
                body {
                    header { a.brand href="/ui" { "huren 互认" } }
                    main {
                        h1 { (title) }
                        p.error role="alert" { (status.as_u16()) " — " (message) }
                        @if status == StatusCode::UNAUTHORIZED {
                            p { a href="/ui/sign-in" { (lang.t("登录", "Sign in")) } }
                        }
                    }
                }
            }
        };
        html_response(status, markup)
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct LangSwitch {
    #[serde(default)]
    to: String,
    #[serde(default)]
    back: String,
}

/// `GET /ui/lang?to=en|zh&back=PATH`: remembers the language and goes back to the page.
pub async fn switch_lang(query: actix_web::web::Query<LangSwitch>) -> HttpResponse {
    let to = if query.to == "en" { "en" } else { "zh" };
    let back = local_page(&query.back, "/ui");
    let mut response = see_other(back);
    let cookie = actix_web::cookie::Cookie::build(LANG_COOKIE, to)
        .path("/ui")
        .same_site(actix_web::cookie::SameSite::Strict)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish();
    let _ = response.add_cookie(&cookie);
    response
}

/// `GET /ui/assets/huren.css`.
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(STYLE)
}

/// `GET /ui`: the signed-in user's start page, or the sign-in page.
pub async fn home(req: HttpRequest) -> HttpResponse {
    match crate::auth::authenticate(&req) {
        Ok(who) if matches!(who.role, Role::Clinician) => see_other("/ui/patients"),
        Ok(who) if who.role == Role::Qc && who.hospital.is_some() => see_other(&format!(
            "/ui/labs/{}",
            who.hospital.as_deref().unwrap_or_default()
        )),
        Ok(who) if who.role == Role::Curator && who.hospital.is_some() => see_other(&format!(
            "/ui/hospitals/{}/mappings",
            who.hospital.as_deref().unwrap_or_default()
        )),
        Ok(_) => see_other("/ui/registry"),
        Err(_) => see_other("/ui/sign-in"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_depends_on_the_session() {
        assert_eq!(csrf_of("a"), csrf_of("a"));
        assert_ne!(csrf_of("a"), csrf_of("b"));
        assert_eq!(csrf_of("a").len(), 32);
    }

    #[test]
    fn forms_return_only_to_our_pages() {
        assert_eq!(local_page("/ui/patients?id=1", "/ui"), "/ui/patients?id=1");
        assert_eq!(local_page("//evil.example/ui/", "/ui"), "/ui");
        assert_eq!(local_page("https://evil.example/", "/ui"), "/ui");
        assert_eq!(local_page("/uix", "/ui"), "/ui");
    }

    #[test]
    fn times_are_shown_in_china_time() {
        // 2026-12-04T16:30:00Z is 00:30 on the 5th in Beijing.
        assert_eq!(china_time(1_796_401_800, true), "2026-12-05 00:30");
        assert_eq!(china_time(1_796_401_800, false), "2026-12-05");
    }

    #[test]
    fn values_are_escaped() {
        let name = "<script>alert(1)</script>";
        let m = html! { p { (name) } };
        assert_eq!(
            m.into_string(),
            "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
        );
    }
}
