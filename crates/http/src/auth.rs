//! Bearer-token authentication: JWT verification and the caller's identity.
//!
//! Tokens carry `sub`, `role`, an optional `hospital` and `exp`. HS256 with a shared secret is
//! the development setup; the key set is a list of (algorithm, key, optional `kid`) so that
//! RS256/ES256 public keys from a PEM or JWKS file can be added without changing callers.

use crate::error::ApiError;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use std::future::{Ready, ready};

/// The roles huren knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Curator,
    System,
    Clinician,
    Qc,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Curator,
        Role::System,
        Role::Clinician,
        Role::Qc,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Curator => "curator",
            Role::System => "system",
            Role::Clinician => "clinician",
            Role::Qc => "qc",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The claims huren reads from a token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hospital: Option<String>,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub sub: String,
    pub role: Role,
    pub hospital: Option<String>,
}

/// One verification key.
pub struct Key {
    pub algorithm: Algorithm,
    pub kid: Option<String>,
    pub key: DecodingKey,
}

/// The keys and rules tokens are checked against.
pub struct Authenticator {
    keys: Vec<Key>,
    /// Allowed clock difference between the token issuer and us, in seconds.
    pub leeway_secs: u64,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Authenticator({} keys)", self.keys.len())
    }
}

impl Authenticator {
    /// HS256 with a shared secret.
    pub fn hs256(secret: &[u8]) -> Authenticator {
        Authenticator {
            keys: vec![Key {
                algorithm: Algorithm::HS256,
                kid: None,
                key: DecodingKey::from_secret(secret),
            }],
            leeway_secs: 30,
        }
    }

    /// Checks a compact JWT and returns the caller, or why not.
    pub fn verify(&self, token: &str) -> Result<Principal, String> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| format!("malformed token: {e}"))?;
        let key = self
            .keys
            .iter()
            .find(|k| k.algorithm == header.alg && (header.kid.is_none() || k.kid == header.kid))
            .ok_or_else(|| format!("no key for algorithm {:?}", header.alg))?;
        let mut validation = Validation::new(key.algorithm);
        validation.leeway = self.leeway_secs;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data =
            jsonwebtoken::decode::<Claims>(token, &key.key, &validation).map_err(|e| {
                match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => "token expired".to_owned(),
                    jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                        "bad token signature".to_owned()
                    }
                    _ => format!("invalid token: {e}"),
                }
            })?;
        let c = data.claims;
        Ok(Principal {
            sub: c.sub,
            role: c.role,
            hospital: c.hospital,
        })
    }
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Ready<Result<Principal, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Principal, ApiError> {
    let auth = req
        .app_data::<web::Data<Authenticator>>()
        .ok_or_else(|| ApiError::Internal("authenticator not configured".into()))?;
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("missing Authorization: Bearer token".into()))?;
    let value = header
        .to_str()
        .map_err(|_| ApiError::Unauthorized("Authorization header is not ASCII".into()))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| ApiError::Unauthorized("Authorization must be `Bearer <token>`".into()))?;
    auth.verify(token.trim()).map_err(ApiError::Unauthorized)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};

    fn sign(secret: &[u8], claims: &serde_json::Value) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(secret),
        )
        .unwrap()
    }

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    #[test]
    fn valid_token_yields_principal() {
        let auth = Authenticator::hs256(b"s3cret");
        let t = sign(
            b"s3cret",
            &serde_json::json!({"sub":"u1","role":"curator","hospital":"hosp-a","exp":now()+60}),
        );
        assert_eq!(
            auth.verify(&t),
            Ok(Principal {
                sub: "u1".into(),
                role: Role::Curator,
                hospital: Some("hosp-a".into())
            })
        );
    }

    #[test]
    fn bad_tokens_are_refused_with_a_reason() {
        let auth = Authenticator::hs256(b"s3cret");
        let check = |token: String, expect: &str| {
            let err = auth.verify(&token).unwrap_err();
            assert!(err.contains(expect), "{err:?} should contain {expect:?}");
        };
        check(
            sign(
                b"other",
                &serde_json::json!({"sub":"u","role":"admin","exp":now()+60}),
            ),
            "signature",
        );
        check(
            sign(
                b"s3cret",
                &serde_json::json!({"sub":"u","role":"admin","exp":now()-3600}),
            ),
            "expired",
        );
        check(
            sign(
                b"s3cret",
                &serde_json::json!({"sub":"u","role":"king","exp":now()+60}),
            ),
            "invalid token",
        );
        check(
            sign(b"s3cret", &serde_json::json!({"sub":"u","role":"admin"})),
            "invalid token",
        );
        check("not-a-jwt".into(), "malformed");
    }

    #[test]
    fn roles_parse() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
