//! The audit trail and the hash chains: written inside the transactions of the writes they
//! record, so a write and its record commit or vanish together.
//!
//! Extending a chain locks its hospital's head row (`chain_heads`): on PostgreSQL with
//! `SELECT … FOR UPDATE`, on SQLite by the write lock every writing transaction holds. Writers
//! that touch several hospitals lock the heads in id order, so two of them never wait on each
//! other in a circle.

use crate::schema::{audit_events, chain_heads, chain_links};
use crate::{Pools, Store, StoreError, with_conn, with_write_conn};
use diesel::prelude::*;
use huren_core::HospitalId;
use huren_core::audit::{Actor, AuditAction, AuditOutcome, AuditQuery, AuditRecord};
use huren_core::integrity::{
    Chain, ChainLink, GENESIS, Hash, LinkKind, OBSERVATION_ITEM_HISTORY, OBSERVATION_ITEM_PREFIX,
    parse_observation_item,
};

/// At most this many entities are listed in one audit record; the description gives the
/// total (the mapping history and the chain keep every item).
pub(crate) const MAX_ENTITIES: usize = 1000;

/// Lines with a line break before the first and after the last, so that
/// `LIKE '%\nX\n%'` finds X exactly.
fn lines<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let mut s = String::from("\n");
    for i in items {
        // A line break inside an item would split it: replaced, never needed in practice.
        s.push_str(&i.as_ref().replace('\n', " "));
        s.push('\n');
    }
    s
}

