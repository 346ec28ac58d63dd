//! Mapping suggestions: the national concepts a hospital's local test most likely is, given its
//! messy local name, its unit and its specimen, best first, each with the reasons for it.
//!
//! A suggestion is found in two steps. **Retrieval** reads the name (`local`: the unit,
//! specimen, method, reference range and "测定" written into it come out) and searches the
//! index with each reading: the name as written and cleaned, in the national system and in
//! LOINC (whose hits are translated to national codes through the cross-reference), and, when
//! neither is a name as it stands, each part of it (`GLU` and `葡萄糖`) and each bracketed method
//! (`魏氏法`). The scores are fused per concept (see [`retrieve`]); concepts of one analyte that
//! differ only in property or system share their name score (see [`share_with_siblings`]).
//! **Re-ranking** then applies what a name cannot tell:
//!
//! 1. **Unit tier.** When the unit is known, a concept whose unit the local unit cannot convert
//!    into ranks below every concept whose unit it can (mass ↔ molar counts as convertible
//!    when the concept has a molar mass; milliequivalents convert with the ion's charge). No
//!    name match and no evidence lifts it over that line.
//! 2. **Evidence.** A local name that other hospitals have mapped (approved) to a concept puts
//!    that concept first within its tier once two hospitals agree, more hospitals before fewer.
//! 3. **Agreement.** A mass unit prefers the mass concentration (`MCnc`) over the molar one
//!    (`SCnc`) and the other way round; the concept's own unit and a compatible specimen add a
//!    little; an incompatible specimen takes away more.
//!
//! Deprecated concepts are never suggested. Everything here is pure computation over the
//! registry snapshot and the index: a handful of index searches per suggestion, under a
//! millisecond on average on the seed registry (see `tests/suggest.rs`).

mod local;

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::fmt;

use huren_core::specimen::specimen_compatible;
use huren_core::units::{conversion_factor_with_charge, ion_charge, resolve_local_unit};
use huren_core::{CodeSystem, Concept, Registry, Status};

use crate::SearchIndex;
use crate::analysis::{fold_width, is_han, name_key, normalize_abbreviation};
use local::LocalName;

/// What a hospital knows about one local test.
#[derive(Debug, Clone, Copy, Default)]
pub struct SuggestQuery<'a> {
    /// The local name, as the LIS spells it (units and specimens inside it are recognised).
    pub name: &'a str,
    /// The local unit (`mg/dl`, `μmol/L`, `x10^9/L`); empty when unknown.
    pub unit: &'a str,
    /// The local specimen (`血清`, `serum`, `EDTA全血`); empty when unknown.
    pub specimen: &'a str,
}

/// Approved mappings of all hospitals, as evidence of what a local name means.
///
/// Local names are compared by [`local_name_key`], so `GLU-葡萄糖`, `glu 葡萄糖` and
/// `ＧＬＵ葡萄糖` are one name. What counts is the number of distinct hospitals that mapped a
/// name to a code: one hospital mapping it twice is still one hospital.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// Name key → national code → hospitals.
    by_name: HashMap<String, HashMap<String, BTreeSet<String>>>,
}

impl Evidence {
    /// Builds the evidence from `(hospital, local name, national code)` triples of approved
    /// mappings.
    pub fn new(approved: &[(String, String, String)]) -> Evidence {
        let mut by_name: HashMap<String, HashMap<String, BTreeSet<String>>> = HashMap::new();
        for (hospital, name, code) in approved {
            let key = local_name_key(name);
            if key.is_empty() || code.trim().is_empty() {
                continue;
            }
            by_name
                .entry(key)
                .or_default()
                .entry(code.trim().to_owned())
                .or_default()
                .insert(hospital.trim().to_owned());
        }
        Evidence { by_name }
    }

    /// How many distinct hospitals mapped `local_name` to `code`.
    pub fn hospitals(&self, local_name: &str, code: &str) -> usize {
        self.by_name
            .get(&local_name_key(local_name))
            .and_then(|codes| codes.get(code))
            .map_or(0, BTreeSet::len)
    }

    /// Codes mapped from any of `names` (by key), with the number of distinct hospitals over
    /// all of them.
    fn codes_for<'a>(&'a self, names: &[&str]) -> HashMap<&'a str, usize> {
        let mut hospitals: HashMap<&str, BTreeSet<&str>> = HashMap::new();
        let mut keys: Vec<String> = names.iter().map(|n| local_name_key(n)).collect();
        keys.sort();
        keys.dedup();
        for key in keys.iter().filter(|k| !k.is_empty()) {
            for (code, hs) in self.by_name.get(key).into_iter().flatten() {
                hospitals
                    .entry(code.as_str())
                    .or_default()
                    .extend(hs.iter().map(String::as_str));
            }
        }
        hospitals.into_iter().map(|(c, hs)| (c, hs.len())).collect()
    }
}

/// The key local names are compared by: width-folded, lowercased, with white space and
/// punctuation removed (`K+` and `k` meet, as do `GLU 葡萄糖` and `glu葡萄糖`).
pub fn local_name_key(name: &str) -> String {
    normalize_abbreviation(name)
}

/// One suggested concept: a national concept, or a LOINC term that no national concept is
/// equivalent to.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// `National`, or `Loinc` for a LOINC term without a national code.
    pub system: CodeSystem,
    pub code: String,
    pub display_zh: String,
    pub display_en: String,
    /// Higher is better. Comparable only within one answer; a concept in the lower unit tier
    /// can have a higher score than one above it (see the module documentation).
    pub score: f64,
    /// How sure the suggestion is, from 0 to 1, from what supports it regardless of the other
    /// candidates (see [`confidence`]); below [`ABSTAIN_BELOW`] the answer abstains.
    pub confidence: f64,
    pub reasons: Vec<Reason>,
}

/// The confidence under which a suggestion is not offered as an answer: the curator sees the
/// candidates, but the row counts as "no suggestion" (not a lab result huren knows, or a name
/// too unlike any). Set from the held-out evaluation in `docs/performance.md`.
pub const ABSTAIN_BELOW: f64 = 0.5;

