//! External quality assessment (室间质评, proficiency testing): whether a laboratory's events
//! for one item were satisfactory, and whether its performance is *unsuccessful*.
//!
//! The scoring follows the structure NCCL shares with US CLIA (domain.md §2.2): an event is
//! satisfactory when at least 80 % of its samples were acceptable; performance is unsuccessful
//! when two of the last three events (which includes two consecutive ones) were
//! unsatisfactory. The thresholds are [`EqaPolicy`] data, not constants, because the NCCL
//! figures are not confirmed from a primary source.

/// One EQA event of one laboratory for one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EqaEvent {
    /// The scheme: `NCCL`, a provincial centre's id …
    pub program: String,
    /// The event's id within the program, e.g. `2026-1`.
    pub event: String,
    /// When the event was scored, as days since 1970-01-01.
    pub date: i64,
    /// Samples in the event; 0 means the laboratory did not return results (scored 0).
    pub samples: u32,
    /// Samples whose result was within the allowable error.
    pub acceptable: u32,
    /// The provider's own verdict, when the file gives one: it overrides the percentage.
    pub passed: Option<bool>,
}

/// The thresholds of EQA scoring.
#[derive(Debug, Clone, PartialEq)]
pub struct EqaPolicy {
    /// Percentage of acceptable samples an event needs to be satisfactory (80).
    pub pass_percent: u32,
    /// How many of the latest events are looked at for unsuccessful performance (3).
    pub window: usize,
    /// How many unsatisfactory events among them make performance unsuccessful (2).
    pub unsatisfactory_limit: usize,
    /// How old the latest event may be for recognition, in days (365: one year of events).
    pub max_age_days: i64,
}

impl Default for EqaPolicy {
    fn default() -> Self {
        EqaPolicy {
            pass_percent: 80,
            window: 3,
            unsatisfactory_limit: 2,
            max_age_days: 365,
        }
    }
}

impl EqaPolicy {
    /// Whether one event was satisfactory: the provider's verdict if given, otherwise at least
    /// `pass_percent` of its samples acceptable (in integers: 4 of 5 is exactly 80 %). An event
    /// with no samples was not taken part in, which scores 0.
    #[must_use]
    pub fn satisfactory(&self, e: &EqaEvent) -> bool {
        if let Some(passed) = e.passed {
            return passed;
        }
        e.samples > 0
            && e.acceptable <= e.samples
            && u64::from(e.acceptable) * 100 >= u64::from(e.samples) * u64::from(self.pass_percent)
    }

    /// Assesses the events of one laboratory and item (any order, any programs) as of day
    /// `today` (days since 1970-01-01). Events after `today` are not yet known and are ignored.
    #[must_use]
    pub fn assess<'a>(&self, events: &'a [EqaEvent], today: i64) -> EqaAssessment<'a> {
        let mut known: Vec<&EqaEvent> = events.iter().filter(|e| e.date <= today).collect();
        known.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.event.cmp(&b.event)));
        let latest = known.last().copied();
        // Unsuccessful performance is judged per program: two schemes' events are not a series.
        let mut unsuccessful_in = Vec::new();
        let mut programs: Vec<&str> = known.iter().map(|e| e.program.as_str()).collect();
        programs.sort_unstable();
        programs.dedup();
        for program in programs {
            let series: Vec<&&EqaEvent> = known.iter().filter(|e| e.program == program).collect();
            let recent = &series[series.len().saturating_sub(self.window)..];
            let bad = recent.iter().filter(|e| !self.satisfactory(e)).count();
            if bad >= self.unsatisfactory_limit {
                unsuccessful_in.push(program.to_owned());
            }
        }
        EqaAssessment {
            latest,
            latest_satisfactory: latest.is_some_and(|e| self.satisfactory(e)),
            latest_age_days: latest.map(|e| today - e.date),
            too_old: latest.is_some_and(|e| today - e.date > self.max_age_days),
            unsuccessful_in,
        }
    }
}

