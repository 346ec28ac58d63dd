//! The build-time and latency check on 100k synthetic, realistic-looking concepts. Ignored by
//! default; run it in release:
//! `cargo test -p huren-search --release -- --ignored --nocapture scale`.

use std::time::{Duration, Instant};

use huren_core::code::{mod10_check_digit, national_code};
use huren_core::{CodeSystem, Concept, Registry};

use super::fixture::{self, LABS};
use crate::SearchIndex;
use crate::query::Clauses;

/// Analytes: Chinese name, English component, abbreviation, Chinese synonym.
const ANALYTES: &[(&str, &str, &str, &str)] = &[
    ("葡萄糖", "Glucose", "GLU", "血糖"),
    (
        "丙氨酸氨基转移酶",
        "Alanine aminotransferase",
        "ALT",
        "谷丙转氨酶",
    ),
    (
        "天门冬氨酸氨基转移酶",
        "Aspartate aminotransferase",
        "AST",
        "谷草转氨酶",
    ),
    (
        "γ-谷氨酰转移酶",
        "Gamma glutamyl transferase",
        "GGT",
        "谷氨酰转肽酶",
    ),
    ("碱性磷酸酶", "Alkaline phosphatase", "ALP", "碱磷酶"),
    ("总胆红素", "Bilirubin.total", "TBIL", "胆红素"),
    ("直接胆红素", "Bilirubin.direct", "DBIL", "结合胆红素"),
    ("总蛋白", "Protein", "TP", "血清总蛋白"),
    ("白蛋白", "Albumin", "ALB", "清蛋白"),
    ("肌酐", "Creatinine", "CREA", "血肌酐"),
    ("尿素", "Urea", "UREA", "尿素氮"),
    ("尿酸", "Urate", "UA", "血尿酸"),
    ("总胆固醇", "Cholesterol", "TC", "胆固醇"),
    ("甘油三酯", "Triglyceride", "TG", "三酰甘油"),
    (
        "高密度脂蛋白胆固醇",
        "Cholesterol.in HDL",
        "HDL-C",
        "高密度脂蛋白",
    ),
    (
        "低密度脂蛋白胆固醇",
        "Cholesterol.in LDL",
        "LDL-C",
        "低密度脂蛋白",
    ),
    ("钾", "Potassium", "K", "血钾"),
    ("钠", "Sodium", "Na", "血钠"),
    ("氯", "Chloride", "Cl", "血氯"),
    ("钙", "Calcium", "Ca", "血钙"),
    ("镁", "Magnesium", "Mg", "血镁"),
    ("无机磷", "Phosphate", "P", "血磷"),
    ("铁", "Iron", "Fe", "血清铁"),
    ("铁蛋白", "Ferritin", "FER", "血清铁蛋白"),
    ("C反应蛋白", "C reactive protein", "CRP", "超敏C反应蛋白"),
    ("降钙素原", "Procalcitonin", "PCT", "降钙素原检测"),
    ("肌酸激酶", "Creatine kinase", "CK", "肌酸磷酸激酶"),
    (
        "乳酸脱氢酶",
        "Lactate dehydrogenase",
        "LDH",
        "乳酸脱氢酶总活性",
    ),
    ("淀粉酶", "Amylase", "AMY", "血淀粉酶"),
    ("脂肪酶", "Triacylglycerol lipase", "LPS", "血清脂肪酶"),
    ("促甲状腺激素", "Thyrotropin", "TSH", "促甲状腺素"),
    ("游离甲状腺素", "Thyroxine.free", "FT4", "游离T4"),
    (
        "游离三碘甲状腺原氨酸",
        "Triiodothyronine.free",
        "FT3",
        "游离T3",
    ),
    ("糖化血红蛋白", "Hemoglobin A1c", "HbA1c", "糖化血红蛋白A1c"),
    ("血红蛋白", "Hemoglobin", "HGB", "血色素"),
    ("白细胞", "Leukocytes", "WBC", "白细胞计数"),
    ("红细胞", "Erythrocytes", "RBC", "红细胞计数"),
    ("血小板", "Platelets", "PLT", "血小板计数"),
    ("甲胎蛋白", "Alpha-1-Fetoprotein", "AFP", "甲胎"),
    ("癌胚抗原", "Carcinoembryonic Ag", "CEA", "癌胚"),
];
/// Specimens: Chinese, English, LOINC short form.
const SPECIMENS: &[(&str, &str, &str)] = &[
    ("血清", "Serum or Plasma", "SerPl"),
    ("全血", "Blood", "Bld"),
    ("尿", "Urine", "Ur"),
    ("脑脊液", "Cerebral spinal fluid", "CSF"),
    ("胸水", "Pleural fluid", "Plr fld"),
    ("腹水", "Peritoneal fluid", "Prt fld"),
];
/// Properties: Chinese, English, LOINC short form.
const PROPERTIES: &[(&str, &str, &str)] = &[
    ("浓度", "[Moles/volume]", "sCnc"),
    ("质量浓度", "[Mass/volume]", "mCnc"),
    ("活性", "[Enzymatic activity/volume]", "cCnc"),
    ("计数", "[#/volume]", "NCnc"),
    ("比值", "[Ratio]", "Ratio"),
];
/// Methods: Chinese, English.
const METHODS: &[(&str, &str)] = &[
    ("", ""),
    ("酶法", " by Enzymatic method"),
    ("化学发光法", " by Immunoassay"),
    ("免疫比浊法", " by Immunoturbidimetry"),
    ("电极法", " by Ion-selective electrode"),
    ("高效液相色谱法", " by HPLC"),
    ("干化学法", " by Test strip"),
];
/// Timing: Chinese, English.
const TIMES: &[(&str, &str)] = &[
    ("", ""),
    ("24小时", " 24 hour"),
    ("餐后2小时", " 2 hours post meal"),
];