fn unlines(s: &str) -> Vec<String> {
    s.split('\n')
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An audit record's entity as stored: a result, or a version of it, the most frequent by far
/// (a search lists every result it served, a batch every result it wrote), as `@ID` or
/// `@ID/N` instead of `Observation/ID` or `Observation/ID/_history/N` (~22 of their ~56
/// bytes); an entity that begins with `@` itself is stored behind one more `@`; anything else
/// as it is. [`expand_entity`] gives back the entity byte for byte; rows written before hold
/// every entity whole and read as they are.
fn compact_entity(entity: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    if entity.starts_with('@') {
        return Cow::Owned(format!("@{entity}"));
    }
    let Some(rest) = entity.strip_prefix(OBSERVATION_ITEM_PREFIX) else {
        return Cow::Borrowed(entity);
    };
    let plain = |id: &str| !id.is_empty() && !id.starts_with('@') && !id.contains('/');
    match parse_observation_item(entity) {
        Some((id, version)) if plain(id) && !version.contains('/') => {
            Cow::Owned(format!("@{id}/{version}"))
        }
        None if plain(rest) => Cow::Owned(format!("@{rest}")),
        _ => Cow::Borrowed(entity),
    }
}

/// `Observation/ID/_history/N` for the compact `ID/N`, `Observation/ID` for `ID`: the
/// expansion of a chain link's item ([`LinkRow`]) and of an audit entity ([`compact_entity`]).
fn expand_observation(compact: &str) -> String {
    match compact.split_once('/') {
        Some((id, version)) => {
            format!("{OBSERVATION_ITEM_PREFIX}{id}{OBSERVATION_ITEM_HISTORY}{version}")
        }
        None => format!("{OBSERVATION_ITEM_PREFIX}{compact}"),
    }
}

/// The entity of a stored line ([`compact_entity`]).
fn expand_entity(line: &str) -> String {
    match line.strip_prefix('@') {
        Some(escaped) if escaped.starts_with('@') => escaped.to_owned(),
        Some(compact) => expand_observation(compact),
        None => line.to_owned(),
    }
}

#[derive(Insertable, Debug)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
pub(crate) struct NewAudit {
    recorded_at: i64,
    agent: String,
    role: String,
    agent_hospital: String,
    address: String,
    request: String,
    kind: String,
    action: &'static str,
    outcome: &'static str,
    description: String,
    site: String,
    patients: String,
    entities: String,
    purpose: String,
    purpose_text: String,
}

impl NewAudit {
    pub(crate) fn new(r: &AuditRecord) -> NewAudit {
        let (purpose, purpose_text) = r.purpose.clone().unwrap_or_default();
        let mut entities = r.entities.clone();
        let mut description = r.description.clone();
        if entities.len() > MAX_ENTITIES {
            let total = entities.len();
            entities.truncate(MAX_ENTITIES);
            description.push_str(&format!(
                " ({total} items; the first {MAX_ENTITIES} are listed)"
            ));
        }
        NewAudit {
            recorded_at: r.recorded_at,
            agent: r.actor.sub.clone(),
            role: r.actor.role.clone(),
            agent_hospital: r
                .actor
                .hospital
                .as_ref()
                .map(|h| h.as_str().to_owned())
                .unwrap_or_default(),
            address: r.actor.address.clone().unwrap_or_default(),
            request: r.request.clone(),
            kind: r.kind.clone(),
            action: r.action.code(),
            outcome: r.outcome.code(),
            description: description.trim().to_owned(),
            site: r
                .site
                .as_ref()
                .map(|h| h.as_str().to_owned())
                .unwrap_or_default(),
            patients: lines(&r.patients),
            entities: lines(entities.iter().map(|e| compact_entity(e))),
            purpose,
            purpose_text,
        }
    }
}

#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = audit_events)]
struct AuditRow {
    id: i64,
    recorded_at: i64,
    agent: String,
    role: String,
    agent_hospital: String,
    address: String,
    request: String,
    kind: String,
    action: String,
    outcome: String,
    description: String,
    site: String,
    patients: String,
    entities: String,
    purpose: String,
    purpose_text: String,
}

impl AuditRow {
    fn into_record(self) -> AuditRecord {
        let hospital = |s: &str| HospitalId::parse(s).ok();
        AuditRecord {
            id: self.id,
            recorded_at: self.recorded_at,
            actor: Actor {
                sub: self.agent,
                role: self.role,
                hospital: hospital(&self.agent_hospital),
                address: Some(self.address).filter(|a| !a.is_empty()),
            },
            request: self.request,
            kind: self.kind,
            action: AuditAction::parse(&self.action).unwrap_or(AuditAction::Execute),
            outcome: AuditOutcome::parse(&self.outcome).unwrap_or(AuditOutcome::SeriousFailure),
            description: self.description,
            site: hospital(&self.site),
            patients: unlines(&self.patients),
            entities: unlines(&self.entities)
                .iter()
                .map(|l| expand_entity(l))
                .collect(),
            purpose: Some((self.purpose, self.purpose_text)).filter(|(p, _)| !p.is_empty()),
        }
    }
}

/// A stored link. The columns hold the link compactly, and [`LinkRow::into_link`] gives the
/// link back exactly as it was hashed (every link is hashed in its full form,
/// [`huren_core::integrity::link`]):
///
/// - `kind`: `o` or `m` (links written before: `observation` or `mapping`);
/// - `item`: for a result version `ID/N` (`Observation/ID/_history/N`); for a mapping change
///   empty, its item being `MappingChange/HOSPITAL/SEQ` of the row's own hospital and seq; any
///   other item as it is (links written before hold every item whole);
/// - `state`: empty when it is all zeros (every result version's link).
///
/// Together ~65 of a result link's ~185 bytes (`docs/performance.md`).
#[derive(Queryable, Selectable, Insertable, Debug)]
#[diesel(table_name = chain_links, treat_none_as_default_value = false)]
pub(crate) struct LinkRow {
    pub hospital_id: String,
    pub seq: i64,
    pub kind: String,
    pub item: String,
    pub digest: Vec<u8>,
    pub state: Vec<u8>,
    pub link: Vec<u8>,
}

fn hash(bytes: &[u8]) -> Hash {
    bytes.try_into().unwrap_or([0xff; 32])
}

/// How a link's kind is stored (`LinkRow`).
pub(crate) fn stored_kind(kind: LinkKind) -> &'static str {
    match kind {
        LinkKind::Observation => "o",
        LinkKind::Mapping => "m",
    }
}

impl LinkRow {
    fn new(hospital: &str, l: &ChainLink) -> LinkRow {
        let item = match l.kind {
            LinkKind::Observation => compact_observation_item(&l.item),
            LinkKind::Mapping => {
                (l.item == huren_core::integrity::mapping_item(hospital, l.seq)).then(String::new)
            }
        };
        LinkRow {
            hospital_id: hospital.to_owned(),
            seq: l.seq,
            kind: stored_kind(l.kind).to_owned(),
            item: item.unwrap_or_else(|| l.item.clone()),
            digest: l.digest.to_vec(),
            state: if l.state == GENESIS {
                Vec::new()
            } else {
                l.state.to_vec()
            },
            link: l.link.to_vec(),
        }
    }

