//! Storage for huren on SQLite (bundled, WAL) and PostgreSQL through diesel. Implements core's
//! [`RegistryStore`], [`HospitalStore`], [`MappingStore`], [`ObservationStore`] and
//! [`huren_core::ports::QualityStore`] ports.
//!
//! Architecture invariants:
//! - SQL lives here and nowhere else. Callers see core's domain values, never rows.
//! - One code path serves both databases: [`with_conn!`] expands the same diesel code once per
//!   backend, so batch inserts and upserts (which diesel's `MultiConnection` cannot express)
//!   are type-checked for each dialect.
//!   The one exception is the bulk write of mappings on PostgreSQL, which binds arrays instead of
//!   a `VALUES` list because that is twice as fast there (see `bulk`).
//! - Every multi-row write is one transaction: a failed import leaves nothing behind.
//!
//! PostgreSQL goes through libpq built from source (`pq-sys/bundled`) with a vendored OpenSSL,
//! so the binary needs no system library at build or run time.

mod bulk;
mod cache;
mod integrity;
mod jobs;
mod ledger;
mod packed;
mod rows;
mod schema;

use bulk::{BulkWrite, rows_per_statement};
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::upsert::excluded;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use huren_core::audit::{AuditAction, AuditContext};
use huren_core::integrity::{LinkKind, change_digest, mapping_digest};
use huren_core::jobs::{ASKER_FIRST_MS, JobKind};
use huren_core::mapping::MappingChange;
use huren_core::observation::{
    ObservationQuery, StoredObservation, UnmappedCode, UnmappedSighting, WriteOutcome,
};
use huren_core::ports::{HospitalStore, MappingStore, ObservationStore, PortError, RegistryStore};
use huren_core::{CodeSystem, Concept, Hospital, HospitalId, Mapping, MappingStatus, Release};
use ledger::{Ledger, NewAudit};
use rows::{
    ConceptRow, HistoryRow, HospitalRow, MappingRow, NewHistory, NewHospital, NewMapping,
    NewRelease, ReleaseRow,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Arbitrary constant key of the PostgreSQL advisory lock that serialises migrations when
/// several nodes start at once.
const MIGRATION_LOCK_KEY: i64 = 0x6875_7265_6e00; // "huren\0"

/// The PostgreSQL advisory lock a starting node holds while it migrates and seeds
/// ([`Store::while_starting`]).
const START_LOCK_KEY: i64 = 0x6875_7265_6e02; // "huren\2"

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
    /// The write contradicts what is stored (checked by the store, not by a constraint).
    #[error("{0}")]
    Conflict(String),
}

impl From<StoreError> for PortError {
    fn from(e: StoreError) -> PortError {
        PortError::Backend(e.to_string())
    }
}

impl StoreError {
    /// Whether the database refused the write for breaking a foreign key or a CHECK constraint:
    /// the write contradicts what is stored rather than the storage failing.
    fn violated_constraint(&self) -> Option<&str> {
        match self {
            StoreError::Query(DieselError::DatabaseError(
                DatabaseErrorKind::ForeignKeyViolation | DatabaseErrorKind::CheckViolation,
                info,
            )) => Some(info.message()),
            _ => None,
        }
    }
}

/// Maps a conflict or a constraint violation to [`PortError::Conflict`] and anything else to
/// [`PortError::Backend`].
fn port_error(e: StoreError) -> PortError {
    if let StoreError::Conflict(message) = e {
        return PortError::Conflict(message);
    }
    match e.violated_constraint() {
        Some(message) => PortError::Conflict(format!("the database refused the write: {message}")),
        None => e.into(),
    }
}

/// Unix milliseconds now.
fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The items of `items` that are the last with their key, in their original order. A batch
/// upsert must not name one key twice (PostgreSQL refuses to update a row twice in one
/// statement), and "insert or replace each in turn" means the last one wins.
fn last_per_key<'a, T, K: std::hash::Hash + Eq>(
    items: &'a [T],
    key: impl Fn(&'a T) -> K,
) -> Vec<&'a T> {
    let mut last: HashMap<K, usize> = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        last.insert(key(item), i);
    }
    if last.len() == items.len() {
        return items.iter().collect();
    }
    items
        .iter()
        .enumerate()
        .filter(|&(i, item)| last.get(&key(item)) == Some(&i))
        .map(|(_, item)| item)
        .collect()
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

