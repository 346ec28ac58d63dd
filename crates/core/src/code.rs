//! Code systems, code formats and the LOINC mod-10 check digit.
//!
//! National codes look like LOINC codes (digits, a hyphen, a check digit) but live in a number
//! range LOINC does not use: a seven-digit body that starts with `9`. LOINC bodies have at most
//! six digits today, so a national code string can never equal a LOINC code string.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Canonical URL of LOINC, as FHIR names it.
pub const LOINC_URL: &str = "http://loinc.org";

/// The code systems the registry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum CodeSystem {
    /// The national LOINC-mapped lab code registry.
    National,
    /// LOINC itself (the cross-reference).
    Loinc,
}

impl CodeSystem {
    pub const ALL: [CodeSystem; 2] = [CodeSystem::National, CodeSystem::Loinc];

    /// The short name used in the database and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            CodeSystem::National => "national",
            CodeSystem::Loinc => "loinc",
        }
    }

    pub fn parse(s: &str) -> Option<CodeSystem> {
        match s {
            "national" => Some(CodeSystem::National),
            "loinc" => Some(CodeSystem::Loinc),
            _ => None,
        }
    }

    /// Checks the syntax and check digit of `code` for this system.
    pub fn check_code(self, code: &str) -> Result<(), CodeProblem> {
        match self {
            CodeSystem::National => check_national_code(code),
            CodeSystem::Loinc => check_loinc_code(code),
        }
    }
}

impl fmt::Display for CodeSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a code string is not a valid code of its system.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeProblem {
    #[error("`{code}` is not of the form DIGITS-CHECKDIGIT")]
    Malformed { code: String },
    #[error(
        "`{code}` is not in the national range (a seven-digit body starting with 9, e.g. 9000001-0)"
    )]
    NotNationalRange { code: String },
    #[error(
        "`{code}` has check digit {found}, but the mod-10 check digit of its body is {expected}"
    )]
    BadCheckDigit {
        code: String,
        found: u8,
        expected: u8,
    },
}

/// Computes the LOINC mod-10 check digit of a code body (the digits before the hyphen).
///
/// The algorithm of the LOINC Users' Guide, appendix C, is arithmetically Luhn's: double every
/// digit in an odd position counted from the right, add the digits of the products and the
/// other digits, and take the distance to the next multiple of ten. Returns `None` if `body`
/// is empty or holds a non-digit.
pub fn mod10_check_digit(body: &str) -> Option<u8> {
    if body.is_empty() {
        return None;
    }
    let mut sum = 0u32;
    for (i, b) in body.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        let d = u32::from(b - b'0');
        sum += if i % 2 == 0 {
            let x = d * 2;
            x / 10 + x % 10
        } else {
            d
        };
    }
    Some(((10 - sum % 10) % 10) as u8)
}

/// Published LOINC codes whose check digit is wrong (all DEPRECATED); LOINC keeps them as they
/// are, so we accept them as known exceptions (LOINC Users' Guide, appendix C).
pub const LOINC_CHECK_DIGIT_EXCEPTIONS: [&str; 14] = [
    "11491-6", "11501-6", "5895-7", "5896-5", "5897-3", "5928-1", "6028-3", "6415-5", "6580-7",
    "6645-7", "6646-5", "6647-3", "6648-1", "6649-9",
];

fn split_code(code: &str) -> Result<(&str, u8), CodeProblem> {
    let malformed = || CodeProblem::Malformed {
        code: code.to_owned(),
    };
    let (body, check) = code.split_once('-').ok_or_else(malformed)?;
    if body.is_empty()
        || body.len() > 7
        || !body.bytes().all(|b| b.is_ascii_digit())
        || check.len() != 1
        || !check.as_bytes()[0].is_ascii_digit()
    {
        return Err(malformed());
    }
    Ok((body, check.as_bytes()[0] - b'0'))
}

