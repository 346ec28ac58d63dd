//! Internal quality control (室内质控): Westgard multirules over the control observations of one
//! analyte in one laboratory.
//!
//! Rules are data ([`Rule`], parsed from names such as `1-3s`, `2of3-2s`, `R-4s`, `10x`), so a
//! laboratory or a province chooses its rule set; [`RuleSet::classic`] (N = 2 or 4) and
//! [`RuleSet::n3`] (N = 3 or 6) are Westgard's recommended combinations (domain.md §2.1).
//!
//! Each observation becomes a z-score `(value − mean) / SD` against its control material's
//! established target. Rules look at three kinds of series, as Westgard defines them:
//! - every observation alone (`1-3s`);
//! - the observations of one run, across materials (`R-4s` only ever looks here; `2-2s` and
//!   `2of3-2s` look here too);
//! - the observations of one material, across runs (`2-2s`, `2of3-2s`, `3-1s`, `4-1s`, `10x`);
//! - all observations in order, run after run and material after material within a run
//!   ("across materials and runs": `3-1s`, `4-1s` and the mean rules).
//!
//! A violation is charged to the run of its last observation: that is the run in which it
//! was detected, and whose patient results it puts in question.

use std::collections::BTreeMap;
use std::fmt;

/// One measurement of a control material.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlObservation {
    /// When the run was analysed, as seconds since 1970-01-01 UTC: observations with the same
    /// value form one run.
    pub run_at: i64,
    /// The control material (level), e.g. `1`, `2`, `low`, `high`.
    pub level: String,
    pub value: f64,
    pub target_mean: f64,
    pub target_sd: f64,
}

impl ControlObservation {
    /// The z-score, or `None` when the target SD is not a positive number (such rows are
    /// refused where they are read).
    #[must_use]
    pub fn z(&self) -> Option<f64> {
        let z = (self.value - self.target_mean) / self.target_sd;
        (self.target_sd > 0.0 && z.is_finite()).then_some(z)
    }
}

/// What a rule means when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Inspect the run with the other rules (classically `1-2s`); results may be reported.
    Warning,
    /// The run is out of control: its patient results must not be reported (nor recognized).
    Reject,
}

/// The shape of a Westgard rule; `limit` is in SDs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RuleKind {
    /// One observation beyond mean ± limit (`1-2s`, `1-3s`, `1-2.5s`).
    Single { limit: f64 },
    /// `n` consecutive observations beyond the same limit, all above mean + limit or all
    /// below mean − limit (`2-2s`, `3-1s`, `4-1s`).
    Consecutive { n: usize, limit: f64 },
    /// `n` of the last `m` observations beyond the same limit (`2of3-2s`).
    NOfM { n: usize, m: usize, limit: f64 },
    /// Within one run, one observation above mean + limit and another below mean − limit
    /// (`R-4s`, whose name gives the range 2 × limit).
    Range { limit: f64 },
    /// `n` consecutive observations on the same side of the mean (`10x`, `8x`, `12x`, `6x`, `9x`).
    MeanSide { n: usize },
}

/// One rule of a multirule procedure.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The rule's conventional name, as parsed (`1-3s`, `2of3-2s`, `R-4s`, `10x`).
    pub name: String,
    pub kind: RuleKind,
    pub action: Action,
}

impl Rule {
    /// Parses a rule name: `1-2s`, `1-2.5s`, `1-3s`, `2-2s`, `3-1s`, `4-1s`, `2of3-2s`, `R-4s`,
    /// `6x` … `12x` (also written with `_`, without the dash, or in capitals: `13s`, `R4S`,
    /// `10X`).
    ///
    /// # Errors
    ///
    /// A name that is none of these shapes, with a message saying which shapes exist.
    pub fn parse(name: &str, action: Action) -> Result<Rule, String> {
        let bad = || {
            format!(
                "`{name}` is not a Westgard rule (expected a name such as 1-2s, 1-3s, 2-2s, \
                 2of3-2s, R-4s, 3-1s, 4-1s, 10x)"
            )
        };
        let norm: String = name
            .trim()
            .to_ascii_lowercase()
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .collect();
        let kind = if let Some(n) = norm.strip_suffix('x') {
            let n: usize = n.parse().map_err(|_| bad())?;
            if n < 2 {
                return Err(bad());
            }
            RuleKind::MeanSide { n }
        } else if let Some(rest) = norm.strip_prefix('r') {
            let range = sd_limit(rest).ok_or_else(bad)?;
            RuleKind::Range { limit: range / 2.0 }
        } else if let Some((n, rest)) = norm.split_once("of") {
            let n: usize = n.parse().map_err(|_| bad())?;
            let (m, limit) = count_and_limit(rest).ok_or_else(bad)?;
            if n < 1 || m < n {
                return Err(bad());
            }
            RuleKind::NOfM { n, m, limit }
        } else {
            let (n, limit) = count_and_limit(&norm).ok_or_else(bad)?;
            if n == 1 {
                RuleKind::Single { limit }
            } else {
                RuleKind::Consecutive { n, limit }
            }
        };
        Ok(Rule {
            name: name.trim().to_owned(),
            kind,
            action,
        })
    }
}