/// Whether an answer abstains: no suggestion, or a best one below [`ABSTAIN_BELOW`].
pub fn abstains(suggestions: &[Suggestion]) -> bool {
    suggestions
        .first()
        .is_none_or(|s| s.confidence < ABSTAIN_BELOW)
}

/// Why a concept was suggested (or what speaks against it). Each reason has a stable
/// [`Reason::code`] for clients and a sentence in Chinese and in English.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// The local name is, or shares words with, a Chinese name of the concept.
    NameZh { name: String, exact: bool },
    /// The local name is, or shares words with, an English name of the concept.
    NameEn { name: String, exact: bool },
    /// The local name is, or contains, an abbreviation of the concept.
    Abbreviation { abbreviation: String },
    /// The local name matches a LOINC term that the concept is equivalent to.
    LoincTerm { loinc: String, name: String },
    /// The local unit converts into the concept's unit (same kind of quantity).
    UnitConvertible {
        unit: String,
        concept_unit: String,
        factor: f64,
    },
    /// The local unit converts into the concept's unit through the molar mass.
    UnitMassMolar {
        unit: String,
        concept_unit: String,
        factor: f64,
        molar_mass: f64,
    },
    /// The local unit does not convert into the concept's unit (or the concept has none).
    UnitNotConvertible { unit: String, concept_unit: String },
    /// The concept's property (mass or substance concentration) is the kind the unit measures.
    PropertyMatchesUnit { property: String, unit: String },
    /// The local specimen is one the concept's system covers.
    SpecimenCompatible { specimen: String, system: String },
    /// The local specimen is not one the concept's system covers.
    SpecimenIncompatible { specimen: String, system: String },
    /// Other hospitals mapped this local name to the concept.
    Evidence { hospitals: usize },
    /// A LOINC term that no national concept is equivalent to: a mapping to it keeps results
    /// under LOINC, not recognizable until a national release adds a code.
    LoincOnly,
    /// The local unit measures another kind of quantity than the term's property says (the
    /// term states no unit of its own).
    UnitPropertyMismatch { unit: String, property: String },
}

impl Reason {
    /// A stable identifier of the kind of reason, for clients and translations.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::NameZh { .. } => "name-zh",
            Reason::NameEn { .. } => "name-en",
            Reason::Abbreviation { .. } => "abbreviation",
            Reason::LoincTerm { .. } => "loinc-term",
            Reason::UnitConvertible { .. } => "unit-convertible",
            Reason::UnitMassMolar { .. } => "unit-mass-molar",
            Reason::UnitNotConvertible { .. } => "unit-not-convertible",
            Reason::PropertyMatchesUnit { .. } => "property-matches-unit",
            Reason::SpecimenCompatible { .. } => "specimen-compatible",
            Reason::SpecimenIncompatible { .. } => "specimen-incompatible",
            Reason::Evidence { .. } => "evidence",
            Reason::LoincOnly => "loinc-only",
            Reason::UnitPropertyMismatch { .. } => "unit-property-mismatch",
        }
    }

    /// Whether the reason speaks against the concept.
    pub fn is_against(&self) -> bool {
        matches!(
            self,
            Reason::UnitNotConvertible { .. }
                | Reason::SpecimenIncompatible { .. }
                | Reason::UnitPropertyMismatch { .. }
        )
    }

    /// The reason in Chinese.
    pub fn zh(&self) -> String {
        match self {
            Reason::NameZh { name, exact: true } => format!("名称与中文名“{name}”一致"),
            Reason::NameZh { name, exact: false } => format!("名称与中文名“{name}”相近"),
            Reason::NameEn { name, exact: true } => format!("名称与英文名“{name}”一致"),
            Reason::NameEn { name, exact: false } => format!("名称与英文名“{name}”相近"),
            Reason::Abbreviation { abbreviation } => format!("名称含缩写“{abbreviation}”"),
            Reason::LoincTerm { loinc, name } => {
                format!("名称与 LOINC {loinc}“{name}”相符,该 LOINC 码对应此国家编码")
            }
            Reason::UnitConvertible {
                unit,
                concept_unit,
                factor,
            } => format!(
                "单位 {unit} 可换算为 {concept_unit}(×{})",
                format_number(*factor)
            ),
            Reason::UnitMassMolar {
                unit,
                concept_unit,
                factor,
                molar_mass,
            } => format!(
                "单位 {unit} 可经摩尔质量 {} g/mol 换算为 {concept_unit}(×{})",
                format_number(*molar_mass),
                format_number(*factor)
            ),
            Reason::UnitNotConvertible { unit, concept_unit } if concept_unit.is_empty() => {
                format!("单位 {unit} 不适用:该项目无单位(定性)")
            }
            Reason::UnitNotConvertible { unit, concept_unit } => {
                format!("单位 {unit} 无法换算为 {concept_unit}")
            }
            Reason::PropertyMatchesUnit { property, unit } => format!(
                "单位 {unit} 为{},与属性 {property} 相符",
                property_zh(property)
            ),
            Reason::SpecimenCompatible { specimen, system } => {
                format!("标本“{specimen}”与体系 {system} 相符")
            }
            Reason::SpecimenIncompatible { specimen, system } => {
                format!("标本“{specimen}”与体系 {system} 不符")
            }
            Reason::Evidence { hospitals } => {
                format!("{hospitals} 家医院已将此本地名称映射到该编码")
            }
            Reason::LoincOnly => {
                "该 LOINC 术语尚无国家编码:映射后结果以 LOINC 编码保存,国家编码发布前不能互认"
                    .to_owned()
            }
            Reason::UnitPropertyMismatch { unit, property } => {
                format!("单位 {unit} 与该术语的属性 {property} 不符")
            }
        }
    }

    /// The reason in English.
    pub fn en(&self) -> String {
        match self {
            Reason::NameZh { name, exact: true } => format!("name is the Chinese name “{name}”"),
            Reason::NameZh { name, exact: false } => {
                format!("name is close to the Chinese name “{name}”")
            }
            Reason::NameEn { name, exact: true } => format!("name is the English name “{name}”"),
            Reason::NameEn { name, exact: false } => {
                format!("name is close to the English name “{name}”")
            }
            Reason::Abbreviation { abbreviation } => {
                format!("name contains the abbreviation “{abbreviation}”")
            }
            Reason::LoincTerm { loinc, name } => format!(
                "name matches LOINC {loinc} “{name}”, which this national code is equivalent to"
            ),
            Reason::UnitConvertible {
                unit,
                concept_unit,
                factor,
            } => format!(
                "unit {unit} converts to {concept_unit} (×{})",
                format_number(*factor)
            ),
            Reason::UnitMassMolar {
                unit,
                concept_unit,
                factor,
                molar_mass,
            } => format!(
                "unit {unit} converts to {concept_unit} through the molar mass {} g/mol (×{})",
                format_number(*molar_mass),
                format_number(*factor)
            ),
            Reason::UnitNotConvertible { unit, concept_unit } if concept_unit.is_empty() => {
                format!("unit {unit} does not apply: the concept has no unit (qualitative)")
            }
            Reason::UnitNotConvertible { unit, concept_unit } => {
                format!("unit {unit} does not convert to {concept_unit}")
            }
            Reason::PropertyMatchesUnit { property, unit } => format!(
                "unit {unit} is a {}, as the property {property} is",
                property_en(property)
            ),
            Reason::SpecimenCompatible { specimen, system } => {
                format!("specimen “{specimen}” fits the system {system}")
            }
            Reason::SpecimenIncompatible { specimen, system } => {
                format!("specimen “{specimen}” does not fit the system {system}")
            }
            Reason::Evidence { hospitals: 1 } => {
                "1 hospital mapped this local name to this code".to_owned()
            }
            Reason::Evidence { hospitals } => {
                format!("{hospitals} hospitals mapped this local name to this code")
            }
            Reason::LoincOnly => "a LOINC term without a national code: results mapped to it are \
                 kept under LOINC and cannot be recognized until a national release adds a code"
                .to_owned(),
            Reason::UnitPropertyMismatch { unit, property } => {
                format!("unit {unit} does not measure the term's property {property}")
            }
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.en())
    }
}

