//! The normalizer: one [`LabResult`] as a hospital sent it → one result in national codes and
//! canonical UCUM units, with every decision it took written down as an [`Issue`].
//!
//! Pure: it reads the registry snapshot, the hospital's mapping of the local code (if any) and
//! the national reference intervals, and touches no storage. The rules, in order:
//!
//! 1. **Concept.** A national code is taken as it is; a local code through the hospital's
//!    *approved* mapping; a LOINC code through the registry's cross-reference. A result whose
//!    local code has no approved mapping and no other usable code is **held**: kept, not shown,
//!    and the local code is queued for the curators. A result whose approved mapping targets a
//!    LOINC term without a national code, or that was sent with such a LOINC code, is kept and
//!    shown under that LOINC term (a *registry gap*), in the term's example unit where the
//!    LOINC release states one; it cannot be recognized until a national release adds it.
//! 2. **Molar form.** A mass concentration (`MCnc`) whose concept has a substance-concentration
//!    twin (`SCnc`, same other axes) and a molar mass is reported under the twin, in the twin's
//!    unit: Chinese labs report SI units, and the two are different codes
//!    ([`NormalizeOptions::prefer_molar`]).
//! 3. **Unit.** The sent unit is resolved (UCUM, or a known alias); a unit that is neither is
//!    flagged and the value kept as sent, never guessed. The value is converted into the
//!    concept's canonical unit (mass↔molar through the molar mass, equivalents through the ion's
//!    charge); a value already in that unit keeps its text (`6.30` stays `6.30`), a converted one
//!    gets one more significant digit than was sent (at least 3). The comparator survives.
//! 4. **Reference range.** The sent one (text parsed into bounds), else the hospital's mapping
//!    range, else the national interval for the patient's sex and age; converted like the value.
//! 5. **Interpretation.** The sender's flags are kept; without flags, `L`/`H`/`N` is computed
//!    from the range when the value and the range allow it.

use crate::CodeSystem;
use crate::concept::{Concept, Status};
use crate::mapping::{Equivalence, Mapping, MappingStatus};
use crate::recognition::{MappingUse, Recorded, ResultFacts};
use crate::reference::{ReferenceIntervals, age_in_years, parse_range};
use crate::registry::Registry;
use crate::result::{CodeOrigin, Comparator, Decimal, LabResult, SentCode, SentValue};
use crate::units::{conversion_factor_with_charge, ion_charge, resolve_local_unit};
use serde::Serialize;
use std::sync::Arc;

/// Policy switches of the normalizer.
#[derive(Debug, Clone)]
pub struct NormalizeOptions {
    /// Report mass concentrations under their substance-concentration twin (rule 2). On by
    /// default.
    pub prefer_molar: bool,
}

impl Default for NormalizeOptions {
    fn default() -> NormalizeOptions {
        NormalizeOptions { prefer_molar: true }
    }
}

/// How serious a normalization issue is (FHIR `OperationOutcome.issue.severity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something was done the reader should know about (a unit alias, a code switch).
    Information,
    /// The result is kept but is not fully normalized (unknown unit, held).
    Warning,
}

/// One thing the normalizer noticed or decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub severity: Severity,
    /// A short machine code: `unmapped`, `not-approved`, `unit-unknown`, `unit-mismatch`,
    /// `unit-missing`, `unit-alias`, `converted`, `code-switch`, `deprecated`, `no-concept`.
    pub code: &'static str,
    pub message: String,
}

impl Issue {
    fn info(code: &'static str, message: impl Into<String>) -> Issue {
        Issue {
            severity: Severity::Information,
            code,
            message: message.into(),
        }
    }

    fn warning(code: &'static str, message: impl Into<String>) -> Issue {
        Issue {
            severity: Severity::Warning,
            code,
            message: message.into(),
        }
    }
}

/// The value sent, when what is reported differs from it (converted, or unit respelled).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OriginalValue {
    pub value: Decimal,
    pub unit: String,
}

/// Where the reported reference range came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RangeSource {
    Sender,
    HospitalMapping,
    NationalInterval,
}

