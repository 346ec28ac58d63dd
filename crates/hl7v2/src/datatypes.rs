//! The HL7 v2 data types an ORU^R01 needs, as plain values: decimal numbers that keep the
//! sender's precision (NM), structured numerics (SN), coded elements (CE/CWE), identifiers
//! (HD, EI, CX), names (XPN, XCN) and organisations (XON). Strings are decoded text (escape
//! sequences resolved); an absent part is an empty string.

use std::fmt;

/// A decimal number exactly as the sender wrote it (HL7 NM): `6.30` stays `6.30`, because the
/// number of decimals is clinical information. Surrounding spaces are dropped; nothing else
/// is changed (a leading `+` or leading zeros stay).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Number(String);

impl Number {
    /// Parses NM: an optional sign, digits, and an optional decimal point
    /// (`12`, `-0.5`, `6.30`, `.5`, `5.`). No exponent, no thousands separators.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim_matches(' ');
        let body = t.strip_prefix(['+', '-']).unwrap_or(t);
        let mut parts = body.splitn(2, '.');
        let int = parts.next().unwrap_or("");
        let frac = parts.next().unwrap_or("");
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        (!(int.is_empty() && frac.is_empty()) && digits(int) && digits(frac))
            .then(|| Self(t.to_owned()))
    }

    /// The number as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The nearest `f64`, for arithmetic. Keep [`Number::as_str`] for storage.
    pub fn to_f64(&self) -> f64 {
        // The grammar above is a subset of what `f64::from_str` accepts.
        self.0.parse().unwrap_or(f64::NAN)
    }

    /// Digits after the decimal point: 2 for `6.30`, 0 for `12`.
    pub fn decimals(&self) -> usize {
        self.0.split_once('.').map_or(0, |(_, f)| f.len())
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// SN comparator (component 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparator {
    /// `=`
    Eq,
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `>=`
    Ge,
    /// `<>`
    Ne,
}

impl Comparator {
    /// Reads `=`, `<`, `>`, `<=`, `>=` or `<>`.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "=" => Self::Eq,
            "<" => Self::Lt,
            ">" => Self::Gt,
            "<=" => Self::Le,
            ">=" => Self::Ge,
            "<>" => Self::Ne,
            _ => return None,
        })
    }

    /// The symbol as HL7 writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Lt => "<",
            Self::Gt => ">",
            Self::Le => "<=",
            Self::Ge => ">=",
            Self::Ne => "<>",
        }
    }
}

/// SN separator/suffix (component 3): a range (`-`), a ratio (`:` or `/`), a categorical
/// suffix (`+`, as in `^2^+` for "2+") or a decimal point written as a separator (`.`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SnSeparator {
    /// `-`: num1 to num2.
    Range,
    /// `+`: a suffix (`2+`), or num1 plus num2.
    Plus,
    /// `/`: a ratio.
    Slash,
    /// `.`: num1.num2.
    Dot,
    /// `:`: a ratio, e.g. a titre `1:40`.
    Colon,
}

impl SnSeparator {
    /// Reads `-`, `+`, `/`, `.` or `:`.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "-" => Self::Range,
            "+" => Self::Plus,
            "/" => Self::Slash,
            "." => Self::Dot,
            ":" => Self::Colon,
            _ => return None,
        })
    }

    /// The symbol as HL7 writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Range => "-",
            Self::Plus => "+",
            Self::Slash => "/",
            Self::Dot => ".",
            Self::Colon => ":",
        }
    }
}

/// An HL7 SN value: comparator ^ num1 ^ separator/suffix ^ num2, e.g. `>^11.0` (greater than
/// 11.0), `<^0.5`, `^1^:^40` (a titre of 1:40), `^10^-^20` (10 to 20), `^2^+` (2+).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StructuredNumeric {
    pub comparator: Option<Comparator>,
    pub num1: Option<Number>,
    pub separator: Option<SnSeparator>,
    pub num2: Option<Number>,
}

