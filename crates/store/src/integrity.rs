//! Verifying the hash chains (`huren verify`, `GET /api/integrity`), and chaining the rows
//! stored before chains existed (once, at the migration that added them).
//!
//! Each hospital is verified inside one read transaction (a snapshot: REPEATABLE READ on
//! PostgreSQL, a read transaction on SQLite's WAL), so writes going on meanwhile are neither
//! half seen nor reported as breaks.

use crate::ledger::{Ledger, LinkRow, Pending, stored_kind};
use crate::observations::{HistoryRow as VersionRow, ObservationRow};
use crate::rows::{HistoryRow, MappingRow};
use crate::schema;
use crate::{Pools, Store, StoreError};
use diesel::prelude::*;
use huren_core::HospitalId;
use huren_core::integrity::{
    Broken, Chain, ChainLink, ChainReport, GENESIS, Hash, LinkKind, change_digest, check_link, hex,
    mapping_digest, observation_digest, observation_item,
};
use huren_core::observation::StoredObservation;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Links read per query while walking a chain.
const PAGE: i64 = 1000;
/// Ids per `IN (…)` list.
const IDS: usize = 500;

/// Reads the verifier needs, on either backend.
trait ChainRead {
    fn links_after(&mut self, hospital: &str, seq: i64) -> QueryResult<Vec<ChainLink>>;
    fn head(&mut self, hospital: &str) -> QueryResult<Option<Chain>>;
    /// The digests of every stored version of these results, by item.
    fn version_digests(&mut self, ids: &[String]) -> QueryResult<HashMap<String, Hash>>;
    /// The mapping changes of one hospital with these seqs, by seq.
    fn changes(&mut self, hospital: &str, seqs: &[i64]) -> QueryResult<HashMap<i64, HistoryRow>>;
    fn mapping_rows(&mut self, hospital: &str) -> QueryResult<Vec<MappingRow>>;
    /// (versions of results, changes with a seq, changes without one) stored for a hospital.
    fn counts(&mut self, hospital: &str) -> QueryResult<(i64, i64, i64)>;
    /// Every stored version of the hospital's results, as items.
    fn version_items(&mut self, hospital: &str) -> QueryResult<Vec<String>>;
    /// The hospital's chained items of one kind.
    fn chained_items(&mut self, hospital: &str, kind: LinkKind) -> QueryResult<HashSet<String>>;
    /// Every hospital with a chain or with stored results or mappings.
    fn chain_hospitals(&mut self) -> QueryResult<Vec<String>>;
}

fn stored(row: ObservationRow) -> Option<StoredObservation> {
    row.into_stored(Vec::new())
}