/// The reference range as reported, in the value's unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NormalRange {
    pub low: Option<Decimal>,
    pub high: Option<Decimal>,
    pub text: String,
    pub source: RangeSource,
}

/// The reported value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NormalValue {
    pub value: SentValue,
    /// The UCUM code of a quantity's unit, or `None` when the unit is not UCUM (then the unit
    /// is reported as text only and an issue says so).
    pub ucum: Option<String>,
}

/// Why a result is held back instead of shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hold {
    /// `unmapped`, `not-approved` or `no-concept`.
    pub reason: &'static str,
    pub message: String,
}

/// A normalized result: the input plus everything the normalizer decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    pub result: LabResult,
    /// The national concept, or `None` when the result is held.
    pub concept: Option<Arc<Concept>>,
    pub value: NormalValue,
    pub original: Option<OriginalValue>,
    pub reference_range: Option<NormalRange>,
    /// v3 ObservationInterpretation codes: the sender's, or the computed one.
    pub interpretation: Vec<String>,
    pub interpretation_computed: bool,
    pub issues: Vec<Issue>,
    pub hold: Option<Hold>,
    /// The sender's local code when it has no approved mapping: it belongs in the hospital's
    /// unmapped queue (also when another code let the result through).
    pub unmapped_local: Option<SentCode>,
    /// A valid LOINC code that no national concept has: the result is kept under it, not held.
    /// It comes from the hospital's approved mapping to a LOINC term, or from the codes sent.
    pub registry_gap: Option<String>,
    /// The term of `registry_gap` in the current LOINC release, when the release has it: the
    /// result is reported in its example unit, where LOINC states one.
    pub loinc_term: Option<Arc<Concept>>,
}

/// What the normalizer reads besides the result.
pub struct Context<'a> {
    pub registry: &'a Registry,
    pub intervals: &'a ReferenceIntervals,
    pub options: &'a NormalizeOptions,
}

/// Normalizes one result. `mapping` is the hospital's mapping of the result's local code, if
/// the hospital has one (whatever its status).
pub fn normalize(ctx: &Context<'_>, result: LabResult, mapping: Option<&Mapping>) -> Normalized {
    let mut issues = Vec::new();
    let (concept, mut hold, unmapped_local) = resolve_concept(ctx, &result, mapping, &mut issues);
    // A LOINC term without a national code — the target of the hospital's approved mapping,
    // or a valid LOINC code sent — is not held back: the result is kept and shown under it,
    // and the gap is counted for the registry's curators.
    let mapped_loinc = mapping
        .filter(|m| m.status == MappingStatus::Approved && m.is_loinc_only())
        .filter(|_| unmapped_local.is_none() && hold.is_none());
    let registry_gap = if concept.is_some() {
        None
    } else if let Some(m) = mapped_loinc {
        Some(m.loinc.clone())
    } else {
        result
            .codes
            .iter()
            .find(|c| {
                c.origin == CodeOrigin::Loinc
                    && crate::code::check_loinc_code(c.code.trim()).is_ok()
                    && ctx.registry.national_for_loinc(c.code.trim()).is_empty()
            })
            .map(|c| c.code.trim().to_owned())
    };
    let loinc_term = registry_gap
        .as_deref()
        .and_then(|l| ctx.registry.lookup(CodeSystem::Loinc, l))
        .cloned();
    if let Some(loinc) = &registry_gap
        && let Some(h) = hold.take()
    {
        issues.retain(|i| i.code != h.reason);
        if h.reason != "no-concept" {
            issues.push(Issue::warning(
                h.reason,
                format!("{}; LOINC `{loinc}` was used instead", h.message),
            ));
        }
    }
    if let Some(loinc) = &registry_gap {
        let how = match (&loinc_term, mapped_loinc.is_some()) {
            (Some(t), true) if !t.ucum_unit.is_empty() => format!(
                "the local code is mapped to LOINC `{loinc}`, which has no national code: the \
                 result is reported under it, in its example unit {},",
                t.ucum_unit
            ),
            (_, true) => format!(
                "the local code is mapped to LOINC `{loinc}`, which has no national code: the \
                 result is reported under it,"
            ),
            (Some(t), false) if !t.ucum_unit.is_empty() => format!(
                "LOINC `{loinc}` is not in the national registry: the result is stored under \
                 its LOINC code, in its example unit {},",
                t.ucum_unit
            ),
            (_, false) => format!(
                "LOINC `{loinc}` is not in the national registry: the result is stored under \
                 its LOINC code, unconverted,"
            ),
        };
        issues.push(Issue::warning(
            "registry-gap",
            format!("{how} and cannot be recognized until a national release adds it"),
        ));
    }
    let mut out = Normalized {
        value: NormalValue {
            value: result.value.clone(),
            ucum: None,
        },
        result,
        concept: None,
        original: None,
        reference_range: None,
        interpretation: Vec::new(),
        interpretation_computed: false,
        issues,
        hold,
        unmapped_local,
        registry_gap,
        loinc_term,
    };
    let concept = concept.map(|c| molar_form(ctx, c, &mut out.issues));
    // A mapping only describes the result when the result is reported under its target.
    let mapping = mapping.filter(|m| match &concept {
        Some(c) => m.national_code == c.code || molar_twin_of(ctx, m, c),
        None => mapped_loinc.is_some(),
    });
    // What the value is converted into: the national concept, else the LOINC term.
    let loinc_term = out.loinc_term.clone();
    let unit_concept = concept.as_deref().or(loinc_term.as_deref());
    let factor = convert_value(&mut out, unit_concept, mapping);
    out.reference_range =
        reference_range(ctx, &out, unit_concept, concept.is_some(), mapping, factor);
    interpret(&mut out);
    out.concept = concept;
    out
}

