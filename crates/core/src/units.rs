//! UCUM units: validation, recognition of local spellings, and conversion factors.
//!
//! Validation and conversion are delegated to `octofhir-ucum`, a maintained implementation that
//! passes the official UCUM conformance tests, rather than a hand-written unit table. What this
//! module adds is lab knowledge that UCUM does not have, kept as data tables that can be read
//! and reviewed on their own: the local spellings of units ([`UNIT_ALIASES`]) and the charge of
//! the ions whose results are reported in equivalents ([`ION_CHARGES`]).
//!
//! A unit is never guessed. `K/uL` parses as kelvin per microlitre, which is valid UCUM but
//! means nothing for a cell count, and means "thousands per microlitre" only by the convention
//! of US analysers ([`LAB_MEANINGS`]); [`resolve_local_unit`] refuses it as ambiguous, and
//! only a hospital's mapping row that declares `K/uL=10*3/uL` makes that hospital's results
//! read so.

use octofhir_ucum::UnitExpr;
use std::collections::BTreeSet;

/// Why a unit string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unit `{unit}`: {reason}")]
pub struct UnitProblem {
    pub unit: String,
    pub reason: String,
}

impl UnitProblem {
    fn new(unit: &str, reason: impl Into<String>) -> UnitProblem {
        UnitProblem {
            unit: unit.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Checks that `unit` is a valid, case-sensitive UCUM expression.
pub fn check_ucum(unit: &str) -> Result<(), UnitProblem> {
    if unit.trim() != unit || unit.is_empty() {
        return Err(UnitProblem::new(
            unit,
            "not a valid UCUM unit: empty, or surrounded by spaces",
        ));
    }
    if !unit.is_ascii() {
        return Err(UnitProblem::new(
            unit,
            "not a valid UCUM unit: UCUM is ASCII only (write `u` for micro, `10*9` for 10⁹)",
        ));
    }
    octofhir_ucum::validate(unit)
        .map_err(|e| UnitProblem::new(unit, format!("not a valid UCUM unit: {}", first_line(&e))))
}

/// The first line of an `octofhir-ucum` error: the rest lists suggestions and context, which
/// are noise in a one-line row problem.
fn first_line(e: &octofhir_ucum::UcumError) -> String {
    e.to_string().lines().next().unwrap_or("").to_owned()
}

/// Whether two UCUM units measure the same kind of quantity (e.g. `mg/dL` and `g/L`).
pub fn comparable(a: &str, b: &str) -> bool {
    octofhir_ucum::is_comparable(a, b).unwrap_or(false)
}

/// Local spellings of lab units, as they appear in hospital LIS exports and printed reports,
/// and the UCUM unit each one means: `(alias, ucum)`.
///
/// This is data, not logic: adding a spelling is adding a row, and a test checks that every
/// target is valid UCUM and that no alias is listed twice. Where the rows come from:
///
/// * the "Alt unit" column and the notes of `docs/domain.md` §5 (`mg/dL`, `g/dL`, `µg/dL`,
///   `mEq/L`, `µIU/mL`, `mIU/mL`, `IU/L`, `10⁹/L`, `L/L`), and its rule that UCUM is
///   case-sensitive ASCII (`umol/L`, `10*9/L`, `[IU]`);
/// * the unit rule of `code-tables/README.md` (`umol/L`, never `µmol/L`; `[IU]/L`, never
///   `IU/L`; `10*9/L`, never `x10^9/L`);
/// * spellings common in LIS exports and analyser printouts (`x10^9/L`, `10E9/L`,
///   `giga.l-1`, `sec`, `fl`, lower-case `l` for litre, `mmHg`). These are general lab knowledge, not
///   checked against a primary source ([U] in the sense of `docs/domain.md`): each maps to the
///   only meaning the spelling has on a lab report.
///
/// Both micro signs are listed, U+03BC GREEK SMALL LETTER MU (`μ`, what GBK and Chinese input
/// methods produce) and U+00B5 MICRO SIGN (`µ`, what Western keyboards and Excel produce).
///
/// Deliberate choices: `IU/L` is the international unit `[IU]/L`, as `code-tables/README.md`
/// says, although `docs/domain.md` §5 notes that Chinese reports also write `IU/L` for the
/// enzyme unit `U/L`; an enzyme mapped with `IU/L` is therefore refused with a hint rather than
/// silently converted. `mEq/L` is `meq/L`, which only converts to `mmol/L` with the ion's
/// charge (see [`ION_CHARGES`]).
pub const UNIT_ALIASES: &[(&str, &str)] = &[
    // Lower-case litre (valid UCUM, `l` is the litre too, but the registry spells it `L`).
    ("g/l", "g/L"),
    ("g/dl", "g/dL"),
    ("mg/l", "mg/L"),
    ("mg/dl", "mg/dL"),
    ("ug/l", "ug/L"),
    ("ug/dl", "ug/dL"),
    ("ng/l", "ng/L"),
    ("ng/dl", "ng/dL"),
    ("ng/ml", "ng/mL"),
    ("pg/ml", "pg/mL"),
    ("mmol/l", "mmol/L"),
    ("umol/l", "umol/L"),
    ("nmol/l", "nmol/L"),
    ("pmol/l", "pmol/L"),
    ("U/l", "U/L"),
    ("U/ml", "U/mL"),
    ("fl", "fL"),
    // Micro written with a Greek mu or a micro sign instead of UCUM's `u`.
    ("μmol/L", "umol/L"),
    ("µmol/L", "umol/L"),
    ("μg/L", "ug/L"),
    ("µg/L", "ug/L"),
    ("μg/dL", "ug/dL"),
    ("µg/dL", "ug/dL"),
    ("μg/mL", "ug/mL"),
    ("µg/mL", "ug/mL"),
    ("μIU/mL", "u[IU]/mL"),
    ("µIU/mL", "u[IU]/mL"),
    ("uIU/mL", "u[IU]/mL"),
    // International units without UCUM's brackets.
    ("IU/L", "[IU]/L"),
    ("IU/mL", "[IU]/mL"),
    ("mIU/L", "m[IU]/L"),
    ("mIU/mL", "m[IU]/mL"),
    // Milliequivalents: UCUM's atom is lower-case `eq`.
    ("mEq/L", "meq/L"),
    // Cell counts: powers of ten written as on analysers and in Word.
    ("x10^9/L", "10*9/L"),
    ("×10^9/L", "10*9/L"),
    ("10^9/L", "10*9/L"),
    ("10E9/L", "10*9/L"),
    ("x10E9/L", "10*9/L"),
    ("10⁹/L", "10*9/L"),
    ("×10⁹/L", "10*9/L"),
    ("x10^12/L", "10*12/L"),
    ("×10^12/L", "10*12/L"),
    ("10^12/L", "10*12/L"),
    ("10E12/L", "10*12/L"),
    ("x10E12/L", "10*12/L"),
    ("10¹²/L", "10*12/L"),
    ("×10¹²/L", "10*12/L"),
    // SI prefixes spelled out with a UCUM-like exponent, as French-made LIS write cell counts
    // (seen in ORU^R01 feeds surveyed for the real-messages issue): not UCUM, one meaning.
    ("giga.l-1", "10*9/L"),
    ("tera.l-1", "10*12/L"),
    ("giga/l", "10*9/L"),
    ("tera/l", "10*12/L"),
    // Time, pressure, sedimentation rate.
    ("sec", "s"),
    ("mmHg", "mm[Hg]"),
    ("mm/hr", "mm/h"),
];

/// Spellings that are valid UCUM but mean something else on a lab report, with what a lab
/// means by them: `(spelling, the lab's UCUM unit, what each reading is)`. They are never read
/// either way globally; a hospital's mapping row declares its meaning (`K/uL=10*3/uL` in the
/// unit column), and only that hospital's results of that local code are read so.
pub const LAB_MEANINGS: &[(&str, &str, &str)] = &[
    (
        "K/uL",
        "10*3/uL",
        "thousands per microlitre on US analysers, kelvin per microlitre to UCUM",
    ),
    (
        "K/μL",
        "10*3/uL",
        "thousands per microlitre on US analysers, kelvin per microlitre to UCUM",
    ),
    (
        "K/µL",
        "10*3/uL",
        "thousands per microlitre on US analysers, kelvin per microlitre to UCUM",
    ),
];

/// Charge number of ions whose results are reported in milliequivalents, by LOINC COMPONENT:
/// `(component, charge)`. One equivalent is one mole of charge, so 1 mmol/L of calcium (Ca²⁺) is
/// 2 meq/L. UCUM defines `eq` as the mole itself (it has no notion of charge), so converting
/// `meq/L` to `mmol/L` through UCUM alone is right for K⁺ and wrong by a factor of two for Ca²⁺;
/// [`conversion_factor_with_charge`] therefore needs the charge and refuses without it.
///
/// Source: `docs/domain.md` §5, items 33–38 (`mEq/L × 1` for potassium, sodium and chloride,
/// `× 0.5` for calcium and magnesium). Data, not logic: add an ion by adding a row.
pub const ION_CHARGES: &[(&str, u32)] = &[
    ("Potassium", 1),
    ("Sodium", 1),
    ("Chloride", 1),
    ("Calcium", 2),
    ("Magnesium", 2),
];

/// The charge number of an ion named by its LOINC COMPONENT (`Calcium` → 2), from
/// [`ION_CHARGES`].
pub fn ion_charge(component: &str) -> Option<u32> {
    ION_CHARGES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(component.trim()))
        .map(|&(_, z)| z)
}

/// A local unit recognised as a UCUM unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUnit {
    /// The UCUM unit (`mg/dL`).
    pub ucum: String,
    /// The local spelling it was recognised from (`mg/dl`), or `None` when the text was the
    /// UCUM unit already.
    pub alias: Option<String>,
}

/// Recognises a unit as a hospital writes it.
///
/// In this order:
///
/// 1. a spelling of [`LAB_MEANINGS`], in any case (`K/uL`, `K/ul`), is refused as ambiguous
///    with the declaration that would settle it; a spelling listed in [`UNIT_ALIASES`],
///    exactly (case and all), is that alias;
/// 2. valid UCUM is taken as it is, unless it is a known spelling in another case with
///    another meaning: `Mg/dL` is megagrams, `S` is siemens, so these are refused as
///    ambiguous rather than read either way. Valid UCUM that differs from a known spelling
///    only in case *and* means the same (`10*9/l`) is written the registry's way (`10*9/L`),
///    with the local spelling recorded as the alias;
/// 3. otherwise a case-insensitive match against the aliases and their UCUM targets
///    (`MG/DL`, `iu/l`), used only when every match means the same UCUM unit;
/// 4. anything else is a [`UnitProblem`] saying why.
///
/// Surrounding spaces are ignored. The empty string is refused: a missing unit is for the
/// caller to allow or not.
pub fn resolve_local_unit(text: &str) -> Result<ResolvedUnit, UnitProblem> {
    memo::resolved(text, resolve_local_unit_uncached)
}

fn resolve_local_unit_uncached(text: &str) -> Result<ResolvedUnit, UnitProblem> {
    let text = text.trim();
    if text.is_empty() {
        return Err(UnitProblem::new(text, "the unit is empty"));
    }
    let lower = text.to_lowercase();
    if let Some(&(spelling, ucum, meanings)) = LAB_MEANINGS
        .iter()
        .find(|(spelling, _, _)| spelling.to_lowercase() == lower)
    {
        return Err(UnitProblem::new(
            text,
            format!(
                "ambiguous: `{spelling}` is {meanings}{}; only the hospital can say which: \
                 declare it in the mapping row's unit as `{text}={ucum}`",
                if check_ucum(text).is_ok() {
                    format!(" ({})", describe(text))
                } else {
                    String::new()
                }
            ),
        ));
    }
    if let Some(&(_, ucum)) = UNIT_ALIASES.iter().find(|(alias, _)| *alias == text) {
        return Ok(ResolvedUnit {
            ucum: ucum.to_owned(),
            alias: Some(text.to_owned()),
        });
    }
    // The UCUM units a case-insensitive reading of `text` could mean.
    let candidates: BTreeSet<&str> = UNIT_ALIASES
        .iter()
        .filter(|(alias, ucum)| alias.to_lowercase() == lower || ucum.to_lowercase() == lower)
        .map(|&(_, ucum)| ucum)
        .collect();
    match check_ucum(text) {
        Ok(()) => {
            let other_meaning: Vec<&str> = candidates
                .iter()
                .copied()
                .filter(|c| !same_unit(text, c))
                .collect();
            if !other_meaning.is_empty() {
                return Err(UnitProblem::new(
                    text,
                    format!(
                        "ambiguous: valid UCUM as written ({}), but the same letters in another \
                         case are the lab unit {}; write the UCUM unit that is meant",
                        describe(text),
                        quoted(&other_meaning),
                    ),
                ));
            }
            match candidates.first() {
                Some(&ucum) if !candidates.contains(text) => Ok(ResolvedUnit {
                    ucum: ucum.to_owned(),
                    alias: Some(text.to_owned()),
                }),
                _ => Ok(ResolvedUnit {
                    ucum: text.to_owned(),
                    alias: None,
                }),
            }
        }
        Err(not_ucum) => match candidates.len() {
            0 => Err(UnitProblem::new(
                text,
                format!(
                    "not UCUM ({}) and not a known local spelling; write it in UCUM \
                     (`mg/dL`, `umol/L`, `10*9/L`, `[IU]/L`) or ask for the spelling to be \
                     added to the unit aliases",
                    not_ucum
                        .reason
                        .strip_prefix("not a valid UCUM unit: ")
                        .unwrap_or(&not_ucum.reason)
                ),
            )),
            1 => Ok(ResolvedUnit {
                ucum: candidates.first().copied().unwrap_or_default().to_owned(),
                alias: Some(text.to_owned()),
            }),
            _ => Err(UnitProblem::new(
                text,
                format!(
                    "ambiguous: ignoring case, it could be {}",
                    quoted(&candidates.into_iter().collect::<Vec<_>>())
                ),
            )),
        },
    }
}

fn quoted(units: &[&str]) -> String {
    units
        .iter()
        .map(|u| format!("`{u}`"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// What a valid UCUM expression is made of, for an error message: `K/ul` is
/// "K = kelvin, ul = microliter".
fn describe(unit: &str) -> String {
    let mut atoms = Vec::new();
    if let Ok(expr) = octofhir_ucum::parse_expression(unit) {
        collect_symbols(&expr, &mut atoms);
    }
    atoms
        .iter()
        .filter_map(|s| {
            let (prefix, record) = octofhir_ucum::lookup_unit(s, octofhir_ucum::Case::Sensitive)?;
            let name = match prefix {
                Some(p) => format!("{}{}", p.display_name, record.display_name),
                None => record.display_name.to_owned(),
            };
            Some(format!("{s} = {name}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn collect_symbols(expr: &UnitExpr, out: &mut Vec<String>) {
    match expr {
        UnitExpr::Symbol(s) => out.push(s.clone()),
        UnitExpr::Power(e, _) | UnitExpr::Annotated(e, _) | UnitExpr::Reciprocal(e) => {
            collect_symbols(e, out)
        }
        UnitExpr::Product(es) => es.iter().for_each(|e| collect_symbols(e, out)),
        UnitExpr::Quotient(a, b) => {
            collect_symbols(a, out);
            collect_symbols(b, out);
        }
        UnitExpr::Numeric(_) | UnitExpr::Annotation(_) => {}
    }
}

/// Whether two valid UCUM units are the same unit (convert with a factor of 1).
fn same_unit(a: &str, b: &str) -> bool {
    conversion_factor(a, b, None).is_some_and(|f| (f - 1.0).abs() < 1e-9)
}

/// The factor `f` such that a value in `from_ucum` is `value * f` in `to_ucum`, or `None` when
/// the two units do not convert into each other.
///
/// Units of the same kind convert through `octofhir-ucum` (`g/dL` → `g/L` is 10, `10*3/uL` →
/// `10*9/L` is 1, `L/L` → `%` is 100, `ukat/L` → `U/L` is 60). A mass concentration and a
/// substance concentration convert through the molar mass in g/mol (`mg/dL` → `mmol/L` for
/// glucose, 180.16 g/mol, is 0.0555); without a molar mass they do not convert.
///
/// UCUM counts moles as plain numbers (one mole is 6.022×10²³), so by UCUM alone `mmol/L`
/// converts into `10*9/L` and `%` into `mmol/mol`. Lab results never mean that, so amounts of
/// substance are tracked apart from the dimension: the moles (`mol`, and `U` and `kat`, which are
/// moles per time), equivalents (`eq`) and osmoles (`osm`) of each side must match, except for the
/// one mole that a molar mass adds or removes. Equivalents and moles convert only with the ion's
/// charge, see [`conversion_factor_with_charge`]; this function refuses them.
///
/// Annotations are unity, as UCUM defines them: `{cells}/uL` is `/uL` and converts into
/// `10*9/L`, `pg/{cell}` into `pg` (the NLM UCUM library agrees; `testdata/ucum-annotations.csv`).
/// A unit that is nothing but an annotation (`{INR}`, `{ratio}`) names a scale of its own,
/// though, so it converts only into the same annotation: huren refuses `{INR}` into `%`, which
/// UCUM alone would allow.
///
/// Also refused: units on a non-linear or offset scale (`[pH]`, `Cel`), and arbitrary units
/// into anything but the same arbitrary unit (`[IU]/L` into `U/L`).
pub fn conversion_factor(from_ucum: &str, to_ucum: &str, molar_mass: Option<f64>) -> Option<f64> {
    conversion_factor_with_charge(from_ucum, to_ucum, molar_mass, None)
}

/// [`conversion_factor`], with the charge number of the ion (see [`ion_charge`]), which lets
/// `meq/L` and `mmol/L` convert: 1 meq/L of Ca²⁺ is 0.5 mmol/L.
pub fn conversion_factor_with_charge(
    from_ucum: &str,
    to_ucum: &str,
    molar_mass: Option<f64>,
    charge: Option<u32>,
) -> Option<f64> {
    memo::factor(
        from_ucum,
        to_ucum,
        molar_mass,
        charge,
        conversion_factor_uncached,
    )
}

fn conversion_factor_uncached(
    from_ucum: &str,
    to_ucum: &str,
    molar_mass: Option<f64>,
    charge: Option<u32>,
) -> Option<f64> {
    // A unit always converts into itself, even one UCUM cannot scale (`[pH]`, `Cel`).
    if from_ucum == to_ucum && check_ucum(from_ucum).is_ok() {
        return Some(1.0);
    }
    let from = Kind::of(from_ucum)?;
    let to = Kind::of(to_ucum)?;
    let bare = from.symbols == 0 || to.symbols == 0;
    if (bare && from.annotations != to.annotations) || from.osm != to.osm {
        return None;
    }
    let factor = if from.mol == to.mol && from.eq == to.eq && from.substance == to.substance {
        linear_factor(from_ucum, to_ucum)?
    } else if from.mol + from.eq == to.mol + to.eq && from.substance && to.substance {
        // Equivalents ↔ moles: n(mol) = n(eq) / z, so each equivalent moved into moles
        // divides by the charge.
        let z = f64::from(charge.filter(|&z| z > 0)?);
        linear_factor(from_ucum, to_ucum)? * z.powi(to.eq - from.eq)
    } else if from.eq == to.eq {
        let m = molar_mass.filter(|m| m.is_finite() && *m > 0.0)?;
        if to.mol == from.mol + 1 {
            // mass → substance: c = ρ / M, with M in g/mol.
            linear_factor(from_ucum, &format!("({to_ucum}).g/mol"))? / m
        } else if from.mol == to.mol + 1 {
            // substance → mass: ρ = c × M.
            linear_factor(&format!("({from_ucum}).g/mol"), to_ucum)? * m
        } else {
            return None;
        }
    } else {
        return None;
    };
    (factor.is_finite() && factor > 0.0).then_some(factor)
}

/// The factor of a linear conversion without offset, through `octofhir-ucum`.
fn linear_factor(from: &str, to: &str) -> Option<f64> {
    let result = octofhir_ucum::convert_with_context(1.0, from, to, &Default::default()).ok()?;
    if result.used_special_units || result.offset.is_some_and(|o| !o.is_zero()) {
        return None;
    }
    Some(result.factor?.to_f64())
}

/// The amounts of substance in a unit, which UCUM folds into plain numbers, and its bare
/// annotations, which UCUM ignores.
#[derive(Debug, PartialEq)]
struct Kind {
    /// Net exponent of moles (`mol`, and the catalytic `U` and `kat`).
    mol: i32,
    /// Net exponent of equivalents (`eq`).
    eq: i32,
    /// Net exponent of osmoles (`osm`).
    osm: i32,
    /// Whether any amount of substance appears at all, even when it cancels out (`mmol/mol`
    /// is a ratio of amounts, not a plain number like `%`).
    substance: bool,
    /// Bare annotations (`{INR}`, `{cells}`), lower-cased and sorted.
    annotations: Vec<String>,
    /// How many unit symbols it has: none for a unit of annotations and numbers only.
    symbols: usize,
}

/// The UCUM atoms that are amounts of substance. UCUM defines each through the mole (`U` is
/// µmol/min, `kat` mol/s); a test checks this list against the UCUM tables.
const SUBSTANCE_ATOMS: [(&str, Substance); 5] = [
    ("mol", Substance::Mol),
    ("U", Substance::Mol),
    ("kat", Substance::Mol),
    ("eq", Substance::Eq),
    ("osm", Substance::Osm),
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Substance {
    Mol,
    Eq,
    Osm,
}

impl Kind {
    fn of(unit: &str) -> Option<Kind> {
        check_ucum(unit).ok()?;
        let expr = octofhir_ucum::parse_expression(unit).ok()?;
        let mut kind = Kind {
            mol: 0,
            eq: 0,
            osm: 0,
            substance: false,
            annotations: Vec::new(),
            symbols: 0,
        };
        kind.walk(&expr, 1);
        kind.annotations.sort();
        Some(kind)
    }

    fn walk(&mut self, expr: &UnitExpr, exponent: i32) {
        match expr {
            UnitExpr::Symbol(s) => {
                self.symbols += 1;
                let Some((_, record)) =
                    octofhir_ucum::lookup_unit(s, octofhir_ucum::Case::Sensitive)
                else {
                    return;
                };
                if let Some(&(_, substance)) = SUBSTANCE_ATOMS
                    .iter()
                    .find(|(code, _)| *code == record.code)
                {
                    self.substance = true;
                    match substance {
                        Substance::Mol => self.mol += exponent,
                        Substance::Eq => self.eq += exponent,
                        Substance::Osm => self.osm += exponent,
                    }
                }
            }
            UnitExpr::Power(e, p) => self.walk(e, exponent * p),
            UnitExpr::Annotated(e, _) => self.walk(e, exponent),
            UnitExpr::Reciprocal(e) => self.walk(e, -exponent),
            UnitExpr::Product(es) => es.iter().for_each(|e| self.walk(e, exponent)),
            UnitExpr::Quotient(a, b) => {
                self.walk(a, exponent);
                self.walk(b, -exponent);
            }
            UnitExpr::Annotation(a) => self.annotations.push(a.to_lowercase()),
            UnitExpr::Numeric(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_units_are_valid_ucum() {
        for u in [
            "mmol/L", "umol/L", "g/L", "mg/dL", "10*9/L", "10*12/L", "%", "fL", "pg", "U/L",
            "ug/L", "m[IU]/L", "[IU]/L", "pmol/L", "U/mL", "s", "{INR}", "mm/h", "mg/L",
        ] {
            assert_eq!(check_ucum(u), Ok(()), "{u}");
        }
    }

    #[test]
    fn every_unit_converts_into_itself() {
        for u in ["[pH]", "Cel", "mmol/L", "{INR}", "%", "[IU]/L"] {
            assert_eq!(conversion_factor(u, u, None), Some(1.0), "{u}");
        }
    }

    #[test]
    fn non_ucum_spellings_are_refused() {
        for u in ["µmol/L", "IU/L", "x10^9/L", "", " mmol/L", "mmol/l/", "mEq"] {
            assert!(check_ucum(u).is_err(), "{u:?} should be refused");
        }
    }

    fn resolves(text: &str, ucum: &str, alias: Option<&str>) {
        assert_eq!(
            resolve_local_unit(text),
            Ok(ResolvedUnit {
                ucum: ucum.to_owned(),
                alias: alias.map(str::to_owned)
            }),
            "{text:?}"
        );
    }

    #[test]
    fn local_units_resolve_through_aliases() {
        // Valid UCUM is kept as it is, without an alias.
        for u in [
            "mmol/L", "10*9/L", "%", "U/L", "m[IU]/L", "s", "mm[Hg]", "L/L", "ng/mL",
        ] {
            resolves(u, u, None);
        }
        resolves(" mmol/L ", "mmol/L", None);
        for (text, ucum) in [
            ("mg/dl", "mg/dL"),
            ("IU/L", "[IU]/L"),
            ("mIU/L", "m[IU]/L"),
            ("IU/mL", "[IU]/mL"),
            ("x10^9/L", "10*9/L"),
            ("×10^9/L", "10*9/L"),
            ("10^9/L", "10*9/L"),
            ("10E9/L", "10*9/L"),
            ("x10^12/L", "10*12/L"),
            ("×10^12/L", "10*12/L"),
            ("10^12/L", "10*12/L"),
            ("10E12/L", "10*12/L"),
            ("μmol/L", "umol/L"),
            ("µmol/L", "umol/L"),
            ("μg/L", "ug/L"),
            ("μIU/mL", "u[IU]/mL"),
            ("mEq/L", "meq/L"),
            ("giga.l-1", "10*9/L"),
            ("tera.l-1", "10*12/L"),
            ("sec", "s"),
            ("fl", "fL"),
            ("g/l", "g/L"),
            ("mmol/l", "mmol/L"),
            ("U/l", "U/L"),
            ("mmHg", "mm[Hg]"),
        ] {
            resolves(text, ucum, Some(text));
        }
    }

    #[test]
    fn case_insensitive_matches_are_used_only_when_unambiguous() {
        // Not UCUM in any case: the only lab unit these letters spell.
        resolves("MG/DL", "mg/dL", Some("MG/DL"));
        resolves("iu/l", "[IU]/L", Some("iu/l"));
        resolves("SEC", "s", Some("SEC"));
        resolves("μmol/l", "umol/L", Some("μmol/l"));
        // Valid UCUM meaning the same as the registry's spelling: written the registry's way.
        resolves("10*9/l", "10*9/L", Some("10*9/l"));
        // Valid UCUM with another meaning than the lab unit spelled the same way: refused.
        for (text, meaning) in [
            ("K/ul", "kelvin"),
            (
                "K/uL",
                "declare it in the mapping row's unit as `K/uL=10*3/uL`",
            ),
            ("K/µL", "thousands per microlitre"),
            ("Mg/dL", "mega"),
            ("S", "siemens"),
            ("u/L", "unified atomic mass"),
            ("PG/ML", ""),
        ] {
            match resolve_local_unit(text) {
                Err(p) => {
                    assert!(p.reason.starts_with("ambiguous"), "{text}: {p}");
                    assert!(p.reason.contains(meaning), "{text}: {p}");
                }
                Ok(r) => panic!("{text} resolved to {r:?}"),
            }
        }
    }

    #[test]
    fn unknown_units_are_refused_with_a_reason() {
        for u in ["", "  ", "mg/dL/", "furlongs", "mmol//L", "毫摩尔/升"] {
            let p = resolve_local_unit(u).unwrap_err();
            assert!(!p.reason.is_empty(), "{u:?}");
        }
        let p = resolve_local_unit("bananas/L").unwrap_err();
        assert!(p.to_string().contains("bananas/L"), "{p}");
        assert!(p.reason.contains("not a known local spelling"), "{p}");
    }

    #[test]
    fn the_alias_table_is_sound() {
        let mut seen = std::collections::HashSet::new();
        for (alias, ucum) in UNIT_ALIASES {
            assert_eq!(check_ucum(ucum), Ok(()), "target of {alias}");
            assert_ne!(alias, ucum, "{alias} maps to itself");
            assert!(seen.insert(*alias), "{alias} is listed twice");
            // Every alias resolves to its own row, not to a case-insensitive neighbour.
            resolves(alias, ucum, Some(alias));
        }
        // Aliases that are equal ignoring case mean the same unit.
        for (a, ua) in UNIT_ALIASES {
            for (b, ub) in UNIT_ALIASES {
                if a.to_lowercase() == b.to_lowercase() {
                    assert_eq!(ua, ub, "{a} and {b}");
                }
            }
        }
    }

    #[test]
    fn substance_atoms_match_the_ucum_tables() {
        // Every proper UCUM atom measured in moles must be in SUBSTANCE_ATOMS, or moles would
        // go unnoticed in a conversion (a new UCUM release could add one).
        for unit in octofhir_ucum::get_all_units() {
            let p = unit.property;
            if (p.starts_with("amount of substance") || p == "catalytic activity")
                && unit.arbitrary.is_empty()
            {
                assert!(
                    SUBSTANCE_ATOMS.iter().any(|(code, _)| *code == unit.code),
                    "{} ({p}) is missing",
                    unit.code
                );
            }
        }
    }

    /// `from` → `to` with an expected factor, to the precision `docs/domain.md` prints it.
    fn converts(from: &str, to: &str, molar_mass: Option<f64>, expected: f64) {
        let f = conversion_factor(from, to, molar_mass)
            .unwrap_or_else(|| panic!("{from} → {to} should convert"));
        let rel = (f - expected).abs() / expected;
        assert!(rel < 1e-3, "{from} → {to}: {f}, expected {expected}");
    }

    #[test]
    fn conversion_factors_of_domain_md_section_5() {
        // Same kind, through UCUM.
        converts("10*3/uL", "10*9/L", None, 1.0);
        converts("10*6/uL", "10*12/L", None, 1.0);
        converts("g/dL", "g/L", None, 10.0);
        converts("L/L", "%", None, 100.0);
        converts("ukat/L", "U/L", None, 60.0);
        converts("ng/mL", "ug/L", None, 1.0);
        converts("ng/mL", "ng/L", None, 1000.0);
        converts("mg/dL", "g/L", None, 0.01);
        converts("mg/dL", "mg/L", None, 10.0);
        converts("u[IU]/mL", "m[IU]/L", None, 1.0);
        converts("m[IU]/mL", "[IU]/L", None, 1.0);
        converts("[IU]/L", "m[IU]/mL", None, 1.0);
        converts("mmol/L", "mmol/L", None, 1.0);
        converts("{INR}", "{INR}", None, 1.0);
        // Mass ↔ substance, through the molar masses of §5.
        converts("mg/dL", "mmol/L", Some(180.16), 0.05551); // glucose
        converts("mmol/L", "mg/dL", Some(180.16), 18.016);
        converts("mg/dL", "umol/L", Some(113.12), 88.40); // creatinine
        converts("mg/dL", "mmol/L", Some(60.06), 0.1665); // urea
        converts("mg/dL", "mmol/L", Some(28.014), 0.3570); // urea nitrogen
        converts("mg/dL", "umol/L", Some(168.11), 59.48); // urate
        converts("mg/dL", "umol/L", Some(584.66), 17.10); // bilirubin
        converts("mg/dL", "mmol/L", Some(386.65), 0.02586); // cholesterol
        converts("mg/dL", "mmol/L", Some(885.4), 0.01129); // triolein
        converts("mg/dL", "mmol/L", Some(40.078), 0.2495); // calcium
        converts("mg/dL", "mmol/L", Some(30.974), 0.3229); // phosphate
        converts("mg/dL", "mmol/L", Some(24.305), 0.4114); // magnesium
        converts("ug/dL", "umol/L", Some(55.845), 0.1791); // iron
        converts("mg/L", "umol/L", Some(135.18), 7.397); // homocysteine
        converts("pg/mL", "pmol/L", Some(650.97), 1.536); // free T3
        converts("ng/dL", "pmol/L", Some(776.87), 12.87); // free T4
        converts("ng/dL", "nmol/L", Some(650.97), 0.01536); // T3
        converts("ug/dL", "nmol/L", Some(776.87), 12.87); // T4
    }

    #[test]
    fn equivalents_need_the_charge() {
        assert_eq!(conversion_factor("meq/L", "mmol/L", None), None);
        assert_eq!(ion_charge("Potassium"), Some(1));
        assert_eq!(ion_charge("calcium"), Some(2));
        assert_eq!(ion_charge("Glucose"), None);
        let f = |from, to, z| conversion_factor_with_charge(from, to, None, Some(z)).unwrap();
        assert!((f("meq/L", "mmol/L", 1) - 1.0).abs() < 1e-12); // K, Na, Cl
        assert!((f("meq/L", "mmol/L", 2) - 0.5).abs() < 1e-12); // Ca, Mg
        assert!((f("mmol/L", "meq/L", 2) - 2.0).abs() < 1e-12);
        assert!((f("meq/L", "meq/L", 2) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn what_does_not_convert() {
        for (from, to, m) in [
            ("mg/dL", "mmol/L", None),         // mass ↔ substance without a molar mass
            ("mg/dL", "mmol/L", Some(-1.0)),   // nonsense molar mass
            ("mmol/L", "10*9/L", None),        // moles are not cell counts
            ("mmol/L", "10*9/L", Some(180.0)), // not even with a molar mass
            ("mg/dL", "10*9/L", Some(180.0)),
            ("%", "mmol/mol", None), // HbA1c NGSP % ↔ IFCC mmol/mol is not a factor
            ("[IU]/L", "U/L", None), // arbitrary ↔ enzyme units
            ("U/L", "mmol/L", Some(1.0)),
            ("Cel", "K", None),      // offset
            ("[pH]", "mol/L", None), // logarithmic
            ("{INR}", "%", None),    // a scale of its own
            ("{ratio}", "1", None),
            ("{cells}", "10*9", None),
            ("mg/dL", "s", None),
            ("mosm/kg", "mmol/kg", None),
            ("mg/dl/", "mg/dL", None),  // not UCUM
            ("µmol/L", "umol/L", None), // aliases must be resolved first
        ] {
            assert_eq!(conversion_factor(from, to, m), None, "{from} → {to}");
        }
    }

    /// Conversions with annotations give what the NLM UCUM library gives
    /// (`testdata/ucum-annotations.csv`, made by `testdata/ucum-annotations.js`).
    #[test]
    fn annotations_convert_as_the_nlm_library_converts_them() {
        let table = include_str!("../testdata/ucum-annotations.csv");
        let mut n = 0;
        for line in table.lines().filter(|l| !l.starts_with('#')).skip(1) {
            let cells: Vec<&str> = line.split(',').collect();
            let [from, to, value, expected] = cells[..] else {
                panic!("bad line {line}");
            };
            let (value, expected): (f64, f64) = (value.parse().unwrap(), expected.parse().unwrap());
            let f = conversion_factor(from, to, None)
                .unwrap_or_else(|| panic!("{from} → {to} does not convert"));
            let got = value * f;
            assert!(
                (got - expected).abs() <= expected.abs() * 1e-9,
                "{from} → {to}: {value} gives {got}, the NLM library {expected}"
            );
            n += 1;
        }
        assert!(n >= 15, "{n} rows");
    }

    const UNITS: [&str; 12] = [
        "mg/dL", "g/L", "ug/L", "ng/mL", "mmol/L", "umol/L", "nmol/L", "pmol/L", "10*9/L",
        "10*3/uL", "%", "L/L",
    ];

    proptest::proptest! {
        #[test]
        fn conversion_there_and_back_is_the_identity(
            a in 0..UNITS.len(),
            b in 0..UNITS.len(),
            molar_mass in proptest::option::of(1.0f64..2000.0),
            value in 0.001f64..1e6,
        ) {
            let (a, b) = (UNITS[a], UNITS[b]);
            let there = conversion_factor(a, b, molar_mass);
            let back = conversion_factor(b, a, molar_mass);
            proptest::prop_assert_eq!(there.is_some(), back.is_some(), "{} ↔ {}", a, b);
            if let (Some(t), Some(k)) = (there, back) {
                let round = value * t * k;
                proptest::prop_assert!((round - value).abs() <= value * 1e-9, "{} ↔ {}", a, b);
            }
        }
    }

    #[test]
    fn comparability() {
        assert!(comparable("mg/dL", "g/L"));
        assert!(
            !comparable("mmol/L", "mg/dL"),
            "mass and molar need a molar mass"
        );
    }
}

/// Memos of unit resolution and conversion factors.
///
/// Parsing a UCUM expression costs microseconds, and a lab sends the same few dozen units
/// millions of times: without the memo, UCUM parsing was most of the time of normalizing a
/// result and of checking a mapping row. The answers are pure functions of their arguments, so
/// memoizing changes nothing but speed. Each memo is bounded: when it holds `LIMIT` entries it
/// is emptied, so arbitrary input cannot grow it without end.
mod memo {
    use super::{ResolvedUnit, UnitProblem};
    use std::collections::HashMap;
    use std::sync::{LazyLock, RwLock};

    const LIMIT: usize = 4096;

    type Resolved = Result<ResolvedUnit, UnitProblem>;
    type FactorKey = (String, String, Option<u64>, Option<u32>);

    static RESOLVED: LazyLock<RwLock<HashMap<String, Resolved>>> =
        LazyLock::new(|| RwLock::new(HashMap::new()));
    static FACTORS: LazyLock<RwLock<HashMap<FactorKey, Option<f64>>>> =
        LazyLock::new(|| RwLock::new(HashMap::new()));

    pub(super) fn resolved(text: &str, compute: fn(&str) -> Resolved) -> Resolved {
        if let Some(hit) = RESOLVED.read().unwrap_or_else(|p| p.into_inner()).get(text) {
            return hit.clone();
        }
        let answer = compute(text);
        let mut memo = RESOLVED.write().unwrap_or_else(|p| p.into_inner());
        if memo.len() >= LIMIT {
            memo.clear();
        }
        memo.insert(text.to_owned(), answer.clone());
        answer
    }

    pub(super) fn factor(
        from: &str,
        to: &str,
        molar_mass: Option<f64>,
        charge: Option<u32>,
        compute: fn(&str, &str, Option<f64>, Option<u32>) -> Option<f64>,
    ) -> Option<f64> {
        let key = (
            from.to_owned(),
            to.to_owned(),
            molar_mass.map(f64::to_bits),
            charge,
        );
        if let Some(hit) = FACTORS.read().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return *hit;
        }
        let answer = compute(from, to, molar_mass, charge);
        let mut memo = FACTORS.write().unwrap_or_else(|p| p.into_inner());
        if memo.len() >= LIMIT {
            memo.clear();
        }
        memo.insert(key, answer);
        answer
    }
}
