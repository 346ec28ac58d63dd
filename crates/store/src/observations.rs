//! Observations, their history, the subjects they are searched by, and the unmapped queue.

use crate::ledger::{Ledger, NewAudit, Pending};
use crate::schema::{observation_history, observation_subjects, observations, unmapped_codes};
use crate::{Pools, Store, StoreError, now_millis, rows_per_statement};
use diesel::prelude::*;
use diesel::upsert::excluded;
use huren_core::HospitalId;
use huren_core::audit::AuditAction;
use huren_core::integrity::{Hash, LinkKind, observation_digest, observation_item};
use huren_core::observation::{
    CodeColumn, ObservationQuery, StoredObservation, UnmappedCode, UnmappedSighting, WriteOutcome,
    decide,
};
use huren_core::result::{Identifier, ResultStatus};
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = observations, treat_none_as_default_value = false)]
pub(crate) struct ObservationRow {
    id: String,
    hospital_id: String,
    identity: String,
    version_id: i64,
    status: String,
    held: String,
    local_code: String,
    national_code: String,
    loinc: String,
    effective_at: Option<i64>,
    resource: String,
    source: String,
    updated_at: i64,
    recognition: String,
    /// The three texts above, packed (`crate::packed`); they are empty when this is not.
    body: Vec<u8>,
}

const OBSERVATION_COLUMNS: usize = 15;

impl ObservationRow {
    /// The row of `o`, whose texts are packed in `body`.
    fn new(o: &StoredObservation, body: Vec<u8>) -> ObservationRow {
        ObservationRow {
            id: o.id.clone(),
            hospital_id: o.hospital.as_str().to_owned(),
            identity: o.identity.clone(),
            version_id: o.version,
            status: o.status.as_str().to_owned(),
            held: o.held.clone(),
            local_code: o.local_code.clone(),
            national_code: o.national_code.clone(),
            loinc: o.loinc.clone(),
            effective_at: o.effective_at,
            resource: String::new(),
            source: String::new(),
            updated_at: o.updated_at,
            recognition: String::new(),
            body,
        }
    }

    pub(crate) fn into_stored(self, subjects: Vec<Identifier>) -> Option<StoredObservation> {
        let (resource, source, recognition) = crate::packed::unpack_or(
            &self.id,
            &self.body,
            (self.resource, self.source, self.recognition),
        );
        Some(StoredObservation {
            id: self.id,
            hospital: HospitalId::parse(&self.hospital_id).ok()?,
            identity: self.identity,
            version: self.version_id,
            status: ResultStatus::parse(&self.status)?,
            held: self.held,
            local_code: self.local_code,
            national_code: self.national_code,
            loinc: self.loinc,
            effective_at: self.effective_at,
            subjects,
            resource,
            source,
            updated_at: self.updated_at,
            recognition,
        })
    }
}

#[derive(Queryable, Selectable, Insertable, Debug)]
#[diesel(table_name = observation_history, treat_none_as_default_value = false)]
pub(crate) struct HistoryRow {
    pub(crate) observation_id: String,
    version_id: i64,
    status: String,
    held: String,
    resource: String,
    source: String,
    updated_at: i64,
    recognition: String,
    /// As [`ObservationRow`]'s.
    body: Vec<u8>,
}

impl HistoryRow {
    /// The row keeping `stored`, an earlier version.
    fn new(stored: &StoredObservation) -> HistoryRow {
        HistoryRow {
            observation_id: stored.id.clone(),
            version_id: stored.version,
            status: stored.status.as_str().to_owned(),
            held: stored.held.clone(),
            resource: String::new(),
            source: String::new(),
            updated_at: stored.updated_at,
            recognition: String::new(),
            body: crate::packed::pack(&stored.resource, &stored.source, &stored.recognition),
        }
    }

    /// The stored version this row is, of the result whose current version is `current`.
    pub(crate) fn into_version(self, current: &StoredObservation) -> Option<StoredObservation> {
        let (resource, source, recognition) = crate::packed::unpack_or(
            &self.observation_id,
            &self.body,
            (self.resource, self.source, self.recognition),
        );
        Some(StoredObservation {
            version: self.version_id,
            status: ResultStatus::parse(&self.status)?,
            held: self.held,
            resource,
            source,
            updated_at: self.updated_at,
            recognition,
            ..current.clone()
        })
    }
}