impl StructuredNumeric {
    /// Parses SN from its components (decoded text). On failure, the 1-based component that is
    /// wrong and why.
    ///
    /// # Errors
    ///
    /// `(component, reason)` when a component is not what SN allows there, or the
    /// combination makes no sense (a separator with nothing after it, a comparator with no
    /// number).
    pub fn from_components(components: &[&str]) -> Result<Self, (usize, String)> {
        if components.len() > 4 {
            return Err((
                5,
                format!("SN has 4 components, found {}", components.len()),
            ));
        }
        let get = |i: usize| components.get(i).map_or("", |c| c.trim_matches(' '));
        let (c1, c2, c3, c4) = (get(0), get(1), get(2), get(3));
        let comparator = match c1 {
            "" => None,
            c => Some(Comparator::parse(c).ok_or_else(|| {
                (
                    1,
                    format!("comparator {c:?} is not one of =, <, >, <=, >=, <>"),
                )
            })?),
        };
        let number = |i: usize, c: &str| match c {
            "" => Ok(None),
            c => Number::parse(c)
                .map(Some)
                .ok_or_else(|| (i, format!("component {i} {c:?} is not a number"))),
        };
        let num1 = number(2, c2)?;
        let separator = match c3 {
            "" => None,
            c => Some(
                SnSeparator::parse(c)
                    .ok_or_else(|| (3, format!("separator {c:?} is not one of -, +, /, ., :")))?,
            ),
        };
        let num2 = number(4, c4)?;
        if num1.is_none() {
            return Err((2, "the number (component 2) is missing".into()));
        }
        match (separator, &num2) {
            (Some(SnSeparator::Plus), None) | (None, None) | (Some(_), Some(_)) => {}
            (Some(s), None) => {
                return Err((
                    4,
                    format!("separator {:?} needs a second number", s.as_str()),
                ));
            }
            (None, Some(_)) => {
                return Err((3, "a second number needs a separator (component 3)".into()));
            }
        }
        Ok(Self {
            comparator,
            num1,
            separator,
            num2,
        })
    }

    /// Writes the SN value back with `component` as the component separator, trailing empty
    /// components dropped.
    pub fn to_hl7(&self, component: char) -> String {
        let parts = [
            self.comparator.map_or("", Comparator::as_str),
            self.num1.as_ref().map_or("", Number::as_str),
            self.separator.map_or("", SnSeparator::as_str),
            self.num2.as_ref().map_or("", Number::as_str),
        ];
        let used = parts
            .iter()
            .rposition(|p| !p.is_empty())
            .map_or(0, |i| i + 1);
        parts[..used].join(&component.to_string())
    }
}

/// A coded element (CE, CWE, CNE): identifier ^ text ^ coding system ^ alternate identifier ^
/// alternate text ^ alternate coding system, plus CWE-9 original text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct CodedElement {
    pub identifier: String,
    pub text: String,
    pub coding_system: String,
    pub alternate_identifier: String,
    pub alternate_text: String,
    pub alternate_coding_system: String,
    /// CWE-9 (v2.5): the text as the user saw it.
    pub original_text: String,
}

impl CodedElement {
    /// True when neither the code nor any text is present.
    pub fn is_empty(&self) -> bool {
        self.identifier.is_empty()
            && self.text.is_empty()
            && self.alternate_identifier.is_empty()
            && self.alternate_text.is_empty()
            && self.original_text.is_empty()
    }

    /// The identifier, or the text when there is no identifier (how OBX-6 units are read:
    /// many LIS send `^mmol/L` or `mmol/L^^L`).
    pub fn code_or_text(&self) -> &str {
        if self.identifier.is_empty() {
            &self.text
        } else {
            &self.identifier
        }
    }
}

/// A hierarchic designator (HD): namespace ID ^ universal ID ^ universal ID type, e.g. a
/// sending application `LIS`, or an assigning authority `HOSP&2.16.156.10011.1.1&ISO`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct HierarchicDesignator {
    pub namespace_id: String,
    pub universal_id: String,
    pub universal_id_type: String,
}

impl HierarchicDesignator {
    /// True when nothing is present.
    pub fn is_empty(&self) -> bool {
        self.namespace_id.is_empty() && self.universal_id.is_empty()
    }
}

/// An entity identifier (EI): entity ID ^ namespace ID ^ universal ID ^ universal ID type,
/// e.g. a filler order number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct EntityIdentifier {
    pub id: String,
    pub namespace_id: String,
    pub universal_id: String,
    pub universal_id_type: String,
}

