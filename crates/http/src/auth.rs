//! Bearer-token authentication: JWT verification and the caller's identity.
//!
//! Tokens carry `sub`, `role`, an optional `hospital`, an optional SMART-style `scope`, and
//! `exp`. Keys: HS256 with a shared secret (development, or when a secret is configured), and
//! RS256/ES256 public keys from a PEM file or a JWKS file (several keys by `kid`; the JWKS file
//! is read again when it changes, so a hospital's identity provider can rotate keys without a
//! restart). `exp` and `nbf` are checked with a configurable clock skew, `iss` and `aud` when
//! configured (`docs/security.md`).

use crate::error::ApiError;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use std::future::{Ready, ready};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

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
    /// SMART-style scopes, space-separated (`system/Observation.write`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub sub: String,
    pub role: Role,
    pub hospital: Option<String>,
    /// The token's scopes (`system/Observation.write`), empty when it gave none.
    pub scopes: Vec<String>,
    /// The token's `exp` (seconds since 1970): a web session ends with it.
    pub expires_at: i64,
}

/// What a request does with a FHIR resource type, for SMART scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl Principal {
    /// Whether the token's scopes allow `access` to `resource` (`Observation`). A token without
    /// scopes is decided by its role alone. Scopes are SMART's: `{patient|user|system}/
    /// {Resource|*}.{read|write|*}` (v1) or `….{c,r,u,d,s}` letters (v2: `rs` reads, `cu`
    /// writes).
    pub fn scope_allows(&self, resource: &str, access: Access) -> bool {
        if self.scopes.is_empty() {
            return true;
        }
        self.scopes.iter().any(|scope| {
            let Some((_, rest)) = scope.split_once('/') else {
                return false;
            };
            let Some((res, perms)) = rest.split_once('.') else {
                return false;
            };
            if res != "*" && res != resource {
                return false;
            }
            match (perms, access) {
                ("*", _) | ("read", Access::Read) | ("write", Access::Write) => true,
                (p, Access::Read) if is_v2(p) => p.contains('r') || p.contains('s'),
                (p, Access::Write) if is_v2(p) => p.contains('c') || p.contains('u'),
                _ => false,
            }
        })
    }

    /// A 403 unless the token's scopes allow `access` to `resource`.
    pub fn require_scope(&self, resource: &str, access: Access) -> Result<(), ApiError> {
        if self.scope_allows(resource, access) {
            return Ok(());
        }
        let what = match access {
            Access::Read => "read",
            Access::Write => "write",
        };
        Err(ApiError::Forbidden(format!(
            "the token's scopes ({}) do not allow it to {what} {resource} resources",
            self.scopes.join(" ")
        )))
    }
}

/// SMART v2 permissions: a non-empty run of `c`, `r`, `u`, `d`, `s`, in that order.
fn is_v2(p: &str) -> bool {
    !p.is_empty()
        && p.chars().all(|c| "cruds".contains(c))
        && p.chars()
            .map(|c| "cruds".find(c).unwrap_or(0))
            .collect::<Vec<_>>()
            .windows(2)
            .all(|w| w[0] < w[1])
}

/// One verification key.
#[derive(Clone)]
pub struct Key {
    pub algorithm: Algorithm,
    pub kid: Option<String>,
    pub key: DecodingKey,
}

/// What a token must satisfy besides its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRules {
    /// Allowed clock difference between the token issuer and us, in seconds (`exp`, `nbf`).
    pub leeway_secs: u64,
    /// The `iss` a token must carry, when set.
    pub issuer: Option<String>,
    /// An `aud` a token must carry, when set.
    pub audience: Option<String>,
}

impl Default for TokenRules {
    fn default() -> TokenRules {
        TokenRules {
            leeway_secs: 30,
            issuer: None,
            audience: None,
        }
    }
}

/// A JWKS file and the keys last read from it.
struct JwksFile {
    path: PathBuf,
    modified: Option<SystemTime>,
    keys: Vec<Key>,
}

/// The keys and rules tokens are checked against.
pub struct Authenticator {
    /// Keys that do not change while the server runs (HS256 secret, PEM public key).
    fixed: Vec<Key>,
    jwks: Option<Mutex<JwksFile>>,
    /// `fixed` and the JWKS keys, as one list for verification.
    keys: RwLock<Arc<Vec<Key>>>,
    pub rules: TokenRules,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Authenticator({} keys)", self.current().len())
    }
}

/// Why a key source could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Bad { path: String, message: String },
}