/// Rule 1: which national concept the result is about.
fn resolve_concept(
    ctx: &Context<'_>,
    result: &LabResult,
    mapping: Option<&Mapping>,
    issues: &mut Vec<Issue>,
) -> (Option<Arc<Concept>>, Option<Hold>, Option<SentCode>) {
    let registry = ctx.registry;
    let mut unmapped_local = None;
    let mut local_hold = None;
    if let Some(local) = result.local_code() {
        match mapping {
            Some(m) if m.status == MappingStatus::Approved && m.is_loinc_only() => {
                // The LOINC term may have a national code since the mapping was made: the
                // result goes under it (the mapping itself moves with the release).
                if let Some(c) = national_for_loinc(registry, &m.loinc, result) {
                    issues.push(Issue::info(
                        "loinc-now-national",
                        format!(
                            "local code `{}` is mapped to LOINC `{}`, which national code `{}` \
                             is now equivalent to",
                            local.code, m.loinc, c.code
                        ),
                    ));
                    return (Some(active(registry, c, issues)), None, None);
                }
                return (None, None, None);
            }
            Some(m) if m.status == MappingStatus::Approved && !m.is_unmapped() => {
                if let Some(c) = registry.lookup(CodeSystem::National, &m.national_code) {
                    return (Some(active(registry, c, issues)), None, None);
                }
                local_hold = Some(Hold {
                    reason: "no-concept",
                    message: format!(
                        "local code `{}` is mapped to `{}`, which the current national release \
                         does not have",
                        local.code, m.national_code
                    ),
                });
            }
            Some(m) if !m.is_unmapped() => {
                local_hold = Some(Hold {
                    reason: "not-approved",
                    message: format!(
                        "the mapping of local code `{}` to `{}` is {}, not approved",
                        local.code,
                        m.target(),
                        m.status.as_str()
                    ),
                });
            }
            _ => {
                local_hold = Some(Hold {
                    reason: "unmapped",
                    message: format!(
                        "local code `{}`{} has no approved mapping yet; the result is held and \
                         the code queued for the curators",
                        local.code,
                        if local.display.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", local.display)
                        }
                    ),
                });
            }
        }
        unmapped_local = Some(local.clone());
    }
    for code in &result.codes {
        let found = match code.origin {
            CodeOrigin::National => registry.lookup(CodeSystem::National, &code.code),
            _ => None,
        };
        if let Some(c) = found {
            return (Some(active(registry, c, issues)), None, unmapped_local);
        }
    }
    for code in &result.codes {
        if code.origin != CodeOrigin::Loinc {
            continue;
        }
        if let Some(c) = national_for_loinc(registry, &code.code, result) {
            if let Some(hold) = &local_hold {
                issues.push(Issue::warning(
                    hold.reason,
                    format!("{}; LOINC `{}` was used instead", hold.message, code.code),
                ));
            }
            return (Some(active(registry, c, issues)), None, unmapped_local);
        }
    }
    let hold = local_hold.unwrap_or_else(|| Hold {
        reason: "no-concept",
        message: format!(
            "none of the codes sent ({}) is a local, national or known LOINC code",
            result
                .codes
                .iter()
                .map(|c| format!("`{}`", c.code))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    });
    issues.push(Issue::warning(hold.reason, hold.message.clone()));
    (None, Some(hold), unmapped_local)
}

