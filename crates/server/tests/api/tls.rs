//! HTTPS with rustls: `huren serve --tls-cert --tls-key` answers over TLS with its certificate
//! chain, and refuses plain HTTP on that port; a missing or mismatched key stops the start
//! with a message naming the file.

use crate::helpers::spawn_app_with;
use huren_testkit::{TestDb, repo_root};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;

fn testdata(name: &str) -> PathBuf {
    repo_root().join("crates/server/testdata/tls").join(name)
}

/// `GET path` over TLS, trusting only the test CA; the raw HTTP answer.
fn https_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(testdata("ca.pem")).unwrap())
        .unwrap();
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut sock = TcpStream::connect(addr).unwrap();
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    write!(
        tls,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    // The server may close without close_notify once it has answered `Connection: close`.
    let _ = tls.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn serves_https_with_its_certificate_and_refuses_plain_http() {
    let app = spawn_app_with(TestDb::sqlite(), |s| {
        s.tls = Some((testdata("cert.pem"), testdata("key.pem")));
    });
    let answer = https_get(app.addr, "/health");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let answer = https_get(app.addr, "/fhir/metadata");
    assert!(answer.contains("CapabilityStatement"), "{answer}");

    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut sock = TcpStream::connect(app.addr).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    sock.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = Vec::new();
    let _ = sock.read_to_end(&mut buf);
    assert!(
        !String::from_utf8_lossy(&buf).contains("200 OK"),
        "plain HTTP was answered"
    );
}

#[test]
fn a_bad_key_or_certificate_stops_the_start_naming_the_file() {
    let data = tempfile::tempdir().unwrap();
    let db = TestDb::sqlite();
    let empty = data.path().join("empty.pem");
    std::fs::write(&empty, "not a key").unwrap();
    for (cert, key, expected) in [
        (testdata("cert.pem"), empty.clone(), "empty.pem"),
        (empty.clone(), testdata("key.pem"), "empty.pem"),
        (testdata("cert.pem"), testdata("missing.pem"), "missing.pem"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_huren"))
            .args(["serve", "--addr", "127.0.0.1:0", "--db", db.url()])
            .arg("--data-dir")
            .arg(data.path())
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{err}");
    }
    // Both or neither.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_huren"))
        .args(["serve", "--db", db.url(), "--tls-cert"])
        .arg(testdata("cert.pem"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--tls-key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
