//! Code tables: the national registry CSV (`code-tables/national-lab.csv`), the official LOINC
//! distribution table `Loinc.csv`, and LOINC's Top-2000 accessory files.
//!
//! Columns are found by header name, never by position: LOINC has added and moved columns
//! across releases, and curators reorder columns in Excel.

use crate::CsvError;
use crate::text::{decode, each_record, split_list};
use huren_core::registry::RowProblem;
use huren_core::{Axes, CodeSystem, Concept, Status};
use std::collections::HashMap;

/// The layouts a code table can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeTableFormat {
    /// huren's national table (see `code-tables/README.md`).
    National,
    /// LOINC's `Loinc.csv` (LOINC_NUM, COMPONENT, … LONG_COMMON_NAME …).
    LoincTable,
    /// LOINC's Top-2000 common lab results (`LOINC #, Long Common Name, Short Name, CLASS, Rank`).
    LoincTop2000,
}

impl CodeTableFormat {
    pub fn system(self) -> CodeSystem {
        match self {
            CodeTableFormat::National => CodeSystem::National,
            CodeTableFormat::LoincTable | CodeTableFormat::LoincTop2000 => CodeSystem::Loinc,
        }
    }
}

/// The columns of the national table, in the order the export writes them.
pub const NATIONAL_COLUMNS: [&str; 20] = [
    "code",
    "loinc",
    "component",
    "property",
    "time_aspct",
    "system",
    "scale_typ",
    "method_typ",
    "class",
    "display_zh",
    "display_en",
    "short_name",
    "abbreviations",
    "synonyms_zh",
    "synonyms_en",
    "ucum_unit",
    "molar_mass",
    "status",
    "replaced_by",
    "note",
];

const NATIONAL_REQUIRED: [&str; 9] = [
    "code",
    "component",
    "property",
    "time_aspct",
    "system",
    "scale_typ",
    "display_zh",
    "display_en",
    "status",
];

const LOINC_REQUIRED: [&str; 10] = [
    "LOINC_NUM",
    "COMPONENT",
    "PROPERTY",
    "TIME_ASPCT",
    "SYSTEM",
    "SCALE_TYP",
    "METHOD_TYP",
    "CLASS",
    "STATUS",
    "LONG_COMMON_NAME",
];

const TOP2000_REQUIRED: [&str; 4] = ["LOINC #", "Long Common Name", "Short Name", "CLASS"];

/// A parsed code table: the concepts with their line numbers, and every problem found.
#[derive(Debug, Default)]
pub struct CodeTable {
    pub rows: Vec<(u64, Concept)>,
    pub problems: Vec<RowProblem>,
    /// The encoding the file was in.
    pub encoding: &'static str,
}

/// Detects the layout of a table from its header line.
pub fn detect_format(header: &[&str]) -> Option<CodeTableFormat> {
    let has = |n: &str| header.iter().any(|h| h.trim() == n);
    if has("LOINC_NUM") {
        Some(CodeTableFormat::LoincTable)
    } else if has("LOINC #") {
        Some(CodeTableFormat::LoincTop2000)
    } else if has("code") && has("display_zh") {
        Some(CodeTableFormat::National)
    } else {
        None
    }
}

/// Parses a code table. `expected` is the system the caller wants (`--format`); the layout
/// within that system (Loinc.csv or Top-2000) is detected from the header.
pub fn parse_code_table(bytes: &[u8], expected: CodeSystem) -> Result<CodeTable, CsvError> {
    parse_code_table_with_progress(bytes, expected, &mut |_| {})
}

