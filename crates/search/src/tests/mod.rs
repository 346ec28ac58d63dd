//! Tests of ranking, paging, robustness and isolation of systems, over a fixture of real lab
//! concepts; the analyzer measurements and the scale test live in their own modules.

mod analyzers;
mod fixture;
mod scale;

use std::sync::OnceLock;

use huren_core::CodeSystem;
use huren_core::code::check_national_code;
use huren_core::ports::{ConceptSearch, SearchPage};

use crate::SearchIndex;
use fixture::{CHOLESTEROL, GLUCOSE, LABS, national_for};

/// The fixture index, built once: it is only read, so tests cannot disturb each other.
fn index() -> &'static SearchIndex {
    static INDEX: OnceLock<SearchIndex> = OnceLock::new();
    INDEX.get_or_init(|| SearchIndex::build(&fixture::registry()).expect("fixture index builds"))
}

fn search(system: CodeSystem, text: &str) -> SearchPage {
    index()
        .search(system, text, 0, 10)
        .expect("search succeeds")
}

/// The LOINC code of the lab a code of either system stands for, to make failures readable.
fn lab_of(system: CodeSystem, code: &str) -> &'static str {
    LABS.iter()
        .find(|l| match system {
            CodeSystem::Loinc => l.loinc == code,
            CodeSystem::National => national_for(l.loinc) == code,
        })
        .map_or("?", |l| l.loinc)
}

/// Asserts that the first hit of `text` in `system` is one of the labs `any_of` (given by
/// their LOINC codes; in the national system, the national concept equivalent to them).
#[track_caller]
fn check_in(system: CodeSystem, text: &str, any_of: &[&str]) {
    let page = search(system, text);
    let expected: Vec<String> = any_of
        .iter()
        .map(|l| match system {
            CodeSystem::Loinc => (*l).to_owned(),
            CodeSystem::National => national_for(l),
        })
        .collect();
    let top: Vec<String> = page
        .codes
        .iter()
        .take(5)
        .map(|c| {
            let l = lab_of(system, c);
            let zh = LABS.iter().find(|x| x.loinc == l).map_or("?", |x| x.zh);
            format!("{c} ({l} {zh})")
        })
        .collect();
    assert!(
        page.codes.first().is_some_and(|c| expected.contains(c)),
        "{system} search {text:?}: expected one of {expected:?} first, got {top:?} of {} hits",
        page.total
    );
}

/// Asserts that the first hit of `text` among national concepts is the lab `loinc`.
#[track_caller]
fn check(text: &str, loinc: &str) {
    check_in(CodeSystem::National, text, &[loinc]);
}

#[test]
fn chinese_names_synonyms_and_lab_words() {
    check_in(CodeSystem::National, "葡萄糖", GLUCOSE);
    check("血糖", "14749-6");
    check("谷丙转氨酶", "1742-6");
    check("丙氨酸氨基转移酶", "1742-6");
    check("糖化血红蛋白", "4548-4");
    check("白细胞", "6690-2");
    check("谷草转氨酶", "1920-8");
    check("血红蛋白", "718-7");
    check("钾", "2823-3");
    check("甘油三酯", "14927-8");
    check("高密度脂蛋白", "14646-4");
    check("促甲状腺激素", "3016-3");
}

#[test]
fn abbreviations_in_any_case_and_punctuation() {
    for (text, loinc) in [
        ("ALT", "1742-6"),
        ("alt", "1742-6"),
        ("GPT", "1742-6"),
        ("AST", "1920-8"),
        ("HbA1c", "4548-4"),
        ("hba1c", "4548-4"),
        ("HBA1C", "4548-4"),
        ("ＨｂＡ１ｃ", "4548-4"),
        ("WBC", "6690-2"),
        ("Hb", "718-7"),
        ("HDL-C", "14646-4"),
        ("hdlc", "14646-4"),
        ("HDL C", "14646-4"),
        ("LDL-C", "22748-8"),
        ("CA15-3", "6875-9"),
        ("ca153", "6875-9"),
        ("K", "2823-3"),
        ("na", "2951-2"),
        ("γ-GT", "2324-2"),
        ("Cr", "14682-9"),
    ] {
        check(text, loinc);
    }
}