#[derive(Queryable, Selectable, Insertable, Debug)]
#[diesel(table_name = observation_subjects, treat_none_as_default_value = false)]
struct SubjectRow {
    observation_id: String,
    system: String,
    value: String,
}

#[derive(Queryable, Selectable, Insertable, Debug)]
#[diesel(table_name = unmapped_codes, treat_none_as_default_value = false)]
struct UnmappedRow {
    hospital_id: String,
    local_code: String,
    local_name: String,
    unit: String,
    seen_count: i64,
    first_seen: i64,
    last_seen: i64,
}

/// Rows per `IN (…)` list when loading by id.
const IDS_PER_QUERY: usize = 500;

/// Loads the subjects of `ids`, by observation id. A macro so that one text serves both
/// backends' connection types. Only for results whose source does not give them
/// (`with_source_subjects`): on SQLite the table is ordered by patient, so this scans it.
macro_rules! load_subjects {
    ($conn:ident, $ids:expr) => {{
        use crate::schema::observation_subjects::dsl as s;
        let mut by_id: HashMap<String, Vec<Identifier>> = HashMap::new();
        for ids in $ids.chunks(IDS_PER_QUERY) {
            let rows: Vec<SubjectRow> = s::observation_subjects
                .filter(s::observation_id.eq_any(ids))
                .order((s::observation_id.asc(), s::system.asc(), s::value.asc()))
                .select(SubjectRow::as_select())
                .load($conn)?;
            for r in rows {
                by_id
                    .entry(r.observation_id)
                    .or_default()
                    .push(Identifier::new(r.system, r.value));
            }
        }
        by_id
    }};
}

/// Gives the results of `$found` whose ids are in `$unread` their subjects from the table.
macro_rules! subjects_from_table {
    ($conn:ident, $found:ident, $unread:ident) => {{
        let mut subjects = load_subjects!($conn, $unread);
        for o in $found.iter_mut() {
            if let Some(s) = subjects.remove(&o.id) {
                o.subjects = s;
            }
        }
    }};
}

/// Loads the stored Observations with `ids`, with their subjects; `for_update` locks the rows
/// (PostgreSQL).
macro_rules! load_by_ids {
    ($conn:ident, $ids:expr $(, $lock:ident)?) => {{
        use crate::schema::observations::dsl as o;
        let mut rows: Vec<ObservationRow> = Vec::new();
        for ids in $ids.chunks(IDS_PER_QUERY) {
            let chunk: Vec<ObservationRow> = o::observations
                .filter(o::id.eq_any(ids))
                .select(ObservationRow::as_select())
                $(.$lock())?
                .load($conn)?;
            rows.extend(chunk);
        }
        let (mut found, unread) = with_source_subjects(rows);
        if !unread.is_empty() {
            subjects_from_table!($conn, found, unread);
        }
        found
            .into_iter()
            .map(|o| (o.id.clone(), o))
            .collect::<HashMap<String, StoredObservation>>()
    }};
}

/// Stored results with their patients' identifiers read back from each one's source
/// ([`huren_core::observation::subjects_of_source`]), and the ids of those whose source does not
/// give them, whose identifiers are read from `observation_subjects` by id. On SQLite that
/// table is ordered by patient only (migration `2026-12-14-000003_subjects_by_patient_only`),
/// so that read scans it: it is for rows huren did not write (its sources always give them).
fn with_source_subjects(rows: Vec<ObservationRow>) -> (Vec<StoredObservation>, Vec<String>) {
    let mut unread = Vec::new();
    let found = rows
        .into_iter()
        .filter_map(|row| row.into_stored(Vec::new()))
        .map(|mut o| {
            match huren_core::observation::subjects_of_source(&o.source) {
                Some(subjects) => o.subjects = subjects,
                None => unread.push(o.id.clone()),
            }
            o
        })
        .collect();
    (found, unread)
}