/// The national concept equivalent to a LOINC code: the active one the sent unit converts into,
/// else the first.
fn national_for_loinc<'r>(
    registry: &'r Registry,
    loinc: &str,
    result: &LabResult,
) -> Option<&'r Arc<Concept>> {
    let fits_unit = |c: &&Arc<Concept>| match &result.value {
        SentValue::Quantity { unit, .. } => resolve_local_unit(unit).is_ok_and(|u| {
            conversion_factor_with_charge(&u.ucum, &c.ucum_unit, c.molar_mass, charge(c)).is_some()
        }),
        _ => true,
    };
    let concepts: Vec<&Arc<Concept>> = registry
        .national_for_loinc(loinc)
        .iter()
        .filter_map(|n| registry.lookup(CodeSystem::National, n))
        .collect();
    concepts
        .iter()
        .find(|c| c.status == Status::Active && fits_unit(c))
        .or_else(|| concepts.first())
        .copied()
}

/// A deprecated concept is reported under its replacement when there is one.
fn active(registry: &Registry, c: &Arc<Concept>, issues: &mut Vec<Issue>) -> Arc<Concept> {
    if c.status == Status::Active {
        return Arc::clone(c);
    }
    match registry.lookup(CodeSystem::National, &c.replaced_by) {
        Some(r) => {
            issues.push(Issue::info(
                "deprecated",
                format!(
                    "national code `{}` is {}; reported under its replacement `{}`",
                    c.code,
                    c.status.as_str(),
                    r.code
                ),
            ));
            Arc::clone(r)
        }
        None => {
            issues.push(Issue::warning(
                "deprecated",
                format!("national code `{}` is {}", c.code, c.status.as_str()),
            ));
            Arc::clone(c)
        }
    }
}

fn charge(c: &Concept) -> Option<u32> {
    c.axes.as_ref().and_then(|a| ion_charge(&a.component))
}

/// The substance-concentration twin of a mass-concentration concept, if it has one.
fn molar_twin(registry: &Registry, c: &Concept) -> Option<Arc<Concept>> {
    let axes = c.axes.as_ref()?;
    if axes.property != "MCnc" || c.molar_mass.is_none() {
        return None;
    }
    registry
        .current(CodeSystem::National)?
        .concepts
        .iter()
        .find(|t| {
            t.status == Status::Active
                && t.molar_mass.is_some()
                && t.axes.as_ref().is_some_and(|b| {
                    b.property == "SCnc"
                        && b.component == axes.component
                        && b.time_aspct == axes.time_aspct
                        && b.system == axes.system
                        && b.scale_typ == axes.scale_typ
                        && b.method_typ == axes.method_typ
                })
        })
        .cloned()
}

fn molar_twin_of(ctx: &Context<'_>, m: &Mapping, reported: &Concept) -> bool {
    ctx.registry
        .lookup(CodeSystem::National, &m.national_code)
        .and_then(|c| molar_twin(ctx.registry, c))
        .is_some_and(|t| t.code == reported.code)
}

/// Rule 2.
fn molar_form(ctx: &Context<'_>, c: Arc<Concept>, issues: &mut Vec<Issue>) -> Arc<Concept> {
    if !ctx.options.prefer_molar {
        return c;
    }
    match molar_twin(ctx.registry, &c) {
        Some(twin) => {
            issues.push(Issue::info(
                "code-switch",
                format!(
                    "`{}` ({}) is a mass concentration; reported as the substance concentration \
                     `{}` ({}) in {}",
                    c.code, c.display_zh, twin.code, twin.display_zh, twin.ucum_unit
                ),
            ));
            twin
        }
        None => c,
    }
}

