//! Reading a hospital's local test name: the unit and specimen written into it, the method in
//! brackets, reference ranges, and the parts of the name worth searching one by one.
//!
//! LIS names are whatever a lab typed years ago: `GLU 葡萄糖 mg/dL serum`, `血清肌酐(酶法)`,
//! `Creatinine, serum µmol/L`, `钾 K 3.5-5.5 mmol/L`. Whether a piece is a unit or a specimen is
//! decided by core's rules (`resolve_local_unit`, `specimen_compatible`), never by a second list
//! kept here; this module only decides where the pieces are.

use huren_core::specimen::specimen_compatible;
use huren_core::units::{conversion_factor, resolve_local_unit};

use crate::analysis::{fold_width, is_han};

/// A local name taken apart.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LocalName {
    /// The whole name, width-folded and trimmed.
    pub raw: String,
    /// The name without the units, specimens, methods and numbers found in it.
    pub cleaned: String,
    /// The parts of [`LocalName::cleaned`] and the methods (split at spaces, brackets, slashes
    /// and where Chinese meets Latin text), when there are at least two.
    pub segments: Vec<String>,
    /// Units written in the name, as UCUM, in order.
    pub units: Vec<String>,
    /// Specimens written in the name, as written, in order.
    pub specimens: Vec<String>,
    /// Methods written in brackets (`酶法`, `魏氏法`), out of the cleaned name but among the
    /// segments: where a method tells two concepts apart, it must still count.
    pub methods: Vec<String>,
}

/// Characters that separate the words of a local name.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | ';' | '、' | '，' | '；' | '|')
}

/// Units that stand alone on a lab report without a slash or a percent sign. Anything else
/// must contain `/` or `%` to be taken for a unit: `K`, `Mg`, `Cl` or `T3` are valid UCUM
/// (kelvin, megagram, centilitre, tesla cubed) but on a lab report they are analytes.
const BARE_UNITS: &[&str] = &["fl", "pg", "s", "sec", "秒", "mmhg", "kpa", "mm[hg]"];

/// Units of the kinds a lab result has; a slashed token that resolves to anything else
/// (`A/G`, ampere per gauss) is not taken for a unit.
const LAB_DIMENSIONS: &[&str] = &[
    "g/L", "mol/L", "U/L", "[IU]/L", "/L", "mm/h", "%", "fL", "pg", "s", "mm[Hg]", "meq/L",
];

/// The UCUM unit `text` stands for, if it looks like a lab unit (see [`BARE_UNITS`]).
pub(crate) fn lab_unit(text: &str) -> Option<String> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > 16 {
        return None;
    }
    let slashed = t.contains('/') || t.contains('%');
    if t == "秒" {
        return Some("s".to_owned());
    }
    if !slashed && !BARE_UNITS.contains(&t.to_lowercase().as_str()) {
        return None;
    }
    // A unit starts with a digit, a letter or a multiplication sign, and has no Chinese.
    if t.chars().any(is_han)
        || !t
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '×' || c == '%')
    {
        return None;
    }
    let ucum = resolve_local_unit(t).ok()?.ucum;
    LAB_DIMENSIONS
        .iter()
        .any(|d| conversion_factor(&ucum, d, None).is_some())
        .then_some(ucum)
}

/// Whether core knows `text` as a specimen (any answer for serum means it was recognised).
pub(crate) fn is_specimen(text: &str) -> bool {
    let t = text.trim();
    !t.is_empty() && specimen_compatible(t, "Ser/Plas").is_some()
}

/// A reference range or a value (`3.5-5.5`, `<0.5`, `0~40`): noise in a name. A bare number
/// or `15-3` is kept, since it may be part of an analyte (`CA 15-3`).
fn is_range(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '~' | '<' | '>' | '='))
        && text.chars().any(|c| matches!(c, '.' | '~' | '<' | '>'))
}

