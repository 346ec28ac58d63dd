//! Mapping suggestions over the real seed: the national table of `code-tables/` and LOINC's
//! Top-2000 terms, as the server loads them.
//!
//! The accuracy bar runs [`suggest`] over two sets of local test names as hospital LIS systems
//! spell them (Chinese with methods, specimens and "测定" in them, English, abbreviations,
//! typos, full-width letters, panel prefixes, units and reference ranges inside the name), each
//! with the national code a curator would choose:
//!
//! * `tests/data/local-names.csv` (303 rows, 123 concepts) was written first, before the
//!   engine was tuned, and the engine was then developed against it; rows it got wrong were
//!   kept, none was changed. Its score flatters.
//! * `tests/data/local-names-holdout.csv` (145 rows, 108 concepts) was written once the engine
//!   was done and has not been tuned against (it includes pinyin initials such as `XHDB`,
//!   which nothing here can resolve). Its score is the one to quote. Tuning against it would
//!   need a new held-out set.
//!
//! Conventions of both files: mass and molar concepts of one analyte are told apart by the
//! unit, so every such row has one (in the unit column or in the name). Where two concepts
//! differ only by method, a row names the method (`HPLC法`, `计算值`, `超敏`, `手工法`,
//! `离心法`, `魏氏法`) or expects the concept with no method (`CRP`, `TSH`), which is right for
//! any method. Plain blood-count names (`WBC`, `PLT`, `HCT`, `血沉`), whose default concept is an
//! automated count while the other is "method unspecified", are left out as genuinely
//! ambiguous.
//!
//! Run: `cargo test -p huren-search --test suggest -- --nocapture` prints top-1, top-5, the
//! misses and the latency (add `--release` for production latency).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use huren_core::registry::CurrentRelease;
use huren_core::{CodeSystem, Concept, Registry, Release, Status};
use huren_search::{Evidence, Reason, SearchIndex, SuggestQuery, Suggestion, suggest};

/// The share of rows whose expected code must come first.
const TOP1_BAR: f64 = 0.85;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn table(file: &str, system: CodeSystem) -> Vec<Concept> {
    let bytes = std::fs::read(repo().join("code-tables").join(file)).unwrap();
    let table = huren_csv::parse_code_table(&bytes, system).unwrap();
    assert!(table.problems.is_empty(), "{file}: {:?}", table.problems);
    table.rows.into_iter().map(|(_, c)| c).collect()
}

fn release(id: i64, system: CodeSystem, concepts: &[Concept]) -> Release {
    Release {
        id,
        system,
        label: format!("seed-{id}"),
        imported_at: "2026-01-01T00:00:00Z".into(),
        source: "code-tables".into(),
        concept_count: i64::try_from(concepts.len()).unwrap(),
    }
}

/// The seed registry, built as `crates/server/src/seed.rs` builds it: LOINC is the union of
/// the SI and US Top-2000 files, with axes taken from the national table where it maps a code.
fn seed(mutate: impl Fn(&mut Concept)) -> Registry {
    let mut national = table("national-lab.csv", CodeSystem::National);
    national.iter_mut().for_each(mutate);
    let axes: HashMap<String, huren_core::Axes> = national
        .iter()
        .filter_map(|c| Some((c.loinc.clone(), c.axes.clone()?)))
        .collect();
    let mut loinc: Vec<Concept> = Vec::new();
    let mut seen = BTreeSet::new();
    for file in [
        "LOINC_1.6_Top2000CommonLabResultsSI.csv",
        "LOINC_1.6_Top2000CommonLabResultsUS.csv",
    ] {
        for mut c in table(file, CodeSystem::Loinc) {
            if c.axes.is_none() {
                c.axes = axes.get(&c.code).cloned();
            }
            if seen.insert(c.code.clone()) {
                loinc.push(c);
            }
        }
    }
    let n = release(1, CodeSystem::National, &national);
    let l = release(2, CodeSystem::Loinc, &loinc);
    Registry::new(
        vec![l.clone(), n.clone()],
        vec![
            CurrentRelease::new(n, national),
            CurrentRelease::new(l, loinc),
        ],
    )
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| seed(|_| {}))
}