/// Refuses a batch in which a result has the id of another result — stored, or earlier in the
/// batch — of a different hospital or business identifier. Ids are a 128-bit FNV-1a hash of
/// both ([`huren_core::observation::observation_id`]), which is not collision-resistant: a
/// sender who crafted a collision would otherwise replace another hospital's result, which
/// keeps its hospital. The answer does not name the other result.
fn same_results(
    batch: &[(StoredObservation, Option<UnmappedSighting>)],
    stored: &HashMap<String, StoredObservation>,
) -> Result<(), StoreError> {
    let mut seen: HashMap<&str, (&HospitalId, &str)> = HashMap::new();
    for (o, _) in batch {
        let first = seen
            .entry(&o.id)
            .or_insert((&o.hospital, o.identity.as_str()));
        let other = |h: &HospitalId, identity: &str| h != &o.hospital || identity != o.identity;
        let clash = other(first.0, first.1)
            || stored
                .get(&o.id)
                .is_some_and(|s| other(&s.hospital, &s.identity));
        if clash {
            return Err(StoreError::Conflict(format!(
                "result `{}` of hospital {} has the id {} of another result; nothing was written",
                o.identity, o.hospital, o.id
            )));
        }
    }
    Ok(())
}

/// What one batch writes, worked out before the transaction touches anything.
#[derive(Default)]
struct Plan {
    upserts: Vec<ObservationRow>,
    /// Results stored before that this batch replaces, with their patients' identifiers as
    /// stored: their rows of `observation_subjects` are deleted by their whole key.
    replaced: Vec<(String, Vec<Identifier>)>,
    history: Vec<HistoryRow>,
    subjects: Vec<SubjectRow>,
    unmapped: Vec<UnmappedRow>,
    outcomes: Vec<(WriteOutcome, i64)>,
    /// The links of the versions written, by hospital (in id order).
    links: BTreeMap<String, Vec<Pending>>,
    /// The audit record of the batch.
    audit: Option<NewAudit>,
}

/// What is worked out for each result of a batch before the write lock is taken: its texts
/// packed, and its digest as a first version (most results are new). Under the lock, a writer
/// waits for the one holding it, so this work there was waited for by every other batch.
struct Prepacked {
    body: Vec<u8>,
    first_digest: Hash,
    /// The patients' identifiers written to `observation_subjects`: those its source gives (as
    /// every read takes them), else the result's own.
    subjects: Vec<Identifier>,
}

fn prepack(batch: &[(StoredObservation, Option<UnmappedSighting>)], now: i64) -> Vec<Prepacked> {
    batch
        .iter()
        .map(|(o, _)| Prepacked {
            body: crate::packed::pack(&o.resource, &o.source, &o.recognition),
            first_digest: observation_digest(&StoredObservation {
                version: 1,
                updated_at: now,
                ..o.clone()
            }),
            subjects: huren_core::observation::subjects_of_source(&o.source)
                .unwrap_or_else(|| o.subjects.clone()),
        })
        .collect()
}