/// The kinds of quantity a property names, in Chinese and English, for the reasons.
const PROPERTY_NAMES: &[(&str, &str, &str)] = &[
    ("MCnc", "质量浓度", "mass concentration"),
    ("SCnc", "物质的量浓度", "substance (molar) concentration"),
    ("NCnc", "数量浓度", "number concentration"),
    ("CCnc", "催化活性浓度", "catalytic activity concentration"),
    ("NFr", "数量分数", "number fraction"),
    ("MFr", "质量分数", "mass fraction"),
    ("VFr", "体积分数", "volume fraction"),
    ("SFr", "物质的量分数", "substance fraction"),
    ("PPres", "分压", "partial pressure"),
    ("Time", "时间", "time"),
    ("EntVol", "单个体积", "entitic volume"),
    ("EntMass", "单个质量", "entitic mass"),
    ("MRat", "质量速率", "mass rate"),
    ("SRat", "物质的量速率", "substance rate"),
    ("Naric", "单位面积数量", "number per area"),
];

fn property_zh(property: &str) -> &'static str {
    PROPERTY_NAMES
        .iter()
        .find(|(p, _, _)| *p == property)
        .map_or("该属性", |&(_, zh, _)| zh)
}

fn property_en(property: &str) -> &'static str {
    PROPERTY_NAMES
        .iter()
        .find(|(p, _, _)| *p == property)
        .map_or("quantity of that property", |&(_, _, en)| en)
}

/// Four significant digits, without trailing zeros: `0.05551`, `10`, `88.4`.
fn format_number(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return x.to_string();
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = usize::try_from((3 - magnitude).max(0)).unwrap_or(0);
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

const MASS: &str = "MCnc";
const MOLAR: &str = "SCnc";

// Weights of the fused retrieval score (see [`retrieve`]). A part of a several-part name
// counts half (`GLU` of `GLU 葡萄糖` must not outweigh the whole); a LOINC hit counts half, as
// it mostly confirms an English name the national concept carries too.
const PART: f64 = 0.5;
const VIA_LOINC: f64 = 0.5;
/// Hits taken from each search.
const HITS_PER_SEARCH: usize = 20;
/// A LOINC hit is named as a reason when it is among the first this many of its search…
const LOINC_REASON_RANKS: usize = 3;
/// …and scores at least this share of the first.
const LOINC_REASON_SHARE: f64 = 0.8;
/// The most parts of a name searched on their own.
const MAX_SEGMENTS: usize = 4;
/// The share of a sibling's name score a concept gets (see [`share_with_siblings`]): just
/// below the sibling's own, so the name still decides when nothing else does.
const SIBLING: f64 = 0.9;

// Re-ranking, on the scale of the normalised name score (the best candidate has 1). One
// hospital's approved mapping weighs as much as the best name match; two (2.0) outweigh any
// name, agreement and specimen difference (at most 1 + 0.3 + 0.05 + 0.05 + 0.25); agreement
// decides between candidates whose names match about equally well.
const EVIDENCE_PER_HOSPITAL: f64 = 1.0;
const MAX_EVIDENCE_HOSPITALS: usize = 8;
const PROPERTY_MATCHES_UNIT: f64 = 0.3;
const SAME_UNIT: f64 = 0.05;
const SPECIMEN_COMPATIBLE: f64 = 0.05;
const SPECIMEN_INCOMPATIBLE: f64 = -0.5;
/// A LOINC term without a national code weighs a little less than a national concept matching
/// as well: national codes can be recognized, LOINC-only ones cannot.
const LOINC_ONLY: f64 = -0.1;

/// The unit a property's values convert into, to tell whether a local unit measures the
/// property of a term that states no unit of its own (LOINC's Top-2000 lists none). Properties
/// not listed (ratios, arbitrary units) are not judged.
const PROPERTY_UNITS: &[(&str, &str)] = &[
    ("MCnc", "g/L"),
    ("SCnc", "mol/L"),
    ("NCnc", "/L"),
    ("CCnc", "U/L"),
    ("NFr", "%"),
    ("MFr", "%"),
    ("VFr", "%"),
    ("SFr", "%"),
    ("PPres", "mm[Hg]"),
    ("Time", "s"),
    ("EntVol", "fL"),
    ("EntMass", "pg"),
    ("MRat", "g/d"),
    ("SRat", "mol/d"),
    ("Naric", "/[HPF]"),
];

/// What the query's unit and specimen resolved to.
struct Context {
    /// The local unit as UCUM.
    unit: Option<String>,
    /// Whether the local unit is a mass or a substance concentration.
    unit_property: Option<&'static str>,
    /// The specimen core recognised.
    specimen: Option<String>,
}

impl Context {
    fn of(q: &SuggestQuery<'_>, local: &LocalName) -> Context {
        let unit = resolve_local_unit(q.unit)
            .ok()
            .map(|u| u.ucum)
            .or_else(|| local.units.first().cloned());
        let unit_property = unit.as_deref().and_then(|u| {
            if conversion_factor_with_charge(u, "g/L", None, None).is_some() {
                Some(MASS)
            } else if conversion_factor_with_charge(u, "mol/L", None, None).is_some() {
                Some(MOLAR)
            } else {
                None
            }
        });
        let given = q.specimen.trim();
        let specimen = if local::is_specimen(given) {
            Some(given.to_owned())
        } else {
            local
                .specimens
                .iter()
                .find(|s| local::is_specimen(s))
                .cloned()
        };
        Context {
            unit,
            unit_property,
            specimen,
        }
    }
}

/// A candidate while it is being ranked.
struct Candidate<'r> {
    system: CodeSystem,
    concept: &'r Concept,
    /// Fused retrieval score (before normalisation).
    text: f64,
    /// The LOINC term it was reached through, if any.
    via_loinc: Option<&'r Concept>,
    hospitals: usize,
    /// Whether the local unit cannot convert into the concept's unit.
    lower_tier: bool,
    score: f64,
    reasons: Vec<Reason>,
}