    pub(crate) fn into_link(self) -> ChainLink {
        // An unknown kind cannot have been written by huren; as a mapping it is checked
        // against a change that does not exist and so reported.
        let kind = match self.kind.as_str() {
            "o" => LinkKind::Observation,
            "m" => LinkKind::Mapping,
            other => LinkKind::parse(other).unwrap_or(LinkKind::Mapping),
        };
        let item = match kind {
            // Without a version the item is not one huren writes: no version has it, so it is
            // reported as gone.
            LinkKind::Observation if !self.item.starts_with(OBSERVATION_ITEM_PREFIX) => {
                expand_observation(&self.item)
            }
            LinkKind::Mapping if self.item.is_empty() => {
                huren_core::integrity::mapping_item(&self.hospital_id, self.seq)
            }
            _ => self.item,
        };
        ChainLink {
            seq: self.seq,
            kind,
            item,
            digest: hash(&self.digest),
            state: if self.state.is_empty() {
                GENESIS
            } else {
                hash(&self.state)
            },
            link: hash(&self.link),
        }
    }
}

/// `ID/N` for `Observation/ID/_history/N` (`None`: another shape, stored whole). Only an item
/// that the expansion in [`LinkRow::into_link`] gives back byte for byte is compacted.
fn compact_observation_item(item: &str) -> Option<String> {
    let (id, version) = parse_observation_item(item)?;
    let compact = format!("{id}/{version}");
    (!id.is_empty()
        && !id.contains('/')
        && !version.contains('/')
        && !compact.starts_with(OBSERVATION_ITEM_PREFIX))
    .then_some(compact)
}

/// What a writing transaction appends to one hospital's chain: kind, item (None: the item of a
/// mapping change, named by its seq), digest, state.
pub(crate) type Pending = (LinkKind, Option<String>, Hash, Hash);

/// Audit and chain writes on a connection inside a transaction.
pub(crate) trait Ledger {
    fn insert_audit(&mut self, row: &NewAudit) -> QueryResult<()>;
    /// The hospital's head, created when missing and locked until the transaction ends.
    fn lock_head(&mut self, hospital: &str) -> QueryResult<Chain>;

    /// Appends `items` to the hospital's chain and moves its head; returns the links.
    fn extend_chain(&mut self, hospital: &str, items: Vec<Pending>) -> QueryResult<Vec<ChainLink>>
    where
        Self: Sized,
    {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let mut chain = self.lock_head(hospital)?;
        let links: Vec<ChainLink> = items
            .into_iter()
            .map(|(kind, item, digest, state)| {
                let item = item.unwrap_or_else(|| {
                    huren_core::integrity::mapping_item(hospital, chain.seq + 1)
                });
                chain.append(kind, item, digest, state)
            })
            .collect();
        self.insert_links(hospital, &links, &chain)?;
        Ok(links)
    }

    fn insert_links(
        &mut self,
        hospital: &str,
        links: &[ChainLink],
        head: &Chain,
    ) -> QueryResult<()>;
}

macro_rules! ledger_impl {
    ($conn:ty, $($lock:ident)?) => {
        impl Ledger for $conn {
            fn insert_audit(&mut self, row: &NewAudit) -> QueryResult<()> {
                diesel::insert_into(audit_events::table)
                    .values(row)
                    .execute(self)
                    .map(|_| ())
            }

            fn lock_head(&mut self, hospital: &str) -> QueryResult<Chain> {
                use chain_heads::dsl as h;
                diesel::insert_into(h::chain_heads)
                    .values((h::hospital_id.eq(hospital), h::seq.eq(0i64), h::link.eq(GENESIS.to_vec())))
                    .on_conflict_do_nothing()
                    .execute(self)?;
                let (seq, link): (i64, Vec<u8>) = h::chain_heads
                    .find(hospital)
                    .select((h::seq, h::link))
                    $(.$lock())?
                    .first(self)?;
                Ok(Chain { seq, head: hash(&link) })
            }

            fn insert_links(
                &mut self,
                hospital: &str,
                links: &[ChainLink],
                head: &Chain,
            ) -> QueryResult<()> {
                use chain_heads::dsl as h;
                let rows: Vec<LinkRow> = links.iter().map(|l| LinkRow::new(hospital, l)).collect();
                for rows in rows.chunks(crate::rows_per_statement(7)) {
                    diesel::insert_into(chain_links::table).values(rows).execute(self)?;
                }
                diesel::update(h::chain_heads.find(hospital))
                    .set((h::seq.eq(head.seq), h::link.eq(head.head.to_vec())))
                    .execute(self)?;
                Ok(())
            }
        }
    };
}