fn plan(
    batch: &[(StoredObservation, Option<UnmappedSighting>)],
    mut prepacked: Vec<Prepacked>,
    stored: HashMap<String, StoredObservation>,
    now: i64,
) -> Plan {
    // The identifiers of the results stored before, to delete their rows by their key.
    let mut stored_subjects: HashMap<String, Vec<Identifier>> = stored
        .iter()
        .map(|(id, o)| (id.clone(), o.subjects.clone()))
        .collect();
    let mut current: HashMap<String, StoredObservation> = stored;
    // Whether each id is new to the database (insert) or was stored before (history).
    let mut existed: HashMap<String, bool> = current.keys().map(|id| (id.clone(), true)).collect();
    let mut plan = Plan::default();
    let mut order: Vec<String> = Vec::new();
    let mut sightings: HashMap<(String, String), UnmappedRow> = HashMap::new();
    // The batch entry each result to write comes from.
    let mut from: HashMap<String, usize> = HashMap::new();
    for (i, (incoming, sighting)) in batch.iter().enumerate() {
        let outcome = match current.get(&incoming.id) {
            None => WriteOutcome::Created,
            Some(stored) => decide(stored, incoming),
        };
        let version = match outcome {
            WriteOutcome::Created => 1,
            WriteOutcome::Updated => {
                let stored = &current[&incoming.id];
                if existed.get(&incoming.id) == Some(&true) {
                    plan.history.push(HistoryRow::new(stored));
                }
                stored.version + 1
            }
            WriteOutcome::Unchanged | WriteOutcome::Stale => current[&incoming.id].version,
        };
        plan.outcomes.push((outcome, version));
        if !matches!(outcome, WriteOutcome::Created | WriteOutcome::Updated) {
            continue;
        }
        if let Some(s) = sighting {
            let row = sightings
                .entry((s.hospital.as_str().to_owned(), s.local_code.clone()))
                .or_insert_with(|| UnmappedRow {
                    hospital_id: s.hospital.as_str().to_owned(),
                    local_code: s.local_code.clone(),
                    local_name: String::new(),
                    unit: String::new(),
                    seen_count: 0,
                    first_seen: s.at,
                    last_seen: s.at,
                });
            row.seen_count += 1;
            row.first_seen = row.first_seen.min(s.at);
            row.last_seen = row.last_seen.max(s.at);
            if !s.local_name.is_empty() {
                row.local_name.clone_from(&s.local_name);
            }
            if !s.unit.is_empty() {
                row.unit.clone_from(&s.unit);
            }
        }
        let mut written = incoming.clone();
        written.version = version;
        written.updated_at = now;
        if !current.contains_key(&incoming.id) {
            order.push(incoming.id.clone());
            existed.entry(incoming.id.clone()).or_insert(false);
        } else if !order.contains(&incoming.id) {
            order.push(incoming.id.clone());
        }
        current.insert(incoming.id.clone(), written);
        from.insert(incoming.id.clone(), i);
    }
    for id in order {
        let o = &current[&id];
        if existed.get(&id) == Some(&true) {
            let subjects = stored_subjects.remove(&id).unwrap_or_default();
            plan.replaced.push((id.clone(), subjects));
        }
        plan.links
            .entry(o.hospital.as_str().to_owned())
            .or_default()
            .push((
                LinkKind::Observation,
                Some(observation_item(&o.id, o.version)),
                if o.version == 1 {
                    prepacked[from[&id]].first_digest
                } else {
                    observation_digest(o)
                },
                [0; 32],
            ));
        let packed = &mut prepacked[from[&id]];
        plan.upserts
            .push(ObservationRow::new(o, std::mem::take(&mut packed.body)));
        plan.subjects
            .extend(
                std::mem::take(&mut packed.subjects)
                    .into_iter()
                    .map(|s| SubjectRow {
                        observation_id: id.clone(),
                        system: s.system,
                        value: s.value,
                    }),
            );
    }
    plan.subjects.sort_by(|a, b| {
        (&a.observation_id, &a.system, &a.value).cmp(&(&b.observation_id, &b.system, &b.value))
    });
    plan.subjects.dedup_by(|a, b| {
        a.observation_id == b.observation_id && a.system == b.system && a.value == b.value
    });
    plan.unmapped = sightings.into_values().collect();
    plan
}

/// Runs `$body` for each backend, as `with_conn!` does, binding `$conn`.
macro_rules! write_plan {
    ($conn:ident, $plan:expr) => {{
        use crate::schema::observation_history::dsl as h;
        use crate::schema::observation_subjects::dsl as s;
        use crate::schema::observations::dsl as o;
        use crate::schema::unmapped_codes::dsl as u;
        let plan = $plan;
        // By each row's whole key: on SQLite the table is ordered by patient only.
        for (id, subjects) in &plan.replaced {
            for subject in subjects {
                diesel::delete(
                    s::observation_subjects
                        .filter(s::value.eq(&subject.value))
                        .filter(s::system.eq(&subject.system))
                        .filter(s::observation_id.eq(id)),
                )
                .execute($conn)?;
            }
        }
        for rows in plan.history.chunks(rows_per_statement(9)) {
            diesel::insert_into(h::observation_history)
                .values(rows)
                .execute($conn)?;
        }
        for rows in plan.upserts.chunks(rows_per_statement(OBSERVATION_COLUMNS)) {
            diesel::insert_into(o::observations)
                .values(rows)
                .on_conflict(o::id)
                .do_update()
                .set((
                    o::version_id.eq(excluded(o::version_id)),
                    o::status.eq(excluded(o::status)),
                    o::held.eq(excluded(o::held)),
                    o::local_code.eq(excluded(o::local_code)),
                    o::national_code.eq(excluded(o::national_code)),
                    o::loinc.eq(excluded(o::loinc)),
                    o::effective_at.eq(excluded(o::effective_at)),
                    o::resource.eq(excluded(o::resource)),
                    o::source.eq(excluded(o::source)),
                    o::updated_at.eq(excluded(o::updated_at)),
                    o::recognition.eq(excluded(o::recognition)),
                    o::body.eq(excluded(o::body)),
                ))
                .execute($conn)?;
        }
        for rows in plan.subjects.chunks(rows_per_statement(3)) {
            diesel::insert_into(s::observation_subjects)
                .values(rows)
                .execute($conn)?;
        }
        for rows in plan.unmapped.chunks(rows_per_statement(7)) {
            diesel::insert_into(u::unmapped_codes)
                .values(rows)
                .on_conflict((u::hospital_id, u::local_code))
                .do_update()
                .set((
                    u::seen_count.eq(u::seen_count + excluded(u::seen_count)),
                    u::last_seen.eq(excluded(u::last_seen)),
                    u::local_name.eq(excluded(u::local_name)),
                    u::unit.eq(excluded(u::unit)),
                ))
                .execute($conn)?;
        }
        if let Some(audit) = &plan.audit {
            $conn.insert_audit(audit)?;
        }
        // Last: the head stays locked only from here to the commit.
        for (hospital, items) in plan.links {
            $conn.extend_chain(&hospital, items)?;
        }
        Ok::<_, StoreError>(())
    }};
}