/// Suggests up to `limit` national concepts for a local test, best first.
///
/// Search failures (which would be bugs of the index, not bad input) leave out the hits of
/// that one search; any text, unit and specimen is accepted.
pub fn suggest(
    registry: &Registry,
    index: &SearchIndex,
    evidence: &Evidence,
    q: &SuggestQuery<'_>,
    limit: usize,
) -> Vec<Suggestion> {
    if limit == 0 || is_placeholder(q.name) {
        return Vec::new();
    }
    let local = LocalName::parse(q.name);
    let context = Context::of(q, &local);
    let mut candidates = retrieve(registry, index, &local);

    let names: Vec<&str> = [local.raw.as_str(), local.cleaned.as_str()]
        .into_iter()
        .filter(|n| !n.is_empty())
        .collect();
    for (code, hospitals) in evidence.codes_for(&names) {
        if let Some((system, c)) = active_target(registry, code) {
            candidates
                .entry(c.code.as_str())
                .or_insert_with(|| Candidate::new(system, c))
                .hospitals = hospitals;
        }
    }

    let best = candidates.values().map(|c| c.text).fold(0.0_f64, f64::max);
    let mut ranked: Vec<Candidate<'_>> = candidates.into_values().collect();
    for c in &mut ranked {
        c.rank(best, &context, &local);
    }
    ranked.sort_by(|a, b| {
        a.lower_tier
            .cmp(&b.lower_tier)
            .then(b.score.partial_cmp(&a.score).unwrap_or(Ordering::Equal))
            .then_with(|| {
                (a.system != CodeSystem::National).cmp(&(b.system != CodeSystem::National))
            })
            .then_with(|| {
                let len = |c: &Candidate<'_>| c.concept.display_zh.chars().count();
                len(a).cmp(&len(b))
            })
            .then_with(|| a.concept.code.cmp(&b.concept.code))
    });
    ranked.truncate(limit);
    ranked
        .into_iter()
        .map(|c| Suggestion {
            system: c.system,
            code: c.concept.code.clone(),
            display_zh: c.concept.display_zh.clone(),
            display_en: c.concept.display_en.clone(),
            score: c.score,
            confidence: confidence(&c.reasons, c.lower_tier),
            reasons: c.reasons,
        })
        .collect()
}

/// How sure one suggestion is, from what supports it on its own (not from how it compares with
/// the others): the local name mapped to it by two hospitals or more, 1; by one, 0.8; the
/// local name is one of its names or abbreviations, 0.9; close to one of its names, or to the
/// name of a LOINC term equivalent to it, 0.6; only parts of the name match, 0.3. A unit that
/// does not convert, or a specimen that does not fit, halves it.
pub fn confidence(reasons: &[Reason], lower_tier: bool) -> f64 {
    let mut c: f64 = 0.3;
    for r in reasons {
        let v = match r {
            Reason::Evidence { hospitals } if *hospitals >= 2 => 1.0,
            Reason::Evidence { .. } => 0.8,
            Reason::NameZh { exact: true, .. }
            | Reason::NameEn { exact: true, .. }
            | Reason::Abbreviation { .. } => 0.9,
            Reason::NameZh { .. } | Reason::NameEn { .. } | Reason::LoincTerm { .. } => 0.6,
            _ => 0.0,
        };
        c = c.max(v);
    }
    if lower_tier || reasons.iter().any(Reason::is_against) {
        c /= 2.0;
    }
    c
}

/// Names that fill an empty cell rather than name a test: `N/A` would otherwise read as the
/// abbreviation of sodium. Compared width-folded, trimmed and lowercased. Data: a new filler
/// seen in real files is a new row.
pub const PLACEHOLDER_NAMES: &[&str] = &[
    "n/a",
    "n.a.",
    "not applicable",
    "none",
    "null",
    "nil",
    "-",
    "--",
    "---",
    "/",
    "?",
    "无",
    "空",
    "不适用",
    "暂无",
    "未知",
];

/// Whether a local name is a filler ([`PLACEHOLDER_NAMES`]) or has nothing to search.
fn is_placeholder(name: &str) -> bool {
    let folded = fold_width(name).trim().to_lowercase();
    folded.chars().all(|c| !c.is_alphanumeric()) || PLACEHOLDER_NAMES.contains(&folded.as_str())
}