ledger_impl!(diesel::SqliteConnection,);
ledger_impl!(diesel::PgConnection, for_update);

impl Store {
    /// The audit record of a write, stamped with this store's context.
    pub(crate) fn record(&self, kind: &str, action: AuditAction) -> AuditRecord {
        AuditRecord::new(&self.context, kind, action, crate::now_millis())
    }

    pub(crate) fn record_audit_impl(&self, records: &[AuditRecord]) -> Result<(), StoreError> {
        let rows: Vec<NewAudit> = records.iter().map(NewAudit::new).collect();
        with_write_conn!(self, |conn| conn.transaction(|conn| {
            for row in &rows {
                conn.insert_audit(row)?;
            }
            Ok::<_, StoreError>(())
        }))
    }

    pub(crate) fn audit_events_impl(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        use audit_events::dsl as a;
        let escape = |s: &str| {
            s.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        };
        let rows: Vec<AuditRow> = with_conn!(self, |conn| {
            let mut query = a::audit_events.select(AuditRow::as_select()).into_boxed();
            if let Some(site) = &q.site {
                query = query.filter(a::site.eq(site.as_str().to_owned()));
            }
            if let Some(agent) = &q.agent {
                query = query.filter(a::agent.eq(agent.clone()));
            }
            if let Some(kind) = &q.kind {
                query = query.filter(a::kind.eq(kind.clone()));
            }
            if let Some(action) = q.action {
                query = query.filter(a::action.eq(action.code()));
            }
            if let Some(outcome) = q.outcome {
                query = query.filter(a::outcome.eq(outcome.code()));
            }
            if let Some(from) = q.from {
                query = query.filter(a::recorded_at.ge(from));
            }
            if let Some(to) = q.to {
                query = query.filter(a::recorded_at.lt(to));
            }
            if let Some(entity) = &q.entity {
                // The entity itself or a version of it, whole (rows written before the
                // compact form) or compact (`compact_entity`).
                let e = escape(entity);
                let compact = compact_entity(entity);
                let c = escape(&compact);
                let c_versions = if compact == entity.as_str() {
                    format!("%\n{c}\n%")
                } else {
                    format!("%\n{c}/%")
                };
                query = query.filter(
                    a::entities
                        .like(format!("%\n{e}\n%"))
                        .escape('\\')
                        .or(a::entities
                            .like(format!("%\n{e}/\\_history/%"))
                            .escape('\\'))
                        .or(a::entities.like(format!("%\n{c}\n%")).escape('\\'))
                        .or(a::entities.like(c_versions).escape('\\')),
                );
            }
            if let Some(patient) = &q.patient {
                let p = escape(patient);
                query = query.filter(
                    a::patients
                        .like(format!("%\n{p}\n%"))
                        .escape('\\')
                        .or(a::patients.like(format!("%|{p}\n%")).escape('\\')),
                );
            }
            query
                .order((a::recorded_at.desc(), a::id.desc()))
                .limit(q.limit.max(1) as i64)
                .load(conn)?
        });
        Ok(rows.into_iter().map(AuditRow::into_record).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_are_stored_compactly_and_read_back_byte_for_byte() {
        let id = "4aeac9325ac030f7cc46f3ba8ba359e3";
        for (entity, stored) in [
            (format!("Observation/{id}/_history/3"), format!("@{id}/3")),
            (format!("Observation/{id}"), format!("@{id}")),
            ("@odd".to_owned(), "@@odd".to_owned()),
            ("@@".to_owned(), "@@@".to_owned()),
            // Kept whole: other resources, and shapes the compact form cannot say.
            (
                "ConceptMap/hosp-a".to_owned(),
                "ConceptMap/hosp-a".to_owned(),
            ),
            ("Observation/@x".to_owned(), "Observation/@x".to_owned()),
            ("Observation/a/b".to_owned(), "Observation/a/b".to_owned()),
            (
                "Observation/a/_history/1/2".to_owned(),
                "Observation/a/_history/1/2".to_owned(),
            ),
            ("Observation/".to_owned(), "Observation/".to_owned()),
            (
                "Observation//_history/1".to_owned(),
                "Observation//_history/1".to_owned(),
            ),
        ] {
            assert_eq!(compact_entity(&entity), stored.as_str());
            assert_eq!(expand_entity(&stored), entity);
        }
    }

    #[test]
    fn lines_round_trip() {
        let items = vec!["Observation/a/_history/1".to_string(), "x y".to_string()];
        assert_eq!(lines(&items), "\nObservation/a/_history/1\nx y\n");
        assert_eq!(unlines(&lines(&items)), items);
        assert!(unlines(&lines(Vec::<String>::new())).is_empty());
    }

    fn link(seq: i64, kind: LinkKind, item: &str, state: Hash) -> ChainLink {
        ChainLink {
            seq,
            kind,
            item: item.to_owned(),
            digest: [7; 32],
            state,
            link: [9; 32],
        }
    }

    #[test]
    fn a_link_is_stored_compactly_and_read_back_as_it_was_hashed() {
        let id = "4aeac9325ac030f7cc46f3ba8ba359e3";
        let cases = [
            // (link, item, kind and state as stored)
            (
                link(
                    3,
                    LinkKind::Observation,
                    &format!("Observation/{id}/_history/12"),
                    GENESIS,
                ),
                format!("{id}/12"),
                "o",
                0,
            ),
            (
                link(4, LinkKind::Mapping, "MappingChange/hosp-a/4", [5; 32]),
                String::new(),
                "m",
                32,
            ),
            (
                link(5, LinkKind::Mapping, "MappingChange/hosp-a/4", GENESIS),
                "MappingChange/hosp-a/4".to_owned(),
                "m",
                0,
            ),
            // Shapes huren does not write are kept whole.
            (
                link(6, LinkKind::Observation, "Observation/x", GENESIS),
                "Observation/x".to_owned(),
                "o",
                0,
            ),
            (
                link(
                    7,
                    LinkKind::Observation,
                    "Observation/a/b/_history/1",
                    GENESIS,
                ),
                "Observation/a/b/_history/1".to_owned(),
                "o",
                0,
            ),
            (
                link(
                    8,
                    LinkKind::Observation,
                    "Observation/Observation/_history/1",
                    GENESIS,
                ),
                "Observation/Observation/_history/1".to_owned(),
                "o",
                0,
            ),
        ];
        for (l, item, kind, state) in cases {
            let row = LinkRow::new("hosp-a", &l);
            assert_eq!(
                (row.item.as_str(), row.kind.as_str(), row.state.len()),
                (item.as_str(), kind, state),
                "{l:?}"
            );
            assert_eq!(row.into_link(), l);
        }
    }

    #[test]
    fn links_written_before_the_compact_form_read_as_they_were() {
        let id = "4aeac9325ac030f7cc46f3ba8ba359e3";
        let old = |kind: &str, item: String, state: Vec<u8>| LinkRow {
            hospital_id: "hosp-a".into(),
            seq: 2,
            kind: kind.into(),
            item,
            digest: vec![7; 32],
            state,
            link: vec![9; 32],
        };
        let item = format!("Observation/{id}/_history/1");
        assert_eq!(
            old("observation", item.clone(), vec![0; 32]).into_link(),
            link(2, LinkKind::Observation, &item, GENESIS)
        );
        assert_eq!(
            old("mapping", "MappingChange/hosp-a/2".into(), vec![5; 32]).into_link(),
            link(2, LinkKind::Mapping, "MappingChange/hosp-a/2", [5; 32])
        );
        // A state that is not a digest reads as one that matches nothing.
        assert_eq!(
            old("o", "x/1".into(), vec![1; 3]).into_link().state,
            [0xff; 32]
        );
    }
}
