//! Gathers what the recognition decision reads — the catalogue, the issuing laboratory's
//! region, EQA events and IQC runs, its reference interval against the national one within
//! the allowable total error — and asks core's [`decide`].
//!
//! An [`Assessor`] lives for one request or one ingest batch: it reads the catalogue once and
//! each laboratory's quality data once per item (and day), however many results it judges.

use crate::ingest::ResultsConfig;
use huren_core::ports::{PortError, Storage};
use huren_core::qc::{
    Action, CHINA_OFFSET_MINUTES, DayStatus, EqaEvent, RuleSet, RunStatus, day_of, day_statuses,
    evaluate,
};
use huren_core::recognition::{
    CatalogueEntry, Decision, Facts, IqcDay, Recorded, Region, decide, interval_condition,
};
use huren_core::{CodeSystem, Hospital, HospitalId, Registry};
use std::collections::HashMap;

const DAY: i64 = 86_400;

/// How far back the Westgard rules look for earlier runs: `10x` at two controls per run spans
/// five runs, which at one run a day is five days; thirty days leave room for weekends and
/// holidays without reading a year of data.
pub const IQC_LOOKBACK_DAYS: i64 = 30;

/// The runs of one analysis day (in China time) of one item, judged with the runs of the
/// [`IQC_LOOKBACK_DAYS`] before, and the day's status (`None`: no control data that day).
///
/// # Errors
///
/// A storage failure.
pub fn iqc_day(
    store: &dyn Storage,
    hospital: &HospitalId,
    national_code: &str,
    day: i64,
    rules: &RuleSet,
) -> Result<(Vec<RunStatus>, Option<DayStatus>), PortError> {
    let day_start = day * DAY - i64::from(CHINA_OFFSET_MINUTES) * 60;
    let (from, to) = (day_start - IQC_LOOKBACK_DAYS * DAY, day_start + DAY);
    let observations = store.iqc_observations(hospital, national_code, from, to)?;
    let today: Vec<RunStatus> = evaluate(&observations, rules)
        .into_iter()
        .filter(|r| day_of(r.run_at, CHINA_OFFSET_MINUTES) == day)
        .collect();
    let status = day_statuses(&today, CHINA_OFFSET_MINUTES)
        .into_iter()
        .next();
    Ok((today, status))
}

/// A day's status as the decision reads it.
#[must_use]
pub fn iqc_condition(status: Option<&DayStatus>) -> IqcDay {
    match status {
        None => IqcDay::Missing,
        Some(s) => match s.worst {
            None => IqcDay::InControl,
            Some(Action::Warning) => IqcDay::Warning(s.rules.clone()),
            Some(Action::Reject) => IqcDay::Rejected(s.rules.clone()),
        },
    }
}

/// Judges stored results, caching what it reads.
pub struct Assessor<'a> {
    store: &'a dyn Storage,
    registry: &'a Registry,
    config: &'a ResultsConfig,
    catalogue: Vec<CatalogueEntry>,
    hospitals: HashMap<HospitalId, Option<Hospital>>,
    eqa: HashMap<(HospitalId, String), Vec<EqaEvent>>,
    iqc: HashMap<(HospitalId, String, i64), IqcDay>,
}

impl<'a> Assessor<'a> {
    /// Reads the catalogue.
    ///
    /// # Errors
    ///
    /// A storage failure.
    pub fn new(
        store: &'a dyn Storage,
        registry: &'a Registry,
        config: &'a ResultsConfig,
    ) -> Result<Assessor<'a>, PortError> {
        Ok(Assessor {
            store,
            registry,
            config,
            catalogue: store.catalogue()?,
            hospitals: HashMap::new(),
            eqa: HashMap::new(),
            iqc: HashMap::new(),
        })
    }

    /// The catalogue read at the start.
    #[must_use]
    pub fn catalogue(&self) -> &[CatalogueEntry] {
        &self.catalogue
    }

    /// A hospital, read once.
    ///
    /// # Errors
    ///
    /// A storage failure.
    pub fn hospital(&mut self, id: &HospitalId) -> Result<Option<&Hospital>, PortError> {
        if !self.hospitals.contains_key(id) {
            let h = self.store.hospital(id)?;
            self.hospitals.insert(id.clone(), h);
        }
        Ok(self.hospitals.get(id).and_then(Option::as_ref))
    }

    /// Whether a result of `issuer` is recognizable at a hospital in `receiver` at `at` (Unix
    /// seconds), with every reason.
    ///
    /// # Errors
    ///
    /// A storage failure.
    pub fn decide(
        &mut self,
        issuer: &HospitalId,
        recorded: &Recorded,
        receiver: &Region,
        at: i64,
    ) -> Result<Decision, PortError> {
        let code = &recorded.result.national_code;
        let (region, rules, harmonized) = match self.hospital(issuer)? {
            Some(h) => (h.region(), h.lab.rule_set(), h.lab.harmonized_intervals),
            None => (Region::default(), RuleSet::classic(), false),
        };
        let eqa_key = (issuer.clone(), code.clone());
        if !self.eqa.contains_key(&eqa_key) {
            let events = self.store.eqa_events(issuer, code)?;
            self.eqa.insert(eqa_key.clone(), events);
        }
        let day = day_of(recorded.result.collected_at, CHINA_OFFSET_MINUTES);
        let iqc_key = (issuer.clone(), code.clone(), day);
        if !self.iqc.contains_key(&iqc_key) {
            let (_, status) = iqc_day(self.store, issuer, code, day, &rules)?;
            self.iqc
                .insert(iqc_key.clone(), iqc_condition(status.as_ref()));
        }
        let tea = self
            .registry
            .lookup(CodeSystem::National, code)
            .and_then(|c| self.config.tea.for_concept(c));
        let interval = interval_condition(
            recorded.lab_interval,
            harmonized,
            recorded.national_interval,
            tea.as_ref(),
        );
        let events = &self.eqa[&eqa_key];
        let eqa = self
            .config
            .eqa
            .assess(events, day_of(at, CHINA_OFFSET_MINUTES));
        Ok(decide(&Facts {
            result: &recorded.result,
            issuer: &region,
            receiver,
            catalogue: &self.catalogue,
            eqa: &eqa,
            iqc: &self.iqc[&iqc_key],
            interval: &interval,
            at,
        }))
    }
}

/// The recorded facts of a stored Observation, or `None` for a held one (or one stored before
/// recognition was recorded).
#[must_use]
pub fn recorded_of(o: &huren_core::observation::StoredObservation) -> Option<Recorded> {
    if o.recognition.is_empty() {
        return None;
    }
    serde_json::from_str(&o.recognition).ok()
}