/// What the EQA record says about one laboratory and item on one day.
#[derive(Debug, Clone, PartialEq)]
pub struct EqaAssessment<'a> {
    /// The most recent event, if any.
    pub latest: Option<&'a EqaEvent>,
    pub latest_satisfactory: bool,
    pub latest_age_days: Option<i64>,
    /// The latest event is older than the policy allows.
    pub too_old: bool,
    /// Programs in which performance is unsuccessful.
    pub unsuccessful_in: Vec<String>,
}

impl EqaAssessment<'_> {
    /// The EQA condition of recognition: a recent satisfactory latest event and no
    /// unsuccessful performance.
    #[must_use]
    pub fn passes(&self) -> bool {
        self.latest_satisfactory && !self.too_old && self.unsuccessful_in.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(program: &str, id: &str, date: i64, samples: u32, acceptable: u32) -> EqaEvent {
        EqaEvent {
            program: program.into(),
            event: id.into(),
            date,
            samples,
            acceptable,
            passed: None,
        }
    }

    #[test]
    fn an_event_passes_at_eighty_percent_exactly() {
        let p = EqaPolicy::default();
        for (samples, acceptable, ok) in [
            (5, 5, true),
            (5, 4, true), // 80 % exactly
            (5, 3, false),
            (10, 8, true),
            (10, 7, false),
            (3, 2, false), // 66.7 %
            (0, 0, false), // not taken part in
            (5, 6, false), // impossible counts are not a pass
        ] {
            assert_eq!(
                p.satisfactory(&event("NCCL", "e", 0, samples, acceptable)),
                ok,
                "{acceptable}/{samples}"
            );
        }
        let mut e = event("NCCL", "e", 0, 5, 1);
        e.passed = Some(true);
        assert!(p.satisfactory(&e), "the provider's verdict wins");
        let strict = EqaPolicy {
            pass_percent: 100,
            ..EqaPolicy::default()
        };
        assert!(!strict.satisfactory(&event("NCCL", "e", 0, 5, 4)));
    }

    #[test]
    fn unsuccessful_after_two_of_the_last_three() {
        let p = EqaPolicy::default();
        let good = |id, d| event("NCCL", id, d, 5, 5);
        let bad = |id, d| event("NCCL", id, d, 5, 3);
        // Two consecutive unsatisfactory events.
        let a = [good("1", 10), bad("2", 20), bad("3", 30)];
        assert_eq!(p.assess(&a, 40).unsuccessful_in, ["NCCL"]);
        // Two of three, not consecutive.
        let b = [good("0", 5), bad("1", 10), good("2", 20), bad("3", 30)];
        assert_eq!(p.assess(&b, 40).unsuccessful_in, ["NCCL"]);
        // Two consecutive, then one satisfactory event: the latest passes, performance is
        // still unsuccessful.
        let b = [bad("1", 10), bad("2", 20), good("3", 30)];
        let s = p.assess(&b, 40);
        assert_eq!(s.unsuccessful_in, ["NCCL"]);
        assert!(s.latest_satisfactory);
        assert!(!s.passes());
        // One of the last three: recovered.
        let c = [bad("1", 10), bad("2", 20), good("3", 30), good("4", 40)];
        assert!(p.assess(&c, 50).passes());
        // Events in two programs are separate series.
        let d = [bad("1", 10), event("HB", "1", 20, 5, 3), good("2", 30)];
        assert!(p.assess(&d, 40).passes());
    }

    #[test]
    fn latest_event_age_and_future_events() {
        let p = EqaPolicy::default();
        let events = [event("NCCL", "1", 100, 5, 5), event("NCCL", "2", 500, 5, 2)];
        // On day 465 the second event is not known yet; the first is 365 days old: still fine.
        let s = p.assess(&events, 465);
        assert_eq!(s.latest.unwrap().event, "1");
        assert_eq!(s.latest_age_days, Some(365));
        assert!(s.passes());
        // One day later, too old.
        let s = p.assess(&events[..1], 466);
        assert!(s.too_old && !s.passes());
        // Once the unsatisfactory event is known, the latest event fails.
        let s = p.assess(&events, 500);
        assert!(!s.latest_satisfactory && !s.passes());
        // No events at all: no pass.
        let s = p.assess(&[], 500);
        assert!(s.latest.is_none() && !s.passes());
    }
}
