//! Hospital mapping tables: one row per local code, with the local description (name,
//! specimen, unit, reference range) and its target in the national registry (see
//! `mappings/README.md`).
//!
//! Parsing only turns cells into a [`MappingRow`] and reports cells that cannot be read (a
//! reference limit that is not a number). Whether a row makes sense (its target exists, its
//! unit converts, its specimen fits) is decided by `huren_core::mapping_rules`, against the
//! registry, so the same rules hold whatever format the rows came in.

use crate::CsvError;
use crate::text::{decode, each_record};
use huren_core::Mapping;
use huren_core::mapping_rules::MappingRow;
use huren_core::registry::RowProblem;
use std::collections::HashMap;

/// The columns of a mapping table, in the order the export writes them. Only `local_code` and
/// `local_name` are required; the others may be absent or empty.
pub const MAPPING_COLUMNS: [&str; 11] = [
    "local_code",
    "local_name",
    "specimen",
    "unit",
    "national_code",
    "loinc",
    "ref_low",
    "ref_high",
    "ref_text",
    "method",
    "note",
];

/// Optional review columns, read when present and written by the export after
/// [`MAPPING_COLUMNS`], so that exporting and re-importing keeps each mapping's equivalence
/// and review status. A curator's file usually leaves them out (every row is then an
/// `equivalent`, `proposed` mapping).
pub const REVIEW_COLUMNS: [&str; 2] = ["equivalence", "status"];

const REQUIRED: [&str; 2] = ["local_code", "local_name"];

/// A parsed mapping table: its rows with their line numbers, and every cell that could not be
/// read.
#[derive(Debug, Default)]
pub struct ParsedMappings {
    pub rows: Vec<(u64, MappingRow)>,
    pub problems: Vec<RowProblem>,
    /// The encoding the file was in.
    pub encoding: &'static str,
}

/// Parses a mapping table: UTF-8 (with or without BOM), UTF-16 with BOM or GBK/GB18030,
/// separated by `,`, `;` or tabs (see [`decode`]), with a header row.
///
/// Columns are found by header name, ignoring case and surrounding space; unknown columns are
/// ignored (curators keep their own notes in extra columns). A missing required column
/// (`local_code`, `local_name`) or a repeated known column is a problem on line 1, and then no
/// row is read. Line numbers are physical lines of the file (a quoted line break counts), the
/// header being line 1. Wholly empty rows are skipped.
///
/// A reference limit that is not a finite number is reported with its line and column, and the
/// row is still returned, with that limit empty, so that the rules report the row's other
/// problems in the same pass.
pub fn parse_mappings(bytes: &[u8]) -> Result<ParsedMappings, CsvError> {
    parse_mappings_with_progress(bytes, &mut |_| {})
}

