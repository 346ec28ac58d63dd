//! The recognizability decision (检验结果互认): may a result issued by one laboratory be
//! recognized, marked HR with a scope, at a receiving hospital at a given time — and if not,
//! every reason why.
//!
//! The six conditions (domain.md §1.3, the mutual-recognition issue):
//! 1. the item is in a catalogue scope that covers both the issuing lab and the receiver;
//! 2. the issuing lab's EQA for the item passes ([`crate::qc::EqaAssessment::passes`]);
//! 3. no IQC rejection rule fired for the item on the analysis day (missing IQC data is a
//!    warning, or a failure when the scope says strict);
//! 4. the lab's reference interval agrees with the national one within the allowable total
//!    error, or is explicitly harmonized;
//! 5. the result is still inside the scope's validity window;
//! 6. the result is final, amended or corrected, has a value in the canonical unit, and was
//!    mapped by an approved, equivalent mapping.
//!
//! Everything the rules read is passed in as [`Facts`]: this module decides, it looks nothing
//! up. A non-recognizable result is a value with reasons, never an error. The receiving
//! clinician has the last word (以接诊医师判断为标准): this is eligibility, not an order.

use crate::Concept;
use crate::qc::EqaAssessment;
use crate::result::ResultStatus;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;

/// A recognition scope: the whole country, a province, a city, or a medical alliance (医联体).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    National,
    /// A six-digit province code ending in `0000` (`420000`).
    Province(String),
    /// A six-digit city code ending in `00` (`420100`).
    City(String),
    /// A medical alliance's id.
    Alliance(String),
}

impl Scope {
    /// Reads `national`, a province or city division code, or any other id as an alliance.
    ///
    /// # Errors
    ///
    /// An empty scope, a six-digit code that is neither a province nor a city (a county), or
    /// an alliance id with spaces or control characters.
    pub fn parse(s: &str) -> Result<Scope, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("national") {
            return Ok(Scope::National);
        }
        if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) {
            return if s.ends_with("0000") {
                Ok(Scope::Province(s.to_owned()))
            } else if s.ends_with("00") {
                Ok(Scope::City(s.to_owned()))
            } else {
                Err(format!(
                    "`{s}` is a county code; a scope is national, a province (`420000`), a \
                     city (`420100`) or a medical alliance id"
                ))
            };
        }
        if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "`{s}` is not a scope (national, a province or city code, or an alliance id)"
            ));
        }
        Ok(Scope::Alliance(s.to_owned()))
    }

    /// Whether a hospital in `region` is inside this scope.
    #[must_use]
    pub fn covers(&self, region: &Region) -> bool {
        match self {
            Scope::National => true,
            Scope::Province(p) => region.province == *p,
            Scope::City(c) => region.city == *c,
            Scope::Alliance(a) => region.alliances.iter().any(|x| x == a),
        }
    }

    /// Broader scopes first: national, province, city, alliance.
    fn breadth(&self) -> u8 {
        match self {
            Scope::National => 0,
            Scope::Province(_) => 1,
            Scope::City(_) => 2,
            Scope::Alliance(_) => 3,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::National => f.write_str("national"),
            Scope::Province(s) | Scope::City(s) | Scope::Alliance(s) => f.write_str(s),
        }
    }
}

/// Where a hospital is, for scope coverage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Region {
    /// Province division code, or empty.
    pub province: String,
    /// City division code, or empty.
    pub city: String,
    /// Medical alliances the hospital belongs to.
    pub alliances: Vec<String>,
}

/// One entry of the recognition catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueEntry {
    pub scope: Scope,
    pub national_code: String,
    /// How long after collection a result stays recognizable.
    pub validity_days: u32,
    /// The report mark of the scope: `HR`, `鄂HR`, `武汉HR` …
    pub mark: String,
    /// Whether missing IQC data blocks recognition (otherwise it is a warning).
    pub strict_iqc: bool,
}

/// The IQC status of the item on the analysis day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IqcDay {
    InControl,
    /// Only warning rules fired (`1-2s`).
    Warning(Vec<String>),
    /// Rejection rules fired; their names.
    Rejected(Vec<String>),
    /// No control results for that day.
    Missing,
}

/// Allowable total error of an item: the larger of a percentage of the value and an absolute
/// amount in the canonical unit, where both are given (domain.md §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Tea {
    pub percent: Option<f64>,
    pub absolute: Option<f64>,
}