impl Store {
    /// The audit record of a written batch: what was created and updated, for which
    /// patients.
    fn batch_audit(
        &self,
        batch: &[(StoredObservation, Option<UnmappedSighting>)],
        outcomes: &[(WriteOutcome, i64)],
    ) -> NewAudit {
        let count = |w: WriteOutcome| outcomes.iter().filter(|(o, _)| *o == w).count();
        let created = count(WriteOutcome::Created);
        let mut audit = self.record(
            "results",
            if created > 0 {
                AuditAction::Create
            } else {
                AuditAction::Update
            },
        );
        audit.description = format!(
            "{} results: {created} created, {} updated, {} unchanged, {} older than stored",
            batch.len(),
            count(WriteOutcome::Updated),
            count(WriteOutcome::Unchanged),
            count(WriteOutcome::Stale)
        );
        let mut patients = BTreeSet::new();
        let mut hospitals = BTreeSet::new();
        for ((o, _), (outcome, version)) in batch.iter().zip(outcomes) {
            audit.entities.push(match outcome {
                WriteOutcome::Created | WriteOutcome::Updated => observation_item(&o.id, *version),
                _ => format!("Observation/{}", o.id),
            });
            hospitals.insert(&o.hospital);
            patients.extend(
                o.subjects
                    .iter()
                    .map(|s| format!("{}|{}", s.system, s.value)),
            );
        }
        audit.entities.dedup();
        if hospitals.len() == 1 {
            audit.site = hospitals.pop_first().cloned();
        }
        audit.patients = patients.into_iter().collect();
        NewAudit::new(&audit)
    }

    pub(crate) fn write_observations_impl(
        &self,
        batch: &[(StoredObservation, Option<UnmappedSighting>)],
    ) -> Result<Vec<(WriteOutcome, i64)>, StoreError> {
        let mut ids: Vec<String> = batch.iter().map(|(o, _)| o.id.clone()).collect();
        ids.sort_unstable();
        ids.dedup();
        let now = now_millis();
        let prepacked = prepack(batch, now);
        match &self.pools {
            Pools::Sqlite(pool) => {
                let _gate = self.write_gate();
                let mut conn = pool.get().map_err(|e| StoreError::Connect(e.to_string()))?;
                // An immediate transaction takes the write lock before reading, so the plan is
                // made on what no one else can change before it is written.
                conn.immediate_transaction(|conn| {
                    let stored = load_by_ids!(conn, ids);
                    same_results(batch, &stored)?;
                    let mut plan = plan(batch, prepacked, stored, now);
                    plan.audit = Some(self.batch_audit(batch, &plan.outcomes));
                    let outcomes = plan.outcomes.clone();
                    write_plan!(conn, plan)?;
                    Ok(outcomes)
                })
            }
            Pools::Pg(pool) => {
                let mut conn = pool.get().map_err(|e| StoreError::Connect(e.to_string()))?;
                conn.transaction(|conn| {
                    // Row locks: another node writing the same results waits for this batch.
                    let stored = load_by_ids!(conn, ids, for_update);
                    same_results(batch, &stored)?;
                    let mut plan = plan(batch, prepacked, stored, now);
                    plan.audit = Some(self.batch_audit(batch, &plan.outcomes));
                    let outcomes = plan.outcomes.clone();
                    write_plan!(conn, plan)?;
                    Ok(outcomes)
                })
            }
        }
    }