/// A method in brackets (`酶法`, `速率法`, `化学发光`): it does not name the analyte, and
/// national names carry it only where it separates two concepts (the whole name is searched
/// too, so those still match).
fn is_method(text: &str) -> bool {
    let t = text.trim();
    let han = t.chars().filter(|&c| is_han(c)).count();
    (han >= 2 && t.ends_with('法'))
        || ["化学发光", "电化学发光", "发光", "免疫比浊", "干化学"].contains(&t)
}

/// Words for "the test of" that Chinese price lists and LIS systems append to an analyte
/// (`白蛋白测定`, `血清尿酸测定`): they name no analyte.
const PROCEDURE_WORDS: &[&str] = &["测定", "检测", "测试", "试验"];

/// `word` without a trailing [`PROCEDURE_WORDS`] entry, when a name of two or more characters
/// is left (also before a bracket: `肌酐测定(酶法)`).
fn without_procedure_word(word: &str) -> String {
    let (head, tail) = match word.find('(') {
        Some(at) => word.split_at(at),
        None => (word, ""),
    };
    for p in PROCEDURE_WORDS {
        if let Some(rest) = head.strip_suffix(p)
            && rest.chars().filter(|&c| is_han(c)).count() >= 2
        {
            return format!("{rest}{tail}");
        }
    }
    word.to_owned()
}

/// Chinese specimen words that local names glue in front of the analyte (`血清钾`,
/// `全血葡萄糖`), longest first. Each is only taken for a specimen if core recognises it.
const SPECIMEN_PREFIXES: &[&str] = &[
    "静脉血清",
    "静脉血浆",
    "动脉血",
    "静脉血",
    "末梢血",
    "血清",
    "血浆",
    "全血",
    "尿液",
    "脑脊液",
];