fn active_national<'r>(registry: &'r Registry, code: &str) -> Option<&'r Concept> {
    registry
        .lookup(CodeSystem::National, code)
        .map(|c| c.as_ref())
        .filter(|c| c.status != Status::Deprecated && !is_non_result_class(&c.class))
}

/// LOINC classes whose terms are not lab results a local result code could be mapped to:
/// administrative notes (`MISC`: "Service comment", "Fasting status - Reported"), surveys,
/// attachments, imaging and ultrasound, order panels, body measurements, and narrative
/// pathology and cytology reports. Clinical observations a blood gas report carries (`CLIN`:
/// inhaled oxygen) and specimen properties (`SPEC`: colour of urine) stay. Matched as the CLASS
/// or its prefix (`PANEL.CHEM`). Data: a class found to matter is a new row.
pub const NON_RESULT_CLASSES: &[&str] = &[
    "MISC", "ATTACH", "SURVEY", "PANEL", "OB.US", "PULM", "BDYWGT", "HEMODYN", "PATH", "CYTO",
    "H&P", "RAD", "DOC", "ADMIN",
];

/// Whether a LOINC term's class is one of [`NON_RESULT_CLASSES`].
fn is_non_result_class(class: &str) -> bool {
    let class = class.trim().to_ascii_uppercase();
    NON_RESULT_CLASSES
        .iter()
        .any(|c| class == *c || class.starts_with(&format!("{c}.")))
}

/// A LOINC term that may be suggested on its own: not deprecated, a lab result (not of a
/// [`NON_RESULT_CLASSES`] class), and no national concept is equivalent to it (then the
/// national concept is suggested instead, never the term).
fn loinc_only<'r>(registry: &'r Registry, code: &str) -> Option<&'r Concept> {
    registry
        .lookup(CodeSystem::Loinc, code)
        .map(|c| c.as_ref())
        .filter(|c| c.status != Status::Deprecated && !is_non_result_class(&c.class))
        .filter(|_| registry.national_for_loinc(code).is_empty())
}

/// A code evidence names: a national concept, or a LOINC-only term.
fn active_target<'r>(registry: &'r Registry, code: &str) -> Option<(CodeSystem, &'r Concept)> {
    active_national(registry, code)
        .map(|c| (CodeSystem::National, c))
        .or_else(|| loinc_only(registry, code).map(|c| (CodeSystem::Loinc, c)))
}

/// How a text is searched and how its hits count.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Reading {
    /// A reading of the whole name: the best of these counts.
    Whole,
    /// One part of a several-part name: parts add up, at [`PART`] each.
    Part,
    /// A part of one or two Latin letters (`P`, `K`, `T`): as an abbreviation it names several
    /// analytes (phosphate and progesterone are both `P`), so it counts half a part.
    ShortPart,
}

impl Reading {
    /// What one hit of this reading adds to a part score.
    fn part_weight(self) -> f64 {
        match self {
            Reading::Whole => 0.0,
            Reading::Part => PART,
            Reading::ShortPart => PART / 2.0,
        }
    }

    /// The reading of one part of a name.
    fn of_part(part: &str) -> Reading {
        if part.chars().count() <= 2 && part.chars().all(|c| c.is_ascii_alphabetic()) {
            Reading::ShortPart
        } else {
            Reading::Part
        }
    }
}

/// Searches every reading of the name and fuses the scores per national concept: the best
/// whole reading, plus the parts, plus the best LOINC hit translated through the cross-reference.
///
/// The whole readings (the name as written, and cleaned) say the same thing in slightly
/// different words, so only the best counts: adding them up would multiply every small
/// preference of BM25 for shorter names. The parts say different things (`GLU` and `葡萄糖`,
/// `TSH` and `第三代`), so they add up; they are only searched when no whole reading is a name
/// or abbreviation as it stands (`超敏CRP` is a name, and its part `CRP` would only pull
/// towards the plain CRP). Each score is compressed by `ln(1 + s)`, since the index scores an
/// exact name with a constant that dwarfs any partial match: one exact part must not outweigh
/// every other part.
fn retrieve<'r>(
    registry: &'r Registry,
    index: &SearchIndex,
    local: &LocalName,
) -> HashMap<&'r str, Candidate<'r>> {
    let mut fused: HashMap<&'r str, Fused<'r>> = HashMap::new();
    let mut wholes: Vec<&str> = vec![local.raw.as_str()];
    if local.cleaned != local.raw && !local.cleaned.is_empty() {
        wholes.push(local.cleaned.as_str());
    }
    let mut exact = false;
    for text in &wholes {
        for c in search_national(registry, index, text, Reading::Whole, &mut fused) {
            exact = exact || is_exact_name(c, text);
        }
        // LOINC terms have English names, and Chinese ones where their component has a row in
        // `code-tables/loinc-components-zh.csv`.
        search_loinc(registry, index, text, Reading::Whole, &mut fused);
    }
    // A method is searched even after an exact name: it is what tells `红细胞沉降率` by
    // Westergren from `红细胞沉降率(方法未指定)`.
    for part in local.segments.iter().take(MAX_SEGMENTS) {
        if (!exact || local.methods.contains(part)) && !wholes.contains(&part.as_str()) {
            let reading = Reading::of_part(part);
            search_national(registry, index, part, reading, &mut fused);
            search_loinc(registry, index, part, reading, &mut fused);
        }
    }
    // Nothing at all: a typo in a Chinese name (`肌肝` for `肌酐`) shares no character pair
    // with any name. Its characters, searched one by one, still find candidates for the unit
    // and specimen to choose among.
    if fused.is_empty() {
        let chars: Vec<String> = local
            .cleaned
            .chars()
            .filter(|&c| is_han(c))
            .map(String::from)
            .collect();
        if !chars.is_empty() {
            search_national(registry, index, &chars.join(" "), Reading::Part, &mut fused);
        }
    }
    let mut candidates: HashMap<&'r str, Candidate<'r>> = fused
        .into_iter()
        .map(|(code, f)| {
            let mut c = Candidate::new(f.system, f.concept);
            c.text = f.whole + f.parts + VIA_LOINC * f.loinc;
            c.via_loinc = f.loinc_term;
            (code, c)
        })
        .collect();
    share_with_siblings(registry, &mut candidates);
    candidates
}