impl Tea {
    /// The allowed difference at `value`, or `None` when the item has no TEa.
    #[must_use]
    pub fn allowed_at(&self, value: f64) -> Option<f64> {
        let p = self.percent.map(|p| p * value.abs() / 100.0);
        match (p, self.absolute) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0.0).max(b.unwrap_or(0.0))),
        }
    }
}

/// How the lab's reference interval compares with the national one.
#[derive(Debug, Clone, PartialEq)]
pub enum IntervalCheck {
    /// Every bound within TEa of the national bound.
    Agrees,
    /// The lab declared its interval harmonized with the national one.
    Harmonized,
    /// No national interval for this item and patient: the condition does not apply.
    NoNationalInterval,
    /// The lab's interval for the item is not known.
    NoLabInterval,
    /// The item has no allowable total error on record, so agreement cannot be judged.
    NoTea,
    /// One bound differs by more than TEa (or exists on one side only).
    Disagrees {
        bound: &'static str,
        lab: Option<f64>,
        national: Option<f64>,
        allowed: Option<f64>,
    },
}

/// Compares two intervals bound by bound: each pair must be within `tea` of the national
/// bound, and a bound present on one side must be present on the other.
#[must_use]
pub fn compare_intervals(
    lab: (Option<f64>, Option<f64>),
    national: (Option<f64>, Option<f64>),
    tea: &Tea,
) -> IntervalCheck {
    for (bound, l, n) in [("low", lab.0, national.0), ("high", lab.1, national.1)] {
        match (l, n) {
            (None, None) => {}
            (Some(l), Some(n)) => {
                let Some(allowed) = tea.allowed_at(n) else {
                    return IntervalCheck::NoTea;
                };
                // A hair of tolerance: 5.5 − 5.115 must not fail a 0.385 allowance by a
                // rounding error.
                if (l - n).abs() > allowed * (1.0 + 1e-9) {
                    return IntervalCheck::Disagrees {
                        bound,
                        lab: Some(l),
                        national: Some(n),
                        allowed: Some(allowed),
                    };
                }
            }
            (l, n) => {
                return IntervalCheck::Disagrees {
                    bound,
                    lab: l,
                    national: n,
                    allowed: None,
                };
            }
        }
    }
    IntervalCheck::Agrees
}

/// The reference-interval condition from what is known of the item: the lab's interval
/// (canonical unit), whether the lab declared it harmonized, the national interval for the
/// patient's sex and age (same unit), and the item's TEa.
#[must_use]
pub fn interval_condition(
    lab: Option<(Option<f64>, Option<f64>)>,
    harmonized: bool,
    national: Option<(Option<f64>, Option<f64>)>,
    tea: Option<&Tea>,
) -> IntervalCheck {
    let Some(national) = national else {
        return IntervalCheck::NoNationalInterval;
    };
    if harmonized {
        return IntervalCheck::Harmonized;
    }
    let Some(lab) = lab else {
        return IntervalCheck::NoLabInterval;
    };
    match tea {
        Some(tea) => compare_intervals(lab, national, tea),
        None => IntervalCheck::NoTea,
    }
}

/// How the result's national code was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MappingUse {
    /// Sent in a national or LOINC code: no local mapping involved.
    Direct,
    /// Through an approved mapping of equivalence `equivalent`.
    ApprovedEquivalent,
    /// Through an approved mapping that is wider, narrower or inexact.
    ApprovedNotEquivalent,
    /// Through a mapping that is not approved (proposed, rejected) or no mapping at all.
    NotApproved,
}

/// The result itself, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultFacts {
    pub national_code: String,
    pub status: ResultStatus,
    /// A value is present and was converted to (or sent in) the concept's canonical unit.
    pub value_in_canonical_unit: bool,
    pub mapping: MappingUse,
    /// Collection time, seconds since 1970-01-01 UTC.
    pub collected_at: i64,
}

/// A reference interval's bounds `(low, high)` in the item's canonical unit.
pub type Bounds = (Option<f64>, Option<f64>);

/// What is fixed about a result when it is stored, kept with it so that the decision can be
/// made again later — for another receiving hospital, at another time, with the laboratory's
/// quality data as it is then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    #[serde(flatten)]
    pub result: ResultFacts,
    /// The laboratory's reference interval, as it reported it (canonical unit); `None` when it
    /// sent none and its mapping gives none.
    pub lab_interval: Option<Bounds>,
    /// The national interval for the patient's sex and age (canonical unit), when there is one.
    pub national_interval: Option<Bounds>,
}

/// The allowable total errors of `code-tables/allowable-error.csv`, by national code or LOINC
/// code; absolute limits keep their unit and are converted to the item's canonical unit when
/// read.
#[derive(Debug, Clone, Default)]
pub struct AllowableErrors {
    by_national: HashMap<String, (Tea, String)>,
    by_loinc: HashMap<String, (Tea, String)>,
}