impl LocalName {
    pub(crate) fn parse(name: &str) -> LocalName {
        let raw = fold_width(name).trim().to_owned();
        let mut out = LocalName {
            raw: raw.clone(),
            ..LocalName::default()
        };
        let words: Vec<&str> = raw.split(is_separator).filter(|w| !w.is_empty()).collect();
        let mut kept: Vec<String> = Vec::new();
        let mut i = 0;
        while i < words.len() {
            // Two-word specimens (`whole blood`, `venous plasma`) before single words.
            if let Some(next) = words.get(i + 1) {
                let pair = format!("{} {}", words[i], next);
                if is_specimen(&pair) {
                    out.specimens.push(pair);
                    i += 2;
                    continue;
                }
            }
            let w = words[i];
            i += 1;
            if is_range(w) {
                continue;
            }
            if let Some(u) = lab_unit(w) {
                out.units.push(u);
                continue;
            }
            if is_specimen(w) {
                out.specimens.push(w.to_owned());
                continue;
            }
            let w = out.take_brackets(w);
            let w = out.take_glued_unit(&w);
            let w = out.take_specimen_prefix(&w);
            let w = without_procedure_word(&w);
            if !w.is_empty() {
                kept.push(w);
            }
        }
        // A name that is nothing but specimen words (`RBC`, `红细胞` are also LOINC's red cell
        // specimen) is a name after all.
        if kept.is_empty() && !out.specimens.is_empty() {
            kept = std::mem::take(&mut out.specimens);
        }
        out.cleaned = kept.join(" ");
        let with_methods = std::iter::once(out.cleaned.as_str())
            .chain(out.methods.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        out.segments = segments(&with_methods);
        out
    }

    /// Removes bracketed units, specimens and methods from `word`; other bracketed text
    /// (`(HGB)`, `Lp(a)`, `(计算值)`) stays.
    fn take_brackets(&mut self, word: &str) -> String {
        let mut out = String::new();
        let mut rest = word;
        while let Some(open) = rest.find('(') {
            let Some(close) = rest[open..].find(')').map(|c| open + c) else {
                break;
            };
            let inner = &rest[open + 1..close];
            out.push_str(&rest[..open]);
            if let Some(u) = lab_unit(inner) {
                self.units.push(u);
            } else if is_specimen(inner) {
                self.specimens.push(inner.trim().to_owned());
            } else if is_method(inner) {
                self.methods.push(inner.trim().to_owned());
            } else {
                out.push_str(&rest[open..=close]);
            }
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        out
    }

    /// Splits a unit glued to the end of a Chinese name (`葡萄糖mmol/L`).
    fn take_glued_unit(&mut self, word: &str) -> String {
        let mut previous: Option<char> = None;
        for (at, c) in word.char_indices() {
            if previous.is_some_and(|p| is_han(p) || p == ')')
                && !is_han(c)
                && let Some(u) = lab_unit(&word[at..])
            {
                self.units.push(u);
                return word[..at].to_owned();
            }
            previous = Some(c);
        }
        word.to_owned()
    }

    /// Takes a specimen glued in front of a Chinese name (`血清钾`, `全血葡萄糖`). The specimen
    /// is kept as evidence; it is cut from the name only when what is left is still a name
    /// (`末梢血糖` would leave `糖`).
    fn take_specimen_prefix(&mut self, word: &str) -> String {
        for prefix in SPECIMEN_PREFIXES {
            let Some(rest) = word.strip_prefix(prefix) else {
                continue;
            };
            if !is_specimen(prefix) {
                continue;
            }
            self.specimens.push((*prefix).to_owned());
            let han = rest.chars().filter(|&c| is_han(c)).count();
            let ends_word = prefix.ends_with(['清', '浆', '液']);
            if han >= 2 || (ends_word && !rest.is_empty()) {
                return rest.to_owned();
            }
            return word.to_owned();
        }
        word.to_owned()
    }
}

/// The parts of a cleaned name worth a search of their own: split at spaces, brackets and
/// slashes, and where Chinese meets at least two Latin letters or digits (`补体C3`, `POCT血糖`;
/// not `C反应蛋白`). A lone Chinese character is dropped (`血` of `血HCG` means nothing alone,
/// and a one-character analyte such as `钾` is searched as the whole name anyway). Fewer than
/// two parts give none: the cleaned name is the only part.
fn segments(cleaned: &str) -> Vec<String> {
    let alnum = |s: &str| s.chars().filter(|c| c.is_alphanumeric()).count();
    let mut parts: Vec<String> = Vec::new();
    for piece in cleaned.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '/')) {
        // Runs of Chinese and of other characters; a short Latin run (`C`, `γ-`) stays glued
        // to the Chinese next to it.
        let mut runs: Vec<(String, bool)> = Vec::new();
        for c in piece.chars() {
            match runs.last_mut() {
                Some((text, han)) if *han == is_han(c) => text.push(c),
                _ => runs.push((c.to_string(), is_han(c))),
            }
        }
        let mut out: Vec<(String, bool)> = Vec::new();
        let mut pending = String::new();
        for (text, han) in runs {
            if !han && alnum(&text) < 2 {
                match out.last_mut() {
                    Some((last, true)) => last.push_str(&text),
                    _ => pending.push_str(&text),
                }
            } else {
                out.push((std::mem::take(&mut pending) + &text, han));
            }
        }
        if !pending.is_empty() {
            out.push((pending, false));
        }
        parts.extend(out.into_iter().map(|(t, _)| t));
    }
    let mut unique: Vec<String> = Vec::new();
    for p in parts {
        let p = p.trim_matches(|c: char| !c.is_alphanumeric()).to_owned();
        let lone_han = p.chars().count() == 1 && p.chars().all(is_han);
        if !p.is_empty() && !lone_han && !unique.contains(&p) {
            unique.push(p);
        }
    }
    if unique.len() < 2 { Vec::new() } else { unique }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(name: &str, cleaned: &str, units: &[&str], specimens: &[&str], segments: &[&str]) {
        let l = LocalName::parse(name);
        assert_eq!(l.cleaned, cleaned, "{name}: {l:?}");
        assert_eq!(l.units, units, "{name}: {l:?}");
        assert_eq!(l.specimens, specimens, "{name}: {l:?}");
        assert_eq!(l.segments, segments, "{name}: {l:?}");
    }