    pub(crate) fn observation_impl(
        &self,
        id: &str,
    ) -> Result<Option<StoredObservation>, StoreError> {
        let ids = [id.to_owned()];
        let mut found = crate::with_conn!(self, |conn| load_by_ids!(conn, ids));
        Ok(found.remove(id))
    }

    pub(crate) fn observation_versions_impl(
        &self,
        id: &str,
    ) -> Result<Vec<StoredObservation>, StoreError> {
        use crate::schema::observation_history::dsl as h;
        let Some(current) = self.observation_impl(id)? else {
            return Ok(Vec::new());
        };
        let rows: Vec<HistoryRow> = crate::with_conn!(self, |conn| h::observation_history
            .filter(h::observation_id.eq(id))
            .order(h::version_id.desc())
            .select(HistoryRow::as_select())
            .load(conn)?);
        let mut versions = vec![current.clone()];
        versions.extend(
            rows.into_iter()
                .filter_map(|row| row.into_version(&current)),
        );
        Ok(versions)
    }

    pub(crate) fn search_observations_impl(
        &self,
        q: &ObservationQuery,
    ) -> Result<Vec<StoredObservation>, StoreError> {
        if let Some(found) = self.patient_results(q)? {
            return Ok(found);
        }
        let rows: Vec<ObservationRow> = crate::with_conn!(self, |conn| {
            use crate::schema::observation_subjects::dsl as s;
            use crate::schema::observations::dsl as o;
            let mut query = o::observations
                .select(ObservationRow::as_select())
                .into_boxed();
            if let Some(h) = &q.hospital {
                query = query.filter(o::hospital_id.eq(h.as_str().to_owned()));
            }
            if !q.include_held {
                query = query.filter(o::held.eq(""));
            }
            if let Some(subject) = &q.subject {
                let mut sub = s::observation_subjects
                    .select(s::observation_id)
                    .filter(s::value.eq(subject.value.clone()))
                    .into_boxed();
                if !subject.system.is_empty() {
                    sub = sub.filter(s::system.eq(subject.system.clone()));
                }
                query = query.filter(o::id.eq_any(sub));
            }
            if !q.codes.is_empty() {
                let of = |column: &CodeColumn| -> Vec<String> {
                    q.codes
                        .iter()
                        .filter(|(c, _)| c == column || *c == CodeColumn::Any)
                        .map(|(_, code)| code.clone())
                        .collect()
                };
                query = query.filter(
                    o::national_code
                        .eq_any(of(&CodeColumn::National))
                        .or(o::loinc.eq_any(of(&CodeColumn::Loinc)))
                        .or(o::local_code.eq_any(of(&CodeColumn::Local))),
                );
            }
            if let Some(from) = q.effective_from {
                query = query.filter(o::effective_at.ge(from));
            }
            if let Some(to) = q.effective_to {
                query = query.filter(o::effective_at.le(to));
            }
            query
                .order_by((
                    o::effective_at.is_null(),
                    o::effective_at.desc(),
                    o::id.asc(),
                ))
                .limit(i64::try_from(q.limit).unwrap_or(i64::MAX))
                .offset(i64::try_from(q.offset).unwrap_or(i64::MAX))
                .load(conn)?
        });
        self.with_subjects(rows)
    }

    pub(crate) fn held_observations_impl(
        &self,
        hospital: &HospitalId,
        local_codes: &[String],
    ) -> Result<Vec<StoredObservation>, StoreError> {
        use crate::schema::observations::dsl as o;
        let mut rows = Vec::new();
        for codes in local_codes.chunks(IDS_PER_QUERY) {
            let chunk: Vec<ObservationRow> = crate::with_conn!(self, |conn| o::observations
                .filter(o::hospital_id.eq(hospital.as_str()))
                .filter(o::held.ne(""))
                .filter(o::local_code.eq_any(codes))
                .order(o::id.asc())
                .select(ObservationRow::as_select())
                .load(conn)?);
            rows.extend(chunk);
        }
        self.with_subjects(rows)
    }