/// [`parse_mappings`], calling `progress` with the number of bytes read every 1,000 rows.
pub fn parse_mappings_with_progress(
    bytes: &[u8],
    progress: &mut dyn FnMut(u64),
) -> Result<ParsedMappings, CsvError> {
    let decoded = decode(bytes)?;
    let mut reader = decoded.reader();
    let mut parsed = ParsedMappings {
        encoding: decoded.encoding,
        ..ParsedMappings::default()
    };
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_lowercase()).collect(),
        Err(e) => {
            parsed
                .problems
                .push(RowProblem::new(1, None, format!("unreadable header: {e}")));
            return Ok(parsed);
        }
    };
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut repeated = Vec::new();
    for (i, name) in header.iter().enumerate() {
        let known =
            MAPPING_COLUMNS.contains(&name.as_str()) || REVIEW_COLUMNS.contains(&name.as_str());
        if index.insert(name.as_str(), i).is_some() && known {
            repeated.push(name.as_str());
        }
    }
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|c| !index.contains_key(c))
        .collect();
    if !missing.is_empty() {
        parsed.problems.push(RowProblem::new(
            1,
            None,
            format!(
                "missing columns: {} (the first row must be a header naming the columns: {})",
                missing.join(", "),
                MAPPING_COLUMNS.join(",")
            ),
        ));
    }
    if !repeated.is_empty() {
        parsed.problems.push(RowProblem::new(
            1,
            None,
            format!("columns named twice: {}", repeated.join(", ")),
        ));
    }
    if !parsed.problems.is_empty() {
        return Ok(parsed);
    }
    let rows = &mut parsed.rows;
    each_record(
        &decoded.text,
        &mut reader,
        &mut parsed.problems,
        progress,
        |line, record, problems| {
            let get = |column: &str| -> &str {
                index
                    .get(column)
                    .and_then(|&i| record.get(i))
                    .map_or("", str::trim)
            };
            let mut number = |column: &str| -> Option<f64> {
                match get(column) {
                    "" => None,
                    s => match s.parse::<f64>() {
                        Ok(v) if v.is_finite() => Some(v),
                        _ => {
                            problems.push(RowProblem::new(
                                line,
                                Some(column),
                                format!("`{s}` is not a number (write it with `.` as the decimal point, without a unit)"),
                            ));
                            None
                        }
                    },
                }
            };
            let (ref_low, ref_high) = (number("ref_low"), number("ref_high"));
            let row = MappingRow {
                term: huren_core::mapping::LocalTerm {
                    local_code: get("local_code").to_owned(),
                    local_name: get("local_name").to_owned(),
                    specimen: get("specimen").to_owned(),
                    unit: get("unit").to_owned(),
                    ref_low,
                    ref_high,
                    ref_text: get("ref_text").to_owned(),
                    method: get("method").to_owned(),
                    note: get("note").to_owned(),
                },
                national_code: get("national_code").to_owned(),
                loinc: get("loinc").to_owned(),
                equivalence: get("equivalence").to_owned(),
                status: get("status").to_owned(),
            };
            rows.push((line, row));
        },
    );
    Ok(parsed)
}

/// Writes mappings as a mapping table (UTF-8 without BOM, `,`-separated, header first):
/// [`MAPPING_COLUMNS`] then [`REVIEW_COLUMNS`]. The `loinc` column holds the target of a
/// mapping to a LOINC term without a national code, and is otherwise left empty, since the
/// national code already names the target; see [`write_mappings_with_loinc`] to fill it.
///
/// Re-importing the output gives back the same mappings: parse, check and
/// [`diff_import`](huren_core::mapping_rules::diff_import) against the stored mappings find
/// every row unchanged.
pub fn write_mappings(mappings: &[Mapping]) -> Vec<u8> {
    write_mappings_with_loinc(mappings, &|_| None)
}