/// [`parse_code_table`], calling `progress` with the number of bytes read every 1,000 rows
/// (for a progress bar on large files such as a 100k-row Loinc.csv).
pub fn parse_code_table_with_progress(
    bytes: &[u8],
    expected: CodeSystem,
    progress: &mut dyn FnMut(u64),
) -> Result<CodeTable, CsvError> {
    let decoded = decode(bytes)?;
    let mut reader = decoded.reader();
    let mut table = CodeTable {
        encoding: decoded.encoding,
        ..CodeTable::default()
    };
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_owned()).collect(),
        Err(e) => {
            table
                .problems
                .push(RowProblem::new(1, None, format!("unreadable header: {e}")));
            return Ok(table);
        }
    };
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let Some(format) = detect_format(&header_refs) else {
        table.problems.push(RowProblem::new(
            1,
            None,
            "unknown header: expected the national layout (code, display_zh, …), Loinc.csv (LOINC_NUM, …) or LOINC Top-2000 (LOINC #, …)",
        ));
        return Ok(table);
    };
    if format.system() != expected {
        table.problems.push(RowProblem::new(
            1,
            None,
            format!(
                "the header is a {} table, but the import asked for {}",
                format.system(),
                expected
            ),
        ));
        return Ok(table);
    }
    let required: &[&str] = match format {
        CodeTableFormat::National => &NATIONAL_REQUIRED,
        CodeTableFormat::LoincTable => &LOINC_REQUIRED,
        CodeTableFormat::LoincTop2000 => &TOP2000_REQUIRED,
    };
    let index: HashMap<&str, usize> = header_refs
        .iter()
        .enumerate()
        .map(|(i, h)| (*h, i))
        .collect();
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|c| !index.contains_key(c))
        .collect();
    if !missing.is_empty() {
        table.problems.push(RowProblem::new(
            1,
            None,
            format!("missing columns: {}", missing.join(", ")),
        ));
        return Ok(table);
    }
    each_record(
        &decoded.text,
        &mut reader,
        &mut table.problems,
        progress,
        |line, record, problems| {
            let row = Row {
                record,
                index: &index,
                line,
            };
            let parsed = match format {
                CodeTableFormat::National => national_row(&row, problems),
                CodeTableFormat::LoincTable => loinc_row(&row, problems),
                CodeTableFormat::LoincTop2000 => Some(top2000_row(&row)),
            };
            if let Some(c) = parsed {
                table.rows.push((line, c));
            }
        },
    );
    Ok(table)
}

struct Row<'a> {
    record: &'a csv::StringRecord,
    index: &'a HashMap<&'a str, usize>,
    line: u64,
}

impl Row<'_> {
    fn get(&self, column: &str) -> &str {
        self.index
            .get(column)
            .and_then(|&i| self.record.get(i))
            .map_or("", str::trim)
    }

    fn string(&self, column: &str) -> String {
        self.get(column).to_owned()
    }
}

fn national_row(row: &Row<'_>, problems: &mut Vec<RowProblem>) -> Option<Concept> {
    let mut ok = true;
    for column in NATIONAL_REQUIRED {
        if row.get(column).is_empty() {
            problems.push(RowProblem::new(
                row.line,
                Some(column),
                format!("{column} is empty"),
            ));
            ok = false;
        }
    }
    let status = match Status::parse(row.get("status")) {
        Some(s) => s,
        None => {
            if !row.get("status").is_empty() {
                problems.push(RowProblem::new(
                    row.line,
                    Some("status"),
                    format!(
                        "unknown status `{}` (ACTIVE, TRIAL, DISCOURAGED or DEPRECATED)",
                        row.get("status")
                    ),
                ));
            }
            ok = false;
            Status::Active
        }
    };
    let molar_mass = match row.get("molar_mass") {
        "" => None,
        s => match s.parse::<f64>() {
            Ok(v) => Some(v),
            Err(_) => {
                problems.push(RowProblem::new(
                    row.line,
                    Some("molar_mass"),
                    format!("`{s}` is not a number"),
                ));
                ok = false;
                None
            }
        },
    };
    let concept = Concept {
        code: row.string("code"),
        axes: Some(Axes {
            component: row.string("component"),
            property: row.string("property"),
            time_aspct: row.string("time_aspct"),
            system: row.string("system"),
            scale_typ: row.string("scale_typ"),
            method_typ: row.string("method_typ"),
        }),
        class: row.string("class"),
        display_zh: row.string("display_zh"),
        display_en: row.string("display_en"),
        short_name: row.string("short_name"),
        abbreviations: split_list(row.get("abbreviations")),
        synonyms_zh: split_list(row.get("synonyms_zh")),
        synonyms_en: split_list(row.get("synonyms_en")),
        ucum_unit: row.string("ucum_unit"),
        molar_mass,
        status,
        replaced_by: row.string("replaced_by"),
        loinc: row.string("loinc"),
    };
    // Rows with missing required cells are reported here and not passed on, so the
    // release check does not report the same empty cell twice.
    ok.then_some(concept)
}

fn loinc_row(row: &Row<'_>, problems: &mut Vec<RowProblem>) -> Option<Concept> {
    let status = match Status::parse(row.get("STATUS")) {
        Some(s) => s,
        None => {
            problems.push(RowProblem::new(
                row.line,
                Some("STATUS"),
                format!("unknown status `{}`", row.get("STATUS")),
            ));
            return None;
        }
    };
    // EXAMPLE_UCUM_UNITS sometimes lists several units (`mg/dL;mmol/L`) or none; keep one only
    // when it is a single valid UCUM expression, since LOINC content is taken as it is.
    let ucum = row.get("EXAMPLE_UCUM_UNITS");
    let ucum_unit = if !ucum.contains(';') && huren_core::units::check_ucum(ucum).is_ok() {
        ucum.to_owned()
    } else {
        String::new()
    };
    let synonyms_en = row
        .get("RELATEDNAMES2")
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    Some(Concept {
        code: row.string("LOINC_NUM"),
        axes: Some(Axes {
            component: row.string("COMPONENT"),
            property: row.string("PROPERTY"),
            time_aspct: row.string("TIME_ASPCT"),
            system: row.string("SYSTEM"),
            scale_typ: row.string("SCALE_TYP"),
            method_typ: row.string("METHOD_TYP"),
        }),
        class: row.string("CLASS"),
        display_zh: String::new(),
        display_en: row.string("LONG_COMMON_NAME"),
        short_name: row.string("SHORTNAME"),
        abbreviations: Vec::new(),
        synonyms_zh: Vec::new(),
        synonyms_en,
        ucum_unit,
        molar_mass: None,
        status,
        replaced_by: String::new(),
        loinc: String::new(),
    })
}

