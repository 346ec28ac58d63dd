//! Ports: the traits through which the outer crates store and search the registry.
//! `huren-store` implements [`RegistryStore`]; `huren-search` implements [`ConceptSearch`].

use crate::audit::{AuditContext, AuditQuery, AuditRecord};
use crate::code::CodeSystem;
use crate::concept::{Concept, Release};
use crate::integrity::ChainReport;
use crate::jobs::{Job, JobEnd, JobKind, JobRecord};
use crate::mapping::{Hospital, HospitalId, Mapping, MappingChange};
use crate::observation::{
    ObservationQuery, StoredObservation, UnmappedCode, UnmappedSighting, WriteOutcome,
};
use crate::qc::{ControlObservation, EqaEvent};
use crate::recognition::{CatalogueEntry, Retest};

/// A failure of an adapter behind a port. Outcomes that are answers (an unknown code, a failed
/// validation) are values, never this error.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// The backing service failed or is unreachable.
    #[error("storage failure: {0}")]
    Backend(String),
    /// The write contradicts what is stored (e.g. a release label already used).
    #[error("{0}")]
    Conflict(String),
}

/// Durable storage of registry releases.
pub trait RegistryStore: Send + Sync {
    /// Every release of every code system, oldest first.
    fn releases(&self) -> Result<Vec<Release>, PortError>;

    /// Stores a release and all its concepts in one transaction: either everything is written
    /// or nothing is. A label already used for the same system is a [`PortError::Conflict`].
    fn insert_release(
        &self,
        system: CodeSystem,
        label: &str,
        source: &str,
        concepts: &[Concept],
    ) -> Result<Release, PortError>;

    /// All concepts of one release, ordered by code.
    fn release_concepts(&self, release_id: i64) -> Result<Vec<Concept>, PortError>;

    /// One concept of one release.
    fn concept(&self, release_id: i64, code: &str) -> Result<Option<Concept>, PortError>;
}

/// One page of free-text search results.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchPage {
    /// How many concepts matched in all.
    pub total: usize,
    /// Matched codes, best first.
    pub codes: Vec<String>,
}

/// Free-text search over the current release of each code system.
pub trait ConceptSearch: Send + Sync {
    /// Ranked search of `text` in `system`, skipping `offset` hits and returning at most
    /// `count`. Empty `text` is not a search; callers list concepts instead.
    fn search(
        &self,
        system: CodeSystem,
        text: &str,
        offset: usize,
        count: usize,
    ) -> Result<SearchPage, PortError>;
}

/// Durable storage of hospitals.
pub trait HospitalStore: Send + Sync {
    /// Creates the hospital or replaces its fields; returns whether it was new.
    fn upsert_hospital(&self, hospital: &Hospital) -> Result<bool, PortError>;

    /// Creates or replaces several hospitals in one transaction.
    fn upsert_hospitals(&self, hospitals: &[Hospital]) -> Result<(), PortError>;

    /// Every hospital, ordered by id.
    fn hospitals(&self) -> Result<Vec<Hospital>, PortError>;

    fn hospital(&self, id: &HospitalId) -> Result<Option<Hospital>, PortError>;

    /// [`HospitalStore::hospital`] when the answer is in memory (a cache): `Some(answer)`
    /// without any I/O, or `None` when only `hospital` can tell. Lets an async caller answer
    /// without handing the call to a blocking thread.
    fn hospital_in_memory(&self, _id: &HospitalId) -> Option<Option<Hospital>> {
        None
    }
}

/// Durable storage of local-code mappings and their history.
pub trait MappingStore: Send + Sync {
    /// Every mapping of one hospital, ordered by local code.
    fn mappings(&self, hospital: &HospitalId) -> Result<Vec<Mapping>, PortError>;

    fn mapping(
        &self,
        hospital: &HospitalId,
        local_code: &str,
    ) -> Result<Option<Mapping>, PortError>;

    /// [`MappingStore::mapping`] when the answer is in memory (a cache): `Some(answer)` without
    /// any I/O, or `None` when only `mapping` can tell.
    fn mapping_in_memory(
        &self,
        _hospital: &HospitalId,
        _local_code: &str,
    ) -> Option<Option<Mapping>> {
        None
    }

    /// The hospital's mappings of the given local codes (those it has), in any order.
    fn mappings_for(
        &self,
        hospital: &HospitalId,
        local_codes: &[String],
    ) -> Result<Vec<Mapping>, PortError>;

    /// Inserts or replaces (by hospital and local code) every mapping in `writes` and appends
    /// `history`, all in one transaction: either everything is written or nothing is.
    fn apply_mappings(
        &self,
        writes: &[Mapping],
        history: &[MappingChange],
    ) -> Result<(), PortError>;

    /// The history of one mapping, oldest first.
    fn mapping_history(
        &self,
        hospital: &HospitalId,
        local_code: &str,
    ) -> Result<Vec<MappingChange>, PortError>;

    /// Approved mappings of every hospital, as (hospital, local name, target code — the
    /// national code, or the LOINC code of a LOINC-only mapping): the evidence that ranks
    /// suggestions.
    fn approved_names(&self) -> Result<Vec<(HospitalId, String, String)>, PortError>;