impl AllowableErrors {
    /// From rows of (national code or empty, LOINC code or empty, TEa, UCUM unit of the
    /// absolute limit or empty).
    pub fn new(rows: impl IntoIterator<Item = (String, String, Tea, String)>) -> AllowableErrors {
        let mut t = AllowableErrors::default();
        for (national, loinc, tea, unit) in rows {
            if !national.is_empty() {
                t.by_national.insert(national, (tea, unit));
            } else if !loinc.is_empty() {
                t.by_loinc.insert(loinc, (tea, unit));
            }
        }
        t
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.by_national.len() + self.by_loinc.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The TEa of `concept`, its absolute limit in the concept's canonical unit. An absolute
    /// limit that cannot be converted is dropped (the percentage still applies); with neither
    /// left there is no TEa.
    #[must_use]
    pub fn for_concept(&self, concept: &Concept) -> Option<Tea> {
        let (tea, unit) = self
            .by_national
            .get(&concept.code)
            .or_else(|| self.by_loinc.get(&concept.loinc))?;
        let absolute = match (tea.absolute, unit.trim()) {
            (Some(a), "") => Some(a),
            (Some(a), u) => {
                crate::units::conversion_factor(u, &concept.ucum_unit, concept.molar_mass)
                    .map(|f| a * f)
            }
            (None, _) => None,
        };
        let tea = Tea {
            percent: tea.percent,
            absolute,
        };
        (tea.percent.is_some() || tea.absolute.is_some()).then_some(tea)
    }
}

/// Why a receiving clinician orders the test again although the result may be recognized: the
/// exceptions of the national rules (domain.md §1.2, 2021 draft wording [S]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RetestReason {
    /// 因病情变化，结果与临床表现不符.
    ConditionChanged,
    /// 结果在疾病发展过程中变化较快.
    FastChanging,
    /// 手术、输血等重大医疗措施前.
    MajorIntervention,
    /// 急诊、急救.
    Emergency,
    /// 司法、伤残及病退等鉴定.
    Forensic,
    /// 其他情形确需复查 (with a text).
    Other,
}

impl RetestReason {
    pub const ALL: [RetestReason; 6] = [
        RetestReason::ConditionChanged,
        RetestReason::FastChanging,
        RetestReason::MajorIntervention,
        RetestReason::Emergency,
        RetestReason::Forensic,
        RetestReason::Other,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            RetestReason::ConditionChanged => "condition-changed",
            RetestReason::FastChanging => "fast-changing",
            RetestReason::MajorIntervention => "major-intervention",
            RetestReason::Emergency => "emergency",
            RetestReason::Forensic => "forensic",
            RetestReason::Other => "other",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<RetestReason> {
        RetestReason::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The wording of the rules.
    #[must_use]
    pub fn display_zh(self) -> &'static str {
        match self {
            RetestReason::ConditionChanged => {
                "因病情变化，检查检验结果与患者临床表现、疾病诊断不符"
            }
            RetestReason::FastChanging => "检查检验结果在疾病发展演变过程中变化较快",
            RetestReason::MajorIntervention => {
                "检查检验项目对于疾病诊疗意义重大（如手术、输血等重大医疗措施前）"
            }
            RetestReason::Emergency => "患者处于急诊、急救等紧急状态",
            RetestReason::Forensic => "涉及司法、伤残及病退等鉴定",
            RetestReason::Other => "其他情形确需复查",
        }
    }
}

/// A receiving clinician's decision to test again instead of recognizing a result
/// (以接诊医师判断为标准), kept as an audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retest {
    /// Assigned by the store (0 before).
    pub id: i64,
    pub observation_id: String,
    /// The hospital of the result.
    pub issuer: crate::HospitalId,
    /// The clinician's hospital.
    pub receiver: crate::HospitalId,
    /// The clinician (the token's subject).
    pub clinician: String,
    pub reason: RetestReason,
    /// Free text (required for `other`).
    pub text: String,
    /// Whether the result was recognizable when the clinician decided.
    pub recognizable: bool,
    /// Unix milliseconds.
    pub recorded_at: i64,
}

/// Everything the decision reads.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub result: &'a ResultFacts,
    pub issuer: &'a Region,
    pub receiver: &'a Region,
    /// The catalogue (all entries, or those of the result's code).
    pub catalogue: &'a [CatalogueEntry],
    pub eqa: &'a EqaAssessment<'a>,
    pub iqc: &'a IqcDay,
    pub interval: &'a IntervalCheck,
    /// The time of the question, seconds since 1970-01-01 UTC.
    pub at: i64,
}

