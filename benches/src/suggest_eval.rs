//! The evaluation of mapping suggestions over national codes and LOINC terms: local names from
//! hospital menus written as their LIS exports spell them (Chinese and English, units and
//! specimens as given), each with the LOINC code a curator would choose, none for rows that are
//! no lab result with a code (comments, panel names, fillers, order-only rows: there the right
//! answer is to abstain), or `?` for a lab result whose code the set's author could not confirm
//! (left out of every figure).
//!
//! Two sets: the development set (`benches/data/loinc-eval.csv`, five menus, 360 rows), on which
//! the ranking and the Chinese component names were tuned, and the held-out set
//! (`benches/data/loinc-holdout.csv`, six other menus, 334 rows), written afterwards and
//! measured once, without tuning.
//!
//! A suggestion is right when it is the LOINC term itself, or the national concept equivalent
//! to it. Reported: top-1 and top-5 over the rows with a code; the precision of the answers
//! given (not abstained) and of the abstentions; the rows whose code the loaded releases do not
//! have (reachable only with a full LOINC release); the time of each suggestion.

use std::time::{Duration, Instant};

use huren_core::CodeSystem;
use huren_core::ports::{SuggestRequest, Suggestions};
use huren_http::Catalog;

/// One row of the evaluation set.
#[derive(Debug, Clone)]
pub struct EvalRow {
    pub menu: String,
    pub name: String,
    pub unit: String,
    pub specimen: String,
    /// The LOINC code a curator would choose; empty: the right answer is to abstain.
    pub loinc: String,
}

/// The development set (`benches/data/loinc-eval.csv`).
pub const EVAL_SET: &[u8] = include_bytes!("../data/loinc-eval.csv");

/// The held-out set (`benches/data/loinc-holdout.csv`).
pub const HOLDOUT_SET: &[u8] = include_bytes!("../data/loinc-holdout.csv");

/// Real LOINC terms outside the Top-2000 that the generated full release holds.
pub const EXTRA_TERMS: &[u8] = include_bytes!("../data/loinc-extra-terms.csv");

/// Reads the evaluation set.
pub fn eval_rows(bytes: &[u8]) -> anyhow::Result<Vec<EvalRow>> {
    let mut reader = csv::Reader::from_reader(bytes);
    let mut rows = Vec::new();
    for record in reader.records() {
        let r = record?;
        let cell = |i: usize| r.get(i).unwrap_or("").trim().to_owned();
        rows.push(EvalRow {
            menu: cell(0),
            name: cell(1),
            unit: cell(2),
            specimen: cell(3),
            loinc: cell(4),
        });
    }
    Ok(rows)
}

/// What the evaluation found.
#[derive(Debug, Clone, Default)]
pub struct EvalResult {
    pub rows: usize,
    /// Rows whose code could not be confirmed (`?`): left out.
    pub unscored: usize,
    /// Rows with a code.
    pub with_code: usize,
    /// Rows with a code the loaded releases have (as a LOINC term or a national equivalent).
    pub reachable: usize,
    pub top1: usize,
    pub top5: usize,
    /// Rows answered (not abstained), and of those, with the right first suggestion.
    pub answered: usize,
    pub answered_right: usize,
    /// Rows abstained, and of those, rows without a code (a right abstention).
    pub abstained: usize,
    pub abstained_right: usize,
    /// Rows without a code.
    pub without_code: usize,
    /// Each suggestion's time.
    pub times: Vec<Duration>,
    /// Rows with a reachable code whose first suggestion was wrong: `name → got (expected)`.
    pub misses: Vec<String>,
    /// Rows without a code that were answered: `name → got`.
    pub false_answers: Vec<String>,
    /// Rows with a code that abstained: `name → got (expected)`.
    pub false_abstentions: Vec<String>,
}

fn share(n: usize, of: usize) -> f64 {
    if of == 0 { 0.0 } else { n as f64 / of as f64 }
}

impl EvalResult {
    pub fn top1_rate(&self) -> f64 {
        share(self.top1, self.with_code)
    }
    pub fn top5_rate(&self) -> f64 {
        share(self.top5, self.with_code)
    }
    pub fn top1_reachable_rate(&self) -> f64 {
        share(self.top1, self.reachable)
    }
    pub fn answered_precision(&self) -> f64 {
        share(self.answered_right, self.answered)
    }
    pub fn abstention_precision(&self) -> f64 {
        share(self.abstained_right, self.abstained)
    }
    /// The share of rows without a code that abstained.
    pub fn abstention_recall(&self) -> f64 {
        share(self.abstained_right, self.without_code)
    }

    /// The `q` quantile of the suggestion times.
    pub fn time_quantile(&self, q: f64) -> Duration {
        let mut t = self.times.clone();
        t.sort_unstable();
        if t.is_empty() {
            return Duration::ZERO;
        }
        let i = ((t.len() as f64 - 1.0) * q).round() as usize;
        t[i.min(t.len() - 1)]
    }