    /// Every hospital's mappings to a LOINC term without a national code (any status), by
    /// hospital and local code.
    fn loinc_mappings(&self) -> Result<Vec<Mapping>, PortError>;
}

/// Durable storage of Observations, their history and the unmapped queue.
pub trait ObservationStore: Send + Sync {
    /// Writes a batch in one transaction: each Observation is created, replaces the stored one
    /// with its id (the stored version goes to the history, the version number goes up), or is
    /// left alone, as [`crate::observation::decide`] says; the sighting that comes with an
    /// Observation that was created or updated is counted into the unmapped queue. Returns the outcome and the written version of each, in order. Either
    /// everything is written or nothing is. `version` and `updated_at` of the input are
    /// ignored: the store assigns them.
    fn write_observations(
        &self,
        batch: &[(StoredObservation, Option<UnmappedSighting>)],
    ) -> Result<Vec<(WriteOutcome, i64)>, PortError>;

    fn observation(&self, id: &str) -> Result<Option<StoredObservation>, PortError>;

    /// Every version of one Observation, newest first (the current one included).
    fn observation_versions(&self, id: &str) -> Result<Vec<StoredObservation>, PortError>;

    /// Observations matching `query`, newest effective time first, then by id.
    fn search_observations(
        &self,
        query: &ObservationQuery,
    ) -> Result<Vec<StoredObservation>, PortError>;

    /// The held results of one hospital with one of `local_codes`.
    fn held_observations(
        &self,
        hospital: &HospitalId,
        local_codes: &[String],
    ) -> Result<Vec<StoredObservation>, PortError>;

    /// The visible results without a national code, kept under a LOINC code the registry
    /// lacks (registry gaps): all of them, or those with one of `loincs`.
    fn gap_observations(
        &self,
        loincs: Option<&[String]>,
    ) -> Result<Vec<StoredObservation>, PortError>;

    /// The hospital's unmapped queue, most recently seen first.
    fn unmapped_codes(&self, hospital: &HospitalId) -> Result<Vec<UnmappedCode>, PortError>;
}

