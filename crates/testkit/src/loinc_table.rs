//! A synthetic `Loinc.csv` in the official distribution's column layout, for the import scale
//! test and the benches.
//!
//! The official file cannot be committed or fetched here (it is licensed content and this
//! machine reaches only package registries), so this writes rows that look like it where it
//! matters to a parser and an index: all 40 columns of LOINC 2.7x in their official order,
//! every field quoted, valid check digits, six-axis names built like LOINC's, `RELATEDNAMES2`
//! lists, a `DefinitionDescription` that sometimes holds commas, quotes and line breaks, a
//! mix of statuses, and `EXAMPLE_UCUM_UNITS` that are sometimes a list. The output depends
//! only on the row count.

use std::io::{self, Write};

use huren_core::code::mod10_check_digit;

/// The columns of `Loinc.csv` (LOINC 2.7x), in the official order.
pub const LOINC_CSV_COLUMNS: [&str; 40] = [
    "LOINC_NUM",
    "COMPONENT",
    "PROPERTY",
    "TIME_ASPCT",
    "SYSTEM",
    "SCALE_TYP",
    "METHOD_TYP",
    "CLASS",
    "VersionLastChanged",
    "CHNG_TYPE",
    "DefinitionDescription",
    "STATUS",
    "CONSUMER_NAME",
    "CLASSTYPE",
    "FORMULA",
    "EXMPL_ANSWERS",
    "SURVEY_QUEST_TEXT",
    "SURVEY_QUEST_SRC",
    "UNITSREQUIRED",
    "RELATEDNAMES2",
    "SHORTNAME",
    "ORDER_OBS",
    "HL7_FIELD_SUBFIELD_ID",
    "EXTERNAL_COPYRIGHT_NOTICE",
    "EXAMPLE_UNITS",
    "LONG_COMMON_NAME",
    "EXAMPLE_UCUM_UNITS",
    "STATUS_REASON",
    "STATUS_TEXT",
    "CHANGE_REASON_PUBLIC",
    "COMMON_TEST_RANK",
    "COMMON_ORDER_RANK",
    "HL7_ATTACHMENT_STRUCTURE",
    "EXTERNAL_COPYRIGHT_LINK",
    "PanelType",
    "AskAtOrderEntry",
    "AssociatedObservations",
    "VersionFirstReleased",
    "ValidHL7AttachmentRequest",
    "DisplayName",
];

/// Components: LOINC name, short name, class.
const COMPONENTS: &[(&str, &str, &str)] = &[
    ("Glucose", "Glucose", "CHEM"),
    ("Alanine aminotransferase", "ALT", "CHEM"),
    ("Aspartate aminotransferase", "AST", "CHEM"),
    ("Gamma glutamyl transferase", "GGT", "CHEM"),
    ("Alkaline phosphatase", "ALP", "CHEM"),
    ("Bilirubin.total", "Bilirub", "CHEM"),
    ("Bilirubin.direct", "Bilirub Direct", "CHEM"),
    ("Protein", "Prot", "CHEM"),
    ("Albumin", "Albumin", "CHEM"),
    ("Creatinine", "Creat", "CHEM"),
    ("Urea nitrogen", "BUN", "CHEM"),
    ("Urate", "Urate", "CHEM"),
    ("Cholesterol", "Cholest", "CHEM"),
    ("Triglyceride", "Trigl", "CHEM"),
    ("Cholesterol.in HDL", "HDLc", "CHEM"),
    ("Cholesterol.in LDL", "LDLc", "CHEM"),
    ("Potassium", "Potassium", "CHEM"),
    ("Sodium", "Sodium", "CHEM"),
    ("Chloride", "Chloride", "CHEM"),
    ("Calcium", "Calcium", "CHEM"),
    ("Magnesium", "Magnesium", "CHEM"),
    ("Phosphate", "Phosphate", "CHEM"),
    ("Iron", "Iron", "CHEM"),
    ("Ferritin", "Ferritin", "CHEM"),
    ("C reactive protein", "CRP", "CHEM"),
    ("Procalcitonin", "Procalcitonin", "CHEM"),
    ("Creatine kinase", "CK", "CHEM"),
    ("Lactate dehydrogenase", "LDH", "CHEM"),
    ("Amylase", "Amylase", "CHEM"),
    ("Triacylglycerol lipase", "Lipase", "CHEM"),
    ("Thyrotropin", "TSH", "CHEM"),
    ("Thyroxine.free", "T4 Free", "CHEM"),
    ("Troponin I.cardiac", "Troponin I", "CHEM"),
    (
        "Natriuretic peptide.B prohormone N-Terminal",
        "NT-proBNP",
        "CHEM",
    ),
    ("Hemoglobin A1c/Hemoglobin.total", "HbA1c", "CHEM"),
    ("Leukocytes", "WBC", "HEM/BC"),
    ("Erythrocytes", "RBC", "HEM/BC"),
    ("Hemoglobin", "Hgb", "HEM/BC"),
    ("Platelets", "Platelet", "HEM/BC"),
    ("Prothrombin time", "PT", "COAG"),
    ("Fibrinogen", "Fibrinogen", "COAG"),
    ("Hepatitis B virus surface Ag", "HBV surface Ag", "MICRO"),
    ("Cortisol", "Cortis", "CHEM"),
    ("Vitamin B12", "Vit B12", "CHEM"),
    ("Folate", "Folate", "CHEM"),
    ("Insulin", "Insulin", "CHEM"),
    ("Carcinoembryonic Ag", "CEA", "SERO"),
    ("Alpha-1-Fetoprotein", "AFP", "SERO"),
];