    /// One line per figure, for `docs/performance.md`.
    pub fn report(&self, label: &str) -> String {
        format!(
            "{label}: {} rows ({} with a code, {} of them reachable; {} without; {} unscored)\n  \
             top-1 {:.1}% ({}), top-5 {:.1}% ({}); top-1 over reachable codes {:.1}%\n  \
             answered {} rows, precision {:.1}% ({} right); abstained {} rows, precision {:.1}% \
             ({} without a code); {:.1}% of the rows without a code abstained\n  \
             time per suggestion: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.rows,
            self.with_code,
            self.reachable,
            self.without_code,
            self.unscored,
            100.0 * self.top1_rate(),
            self.top1,
            100.0 * self.top5_rate(),
            self.top5,
            100.0 * self.top1_reachable_rate(),
            self.answered,
            100.0 * self.answered_precision(),
            self.answered_right,
            self.abstained,
            100.0 * self.abstention_precision(),
            self.abstained_right,
            100.0 * self.abstention_recall(),
            ms(self.time_quantile(0.5)),
            ms(self.time_quantile(0.99)),
            ms(self.time_quantile(1.0)),
        )
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The LOINC code a suggestion stands for: the term's, or its national concept's equivalent.
fn loinc_of(catalog: &Catalog, system: CodeSystem, code: &str) -> String {
    match system {
        CodeSystem::Loinc => code.to_owned(),
        CodeSystem::National => catalog
            .registry
            .lookup(CodeSystem::National, code)
            .map(|c| c.loinc.clone())
            .unwrap_or_default(),
    }
}

/// Runs every row through the catalog's suggestions (top 5, no evidence from other hospitals),
/// `repeat` times each (the fastest time counts: a preempted run measures the machine).
pub fn evaluate(catalog: &Catalog, rows: &[EvalRow], repeat: usize) -> EvalResult {
    let mut out = EvalResult {
        rows: rows.len(),
        ..EvalResult::default()
    };
    for r in rows {
        if r.loinc == "?" {
            out.unscored += 1;
            continue;
        }
        let request = SuggestRequest {
            name: &r.name,
            unit: &r.unit,
            specimen: &r.specimen,
            limit: 5,
        };
        let mut fastest = Duration::MAX;
        let mut found = Suggestions::default();
        for _ in 0..repeat.max(1) {
            let started = Instant::now();
            found = catalog.search.suggest(&catalog.registry, &[], &request);
            fastest = fastest.min(started.elapsed());
        }
        out.times.push(fastest);
        let got: Vec<String> = found
            .codes
            .iter()
            .map(|s| loinc_of(catalog, s.system, &s.code))
            .collect();
        let first = got.first().cloned().unwrap_or_default();
        if found.abstain {
            out.abstained += 1;
        } else {
            out.answered += 1;
        }
        if r.loinc.is_empty() {
            out.without_code += 1;
            if found.abstain {
                out.abstained_right += 1;
            } else {
                out.false_answers
                    .push(format!("{} [{}] → {first}", r.name, r.menu));
            }
            continue;
        }
        out.with_code += 1;
        if found.abstain {
            out.false_abstentions.push(format!(
                "{} {} [{}] → {} (expected {})",
                r.name,
                r.unit,
                r.menu,
                got.join(" "),
                r.loinc
            ));
        }
        let reachable = catalog
            .registry
            .lookup(CodeSystem::Loinc, &r.loinc)
            .is_some()
            || !catalog.registry.national_for_loinc(&r.loinc).is_empty();
        out.reachable += usize::from(reachable);
        if first == r.loinc {
            out.top1 += 1;
            if !found.abstain {
                out.answered_right += 1;
            }
        } else if reachable {
            out.misses.push(format!(
                "{} {} [{}] → {} (expected {})",
                r.name,
                r.unit,
                r.menu,
                got.join(" "),
                r.loinc
            ));
        }
        if got.iter().take(5).any(|g| *g == r.loinc) {
            out.top5 += 1;
        }
    }
    out
}

/// The real LOINC terms a generated full release should hold: the Top-2000 of `code-tables/`
/// and [`EXTRA_TERMS`].
pub fn real_terms(top2000: &[&[u8]]) -> anyhow::Result<Vec<huren_testkit::loinc_table::RealTerm>> {
    let mut out = Vec::new();
    for bytes in top2000.iter().copied().chain(std::iter::once(EXTRA_TERMS)) {
        let mut reader = csv::Reader::from_reader(bytes);
        let headers = reader.headers()?.clone();
        let col = |name: &str| {
            headers
                .iter()
                .position(|h| h.trim_start_matches('\u{feff}') == name)
        };
        let (code, name, short, class) = (
            col("LOINC #").ok_or_else(|| anyhow::anyhow!("no `LOINC #` column"))?,
            col("Long Common Name").ok_or_else(|| anyhow::anyhow!("no `Long Common Name`"))?,
            col("Short Name"),
            col("CLASS"),
        );
        let unit = col("EXAMPLE_UCUM_UNITS");
        for record in reader.records() {
            let r = record?;
            let cell = |i: Option<usize>| i.and_then(|i| r.get(i)).unwrap_or("").to_owned();
            out.push(huren_testkit::loinc_table::RealTerm {
                code: cell(Some(code)),
                long_common_name: cell(Some(name)),
                short_name: cell(short),
                class: cell(class).to_ascii_uppercase(),
                example_ucum: cell(unit),
            });
        }
    }
    Ok(out)
}