impl Authenticator {
    /// An authenticator with no key yet: add sources with the `with_…` methods.
    pub fn new(rules: TokenRules) -> Authenticator {
        Authenticator {
            fixed: Vec::new(),
            jwks: None,
            keys: RwLock::new(Arc::new(Vec::new())),
            rules,
        }
    }

    /// HS256 with a shared secret and the default rules.
    pub fn hs256(secret: &[u8]) -> Authenticator {
        Authenticator::new(TokenRules::default()).with_hs256(secret)
    }

    /// Also accepts HS256 tokens signed with `secret`.
    #[must_use]
    pub fn with_hs256(mut self, secret: &[u8]) -> Authenticator {
        self.fixed.push(Key {
            algorithm: Algorithm::HS256,
            kid: None,
            key: DecodingKey::from_secret(secret),
        });
        self.publish();
        self
    }

    /// Also accepts tokens signed by the private key of a PEM public key: RSA (RS256) or
    /// P-256 (ES256).
    pub fn with_pem_file(mut self, path: &Path) -> Result<Authenticator, KeyError> {
        let bytes = read(path)?;
        let key = if let Ok(k) = DecodingKey::from_rsa_pem(&bytes) {
            Key {
                algorithm: Algorithm::RS256,
                kid: None,
                key: k,
            }
        } else if let Ok(k) = DecodingKey::from_ec_pem(&bytes) {
            Key {
                algorithm: Algorithm::ES256,
                kid: None,
                key: k,
            }
        } else {
            return Err(KeyError::Bad {
                path: path.display().to_string(),
                message: "not an RSA or EC (P-256) public key in PEM".into(),
            });
        };
        self.fixed.push(key);
        self.publish();
        Ok(self)
    }

    /// Also accepts tokens signed by the keys of a JWKS file (RSA → RS256, P-256 → ES256 unless
    /// the key names its `alg`), found by the token's `kid`. [`Authenticator::reload`] reads
    /// the file again when it changed.
    pub fn with_jwks_file(mut self, path: &Path) -> Result<Authenticator, KeyError> {
        let (keys, modified) = read_jwks(path)?;
        self.jwks = Some(Mutex::new(JwksFile {
            path: path.to_path_buf(),
            modified,
            keys,
        }));
        self.publish();
        Ok(self)
    }

    /// Reads the JWKS file again if it changed since it was last read; returns whether the
    /// keys changed. A file that cannot be read or parsed leaves the keys as they were (and is
    /// reported once: it is read again when it changes).
    pub fn reload(&self) -> Result<bool, KeyError> {
        let Some(jwks) = &self.jwks else {
            return Ok(false);
        };
        {
            let mut file = jwks.lock().unwrap_or_else(|p| p.into_inner());
            let modified = std::fs::metadata(&file.path)
                .and_then(|m| m.modified())
                .ok();
            if modified.is_some() && modified == file.modified {
                return Ok(false);
            }
            // A broken file is reported once, not again until it changes.
            file.modified = modified;
            let (keys, _) = read_jwks(&file.path)?;
            file.keys = keys;
        }
        self.publish();
        Ok(true)
    }

    /// Whether any key comes from a JWKS file (then [`Authenticator::reload`] has work).
    pub fn has_jwks(&self) -> bool {
        self.jwks.is_some()
    }

    /// The keys tokens are checked against now.
    fn current(&self) -> Arc<Vec<Key>> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Makes `fixed` and the JWKS keys the current list.
    fn publish(&self) {
        let mut all = self.fixed.clone();
        if let Some(jwks) = &self.jwks {
            all.extend(
                jwks.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .keys
                    .iter()
                    .cloned(),
            );
        }
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(all);
    }