/// A patient identifier (CX): ID ^ check digit ^ check digit scheme ^ assigning authority (HD,
/// as subcomponents) ^ identifier type code (`MR` record number, `PI`, `NI`…).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PatientIdentifier {
    pub id: String,
    pub assigning_authority: HierarchicDesignator,
    pub type_code: String,
}

/// A person's name (XPN): family ^ given ^ middle. Chinese names are often sent whole in the
/// family component (`张三`), sometimes split (`张^三`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PersonName {
    pub family: String,
    pub given: String,
    pub middle: String,
}

/// A person with an identifier (XCN): ID ^ family ^ given, e.g. the responsible observer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Person {
    pub id: String,
    pub family: String,
    pub given: String,
}

/// An organisation (XON): name ^ type ^ ID number (XON-3, before v2.5) ^ … ^ assigning
/// authority (XON-6) ^ identifier type (XON-7) ^ … ^ organisation identifier (XON-10, v2.5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Organization {
    pub name: String,
    /// XON-10, or XON-3 when XON-10 is empty (older senders).
    pub id: String,
    pub assigning_authority: HierarchicDesignator,
    pub id_type: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_text() {
        for (text, expected, decimals) in [
            ("6.30", Some("6.30"), 2),
            ("12", Some("12"), 0),
            ("-0.5", Some("-0.5"), 1),
            ("+1", Some("+1"), 0),
            (".5", Some(".5"), 1),
            ("5.", Some("5."), 0),
            (" 4.0 ", Some("4.0"), 1),
            ("007", Some("007"), 0),
        ] {
            let n = Number::parse(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(Some(n.as_str()), expected);
            assert_eq!(n.decimals(), decimals, "{text}");
            assert!(n.to_f64().is_finite(), "{text}");
        }
        assert_eq!(Number::parse("6.30").unwrap().to_f64(), 6.3);
        for bad in [
            "", ".", "-", "+.", "1.2.3", "1e5", "1,5", "阴性", "<0.5", "NaN", "inf", "1 2",
        ] {
            assert_eq!(Number::parse(bad), None, "{bad}");
        }
    }

    fn sn(text: &str) -> Result<StructuredNumeric, (usize, String)> {
        StructuredNumeric::from_components(&text.split('^').collect::<Vec<_>>())
    }

    #[test]
    fn structured_numerics() {
        let v = sn(">^11.0").unwrap();
        assert_eq!(v.comparator, Some(Comparator::Gt));
        assert_eq!(v.num1.as_ref().map(Number::as_str), Some("11.0"));
        assert_eq!((v.separator, v.num2.as_ref()), (None, None));
        let v = sn("^1^:^40").unwrap();
        assert_eq!(
            (v.comparator, v.separator),
            (None, Some(SnSeparator::Colon))
        );
        assert_eq!(v.num2.as_ref().map(Number::as_str), Some("40"));
        for ok in ["<^0.5", ">=^100", "^10^-^20", "^2^+", "^3.5", "<>^0", "=^1"] {
            assert_eq!(sn(ok).unwrap().to_hl7('^'), ok);
        }
    }

    #[test]
    fn bad_structured_numerics_name_the_component() {
        for (text, component, reason) in [
            (">11.0", 1, "comparator \">11.0\""),
            ("~^1", 1, "comparator"),
            (">^abc", 2, "\"abc\" is not a number"),
            (">", 2, "missing"),
            ("^1^x^2", 3, "separator \"x\""),
            ("^1^-", 4, "needs a second number"),
            ("^1^^2", 3, "needs a separator"),
            ("^1^:^x", 4, "not a number"),
            ("^1^:^4^5", 5, "4 components"),
        ] {
            let (c, r) = sn(text).unwrap_err();
            assert_eq!(c, component, "{text}: {r}");
            assert!(r.contains(reason), "{text}: {r}");
        }
    }

    #[test]
    fn units_fall_back_to_text() {
        let units = CodedElement {
            text: "mmol/L".into(),
            ..CodedElement::default()
        };
        assert_eq!(units.code_or_text(), "mmol/L");
        let units = CodedElement {
            identifier: "10*9/L".into(),
            text: "x10^9/L".into(),
            ..CodedElement::default()
        };
        assert_eq!(units.code_or_text(), "10*9/L");
    }
}
