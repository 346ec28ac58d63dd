//! Each hospital's mapping table, kept in memory: `$translate` local → national and every
//! ingested batch look mappings up by local code, and a SQL read per lookup was the ceiling of
//! both (issue 20).
//!
//! Coherence: every transaction that changes a hospital's mappings bumps its row of
//! `mapping_versions` (in the same transaction). This process drops its copy of the
//! hospital's table right after such a commit of its own; [`crate::Store::refresh_caches`],
//! which the server calls every refresh period, drops the tables whose version another process
//! bumped. Reads through the ports (`mapping`, `mappings_for`, `hospital`…) also compare the
//! stored version first (one primary-key read), so a curator's review or an ingest on one node
//! uses what another node committed a moment before; only the `*_in_memory` reads of the
//! terminology answers rely on the refresh alone (stale for at most one refresh period). A
//! table is loaded again, whole, at its next lookup. A load that raced with an invalidation in
//! this process is not kept.

use huren_core::Mapping;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// One hospital's mappings, ordered by local code, and the version they were read at.
#[derive(Debug)]
pub(crate) struct Table {
    pub version: i64,
    pub rows: Vec<Mapping>,
    index: HashMap<String, usize>,
}

impl Table {
    pub fn new(version: i64, mut rows: Vec<Mapping>) -> Table {
        rows.sort_by(|a, b| a.term.local_code.cmp(&b.term.local_code));
        let index = rows
            .iter()
            .enumerate()
            .map(|(i, m)| (m.term.local_code.clone(), i))
            .collect();
        Table {
            version,
            rows,
            index,
        }
    }

    pub fn get(&self, local_code: &str) -> Option<&Mapping> {
        self.index.get(local_code).map(|&i| &self.rows[i])
    }
}

#[derive(Debug, Default)]
pub(crate) struct MappingCache {
    tables: RwLock<HashMap<String, Arc<Table>>>,
    /// Bumped by every invalidation: a load that started before one is not kept.
    epoch: AtomicU64,
}

impl MappingCache {
    pub fn get(&self, hospital: &str) -> Option<Arc<Table>> {
        self.tables
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(hospital)
            .cloned()
    }

    /// The epoch to pass to [`MappingCache::put`] for a load starting now.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Keeps a loaded table unless an invalidation happened since `epoch`.
    pub fn put(&self, hospital: &str, table: Arc<Table>, epoch: u64) {
        let mut tables = self.tables.write().unwrap_or_else(|p| p.into_inner());
        if self.epoch.load(Ordering::SeqCst) == epoch {
            tables.insert(hospital.to_owned(), table);
        }
    }

    /// Drops the tables of these hospitals (after this process changed their mappings).
    pub fn invalidate<'a>(&self, hospitals: impl IntoIterator<Item = &'a str>) {
        let mut tables = self.tables.write().unwrap_or_else(|p| p.into_inner());
        self.epoch.fetch_add(1, Ordering::SeqCst);
        for h in hospitals {
            tables.remove(h);
        }
    }

    /// Drops every table whose version differs from the stored one (another process changed
    /// it); a hospital without a stored version is at version 0.
    pub fn retain_current(&self, versions: &HashMap<String, i64>) {
        let mut tables = self.tables.write().unwrap_or_else(|p| p.into_inner());
        let before = tables.len();
        tables.retain(|h, t| versions.get(h).copied().unwrap_or(0) == t.version);
        if tables.len() != before {
            self.epoch.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Every hospital, in memory (a `$translate` or a page checks its hospital on every request):
/// versioned by the `mapping_versions` row with an empty `hospital_id`, bumped by every write
/// of hospitals, as [`MappingCache`] is.
#[derive(Debug, Default)]
pub(crate) struct HospitalCache {
    table: RwLock<Option<(i64, Arc<Vec<huren_core::Hospital>>)>>,
    epoch: AtomicU64,
}

/// The `mapping_versions` key of the hospitals themselves (no hospital id is empty).
pub(crate) const HOSPITALS_KEY: &str = "";

impl HospitalCache {
    pub fn get(&self) -> Option<Arc<Vec<huren_core::Hospital>>> {
        self.table
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|(_, t)| t.clone())
    }

    /// The table and the version it was read at.
    pub fn get_versioned(&self) -> Option<(i64, Arc<Vec<huren_core::Hospital>>)> {
        self.table.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    pub fn put(&self, version: i64, hospitals: Arc<Vec<huren_core::Hospital>>, epoch: u64) {
        let mut table = self.table.write().unwrap_or_else(|p| p.into_inner());
        if self.epoch.load(Ordering::SeqCst) == epoch {
            *table = Some((version, hospitals));
        }
    }

    pub fn invalidate(&self) {
        let mut table = self.table.write().unwrap_or_else(|p| p.into_inner());
        self.epoch.fetch_add(1, Ordering::SeqCst);
        *table = None;
    }

    /// Drops the table when the stored version moved.
    pub fn retain_current(&self, version: i64) {
        let stale = self
            .table
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|(v, _)| *v != version);
        if stale {
            self.invalidate();
        }
    }
}