    /// Checks a compact JWT and returns the caller, or why not.
    pub fn verify(&self, token: &str) -> Result<Principal, String> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| format!("malformed token: {e}"))?;
        let keys = self.current();
        let key = keys
            .iter()
            .find(|k| {
                k.algorithm == header.alg
                    && match &header.kid {
                        Some(kid) => k.kid.as_deref().is_none_or(|own| own == kid),
                        None => true,
                    }
            })
            .ok_or_else(|| match &header.kid {
                Some(kid) => format!("no key `{kid}` for algorithm {:?}", header.alg),
                None => format!("no key for algorithm {:?}", header.alg),
            })?;
        let mut validation = Validation::new(key.algorithm);
        validation.leeway = self.rules.leeway_secs;
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        if let Some(iss) = &self.rules.issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        match &self.rules.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        let data = jsonwebtoken::decode::<Claims>(token, &key.key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => "token expired".to_owned(),
                ErrorKind::ImmatureSignature => "token not valid yet (nbf)".to_owned(),
                ErrorKind::InvalidSignature => "bad token signature".to_owned(),
                ErrorKind::InvalidIssuer => "token from another issuer (iss)".to_owned(),
                ErrorKind::InvalidAudience => "token for another audience (aud)".to_owned(),
                ErrorKind::MissingRequiredClaim(c) => format!("token without `{c}`"),
                _ => format!("invalid token: {e}"),
            }
        })?;
        let c = data.claims;
        Ok(Principal {
            expires_at: i64::try_from(c.exp).unwrap_or(i64::MAX),
            sub: c.sub,
            role: c.role,
            hospital: c.hospital,
            scopes: c
                .scope
                .as_deref()
                .unwrap_or("")
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
        })
    }
}

fn read(path: &Path) -> Result<Vec<u8>, KeyError> {
    std::fs::read(path).map_err(|source| KeyError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// The keys of a JWKS file, and when it was last modified.
fn read_jwks(path: &Path) -> Result<(Vec<Key>, Option<SystemTime>), KeyError> {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let bytes = read(path)?;
    let bad = |message: String| KeyError::Bad {
        path: path.display().to_string(),
        message,
    };
    let set: JwkSet =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("not a JWKS: {e}")))?;
    let mut keys = Vec::with_capacity(set.keys.len());
    for jwk in &set.keys {
        let kid = jwk.common.key_id.clone();
        let named = |what: &str| match &kid {
            Some(k) => format!("key `{k}`: {what}"),
            None => format!("a key without `kid`: {what}"),
        };
        let algorithm = match (&jwk.common.key_algorithm, &jwk.algorithm) {
            (Some(KeyAlgorithm::RS256), _) => Algorithm::RS256,
            (Some(KeyAlgorithm::RS384), _) => Algorithm::RS384,
            (Some(KeyAlgorithm::RS512), _) => Algorithm::RS512,
            (Some(KeyAlgorithm::PS256), _) => Algorithm::PS256,
            (Some(KeyAlgorithm::ES256), _) => Algorithm::ES256,
            (Some(KeyAlgorithm::ES384), _) => Algorithm::ES384,
            (Some(other), _) => {
                return Err(bad(named(&format!("algorithm {other:?} is not supported"))));
            }
            (None, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
            (None, AlgorithmParameters::EllipticCurve(p)) if p.curve == EllipticCurve::P256 => {
                Algorithm::ES256
            }
            (None, AlgorithmParameters::EllipticCurve(p)) if p.curve == EllipticCurve::P384 => {
                Algorithm::ES384
            }
            (None, _) => {
                return Err(bad(named("only RSA and P-256/P-384 keys are supported")));
            }
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| bad(named(&e.to_string())))?;
        keys.push(Key {
            algorithm,
            kid,
            key,
        });
    }
    if keys.is_empty() {
        return Err(bad("the key set has no key".into()));
    }
    Ok((keys, modified))
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Ready<Result<Principal, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let who = authenticate(req);
        if let Ok(p) = &who {
            // For the audit trail's record of this request.
            actix_web::HttpMessage::extensions_mut(req).insert(p.clone());
        }
        ready(who)
    }
}

/// The caller of `req`: the bearer token, or, on the web pages (`/ui/…`) only, the session
/// cookie holding the same kind of token (`crate::ui`).
pub(crate) fn authenticate(req: &HttpRequest) -> Result<Principal, ApiError> {
    let auth = req
        .app_data::<web::Data<Authenticator>>()
        .ok_or_else(|| ApiError::Internal("authenticator not configured".into()))?;
    match credential(req)? {
        Credential::Bearer(token) => auth.verify(&token).map_err(ApiError::Unauthorized),
        Credential::Session(token) => auth
            .verify(&token)
            .map_err(|e| ApiError::Unauthorized(format!("the session has ended: {e}"))),
    }
}

/// The token a request carries.
pub(crate) enum Credential {
    /// `Authorization: Bearer …`.
    Bearer(String),
    /// The web pages' session cookie (only under `/ui`, only without a bearer token).
    Session(String),
}

