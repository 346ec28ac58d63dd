//! Gathers what the recognition decision reads — the catalogue, the issuing laboratory's
//! region, EQA events and IQC runs, its reference interval against the national one within
//! the allowable total error — and asks core's [`decide`].
//!
//! An [`Assessor`] lives for one request or one ingest batch: it reads the catalogue once and
//! each laboratory's quality data once per item (and day), however many results it judges.

use crate::ingest::ResultsConfig;
use huren_core::ports::{PortError, Storage};
use huren_core::qc::{
    Action, CHINA_OFFSET_MINUTES, ControlObservation, DayStatus, EqaEvent, RuleSet, RunStatus,
    day_of, day_statuses, evaluate,
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

/// The look-back window of one analysis day: `[from, to)` in Unix seconds.
fn iqc_window(day: i64) -> (i64, i64) {
    let day_start = day * DAY - i64::from(CHINA_OFFSET_MINUTES) * 60;
    (day_start - IQC_LOOKBACK_DAYS * DAY, day_start + DAY)
}

/// The runs of one analysis day among `observations` (which cover its look-back window),
/// judged with the runs before, and the day's status (`None`: no control data that day).
fn judge_day(
    observations: &[ControlObservation],
    day: i64,
    rules: &RuleSet,
) -> (Vec<RunStatus>, Option<DayStatus>) {
    let today: Vec<RunStatus> = evaluate(observations, rules)
        .into_iter()
        .filter(|r| day_of(r.run_at, CHINA_OFFSET_MINUTES) == day)
        .collect();
    let status = day_statuses(&today, CHINA_OFFSET_MINUTES)
        .into_iter()
        .next();
    (today, status)
}

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
    let (from, to) = iqc_window(day);
    let observations = store.iqc_observations(hospital, national_code, from, to)?;
    Ok(judge_day(&observations, day, rules))
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
    controls: HashMap<(HospitalId, String), Controls>,
    iqc: HashMap<(HospitalId, String, i64), IqcDay>,
}

/// Control observations of one laboratory and item read for `[from, to)`.
struct Controls {
    from: i64,
    to: i64,
    observations: Vec<ControlObservation>,
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
            controls: HashMap::new(),
            iqc: HashMap::new(),
        })
    }

    /// [`Assessor::prefetch`] for stored results of any hospitals: the items of each issuer
    /// in one go.
    ///
    /// # Errors
    ///
    /// A storage failure.
    pub fn prefetch_results<'o>(
        &mut self,
        results: impl IntoIterator<Item = &'o huren_core::observation::StoredObservation>,
    ) -> Result<(), PortError> {
        let mut items: HashMap<HospitalId, Vec<(String, i64)>> = HashMap::new();
        for o in results {
            if let Some(r) = recorded_of(o) {
                items
                    .entry(o.hospital.clone())
                    .or_default()
                    .push((r.result.national_code, r.result.collected_at));
            }
        }
        for (issuer, items) in &items {
            self.prefetch(issuer, items)?;
        }
        Ok(())
    }

    /// Reads the EQA events and control observations of `issuer` for every item of `results`
    /// (national code, collection time in Unix seconds) in two queries, so that deciding on a
    /// batch does not ask the database once per item.
    ///
    /// # Errors
    ///
    /// A storage failure.
    pub fn prefetch(
        &mut self,
        issuer: &HospitalId,
        results: &[(String, i64)],
    ) -> Result<(), PortError> {
        let mut codes: Vec<String> = results
            .iter()
            .map(|(c, _)| c.clone())
            .filter(|c| !self.eqa.contains_key(&(issuer.clone(), c.clone())))
            .collect();
        codes.sort_unstable();
        codes.dedup();
        if codes.is_empty() {
            return Ok(());
        }
        for c in &codes {
            self.eqa.insert((issuer.clone(), c.clone()), Vec::new());
        }
        for (code, event) in self.store.eqa_events_of(issuer, &codes)? {
            self.eqa
                .entry((issuer.clone(), code))
                .or_default()
                .push(event);
        }
        let days = results
            .iter()
            .map(|(_, at)| day_of(*at, CHINA_OFFSET_MINUTES));
        let (Some(first), Some(last)) = (days.clone().min(), days.max()) else {
            return Ok(());
        };
        let (from, to) = (iqc_window(first).0, iqc_window(last).1);
        let mut by_code: HashMap<String, Vec<ControlObservation>> = HashMap::new();
        for (code, o) in self.store.iqc_observations_of(issuer, &codes, from, to)? {
            by_code.entry(code).or_default().push(o);
        }
        for c in codes {
            let observations = by_code.remove(&c).unwrap_or_default();
            self.controls.insert(
                (issuer.clone(), c),
                Controls {
                    from,
                    to,
                    observations,
                },
            );
        }
        Ok(())
    }

    /// The EQA events of one laboratory and item, read once.
    ///
    /// # Errors
    ///
    /// A storage failure.
    pub fn eqa_of(&mut self, issuer: &HospitalId, code: &str) -> Result<&[EqaEvent], PortError> {
        let key = (issuer.clone(), code.to_owned());
        if !self.eqa.contains_key(&key) {
            let events = self.store.eqa_events(issuer, code)?;
            self.eqa.insert(key.clone(), events);
        }
        Ok(&self.eqa[&key])
    }

    /// The IQC condition of one laboratory, item and day: from what [`Self::prefetch`] read
    /// when that covers the day's window, else from the store.
    ///
    /// # Errors
    ///
    /// A storage failure.
    pub fn iqc_condition_of(
        &mut self,
        issuer: &HospitalId,
        code: &str,
        day: i64,
        rules: &RuleSet,
    ) -> Result<IqcDay, PortError> {
        let key = (issuer.clone(), code.to_owned(), day);
        if let Some(known) = self.iqc.get(&key) {
            return Ok(known.clone());
        }
        let (from, to) = iqc_window(day);
        let status = match self.controls.get(&(issuer.clone(), code.to_owned())) {
            Some(c) if c.from <= from && to <= c.to => {
                let window: Vec<ControlObservation> = c
                    .observations
                    .iter()
                    .filter(|o| (from..to).contains(&o.run_at))
                    .cloned()
                    .collect();
                judge_day(&window, day, rules).1
            }
            _ => iqc_day(self.store, issuer, code, day, rules)?.1,
        };
        let condition = iqc_condition(status.as_ref());
        self.iqc.insert(key, condition.clone());
        Ok(condition)
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
        self.eqa_of(issuer, code)?;
        let eqa_key = (issuer.clone(), code.clone());
        let day = day_of(recorded.result.collected_at, CHINA_OFFSET_MINUTES);
        let iqc = self.iqc_condition_of(issuer, code, day, &rules)?;
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
            iqc: &iqc,
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