/// Properties: code, long-name wording, example UCUM unit(s), example units.
const PROPERTIES: &[(&str, &str, &str, &str)] = &[
    ("MCnc", "Mass/volume", "mg/dL", "mg/dL"),
    ("SCnc", "Moles/volume", "mmol/L", "mmol/L"),
    ("CCnc", "Enzymatic activity/volume", "U/L", "U/L"),
    ("ACnc", "Units/volume", "[IU]/L", "IU/L"),
    ("NCnc", "#/volume", "10*3/uL", "K/uL"),
    ("MFr", "Mass fraction", "%", "%"),
    ("PrThr", "Presence", "", ""),
    ("MRat", "Mass/time", "mg/(24.h);g/(24.h)", "mg/24h"),
];

/// Systems: code and long-name wording.
const SYSTEMS: &[(&str, &str)] = &[
    ("Ser/Plas", "Serum or Plasma"),
    ("Ser", "Serum"),
    ("Plas", "Plasma"),
    ("Bld", "Blood"),
    ("BldC", "Capillary blood"),
    ("Urine", "Urine"),
    ("CSF", "Cerebral spinal fluid"),
    ("Plr fld", "Pleural fluid"),
    ("Periton fld", "Peritoneal fluid"),
    ("Synv fld", "Synovial fluid"),
    ("BldA", "Arterial blood"),
    ("Saliva", "Saliva"),
];

const TIMES: &[(&str, &str)] = &[("Pt", ""), ("24H", "24 hour "), ("8H", "8 hour ")];

const SCALES: &[&str] = &["Qn", "Ord", "Nom"];

const METHODS: &[&str] = &[
    "",
    "Automated count",
    "Immunoassay",
    "Test strip",
    "Electrophoresis",
    "Calculated",
    "Detection limit <= 0.01 ng/mL",
    "HPLC",
    "Glucometer",
    "Manual count",
    "Coagulation assay",
    "Mass spectrometry",
];

const STATUSES: &[&str] = &[
    "ACTIVE",
    "ACTIVE",
    "ACTIVE",
    "ACTIVE",
    "TRIAL",
    "DISCOURAGED",
    "DEPRECATED",
];