/// Whether `text` is, as it stands, a name or an abbreviation of `c`.
fn is_exact_name(c: &Concept, text: &str) -> bool {
    let key = name_key(text);
    let abbreviation = normalize_abbreviation(text);
    std::iter::once(&c.display_zh)
        .chain(&c.synonyms_zh)
        .chain(std::iter::once(&c.display_en))
        .chain(&c.synonyms_en)
        .any(|n| name_key(n) == key)
        || (!abbreviation.is_empty()
            && c.abbreviations
                .iter()
                .any(|a| normalize_abbreviation(a) == abbreviation))
}

/// The key under which concepts measure one analyte by one method: mass and molar forms
/// (`葡萄糖` and `葡萄糖(质量浓度)`), and serum and whole-blood forms (`葡萄糖` and
/// `全血葡萄糖`), share it.
fn analyte_key(c: &Concept) -> Option<(String, String, String)> {
    let a = c.axes.as_ref()?;
    Some((
        a.component.to_lowercase(),
        a.method_typ.to_lowercase(),
        a.scale_typ.to_lowercase(),
    ))
}

/// Gives each candidate at least [`SIBLING`] of the name score of its best sibling (same
/// analyte and method, another property or system), adding siblings the search missed.
///
/// A name names the analyte; the unit and the specimen name the property and the system. The
/// national table lists a synonym on one form and not on the other more or less by accident
/// (`总钙` is a synonym of the molar calcium only), which must not decide between them.
fn share_with_siblings<'r>(
    registry: &'r Registry,
    candidates: &mut HashMap<&'r str, Candidate<'r>>,
) {
    let Some(national) = registry.current(CodeSystem::National) else {
        return;
    };
    let mut best: HashMap<(String, String, String), f64> = HashMap::new();
    for c in candidates.values() {
        if let Some(key) = analyte_key(c.concept) {
            let b = best.entry(key).or_insert(0.0);
            *b = b.max(c.text);
        }
    }
    for concept in &national.concepts {
        if concept.status == Status::Deprecated {
            continue;
        }
        let Some(shared) = analyte_key(concept).and_then(|k| best.get(&k)) else {
            continue;
        };
        let c = candidates
            .entry(concept.code.as_str())
            .or_insert_with(|| Candidate::new(CodeSystem::National, concept));
        c.text = c.text.max(SIBLING * shared);
    }
}

/// The scores of one concept over all readings.
struct Fused<'r> {
    system: CodeSystem,
    concept: &'r Concept,
    whole: f64,
    parts: f64,
    loinc: f64,
    loinc_term: Option<&'r Concept>,
}

impl<'r> Fused<'r> {
    fn entry<'m>(
        map: &'m mut HashMap<&'r str, Fused<'r>>,
        system: CodeSystem,
        concept: &'r Concept,
    ) -> &'m mut Fused<'r> {
        map.entry(concept.code.as_str()).or_insert(Fused {
            system,
            concept,
            whole: 0.0,
            parts: 0.0,
            loinc: 0.0,
            loinc_term: None,
        })
    }
}

/// Adds the hits of one national search; returns the concepts hit.
fn search_national<'r>(
    registry: &'r Registry,
    index: &SearchIndex,
    text: &str,
    reading: Reading,
    fused: &mut HashMap<&'r str, Fused<'r>>,
) -> Vec<&'r Concept> {
    let hits = index
        .scored_hits(CodeSystem::National, text, HITS_PER_SEARCH)
        .unwrap_or_default();
    let mut found = Vec::with_capacity(hits.len());
    for (code, score) in hits {
        if let Some(c) = active_national(registry, code) {
            let f = Fused::entry(fused, CodeSystem::National, c);
            let score = compress(score);
            match reading {
                Reading::Whole => f.whole = f.whole.max(score),
                part => f.parts += part.part_weight() * score,
            }
            found.push(c);
        }
    }
    found
}

/// See [`retrieve`].
fn compress(score: f32) -> f64 {
    f64::from(score.max(0.0)).ln_1p()
}

/// Adds the hits of one LOINC search: a term without a national code as a candidate of its
/// own (its parts add up as a national concept's do), a term with one as the national
/// concept's LOINC score (whole readings only: a part of the name matching the term of a
/// national concept is what the national search already counts).
fn search_loinc<'r>(
    registry: &'r Registry,
    index: &SearchIndex,
    text: &str,
    reading: Reading,
    fused: &mut HashMap<&'r str, Fused<'r>>,
) {
    let hits = index
        .scored_hits(CodeSystem::Loinc, text, HITS_PER_SEARCH)
        .unwrap_or_default();
    let top = hits.first().map_or(0.0, |&(_, s)| compress(s));
    for (rank, (loinc, score)) in hits.into_iter().enumerate() {
        let Some(term) = registry.lookup(CodeSystem::Loinc, loinc) else {
            continue;
        };
        let score = compress(score);
        if let Some(term) = loinc_only(registry, loinc) {
            let f = Fused::entry(fused, CodeSystem::Loinc, term);
            match reading {
                Reading::Whole => f.whole = f.whole.max(score),
                part => f.parts += part.part_weight() * score,
            }
            continue;
        }
        if reading != Reading::Whole {
            continue;
        }
        // Only a hit near the top is worth naming as a reason; the rest only add their score.
        let named = rank < LOINC_REASON_RANKS && score >= LOINC_REASON_SHARE * top;
        for code in registry.national_for_loinc(loinc) {
            if let Some(c) = active_national(registry, code) {
                let f = Fused::entry(fused, CodeSystem::National, c);
                if score > f.loinc {
                    f.loinc = score;
                    f.loinc_term = named.then_some(term.as_ref());
                }
            }
        }
    }
}