fn index() -> &'static SearchIndex {
    static INDEX: OnceLock<SearchIndex> = OnceLock::new();
    INDEX.get_or_init(|| SearchIndex::build(registry()).unwrap())
}

fn no_evidence() -> &'static Evidence {
    static EVIDENCE: OnceLock<Evidence> = OnceLock::new();
    EVIDENCE.get_or_init(Evidence::default)
}

fn run(name: &str, unit: &str, specimen: &str) -> Vec<Suggestion> {
    run_limit(name, unit, specimen, 10)
}

fn run_limit(name: &str, unit: &str, specimen: &str, limit: usize) -> Vec<Suggestion> {
    let q = SuggestQuery {
        name,
        unit,
        specimen,
    };
    suggest(registry(), index(), no_evidence(), &q, limit)
}

/// The national code equivalent to a LOINC code.
fn national(loinc: &str) -> String {
    match registry().national_for_loinc(loinc) {
        [code] => code.clone(),
        other => panic!("{loinc} has {} national equivalents", other.len()),
    }
}

fn codes(s: &[Suggestion]) -> Vec<&str> {
    s.iter().map(|s| s.code.as_str()).collect()
}

fn has(s: &Suggestion, code: &str) -> bool {
    s.reasons.iter().any(|r| r.code() == code)
}

/// No suggestion whose unit converts comes after one whose unit does not.
#[track_caller]
fn assert_unit_tiers(what: &str, s: &[Suggestion]) {
    let lower = |s: &Suggestion| has(s, "unit-not-convertible") || has(s, "unit-property-mismatch");
    let first_lower = s.iter().position(lower);
    if let Some(i) = first_lower {
        assert!(
            s[i..].iter().all(lower),
            "{what}: a convertible concept ranks below an unconvertible one: {:?}",
            codes(s)
        );
    }
}

struct Row {
    line: usize,
    name: String,
    unit: String,
    specimen: String,
    expected: String,
}

fn rows(file: &str) -> Vec<Row> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let header = reader.headers().unwrap().clone();
    assert_eq!(
        header.iter().collect::<Vec<_>>(),
        ["name", "unit", "specimen", "expected_code"]
    );
    reader
        .records()
        .enumerate()
        .map(|(i, r)| {
            let r = r.unwrap();
            Row {
                line: i + 2,
                name: r[0].to_owned(),
                unit: r[1].to_owned(),
                specimen: r[2].to_owned(),
                expected: r[3].to_owned(),
            }
        })
        .collect()
}

/// Top-1 and top-5 counts of one test set, with its misses and timings.
struct Outcome {
    rows: usize,
    concepts: usize,
    top1: usize,
    top5: usize,
    misses: Vec<String>,
    /// The fastest of three runs of each row, with its name.
    times: Vec<(Duration, String)>,
}

impl Outcome {
    fn top1(&self) -> f64 {
        self.top1 as f64 / self.rows as f64
    }

    fn top5(&self) -> f64 {
        self.top5 as f64 / self.rows as f64
    }
}