/// Writes a `Loinc.csv` with `rows` rows (plus the header) to `out`.
///
/// Panics when `rows` exceeds the distinct axis combinations (about 1.2 million).
pub fn write_loinc_csv(mut out: impl Write, rows: usize) -> io::Result<()> {
    let combinations = COMPONENTS.len()
        * PROPERTIES.len()
        * SYSTEMS.len()
        * TIMES.len()
        * SCALES.len()
        * METHODS.len();
    assert!(rows <= combinations, "at most {combinations} distinct rows");
    write_row(&mut out, LOINC_CSV_COLUMNS.iter().map(|c| c.to_string()))?;
    // A stride coprime with the number of combinations visits each exactly once while
    // spreading consecutive rows over every component (a prime larger than any factor).
    const STRIDE: usize = 7_919;
    for i in 0..rows {
        write_row(&mut out, row(i, (i * STRIDE) % combinations).into_iter())?;
    }
    out.flush()
}

/// The synthetic `Loinc.csv` as bytes.
pub fn loinc_csv(rows: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows * 600);
    write_loinc_csv(&mut out, rows).expect("writing to memory cannot fail");
    out
}

/// A real LOINC term to put into a generated release: the names a Top-2000 file or a
/// hand-checked list gives. Its axes are read back from the long common name.
#[derive(Debug, Clone, PartialEq)]
pub struct RealTerm {
    pub code: String,
    pub long_common_name: String,
    pub short_name: String,
    pub class: String,
    /// `EXAMPLE_UCUM_UNITS`, or empty.
    pub example_ucum: String,
}

/// Writes a `Loinc.csv` of `rows` rows: the `real` terms first (their axes read back from
/// their names, ACTIVE), then synthetic rows (see [`write_loinc_csv`]) up to `rows`, leaving out
/// any synthetic code that a real term has. A release "as LOINC ships it" for measurements: the
/// real terms to find among many look-alikes.
pub fn write_loinc_csv_with(mut out: impl Write, rows: usize, real: &[RealTerm]) -> io::Result<()> {
    write_row(&mut out, LOINC_CSV_COLUMNS.iter().map(|c| c.to_string()))?;
    let mut written = 0;
    let mut taken = std::collections::HashSet::new();
    for t in real {
        if !taken.insert(t.code.clone()) {
            continue;
        }
        let axes = huren_core::loinc_name::axes_from_long_common_name(&t.long_common_name)
            .unwrap_or_default();
        let mut r: [String; 40] = std::array::from_fn(|_| String::new());
        r[0] = t.code.clone();
        r[1] = if axes.component.is_empty() {
            t.long_common_name.clone()
        } else {
            axes.component
        };
        r[2] = axes.property;
        r[3] = axes.time_aspct;
        r[4] = axes.system;
        r[5] = axes.scale_typ;
        r[6] = axes.method_typ;
        r[7] = t.class.clone();
        r[11] = "ACTIVE".into();
        r[20] = t.short_name.clone();
        r[25] = t.long_common_name.clone();
        r[26] = t.example_ucum.clone();
        r[39] = t.long_common_name.clone();
        write_row(&mut out, r.into_iter())?;
        written += 1;
    }
    let combinations = COMPONENTS.len()
        * PROPERTIES.len()
        * SYSTEMS.len()
        * TIMES.len()
        * SCALES.len()
        * METHODS.len();
    const STRIDE: usize = 7_919;
    let mut i = 0;
    while written < rows {
        assert!(i < combinations, "at most {combinations} distinct rows");
        if !taken.contains(&loinc_num(i)) {
            write_row(&mut out, row(i, (i * STRIDE) % combinations).into_iter())?;
            written += 1;
        }
        i += 1;
    }
    out.flush()
}

/// [`write_loinc_csv_with`] as bytes.
pub fn loinc_csv_with(rows: usize, real: &[RealTerm]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows * 600);
    write_loinc_csv_with(&mut out, rows, real).expect("writing to memory cannot fail");
    out
}

/// The LOINC_NUM of row `i`: bodies from 100000 up, with their check digit.
pub fn loinc_num(i: usize) -> String {
    let body = (100_000 + i).to_string();
    let digit = mod10_check_digit(&body).expect("a digit string");
    format!("{body}-{digit}")
}