macro_rules! chain_read_impl {
    ($conn:ty) => {
        impl ChainRead for $conn {
            fn links_after(&mut self, hospital: &str, seq: i64) -> QueryResult<Vec<ChainLink>> {
                use schema::chain_links::dsl as l;
                let rows: Vec<LinkRow> = l::chain_links
                    .filter(l::hospital_id.eq(hospital))
                    .filter(l::seq.gt(seq))
                    .order(l::seq.asc())
                    .limit(PAGE)
                    .select(LinkRow::as_select())
                    .load(self)?;
                Ok(rows.into_iter().map(LinkRow::into_link).collect())
            }

            fn head(&mut self, hospital: &str) -> QueryResult<Option<Chain>> {
                use schema::chain_heads::dsl as h;
                let row: Option<(i64, Vec<u8>)> = h::chain_heads
                    .find(hospital)
                    .select((h::seq, h::link))
                    .first(self)
                    .optional()?;
                Ok(row.map(|(seq, link)| Chain {
                    seq,
                    head: link.as_slice().try_into().unwrap_or([0xff; 32]),
                }))
            }

            fn version_digests(&mut self, ids: &[String]) -> QueryResult<HashMap<String, Hash>> {
                use schema::observation_history::dsl as vh;
                use schema::observations::dsl as o;
                let mut out = HashMap::new();
                for ids in ids.chunks(IDS) {
                    let current: Vec<ObservationRow> = o::observations
                        .filter(o::id.eq_any(ids))
                        .select(ObservationRow::as_select())
                        .load(self)?;
                    let older: Vec<VersionRow> = vh::observation_history
                        .filter(vh::observation_id.eq_any(ids))
                        .select(VersionRow::as_select())
                        .load(self)?;
                    let mut by_id: HashMap<String, StoredObservation> = HashMap::new();
                    for row in current {
                        // A row that no longer reads (a status edited to nonsense) is an item
                        // that is gone: reported as such.
                        if let Some(s) = stored(row) {
                            out.insert(observation_item(&s.id, s.version), observation_digest(&s));
                            by_id.insert(s.id.clone(), s);
                        }
                    }
                    for v in older {
                        let Some(current) = by_id.get(&v.observation_id) else {
                            continue;
                        };
                        let Some(s) = v.into_version(current) else {
                            continue;
                        };
                        out.insert(observation_item(&s.id, s.version), observation_digest(&s));
                    }
                }
                Ok(out)
            }

            fn changes(
                &mut self,
                hospital: &str,
                seqs: &[i64],
            ) -> QueryResult<HashMap<i64, HistoryRow>> {
                use schema::mapping_history::dsl as mh;
                let mut out = HashMap::new();
                for seqs in seqs.chunks(IDS) {
                    let rows: Vec<HistoryRow> = mh::mapping_history
                        .filter(mh::hospital_id.eq(hospital))
                        .filter(mh::chain_seq.eq_any(seqs))
                        .select(HistoryRow::as_select())
                        .load(self)?;
                    out.extend(rows.into_iter().filter_map(|r| Some((r.chain_seq?, r))));
                }
                Ok(out)
            }

            fn mapping_rows(&mut self, hospital: &str) -> QueryResult<Vec<MappingRow>> {
                use schema::mappings::dsl as m;
                m::mappings
                    .filter(m::hospital_id.eq(hospital))
                    .select(MappingRow::as_select())
                    .load(self)
            }

            fn counts(&mut self, hospital: &str) -> QueryResult<(i64, i64, i64)> {
                use schema::mapping_history::dsl as mh;
                use schema::observation_history::dsl as vh;
                use schema::observations::dsl as o;
                let current: i64 = o::observations
                    .filter(o::hospital_id.eq(hospital))
                    .count()
                    .get_result(self)?;
                let older: i64 = vh::observation_history
                    .filter(
                        vh::observation_id.eq_any(
                            o::observations
                                .filter(o::hospital_id.eq(hospital))
                                .select(o::id),
                        ),
                    )
                    .count()
                    .get_result(self)?;
                let chained: i64 = mh::mapping_history
                    .filter(mh::hospital_id.eq(hospital))
                    .filter(mh::chain_seq.is_not_null())
                    .count()
                    .get_result(self)?;
                let unchained: i64 = mh::mapping_history
                    .filter(mh::hospital_id.eq(hospital))
                    .filter(mh::chain_seq.is_null())
                    .count()
                    .get_result(self)?;
                Ok((current + older, chained, unchained))
            }

            fn version_items(&mut self, hospital: &str) -> QueryResult<Vec<String>> {
                use schema::observation_history::dsl as vh;
                use schema::observations::dsl as o;
                let current: Vec<(String, i64)> = o::observations
                    .filter(o::hospital_id.eq(hospital))
                    .select((o::id, o::version_id))
                    .load(self)?;
                let older: Vec<(String, i64)> = vh::observation_history
                    .filter(
                        vh::observation_id.eq_any(
                            o::observations
                                .filter(o::hospital_id.eq(hospital))
                                .select(o::id),
                        ),
                    )
                    .select((vh::observation_id, vh::version_id))
                    .load(self)?;
                Ok(current
                    .iter()
                    .chain(&older)
                    .map(|(id, v)| observation_item(id, *v))
                    .collect())
            }

            fn chained_items(
                &mut self,
                hospital: &str,
                kind: LinkKind,
            ) -> QueryResult<HashSet<String>> {
                use schema::chain_links::dsl as l;
                // Both the compact and the long form of the kind (`LinkRow`).
                let rows: Vec<LinkRow> = l::chain_links
                    .filter(l::hospital_id.eq(hospital))
                    .filter(l::kind.eq_any([stored_kind(kind), kind.as_str()]))
                    .select(LinkRow::as_select())
                    .load(self)?;
                Ok(rows.into_iter().map(|r| r.into_link().item).collect())
            }

            fn chain_hospitals(&mut self) -> QueryResult<Vec<String>> {
                use schema::chain_heads::dsl as h;
                use schema::hospitals::dsl as hs;
                let mut ids: Vec<String> = h::chain_heads.select(h::hospital_id).load(self)?;
                ids.extend(hs::hospitals.select(hs::id).load::<String>(self)?);
                ids.sort();
                ids.dedup();
                Ok(ids)
            }
        }
    };
}