/// Rule 3. Returns the factor applied (for the reference range), `None` when the value was not
/// converted.
fn convert_value(
    out: &mut Normalized,
    concept: Option<&Concept>,
    mapping: Option<&Mapping>,
) -> Option<f64> {
    let SentValue::Quantity {
        value,
        comparator,
        unit,
    } = &out.result.value
    else {
        return None;
    };
    let (value, comparator, sent_unit) = (value.clone(), *comparator, unit.clone());
    let mut unit_text = sent_unit.trim().to_owned();
    if unit_text.is_empty() {
        if let Some(m) = mapping.filter(|m| !m.unit_ucum.is_empty()) {
            out.issues.push(Issue::info(
                "unit-missing",
                format!(
                    "no unit was sent; the hospital's mapping table gives `{}`",
                    m.unit_ucum
                ),
            ));
            unit_text = m.unit_ucum.clone();
        } else if concept.is_some_and(|c| !c.ucum_unit.is_empty()) {
            out.issues.push(Issue::warning(
                "unit-missing",
                "no unit was sent and the mapping table gives none; the value is kept unconverted",
            ));
            return None;
        } else {
            return None;
        }
    }
    let resolved = match resolve_unit(&unit_text, mapping) {
        Ok(r) => r,
        Err(problem) => {
            out.issues.push(Issue::warning(
                "unit-unknown",
                format!(
                    "{}; the value is kept as sent, unconverted (a unit is never guessed)",
                    problem
                ),
            ));
            return None;
        }
    };
    if let Some(alias) = &resolved.alias {
        out.issues.push(Issue::info(
            "unit-alias",
            format!("unit `{alias}` read as UCUM `{}`", resolved.ucum),
        ));
    }
    let quantity = |value: Decimal, unit: &str| SentValue::Quantity {
        value,
        comparator,
        unit: unit.to_owned(),
    };
    let Some(concept) = concept.filter(|c| !c.ucum_unit.is_empty()) else {
        // No unit to convert into (no concept, or a LOINC term that states none): the value
        // stays in the unit sent, and so do the bounds of a range sent with it.
        out.value = NormalValue {
            value: quantity(value, &resolved.ucum),
            ucum: Some(resolved.ucum.clone()),
        };
        return Some(1.0);
    };
    let target = &concept.ucum_unit;
    let Some(factor) =
        conversion_factor_with_charge(&resolved.ucum, target, concept.molar_mass, charge(concept))
    else {
        out.issues.push(Issue::warning(
            "unit-mismatch",
            format!(
                "unit `{}` does not convert into `{}` ({}'s unit); the value is kept unconverted",
                resolved.ucum, target, concept.code
            ),
        ));
        out.value = NormalValue {
            value: quantity(value, &resolved.ucum),
            ucum: Some(resolved.ucum.clone()),
        };
        return None;
    };
    let reported = if resolved.ucum == *target {
        value.clone()
    } else {
        let digits = (value.significant_digits() + 1).clamp(3, 6);
        let converted = Decimal::from_f64(value.value() * factor, digits)?;
        out.issues.push(Issue::info(
            "converted",
            format!(
                "{} {} converted into {} {}",
                value, resolved.ucum, converted, target
            ),
        ));
        converted
    };
    if resolved.ucum != *target || sent_unit != *target {
        out.original = Some(OriginalValue {
            value,
            unit: sent_unit,
        });
    }
    out.value = NormalValue {
        value: quantity(reported, target),
        ucum: Some(target.clone()),
    };
    Some(factor)
}