/// [`write_mappings`], filling the `loinc` column with `loinc_of(national_code)` (typically
/// the concept's LOINC equivalent from the registry), for readers who know LOINC rather than
/// national codes. On re-import, a `loinc` that agrees with `national_code` is accepted, so the
/// round trip still holds.
pub fn write_mappings_with_loinc(
    mappings: &[Mapping],
    loinc_of: &dyn Fn(&str) -> Option<String>,
) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let number = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let header: Vec<&str> = MAPPING_COLUMNS
        .iter()
        .chain(&REVIEW_COLUMNS)
        .copied()
        .collect();
    w.write_record(&header)
        .expect("writing to a Vec cannot fail");
    for m in mappings {
        let t = &m.term;
        let loinc = if m.national_code.is_empty() {
            m.loinc.clone()
        } else {
            loinc_of(&m.national_code).unwrap_or_default()
        };
        w.write_record([
            t.local_code.as_str(),
            &t.local_name,
            &t.specimen,
            &t.unit,
            &m.national_code,
            &loinc,
            &number(t.ref_low),
            &number(t.ref_high),
            &t.ref_text,
            &t.method,
            &t.note,
            m.equivalence.as_str(),
            m.status.as_str(),
        ])
        .expect("writing to a Vec cannot fail");
    }
    w.into_inner().expect("writing to a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use huren_core::mapping::LocalTerm;
    use huren_core::mapping_rules::{check_mapping_rows, diff_import};
    use huren_core::registry::CurrentRelease;
    use huren_core::{CodeSystem, Equivalence, HospitalId, MappingStatus, Registry, Release};
    use proptest::prelude::*;
    use std::path::{Path, PathBuf};

    const HEADER: &str = "local_code,local_name,specimen,unit,national_code,loinc,ref_low,ref_high,ref_text,method,note\n";

    fn parse(text: &str) -> ParsedMappings {
        parse_mappings(text.as_bytes()).unwrap()
    }

    #[test]
    fn rows_parse_by_header_name() {
        // Columns reordered, upper-cased, an unknown column, a quoted comma and line break.
        let t = parse(
            "Unit, LOCAL_NAME ,local_code,Ref_Low,ref_high,comment,national_code,note\n\
             mg/dl,葡萄糖,014,70,110,ignored,9000034-0,\"fasting, \nvenous\"\n\
             U/L,ALT,007,,40,,9000016-7,\n",
        );
        assert_eq!(t.problems, vec![]);
        assert_eq!(t.encoding, "UTF-8");
        assert_eq!(t.rows.len(), 2);
        let (line, r) = &t.rows[0];
        assert_eq!(*line, 2);
        assert_eq!(r.term.local_code, "014");
        assert_eq!(r.term.local_name, "葡萄糖");
        assert_eq!(r.term.unit, "mg/dl");
        assert_eq!((r.term.ref_low, r.term.ref_high), (Some(70.0), Some(110.0)));
        assert_eq!(r.term.note, "fasting, \nvenous");
        assert_eq!(r.national_code, "9000034-0");
        assert_eq!((r.loinc.as_str(), r.status.as_str()), ("", ""));
        let (line, r) = &t.rows[1];
        assert_eq!(*line, 4, "the quoted line break counts");
        assert_eq!((r.term.ref_low, r.term.ref_high), (None, Some(40.0)));
    }

    #[test]
    fn gbk_file() {
        let text = format!(
            "{HEADER}001,葡萄糖,血浆,mg/dl,9000034-0,,70,110,,己糖激酶法,\n002,肌酐,血清,μmol/L,,,,,,,\n"
        );
        let (bytes, _, unmappable) = encoding_rs::GBK.encode(&text);
        assert!(!unmappable);
        assert!(std::str::from_utf8(&bytes).is_err(), "really GBK");
        let t = parse_mappings(&bytes).unwrap();
        assert_eq!(t.problems, vec![]);
        assert_eq!(t.encoding, "gb18030");
        assert_eq!(t.rows[0].1.term.local_name, "葡萄糖");
        assert_eq!(t.rows[0].1.term.method, "己糖激酶法");
        assert_eq!(t.rows[1].1.term.unit, "μmol/L");
        assert_eq!(t.rows[1].1.term.specimen, "血清");
    }

    #[test]
    fn utf8_bom_file() {
        let bytes = [
            &[0xEF, 0xBB, 0xBF][..],
            format!("{HEADER}GLU,Glucose,Serum,mmol/L,9000033-2,14749-6,3.9,6.1,,,\n").as_bytes(),
        ]
        .concat();
        let t = parse_mappings(&bytes).unwrap();
        assert_eq!(t.problems, vec![]);
        assert_eq!(
            t.rows[0].1.term.local_code, "GLU",
            "the BOM is not part of the header"
        );
        assert_eq!(t.rows[0].1.loinc, "14749-6");
    }

    #[test]
    fn semicolon_file() {
        let t = parse(
            "local_code;local_name;unit;ref_low;ref_high\nGLU;Glucose, fasting;mmol/L;3.9;6.1\n",
        );
        assert_eq!(t.problems, vec![]);
        assert_eq!(t.rows[0].1.term.local_name, "Glucose, fasting");
        assert_eq!(t.rows[0].1.term.ref_high, Some(6.1));
    }

    #[test]
    fn every_bad_number_is_reported() {
        let t = parse(&format!(
            "{HEADER}\
             001,a,,,,,abc,,,,\n\
             002,b,,,,,,1.2.3,,,\n\
             003,c,,,,,inf,,,,\n\
             004,d,,,,,,\"3,5\",,,\n\
             005,e,,,,,5 mmol/L,,,,\n\
             006,f,,,,,1e2,-0.5,,,\n"
        ));
        let got: Vec<(u64, Option<&str>)> = t
            .problems
            .iter()
            .map(|p| (p.line, p.column.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, Some("ref_low")),
                (3, Some("ref_high")),
                (4, Some("ref_low")),
                (5, Some("ref_high")),
                (6, Some("ref_low")),
            ]
        );
        assert!(t.problems[0].message.contains("`abc`"));
        // Rows are still returned, without the bad limit, so the rules see them too.
        assert_eq!(t.rows.len(), 6);
        assert_eq!(t.rows[0].1.term.ref_low, None);
        assert_eq!(t.rows[5].1.term.ref_low, Some(100.0));
    }

    #[test]
    fn header_problems() {
        let t = parse("code,name\n001,x\n");
        assert_eq!(t.problems.len(), 1);
        assert_eq!(t.problems[0].line, 1);
        assert!(t.problems[0].message.contains("local_code, local_name"));
        assert!(t.rows.is_empty());
        // A file without a header row: its first row is taken as a header, and refused.
        let t = parse("001,葡萄糖,血浆,mg/dl\n");
        assert!(t.problems[0].message.contains("missing columns"));
        let t = parse("local_code,local_name,unit,Unit\n001,x,a,b\n");
        assert!(t.problems[0].message.contains("named twice: unit"));
        // Blank rows are skipped, and line numbers still count them.
        let t = parse("local_code,local_name\n\n,\n002,b\n");
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.rows[0].0, 4);
        assert!(matches!(parse_mappings(b""), Err(CsvError::Empty)));
    }

    #[test]
    fn progress_is_reported_on_large_files() {
        let mut text = String::from("local_code,local_name\n");
        for i in 0..2500 {
            text.push_str(&format!("{i},name {i}\n"));
        }
        let mut calls = Vec::new();
        let t = parse_mappings_with_progress(text.as_bytes(), &mut |b| calls.push(b)).unwrap();
        assert_eq!(t.rows.len(), 2500);
        assert_eq!(calls.len(), 2);
        assert!(calls[0] > 0 && calls[0] < calls[1]);
    }

    fn repo_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// The national registry of `code-tables/national-lab.csv`, as the server loads it.
    fn national_registry() -> Registry {
        let bytes = std::fs::read(repo_root().join("code-tables/national-lab.csv")).unwrap();
        let table = crate::parse_code_table(&bytes, CodeSystem::National).unwrap();
        assert_eq!(table.problems, vec![]);
        let release = Release {
            id: 1,
            system: CodeSystem::National,
            label: "seed".into(),
            imported_at: "2026-11-22T00:00:00Z".into(),
            source: "national-lab.csv".into(),
            concept_count: table.rows.len() as i64,
        };
        let concepts = table.rows.into_iter().map(|(_, c)| c).collect();
        // LOINC as the seed loads it: the union of the two Top-2000 files.
        let mut loinc: Vec<huren_core::Concept> = Vec::new();
        for file in [
            "LOINC_1.6_Top2000CommonLabResultsSI.csv",
            "LOINC_1.6_Top2000CommonLabResultsUS.csv",
        ] {
            let bytes = std::fs::read(repo_root().join("code-tables").join(file)).unwrap();
            for (_, c) in crate::parse_code_table(&bytes, CodeSystem::Loinc)
                .unwrap()
                .rows
            {
                if !loinc.iter().any(|l| l.code == c.code) {
                    loinc.push(c);
                }
            }
        }
        let loinc_release = Release {
            id: 2,
            system: CodeSystem::Loinc,
            label: "top2000".into(),
            imported_at: "2026-11-22T00:00:00Z".into(),
            source: "Top-2000".into(),
            concept_count: loinc.len() as i64,
        };
        Registry::new(
            vec![release.clone(), loinc_release.clone()],
            vec![
                CurrentRelease::new(release, concepts),
                CurrentRelease::new(loinc_release, loinc),
            ],
        )
    }

    /// Parses and checks a mapping table, asserting that it is clean.
    fn load_clean(
        hospital: &HospitalId,
        bytes: &[u8],
        registry: &Registry,
        name: &str,
    ) -> Vec<Mapping> {
        let parsed = parse_mappings(bytes).unwrap();
        assert_eq!(parsed.problems, vec![], "{name}");
        let plan = check_mapping_rows(hospital, &parsed.rows, registry);
        let report: Vec<String> = plan
            .problems
            .iter()
            .map(|p| format!("{name}: {p}"))
            .collect();
        assert_eq!(report, Vec::<String>::new());
        assert_eq!(plan.mappings.len(), parsed.rows.len());
        plan.mappings.into_iter().map(|(_, m)| m).collect()
    }

    /// Every file in `mappings/` loads cleanly against the national registry, for the hospital
    /// its name starts with (`hosp-a-zh.csv` is hospital `hosp-a`), and exports back unchanged.
    #[test]
    fn example_mapping_files_load_cleanly() {
        let registry = national_registry();
        let dir = repo_root().join("mappings");
        let hospitals_csv = std::fs::read_to_string(dir.join("hospitals.csv")).unwrap();
        let mut reader = csv::Reader::from_reader(hospitals_csv.as_bytes());
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            ["id", "name", "province", "city", "level"]
        );
        let hospitals: Vec<HospitalId> = reader
            .records()
            .map(|r| HospitalId::parse(&r.unwrap()[0]).unwrap())
            .collect();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "csv") && !p.ends_with("hospitals.csv"))
            .collect();
        files.sort();
        let names: Vec<String> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["hosp-a-loinc-only.csv", "hosp-a-zh.csv", "hosp-b-en.csv"]
        );
        for (path, name) in files.iter().zip(&names) {
            let stem = name.trim_end_matches(".csv");
            let hospital = hospitals
                .iter()
                .filter(|h| stem == h.as_str() || stem.starts_with(&format!("{h}-")))
                .max_by_key(|h| h.as_str().len())
                .unwrap_or_else(|| panic!("{name} names no hospital of hospitals.csv"));
            let bytes = std::fs::read(path).unwrap();
            let stored = load_clean(hospital, &bytes, &registry, name);
            if name.ends_with("loinc-only.csv") {
                // Every row targets a LOINC term without a national code.
                assert!(stored.iter().all(Mapping::is_loinc_only), "{name}");
            } else {
                assert!(
                    (25..=40).contains(&stored.len()),
                    "{name}: {} rows",
                    stored.len()
                );
                let unmapped = stored.iter().filter(|m| m.is_unmapped()).count();
                assert!(
                    (2..=3).contains(&unmapped),
                    "{name}: {unmapped} unmapped rows"
                );
            }

            // Export → parse → check → diff against what is stored: nothing changes, with the
            // loinc column empty or filled from the registry.
            let loinc_of = |code: &str| {
                registry
                    .lookup(CodeSystem::National, code)
                    .map(|c| c.loinc.clone())
            };
            for exported in [
                write_mappings(&stored),
                write_mappings_with_loinc(&stored, &loinc_of),
            ] {
                let again = load_clean(hospital, &exported, &registry, name);
                let diff = diff_import(&stored, &again);
                assert_eq!(
                    (diff.created.len(), diff.updated.len(), diff.unchanged),
                    (0, 0, stored.len()),
                    "{name}"
                );
            }
        }
        // The encodings the README promises.
        let a = std::fs::read(dir.join("hosp-a-zh.csv")).unwrap();
        assert_eq!(parse_mappings(&a).unwrap().encoding, "gb18030");
        let b = std::fs::read(dir.join("hosp-b-en.csv")).unwrap();
        assert!(b.starts_with(&[0xEF, 0xBB, 0xBF]));
    }

    #[test]
    fn approved_mappings_survive_an_export_round_trip() {
        let registry = national_registry();
        let hospital = HospitalId::parse("hosp-x").unwrap();
        let bytes = format!(
            "{HEADER}001,葡萄糖,血浆,mg/dl,9000034-0,2345-7,70,110,,,\n002,血氨,血浆,μmol/L,,,,,,,\n"
        );
        let mut stored = load_clean(&hospital, bytes.as_bytes(), &registry, "inline");
        stored[0].status = MappingStatus::Approved;
        stored[0].equivalence = Equivalence::Narrower;
        stored[0].proposed_by = "alice".into();
        let again = load_clean(&hospital, &write_mappings(&stored), &registry, "export");
        let diff = diff_import(&stored, &again);
        assert_eq!(
            (diff.created.len(), diff.updated.len(), diff.unchanged),
            (0, 0, 2)
        );
        assert_eq!(again[0].status, MappingStatus::Approved);
        assert_eq!(again[0].equivalence, Equivalence::Narrower);
        assert_eq!(again[0].unit_alias, "mg/dl");
    }

    fn arb_cell() -> impl Strategy<Value = String> {
        // Commas, quotes, semicolons, Chinese, micro signs and line breaks, but no surrounding
        // space, which the reader trims on purpose.
        "[a-z0-9葡萄糖血清μµ,;\"\n/ .-]{0,12}".prop_map(|s| s.trim().to_owned())
    }

    fn arb_mapping() -> impl Strategy<Value = Mapping> {
        (
            (
                "[A-Za-z0-9]{1,6}",
                arb_cell(),
                arb_cell(),
                arb_cell(),
                arb_cell(),
            ),
            (
                proptest::option::of(-1e6f64..1e6),
                proptest::option::of(-1e6f64..1e6),
                arb_cell(),
                arb_cell(),
            ),
            (
                0..Equivalence::ALL.len(),
                0..MappingStatus::ALL.len(),
                "(9[0-9]{6}-[0-9])?",
            ),
        )
            .prop_map(
                |(
                    (local_code, local_name, specimen, unit, ref_text),
                    (ref_low, ref_high, method, note),
                    (e, s, national_code),
                )| Mapping {
                    hospital: HospitalId::parse("hosp-a").unwrap(),
                    term: LocalTerm {
                        local_code,
                        local_name,
                        specimen,
                        unit,
                        ref_low,
                        ref_high,
                        ref_text,
                        method,
                        note,
                    },
                    national_code,
                    loinc: String::new(),
                    unit_ucum: String::new(),
                    unit_alias: String::new(),
                    equivalence: Equivalence::ALL[e],
                    status: MappingStatus::ALL[s],
                    proposed_by: String::new(),
                    updated_by: String::new(),
                    updated_at: 0,
                },
            )
    }

    proptest! {
        #[test]
        fn rows_round_trip(mappings in proptest::collection::vec(arb_mapping(), 1..5)) {
            let parsed = parse_mappings(&write_mappings(&mappings)).unwrap();
            prop_assert_eq!(&parsed.problems, &vec![]);
            prop_assert_eq!(parsed.rows.len(), mappings.len());
            for ((_, row), m) in parsed.rows.iter().zip(&mappings) {
                prop_assert_eq!(&row.term, &m.term);
                prop_assert_eq!(&row.national_code, &m.national_code);
                prop_assert_eq!(&row.loinc, "");
                prop_assert_eq!(Equivalence::parse(&row.equivalence), Some(m.equivalence));
                prop_assert_eq!(MappingStatus::parse(&row.status), Some(m.status));
            }
        }
    }
}