/// Durable storage of laboratory quality data (per hospital and national code) and of the
/// recognition catalogue. Writes are upserts in one transaction: a resent EQA event (same
/// program and event), control observation (same run and material) or catalogue entry (same
/// scope and item) replaces the stored one.
pub trait QualityStore: Send + Sync {
    /// Stores EQA events, each with its item's national code; returns how many were written.
    fn put_eqa_events(
        &self,
        hospital: &HospitalId,
        events: &[(String, EqaEvent)],
    ) -> Result<usize, PortError>;
    /// The hospital's EQA events for several items, each with its item, oldest first.
    fn eqa_events_of(
        &self,
        hospital: &HospitalId,
        national_codes: &[String],
    ) -> Result<Vec<(String, EqaEvent)>, PortError>;
    /// The hospital's EQA events for one item, oldest first.
    fn eqa_events(
        &self,
        hospital: &HospitalId,
        national_code: &str,
    ) -> Result<Vec<EqaEvent>, PortError> {
        Ok(self
            .eqa_events_of(hospital, &[national_code.to_owned()])?
            .into_iter()
            .map(|(_, e)| e)
            .collect())
    }
    /// Stores control observations, each with its item's national code.
    fn put_iqc_observations(
        &self,
        hospital: &HospitalId,
        observations: &[(String, ControlObservation)],
    ) -> Result<usize, PortError>;
    /// The hospital's control observations for several items with `from <= run_at < to`
    /// (seconds), each with its item, oldest first.
    fn iqc_observations_of(
        &self,
        hospital: &HospitalId,
        national_codes: &[String],
        from: i64,
        to: i64,
    ) -> Result<Vec<(String, ControlObservation)>, PortError>;
    /// The hospital's control observations for one item with `from <= run_at < to` (seconds),
    /// oldest first.
    fn iqc_observations(
        &self,
        hospital: &HospitalId,
        national_code: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<ControlObservation>, PortError> {
        Ok(self
            .iqc_observations_of(hospital, &[national_code.to_owned()], from, to)?
            .into_iter()
            .map(|(_, o)| o)
            .collect())
    }
    /// Adds or replaces catalogue entries.
    fn put_catalogue(&self, entries: &[CatalogueEntry]) -> Result<usize, PortError>;
    /// The whole catalogue, by national code then scope.
    fn catalogue(&self) -> Result<Vec<CatalogueEntry>, PortError>;
    /// Records a clinician's decision to test again; returns its id.
    fn put_retest(&self, retest: &Retest) -> Result<i64, PortError>;
    /// Recorded retests, newest first: of one Observation, of one receiving hospital, or all.
    fn retests(
        &self,
        observation_id: Option<&str>,
        receiver: Option<&HospitalId>,
    ) -> Result<Vec<Retest>, PortError>;
}

/// The audit trail and the hash chains (`crate::audit`, `crate::integrity`).
pub trait AuditStore: Send + Sync {
    /// The same storage, with every write it makes recorded in the audit trail as done in
    /// `context`, in the write's own transaction.
    fn acting_as(&self, context: AuditContext) -> std::sync::Arc<dyn Storage>;
    /// Appends events that are not writes (reads of patient results, refused requests), in
    /// one transaction.
    fn record_audit(&self, records: &[AuditRecord]) -> Result<(), PortError>;
    /// Events matching `query`, newest first.
    fn audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, PortError>;
    /// Recomputes the chain of one hospital, or of every hospital, and reports the first
    /// broken link of each.
    fn verify_chains(&self, hospital: Option<&HospitalId>) -> Result<Vec<ChainReport>, PortError>;
}

/// Background jobs that run exactly once across nodes (`crate::jobs`). Times are Unix
/// milliseconds of the calling node's clock (nodes keep their clocks in step with NTP; a lease
/// is far longer than their drift).
pub trait JobStore: Send + Sync {
    /// Queues a job from `run_after` on.
    fn enqueue_job(&self, kind: JobKind, key: &str, run_after: i64) -> Result<(), PortError>;
    /// Claims the oldest job of `kinds` (and of `key`, when given) that is waiting and due by
    /// `due_by` (`now` for the job loops; later for a request claiming the job it has just
    /// queued, see [`crate::jobs::ASKER_FIRST_MS`]), or whose holder's lease ran out, for
    /// `node` until `now + lease_ms`. Never returns a job while another claim of the same kind
    /// and key holds a live lease, and never the same job to two nodes. The other jobs of the
    /// same kind and key due by `due_by` end with the claim (`done`, "joined job N"): the
    /// claimed job, run after the claim, does their work too.
    fn claim_job(
        &self,
        node: &str,
        kinds: &[JobKind],
        key: Option<&str>,
        now: i64,
        due_by: i64,
        lease_ms: i64,
    ) -> Result<Option<Job>, PortError>;
    /// Extends `node`'s lease of a job; false when the node no longer holds it.
    fn renew_job(&self, id: i64, node: &str, lease_until: i64) -> Result<bool, PortError>;
    /// Ends `node`'s claim of `job`.
    fn finish_job(&self, job: &Job, node: &str, now: i64, end: &JobEnd) -> Result<(), PortError>;
    /// Queues the one job of `kind` of the period starting now when the schedule is due (its
    /// next time has come, or it has none): true for exactly one caller per period, whatever
    /// number of nodes ask.
    fn schedule_job(&self, kind: JobKind, every_ms: i64, now: i64) -> Result<bool, PortError>;
    /// The latest jobs, newest first.
    fn jobs(&self, limit: usize) -> Result<Vec<JobRecord>, PortError>;
    /// Deletes the jobs that ended before `finished_before`; returns how many.
    fn prune_jobs(&self, finished_before: i64) -> Result<usize, PortError>;
}

/// Everything the service stores, behind one object: the ports together.
pub trait Storage:
    RegistryStore
    + HospitalStore
    + MappingStore
    + ObservationStore
    + QualityStore
    + AuditStore
    + JobStore
{
}

impl<
    T: RegistryStore
        + HospitalStore
        + MappingStore
        + ObservationStore
        + QualityStore
        + AuditStore
        + JobStore,
> Storage for T
{
}

/// Why a code was suggested: a stable machine code and a Chinese and an English text.
#[derive(Debug, Clone, PartialEq)]
pub struct SuggestReason {
    pub code: &'static str,
    pub zh: String,
    pub en: String,
}

/// One ranked code suggested for a local test: a national code, or a LOINC term that no
/// national code is equivalent to.
#[derive(Debug, Clone, PartialEq)]
pub struct SuggestedCode {
    pub system: crate::CodeSystem,
    pub code: String,
    pub score: f64,
    /// From 0 to 1: how sure the suggestion is on its own; the answer abstains when the best
    /// is below the search adapter's threshold (`abstain` of [`Suggestions`]).
    pub confidence: f64,
    pub reasons: Vec<SuggestReason>,
}

/// The ranked suggestions for one local test, and whether they abstain: no suggestion is sure
/// enough to offer as the answer (the row is probably not a lab result with a code, or its
/// name is too unlike any).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Suggestions {
    pub codes: Vec<SuggestedCode>,
    pub abstain: bool,
}

/// A local test as far as a curator or a file describes it.
#[derive(Debug, Clone, Copy, Default)]
pub struct SuggestRequest<'a> {
    pub name: &'a str,
    pub unit: &'a str,
    pub specimen: &'a str,
    pub limit: usize,
}

/// Ranked code suggestions for local tests: national codes first, LOINC terms without a
/// national code after them.
pub trait ConceptSuggest: Send + Sync {
    /// `approved` are the approved mappings of every hospital as (hospital, local name,
    /// target code): a name many hospitals mapped to one code ranks that code first.
    fn suggest(
        &self,
        registry: &crate::Registry,
        approved: &[(HospitalId, String, String)],
        request: &SuggestRequest<'_>,
    ) -> Suggestions;
}

/// The search side of the catalog: free-text search and suggestions.
pub trait TermSearch: ConceptSearch + ConceptSuggest {}

impl<T: ConceptSearch + ConceptSuggest> TermSearch for T {}
