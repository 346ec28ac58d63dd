//! Settings: defaults in code, overridden by `HUREN_…` environment variables, overridden by
//! command-line flags (clap reads both). Secrets are wrapped so they never print.

use std::path::PathBuf;

/// The default canonical base of huren's URLs (a reserved documentation domain).
pub const DEFAULT_CANONICAL_BASE: &str = "http://huren.example/fhir";

/// A secret string whose `Debug` does not show it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `sqlite://PATH`, a path, or `postgres://…`.
    pub db: String,
    /// `HOST:PORT`; port 0 picks a free port (tests).
    pub addr: String,
    /// Base of canonical URLs (`HUREN_CANONICAL_BASE`).
    pub canonical_base: String,
    /// HS256 secret (`HUREN_JWT_SECRET`); when `None`, one is created in `data_dir`.
    pub jwt_secret: Option<Secret>,
    /// Where generated files (the development JWT secret) live.
    pub data_dir: PathBuf,
    /// HTTP worker threads; `None` means one per core.
    pub workers: Option<usize>,
    /// How often, in milliseconds, to check the database for what another node or process
    /// changed (releases, mappings, hospitals) and for due jobs (`--refresh-ms`).
    pub refresh_ms: u64,
    /// This node's name in job claims (`--node-id`; default host name and process id).
    pub node_id: Option<String>,
    /// How often the hash chains are verified by a scheduled job, in hours; 0: never
    /// (`--verify-every-hours`).
    pub verify_every_hours: u64,
    /// The most database connections this node opens (`--db-pool`; default 8 on SQLite, 16
    /// on PostgreSQL).
    pub db_pool: Option<u32>,
    /// Load the national and LOINC seed on first start.
    pub seed: bool,
    /// Whoever proposed a mapping may not approve it (`HUREN_TWO_PERSON_RULE`, default on).
    pub two_person_rule: bool,
    /// Where the MLLP listener binds (`--mllp-addr`); `None` (the default) runs none.
    pub mllp_addr: Option<String>,
    /// MLLP sending facility (MSH-4) → hospital.
    pub facilities: Vec<(String, huren_core::HospitalId)>,
    /// The identifier system of national patient identifiers.
    pub national_id_system: String,
    /// How EQA events are scored for recognition (`--eqa-…`).
    pub eqa: huren_core::qc::EqaPolicy,
    /// How much one request may carry (`--max-body-mb`, `--max-bundle-entries`,
    /// `--max-csv-rows`).
    pub limits: huren_http::Limits,
    /// A PEM public key (RSA or P-256) tokens may be signed for (`HUREN_JWT_PUBLIC_KEY`).
    pub jwt_public_key: Option<PathBuf>,
    /// A JWKS file of the identity provider's keys, read again when it changes
    /// (`HUREN_JWT_JWKS`).
    pub jwt_jwks: Option<PathBuf>,
    /// Clock skew, `iss` and `aud` checks of tokens.
    pub jwt_rules: huren_http::auth::TokenRules,
    /// Serve HTTPS with this PEM certificate chain and private key (`--tls-cert`,
    /// `--tls-key`); plain HTTP when `None`.
    pub tls: Option<(PathBuf, PathBuf)>,
}

impl Settings {
    /// The defaults of a newcomer's `huren serve`.
    pub fn new(db: impl Into<String>) -> Settings {
        Settings {
            db: db.into(),
            addr: "127.0.0.1:8080".into(),
            canonical_base: DEFAULT_CANONICAL_BASE.into(),
            jwt_secret: None,
            data_dir: PathBuf::from("huren-data"),
            workers: None,
            refresh_ms: 250,
            node_id: None,
            verify_every_hours: 24,
            db_pool: None,
            seed: true,
            two_person_rule: true,
            mllp_addr: None,
            facilities: Vec::new(),
            national_id_system: huren_http::ingest::DEFAULT_NATIONAL_ID_SYSTEM.into(),
            eqa: huren_core::qc::EqaPolicy::default(),
            limits: huren_http::Limits::default(),
            jwt_public_key: None,
            jwt_jwks: None,
            jwt_rules: huren_http::auth::TokenRules::default(),
            tls: None,
        }
    }
}

/// Reads one `--mllp-facility` value, `FACILITY=HOSPITAL`: an MSH-4 sending facility
/// (namespace ID or universal ID, as the LIS sends it) and the id of the hospital it is.
pub fn parse_facility(s: &str) -> Result<(String, huren_core::HospitalId), String> {
    let (facility, hospital) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not FACILITY=HOSPITAL (e.g. BJCH-LIS=hosp-a)"))?;
    let facility = facility.trim();
    if facility.is_empty() {
        return Err(format!("`{s}` names no facility before `=`"));
    }
    let hospital = huren_core::HospitalId::parse(hospital.trim()).map_err(|e| e.to_string())?;
    Ok((facility.to_owned(), hospital))
}

/// The development secret: `HUREN_JWT_SECRET` if set, else the one stored in `data_dir`,
/// created (random, 256 bits, file mode 0600) on first use. Returns the secret and whether it
/// was just created.
pub fn jwt_secret(
    configured: Option<&Secret>,
    data_dir: &std::path::Path,
) -> anyhow::Result<(Secret, bool)> {
    use anyhow::Context;
    use rand::Rng;
    if let Some(s) = configured {
        anyhow::ensure!(
            s.expose().len() >= 16,
            "HUREN_JWT_SECRET must be at least 16 characters"
        );
        return Ok((s.clone(), false));
    }
    let path = data_dir.join("jwt-secret");
    if let Ok(s) = std::fs::read_to_string(&path) {
        let s = s.trim().to_owned();
        anyhow::ensure!(!s.is_empty(), "{} is empty", path.display());
        return Ok((Secret::new(s), false));
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let bytes: [u8; 32] = rand::rng().random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private(&path, &hex).with_context(|| format!("cannot write {}", path.display()))?;
    Ok((Secret::new(hex), true))
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(content.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    std::fs::write(path, content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (a, created) = jwt_secret(None, dir.path()).unwrap();
        assert!(created);
        assert_eq!(a.expose().len(), 64);
        let (b, created) = jwt_secret(None, dir.path()).unwrap();
        assert!(!created);
        assert_eq!(a.expose(), b.expose());
        assert_eq!(format!("{a:?}"), "Secret(…)");
    }

    #[test]
    fn facilities_read_as_facility_equals_hospital() {
        let (f, h) = parse_facility(" HOSP-A-LIS = hosp-a").unwrap();
        assert_eq!((f.as_str(), h.as_str()), ("HOSP-A-LIS", "hosp-a"));
        let (f, _) = parse_facility("1.2.156.112604=hosp-b").unwrap();
        assert_eq!(f, "1.2.156.112604");
        assert!(
            parse_facility("HOSP-A-LIS")
                .unwrap_err()
                .contains("FACILITY=HOSPITAL")
        );
        assert!(parse_facility("=hosp-a").is_err());
        assert!(
            parse_facility("LIS=Hosp A")
                .unwrap_err()
                .contains("hospital id")
        );
    }

    #[test]
    fn a_short_configured_secret_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(jwt_secret(Some(&Secret::new("short")), dir.path()).is_err());
    }
}