/// Which token `req` carries: its bearer token, or on the web pages without one, the session
/// cookie's. The one place that reads either, so authentication and the pages' CSRF token
/// always speak of the same token.
pub(crate) fn credential(req: &HttpRequest) -> Result<Credential, ApiError> {
    let header = req.headers().get(actix_web::http::header::AUTHORIZATION);
    if header.is_none()
        && (req.path() == "/ui" || req.path().starts_with("/ui/"))
        && let Some(cookie) = req.cookie(crate::ui::SESSION_COOKIE)
    {
        return Ok(Credential::Session(cookie.value().trim().to_owned()));
    }
    let header = header
        .ok_or_else(|| ApiError::Unauthorized("missing Authorization: Bearer token".into()))?;
    let value = header
        .to_str()
        .map_err(|_| ApiError::Unauthorized("Authorization header is not ASCII".into()))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| ApiError::Unauthorized("Authorization must be `Bearer <token>`".into()))?;
    Ok(Credential::Bearer(token.trim().to_owned()))
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
        let exp = now() + 60;
        let t = sign(
            b"s3cret",
            &serde_json::json!({"sub":"u1","role":"curator","hospital":"hosp-a","exp":exp}),
        );
        assert_eq!(
            auth.verify(&t),
            Ok(Principal {
                sub: "u1".into(),
                role: Role::Curator,
                hospital: Some("hosp-a".into()),
                scopes: vec![],
                expires_at: exp as i64,
            })
        );
    }

    fn testdata(file: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/jwt")
            .join(file)
    }

    /// A token signed with one of the test key pairs of `testdata/jwt` (generated with
    /// `openssl genpkey`; see `docs/security.md`).
    fn sign_with(alg: Algorithm, kid: Option<&str>, claims: &serde_json::Value) -> String {
        let private = std::fs::read(testdata(match alg {
            Algorithm::RS256 => "rs256-private.pem",
            _ => "es256-private.pem",
        }))
        .unwrap();
        let key = match alg {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&private).unwrap(),
            _ => EncodingKey::from_ec_pem(&private).unwrap(),
        };
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        encode(&header, claims, &key).unwrap()
    }

    #[test]
    fn rs256_and_es256_tokens_verify_against_pem_and_jwks_keys() {
        let claims = serde_json::json!({"sub":"lis-a","role":"system","hospital":"hosp-a",
            "exp":now()+60,"scope":"system/Observation.write system/Observation.read"});
        // A PEM public key, no kid needed.
        let pem = Authenticator::new(TokenRules::default())
            .with_pem_file(&testdata("rs256-public.pem"))
            .unwrap();
        let p = pem
            .verify(&sign_with(Algorithm::RS256, None, &claims))
            .unwrap();
        assert_eq!((p.sub.as_str(), p.role), ("lis-a", Role::System));
        assert_eq!(
            p.scopes,
            ["system/Observation.write", "system/Observation.read"]
        );
        // An ES256 token has no key there; HS256 neither.
        let err = pem
            .verify(&sign_with(Algorithm::ES256, None, &claims))
            .unwrap_err();
        assert!(err.contains("no key"), "{err}");
        assert!(
            pem.verify(&sign(b"s", &claims))
                .unwrap_err()
                .contains("no key")
        );
        // A JWKS file: both keys, found by kid.
        let jwks = Authenticator::new(TokenRules::default())
            .with_jwks_file(&testdata("jwks.json"))
            .unwrap();
        for (alg, kid) in [
            (Algorithm::RS256, "idp-rsa-2026"),
            (Algorithm::ES256, "idp-ec-2026"),
        ] {
            jwks.verify(&sign_with(alg, Some(kid), &claims))
                .unwrap_or_else(|e| panic!("{kid}: {e}"));
        }
        let err = jwks
            .verify(&sign_with(Algorithm::ES256, Some("retired-key"), &claims))
            .unwrap_err();
        assert!(err.contains("retired-key"), "{err}");
        // A key of the set whose kid the token names, signed by another key: refused.
        let err = jwks
            .verify(&sign_with(Algorithm::RS256, Some("idp-ec-2026"), &claims))
            .unwrap_err();
        assert!(err.contains("no key"), "{err}");
    }

    #[test]
    fn issuer_audience_and_not_before_are_checked_with_the_clock_skew() {
        let auth = Authenticator::new(TokenRules {
            leeway_secs: 30,
            issuer: Some("https://idp.hosp-a.example".into()),
            audience: Some("huren".into()),
        })
        .with_pem_file(&testdata("es256-public.pem"))
        .unwrap();
        let token = |extra: serde_json::Value| {
            let mut c = serde_json::json!({"sub":"dr-li","role":"clinician","hospital":"hosp-a",
                "exp":now()+60,"iss":"https://idp.hosp-a.example","aud":"huren"});
            for (k, v) in extra.as_object().unwrap() {
                c[k] = v.clone();
            }
            sign_with(Algorithm::ES256, None, &c)
        };
        auth.verify(&token(serde_json::json!({}))).unwrap();
        // Audiences may be a list.
        auth.verify(&token(serde_json::json!({"aud":["other","huren"]})))
            .unwrap();
        for (extra, expect) in [
            (serde_json::json!({"iss":"https://evil.example"}), "issuer"),
            (serde_json::json!({"aud":"other-service"}), "audience"),
            (serde_json::json!({"nbf": now() + 600}), "not valid yet"),
            (serde_json::json!({"exp": now() - 600}), "expired"),
        ] {
            let err = auth.verify(&token(extra.clone())).unwrap_err();
            assert!(err.contains(expect), "{extra}: {err}");
        }
        // Within the skew: a token that expired 10 s ago, or starts in 10 s, still passes.
        auth.verify(&token(serde_json::json!({"exp": now() - 10})))
            .unwrap();
        auth.verify(&token(serde_json::json!({"nbf": now() + 10})))
            .unwrap();
        // Missing `iss` or `aud` when they are required.
        let c = serde_json::json!({"sub":"u","role":"admin","exp":now()+60,"aud":"huren"});
        let err = auth
            .verify(&sign_with(Algorithm::ES256, None, &c))
            .unwrap_err();
        assert!(err.contains("iss"), "{err}");
    }

    #[test]
    fn a_changed_jwks_file_is_read_again_and_a_broken_one_keeps_the_old_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwks.json");
        let full: serde_json::Value =
            serde_json::from_slice(&std::fs::read(testdata("jwks.json")).unwrap()).unwrap();
        // Only the RSA key at first.
        let rsa_only = serde_json::json!({"keys": [full["keys"][0].clone()]});
        std::fs::write(&path, rsa_only.to_string()).unwrap();
        let auth = Authenticator::new(TokenRules::default())
            .with_jwks_file(&path)
            .unwrap();
        let claims = serde_json::json!({"sub":"u","role":"admin","exp":now()+60});
        let ec = sign_with(Algorithm::ES256, Some("idp-ec-2026"), &claims);
        assert!(auth.verify(&ec).is_err());
        assert!(!auth.reload().unwrap(), "unchanged");
        // The identity provider adds its new key.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, full.to_string()).unwrap();
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert!(auth.reload().unwrap());
        auth.verify(&ec).unwrap();
        // A broken file: an error, and the keys stay.
        std::fs::write(&path, "{not json").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later + std::time::Duration::from_secs(5))
            .unwrap();
        assert!(auth.reload().is_err());
        auth.verify(&ec).unwrap();
        // Reported once: unchanged since, it is not read again.
        assert!(!auth.reload().unwrap());
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
    fn smart_scopes_allow_what_they_name() {
        let with = |scopes: &[&str]| Principal {
            sub: "u".into(),
            role: Role::System,
            hospital: Some("hosp-a".into()),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            expires_at: 0,
        };
        let (r, w) = (Access::Read, Access::Write);
        for (scopes, access, allowed) in [
            (&[][..], w, true),
            (&["system/Observation.write"][..], w, true),
            (&["system/Observation.read"][..], w, false),
            (&["system/Observation.read"][..], r, true),
            (&["system/*.*"][..], w, true),
            (&["user/Observation.*"][..], r, true),
            (
                &["system/Patient.read", "system/Patient.write"][..],
                w,
                false,
            ),
            (&["system/Observation.cu"][..], w, true),
            (&["system/Observation.cu"][..], r, false),
            (&["system/Observation.rs"][..], r, true),
            (&["system/Observation.rs"][..], w, false),
            (&["system/Observation.sr"][..], r, false),
            (&["launch/patient"][..], r, false),
            (&["openid", "fhirUser"][..], r, false),
        ] {
            assert_eq!(
                with(scopes).scope_allows("Observation", access),
                allowed,
                "{scopes:?} {access:?}"
            );
        }
        let err = with(&["system/Observation.read"])
            .require_scope("Observation", w)
            .unwrap_err();
        assert!(
            err.to_string().contains("do not allow it to write"),
            "{err}"
        );
    }

    #[test]
    fn roles_parse() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