    #[test]
    fn units_specimens_and_methods_come_out_of_the_name() {
        check(
            "GLU 葡萄糖 mg/dL serum",
            "GLU 葡萄糖",
            &["mg/dL"],
            &["serum"],
            &["GLU", "葡萄糖"],
        );
        check(
            "Creatinine, serum µmol/L",
            "Creatinine",
            &["umol/L"],
            &["serum"],
            &[],
        );
        check("血清肌酐(酶法)", "肌酐", &[], &["血清"], &["肌酐", "酶法"]);
        check("肌酐(μmol/L)", "肌酐", &["umol/L"], &[], &[]);
        check("葡萄糖mmol/L", "葡萄糖", &["mmol/L"], &[], &[]);
        // `钾` alone is no part worth a search (see `segments`), so `K` is the only part.
        check("钾 K 3.5-5.5 mmol/L", "钾 K", &["mmol/L"], &[], &[]);
        check(
            "Potassium, Serum/Plasma",
            "Potassium",
            &[],
            &["Serum/Plasma"],
            &[],
        );
        check("D-Dimer whole blood", "D-Dimer", &[], &["whole blood"], &[]);
        check("全血葡萄糖", "葡萄糖", &[], &["全血"], &[]);
        check("PT 秒", "PT", &["s"], &[], &[]);
        check("白蛋白测定", "白蛋白", &[], &[], &[]);
        check("肌酐测定(酶法)", "肌酐", &[], &[], &["肌酐", "酶法"]);
    }

    #[test]
    fn analyte_text_stays() {
        // Brackets that are no unit, specimen or method; slashes that are no unit; analytes
        // that are valid UCUM (tesla cubed, kelvin).
        check("Lp(a)", "Lp(a)", &[], &[], &["Lp", "a"]);
        check("AST/GOT", "AST/GOT", &[], &[], &["AST", "GOT"]);
        check("A/G", "A/G", &[], &[], &["A", "G"]);
        check("T3", "T3", &[], &[], &[]);
        check("K+", "K+", &[], &[], &[]);
        check("CA 15-3", "CA 15-3", &[], &[], &["CA", "15-3"]);
        // `RBC` and `红细胞` are also specimens; alone they are the name.
        check("RBC", "RBC", &[], &[], &[]);
        check("红细胞", "红细胞", &[], &[], &[]);
        // Cutting the specimen off `末梢血糖` would leave `糖`: it stays, and still counts.
        check("末梢血糖", "末梢血糖", &[], &["末梢血"], &[]);
    }

    #[test]
    fn segments_split_where_chinese_meets_latin() {
        check("补体C3", "补体C3", &[], &[], &["补体", "C3"]);
        check("POCT血糖", "POCT血糖", &[], &[], &["POCT", "血糖"]);
        check("C反应蛋白", "C反应蛋白", &[], &[], &[]);
        check("γ-谷氨酰转肽酶", "γ-谷氨酰转肽酶", &[], &[], &[]);
        // A lone Chinese character is no part worth a search.
        check("血HCG", "血HCG", &[], &[], &[]);
    }

    #[test]
    fn lab_units_only() {
        for (text, ucum) in [
            ("mg/dL", Some("mg/dL")),
            ("mg/dl", Some("mg/dL")),
            ("μmol/L", Some("umol/L")),
            ("x10^9/L", Some("10*9/L")),
            ("%", Some("%")),
            ("fl", Some("fL")),
            ("mmHg", Some("mm[Hg]")),
            ("秒", Some("s")),
            ("K", None),
            ("Mg", None),
            ("Cl", None),
            ("A/G", None),
            ("T3/T4", None),
            ("葡萄糖/L", None),
            ("", None),
        ] {
            assert_eq!(lab_unit(text).as_deref(), ucum, "{text:?}");
        }
    }
}