fn verify_check_digit(code: &str, body: &str, found: u8) -> Result<(), CodeProblem> {
    let expected = mod10_check_digit(body).expect("body was checked to be digits");
    if expected == found {
        Ok(())
    } else {
        Err(CodeProblem::BadCheckDigit {
            code: code.to_owned(),
            found,
            expected,
        })
    }
}

/// Checks a LOINC code: 1–7 digits, a hyphen, the mod-10 check digit (or a known exception).
pub fn check_loinc_code(code: &str) -> Result<(), CodeProblem> {
    let (body, found) = split_code(code)?;
    if LOINC_CHECK_DIGIT_EXCEPTIONS.contains(&code) {
        return Ok(());
    }
    verify_check_digit(code, body, found)
}

/// Checks a national code: a seven-digit body starting with 9, a hyphen, the check digit.
pub fn check_national_code(code: &str) -> Result<(), CodeProblem> {
    let (body, found) = split_code(code)?;
    if body.len() != 7 || !body.starts_with('9') {
        return Err(CodeProblem::NotNationalRange {
            code: code.to_owned(),
        });
    }
    verify_check_digit(code, body, found)
}

/// Builds the full national code for a seven-digit body starting with 9.
pub fn national_code(body: u32) -> Option<String> {
    if !(9_000_000..=9_999_999).contains(&body) {
        return None;
    }
    let b = body.to_string();
    let d = mod10_check_digit(&b)?;
    Some(format!("{b}-{d}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(body: &str, expected: u8) {
        assert_eq!(mod10_check_digit(body), Some(expected), "body {body}");
    }

    #[test]
    fn check_digit_matches_published_loinc_codes() {
        // The worked example of the Users' Guide and codes from domain.md §4.2.
        check("12345", 5);
        check("2345", 7);
        check("14682", 9);
        check("718", 7);
        check("6690", 2);
        check("2823", 3);
        check("14749", 6);
        check("1742", 6);
        check("22664", 7);
        check("4548", 4);
    }

    #[test]
    fn check_digit_rejects_non_digits() {
        assert_eq!(mod10_check_digit(""), None);
        assert_eq!(mod10_check_digit("12a4"), None);
    }

    #[test]
    fn loinc_codes() {
        assert_eq!(check_loinc_code("14749-6"), Ok(()));
        assert_eq!(check_loinc_code("11491-6"), Ok(()), "known exception");
        assert_eq!(
            check_loinc_code("14749-5"),
            Err(CodeProblem::BadCheckDigit {
                code: "14749-5".into(),
                found: 5,
                expected: 6
            })
        );
        for bad in [
            "",
            "14749",
            "-6",
            "14749-",
            "14749-66",
            "1474a-6",
            "12345678-0",
            " 2345-7",
        ] {
            assert!(
                matches!(check_loinc_code(bad), Err(CodeProblem::Malformed { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn national_codes() {
        let code = national_code(9_000_001).unwrap();
        assert_eq!(code, "9000001-9");
        assert_eq!(check_national_code(&code), Ok(()));
        assert!(matches!(
            check_national_code("14749-6"),
            Err(CodeProblem::NotNationalRange { .. })
        ));
        assert!(matches!(
            check_national_code("9000001-5"),
            Err(CodeProblem::BadCheckDigit { .. })
        ));
        assert_eq!(national_code(8_999_999), None);
    }

    proptest! {
        #[test]
        fn every_generated_national_code_checks(body in 9_000_000u32..=9_999_999) {
            let code = national_code(body).unwrap();
            prop_assert_eq!(check_national_code(&code), Ok(()));
            prop_assert!(check_loinc_code(&code).is_ok(), "national codes are LOINC-shaped");
        }

        #[test]
        fn a_changed_digit_is_caught(body in 9_000_000u32..=9_999_999, pos in 0usize..7, delta in 1u8..10) {
            // Luhn catches every single-digit substitution.
            let code = national_code(body).unwrap();
            let mut bytes = code.into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(check_national_code(&changed).is_err());
        }
    }
}