chain_read_impl!(diesel::SqliteConnection);
chain_read_impl!(diesel::PgConnection);

/// Walks one hospital's chain from its first link; the first break, if any.
fn walk(conn: &mut impl ChainRead, hospital: &str) -> QueryResult<ChainReport> {
    let report = |at: &Chain, broken: Option<Broken>| ChainReport {
        hospital: hospital.to_owned(),
        links: at.seq,
        head: hex(&at.head),
        broken,
    };
    let mut at = Chain {
        seq: 0,
        head: GENESIS,
    };
    let (mut observation_links, mut mapping_links) = (0i64, 0i64);
    // The state of each mapping after its last chained change, by local code.
    let mut states: HashMap<String, Hash> = HashMap::new();
    loop {
        let links = conn.links_after(hospital, at.seq)?;
        if links.is_empty() {
            break;
        }
        let ids: Vec<String> = links
            .iter()
            .filter(|l| l.kind == LinkKind::Observation)
            .filter_map(|l| observation_id(&l.item))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let digests = conn.version_digests(&ids)?;
        let seqs: Vec<i64> = links
            .iter()
            .filter(|l| l.kind == LinkKind::Mapping)
            .map(|l| l.seq)
            .collect();
        let changes = conn.changes(hospital, &seqs)?;
        for l in links {
            let current = match l.kind {
                LinkKind::Observation => {
                    observation_links += 1;
                    digests.get(&l.item).copied()
                }
                LinkKind::Mapping => {
                    mapping_links += 1;
                    let change = changes
                        .get(&l.seq)
                        .filter(|_| l.item == huren_core::integrity::mapping_item(hospital, l.seq));
                    match change {
                        Some(row) => {
                            if l.state != [0; 32] {
                                states.insert(row.local_code.clone(), l.state);
                            }
                            clone_change(row).map(|c| change_digest(&c))
                        }
                        None => None,
                    }
                }
            };
            if let Err(b) = check_link(&at, &l, current.as_ref()) {
                return Ok(report(&at, Some(b)));
            }
            at = Chain {
                seq: l.seq,
                head: l.link,
            };
        }
    }
    let head = conn.head(hospital)?.unwrap_or(Chain {
        seq: 0,
        head: GENESIS,
    });
    if head != at {
        let b = Broken {
            seq: at.seq + 1,
            item: String::new(),
            problem: format!(
                "the chain's head says link {} but the links end at {}: links were removed or \
                 the head was edited",
                head.seq, at.seq
            ),
        };
        return Ok(report(&at, Some(b)));
    }
    let (versions, changes, unchained) = conn.counts(hospital)?;
    if versions != observation_links {
        let chained = conn.chained_items(hospital, LinkKind::Observation)?;
        let first = conn
            .version_items(hospital)?
            .into_iter()
            .filter(|i| !chained.contains(i))
            .min()
            .unwrap_or_default();
        let b = Broken {
            seq: at.seq,
            item: first,
            problem: format!(
                "{versions} result versions are stored but {observation_links} are chained: \
                 rows were written behind huren's back"
            ),
        };
        return Ok(report(&at, Some(b)));
    }
    if unchained > 0 || changes != mapping_links {
        let b = Broken {
            seq: at.seq,
            item: String::new(),
            problem: format!(
                "{} mapping changes are stored but {mapping_links} are chained: history was \
                 written behind huren's back",
                changes + unchained
            ),
        };
        return Ok(report(&at, Some(b)));
    }
    let mut mappings = conn.mapping_rows(hospital)?;
    mappings.sort_by(|a, b| a.local_code.cmp(&b.local_code));
    for row in mappings {
        let code = row.local_code.clone();
        let item = format!("Mapping/{hospital}/{code}");
        let digest = row.into_mapping().map(|m| mapping_digest(&m));
        let problem = match (states.get(&code), digest) {
            (None, _) => "the mapping has no chained change: it was written behind huren's back",
            (Some(_), None) => "the mapping no longer reads: it was edited behind huren's back",
            (Some(s), Some(d)) if *s != d => {
                "the mapping differs from what its last chained change wrote: it was edited \
                 behind huren's back"
            }
            _ => continue,
        };
        let b = Broken {
            seq: at.seq,
            item,
            problem: problem.to_owned(),
        };
        return Ok(report(&at, Some(b)));
    }
    Ok(report(&at, None))
}

