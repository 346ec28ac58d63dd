//! `huren token`: mints a development HS256 token with the same claims the server checks.

use huren_http::auth::{Claims, Role};

/// Signs a token for `role` (and `hospital`) valid for `ttl`.
pub fn mint(
    secret: &str,
    sub: &str,
    role: Role,
    hospital: Option<&str>,
    ttl: std::time::Duration,
) -> anyhow::Result<String> {
    if let Some(h) = hospital {
        anyhow::ensure!(
            !h.is_empty()
                && h.len() <= 64
                && h.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "hospital id `{h}` must match [a-z0-9-]{{1,64}}"
        );
    }
    let now = jsonwebtoken::get_current_timestamp();
    let claims = Claims {
        sub: sub.to_owned(),
        role,
        hospital: hospital.map(str::to_owned),
        exp: now + ttl.as_secs(),
        iat: Some(now),
        scope: None,
    };
    Ok(jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_verify() {
        let t = mint(
            "0123456789abcdef",
            "alice",
            Role::Clinician,
            Some("hosp-a"),
            std::time::Duration::from_secs(60),
        )
        .unwrap();
        let p = huren_http::Authenticator::hs256(b"0123456789abcdef")
            .verify(&t)
            .unwrap();
        assert_eq!(
            (p.sub.as_str(), p.role, p.hospital.as_deref()),
            ("alice", Role::Clinician, Some("hosp-a"))
        );
        assert!(
            mint(
                "k",
                "a",
                Role::Admin,
                Some("Bad Id"),
                std::time::Duration::from_secs(1)
            )
            .is_err()
        );
    }
}