/// Whether a reason blocks recognition or only informs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Failure,
    Warning,
}

/// One finding, with a stable code and its text in Chinese and English.
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    pub code: &'static str,
    pub severity: Severity,
    pub zh: String,
    pub en: String,
}

/// The answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub recognizable: bool,
    /// The catalogue entry the decision used: the scope, its mark and window.
    pub entry: Option<CatalogueEntry>,
    /// Collection time + the validity window, seconds since 1970-01-01 UTC.
    pub valid_until: Option<i64>,
    /// Every failed condition (and every warning), in the order of the six conditions.
    pub reasons: Vec<Reason>,
}

const DAY: i64 = 86_400;

/// Decides whether the result may be recognized at the receiver at `at`.
///
/// When several catalogue entries of the item cover both hospitals, the one with the longest
/// validity window is used (then the broadest scope): the most favourable reading of the
/// catalogues that apply.
#[must_use]
pub fn decide(f: &Facts<'_>) -> Decision {
    let mut reasons = Vec::new();
    let mut note = |code, severity, zh: String, en: String| {
        reasons.push(Reason {
            code,
            severity,
            zh,
            en,
        });
    };
    let r = f.result;

    // 1. Catalogue and scope.
    let of_item: Vec<&CatalogueEntry> = f
        .catalogue
        .iter()
        .filter(|e| e.national_code == r.national_code)
        .collect();
    let entry = of_item
        .iter()
        .filter(|e| e.scope.covers(f.issuer) && e.scope.covers(f.receiver))
        .max_by(|a, b| {
            a.validity_days
                .cmp(&b.validity_days)
                .then_with(|| b.scope.breadth().cmp(&a.scope.breadth()))
        })
        .copied()
        .cloned();
    if of_item.is_empty() {
        note(
            "not-in-catalogue",
            Severity::Failure,
            format!("项目 {} 不在互认目录中", r.national_code),
            format!("{} is not on any recognition catalogue", r.national_code),
        );
    } else if entry.is_none() {
        let scopes: Vec<String> = of_item.iter().map(|e| e.scope.to_string()).collect();
        note(
            "scope-not-covering",
            Severity::Failure,
            format!(
                "互认范围（{}）未同时覆盖出具机构和接诊机构",
                scopes.join("、")
            ),
            format!(
                "no catalogue scope of the item ({}) covers both the issuing laboratory and \
                 the receiving hospital",
                scopes.join(", ")
            ),
        );
    }

    // 2. EQA.
    match f.eqa.latest {
        None => note(
            "eqa-missing",
            Severity::Failure,
            "出具实验室无该项目的室间质评记录".to_owned(),
            "the issuing laboratory has no EQA event for the item".to_owned(),
        ),
        Some(latest) => {
            if !f.eqa.latest_satisfactory {
                note(
                    "eqa-unsatisfactory",
                    Severity::Failure,
                    format!(
                        "最近一次室间质评（{} {}）成绩不合格",
                        latest.program, latest.event
                    ),
                    format!(
                        "the latest EQA event ({} {}) was unsatisfactory",
                        latest.program, latest.event
                    ),
                );
            }
            if f.eqa.too_old {
                let days = f.eqa.latest_age_days.unwrap_or_default();
                note(
                    "eqa-too-old",
                    Severity::Failure,
                    format!("最近一次室间质评已过去 {days} 天，超过有效期"),
                    format!("the latest EQA event is {days} days old, older than allowed"),
                );
            }
            for program in &f.eqa.unsuccessful_in {
                note(
                    "eqa-unsuccessful",
                    Severity::Failure,
                    format!("{program} 室间质评连续或近三次中两次不合格（不成功）"),
                    format!(
                        "EQA performance in {program} is unsuccessful (two of the last three \
                         events unsatisfactory)"
                    ),
                );
            }
        }
    }

    // 3. IQC on the analysis day.
    let strict = entry.as_ref().is_some_and(|e| e.strict_iqc);
    match f.iqc {
        IqcDay::InControl => {}
        IqcDay::Warning(rules) => note(
            "iqc-warning",
            Severity::Warning,
            format!("检测当日室内质控出现警告（{}）", rules.join("、")),
            format!(
                "IQC warning rules fired on the analysis day ({})",
                rules.join(", ")
            ),
        ),
        IqcDay::Rejected(rules) => note(
            "iqc-rejected",
            Severity::Failure,
            format!("检测当日室内质控失控（{}）", rules.join("、")),
            format!(
                "IQC rejection rules fired on the analysis day ({})",
                rules.join(", ")
            ),
        ),
        IqcDay::Missing => note(
            "iqc-missing",
            if strict {
                Severity::Failure
            } else {
                Severity::Warning
            },
            "检测当日无室内质控数据".to_owned(),
            "no IQC data for the analysis day".to_owned(),
        ),
    }

    // 4. Reference interval.
    match f.interval {
        IntervalCheck::Agrees | IntervalCheck::Harmonized | IntervalCheck::NoNationalInterval => {}
        IntervalCheck::NoLabInterval => note(
            "interval-missing",
            Severity::Failure,
            "出具实验室该项目的参考区间未知".to_owned(),
            "the issuing laboratory's reference interval for the item is not known".to_owned(),
        ),
        IntervalCheck::NoTea => note(
            "interval-no-tea",
            Severity::Failure,
            "该项目无允许总误差，无法判断参考区间是否一致".to_owned(),
            "the item has no allowable total error, so its reference interval cannot be \
             compared"
                .to_owned(),
        ),
        IntervalCheck::Disagrees {
            bound,
            lab,
            national,
            allowed,
        } => {
            let show = |v: &Option<f64>| v.map_or_else(|| "—".to_owned(), |v| format!("{v}"));
            let allowed = allowed.map_or_else(String::new, |a| format!(" (± {a:.4})"));
            note(
                "interval-disagrees",
                Severity::Failure,
                format!(
                    "参考区间{}限 {} 与国家参考区间 {} 的差异超过允许总误差{allowed}",
                    if *bound == "low" { "下" } else { "上" },
                    show(lab),
                    show(national)
                ),
                format!(
                    "the {bound} bound of the laboratory's reference interval ({}) differs \
                     from the national one ({}) by more than the allowable total error{allowed}",
                    show(lab),
                    show(national)
                ),
            );
        }
    }

    // 5. Validity window.
    let valid_until = entry
        .as_ref()
        .map(|e| r.collected_at + i64::from(e.validity_days) * DAY);
    if let (Some(e), Some(until)) = (&entry, valid_until)
        && f.at > until
    {
        note(
            "validity-expired",
            Severity::Failure,
            format!("已超过互认时限（{} 天）", e.validity_days),
            format!(
                "the result is older than the item's validity window of {} days",
                e.validity_days
            ),
        );
    }

    // 6. The result itself.
    if !matches!(
        r.status,
        ResultStatus::Final | ResultStatus::Amended | ResultStatus::Corrected
    ) {
        note(
            "status-not-final",
            Severity::Failure,
            format!("结果状态为 {}，不是最终结果", r.status.as_str()),
            format!("the result's status is {}, not final", r.status.as_str()),
        );
    }
    if !r.value_in_canonical_unit {
        note(
            "value-not-canonical",
            Severity::Failure,
            "结果无数值，或未换算为国家标准单位".to_owned(),
            "the result has no value in the item's canonical unit".to_owned(),
        );
    }
    match r.mapping {
        MappingUse::Direct | MappingUse::ApprovedEquivalent => {}
        MappingUse::ApprovedNotEquivalent => note(
            "mapping-not-equivalent",
            Severity::Failure,
            "本地项目与国家编码的对照不是等价对照".to_owned(),
            "the local code's mapping to the national code is not `equivalent`".to_owned(),
        ),
        MappingUse::NotApproved => note(
            "mapping-not-approved",
            Severity::Failure,
            "本地项目与国家编码的对照未经审核".to_owned(),
            "the local code's mapping to the national code is not approved".to_owned(),
        ),
    }

    Decision {
        recognizable: !reasons.iter().any(|r| r.severity == Severity::Failure),
        entry,
        valid_until,
        reasons,
    }
}

/// The decision for a result kept under a LOINC term that no national code has (a LOINC-only
/// mapping, or a LOINC code the registry lacks): never recognizable, since recognition needs a
/// catalogue item, and catalogue items are national codes.
#[must_use]
pub fn without_national_code(loinc: &str) -> Decision {
    Decision {
        recognizable: false,
        entry: None,
        valid_until: None,
        reasons: vec![Reason {
            code: "no-national-code",
            severity: Severity::Failure,
            zh: format!("该结果仅有 LOINC 编码 {loinc},无国家编码,不在互认目录中"),
            en: format!(
                "the result has LOINC code {loinc} only and no national code, so it is on no \
                 recognition catalogue"
            ),
        }],
    }
}

#[cfg(test)]
mod tests;