/// A Top-2000 row: names only; the axes are read back from the long common name
/// ([`huren_core::loinc_name::axes_from_long_common_name`]) where its words are known.
fn top2000_row(row: &Row<'_>) -> Concept {
    let name = row.string("Long Common Name");
    Concept {
        code: row.string("LOINC #"),
        axes: huren_core::loinc_name::axes_from_long_common_name(&name),
        class: row.get("CLASS").to_ascii_uppercase(),
        display_zh: String::new(),
        display_en: name,
        short_name: row.string("Short Name"),
        abbreviations: Vec::new(),
        synonyms_zh: Vec::new(),
        synonyms_en: Vec::new(),
        ucum_unit: String::new(),
        molar_mass: None,
        status: Status::Active,
        replaced_by: String::new(),
        loinc: String::new(),
    }
}

/// Writes concepts in the national layout (the inverse of [`parse_code_table`]).
pub fn write_national(concepts: &[Concept]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let join = |v: &[String]| v.join("|");
    w.write_record(NATIONAL_COLUMNS)
        .expect("writing to a Vec cannot fail");
    for c in concepts {
        let axes = c.axes.clone().unwrap_or_default();
        let molar = c.molar_mass.map(|m| m.to_string()).unwrap_or_default();
        w.write_record([
            c.code.as_str(),
            &c.loinc,
            &axes.component,
            &axes.property,
            &axes.time_aspct,
            &axes.system,
            &axes.scale_typ,
            &axes.method_typ,
            &c.class,
            &c.display_zh,
            &c.display_en,
            &c.short_name,
            &join(&c.abbreviations),
            &join(&c.synonyms_zh),
            &join(&c.synonyms_en),
            &c.ucum_unit,
            &molar,
            c.status.as_str(),
            &c.replaced_by,
            "",
        ])
        .expect("writing to a Vec cannot fail");
    }
    w.into_inner().expect("writing to a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HEADER: &str = "code,loinc,component,property,time_aspct,system,scale_typ,method_typ,class,display_zh,display_en,short_name,abbreviations,synonyms_zh,synonyms_en,ucum_unit,molar_mass,status,replaced_by,note\n";

    fn national(rows: &str) -> CodeTable {
        parse_code_table(format!("{HEADER}{rows}").as_bytes(), CodeSystem::National).unwrap()
    }

    #[test]
    fn national_row_parses() {
        let t = national(
            "9000024-1,14749-6,Glucose,SCnc,Pt,Ser/Plas,Qn,,CHEM,葡萄糖,Glucose [Moles/volume] in Serum or Plasma,Glucose SerPl-sCnc,GLU|Glu,血糖|空腹血糖,blood sugar,mmol/L,180.16,ACTIVE,,\n",
        );
        assert_eq!(t.problems, vec![]);
        let (line, c) = &t.rows[0];
        assert_eq!(*line, 2);
        assert_eq!(c.synonyms_zh, vec!["血糖", "空腹血糖"]);
        assert_eq!(c.molar_mass, Some(180.16));
        assert_eq!(c.axes.as_ref().unwrap().system, "Ser/Plas");
    }

    #[test]
    fn every_bad_cell_is_reported_with_line_and_column() {
        let t = national(
            "9000024-1,,,SCnc,Pt,Ser/Plas,Qn,,CHEM,葡萄糖,Glucose,,,,,mmol/L,abc,ACTIVE,,\n\
             9000025-8,,Urea,SCnc,Pt,Ser/Plas,Qn,,CHEM,尿素,Urea,,,,,mmol/L,,LIVE,,\n",
        );
        let got: Vec<(u64, Option<&str>)> = t
            .problems
            .iter()
            .map(|p| (p.line, p.column.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, Some("component")),
                (2, Some("molar_mass")),
                (3, Some("status"))
            ]
        );
        assert!(t.rows.is_empty());
    }

    #[test]
    fn header_problems() {
        let t = parse_code_table(b"foo,bar\n1,2\n", CodeSystem::National).unwrap();
        assert_eq!(t.problems[0].line, 1);
        let t = parse_code_table(HEADER.as_bytes(), CodeSystem::Loinc).unwrap();
        assert!(
            t.problems[0].message.contains("asked for loinc"),
            "{:?}",
            t.problems
        );
    }

    #[test]
    fn loinc_table_by_header_name_with_quoted_newlines() {
        // Columns out of the official order, a quoted comma and a quoted newline.
        let csv = "\"LONG_COMMON_NAME\",\"LOINC_NUM\",\"COMPONENT\",\"PROPERTY\",\"TIME_ASPCT\",\"SYSTEM\",\"SCALE_TYP\",\"METHOD_TYP\",\"CLASS\",\"STATUS\",\"SHORTNAME\",\"RELATEDNAMES2\",\"EXAMPLE_UCUM_UNITS\"\n\
            \"Glucose [Moles/volume] in Serum or Plasma\",\"14749-6\",\"Glucose\",\"SCnc\",\"Pt\",\"Ser/Plas\",\"Qn\",\"\",\"CHEM\",\"ACTIVE\",\"Glucose SerPl-sCnc\",\"Gluc; Glu; Level, \nmultiline\",\"mmol/L\"\n\
            \"Old\",\"11491-6\",\"X\",\"Y\",\"Pt\",\"Ser\",\"Qn\",\"\",\"CHEM\",\"DEPRECATED\",\"\",\"\",\"mg/dL;mmol/L\"\n";
        let t = parse_code_table(csv.as_bytes(), CodeSystem::Loinc).unwrap();
        assert_eq!(t.problems, vec![]);
        assert_eq!(t.rows.len(), 2);
        let (line, c) = &t.rows[0];
        assert_eq!(*line, 2);
        assert_eq!(c.ucum_unit, "mmol/L");
        assert_eq!(c.synonyms_en[2], "Level, \nmultiline");
        let (line, c) = &t.rows[1];
        assert_eq!(*line, 4, "line numbers count the quoted newline");
        assert_eq!(c.status, Status::Deprecated);
        assert_eq!(c.ucum_unit, "", "a list of units is not one unit");
    }

    #[test]
    fn top2000_layout() {
        let csv = "LOINC #,Long Common Name,Short Name,CLASS,Rank\n14749-6,Glucose [Moles/volume] in Serum or Plasma,Glucose SerPl-mCnc,Chem,4\n";
        let t = parse_code_table(csv.as_bytes(), CodeSystem::Loinc).unwrap();
        assert_eq!(t.rows[0].1.class, "CHEM");
        // The axes are read back from the long common name.
        let axes = t.rows[0].1.axes.as_ref().unwrap();
        assert_eq!(
            (
                axes.component.as_str(),
                axes.property.as_str(),
                axes.system.as_str()
            ),
            ("Glucose", "SCnc", "Ser/Plas")
        );
    }

    fn arb_text() -> impl Strategy<Value = String> {
        // Cells with commas, quotes, Chinese and newlines, but not leading/trailing space,
        // which the reader trims on purpose.
        "[a-z葡萄糖,\"\n/ ]{0,12}".prop_map(|s| s.trim().to_owned())
    }

    fn arb_list() -> impl Strategy<Value = Vec<String>> {
        proptest::collection::vec("[A-Za-z血糖谷丙-]{1,6}", 0..3)
    }

    proptest! {
        #[test]
        fn national_rows_round_trip(
            display_zh in "[葡萄糖血清A-Z]{1,8}",
            display_en in "[A-Za-z][A-Za-z ,\"]{0,20}[a-z]",
            method in arb_text(),
            abbreviations in arb_list(),
            synonyms_zh in arb_list(),
            molar_mass in proptest::option::of(1.0f64..1000.0),
        ) {
            let c = Concept {
                code: "9000024-1".into(),
                axes: Some(Axes {
                    component: "Glucose".into(), property: "SCnc".into(), time_aspct: "Pt".into(),
                    system: "Ser/Plas".into(), scale_typ: "Qn".into(), method_typ: method,
                }),
                class: "CHEM".into(), display_zh, display_en, short_name: String::new(),
                abbreviations, synonyms_zh, synonyms_en: vec![], ucum_unit: "mmol/L".into(),
                molar_mass, status: Status::Active, replaced_by: String::new(), loinc: "14749-6".into(),
            };
            let bytes = write_national(std::slice::from_ref(&c));
            let t = parse_code_table(&bytes, CodeSystem::National).unwrap();
            prop_assert_eq!(t.problems, vec![]);
            prop_assert_eq!(&t.rows[0].1, &c);
        }
    }
}