fn evaluate(file: &str) -> Outcome {
    let rows = rows(file);
    let concepts: BTreeSet<&str> = rows.iter().map(|r| r.expected.as_str()).collect();
    for r in &rows {
        let c = registry().lookup(CodeSystem::National, &r.expected);
        assert!(
            c.is_some_and(|c| c.status != Status::Deprecated),
            "{file} line {}: {} is no active national code",
            r.line,
            r.expected
        );
    }
    // Warm up (jieba dictionary, index, core's unit tables) before timing.
    index();
    run("GLU 葡萄糖 mg/dL serum", "", "");
    let mut out = Outcome {
        rows: rows.len(),
        concepts: concepts.len(),
        top1: 0,
        top5: 0,
        misses: Vec::new(),
        times: Vec::with_capacity(rows.len()),
    };
    for r in &rows {
        // The fastest of three runs: the machine may be busy with other work, and a
        // preempted run measures the machine, not the suggestion.
        let mut fastest = Duration::MAX;
        let mut s = Vec::new();
        for _ in 0..3 {
            let started = Instant::now();
            s = run(&r.name, &r.unit, &r.specimen);
            fastest = fastest.min(started.elapsed());
        }
        out.times.push((fastest, r.name.clone()));
        assert_unit_tiers(&r.name, &s);
        let rank = s.iter().position(|s| s.code == r.expected);
        if rank == Some(0) {
            out.top1 += 1;
        } else {
            let got: Vec<String> = s
                .iter()
                .take(3)
                .map(|s| format!("{} {}", s.code, s.display_zh))
                .collect();
            out.misses.push(format!(
                "  {file}:{} {:?} [{}] [{}]: expected {} at {}, got {:?}",
                r.line,
                r.name,
                r.unit,
                r.specimen,
                r.expected,
                rank.map_or("-".to_owned(), |k| (k + 1).to_string()),
                got
            ));
        }
        if rank.is_some_and(|k| k < 5) {
            out.top5 += 1;
        }
    }
    println!(
        "\n{file}: {} local names, {} national concepts: top-1 {:.1}% ({}), top-5 {:.1}% ({})",
        out.rows,
        out.concepts,
        100.0 * out.top1(),
        out.top1,
        100.0 * out.top5(),
        out.top5,
    );
    println!("misses:\n{}", out.misses.join("\n"));
    out
}