/// `2.5s` → 2.5.
fn sd_limit(s: &str) -> Option<f64> {
    let v: f64 = s.strip_suffix('s')?.parse().ok()?;
    (v.is_finite() && v > 0.0).then_some(v)
}

/// `13s` → (1, 3.0); `12.5s` → (1, 2.5); `41s` → (4, 1.0); `32s` (from `2of3-2s`) → (3, 2.0).
/// The count is the first digit: no rule counts ten or more observations beyond a limit.
fn count_and_limit(s: &str) -> Option<(usize, f64)> {
    let mut chars = s.chars();
    let n = chars.next()?.to_digit(10)? as usize;
    let limit = sd_limit(chars.as_str())?;
    (n >= 1).then_some((n, limit))
}

/// The rules a laboratory applies, in the order they are reported.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// Westgard's classic procedure for N = 2 or 4 control observations per run: `1-2s`
    /// warning; `1-3s`, `2-2s`, `R-4s`, `4-1s`, `10x` reject.
    #[must_use]
    pub fn classic() -> RuleSet {
        RuleSet::parse("1-2s:warning,1-3s,2-2s,R-4s,4-1s,10x").expect("a valid rule set")
    }

    /// Westgard's procedure for N = 3 or 6 (typical in haematology): `1-2s` warning; `1-3s`,
    /// `2of3-2s`, `R-4s`, `3-1s`, `6x` reject.
    #[must_use]
    pub fn n3() -> RuleSet {
        RuleSet::parse("1-2s:warning,1-3s,2of3-2s,R-4s,3-1s,6x").expect("a valid rule set")
    }

    /// Parses a comma-separated list of rules, each optionally followed by `:warning` (or
    /// `:warn`) or `:reject` (the default), e.g. `1-2s:warning,1-3s,2-2s,R-4s,4-1s,10x`.
    ///
    /// # Errors
    ///
    /// The first rule or action that cannot be read, or an empty list.
    pub fn parse(spec: &str) -> Result<RuleSet, String> {
        let mut rules = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, action) = match part.split_once(':') {
                None => (part, Action::Reject),
                Some((name, action)) => match action.trim().to_ascii_lowercase().as_str() {
                    "warning" | "warn" => (name, Action::Warning),
                    "reject" => (name, Action::Reject),
                    other => {
                        return Err(format!(
                            "`{other}` is not a rule action (expected warning or reject)"
                        ));
                    }
                },
            };
            rules.push(Rule::parse(name, action)?);
        }
        if rules.is_empty() {
            return Err("a Westgard rule set needs at least one rule".to_owned());
        }
        Ok(RuleSet { rules })
    }
}

impl fmt::Display for RuleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.rules.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(&r.name)?;
            if r.action == Action::Warning {
                f.write_str(":warning")?;
            }
        }
        Ok(())
    }
}

/// A rule that fired, with the observations that made it fire.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub rule: String,
    pub action: Action,
    /// `(run_at, level, z)` of each observation of the violation, oldest first.
    pub observations: Vec<(i64, String, f64)>,
}

/// The verdict on one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunStatus {
    pub run_at: i64,
    /// `None` when no rule fired; otherwise the most severe action of the rules that fired.
    pub worst: Option<Action>,
    /// Every rule that fired for this run (once per rule), in rule-set order.
    pub fired: Vec<Firing>,
}