fn observation_id(item: &str) -> Option<String> {
    huren_core::integrity::parse_observation_item(item).map(|(id, _)| id.to_owned())
}

fn clone_change(row: &HistoryRow) -> Option<huren_core::mapping::MappingChange> {
    row.clone().into_change()
}

/// The backfill's own reads and writes.
trait BackfillRead {
    /// Removes the backfill marker; whether it was there (then this transaction backfills).
    fn claim_backfill(&mut self) -> QueryResult<bool>;
    fn observation_ids(&mut self, hospital: &str) -> QueryResult<Vec<String>>;
    /// The hospital's mapping changes without a link, oldest first, with their row ids.
    fn unchained_changes(&mut self, hospital: &str) -> QueryResult<Vec<(i64, HistoryRow)>>;
    fn set_chain_seq(&mut self, id: i64, seq: i64) -> QueryResult<()>;
}

macro_rules! backfill_impl {
    ($conn:ty) => {
        impl BackfillRead for $conn {
            fn claim_backfill(&mut self) -> QueryResult<bool> {
                Ok(diesel::delete(schema::chain_backfill::table).execute(self)? > 0)
            }

            fn observation_ids(&mut self, hospital: &str) -> QueryResult<Vec<String>> {
                use schema::observations::dsl as o;
                o::observations
                    .filter(o::hospital_id.eq(hospital))
                    .order(o::id.asc())
                    .select(o::id)
                    .load(self)
            }

            fn unchained_changes(&mut self, hospital: &str) -> QueryResult<Vec<(i64, HistoryRow)>> {
                use schema::mapping_history::dsl as mh;
                mh::mapping_history
                    .filter(mh::hospital_id.eq(hospital))
                    .filter(mh::chain_seq.is_null())
                    .order(mh::id.asc())
                    .select((mh::id, HistoryRow::as_select()))
                    .load(self)
            }

            fn set_chain_seq(&mut self, id: i64, seq: i64) -> QueryResult<()> {
                use schema::mapping_history::dsl as mh;
                diesel::update(mh::mapping_history.find(id))
                    .set(mh::chain_seq.eq(seq))
                    .execute(self)
                    .map(|_| ())
            }
        }
    };
}

backfill_impl!(diesel::SqliteConnection);
backfill_impl!(diesel::PgConnection);

