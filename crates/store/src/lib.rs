//! Storage for huren on SQLite (bundled, WAL) and PostgreSQL through diesel. Implements core's
//! [`RegistryStore`] port.
//!
//! Architecture invariants:
//! - SQL lives here and nowhere else. Callers see core's domain values, never rows.
//! - One code path serves both databases: [`with_conn!`] expands the same diesel code once per
//!   backend, so batch inserts and upserts (which diesel's `MultiConnection` cannot express)
//!   are type-checked for each dialect.
//! - Every multi-row write is one transaction: a failed import leaves nothing behind.
//!
//! PostgreSQL goes through libpq built from source (`pq-sys/bundled`) with a vendored OpenSSL,
//! so the binary needs no system library at build or run time.

mod rows;
mod schema;

use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use huren_core::ports::{PortError, RegistryStore};
use huren_core::{CodeSystem, Concept, Release};
use rows::{ConceptRow, NewRelease, ReleaseRow};
use std::time::Duration;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Arbitrary constant key of the PostgreSQL advisory lock that serialises migrations when
/// several nodes start at once.
const MIGRATION_LOCK_KEY: i64 = 0x6875_7265_6e00; // "huren\0"

/// The crate's error type.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL `{0}`: use sqlite://PATH, a file path, or postgres://…")]
    BadUrl(String),
    #[error("cannot open the database: {0}")]
    Connect(String),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
}

impl From<StoreError> for PortError {
    fn from(e: StoreError) -> PortError {
        PortError::Backend(e.to_string())
    }
}

/// Which database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    Sqlite(String),
    Postgres(String),
}

impl DbUrl {
    /// `postgres://…` and `postgresql://…` are PostgreSQL; `sqlite://PATH`, `sqlite:PATH` and a
    /// bare path are SQLite. The backend is chosen from the scheme, never by trying each.
    pub fn parse(url: &str) -> Result<DbUrl, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DbUrl::Postgres(url.to_owned()))
        } else if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(StoreError::BadUrl(url.to_owned()));
            }
            Ok(DbUrl::Sqlite(path.to_owned()))
        } else if url.contains("://") || url.is_empty() {
            Err(StoreError::BadUrl(url.to_owned()))
        } else {
            Ok(DbUrl::Sqlite(url.to_owned()))
        }
    }
}

#[derive(Clone)]
enum Pools {
    Sqlite(Pool<ConnectionManager<SqliteConnection>>),
    Pg(Pool<ConnectionManager<PgConnection>>),
}

/// A connection pool to one database, SQLite or PostgreSQL.
#[derive(Clone)]
pub struct Store {
    pools: Pools,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.pools {
            Pools::Sqlite(_) => "Store(sqlite)",
            Pools::Pg(_) => "Store(postgres)",
        })
    }
}

/// Runs `$body` with `$conn` bound to a `&mut` pooled connection of whichever backend the
/// store uses. The body is compiled once per backend.
macro_rules! with_conn {
    ($store:expr, |$conn:ident| $body:expr) => {
        match &$store.pools {
            Pools::Sqlite(pool) => {
                let mut pooled = pool.get().map_err(|e| StoreError::Connect(e.to_string()))?;
                let $conn: &mut SqliteConnection = &mut pooled;
                $body
            }
            Pools::Pg(pool) => {
                let mut pooled = pool.get().map_err(|e| StoreError::Connect(e.to_string()))?;
                let $conn: &mut PgConnection = &mut pooled;
                $body
            }
        }
    };
}