impl<'r> Candidate<'r> {
    fn new(system: CodeSystem, concept: &'r Concept) -> Candidate<'r> {
        Candidate {
            system,
            concept,
            text: 0.0,
            via_loinc: None,
            hospitals: 0,
            lower_tier: false,
            score: 0.0,
            reasons: Vec::new(),
        }
    }

    /// Scores the candidate (name score normalised by the best one, plus evidence and
    /// agreement) and collects its reasons.
    fn rank(&mut self, best: f64, context: &Context, local: &LocalName) {
        let c = self.concept;
        let mut score = if best > 0.0 { self.text / best } else { 0.0 };
        self.reasons = name_reasons(c, local);
        if let Some(term) = self.via_loinc {
            self.reasons.push(Reason::LoincTerm {
                loinc: term.code.clone(),
                name: term.display_en.clone(),
            });
        }
        if self.hospitals > 0 {
            score += EVIDENCE_PER_HOSPITAL * self.hospitals.min(MAX_EVIDENCE_HOSPITALS) as f64;
            self.reasons.push(Reason::Evidence {
                hospitals: self.hospitals,
            });
        }
        if self.system == CodeSystem::Loinc {
            score += LOINC_ONLY;
            self.reasons.push(Reason::LoincOnly);
        }
        let unit_by_property = self.system == CodeSystem::Loinc && c.ucum_unit.trim().is_empty();
        if let (true, Some(unit)) = (unit_by_property, &context.unit) {
            // The term states no unit: judge the unit by the property its name states.
            let property = c.axes.as_ref().map(|a| a.property.as_str()).unwrap_or("");
            let reference = PROPERTY_UNITS.iter().find(|(p, _)| *p == property);
            let ordinal = c
                .axes
                .as_ref()
                .is_some_and(|a| matches!(a.scale_typ.as_str(), "Ord" | "Nom"));
            if let Some((_, reference)) = reference {
                if conversion_factor_with_charge(unit, reference, None, None).is_some() {
                    score += PROPERTY_MATCHES_UNIT;
                    self.reasons.push(Reason::PropertyMatchesUnit {
                        property: property.to_owned(),
                        unit: unit.clone(),
                    });
                } else {
                    self.lower_tier = true;
                    self.reasons.push(Reason::UnitPropertyMismatch {
                        unit: unit.clone(),
                        property: property.to_owned(),
                    });
                }
            } else if ordinal {
                self.lower_tier = true;
                self.reasons.push(Reason::UnitNotConvertible {
                    unit: unit.clone(),
                    concept_unit: String::new(),
                });
            }
        } else if let Some(unit) = &context.unit {
            let concept_unit = c.ucum_unit.trim();
            let charge = c.axes.as_ref().and_then(|a| ion_charge(&a.component));
            let direct = (!concept_unit.is_empty())
                .then(|| conversion_factor_with_charge(unit, concept_unit, None, charge))
                .flatten();
            let via_molar_mass = || {
                conversion_factor_with_charge(unit, concept_unit, c.molar_mass, charge)
                    .zip(c.molar_mass)
            };
            if let Some(factor) = direct {
                self.reasons.push(Reason::UnitConvertible {
                    unit: unit.clone(),
                    concept_unit: concept_unit.to_owned(),
                    factor,
                });
                if (factor - 1.0).abs() < 1e-9 {
                    score += SAME_UNIT;
                }
            } else if let Some((factor, molar_mass)) =
                (!concept_unit.is_empty()).then(via_molar_mass).flatten()
            {
                self.reasons.push(Reason::UnitMassMolar {
                    unit: unit.clone(),
                    concept_unit: concept_unit.to_owned(),
                    factor,
                    molar_mass,
                });
            } else {
                self.lower_tier = true;
                self.reasons.push(Reason::UnitNotConvertible {
                    unit: unit.clone(),
                    concept_unit: concept_unit.to_owned(),
                });
            }
            let property = c.axes.as_ref().map(|a| a.property.as_str());
            if let (Some(p), Some(u)) = (property, context.unit_property)
                && p == u
                && !self.lower_tier
            {
                score += PROPERTY_MATCHES_UNIT;
                self.reasons.push(Reason::PropertyMatchesUnit {
                    property: p.to_owned(),
                    unit: unit.clone(),
                });
            }
        }
        if let (Some(specimen), Some(axes)) = (&context.specimen, &c.axes)
            && !axes.system.is_empty()
        {
            match specimen_compatible(specimen, &axes.system) {
                Some(true) => {
                    score += SPECIMEN_COMPATIBLE;
                    self.reasons.push(Reason::SpecimenCompatible {
                        specimen: specimen.clone(),
                        system: axes.system.clone(),
                    });
                }
                Some(false) => {
                    score += SPECIMEN_INCOMPATIBLE;
                    self.reasons.push(Reason::SpecimenIncompatible {
                        specimen: specimen.clone(),
                        system: axes.system.clone(),
                    });
                }
                None => {}
            }
        }
        self.score = score;
    }
}

/// How the name matches the concept's names, for the reasons: an exact abbreviation or name
/// first; otherwise the closest Chinese name (by shared character pairs) and English name (by
/// shared words, allowing one typo in a long word).
fn name_reasons(c: &Concept, local: &LocalName) -> Vec<Reason> {
    let mut texts: Vec<&str> = vec![local.raw.as_str(), local.cleaned.as_str()];
    texts.extend(local.segments.iter().map(String::as_str));
    texts.retain(|t| !t.trim().is_empty());
    let latin_words: Vec<String> = texts
        .iter()
        .flat_map(|t| {
            t.split(|ch: char| is_han(ch) || ch.is_whitespace() || matches!(ch, '(' | ')' | '/'))
        })
        .map(normalize_abbreviation)
        .filter(|w| !w.is_empty())
        .collect();

    let mut out = Vec::new();
    let abbreviation = c.abbreviations.iter().find(|a| {
        let key = normalize_abbreviation(a);
        !key.is_empty()
            && (texts.iter().any(|t| normalize_abbreviation(t) == key)
                || latin_words.contains(&key))
    });
    if let Some(a) = abbreviation {
        out.push(Reason::Abbreviation {
            abbreviation: a.clone(),
        });
    }

    let zh_names = std::iter::once(&c.display_zh).chain(&c.synonyms_zh);
    let en_names = std::iter::once(&c.display_en)
        .chain(&c.synonyms_en)
        .chain(std::iter::once(&c.short_name));
    let keys: Vec<String> = texts.iter().map(|t| name_key(t)).collect();
    let exact = |n: &&String| !n.trim().is_empty() && keys.contains(&name_key(n));

    if let Some(n) = zh_names.clone().find(exact) {
        out.push(Reason::NameZh {
            name: n.clone(),
            exact: true,
        });
    } else {
        let query: String = local.raw.chars().filter(|&ch| is_han(ch)).collect();
        let best = zh_names
            .map(|n| (n, bigram_dice(&query, n)))
            .max_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(Ordering::Equal));
        if let Some((n, dice)) = best
            && dice >= 0.5
        {
            out.push(Reason::NameZh {
                name: n.clone(),
                exact: false,
            });
        }
    }