    pub(crate) fn gap_observations_impl(
        &self,
        loincs: Option<&[String]>,
    ) -> Result<Vec<StoredObservation>, StoreError> {
        use crate::schema::observations::dsl as o;
        let mut rows = Vec::new();
        match loincs {
            None => {
                rows = crate::with_conn!(self, |conn| o::observations
                    .filter(o::national_code.eq(""))
                    .filter(o::held.eq(""))
                    .filter(o::loinc.ne(""))
                    .order(o::id.asc())
                    .select(ObservationRow::as_select())
                    .load(conn)?);
            }
            Some(loincs) => {
                for codes in loincs.chunks(IDS_PER_QUERY) {
                    let chunk: Vec<ObservationRow> =
                        crate::with_conn!(self, |conn| o::observations
                            .filter(o::national_code.eq(""))
                            .filter(o::held.eq(""))
                            .filter(o::loinc.eq_any(codes))
                            .order(o::id.asc())
                            .select(ObservationRow::as_select())
                            .load(conn)?);
                    rows.extend(chunk);
                }
            }
        }
        self.with_subjects(rows)
    }

    pub(crate) fn unmapped_codes_impl(
        &self,
        hospital: &HospitalId,
    ) -> Result<Vec<UnmappedCode>, StoreError> {
        use crate::schema::unmapped_codes::dsl as u;
        let rows: Vec<UnmappedRow> = crate::with_conn!(self, |conn| u::unmapped_codes
            .filter(u::hospital_id.eq(hospital.as_str()))
            .order((u::last_seen.desc(), u::local_code.asc()))
            .select(UnmappedRow::as_select())
            .load(conn)?);
        Ok(rows
            .into_iter()
            .map(|r| UnmappedCode {
                local_code: r.local_code,
                local_name: r.local_name,
                unit: r.unit,
                count: r.seen_count,
                first_seen: r.first_seen,
                last_seen: r.last_seen,
            })
            .collect())
    }

    /// The clinician's question — every visible result of one patient (identifier system and
    /// value), newest first — as one fixed statement that diesel prepares once per connection
    /// and keeps (a boxed query, or an `IN` list of ids, is parsed again each time: that was a
    /// sixth of the query's time). `None` when `q` asks anything more.
    ///
    /// Each result's subjects are read back from its source
    /// ([`huren_core::observation::subjects_of_source`]) rather than from
    /// `observation_subjects`: that second statement looked up every result's subject rows, one
    /// random page each, and cost a quarter as much as the results themselves. A result whose
    /// source cannot be read that way gets them from the table.
    fn patient_results(
        &self,
        q: &ObservationQuery,
    ) -> Result<Option<Vec<StoredObservation>>, StoreError> {
        let Some(subject) = &q.subject else {
            return Ok(None);
        };
        if q.hospital.is_some()
            || q.include_held
            || !q.codes.is_empty()
            || q.effective_from.is_some()
            || q.effective_to.is_some()
            || subject.system.is_empty()
        {
            return Ok(None);
        }
        let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(q.offset).unwrap_or(i64::MAX);
        let rows: Vec<ObservationRow> = crate::with_conn!(self, |conn| {
            use crate::schema::observation_subjects::dsl as s;
            use crate::schema::observations::dsl as o;
            let of_patient = s::observation_subjects
                .select(s::observation_id)
                .filter(s::value.eq(&subject.value))
                .filter(s::system.eq(&subject.system));
            o::observations
                .select(ObservationRow::as_select())
                .filter(o::held.eq(""))
                .filter(o::id.eq_any(of_patient))
                .order_by((
                    o::effective_at.is_null(),
                    o::effective_at.desc(),
                    o::id.asc(),
                ))
                .limit(limit)
                .offset(offset)
                .load(conn)?
        });
        self.with_subjects(rows).map(Some)
    }

    /// The rows as stored results, with their patients' identifiers read back from each one's
    /// source (`with_source_subjects`), or from the table for those whose source does not give
    /// them.
    fn with_subjects(
        &self,
        rows: Vec<ObservationRow>,
    ) -> Result<Vec<StoredObservation>, StoreError> {
        let (mut found, unread) = with_source_subjects(rows);
        if !unread.is_empty() {
            crate::with_conn!(self, |conn| subjects_from_table!(conn, found, unread));
        }
        Ok(found)
    }
}
