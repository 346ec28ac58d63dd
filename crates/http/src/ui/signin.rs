//! Signing in and out of the web pages.
//!
//! The sign-in page takes the same JWT as the API (a hospital's identity provider issues it;
//! `huren token` in development). Designed for a later OIDC login: that would end in the same
//! `start_session` with the provider's token.

use super::{Lang, SESSION_COOKIE, SIGNIN_CSRF_COOKIE, UiError, ok, page, see_other};
use crate::auth::Authenticator;
use crate::error::ApiError;
use actix_web::cookie::{Cookie, SameSite, time::Duration};
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;
use rand::Rng;
use serde::Deserialize;

fn secure(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

/// `GET /ui/sign-in`: the form, with a fresh double-submit token.
pub async fn form(req: HttpRequest) -> HttpResponse {
    let lang = Lang::of(&req);
    let nonce: String = {
        let bytes: [u8; 16] = rand::rng().random();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    };
    let content = html! {
        form.card method="post" action="/ui/sign-in" {
            p { (lang.t(
                "粘贴您所在医院身份系统签发的令牌（JWT）。与 API 使用同一令牌，权限相同。",
                "Paste the token (JWT) your hospital's identity provider issued. It is the same \
                 token as for the API, with the same rights."
            )) }
            label for="token" { (lang.t("令牌", "Token")) }
            textarea #token name="token" rows="6" required autocomplete="off" spellcheck="false" {}
            input type="hidden" name="csrf" value=(nonce);
            button type="submit" { (lang.t("登录", "Sign in")) }
        }
    };
    let mut response = ok(page(&req, None, lang.t("登录", "Sign in"), content));
    let cookie = Cookie::build(SIGNIN_CSRF_COOKIE, nonce)
        .path("/ui/sign-in")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure(&req))
        .finish();
    let _ = response.add_cookie(&cookie);
    response
}

#[derive(Debug, Deserialize)]
pub struct SignIn {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /ui/sign-in`: checks the token as the API does and starts a session.
pub async fn submit(req: HttpRequest, form: web::Form<SignIn>) -> Result<HttpResponse, UiError> {
    let err = |e: ApiError| UiError::new(&req, e);
    let expected = req
        .cookie(SIGNIN_CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    if expected.is_empty() || expected != form.csrf {
        return Err(err(ApiError::Body(
            "the sign-in form is out of date or did not come from this site; reload it".into(),
        )));
    }
    let auth = req
        .app_data::<web::Data<Authenticator>>()
        .ok_or_else(|| err(ApiError::Internal("authenticator not configured".into())))?;
    let token = form.token.trim();
    let who = auth
        .verify(token)
        .map_err(|e| err(ApiError::Unauthorized(e)))?;
    let remaining = who.expires_at - crate::mapping_import::now_millis() / 1000;
    let mut response = see_other("/ui");
    let session = Cookie::build(SESSION_COOKIE, token.to_owned())
        .path("/ui")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure(&req))
        .max_age(Duration::seconds(remaining.max(0)))
        .finish();
    let _ = response.add_cookie(&session);
    let mut used = Cookie::build(SIGNIN_CSRF_COOKIE, "")
        .path("/ui/sign-in")
        .finish();
    used.make_removal();
    let _ = response.add_cookie(&used);
    tracing::info!(sub = %who.sub, role = who.role.as_str(), "signed in to the web pages");
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct SignOut {
    #[serde(default)]
    csrf: String,
}

/// `POST /ui/sign-out`: ends the session.
pub async fn sign_out(
    _who: super::UiUser,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, UiError> {
    let form: SignOut = serde_urlencoded::from_bytes(&body).map_err(|e| {
        UiError::new(
            &req,
            ApiError::Body(format!("the form cannot be read: {e}")),
        )
    })?;
    super::check_csrf(&req, &form.csrf).map_err(|e| UiError::new(&req, e))?;
    let mut response = see_other("/ui/sign-in");
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/ui").finish();
    gone.make_removal();
    let _ = response.add_cookie(&gone);
    Ok(response)
}