#[test]
fn english_words_stems_and_typos() {
    check_in(CodeSystem::National, "glucose", GLUCOSE);
    check("alanine aminotransferase", "1742-6");
    check("Alanine Aminotransferase serum", "1742-6");
    check("aspartate aminotransferase", "1920-8");
    check_in(CodeSystem::National, "cholesterol", CHOLESTEROL);
    check("hdl cholesterol", "14646-4");
    check("leukocytes", "6690-2");
    check("leukocyte", "6690-2");
    check("blood sugar", "14749-6");
    check_in(CodeSystem::National, "glucse", GLUCOSE);
    check("hemoglobni a1c", "4548-4");
    check("thyrotropin", "3016-3");
}

#[test]
fn codes_and_the_loinc_cross_reference() {
    for lab in LABS {
        check(&national_for(lab.loinc), lab.loinc);
        check_in(CodeSystem::Loinc, lab.loinc, &[lab.loinc]);
    }
    check_in(CodeSystem::Loinc, " 14749-6 ", &["14749-6"]);
    // A LOINC code typed into the national system finds its national equivalent.
    check("14749-6", "14749-6");
    // A national code is no LOINC code (its digits may still match words of LOINC names).
    let national = national_for("1742-6");
    assert!(
        !search(CodeSystem::Loinc, &national)
            .codes
            .contains(&national)
    );
}

#[test]
fn mixed_chinese_and_english() {
    check("ALT 谷丙", "1742-6");
    check("HbA1c糖化", "4548-4");
    check("血清 glucose", "14749-6");
}

#[test]
fn strange_input_is_never_an_error() {
    let long_latin = "a".repeat(2000);
    let long_mixed = "葡萄糖 glucose (".repeat(150);
    for text in [
        "(",
        ")",
        "\"",
        "\"unclosed",
        "a:b",
        "code:14749-6",
        "***",
        "*",
        "+glucose -urea",
        "glucose~2",
        "[1 TO 2]",
        "AND OR NOT",
        "\\",
        "\u{0}",
        "🧪💉",
        "血糖🩸",
        "ｇｌｕｃｏｓｅ",
        "\u{3000}",
        long_latin.as_str(),
        long_mixed.as_str(),
    ] {
        for system in CodeSystem::ALL {
            for (offset, count) in [(0, 10), (5, 0), (usize::MAX, usize::MAX)] {
                let page = index().search(system, text, offset, count);
                assert!(page.is_ok(), "{text:?}: {page:?}");
            }
        }
    }
    assert_eq!(search(CodeSystem::National, "(").total, 0);
    assert_eq!(
        search(CodeSystem::National, "ｇｌｕｃｏｓｅ").codes,
        search(CodeSystem::National, "glucose").codes
    );
}

#[test]
fn empty_text_is_an_empty_page() {
    for text in ["", "   ", "\t\n"] {
        assert_eq!(search(CodeSystem::National, text), SearchPage::default());
    }
}

#[test]
fn pages_partition_the_hits() {
    let text = "serum plasma 血";
    let all = index().search(CodeSystem::National, text, 0, 1000).unwrap();
    assert!(all.total > 10, "{all:?}");
    assert_eq!(all.codes.len(), all.total);
    let mut paged = Vec::new();
    for offset in (0..all.total + 3).step_by(3) {
        let page = index()
            .search(CodeSystem::National, text, offset, 3)
            .unwrap();
        assert_eq!(page.total, all.total, "offset {offset}");
        assert!(page.codes.len() <= 3);
        paged.extend(page.codes);
    }
    assert_eq!(paged, all.codes);
    let past = index()
        .search(CodeSystem::National, text, all.total, 10)
        .unwrap();
    assert_eq!((past.total, past.codes.len()), (all.total, 0));
    let none = index().search(CodeSystem::National, text, 0, 0).unwrap();
    assert_eq!((none.total, none.codes.len()), (all.total, 0));
}

#[test]
fn a_search_stays_in_its_system() {
    for text in [
        "葡萄糖",
        "glucose",
        "ALT",
        "serum",
        "血",
        "14749-6",
        "cholesterol",
    ] {
        let national = index().search(CodeSystem::National, text, 0, 1000).unwrap();
        assert!(national.total > 0, "{text}");
        for c in &national.codes {
            assert_eq!(check_national_code(c), Ok(()), "{text}: {c}");
        }
        let loinc = index().search(CodeSystem::Loinc, text, 0, 1000).unwrap();
        for c in &loinc.codes {
            assert!(check_national_code(c).is_err(), "{text}: {c}");
        }
    }
}