/// The `i`th synthetic concept. Names are composed from realistic parts; beyond the number of
/// combinations a version number tells concepts apart, as real method variants do.
fn synthetic(i: usize, system: CodeSystem) -> Concept {
    let mut k = i;
    let mut pick = |n: usize| {
        let x = k % n;
        k /= n;
        x
    };
    let (a_zh, a_en, abbr, syn) = ANALYTES[pick(ANALYTES.len())];
    let (s_zh, s_en, s_short) = SPECIMENS[pick(SPECIMENS.len())];
    let (p_zh, p_en, p_short) = PROPERTIES[pick(PROPERTIES.len())];
    let (m_zh, m_en) = METHODS[pick(METHODS.len())];
    let (t_zh, t_en) = TIMES[pick(TIMES.len())];
    let version = if k > 0 {
        format!(" (v{k})")
    } else {
        String::new()
    };
    let code = match system {
        CodeSystem::National => national_code(9_000_001 + u32::try_from(i).unwrap()).unwrap(),
        CodeSystem::Loinc => {
            let body = (100_000 + i).to_string();
            format!("{body}-{}", mod10_check_digit(&body).unwrap())
        }
    };
    let lab = &LABS[0];
    let mut c = fixture::concept(lab, code, "");
    c.display_zh = format!("{t_zh}{s_zh}{a_zh}{p_zh}{m_zh}{version}");
    c.display_en = format!("{a_en} {p_en} in {s_en}{m_en}{t_en}{version}");
    c.short_name = format!("{a_en} {s_short}-{p_short}");
    c.abbreviations = vec![abbr.to_owned()];
    c.synonyms_zh = vec![syn.to_owned(), format!("{s_zh}{a_zh}")];
    c.synonyms_en = Vec::new();
    c
}

fn synthetic_registry(national: usize, loinc: usize) -> Registry {
    fixture::registry_of(
        (0..national)
            .map(|i| synthetic(i, CodeSystem::National))
            .collect(),
        (0..loinc)
            .map(|i| synthetic(i, CodeSystem::Loinc))
            .collect(),
    )
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

#[test]
#[ignore = "slow; run in release to measure build time and latency"]
fn scale_100k_concepts() {
    let registry = synthetic_registry(20_000, 80_000);
    // Each build loads the jieba dictionary; measure it apart from the build.
    let started = Instant::now();
    drop(tantivy_jieba::jieba_rs::Jieba::new());
    let dictionary = started.elapsed();
    let started = Instant::now();
    let index = SearchIndex::build(&registry).unwrap();
    let build = started.elapsed();
    let started = Instant::now();
    let again = SearchIndex::build(&registry).unwrap();
    let rebuild = started.elapsed();
    assert_eq!(again.len(), 100_000);
    println!(
        "\n{} build: jieba dictionary load {:.0} ms (part of each build), build {:.2} s, rebuild {:.2} s, {} concepts",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        dictionary.as_secs_f64() * 1e3,
        build.as_secs_f64(),
        rebuild.as_secs_f64(),
        index.len()
    );

    let some_code = registry.current(CodeSystem::Loinc).unwrap().concepts[4242]
        .code
        .clone();
    let kinds: [(&str, &str); 10] = [
        ("zh word", "葡萄糖"),
        ("zh name", "血清葡萄糖"),
        ("zh synonym", "谷丙转氨酶"),
        ("zh fragment", "谷丙"),
        ("abbreviation", "ALT"),
        ("abbreviation punct.", "HDL-C"),
        ("code", &some_code),
        ("en two words", "alanine aminotransferase"),
        ("en typo (fuzzy)", "glucse"),
        ("mixed", "血清 glucose enzymatic"),
    ];
    println!("| query kind | text | hits (loinc) | mean µs | p50 µs | p99 µs |");
    println!("|---|---|---|---|---|---|");
    const RUNS: usize = 300;
    for (kind, text) in kinds {
        let mut times = Vec::with_capacity(RUNS);
        let mut total = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            let page = index.search(CodeSystem::Loinc, text, 0, 10).unwrap();
            times.push(started.elapsed());
            total = page.total;
            assert!(!page.codes.is_empty(), "{text}");
        }
        times.sort();
        let mean = times.iter().sum::<Duration>() / u32::try_from(RUNS).unwrap();
        let p50 = times[RUNS / 2];
        let p99 = times[(RUNS * 99).div_ceil(100) - 1];
        println!(
            "| {kind} | {text} | {total} | {:.0} | {:.0} | {:.0} |",
            micros(mean),
            micros(p50),
            micros(p99)
        );
    }
    let page = index.search(CodeSystem::Loinc, &some_code, 0, 1).unwrap();
    assert_eq!(page.codes, [some_code]);

    // How many concepts each Chinese analyzer matches: bigrams find fragments that are no
    // word, at the price of more incidental hits.
    let only = |jieba, bigrams| Clauses {
        jieba,
        bigrams,
        ..Clauses::NONE
    };
    println!("\n| text | hits jieba | hits bigrams | hits both |");
    println!("|---|---|---|---|");
    for text in [
        "血糖",
        "谷丙",
        "白细胞",
        "蛋白",
        "血清钙",
        "甲状腺素",
        "胆红素",
    ] {
        let hits = |clauses| {
            index
                .search_with(clauses, CodeSystem::Loinc, text, 0, 1)
                .unwrap()
                .total
        };
        println!(
            "| {text} | {} | {} | {} |",
            hits(only(true, false)),
            hits(only(false, true)),
            hits(only(true, true))
        );
    }
}