fn row(i: usize, mut k: usize) -> [String; 40] {
    let mut pick = |n: usize| {
        let v = k % n;
        k /= n;
        v
    };
    let (component, short, class) = COMPONENTS[pick(COMPONENTS.len())];
    let (property, property_words, ucum, units) = PROPERTIES[pick(PROPERTIES.len())];
    let (system, system_words) = SYSTEMS[pick(SYSTEMS.len())];
    let (time, time_words) = TIMES[pick(TIMES.len())];
    let scale = SCALES[pick(SCALES.len())];
    let method = METHODS[pick(METHODS.len())];
    let status = STATUSES[i % STATUSES.len()];
    let by_method = if method.is_empty() {
        String::new()
    } else {
        format!(" by {method}")
    };
    let long_name = format!(
        "{component} [{property_words}] in {time_words}{system_words}{by_method}{}",
        if scale == "Qn" { "" } else { " (qualitative)" }
    );
    let shortname = format!("{short} {system} {property}");
    // Every fifth definition has the punctuation that breaks naive CSV readers.
    let definition = if i.is_multiple_of(5) {
        format!(
            "Measures {component}, reported as \"{property_words}\".\nSee also: {system_words}, {time_words}collection."
        )
    } else {
        String::new()
    };
    let related = format!(
        "{short}; {component}; {system_words}; Lab; Laboratory; Point in time; Random; {property_words}"
    );
    let mut r: [String; 40] = std::array::from_fn(|_| String::new());
    r[0] = loinc_num(i);
    r[1] = component.into();
    r[2] = property.into();
    r[3] = time.into();
    r[4] = system.into();
    r[5] = scale.into();
    r[6] = method.into();
    r[7] = class.into();
    r[8] = "2.77".into();
    r[9] = "MIN".into();
    r[10] = definition;
    r[11] = status.into();
    r[13] = "1".into();
    r[19] = related;
    r[20] = shortname;
    r[21] = "Both".into();
    r[24] = units.into();
    r[25] = long_name.clone();
    r[26] = ucum.into();
    if status == "DEPRECATED" {
        r[27] = "ERRONEOUS".into();
        r[28] = "Term was created in error, use another code.".into();
    }
    r[30] = (i % 2000).to_string();
    r[31] = "0".into();
    r[37] = "2.40".into();
    r[39] = long_name;
    r
}

/// One record, every field quoted as in the official file.
fn write_row(out: &mut impl Write, fields: impl Iterator<Item = String>) -> io::Result<()> {
    let mut first = true;
    for f in fields {
        if !first {
            out.write_all(b",")?;
        }
        first = false;
        out.write_all(b"\"")?;
        out.write_all(f.replace('"', "\"\"").as_bytes())?;
        out.write_all(b"\"")?;
    }
    out.write_all(b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn rows_are_distinct_and_quoted() {
        let bytes = loinc_csv(2_000);
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        assert_eq!(reader.headers().unwrap().len(), 40);
        let mut axes = HashSet::new();
        let mut multiline = 0;
        for (i, record) in reader.records().enumerate() {
            let record = record.unwrap();
            assert_eq!(&record[0], loinc_num(i));
            multiline += usize::from(record[10].contains('\n'));
            assert!(axes.insert((1..7).map(|c| record[c].to_owned()).collect::<Vec<_>>()));
        }
        assert_eq!(axes.len(), 2_000);
        assert_eq!(multiline, 400);
    }

    #[test]
    fn real_terms_come_first_with_their_axes() {
        let real = [RealTerm {
            code: "16362-6".into(),
            long_common_name: "Ammonia [Moles/volume] in Plasma".into(),
            short_name: "Ammonia Plas-sCnc".into(),
            class: "CHEM".into(),
            example_ucum: "umol/L".into(),
        }];
        let bytes = loinc_csv_with(50, &real);
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 50);
        let first = &records[0];
        assert_eq!(
            (&first[0], &first[1], &first[2], &first[4], &first[26]),
            ("16362-6", "Ammonia", "SCnc", "Plas", "umol/L")
        );
        assert_eq!(&records[1][0], loinc_num(0));
    }

    #[test]
    fn check_digits_are_valid() {
        for i in [0, 1, 99_999, 199_999] {
            huren_core::code::check_loinc_code(&loinc_num(i)).unwrap();
        }
    }
}