/// The accuracy bar, on two sets. `local-names.csv` was written first and the engine was
/// developed against it, so its score flatters; `local-names-holdout.csv` was written after
/// the engine was done and never tuned against, so its score is the one to quote.
#[test]
fn local_names_reach_the_bar() {
    let development = evaluate("local-names.csv");
    let holdout = evaluate("local-names-holdout.csv");
    assert!(development.rows >= 120 && development.concepts >= 60);
    assert!(holdout.rows >= 120 && holdout.concepts >= 60);

    let mut times: Vec<(Duration, String)> = development
        .times
        .iter()
        .chain(&holdout.times)
        .cloned()
        .collect();
    times.sort();
    let mean =
        times.iter().map(|(t, _)| *t).sum::<Duration>() / u32::try_from(times.len()).unwrap();
    let at = |q: usize| times[(times.len() * q).div_ceil(100) - 1].0.as_secs_f64() * 1e3;
    println!(
        "\nlatency over {} suggestions ({} build, fastest of 3 runs each): mean {:.2} ms, p50 {:.2} ms, \
         p99 {:.2} ms, max {:.2} ms ({:?})",
        times.len(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        mean.as_secs_f64() * 1e3,
        at(50),
        at(99),
        at(100),
        times[times.len() - 1].1,
    );
    for (name, o) in [("development", &development), ("held-out", &holdout)] {
        assert!(
            o.top1() >= TOP1_BAR,
            "{name} top-1 {:.1}% is below {:.0}%",
            100.0 * o.top1(),
            100.0 * TOP1_BAR
        );
    }
    assert!(
        mean < Duration::from_millis(10),
        "a suggestion takes {mean:?} on average"
    );
}

#[test]
fn mass_or_molar_follows_the_unit() {
    let mass = national("2345-7");
    let molar = national("14749-6");
    for (name, unit, expected) in [
        ("葡萄糖", "mg/dL", &mass),
        ("葡萄糖", "mg/dl", &mass),
        ("GLU", "mg/dL", &mass),
        ("glucose serum", "mg/dL", &mass),
        ("葡萄糖", "mmol/L", &molar),
        ("GLU", "mmol/l", &molar),
        ("Glucose, serum", "mmol/L", &molar),
        ("葡萄糖 mg/dL", "", &mass),
        ("葡萄糖(mmol/L)", "", &molar),
    ] {
        let s = run(name, unit, "");
        assert_eq!(s[0].code, *expected, "{name} [{unit}]: {:?}", codes(&s));
        assert!(has(&s[0], "property-matches-unit"), "{:?}", s[0].reasons);
        assert!(has(&s[0], "unit-convertible"), "{:?}", s[0].reasons);
    }
    // The other one is still suggested, converted through the molar mass.
    let s = run("葡萄糖", "mg/dL", "");
    let other = s.iter().find(|s| s.code == molar).unwrap();
    let factor = other.reasons.iter().find_map(|r| match r {
        Reason::UnitMassMolar { factor, .. } => Some(*factor),
        _ => None,
    });
    assert!(
        factor.is_some_and(|f| (f - 10.0 / 180.16).abs() < 1e-4),
        "{:?}",
        other.reasons
    );
}

#[test]
fn unconvertible_units_rank_below_every_convertible_one() {
    // Potassium has no molar mass in the registry, so g/L cannot become mmol/L: every
    // concept g/L fits (serum proteins share the words 血清 and 蛋白...) comes first, however
    // well the name matches potassium.
    let potassium = national("2823-3");
    let s = run_limit("血清钾", "g/L", "", 100);
    let k = s.iter().position(|s| s.code == potassium);
    assert!(k.is_some_and(|k| k > 0), "{:?}", codes(&s));
    assert_unit_tiers("血清钾 g/L", &s);
    assert!(has(&s[k.unwrap()], "unit-not-convertible"));

    // A percentage is a neutrophil fraction, never the count, and the other way round.
    let s = run("中性粒细胞", "%", "");
    assert_eq!(s[0].code, national("770-8"), "{:?}", codes(&s));
    assert_unit_tiers("中性粒细胞 %", &s);
    let s = run("中性粒细胞", "x10^9/L", "");
    assert_eq!(s[0].code, national("751-8"), "{:?}", codes(&s));
    assert_unit_tiers("中性粒细胞 x10^9/L", &s);

    // A qualitative concept has no unit: a quantitative unit puts it below the quantitative one.
    let s = run("乙肝表面抗体", "mIU/mL", "");
    assert_eq!(s[0].code, national("16935-9"), "{:?}", codes(&s));
    assert_unit_tiers("乙肝表面抗体 mIU/mL", &s);

    // Without a unit there is no tier.
    let s = run("血清钾", "", "");
    assert_eq!(s[0].code, potassium, "{:?}", codes(&s));
    assert!(s.iter().all(|s| !has(s, "unit-not-convertible")));
}

#[test]
fn evidence_from_several_hospitals_ranks_first() {
    let whole_blood = national("15074-8");
    let serum = national("14749-6");
    let q = SuggestQuery {
        name: "GLU",
        unit: "mmol/L",
        specimen: "",
    };
    let plain = suggest(registry(), index(), &Evidence::default(), &q, 5);
    assert_ne!(plain[0].code, whole_blood, "{:?}", codes(&plain));

    let mapped = |hospital: &str, name: &str, code: &str| {
        (hospital.to_owned(), name.to_owned(), code.to_owned())
    };
    let evidence = Evidence::new(&[
        // The same name spelled three ways by three hospitals, and one hospital twice.
        mapped("h1", "GLU", &whole_blood),
        mapped("h2", "glu", &whole_blood),
        mapped("h3", "ＧＬＵ", &whole_blood),
        mapped("h3", "G-L-U", &whole_blood),
        mapped("h4", "GLU", &serum),
        mapped("h5", "葡萄糖", &serum),
    ]);
    assert_eq!(evidence.hospitals(" g l u ", &whole_blood), 3);
    assert_eq!(evidence.hospitals("GLU", &serum), 1);
    let s = suggest(registry(), index(), &evidence, &q, 5);
    assert_eq!(s[0].code, whole_blood, "{:?}", codes(&s));
    assert!(
        s[0].reasons.contains(&Reason::Evidence { hospitals: 3 }),
        "{:?}",
        s[0].reasons
    );
    assert_eq!(s[1].code, serum, "{:?}", codes(&s));
    assert!(s[1].reasons.contains(&Reason::Evidence { hospitals: 1 }));

    // Evidence brings in a concept the search does not find at all.
    let troponin = national("10839-9");
    let evidence = Evidence::new(&[
        mapped("h1", "心梗三项-1", &troponin),
        mapped("h2", "心梗三项 1", &troponin),
    ]);
    let q = SuggestQuery {
        name: "心梗三项(1)",
        unit: "",
        specimen: "",
    };
    let s = suggest(registry(), index(), &evidence, &q, 5);
    assert_eq!(s[0].code, troponin, "{:?}", codes(&s));

    // Evidence does not lift a concept over the unit tier.
    let q = SuggestQuery {
        name: "GLU",
        unit: "U/L",
        specimen: "",
    };
    let s = suggest(
        registry(),
        index(),
        &Evidence::new(&[mapped("h1", "GLU", &serum)]),
        &q,
        50,
    );
    assert_unit_tiers("GLU U/L", &s);
}

#[test]
fn specimen_breaks_ties() {
    let s = run("葡萄糖", "mmol/L", "全血");
    assert_eq!(s[0].code, national("15074-8"), "{:?}", codes(&s));
    assert!(has(&s[0], "specimen-compatible"), "{:?}", s[0].reasons);
    let s = run("葡萄糖", "mmol/L", "血清");
    assert_eq!(s[0].code, national("14749-6"), "{:?}", codes(&s));
    let blood = s.iter().find(|s| s.code == national("15074-8")).unwrap();
    assert!(has(blood, "specimen-incompatible"), "{:?}", blood.reasons);
    // A specimen written into the name counts when the field is empty.
    let s = run("APTT 全血", "s", "");
    assert_eq!(s[0].code, national("3173-2"), "{:?}", codes(&s));
    let s = run("APTT 血浆", "s", "");
    assert_eq!(s[0].code, national("14979-9"), "{:?}", codes(&s));
}

#[test]
fn reasons_say_why() {
    let s = run("谷丙转氨酶", "U/L", "血清");
    let alt = &s[0];
    assert_eq!(alt.code, national("1742-6"));
    assert!(alt.reasons.contains(&Reason::NameZh {
        name: "谷丙转氨酶".into(),
        exact: true
    }));
    assert!(has(alt, "unit-convertible") && has(alt, "specimen-compatible"));

    let s = run("ALT", "", "");
    assert!(s[0].reasons.contains(&Reason::Abbreviation {
        abbreviation: "ALT".into()
    }));

    let s = run("Creatinine [Mass/volume] in Serum or Plasma", "", "");
    assert_eq!(s[0].code, national("2160-0"));
    assert!(
        has(&s[0], "name-en") && has(&s[0], "loinc-term"),
        "{:?}",
        s[0].reasons
    );

    // Every reason has a stable code and both texts.
    let all = [
        Reason::NameZh {
            name: "钾".into(),
            exact: true,
        },
        Reason::NameZh {
            name: "钾".into(),
            exact: false,
        },
        Reason::NameEn {
            name: "Potassium".into(),
            exact: true,
        },
        Reason::Abbreviation {
            abbreviation: "K".into(),
        },
        Reason::LoincTerm {
            loinc: "2823-3".into(),
            name: "Potassium".into(),
        },
        Reason::UnitConvertible {
            unit: "mg/dL".into(),
            concept_unit: "g/L".into(),
            factor: 0.01,
        },
        Reason::UnitMassMolar {
            unit: "mg/dL".into(),
            concept_unit: "mmol/L".into(),
            factor: 0.0555,
            molar_mass: 180.16,
        },
        Reason::UnitNotConvertible {
            unit: "g/L".into(),
            concept_unit: "mmol/L".into(),
        },
        Reason::UnitNotConvertible {
            unit: "g/L".into(),
            concept_unit: String::new(),
        },
        Reason::PropertyMatchesUnit {
            property: "MCnc".into(),
            unit: "mg/dL".into(),
        },
        Reason::SpecimenCompatible {
            specimen: "血清".into(),
            system: "Ser/Plas".into(),
        },
        Reason::SpecimenIncompatible {
            specimen: "全血".into(),
            system: "Ser/Plas".into(),
        },
        Reason::Evidence { hospitals: 2 },
    ];
    let codes: BTreeSet<&str> = all.iter().map(Reason::code).collect();
    assert_eq!(codes.len(), 11);
    for r in &all {
        assert!(!r.zh().is_empty() && !r.en().is_empty(), "{r:?}");
        assert!(r.code().chars().all(|c| c.is_ascii_lowercase() || c == '-'));
    }
    assert_eq!(
        all[6].en(),
        "unit mg/dL converts to mmol/L through the molar mass 180.2 g/mol (×0.0555)"
    );
}

#[test]
fn deprecated_concepts_are_never_suggested() {
    let alt = national("1742-6");
    let registry = seed(|c| {
        if c.code == alt {
            c.status = Status::Deprecated;
        }
    });
    let index = SearchIndex::build(&registry).unwrap();
    for name in ["ALT", "谷丙转氨酶", "alanine aminotransferase"] {
        let q = SuggestQuery {
            name,
            unit: "U/L",
            specimen: "",
        };
        let s = suggest(&registry, &index, &Evidence::default(), &q, 20);
        assert!(
            !codes(&s).contains(&alt.as_str()),
            "{name}: {:?}",
            codes(&s)
        );
    }
    // Not even through evidence.
    let evidence = Evidence::new(&[
        ("h1".into(), "ALT".into(), alt.clone()),
        ("h2".into(), "ALT".into(), alt.clone()),
    ]);
    let q = SuggestQuery {
        name: "ALT",
        unit: "",
        specimen: "",
    };
    let s = suggest(&registry, &index, &evidence, &q, 20);
    assert!(!codes(&s).contains(&alt.as_str()));
}

#[test]
fn odd_input_gives_an_answer_or_nothing() {
    for (name, unit, specimen) in [
        ("", "", ""),
        ("   ", "mg/dL", "血清"),
        ("(", ")", "*"),
        ("mg/dL", "", ""),
        ("血清", "", ""),
        ("🧪", "🧪", "🧪"),
        ("3.5-5.5", "", ""),
    ] {
        let q = SuggestQuery {
            name,
            unit,
            specimen,
        };
        let s = suggest(registry(), index(), no_evidence(), &q, 5);
        assert!(s.len() <= 5, "{name:?}");
    }
    let q = SuggestQuery {
        name: "ALT",
        unit: "",
        specimen: "",
    };
    assert!(suggest(registry(), index(), no_evidence(), &q, 0).is_empty());
    let long = "葡萄糖 glucose (".repeat(200);
    let q = SuggestQuery {
        name: &long,
        unit: &long,
        specimen: &long,
    };
    assert!(suggest(registry(), index(), no_evidence(), &q, 5).len() <= 5);
}

/// Prints the suggestions for one local test with scores and reasons:
/// `SUGGEST="name|unit|specimen" cargo test -p huren-search --test suggest explain -- --ignored --nocapture`.
#[test]
#[ignore = "a tool: prints the suggestions for $SUGGEST"]
fn explain() {
    let input = std::env::var("SUGGEST").unwrap_or_else(|_| "GLU 葡萄糖 mg/dL serum||".into());
    for one in input.split(';') {
        let mut parts = one.split('|');
        let (name, unit, specimen) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        println!("\n{name:?} [{unit}] [{specimen}]");
        for s in run(name, unit, specimen) {
            println!(
                "  {:.3} {} {} / {}",
                s.score, s.code, s.display_zh, s.display_en
            );
            for r in &s.reasons {
                println!("        {}: {}", r.code(), r.zh());
            }
        }
    }
}