impl Store {
    /// Verifies the chain of one hospital, or of every hospital.
    pub fn verify_chains(
        &self,
        hospital: Option<&HospitalId>,
    ) -> Result<Vec<ChainReport>, StoreError> {
        let hospitals = match hospital {
            Some(h) => vec![h.as_str().to_owned()],
            None => crate::with_conn!(self, |conn| conn.chain_hospitals()?),
        };
        let mut reports = Vec::with_capacity(hospitals.len());
        for h in hospitals {
            let report = match &self.pools {
                Pools::Sqlite(pool) => {
                    let mut pooled = pool.get().map_err(|e| StoreError::Connect(e.to_string()))?;
                    let conn: &mut diesel::SqliteConnection = &mut pooled;
                    conn.transaction(|conn| walk(conn, &h))?
                }
                Pools::Pg(pool) => {
                    let mut pooled = pool.get().map_err(|e| StoreError::Connect(e.to_string()))?;
                    let conn: &mut diesel::PgConnection = &mut pooled;
                    conn.build_transaction()
                        .repeatable_read()
                        .read_only()
                        .run(|conn| walk(conn, &h))?
                }
            };
            reports.push(report);
        }
        Ok(reports)
    }

    /// Chains every result version and mapping change stored before chains existed, once:
    /// the migration that added the chains left a `chain_backfill` row, removed here in the
    /// same transaction. Returns how many links were made.
    pub(crate) fn backfill_chains(&self) -> Result<usize, StoreError> {
        crate::with_conn!(self, |conn| conn.transaction(backfill))
    }
}

/// What the backfill does on either backend.
fn backfill<C>(conn: &mut C) -> Result<usize, StoreError>
where
    C: Ledger + ChainRead + BackfillRead,
{
    if !conn.claim_backfill()? {
        return Ok(0);
    }
    let mut made = 0;
    for hospital in conn.chain_hospitals()? {
        let mut items: Vec<Pending> = Vec::new();
        let ids = conn.observation_ids(&hospital)?;
        for ids in ids.chunks(IDS) {
            let mut digests: Vec<(String, Hash)> = conn.version_digests(ids)?.into_iter().collect();
            digests.sort();
            items.extend(
                digests
                    .into_iter()
                    .map(|(item, d)| (LinkKind::Observation, Some(item), d, [0; 32])),
            );
        }
        made += items.len();
        conn.extend_chain(&hospital, items)?;
        // Mapping changes: in the order they were made; the last of each mapping carries the
        // mapping's state.
        let changes = conn.unchained_changes(&hospital)?;
        let mappings: BTreeMap<String, Hash> = conn
            .mapping_rows(&hospital)?
            .into_iter()
            .filter_map(|r| {
                let code = r.local_code.clone();
                Some((code, mapping_digest(&r.into_mapping()?)))
            })
            .collect();
        let mut last: HashMap<&str, usize> = HashMap::new();
        for (i, (_, row)) in changes.iter().enumerate() {
            last.insert(row.local_code.as_str(), i);
        }
        let mut ids = Vec::with_capacity(changes.len());
        let mut pending: Vec<Pending> = Vec::with_capacity(changes.len());
        for (i, (id, row)) in changes.iter().enumerate() {
            // A row that does not read (a hospital id that is not a slug) stays unchained and
            // is reported by the verifier.
            let Some(change) = clone_change(row) else {
                continue;
            };
            let state = if last.get(row.local_code.as_str()) == Some(&i) {
                mappings.get(&row.local_code).copied().unwrap_or([0; 32])
            } else {
                [0; 32]
            };
            ids.push(*id);
            pending.push((LinkKind::Mapping, None, change_digest(&change), state));
        }
        made += pending.len();
        let links = conn.extend_chain(&hospital, pending)?;
        for (id, link) in ids.iter().zip(&links) {
            conn.set_chain_seq(*id, link.seq)?;
        }
    }
    Ok(made)
}