/// A connection pool to one database, SQLite or PostgreSQL, and who its writes are recorded
/// as done by ([`Store::acting_as`]).
#[derive(Clone)]
pub struct Store {
    pools: Pools,
    context: Arc<AuditContext>,
    /// Each hospital's mappings in memory (`cache`), shared by every clone.
    mappings: Arc<cache::MappingCache>,
    /// Every hospital in memory (`cache`).
    hospitals: Arc<cache::HospitalCache>,
    /// SQLite: this process's writers queue here, one at a time, before they take a
    /// connection (see [`with_write_conn!`]); the checkpoint takes it to truncate the WAL.
    write_gate: Arc<std::sync::Mutex<()>>,
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

pub(crate) use with_conn;

/// [`with_conn!`] for a write transaction. On SQLite the writers of this process first queue on
/// the store's write gate: SQLite has one writer at a time anyway, and its busy handler (sleep
/// and retry) both wastes time under load and lets the WAL checkpoint starve behind a steady
/// stream of writers ([`Store::checkpoint`] takes the gate). Other processes (the command line
/// next to a server) still meet the busy timeout. PostgreSQL: no gate.
macro_rules! with_write_conn {
    ($store:expr, |$conn:ident| $body:expr) => {{
        let _gate = $store.write_gate();
        crate::with_conn!($store, |$conn| $body)
    }};
}

pub(crate) use with_write_conn;

/// Bumps the `mapping_versions` row of `$key` (a hospital id, or [`cache::HOSPITALS_KEY`]) in
/// the transaction of `$conn`: other nodes drop their in-memory copy at their next refresh.
macro_rules! bump_version {
    ($conn:ident, $key:expr) => {{
        use crate::schema::mapping_versions::dsl as v;
        diesel::insert_into(v::mapping_versions)
            .values((v::hospital_id.eq($key), v::version.eq(1i64)))
            .on_conflict(v::hospital_id)
            .do_update()
            .set(v::version.eq(v::version + 1))
            .execute($conn)?;
    }};
}

mod observations;
mod quality;

/// Sets the pragmas every SQLite connection needs: WAL for concurrent readers, a busy timeout
/// instead of immediate `SQLITE_BUSY` errors, enforced foreign keys, a 16 MiB page cache
/// (the 2 MiB default makes a 100k-row import thrash the indexes of a large table; 64 MiB on
/// each of the pool's 8 connections took the server past 780 MB during a 1M-result ingest), and a
/// 64 MiB limit to which the WAL file is truncated after a checkpoint resets it (see
/// [`Store::checkpoint`]). With `auto_checkpoint` off, SQLite's automatic checkpoint is too
/// ([`Store::connect_checkpointing`]).
#[derive(Debug)]
struct SqlitePragmas {
    auto_checkpoint: bool,
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        use diesel::connection::SimpleConnection;
        conn.batch_execute(
            "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
             PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
             PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY; \
             PRAGMA journal_size_limit = 67108864;",
        )
        .map_err(diesel::r2d2::Error::QueryError)?;
        if !self.auto_checkpoint {
            conn.batch_execute("PRAGMA wal_autocheckpoint = 0;")
                .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

impl Store {
    /// Opens a pool of the default size. SQLite files are created when missing.
    pub fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_with(url, None)
    }

    /// Opens a pool of at most `max_connections` connections (default: 8 on SQLite, 16 on
    /// PostgreSQL), of which two are opened at once and the rest when load asks for them.
    /// Several nodes on one PostgreSQL server share its `max_connections` (100 by default):
    /// nodes × pool size must stay below it (`docs/deployment.md`).
    pub fn connect_with(url: &str, max_connections: Option<u32>) -> Result<Store, StoreError> {
        Store::open(url, max_connections, true)
    }

    /// As [`Store::connect_with`], for a process that calls [`Store::checkpoint`] itself, often
    /// (`huren serve`, four times a second). SQLite's automatic checkpoint is switched off on
    /// this pool's connections: it ran inside the commit that took the WAL past 1,000 pages,
    /// so that writer copied the WAL back into the database while it held the write lock, and
    /// every other writer waited (a fifth of the ingest's time under the lock). Without it,
    /// only [`Store::checkpoint`] copies the WAL back, next to the writers. A process that
    /// does not call it must use [`Store::connect_with`], or its WAL grows without bound.
    pub fn connect_checkpointing(
        url: &str,
        max_connections: Option<u32>,
    ) -> Result<Store, StoreError> {
        Store::open(url, max_connections, false)
    }

    fn open(
        url: &str,
        max_connections: Option<u32>,
        auto_checkpoint: bool,
    ) -> Result<Store, StoreError> {
        let connect_err = |e: diesel::r2d2::PoolError| StoreError::Connect(e.to_string());
        let size = |default: u32| max_connections.unwrap_or(default).max(1);
        let pools = match DbUrl::parse(url)? {
            DbUrl::Sqlite(path) => {
                let pool = Pool::builder()
                    .max_size(size(8))
                    .min_idle(Some(size(8).min(2)))
                    .connection_timeout(Duration::from_secs(10))
                    .connection_customizer(Box::new(SqlitePragmas { auto_checkpoint }))
                    .build(ConnectionManager::<SqliteConnection>::new(path))
                    .map_err(connect_err)?;
                Pools::Sqlite(pool)
            }
            DbUrl::Postgres(url) => {
                let pool = Pool::builder()
                    // Two at least: `while_starting` holds one while the start uses another.
                    .max_size(size(16).max(2))
                    .min_idle(Some(2))
                    .connection_timeout(Duration::from_secs(10))
                    .build(ConnectionManager::<PgConnection>::new(url))
                    .map_err(connect_err)?;
                Pools::Pg(pool)
            }
        };
        Ok(Store {
            pools,
            context: Arc::new(AuditContext::service()),
            mappings: Arc::default(),
            hospitals: Arc::default(),
            write_gate: Arc::default(),
        })
    }

    /// The same database, with every write recorded in the audit trail as done in `context`
    /// (in the write's own transaction). A new store is the service itself (`huren`).
    pub fn acting_as(&self, context: AuditContext) -> Store {
        Store {
            pools: self.pools.clone(),
            context: Arc::new(context),
            mappings: self.mappings.clone(),
            hospitals: self.hospitals.clone(),
            write_gate: self.write_gate.clone(),
        }
    }

    /// SQLite: when the WAL file is larger than `passive_above` bytes, copies it back into the
    /// database next to the writers (a passive checkpoint); when it is larger than
    /// `truncate_above`, then also checkpoints it fully and truncates it. SQLite's automatic
    /// checkpoints are passive: under a steady stream of writes they never reset the WAL, which
    /// then grows without bound (14 GB during a 1M-result ingest), and a `TRUNCATE` checkpoint
    /// competing with the writers through the busy handler kept losing (the WAL passed 600 MB).
    /// So: a passive checkpoint first, next to the writers, copies most frames back (once it
    /// has copied all of them, the next writer starts the WAL from its beginning again); then,
    /// over `truncate_above`, holding the write gate (this process's writers wait) a `TRUNCATE`
    /// checkpoint copies the rest and empties the file, waiting only for readers to move to the
    /// newest snapshot, and for a quarter second at most (then it retries at the next call).
    /// The server calls this four times a second ([`Store::connect_checkpointing`]).
    /// Returns the WAL's size before, in bytes, when it checkpointed; PostgreSQL: `None`.
    pub fn checkpoint(
        &self,
        passive_above: u64,
        truncate_above: u64,
    ) -> Result<Option<u64>, StoreError> {
        let Pools::Sqlite(pool) = &self.pools else {
            return Ok(None);
        };
        let mut conn = pool.get().map_err(|e| StoreError::Connect(e.to_string()))?;
        #[derive(QueryableByName)]
        struct File {
            #[diesel(sql_type = diesel::sql_types::Text)]
            file: String,
        }
        let main: Vec<File> =
            diesel::sql_query("SELECT file FROM pragma_database_list WHERE name = 'main'")
                .load(&mut *conn)?;
        let Some(path) = main
            .first()
            .map(|f| f.file.clone())
            .filter(|f| !f.is_empty())
        else {
            return Ok(None);
        };
        let size = std::fs::metadata(format!("{path}-wal")).map_or(0, |m| m.len());
        if size <= passive_above.min(truncate_above) {
            return Ok(None);
        }
        #[derive(QueryableByName)]
        struct Checkpoint {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            busy: i32,
        }
        diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").load::<Checkpoint>(&mut *conn)?;
        if size <= truncate_above {
            return Ok(Some(size));
        }
        let done: Vec<Checkpoint> = {
            let _gate = self.write_gate();
            // Writers wait while this holds the gate: wait for readers a quarter second at most
            // (a long read, such as a chain verification, makes it retry next time instead).
            diesel::sql_query("PRAGMA busy_timeout = 250").execute(&mut *conn)?;
            let done = diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)").load(&mut *conn);
            diesel::sql_query("PRAGMA busy_timeout = 10000").execute(&mut *conn)?;
            done?
        };
        if done.first().is_some_and(|c| c.busy != 0) {
            // A reader (or another process's writer) stayed through the busy timeout: the next
            // call retries.
            tracing::warn!(wal_bytes = size, "WAL checkpoint busy; retrying later");
        }
        Ok(Some(size))
    }

