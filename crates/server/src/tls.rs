//! HTTPS with rustls (`--tls-cert`, `--tls-key`): TLS 1.2 and 1.3 with rustls's safe defaults,
//! through the `ring` provider, so the binary links no OpenSSL (`ldd` shows no libssl) and the
//! build needs only a C compiler.
//!
//! Why rustls: a TLS stack in Rust, maintained under the Rust project's umbrella (ISRG/Prossimo
//! funded), and the one actix-web supports besides OpenSSL; `rustls-pki-types` reads the PEM
//! files (rustls-pemfile is retired in its favour).

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// The server configuration for a PEM certificate chain (leaf first) and its PEM private key
/// (PKCS#8, PKCS#1 or SEC1).
pub fn server_config(cert: &Path, key: &Path) -> anyhow::Result<rustls::ServerConfig> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("cannot read the certificate file {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} is not a PEM certificate chain", cert.display()))?;
    if certs.is_empty() {
        anyhow::bail!(
            "{} holds no certificate (expected -----BEGIN CERTIFICATE-----)",
            cert.display()
        );
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("{} holds no PEM private key", key.display()))?;
    // rustls 0.23.48 deprecates the ring provider for lacking post-quantum key exchange
    // (X25519MLKEM768); aws-lc-rs, which has it, needs cmake to build. Classical X25519,
    // P-256 and P-384 remain; docs/security.md says so.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("rustls protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the private key does not match the certificate, or is not supported")
}