/// Sets the pragmas every SQLite connection needs: WAL for concurrent readers, a busy timeout
/// instead of immediate `SQLITE_BUSY` errors, and enforced foreign keys.
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        use diesel::connection::SimpleConnection;
        conn.batch_execute(
            "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
             PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

impl Store {
    /// Opens a pool. SQLite files are created when missing.
    pub fn connect(url: &str) -> Result<Store, StoreError> {
        let connect_err = |e: diesel::r2d2::PoolError| StoreError::Connect(e.to_string());
        let pools = match DbUrl::parse(url)? {
            DbUrl::Sqlite(path) => {
                let pool = Pool::builder()
                    .max_size(8)
                    .connection_timeout(Duration::from_secs(10))
                    .connection_customizer(Box::new(SqlitePragmas))
                    .build(ConnectionManager::<SqliteConnection>::new(path))
                    .map_err(connect_err)?;
                Pools::Sqlite(pool)
            }
            DbUrl::Postgres(url) => {
                let pool = Pool::builder()
                    .max_size(16)
                    .connection_timeout(Duration::from_secs(10))
                    .build(ConnectionManager::<PgConnection>::new(url))
                    .map_err(connect_err)?;
                Pools::Pg(pool)
            }
        };
        Ok(Store { pools })
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self.pools {
            Pools::Sqlite(_) => "sqlite",
            Pools::Pg(_) => "postgres",
        }
    }

    /// Applies pending migrations and returns how many ran. On PostgreSQL an advisory lock
    /// makes concurrent starts safe: one node migrates, the others wait and then find nothing
    /// to do.
    pub fn migrate(&self) -> Result<usize, StoreError> {
        let mig =
            |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration(e.to_string());
        match &self.pools {
            Pools::Sqlite(pool) => {
                let mut conn = pool.get().map_err(|e| StoreError::Connect(e.to_string()))?;
                // An immediate transaction takes SQLite's write lock up front, so processes
                // starting together migrate one after the other.
                conn.immediate_transaction(|conn| {
                    Ok(conn
                        .run_pending_migrations(SQLITE_MIGRATIONS)
                        .map_err(mig)?
                        .len())
                })
            }
            Pools::Pg(pool) => {
                let mut conn = pool.get().map_err(|e| StoreError::Connect(e.to_string()))?;
                diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                    .execute(&mut *conn)?;
                let applied = conn.run_pending_migrations(PG_MIGRATIONS).map(|v| v.len());
                diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
                    .execute(&mut *conn)?;
                applied.map_err(mig)
            }
        }
    }

    fn releases_impl(&self) -> Result<Vec<Release>, StoreError> {
        use schema::releases::dsl as r;
        let rows: Vec<ReleaseRow> = with_conn!(self, |conn| r::releases
            .select(ReleaseRow::as_select())
            .order(r::id.asc())
            .load(conn)?);
        Ok(rows
            .into_iter()
            .filter_map(ReleaseRow::into_release)
            .collect())
    }

    fn insert_release_impl(
        &self,
        system: CodeSystem,
        label: &str,
        source: &str,
        concepts: &[Concept],
    ) -> Result<Result<Release, String>, StoreError> {
        use schema::releases::dsl as r;
        let imported_at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let new = NewRelease {
            system: system.as_str(),
            label,
            imported_at: &imported_at,
            source,
            concept_count: concepts.len() as i64,
        };
        // 20 columns per row; PostgreSQL allows 65,535 bind parameters per statement.
        const CHUNK: usize = 3000;
        with_conn!(self, |conn| conn.transaction(|conn| {
            let taken: i64 = r::releases
                .filter(r::system.eq(system.as_str()))
                .filter(r::label.eq(label))
                .count()
                .get_result(conn)?;
            if taken > 0 {
                return Ok(Err(format!(
                    "release `{label}` of {system} already exists; choose another --release label"
                )));
            }
            let row: ReleaseRow = diesel::insert_into(r::releases)
                .values(&new)
                .returning(ReleaseRow::as_returning())
                .get_result(conn)?;
            let rows: Vec<ConceptRow> = concepts
                .iter()
                .map(|c| ConceptRow::new(row.id, c))
                .collect();
            for chunk in rows.chunks(CHUNK) {
                diesel::insert_into(schema::concepts::table)
                    .values(chunk)
                    .execute(conn)?;
            }
            Ok::<_, StoreError>(
                row.into_release()
                    .ok_or_else(|| "unknown system".to_owned()),
            )
        }))
    }

    fn release_concepts_impl(&self, release_id: i64) -> Result<Vec<Concept>, StoreError> {
        use schema::concepts::dsl as c;
        let rows: Vec<ConceptRow> = with_conn!(self, |conn| c::concepts
            .filter(c::release_id.eq(release_id))
            .select(ConceptRow::as_select())
            .order(c::code.asc())
            .load(conn)?);
        Ok(rows.into_iter().map(ConceptRow::into_concept).collect())
    }

    fn concept_impl(&self, release_id: i64, code: &str) -> Result<Option<Concept>, StoreError> {
        use schema::concepts::dsl as c;
        let row: Option<ConceptRow> = with_conn!(self, |conn| c::concepts
            .filter(c::release_id.eq(release_id))
            .filter(c::code.eq(code))
            .select(ConceptRow::as_select())
            .first(conn)
            .optional()?);
        Ok(row.map(ConceptRow::into_concept))
    }
}

impl RegistryStore for Store {
    fn releases(&self) -> Result<Vec<Release>, PortError> {
        Ok(self.releases_impl()?)
    }

    fn insert_release(
        &self,
        system: CodeSystem,
        label: &str,
        source: &str,
        concepts: &[Concept],
    ) -> Result<Release, PortError> {
        self.insert_release_impl(system, label, source, concepts)?
            .map_err(PortError::Conflict)
    }

    fn release_concepts(&self, release_id: i64) -> Result<Vec<Concept>, PortError> {
        Ok(self.release_concepts_impl(release_id)?)
    }

    fn concept(&self, release_id: i64, code: &str) -> Result<Option<Concept>, PortError> {
        Ok(self.concept_impl(release_id, code)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend_from_the_scheme() {
        assert_eq!(
            DbUrl::parse("huren.db").unwrap(),
            DbUrl::Sqlite("huren.db".into())
        );
        assert_eq!(
            DbUrl::parse("sqlite:///tmp/x.db").unwrap(),
            DbUrl::Sqlite("/tmp/x.db".into())
        );
        assert_eq!(
            DbUrl::parse("sqlite:x.db").unwrap(),
            DbUrl::Sqlite("x.db".into())
        );
        assert!(matches!(
            DbUrl::parse("postgres://u@h/db"),
            Ok(DbUrl::Postgres(_))
        ));
        assert!(matches!(
            DbUrl::parse("postgresql://u@h/db"),
            Ok(DbUrl::Postgres(_))
        ));
        for bad in ["mysql://x", "", "sqlite://", "postgre://x"] {
            assert!(DbUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