    /// SQLite: this process's turn to write (see [`with_write_conn!`]); PostgreSQL: `None`.
    fn write_gate(&self) -> Option<std::sync::MutexGuard<'_, ()>> {
        match self.pools {
            Pools::Sqlite(_) => Some(
                self.write_gate
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            ),
            Pools::Pg(_) => None,
        }
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
    ///
    /// Rows stored before the hash chains existed are chained once, right after the migration
    /// that added them (trust on first use: what was in the database then is taken as it was).
    pub fn migrate(&self) -> Result<usize, StoreError> {
        let applied = self.migrate_schema()?;
        let chained = self.backfill_chains()?;
        if chained > 0 {
            eprintln!("huren: chained {chained} stored result versions and mapping changes");
        }
        Ok(applied)
    }

    /// Runs `start` (migrations, then the first start's seed) while no other node runs its
    /// own: on PostgreSQL under a session advisory lock held on a connection of its own, so
    /// that nodes started together on an empty database seed it once (the first seeds, the
    /// others wait and find it seeded). On SQLite, where the nodes of one file are the
    /// processes of one machine, `start` simply runs.
    pub fn while_starting<T>(&self, start: impl FnOnce() -> T) -> Result<T, StoreError> {
        match &self.pools {
            Pools::Sqlite(_) => Ok(start()),
            Pools::Pg(pool) => {
                let mut conn = pool.get().map_err(|e| StoreError::Connect(e.to_string()))?;
                diesel::sql_query(format!("SELECT pg_advisory_lock({START_LOCK_KEY})"))
                    .execute(&mut *conn)?;
                let out = start();
                diesel::sql_query(format!("SELECT pg_advisory_unlock({START_LOCK_KEY})"))
                    .execute(&mut *conn)?;
                Ok(out)
            }
        }
    }