#[test]
fn results_are_stable_across_builds() {
    let again = SearchIndex::build(&fixture::registry()).unwrap();
    for text in ["血", "serum", "glucose", "转氨酶", "GLU", "in"] {
        for system in CodeSystem::ALL {
            let a = index().search(system, text, 0, 100).unwrap();
            let b = again.search(system, text, 0, 100).unwrap();
            assert_eq!(a, b, "{system} {text}");
        }
    }
}

#[test]
fn ties_go_to_the_shorter_display_then_the_code() {
    let lab = &LABS[0];
    let twin = |code: &str, zh: &str| {
        let mut c = fixture::concept(lab, code.into(), "");
        c.display_zh = zh.into();
        c.synonyms_zh.clear();
        c
    };
    let loinc = vec![
        twin("100003-3", "葡萄糖甲"),
        twin("100002-5", "葡萄糖乙"),
        twin("100001-7", "葡萄糖丙丁"),
    ];
    let index = SearchIndex::build(&fixture::registry_of(Vec::new(), loinc)).unwrap();
    for text in ["glucose", "GLU"] {
        let page = index.search(CodeSystem::Loinc, text, 0, 10).unwrap();
        assert_eq!(page.codes, ["100002-5", "100003-3", "100001-7"], "{text}");
    }
}

#[test]
fn searches_run_concurrently_through_the_port() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SearchIndex>();
    let port: &dyn ConceptSearch = index();
    let texts = [
        "葡萄糖",
        "ALT",
        "alanine aminotransferase",
        "白细胞",
        "glucse",
        "14749-6",
    ];
    let expected: Vec<SearchPage> = texts
        .iter()
        .map(|t| port.search(CodeSystem::National, t, 0, 5).unwrap())
        .collect();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..25 {
                    for (t, e) in texts.iter().zip(&expected) {
                        assert_eq!(&port.search(CodeSystem::National, t, 0, 5).unwrap(), e);
                    }
                }
            });
        }
    });
}

/// Query shapes of the page tests: one word, Chinese, an abbreviation, a typo with a second
/// word, a code, a word in many terms.
const SHAPES: [&str; 7] = [
    "glucose",
    "葡萄糖",
    "血糖",
    "ALT",
    "glucse serum",
    "2345-7",
    "serum",
];
/// Pages (offset, count) of the page tests, with the empty page and one larger than the hits.
const PAGES: [(usize, usize); 5] = [(0, 10), (0, 3), (2, 3), (0, 0), (0, 500)];

/// Keeping a system's documents with a clause in the query or in the collector gives the same
/// pages and totals, for every query shape, system and page.
#[test]
fn the_system_is_kept_alike_by_the_query_or_the_collector() {
    for text in SHAPES.iter().chain(&["血", "in"]) {
        for system in CodeSystem::ALL {
            for (offset, count) in PAGES {
                let [by_clause, by_collector] = [false, true].map(|collector| {
                    index()
                        .page(
                            crate::query::Clauses::ALL,
                            system,
                            collector,
                            text,
                            offset,
                            count,
                        )
                        .expect("search succeeds")
                });
                assert_eq!(
                    by_clause, by_collector,
                    "{system} {text:?} {offset}+{count}"
                );
            }
        }
    }
}

/// A page from the cache is the page the index computes, for every query shape and page, and
/// pages of different systems, offsets and sizes do not answer for each other.
#[test]
fn cached_pages_are_the_computed_ones() {
    let idx = SearchIndex::build(&fixture::registry()).expect("fixture index builds");
    for _ in 0..2 {
        for text in SHAPES {
            for system in CodeSystem::ALL {
                for (offset, count) in PAGES {
                    let fresh = idx
                        .search_with(crate::query::Clauses::ALL, system, text, offset, count)
                        .expect("search succeeds");
                    let served = idx.search(system, text, offset, count).expect("search");
                    assert_eq!(served, fresh, "{system} {text:?} {offset}+{count}");
                    let padded = idx.search(system, &format!("  {text} "), offset, count);
                    assert_eq!(padded.expect("search"), fresh, "{text:?} with blanks");
                }
            }
        }
    }
    // A pasted blob is keyed by the part the search reads: texts that differ only beyond it
    // share the page, which is the page either computes.
    let blob = "glucose serum ".repeat(40);
    for tail in ["", "plasma", "尿素"] {
        let text = format!("{blob}{tail}");
        let fresh = idx
            .search_with(crate::query::Clauses::ALL, CodeSystem::Loinc, &text, 0, 10)
            .expect("search succeeds");
        let served = idx.search(CodeSystem::Loinc, &text, 0, 10).expect("search");
        assert_eq!(served, fresh, "blob ending in {tail:?}");
    }
}