    if let Some(n) = en_names.clone().find(exact) {
        out.push(Reason::NameEn {
            name: n.clone(),
            exact: true,
        });
    } else {
        let words: Vec<String> = fold_width(&local.cleaned)
            .split(|ch: char| !ch.is_alphanumeric() || is_han(ch))
            .filter(|w| w.chars().count() >= MIN_ENGLISH_WORD_CHARS)
            .map(str::to_lowercase)
            .collect();
        if !words.is_empty() {
            let best = en_names
                .filter(|n| !n.trim().is_empty())
                .map(|n| {
                    let name_words: Vec<String> = n
                        .split(|ch: char| !ch.is_alphanumeric())
                        .map(str::to_lowercase)
                        .collect();
                    let matched = words
                        .iter()
                        .filter(|w| name_words.iter().any(|nw| words_match(w, nw)))
                        .count();
                    (n, matched)
                })
                .max_by_key(|&(_, m)| m);
            if let Some((n, matched)) = best
                && matched * 2 >= words.len()
                && matched > 0
            {
                out.push(Reason::NameEn {
                    name: n.clone(),
                    exact: false,
                });
            }
        }
    }
    out
}

/// Shorter words (`LDL`, `ALT`) are abbreviations, reported as such, not as English words.
const MIN_ENGLISH_WORD_CHARS: usize = 4;

/// The Dice coefficient of the Chinese character pairs (single characters for one-character
/// texts) of two names.
fn bigram_dice(a: &str, b: &str) -> f64 {
    fn grams(s: &str) -> Vec<(char, char)> {
        let han: Vec<char> = s.chars().filter(|&c| is_han(c)).collect();
        match han.len() {
            0 => Vec::new(),
            1 => vec![(han[0], han[0])],
            _ => han.windows(2).map(|w| (w[0], w[1])).collect(),
        }
    }
    let (ga, gb) = (grams(a), grams(b));
    if ga.is_empty() || gb.is_empty() {
        return 0.0;
    }
    let shared = ga.iter().filter(|g| gb.contains(g)).count();
    2.0 * shared as f64 / (ga.len() + gb.len()) as f64
}

/// Whether a word of the local name matches a word of a concept name: equal, or (five letters
/// and more) one edit apart, as the index's fuzzy search allows.
fn words_match(a: &str, b: &str) -> bool {
    a == b || (a.chars().count() >= 5 && b.chars().count() >= 4 && within_one_edit(a, b))
}

/// Whether `a` becomes `b` by at most one insertion, deletion, substitution or transposition.
fn within_one_edit(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    match (ra.len(), rb.len()) {
        (0, 0) => true,
        (la, lb) if la == lb => {
            ra[1..] == rb[1..]
                || (la >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
        }
        (la, lb) if la > lb => ra[1..] == *rb,
        _ => *ra == rb[1..],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_reasons_have_four_significant_digits() {
        for (x, s) in [
            (10.0 / 180.16, "0.05551"),
            (18.016, "18.02"),
            (1.0, "1"),
            (10.0, "10"),
            (1_000_000.0, "1000000"),
            (0.001, "0.001"),
            (88.42, "88.42"),
        ] {
            assert_eq!(format_number(x), s, "{x}");
        }
    }

    #[test]
    fn one_edit_apart() {
        for (a, b, yes) in [
            ("glucse", "glucose", true),
            ("creatnine", "creatinine", true),
            ("hemoglobni", "hemoglobin", true),
            ("choleterol", "cholesterol", true),
            ("glucose", "glucose", true),
            ("glucose", "glycose", true),
            ("glucose", "lactose", false),
            ("urea", "urate", false),
        ] {
            assert_eq!(within_one_edit(a, b), yes, "{a} {b}");
        }
    }

    #[test]
    fn local_names_meet_by_key() {
        assert_eq!(
            local_name_key("GLU 葡萄糖"),
            local_name_key("ｇｌｕ－葡萄糖")
        );
        assert_eq!(local_name_key(" K+ "), "k");
        assert_eq!(local_name_key("γ-GT"), "γgt");
        let evidence = Evidence::new(&[
            ("h1".into(), "GLU".into(), "9000033-2".into()),
            ("h1".into(), "glu".into(), "9000033-2".into()),
            ("h2".into(), "G L U".into(), "9000033-2".into()),
            ("h3".into(), "GLU".into(), "9000034-0".into()),
            ("h4".into(), "".into(), "9000034-0".into()),
        ]);
        assert_eq!(evidence.hospitals("glu", "9000033-2"), 2);
        assert_eq!(evidence.hospitals("GLU", "9000034-0"), 1);
        assert_eq!(evidence.hospitals("", "9000034-0"), 0);
        let codes = evidence.codes_for(&["GLU", "glu"]);
        assert_eq!(codes.get("9000033-2"), Some(&2));
        assert_eq!(codes.get("9000034-0"), Some(&1));
    }

    #[test]
    fn chinese_pairs() {
        assert!((bigram_dice("谷丙转氨酶", "谷丙转氨酶") - 1.0).abs() < 1e-9);
        assert!(bigram_dice("谷丙转胺酶", "谷丙转氨酶") >= 0.5);
        assert_eq!(bigram_dice("钾", "钠"), 0.0);
        assert_eq!(bigram_dice("钾", "钾"), 1.0);
        assert_eq!(bigram_dice("", "钾"), 0.0);
    }
}