    fn migrate_schema(&self) -> Result<usize, StoreError> {
        /// A row of SQLite's `PRAGMA foreign_key_check`.
        #[derive(QueryableByName)]
        struct ForeignKeyViolation {
            #[diesel(sql_type = diesel::sql_types::Text)]
            table: String,
            #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
            rowid: Option<i64>,
            #[diesel(sql_type = diesel::sql_types::Text)]
            parent: String,
        }
        let mig =
            |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration(e.to_string());
        match &self.pools {
            Pools::Sqlite(pool) => {
                let mut conn = pool.get().map_err(|e| StoreError::Connect(e.to_string()))?;
                // Foreign keys off while migrating, as SQLite's procedure for schema changes
                // that rebuild a table asks (a dropped parent table would otherwise cascade
                // into its children); checked before the commit instead. The pragma does
                // nothing inside a transaction, so it is set around it.
                diesel::sql_query("PRAGMA foreign_keys = OFF").execute(&mut *conn)?;
                // An immediate transaction takes SQLite's write lock up front, so processes
                // starting together migrate one after the other.
                let applied = conn.immediate_transaction(|conn| {
                    let applied = conn
                        .run_pending_migrations(SQLITE_MIGRATIONS)
                        .map_err(mig)?
                        .len();
                    if applied == 0 {
                        return Ok(0);
                    }
                    let broken: Vec<ForeignKeyViolation> =
                        diesel::sql_query("PRAGMA foreign_key_check").load(conn)?;
                    if let Some(v) = broken.first() {
                        return Err(StoreError::Migration(format!(
                            "{} rows refer to rows that do not exist after the migrations \
                             (the first: row {} of `{}`, to `{}`); nothing was changed",
                            broken.len(),
                            v.rowid.map_or_else(|| "?".to_owned(), |r| r.to_string()),
                            v.table,
                            v.parent
                        )));
                    }
                    Ok(applied)
                });
                // Back on for the pooled connection whatever happened; the migrations' own
                // error, if any, is the one to report.
                let restored = diesel::sql_query("PRAGMA foreign_keys = ON").execute(&mut *conn);
                let applied = applied?;
                restored?;
                Ok(applied)
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
        with_write_conn!(self, |conn| conn.transaction(|conn| {
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
            let mut audit = self.record("release", AuditAction::Create);
            audit.entities = vec![format!("Release/{system}/{label}")];
            audit.description = format!(
                "release `{label}` of {system} from {source}: {} concepts",
                concepts.len()
            );
            conn.insert_audit(&NewAudit::new(&audit))?;
            // Results kept under LOINC codes this release may now know are normalized again
            // by whichever node claims this job once its catalog holds the release.
            jobs::enqueue_job!(conn, JobKind::ReleaseGaps, "", now_millis());
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

/// Hospitals and mappings.
impl Store {
    fn upsert_hospital_impl(&self, hospital: &Hospital) -> Result<bool, StoreError> {
        use schema::hospitals::dsl as h;
        let now = now_millis();
        let new = NewHospital::new(hospital, now);
        let created = with_write_conn!(self, |conn| conn.transaction(|conn| {
            // Insert-or-nothing first, so the answer "was it new" comes from the database itself
            // even when two callers create the same hospital at once.
            let created = diesel::insert_into(h::hospitals)
                .values(&new)
                .on_conflict_do_nothing()
                .execute(conn)?
                == 1;
            if !created {
                diesel::update(h::hospitals.find(new.id))
                    .set((
                        h::name.eq(new.name),
                        h::province.eq(new.province),
                        h::city.eq(new.city),
                        h::level.eq(new.level),
                        h::alliances.eq(&new.alliances),
                        h::iqc_rules.eq(new.iqc_rules),
                        h::harmonized_intervals.eq(new.harmonized_intervals),
                        h::accreditation.eq(new.accreditation),
                        h::accredited_until.eq(new.accredited_until),
                        h::updated_at.eq(now),
                    ))
                    .execute(conn)?;
            }
            let action = if created {
                AuditAction::Create
            } else {
                AuditAction::Update
            };
            let mut audit = self.record("hospital", action);
            audit.entities = vec![format!("Hospital/{}", hospital.id.as_str())];
            audit.site = Some(hospital.id.clone());
            conn.insert_audit(&NewAudit::new(&audit))?;
            bump_version!(conn, cache::HOSPITALS_KEY);
            Ok::<_, StoreError>(created)
        }));
        self.hospitals.invalidate();
        created
    }

    fn upsert_hospitals_impl(&self, hospitals: &[Hospital]) -> Result<(), StoreError> {
        use schema::hospitals::dsl as h;
        let now = now_millis();
        let rows: Vec<NewHospital> = last_per_key(hospitals, |x| x.id.as_str())
            .into_iter()
            .map(|x| NewHospital::new(x, now))
            .collect();
        let written = with_write_conn!(self, |conn| conn.transaction(|conn| {
            for rows in rows.chunks(rows_per_statement(NewHospital::COLUMNS)) {
                diesel::insert_into(h::hospitals)
                    .values(rows)
                    .on_conflict(h::id)
                    .do_update()
                    .set((
                        h::name.eq(excluded(h::name)),
                        h::province.eq(excluded(h::province)),
                        h::city.eq(excluded(h::city)),
                        h::level.eq(excluded(h::level)),
                        h::alliances.eq(excluded(h::alliances)),
                        h::iqc_rules.eq(excluded(h::iqc_rules)),
                        h::harmonized_intervals.eq(excluded(h::harmonized_intervals)),
                        h::accreditation.eq(excluded(h::accreditation)),
                        h::accredited_until.eq(excluded(h::accredited_until)),
                        h::updated_at.eq(excluded(h::updated_at)),
                    ))
                    .execute(conn)?;
            }
            let mut audit = self.record("hospital", AuditAction::Update);
            audit.entities = rows.iter().map(|h| format!("Hospital/{}", h.id)).collect();
            audit.description = format!("{} hospitals created or updated", rows.len());
            conn.insert_audit(&NewAudit::new(&audit))?;
            bump_version!(conn, cache::HOSPITALS_KEY);
            Ok::<_, StoreError>(())
        }));
        self.hospitals.invalidate();
        written
    }

    /// Every hospital, from memory, or read (with its version, in one snapshot) and kept.
    fn hospital_table(&self) -> Result<Arc<Vec<Hospital>>, StoreError> {
        if let Some((version, t)) = self.hospitals.get_versioned() {
            // Another node may have changed them since this node's last refresh: a read
            // through the port sees every committed write (one primary-key read).
            if self.stored_version(cache::HOSPITALS_KEY)? == version {
                return Ok(t);
            }
            self.hospitals.invalidate();
        }
        use schema::hospitals::dsl as h;
        use schema::mapping_versions::dsl as v;
        let epoch = self.hospitals.epoch();
        let (version, rows) = with_write_conn!(self, |conn| conn.transaction(|conn| {
            let version: Option<i64> = v::mapping_versions
                .find(cache::HOSPITALS_KEY)
                .select(v::version)
                .first(conn)
                .optional()?;
            let rows: Vec<HospitalRow> = h::hospitals
                .select(HospitalRow::as_select())
                .order(h::id.asc())
                .load(conn)?;
            Ok::<_, StoreError>((version.unwrap_or(0), rows))
        }))?;
        let table = Arc::new(
            rows.into_iter()
                .filter_map(HospitalRow::into_hospital)
                .collect::<Vec<_>>(),
        );
        self.hospitals.put(version, table.clone(), epoch);
        Ok(table)
    }

    fn hospitals_impl(&self) -> Result<Vec<Hospital>, StoreError> {
        Ok(self.hospital_table()?.as_ref().clone())
    }

    fn hospital_impl(&self, id: &HospitalId) -> Result<Option<Hospital>, StoreError> {
        Ok(self.hospital_table()?.iter().find(|h| &h.id == id).cloned())
    }

    /// The hospital's mapping table, from memory, or read whole (with its version, in one
    /// snapshot) and kept.
    fn mapping_table(&self, hospital: &HospitalId) -> Result<Arc<cache::Table>, StoreError> {
        if let Some(t) = self.mappings.get(hospital.as_str()) {
            // As for hospitals: a curator's review or an ingest on this node uses what another
            // node committed a moment ago, not what this node last refreshed. Only the
            // `*_in_memory` reads (terminology answers) skip this check.
            if self.stored_version(hospital.as_str())? == t.version {
                return Ok(t);
            }
            self.mappings.invalidate([hospital.as_str()]);
        }
        use schema::mapping_versions::dsl as v;
        use schema::mappings::dsl as m;
        let epoch = self.mappings.epoch();
        let (version, rows) = with_write_conn!(self, |conn| conn.transaction(|conn| {
            let version: Option<i64> = v::mapping_versions
                .find(hospital.as_str())
                .select(v::version)
                .first(conn)
                .optional()?;
            let rows: Vec<MappingRow> = m::mappings
                .filter(m::hospital_id.eq(hospital.as_str()))
                .select(MappingRow::as_select())
                .load(conn)?;
            Ok::<_, StoreError>((version.unwrap_or(0), rows))
        }))?;
        let table = Arc::new(cache::Table::new(
            version,
            rows.into_iter()
                .filter_map(MappingRow::into_mapping)
                .collect(),
        ));
        self.mappings.put(hospital.as_str(), table.clone(), epoch);
        Ok(table)
    }

    /// The stored version of a hospital's mappings, or of the hospitals ([`cache::HOSPITALS_KEY`]);
    /// 0 before the first change.
    fn stored_version(&self, key: &str) -> Result<i64, StoreError> {
        use schema::mapping_versions::dsl as v;
        let version: Option<i64> = with_conn!(self, |conn| v::mapping_versions
            .find(key)
            .select(v::version)
            .first(conn)
            .optional()?);
        Ok(version.unwrap_or(0))
    }

    /// Drops the in-memory mapping tables that another process changed (their stored version
    /// moved); the server calls this every refresh period.
    pub fn refresh_caches(&self) -> Result<(), StoreError> {
        use schema::mapping_versions::dsl as v;
        let versions: Vec<(String, i64)> = with_conn!(self, |conn| v::mapping_versions
            .select((v::hospital_id, v::version))
            .load(conn)?);
        let versions: HashMap<String, i64> = versions.into_iter().collect();
        self.hospitals
            .retain_current(versions.get(cache::HOSPITALS_KEY).copied().unwrap_or(0));
        self.mappings.retain_current(&versions);
        Ok(())
    }

    fn mappings_impl(&self, hospital: &HospitalId) -> Result<Vec<Mapping>, StoreError> {
        Ok(self.mapping_table(hospital)?.rows.clone())
    }

    fn mappings_for_impl(
        &self,
        hospital: &HospitalId,
        local_codes: &[String],
    ) -> Result<Vec<Mapping>, StoreError> {
        let table = self.mapping_table(hospital)?;
        let mut codes: Vec<&String> = local_codes.iter().collect();
        codes.sort_unstable();
        codes.dedup();
        Ok(codes
            .into_iter()
            .filter_map(|c| table.get(c).cloned())
            .collect())
    }

    fn mapping_impl(
        &self,
        hospital: &HospitalId,
        local_code: &str,
    ) -> Result<Option<Mapping>, StoreError> {
        Ok(self.mapping_table(hospital)?.get(local_code).cloned())
    }

    fn apply_mappings_impl(
        &self,
        writes: &[Mapping],
        history: &[MappingChange],
    ) -> Result<(), StoreError> {
        let writes: Vec<&Mapping> = last_per_key(writes, |w| {
            (w.hospital.as_str(), w.term.local_code.as_str())
        });
        // Each change is a link of its hospital's chain, with the mapping as written after it.
        let after: HashMap<(&str, &str), &Mapping> = writes
            .iter()
            .map(|w| ((w.hospital.as_str(), w.term.local_code.as_str()), *w))
            .collect();
        let mut by_hospital: BTreeMap<&str, Vec<&MappingChange>> = BTreeMap::new();
        for c in history {
            by_hospital.entry(c.hospital.as_str()).or_default().push(c);
        }
        let pending: Vec<(&str, Vec<ledger::Pending>)> = by_hospital
            .iter()
            .map(|(h, changes)| {
                let items = changes
                    .iter()
                    .map(|c| {
                        let state = after
                            .get(&(c.hospital.as_str(), c.local_code.as_str()))
                            .map_or([0; 32], |m| mapping_digest(m));
                        (LinkKind::Mapping, None, change_digest(c), state)
                    })
                    .collect();
                (*h, items)
            })
            .collect();
        let mut audit = self.record(
            "mappings",
            if history.iter().all(|c| c.from_status.is_none()) && !history.is_empty() {
                AuditAction::Create
            } else {
                AuditAction::Update
            },
        );
        let mut actions: BTreeMap<&str, usize> = BTreeMap::new();
        for c in history {
            *actions.entry(c.action.as_str()).or_default() += 1;
        }
        audit.description = actions
            .iter()
            .map(|(a, n)| format!("{a}: {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        audit.entities = writes
            .iter()
            .map(|w| format!("Mapping/{}/{}", w.hospital.as_str(), w.term.local_code))
            .collect();
        if by_hospital.len() == 1 {
            audit.site = writes.first().map(|w| w.hospital.clone());
        }
        let audit = NewAudit::new(&audit);
        let rows: Vec<NewMapping> = writes.iter().map(|w| NewMapping::new(w)).collect();
        let mut touched: BTreeSet<&str> = writes.iter().map(|w| w.hospital.as_str()).collect();
        touched.extend(history.iter().map(|c| c.hospital.as_str()));
        // An approved mapping may release results held under its local code: that work is
        // queued in this transaction, so it is done even if this node dies right after. The
        // approving request runs it itself; the job loops only once it has had its chance.
        let approving: BTreeSet<&str> = writes
            .iter()
            .filter(|w| w.status == MappingStatus::Approved)
            .map(|w| w.hospital.as_str())
            .collect();
        let now = now_millis();
        let written = with_write_conn!(self, |conn| conn.transaction(|conn| {
            conn.upsert_mappings(&rows)?;
            for hospital in &touched {
                bump_version!(conn, *hospital);
            }
            for hospital in &approving {
                jobs::enqueue_job!(conn, JobKind::ReleaseHeld, *hospital, now + ASKER_FIRST_MS);
            }
            let mut history_rows: Vec<NewHistory> = Vec::with_capacity(history.len());
            for (hospital, items) in pending {
                let links = conn.extend_chain(hospital, items)?;
                history_rows.extend(
                    by_hospital[hospital]
                        .iter()
                        .zip(&links)
                        .map(|(c, l)| NewHistory::new(c, l.seq)),
                );
            }
            conn.insert_history(&history_rows)?;
            conn.insert_audit(&audit)?;
            Ok::<_, StoreError>(())
        }));
        // Committed or not, this process reads these hospitals' tables again.
        self.mappings.invalidate(touched.iter().copied());
        written
    }

    /// The message for a batch that broke a foreign key: which of the hospitals it names are
    /// unknown. Asked after the rollback, so it costs nothing when the batch is fine.
    fn unknown_hospitals_message(
        &self,
        writes: &[Mapping],
        history: &[MappingChange],
        db_message: &str,
    ) -> String {
        let generic =
            || format!("the mappings name an unknown hospital ({db_message}); nothing was written");
        let Ok(known) = self.hospitals_impl() else {
            return generic();
        };
        let known: BTreeSet<&str> = known.iter().map(|h| h.id.as_str()).collect();
        let missing: BTreeSet<&str> = writes
            .iter()
            .map(|w| w.hospital.as_str())
            .chain(history.iter().map(|c| c.hospital.as_str()))
            .filter(|id| !known.contains(id))
            .collect();
        let list: Vec<String> = missing.iter().map(|id| format!("`{id}`")).collect();
        match list.len() {
            0 => generic(),
            1 => format!(
                "unknown hospital {}: create it before writing its mappings; nothing was written",
                list[0]
            ),
            _ => format!(
                "unknown hospitals {}: create them before writing their mappings; nothing was \
                 written",
                list.join(", ")
            ),
        }
    }

    fn mapping_history_impl(
        &self,
        hospital: &HospitalId,
        local_code: &str,
    ) -> Result<Vec<MappingChange>, StoreError> {
        use schema::mapping_history::dsl as mh;
        let rows: Vec<HistoryRow> = with_conn!(self, |conn| mh::mapping_history
            .filter(mh::hospital_id.eq(hospital.as_str()))
            .filter(mh::local_code.eq(local_code))
            .select(HistoryRow::as_select())
            .order((mh::at.asc(), mh::id.asc()))
            .load(conn)?);
        Ok(rows
            .into_iter()
            .filter_map(HistoryRow::into_change)
            .collect())
    }

    fn approved_names_impl(&self) -> Result<Vec<(HospitalId, String, String)>, StoreError> {
        use schema::mappings::dsl as m;
        let rows: Vec<(String, String, String, String)> = with_conn!(self, |conn| m::mappings
            .filter(m::status.eq(MappingStatus::Approved.as_str()))
            .filter(m::national_code.ne("").or(m::loinc.ne("")))
            .select((m::hospital_id, m::local_name, m::national_code, m::loinc))
            .order((m::hospital_id.asc(), m::local_code.asc()))
            .load(conn)?);
        Ok(rows
            .into_iter()
            .filter_map(|(h, name, national, loinc)| {
                let code = if national.is_empty() { loinc } else { national };
                Some((HospitalId::parse(&h).ok()?, name, code))
            })
            .collect())
    }

    fn loinc_mappings_impl(&self) -> Result<Vec<Mapping>, StoreError> {
        use schema::mappings::dsl as m;
        let rows: Vec<MappingRow> = with_conn!(self, |conn| m::mappings
            .filter(m::national_code.eq(""))
            .filter(m::loinc.ne(""))
            .order((m::hospital_id.asc(), m::local_code.asc()))
            .select(MappingRow::as_select())
            .load(conn)?);
        Ok(rows
            .into_iter()
            .filter_map(MappingRow::into_mapping)
            .collect())
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

impl HospitalStore for Store {
    fn upsert_hospital(&self, hospital: &Hospital) -> Result<bool, PortError> {
        self.upsert_hospital_impl(hospital).map_err(port_error)
    }

    fn upsert_hospitals(&self, hospitals: &[Hospital]) -> Result<(), PortError> {
        self.upsert_hospitals_impl(hospitals).map_err(port_error)
    }

    fn hospitals(&self) -> Result<Vec<Hospital>, PortError> {
        Ok(self.hospitals_impl()?)
    }

    fn hospital(&self, id: &HospitalId) -> Result<Option<Hospital>, PortError> {
        Ok(self.hospital_impl(id)?)
    }

    fn hospital_in_memory(&self, id: &HospitalId) -> Option<Option<Hospital>> {
        self.hospitals
            .get()
            .map(|all| all.iter().find(|h| &h.id == id).cloned())
    }
}

impl huren_core::ports::AuditStore for Store {
    fn acting_as(&self, context: AuditContext) -> Arc<dyn huren_core::ports::Storage> {
        Arc::new(Store::acting_as(self, context))
    }

    fn record_audit(&self, records: &[huren_core::audit::AuditRecord]) -> Result<(), PortError> {
        Ok(self.record_audit_impl(records)?)
    }

    fn audit_events(
        &self,
        query: &huren_core::audit::AuditQuery,
    ) -> Result<Vec<huren_core::audit::AuditRecord>, PortError> {
        Ok(self.audit_events_impl(query)?)
    }

    fn verify_chains(
        &self,
        hospital: Option<&HospitalId>,
    ) -> Result<Vec<huren_core::integrity::ChainReport>, PortError> {
        Ok(Store::verify_chains(self, hospital)?)
    }
}

impl ObservationStore for Store {
    fn write_observations(
        &self,
        batch: &[(StoredObservation, Option<UnmappedSighting>)],
    ) -> Result<Vec<(WriteOutcome, i64)>, PortError> {
        self.write_observations_impl(batch).map_err(port_error)
    }

    fn observation(&self, id: &str) -> Result<Option<StoredObservation>, PortError> {
        Ok(self.observation_impl(id)?)
    }

    fn observation_versions(&self, id: &str) -> Result<Vec<StoredObservation>, PortError> {
        Ok(self.observation_versions_impl(id)?)
    }

    fn search_observations(
        &self,
        query: &ObservationQuery,
    ) -> Result<Vec<StoredObservation>, PortError> {
        Ok(self.search_observations_impl(query)?)
    }

    fn held_observations(
        &self,
        hospital: &HospitalId,
        local_codes: &[String],
    ) -> Result<Vec<StoredObservation>, PortError> {
        Ok(self.held_observations_impl(hospital, local_codes)?)
    }

    fn gap_observations(
        &self,
        loincs: Option<&[String]>,
    ) -> Result<Vec<StoredObservation>, PortError> {
        Ok(self.gap_observations_impl(loincs)?)
    }

    fn unmapped_codes(&self, hospital: &HospitalId) -> Result<Vec<UnmappedCode>, PortError> {
        Ok(self.unmapped_codes_impl(hospital)?)
    }
}

impl MappingStore for Store {
    fn mappings(&self, hospital: &HospitalId) -> Result<Vec<Mapping>, PortError> {
        Ok(self.mappings_impl(hospital)?)
    }

    fn mapping(
        &self,
        hospital: &HospitalId,
        local_code: &str,
    ) -> Result<Option<Mapping>, PortError> {
        Ok(self.mapping_impl(hospital, local_code)?)
    }

    fn mapping_in_memory(
        &self,
        hospital: &HospitalId,
        local_code: &str,
    ) -> Option<Option<Mapping>> {
        self.mappings
            .get(hospital.as_str())
            .map(|t| t.get(local_code).cloned())
    }

    fn mappings_for(
        &self,
        hospital: &HospitalId,
        local_codes: &[String],
    ) -> Result<Vec<Mapping>, PortError> {
        Ok(self.mappings_for_impl(hospital, local_codes)?)
    }

    fn apply_mappings(
        &self,
        writes: &[Mapping],
        history: &[MappingChange],
    ) -> Result<(), PortError> {
        self.apply_mappings_impl(writes, history)
            .map_err(|e| match &e {
                StoreError::Query(DieselError::DatabaseError(
                    DatabaseErrorKind::ForeignKeyViolation,
                    info,
                )) => PortError::Conflict(self.unknown_hospitals_message(
                    writes,
                    history,
                    info.message(),
                )),
                _ => port_error(e),
            })
    }

    fn mapping_history(
        &self,
        hospital: &HospitalId,
        local_code: &str,
    ) -> Result<Vec<MappingChange>, PortError> {
        Ok(self.mapping_history_impl(hospital, local_code)?)
    }

    fn approved_names(&self) -> Result<Vec<(HospitalId, String, String)>, PortError> {
        Ok(self.approved_names_impl()?)
    }

    fn loinc_mappings(&self) -> Result<Vec<Mapping>, PortError> {
        Ok(self.loinc_mappings_impl()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_per_key_keeps_the_last_of_each_key_in_order() {
        let items = [("a", 1), ("b", 2), ("a", 3), ("c", 4), ("b", 5)];
        let kept: Vec<_> = last_per_key(&items, |x| x.0).into_iter().copied().collect();
        assert_eq!(kept, vec![("a", 3), ("c", 4), ("b", 5)]);
        let distinct = [("a", 1), ("b", 2)];
        assert_eq!(last_per_key(&distinct, |x| x.0).len(), 2);
    }

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