impl RunStatus {
    /// Whether the run's patient results may be reported: no rejection rule fired.
    #[must_use]
    pub fn in_control(&self) -> bool {
        self.worst != Some(Action::Reject)
    }
}

/// One observation in evaluation order.
#[derive(Debug, Clone)]
struct Point {
    run: usize,
    run_at: i64,
    level: String,
    z: f64,
}

/// Evaluates `rules` over all control observations of one analyte, in any order, and returns
/// the status of every run, oldest first. Observations without a usable z-score (SD not
/// positive) are left out.
#[must_use]
pub fn evaluate(observations: &[ControlObservation], rules: &RuleSet) -> Vec<RunStatus> {
    let mut sorted: Vec<&ControlObservation> = observations.iter().collect();
    sorted.sort_by(|a, b| a.run_at.cmp(&b.run_at).then_with(|| a.level.cmp(&b.level)));
    let mut runs: Vec<i64> = Vec::new();
    let mut points = Vec::with_capacity(sorted.len());
    for o in sorted {
        let Some(z) = o.z() else { continue };
        if runs.last() != Some(&o.run_at) {
            runs.push(o.run_at);
        }
        points.push(Point {
            run: runs.len() - 1,
            run_at: o.run_at,
            level: o.level.clone(),
            z,
        });
    }
    // The series each rule may look at, as indices into `points`.
    let combined: Vec<usize> = (0..points.len()).collect();
    let mut by_level: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut by_run: Vec<Vec<usize>> = vec![Vec::new(); runs.len()];
    for (i, p) in points.iter().enumerate() {
        by_level.entry(p.level.as_str()).or_default().push(i);
        by_run[p.run].push(i);
    }

    // For each run, the first violation found per rule.
    let mut found: Vec<BTreeMap<usize, Vec<usize>>> = vec![BTreeMap::new(); runs.len()];
    for (ri, rule) in rules.rules.iter().enumerate() {
        let mut record = |window: &[usize]| {
            if let Some(&last) = window.last() {
                found[points[last].run]
                    .entry(ri)
                    .or_insert_with(|| window.to_vec());
            }
        };
        let within_runs = by_run.iter();
        let across_runs = by_level.values();
        match rule.kind {
            RuleKind::Single { limit } => {
                for (i, p) in points.iter().enumerate() {
                    if p.z.abs() > limit {
                        record(&[i]);
                    }
                }
            }
            RuleKind::Range { limit } => {
                for run in within_runs {
                    let high = run.iter().find(|&&i| points[i].z > limit);
                    let low = run.iter().find(|&&i| points[i].z < -limit);
                    if let (Some(&h), Some(&l)) = (high, low) {
                        record(&[h.min(l), h.max(l)]);
                    }
                }
            }
            RuleKind::Consecutive { n, limit } => {
                let check = |series: &[usize], record: &mut dyn FnMut(&[usize])| {
                    for w in series.windows(n.max(1)) {
                        if w.iter().all(|&i| points[i].z > limit)
                            || w.iter().all(|&i| points[i].z < -limit)
                        {
                            record(w);
                        }
                    }
                };
                // Two in a row: within a run (two materials) or one material across runs.
                // Longer runs of observations: across materials and runs as well.
                if n <= 2 {
                    within_runs.for_each(|s| check(s, &mut record));
                } else {
                    check(&combined, &mut record);
                }
                across_runs.for_each(|s| check(s, &mut record));
            }
            RuleKind::NOfM { n, m, limit } => {
                let check = |series: &[usize], record: &mut dyn FnMut(&[usize])| {
                    // Fewer than `m` observations so far: the window is all of them.
                    let width = m.min(series.len()).max(1);
                    for w in series.windows(width) {
                        let high: Vec<usize> =
                            w.iter().copied().filter(|&i| points[i].z > limit).collect();
                        let low: Vec<usize> = w
                            .iter()
                            .copied()
                            .filter(|&i| points[i].z < -limit)
                            .collect();
                        for side in [high, low] {
                            // Charged to the run of the window's last observation, which must
                            // itself be one of the violating ones (else an earlier window
                            // already reported it).
                            if side.len() >= n && side.last() == w.last() {
                                record(&side);
                            }
                        }
                    }
                };
                within_runs.for_each(|s| check(s, &mut record));
                across_runs.for_each(|s| check(s, &mut record));
            }
            RuleKind::MeanSide { n } => {
                let check = |series: &[usize], record: &mut dyn FnMut(&[usize])| {
                    for w in series.windows(n.max(1)) {
                        if w.iter().all(|&i| points[i].z > 0.0)
                            || w.iter().all(|&i| points[i].z < 0.0)
                        {
                            record(w);
                        }
                    }
                };
                check(&combined, &mut record);
                across_runs.for_each(|s| check(s, &mut record));
            }
        }
    }

    runs.iter()
        .zip(found)
        .map(|(&run_at, fired)| {
            let fired: Vec<Firing> = fired
                .into_iter()
                .map(|(ri, window)| Firing {
                    rule: rules.rules[ri].name.clone(),
                    action: rules.rules[ri].action,
                    observations: window
                        .iter()
                        .map(|&i| (points[i].run_at, points[i].level.clone(), points[i].z))
                        .collect(),
                })
                .collect();
            RunStatus {
                run_at,
                worst: fired.iter().map(|f| f.action).max(),
                fired,
            }
        })
        .collect()
}

