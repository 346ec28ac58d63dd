//! UCUM units. Validation is delegated to `octofhir-ucum`, a maintained implementation that
//! passes the official UCUM conformance tests, rather than a hand-written unit table.
//!
//! A unit that is not valid UCUM is reported, never guessed: `K/ul` parses as kelvin per
//! microlitre, which is valid UCUM but means nothing for a cell count, so the registry stores
//! only the canonical unit of each concept and later issues map local spellings explicitly.

/// Why a unit string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{unit}` is not a valid UCUM unit: {reason}")]
pub struct UnitProblem {
    pub unit: String,
    pub reason: String,
}

/// Checks that `unit` is a valid, case-sensitive UCUM expression.
pub fn check_ucum(unit: &str) -> Result<(), UnitProblem> {
    let problem = |reason: String| UnitProblem {
        unit: unit.to_owned(),
        reason,
    };
    if unit.trim() != unit || unit.is_empty() {
        return Err(problem("empty, or surrounded by spaces".into()));
    }
    if !unit.is_ascii() {
        return Err(problem(
            "UCUM is ASCII only (write `u` for micro, `10*9` for 10⁹)".into(),
        ));
    }
    octofhir_ucum::validate(unit).map_err(|e| problem(e.to_string()))
}

/// Whether two UCUM units measure the same kind of quantity (e.g. `mg/dL` and `g/L`).
pub fn comparable(a: &str, b: &str) -> bool {
    octofhir_ucum::is_comparable(a, b).unwrap_or(false)
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
    fn non_ucum_spellings_are_refused() {
        for u in ["µmol/L", "IU/L", "x10^9/L", "", " mmol/L", "mmol/l/", "mEq"] {
            assert!(check_ucum(u).is_err(), "{u:?} should be refused");
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
