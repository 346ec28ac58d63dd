//! Measurements of what each analyzer contributes: jieba words against character bigrams for
//! Chinese, plain words against stems and fuzzy matching for English. Run with
//! `cargo test -p huren-search measure -- --nocapture` to see the tables.

use huren_core::CodeSystem;

use super::fixture::{CHOLESTEROL, GLUCOSE, national_for};
use super::index;
use crate::query::Clauses;

/// Labelled Chinese searches: the text and the labs (LOINC codes) any of which is a right
/// first hit. Names as reports print them, synonyms, colloquial short forms, common
/// misspellings and extra words that no name contains.
const ZH_CASES: &[(&str, &[&str])] = &[
    ("葡萄糖", GLUCOSE),
    ("血糖", GLUCOSE),
    ("空腹血糖", &["14749-6"]),
    ("血糖测定", GLUCOSE),
    ("谷丙转氨酶", &["1742-6"]),
    ("丙氨酸氨基转移酶", &["1742-6"]),
    ("丙氨酸转氨酶", &["1742-6"]),
    ("谷丙", &["1742-6"]),
    ("谷草转氨酶", &["1920-8"]),
    ("天门冬氨酸氨基转移酶", &["1920-8"]),
    ("谷草", &["1920-8"]),
    ("转氨酶", &["1742-6", "1920-8"]),
    ("谷氨酰转移酶", &["2324-2"]),
    ("糖化血红蛋白", &["4548-4"]),
    ("糖化", &["4548-4"]),
    ("血红蛋白", &["718-7"]),
    ("白细胞", &["6690-2"]),
    ("白细胞计数", &["6690-2"]),
    ("红细胞", &["789-8"]),
    ("血小板", &["777-3"]),
    ("肌酐", &["14682-9"]),
    ("血清肌酐", &["14682-9"]),
    ("尿素", &["22664-7"]),
    ("胆固醇", CHOLESTEROL),
    ("总胆固醇", &["14647-2"]),
    ("高密度脂蛋白", &["14646-4"]),
    ("低密度", &["22748-8"]),
    ("甘油三酯", &["14927-8"]),
    ("甘油三脂", &["14927-8"]),
    ("三酰甘油", &["14927-8"]),
    ("钾", &["2823-3"]),
    ("血钾", &["2823-3"]),
    ("钠", &["2951-2"]),
    ("促甲状腺激素", &["3016-3"]),
    ("促甲状腺", &["3016-3"]),
    ("乳腺癌抗原", &["6875-9"]),
    ("葡萄塘", GLUCOSE),
    ("丙转", &["1742-6"]),
    ("血清谷丙转氨酶", &["1742-6"]),
    ("尿素氮", &["22664-7"]),
    ("甲状腺", &["3016-3"]),
    ("白细胞数", &["6690-2"]),
    ("血小板数", &["777-3"]),
];

/// Labelled English searches, including inflections that only stemming or fuzzy matching
/// can connect to a name.
const EN_CASES: &[(&str, &[&str])] = &[
    ("glucose", GLUCOSE),
    ("cholesterol", CHOLESTEROL),
    ("cholesterols", CHOLESTEROL),
    ("leukocytes", &["6690-2"]),
    ("leukocyte", &["6690-2"]),
    ("leukocyte count", &["6690-2"]),
    ("erythrocyte", &["789-8"]),
    ("platelet", &["777-3"]),
    ("platelets", &["777-3"]),
    ("triglycerides", &["14927-8"]),
    ("creatinine", &["14682-9"]),
    ("alanine aminotransferase", &["1742-6"]),
    ("aminotransferases", &["1742-6", "1920-8"]),
    ("hemoglobin", &["718-7"]),
    ("thyrotropin", &["3016-3"]),
    ("glucse", GLUCOSE),
];

/// Where the first right answer of a search ranks, and how many concepts matched.
fn rank(clauses: Clauses, text: &str, any_of: &[&str]) -> (Option<usize>, usize) {
    let expected: Vec<String> = any_of.iter().map(|l| national_for(l)).collect();
    let page = index()
        .search_with(clauses, CodeSystem::National, text, 0, 100)
        .expect("search succeeds");
    (
        page.codes.iter().position(|c| expected.contains(c)),
        page.total,
    )
}

/// `1st (3)`: ranked first among three hits; `#2 (5)`: second; `- (0)`: not found.
fn cell((rank, total): (Option<usize>, usize)) -> String {
    match rank {
        Some(0) => format!("1st ({total})"),
        Some(r) => format!("#{} ({total})", r + 1),
        None => format!("- ({total})"),
    }
}

/// Runs every case under every column of clauses, prints a table and returns how many cases
/// each column ranked first.
fn measure(
    title: &str,
    cases: &[(&str, &[&str])],
    columns: &[(&str, Clauses)],
) -> Vec<(String, usize)> {
    let mut firsts = vec![0; columns.len()];
    println!("\n{title}");
    print!("| {:<24} |", "query");
    for (name, _) in columns {
        print!(" {name:^12} |");
    }
    println!();
    print!("|{}|", "-".repeat(26));
    for _ in columns {
        print!("{}|", "-".repeat(14));
    }
    println!();
    for (text, any_of) in cases {
        // Pad by display width: a Chinese character takes two columns.
        let width: usize = text.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum();
        print!("| {text}{} |", " ".repeat(24usize.saturating_sub(width)));
        for (i, (_, clauses)) in columns.iter().enumerate() {
            let r = rank(*clauses, text, any_of);
            firsts[i] += usize::from(r.0 == Some(0));
            print!(" {:^12} |", cell(r));
        }
        println!();
    }
    print!("| {:<24} |", "ranked 1st");
    for f in &firsts {
        print!(" {:^12} |", format!("{f}/{}", cases.len()));
    }
    println!();
    columns
        .iter()
        .zip(firsts)
        .map(|((name, _), f)| ((*name).to_owned(), f))
        .collect()
}

#[test]
fn measure_chinese_jieba_against_bigrams() {
    let jieba = Clauses {
        jieba: true,
        ..Clauses::NONE
    };
    let bigrams = Clauses {
        bigrams: true,
        ..Clauses::NONE
    };
    let both = Clauses {
        jieba: true,
        bigrams: true,
        ..Clauses::NONE
    };
    let result = measure(
        "Chinese: rank of the first right answer (national system)",
        ZH_CASES,
        &[
            ("jieba", jieba),
            ("bigrams", bigrams),
            ("jieba+bigram", both),
            ("all clauses", Clauses::ALL),
        ],
    );
    for (name, firsts) in &result[2..] {
        assert_eq!(*firsts, ZH_CASES.len(), "{name} must rank every case first");
    }
}

#[test]
fn measure_english_words_stems_and_fuzzy() {
    let words = Clauses {
        english: true,
        ..Clauses::NONE
    };
    let stems = Clauses {
        stems: true,
        ..words
    };
    let fuzzy = Clauses {
        fuzzy: true,
        ..words
    };
    let result = measure(
        "English: rank of the first right answer (national system)",
        EN_CASES,
        &[
            ("words", words),
            ("words+stems", stems),
            ("words+fuzzy", fuzzy),
            (
                "stems+fuzzy",
                Clauses {
                    fuzzy: true,
                    ..stems
                },
            ),
            ("all clauses", Clauses::ALL),
        ],
    );
    for (name, firsts) in &result[3..] {
        assert_eq!(*firsts, EN_CASES.len(), "{name} must rank every case first");
    }
}