/// Rule 4.
fn reference_range(
    ctx: &Context<'_>,
    out: &Normalized,
    concept: Option<&Concept>,
    national: bool,
    mapping: Option<&Mapping>,
    factor: Option<f64>,
) -> Option<NormalRange> {
    let digits_of = |d: &Decimal| (d.significant_digits() + 1).clamp(3, 6);
    let scale = |d: Option<Decimal>, factor: Option<f64>| -> Option<Decimal> {
        let d = d?;
        match factor {
            Some(f) if f != 1.0 => Decimal::from_f64(d.value() * f, digits_of(&d)),
            _ => Some(d),
        }
    };
    if let Some(sent) = &out.result.reference_range {
        let (low, high) = if sent.low.is_some() || sent.high.is_some() {
            (sent.low.clone(), sent.high.clone())
        } else {
            let p = parse_range(&sent.text);
            (p.low, p.high)
        };
        // Bounds in a unit of their own convert on their own.
        let factor = match (sent.unit.trim(), concept) {
            ("", _) => factor,
            (u, Some(c)) => resolve_unit(u, mapping).ok().and_then(|u| {
                conversion_factor_with_charge(&u.ucum, &c.ucum_unit, c.molar_mass, charge(c))
            }),
            _ => None,
        };
        let numeric = factor.is_some() || out.value.ucum.is_none();
        return Some(NormalRange {
            low: if numeric { scale(low, factor) } else { None },
            high: if numeric { scale(high, factor) } else { None },
            text: sent.text.clone(),
            source: RangeSource::Sender,
        });
    }
    let concept = concept?;
    if let Some(m) = mapping.filter(|m| m.term.ref_low.is_some() || m.term.ref_high.is_some()) {
        let factor = if m.unit_ucum.is_empty() {
            Some(1.0)
        } else {
            conversion_factor_with_charge(
                &m.unit_ucum,
                &concept.ucum_unit,
                concept.molar_mass,
                charge(concept),
            )
        };
        if let Some(f) = factor {
            let bound = |b: Option<f64>| {
                b.and_then(|v| Decimal::from_f64(v * f, if f == 1.0 { 15 } else { 4 }))
                    .map(|d| trim_float(&d))
            };
            return Some(NormalRange {
                low: bound(m.term.ref_low),
                high: bound(m.term.ref_high),
                text: m.term.ref_text.clone(),
                source: RangeSource::HospitalMapping,
            });
        }
    }
    if !national {
        return None;
    }
    let (interval, f) = national_interval(ctx, &out.result, concept)?;
    Some(NormalRange {
        low: scale(interval.low.clone(), Some(f)),
        high: scale(interval.high.clone(), Some(f)),
        text: String::new(),
        source: RangeSource::NationalInterval,
    })
}

/// The national interval for the result's patient (sex, age at collection) and the factor from
/// its unit to the concept's canonical unit.
fn national_interval<'a>(
    ctx: &Context<'a>,
    result: &LabResult,
    concept: &Concept,
) -> Option<(&'a crate::reference::ReferenceInterval, f64)> {
    let age = match (&result.patient.birth_date, &result.effective) {
        (Some(b), Some(at)) => age_in_years(b, at),
        _ => None,
    };
    let interval = ctx.intervals.find(&concept.code, result.patient.sex, age)?;
    let f = conversion_factor_with_charge(
        &interval.unit,
        &concept.ucum_unit,
        concept.molar_mass,
        charge(concept),
    )?;
    Some((interval, f))
}