/// Seconds in a day.
const DAY_SECONDS: i64 = 86_400;

/// China time's offset from UTC, in minutes: a Chinese laboratory's day starts at 00:00
/// +08:00, and dates and times written without a zone are read in it.
pub const CHINA_OFFSET_MINUTES: i32 = 480;

/// The day (days since 1970-01-01) of a time in seconds, in a zone `offset_minutes` from UTC.
#[must_use]
pub fn day_of(run_at: i64, offset_minutes: i32) -> i64 {
    (run_at + i64::from(offset_minutes) * 60).div_euclid(DAY_SECONDS)
}

/// The IQC verdict of one analysis day: the worst of its runs, and every rule that fired in
/// any of them (each name once, in the order first seen).
#[derive(Debug, Clone, PartialEq)]
pub struct DayStatus {
    /// Days since 1970-01-01, in the laboratory's zone.
    pub day: i64,
    pub runs: usize,
    /// `None` when no rule fired in any run of the day.
    pub worst: Option<Action>,
    /// The rules that fired with the worst action.
    pub rules: Vec<String>,
}

/// Groups run verdicts by analysis day (in a zone `offset_minutes` from UTC; China is 480),
/// oldest day first. A day with one rejected run is rejected: its patient results cannot be
/// told apart by run once reported.
#[must_use]
pub fn day_statuses(runs: &[RunStatus], offset_minutes: i32) -> Vec<DayStatus> {
    let mut days: BTreeMap<i64, DayStatus> = BTreeMap::new();
    for run in runs {
        let day = day_of(run.run_at, offset_minutes);
        let d = days.entry(day).or_insert_with(|| DayStatus {
            day,
            runs: 0,
            worst: None,
            rules: Vec::new(),
        });
        d.runs += 1;
        if run.worst > d.worst {
            d.worst = run.worst;
            d.rules.clear();
        }
        for f in run.fired.iter().filter(|f| Some(f.action) == d.worst) {
            if !d.rules.contains(&f.rule) {
                d.rules.push(f.rule.clone());
            }
        }
    }
    days.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Observations given as z-scores (mean 100, SD 10): `(run, level, z)`.
    fn obs(points: &[(i64, &str, f64)]) -> Vec<ControlObservation> {
        points
            .iter()
            .map(|&(run_at, level, z)| ControlObservation {
                run_at,
                level: level.to_owned(),
                value: 100.0 + 10.0 * z,
                target_mean: 100.0,
                target_sd: 10.0,
            })
            .collect()
    }

    /// The rules that fired for the last run, as `name:action`.
    fn last_run(points: &[(i64, &str, f64)], rules: &RuleSet) -> Vec<String> {
        let status = evaluate(&obs(points), rules);
        let last = status.last().expect("at least one run");
        last.fired
            .iter()
            .map(|f| {
                let a = match f.action {
                    Action::Warning => "warning",
                    Action::Reject => "reject",
                };
                format!("{}:{a}", f.rule)
            })
            .collect()
    }

    /// One case: the observations, and the rules that must fire for the last run.
    fn check(rules: &RuleSet, points: &[(i64, &str, f64)], expected: &[&str]) {
        assert_eq!(last_run(points, rules), expected, "observations {points:?}");
    }

    #[test]
    fn classic_rules_fire_at_their_limits_and_not_inside_them() {
        let r = RuleSet::classic();
        // In control.
        check(&r, &[(1, "1", 0.5), (1, "2", -0.8)], &[]);
        // 1-2s: warning only; exactly 2 SD does not exceed the limit.
        check(&r, &[(1, "1", 2.1), (1, "2", 0.0)], &["1-2s:warning"]);
        check(&r, &[(1, "1", 2.0), (1, "2", 0.0)], &[]);
        // 1-3s.
        check(
            &r,
            &[(1, "1", -3.01), (1, "2", 0.0)],
            &["1-2s:warning", "1-3s:reject"],
        );
        check(&r, &[(1, "1", -3.0), (1, "2", 0.0)], &["1-2s:warning"]);
        // 2-2s within a run, across materials, same side.
        check(
            &r,
            &[(1, "1", 2.2), (1, "2", 2.4)],
            &["1-2s:warning", "2-2s:reject"],
        );
        // ... not on opposite sides (that is R-4s).
        check(
            &r,
            &[(1, "1", 2.2), (1, "2", -2.4)],
            &["1-2s:warning", "R-4s:reject"],
        );
        // 2-2s across runs, same material.
        check(
            &r,
            &[(1, "1", 2.2), (1, "2", 0.1), (2, "1", 2.5), (2, "2", 0.3)],
            &["1-2s:warning", "2-2s:reject"],
        );
        // Across runs but different materials is not 2-2s.
        check(
            &r,
            &[(1, "1", 0.1), (1, "2", 2.2), (2, "1", 2.5), (2, "2", 0.3)],
            &["1-2s:warning"],
        );
        // R-4s only within a run: +2.1 in run 1 and −2.1 in run 2 is not a range violation.
        check(
            &r,
            &[(1, "1", 2.1), (1, "2", 0.0), (2, "1", -2.1), (2, "2", 0.0)],
            &["1-2s:warning"],
        );
        // 4-1s across materials and runs: two runs of two observations above +1 SD.
        check(
            &r,
            &[(1, "1", 1.2), (1, "2", 1.5), (2, "1", 1.1), (2, "2", 1.9)],
            &["4-1s:reject"],
        );
        // Three above +1 SD and one at exactly +1 SD: no 4-1s.
        check(
            &r,
            &[(1, "1", 1.2), (1, "2", 1.5), (2, "1", 1.0), (2, "2", 1.9)],
            &[],
        );
        // 10x: ten on the same side of the mean, five runs of two.
        let ten: Vec<(i64, &str, f64)> = (0..10)
            .map(|i| (i64::from(i / 2), if i % 2 == 0 { "1" } else { "2" }, 0.3))
            .collect();
        check(&r, &ten, &["10x:reject"]);
        // Nine on one side and the tenth on the mean: no 10x.
        let mut nine = ten.clone();
        nine[9].2 = 0.0;
        check(&r, &nine, &[]);
    }

    #[test]
    fn n3_rules() {
        let r = RuleSet::n3();
        // 2of3-2s within a run of three materials.
        check(
            &r,
            &[(1, "1", 2.3), (1, "2", 0.2), (1, "3", 2.1)],
            &["1-2s:warning", "2of3-2s:reject"],
        );
        // Two of three beyond 2 SD but on opposite sides: R-4s, not 2of3-2s.
        check(
            &r,
            &[(1, "1", 2.3), (1, "2", 0.2), (1, "3", -2.1)],
            &["1-2s:warning", "R-4s:reject"],
        );
        // 3-1s across materials within a run.
        check(
            &r,
            &[(1, "1", -1.3), (1, "2", -1.1), (1, "3", -1.6)],
            &["3-1s:reject"],
        );
        // 6x across two runs of three.
        check(
            &r,
            &[
                (1, "1", 0.5),
                (1, "2", 0.4),
                (1, "3", 0.2),
                (2, "1", 0.6),
                (2, "2", 0.1),
                (2, "3", 0.9),
            ],
            &["6x:reject"],
        );
    }

    #[test]
    fn a_violation_is_charged_to_the_run_that_completes_it() {
        let status = evaluate(
            &obs(&[(1, "1", 2.2), (1, "2", 0.0), (2, "1", 2.5), (2, "2", 0.0)]),
            &RuleSet::classic(),
        );
        assert_eq!(status.len(), 2);
        assert_eq!(status[0].worst, Some(Action::Warning));
        assert!(status[0].in_control());
        assert_eq!(status[1].worst, Some(Action::Reject));
        assert!(!status[1].in_control());
        let two_two = status[1].fired.iter().find(|f| f.rule == "2-2s").unwrap();
        assert_eq!(
            two_two
                .observations
                .iter()
                .map(|(run, level, _)| (*run, level.as_str()))
                .collect::<Vec<_>>(),
            [(1, "1"), (2, "1")]
        );
    }

    #[test]
    fn input_order_does_not_matter_and_bad_sd_is_skipped() {
        let mut points = obs(&[(2, "1", 2.5), (1, "2", 0.0), (1, "1", 2.2), (2, "2", 0.0)]);
        points.push(ControlObservation {
            run_at: 2,
            level: "3".into(),
            value: 500.0,
            target_mean: 100.0,
            target_sd: 0.0,
        });
        let status = evaluate(&points, &RuleSet::classic());
        assert_eq!(status[1].worst, Some(Action::Reject));
        assert!(status[1].fired.iter().all(|f| f.rule != "1-3s"));
    }

    #[test]
    fn rule_names_parse_in_their_usual_spellings() {
        for (name, kind) in [
            ("1-2s", RuleKind::Single { limit: 2.0 }),
            ("1_3s", RuleKind::Single { limit: 3.0 }),
            ("1-2.5s", RuleKind::Single { limit: 2.5 }),
            ("22S", RuleKind::Consecutive { n: 2, limit: 2.0 }),
            ("4-1s", RuleKind::Consecutive { n: 4, limit: 1.0 }),
            (
                "2of3-2s",
                RuleKind::NOfM {
                    n: 2,
                    m: 3,
                    limit: 2.0,
                },
            ),
            ("R-4s", RuleKind::Range { limit: 2.0 }),
            ("r4s", RuleKind::Range { limit: 2.0 }),
            ("10x", RuleKind::MeanSide { n: 10 }),
            ("12X", RuleKind::MeanSide { n: 12 }),
        ] {
            assert_eq!(
                Rule::parse(name, Action::Reject).unwrap().kind,
                kind,
                "{name}"
            );
        }
        for bad in ["", "x", "1x", "3s", "1-0s", "2of1-2s", "R-s", "westgard"] {
            assert!(Rule::parse(bad, Action::Reject).is_err(), "{bad}");
        }
        assert!(RuleSet::parse("1-3s:maybe").is_err());
        assert!(RuleSet::parse(" , ").is_err());
        assert_eq!(
            RuleSet::classic().to_string(),
            "1-2s:warning,1-3s,2-2s,R-4s,4-1s,10x"
        );
        assert_eq!(
            RuleSet::parse(&RuleSet::n3().to_string()).unwrap(),
            RuleSet::n3()
        );
    }

    #[test]
    fn days_take_their_worst_run_in_china_time() {
        // Runs at 00:30 and 09:00 on 2026-11-20 and 09:00 the next day, China time: two China
        // days, but three UTC days (00:30+08:00 is still 2026-11-19 in UTC).
        let day_start = 1_795_104_000; // 2026-11-20T00:00+08:00
        let runs = evaluate(
            &obs(&[
                (day_start + 1800, "1", 2.2),
                (day_start + 1800, "2", 0.0),
                (day_start + 9 * 3600, "1", 2.5),
                (day_start + 9 * 3600, "2", 0.1),
                (day_start + 33 * 3600, "1", 0.2),
                (day_start + 33 * 3600, "2", -0.3),
            ]),
            &RuleSet::classic(),
        );
        let days = day_statuses(&runs, 480);
        assert_eq!(days.len(), 2);
        assert_eq!(day_of(day_start + 1800, 480), days[0].day);
        assert_eq!(days[0].day, 20_777);
        assert_eq!(
            (days[0].runs, days[0].worst, days[0].rules.as_slice()),
            (2, Some(Action::Reject), &["2-2s".to_owned()][..])
        );
        assert_eq!((days[1].runs, days[1].worst), (1, None));
        assert!(days[1].rules.is_empty());
        assert_eq!(day_statuses(&runs, 0).len(), 3);
    }
}
