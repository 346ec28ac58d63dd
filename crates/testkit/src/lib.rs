//! Test support for huren (dev-only): a fresh database per test on SQLite and, when
//! `HUREN_TEST_PG_URL` is set, on PostgreSQL; JWTs for every role; paths to fixtures.
//!
//! Tests never share state: each [`TestDb`] is a new SQLite file in a temporary directory or a
//! new PostgreSQL schema, dropped when the value is dropped.

pub mod browser;
pub mod fhir_schema;
pub mod loinc_table;
pub mod mapping_table;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use rand::Rng;
use std::path::PathBuf;

/// The environment variable naming the PostgreSQL server for tests (CI sets it).
pub const PG_URL_VAR: &str = "HUREN_TEST_PG_URL";

/// A database that exists for one test.
pub enum TestDb {
    Sqlite {
        dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        admin_url: String,
        schema: String,
        url: String,
    },
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TestDb({})", self.url())
    }
}

impl TestDb {
    /// A new SQLite file in a fresh temporary directory.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("huren.db").display());
        TestDb::Sqlite { dir, url }
    }

    /// A new schema on the PostgreSQL server of `HUREN_TEST_PG_URL`, or `None` when the
    /// variable is unset (then PostgreSQL tests are skipped, and say so).
    pub fn postgres() -> Option<TestDb> {
        let admin_url = std::env::var(PG_URL_VAR).ok().filter(|s| !s.is_empty())?;
        let schema = format!("huren_test_{:016x}", rand::rng().random::<u64>());
        let mut conn = PgConnection::establish(&admin_url)
            .unwrap_or_else(|e| panic!("{PG_URL_VAR}={admin_url} is set but unreachable: {e}"));
        conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
            .expect("create test schema");
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{sep}options=-csearch_path%3D{schema}");
        Some(TestDb::Postgres {
            admin_url,
            schema,
            url,
        })
    }

    /// One database per backend available here: SQLite always, PostgreSQL when configured.
    pub fn all() -> Vec<TestDb> {
        let mut dbs = vec![TestDb::sqlite()];
        match TestDb::postgres() {
            Some(pg) => dbs.push(pg),
            None => eprintln!("note: {PG_URL_VAR} is not set; skipping PostgreSQL"),
        }
        dbs
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, TestDb::Postgres { .. })
    }

    /// Runs raw SQL on this database (for tests that tamper with stored rows).
    pub fn execute(&self, sql: &str) {
        match self {
            TestDb::Sqlite { dir, .. } => {
                let path = dir.path().join("huren.db");
                let mut conn = diesel::SqliteConnection::establish(&path.to_string_lossy())
                    .expect("open sqlite");
                conn.batch_execute(sql).expect("execute sql");
            }
            TestDb::Postgres { url, .. } => {
                let mut conn = PgConnection::establish(url).expect("connect postgres");
                conn.batch_execute(sql).expect("execute sql");
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres {
            admin_url, schema, ..
        } = self
            && let Ok(mut conn) = PgConnection::establish(admin_url)
        {
            // Best effort: a schema left behind only costs disk in a test database.
            let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// The HS256 secret tests use.
pub const TEST_SECRET: &str = "huren-test-secret-not-for-production";

/// A signed HS256 token for `role` (and `hospital`), valid for an hour.
pub fn token(role: &str, hospital: Option<&str>) -> String {
    token_with(TEST_SECRET, role, hospital, 3600)
}

/// A signed HS256 token with a given secret and lifetime in seconds (negative: expired).
pub fn token_with(secret: &str, role: &str, hospital: Option<&str>, ttl_secs: i64) -> String {
    token_for(secret, &format!("test-{role}"), role, hospital, ttl_secs)
}

/// A token for subject `sub` (two curators of one hospital differ only by subject).
pub fn token_for(
    secret: &str,
    sub: &str,
    role: &str,
    hospital: Option<&str>,
    ttl_secs: i64,
) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64;
    let mut claims = serde_json::json!({
        "sub": sub,
        "role": role,
        "iat": now,
        "exp": now + ttl_secs,
    });
    if let Some(h) = hospital {
        claims["hospital"] = h.into();
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign token")
}

/// The repository root (for `code-tables/`, `mappings/` and test fixtures).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/testkit is two levels below the root")
        .to_path_buf()
}