/// What recognition keeps of a normalized result ([`Recorded`]), or `None` for a held result
/// (no national concept) or one without a collection (or release) time.
///
/// `mapping` is the hospital's mapping of the result's local code, as given to [`normalize`];
/// the national code was reached through it when it is approved and the local code was not
/// left in the unmapped queue. Times without an offset are read at `default_offset_minutes`.
pub fn recorded(
    ctx: &Context<'_>,
    n: &Normalized,
    mapping: Option<&Mapping>,
    default_offset_minutes: i32,
) -> Option<Recorded> {
    let concept = n.concept.as_deref()?;
    let collected_at = n
        .result
        .effective
        .as_deref()
        .or(n.result.issued.as_deref())
        .and_then(|t| crate::observation::fhir_instant_millis(t, default_offset_minutes))?
        .div_euclid(1000);
    let via_mapping = n.result.local_code().is_some()
        && n.unmapped_local.is_none()
        && mapping.is_some_and(|m| m.status == MappingStatus::Approved && !m.is_unmapped());
    let mapping_use = match mapping {
        Some(m) if via_mapping && m.equivalence == Equivalence::Equivalent => {
            MappingUse::ApprovedEquivalent
        }
        Some(_) if via_mapping => MappingUse::ApprovedNotEquivalent,
        _ => MappingUse::Direct,
    };
    let value_in_canonical_unit = match &n.value.value {
        SentValue::Absent => false,
        SentValue::Quantity { .. } => {
            concept.ucum_unit.is_empty() || n.value.ucum.as_deref() == Some(&concept.ucum_unit)
        }
        _ => concept.ucum_unit.is_empty(),
    };
    let lab_interval = n
        .reference_range
        .as_ref()
        .filter(|r| r.source != RangeSource::NationalInterval)
        .filter(|r| r.low.is_some() || r.high.is_some())
        .map(|r| {
            (
                r.low.as_ref().map(Decimal::value),
                r.high.as_ref().map(Decimal::value),
            )
        });
    let national_interval = national_interval(ctx, &n.result, concept).map(|(i, f)| {
        (
            i.low.as_ref().map(|d| d.value() * f),
            i.high.as_ref().map(|d| d.value() * f),
        )
    });
    Some(Recorded {
        result: ResultFacts {
            national_code: concept.code.clone(),
            status: n.result.status,
            value_in_canonical_unit,
            mapping: mapping_use,
            collected_at,
        },
        lab_interval,
        national_interval,
    })
}

/// A float printed with 15 significant digits, without the noise zeros (`3.5` not
/// `3.50000000000000`).
fn trim_float(d: &Decimal) -> Decimal {
    let t = d.as_str();
    if !t.contains('.') {
        return d.clone();
    }
    let trimmed = t.trim_end_matches('0').trim_end_matches('.');
    Decimal::parse(trimmed).unwrap_or_else(|| d.clone())
}

/// A unit as sent: the hospital's own declaration when its mapping row declares this spelling
/// (`K/uL=10*3/uL`), else what [`resolve_local_unit`] reads.
fn resolve_unit(
    text: &str,
    mapping: Option<&Mapping>,
) -> Result<crate::units::ResolvedUnit, crate::units::UnitProblem> {
    match mapping {
        Some(m) if !m.unit_alias.is_empty() && m.unit_alias == text.trim() => {
            Ok(crate::units::ResolvedUnit {
                ucum: m.unit_ucum.clone(),
                alias: Some(m.unit_alias.clone()),
            })
        }
        _ => resolve_local_unit(text),
    }
}

/// Rule 5.
fn interpret(out: &mut Normalized) {
    if !out.result.interpretation.is_empty() {
        out.interpretation = out.result.interpretation.clone();
        return;
    }
    let (
        SentValue::Quantity {
            value, comparator, ..
        },
        Some(range),
    ) = (&out.value.value, &out.reference_range)
    else {
        return;
    };
    if out.value.ucum.is_none() || out.hold.is_some() {
        return;
    }
    let v = value.value();
    let low = range.low.as_ref().map(Decimal::value);
    let high = range.high.as_ref().map(Decimal::value);
    // What the comparator lets us conclude: `<0.5` is below 1.0 but says nothing against 0.3.
    let below = |l: f64| match comparator {
        None => v < l,
        Some(Comparator::Lt) => v <= l,
        Some(Comparator::Le) => v < l,
        Some(_) => false,
    };
    let above = |h: f64| match comparator {
        None => v > h,
        Some(Comparator::Gt) => v >= h,
        Some(Comparator::Ge) => v > h,
        Some(_) => false,
    };
    let within = comparator.is_none()
        && low.is_none_or(|l| v >= l)
        && high.is_none_or(|h| v <= h)
        && (low.is_some() || high.is_some());
    let code = if low.is_some_and(below) {
        "L"
    } else if high.is_some_and(above) {
        "H"
    } else if within {
        "N"
    } else {
        return;
    };
    out.interpretation = vec![code.to_owned()];
    out.interpretation_computed = true;
}

#[cfg(test)]
mod tests;
