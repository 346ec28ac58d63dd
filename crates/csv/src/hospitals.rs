//! The hospitals file of `huren import hospitals`: columns `id, name, province, city, level`
//! and, optionally, the laboratory profile of recognition: `alliances` (medical alliance and
//! named-region ids separated by `;`), `iqc_rules` (a Westgard rule set), `harmonized_intervals`
//! (yes/no), `accreditation` and `accredited_until` (ISO 15189). The header is required; `id`
//! and `name` are required; any encoding [`crate::decode`] reads.

use std::collections::HashMap;

use huren_core::registry::RowProblem;
use huren_core::{Hospital, LabProfile};

use crate::text::each_record;
use crate::{CsvError, decode};

/// The columns, in the order `huren` writes them.
pub const HOSPITAL_COLUMNS: [&str; 10] = [
    "id",
    "name",
    "province",
    "city",
    "level",
    "alliances",
    "iqc_rules",
    "harmonized_intervals",
    "accreditation",
    "accredited_until",
];

/// Parses a hospitals file: the hospitals of the good rows, and every problem with its line.
pub fn parse_hospitals(bytes: &[u8]) -> Result<(Vec<Hospital>, Vec<RowProblem>), CsvError> {
    let decoded = decode(bytes)?;
    let mut reader = decoded.reader();
    let mut problems = Vec::new();
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_lowercase()).collect(),
        Err(e) => {
            problems.push(RowProblem::new(1, None, format!("unreadable header: {e}")));
            return Ok((Vec::new(), problems));
        }
    };
    let index: HashMap<&str, usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| (h.as_str(), i))
        .collect();
    for required in ["id", "name"] {
        if !index.contains_key(required) {
            problems.push(RowProblem::new(
                1,
                None,
                format!(
                    "missing column `{required}` (the header must name: {})",
                    HOSPITAL_COLUMNS.join(",")
                ),
            ));
        }
    }
    if !problems.is_empty() {
        return Ok((Vec::new(), problems));
    }
    let mut hospitals = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    each_record(
        &decoded.text,
        &mut reader,
        &mut problems,
        &mut |_| {},
        |line, record, problems| {
            let get = |c: &str| index.get(c).and_then(|&i| record.get(i)).unwrap_or("");
            let id = get("id").trim();
            let duplicate = seen.get(id).copied();
            if duplicate.is_none() {
                seen.insert(id.to_owned(), line);
            }
            let hospital =
                Hospital::parse(id, get("name"), get("province"), get("city"), get("level"));
            let lab = LabProfile::parse(
                get("alliances"),
                get("iqc_rules"),
                get("harmonized_intervals"),
                get("accreditation"),
                get("accredited_until"),
            );
            let mut bad = match (hospital, lab) {
                (Ok(mut h), Ok(lab)) => {
                    h.lab = lab;
                    if duplicate.is_none() {
                        hospitals.push(h);
                    }
                    Vec::new()
                }
                (h, lab) => {
                    let mut bad = h.err().unwrap_or_default();
                    bad.extend(lab.err().unwrap_or_default());
                    bad
                }
            };
            if let Some(first) = duplicate {
                bad.push(("id", format!("duplicate id `{id}` (first on line {first})")));
            }
            for (column, message) in bad {
                problems.push(RowProblem::new(line, Some(column), message));
            }
        },
    );
    Ok((hospitals, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_file_parses() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../mappings/hospitals.csv"
        ))
        .unwrap();
        let (hospitals, problems) = parse_hospitals(&bytes).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert!(
            hospitals
                .iter()
                .any(|h| h.id.as_str() == "hosp-a" && h.city == "420100")
        );
    }

    #[test]
    fn every_bad_row_is_reported() {
        let csv = "id,name,province,city,level\nHosp A,x,,,\nok,,,,\nb,B,42,,\nb,B2,,,\n";
        let (hospitals, problems) = parse_hospitals(csv.as_bytes()).unwrap();
        let lines: Vec<(u64, Option<&str>)> = problems
            .iter()
            .map(|p| (p.line, p.column.as_deref()))
            .collect();
        assert_eq!(
            lines,
            vec![
                (2, Some("id")),
                (3, Some("name")),
                (4, Some("province")),
                (5, Some("id"))
            ]
        );
        assert!(hospitals.is_empty());
    }

    #[test]
    fn the_laboratory_profile_is_read_and_checked() {
        let csv = "id,name,province,city,alliances,iqc_rules,harmonized_intervals,accreditation,accredited_until\n\
                   a,A,110000,110100,jjjl;bj-east,\"1-2s:warning,1-3s,2of3-2s,R-4s,3-1s,6x\",是,CNAS MT0001,2028-03-31\n\
                   b,B,,,420000,7-zz,maybe,,2028-13-01\n";
        let (hospitals, problems) = parse_hospitals(csv.as_bytes()).unwrap();
        assert_eq!(hospitals.len(), 1);
        let lab = &hospitals[0].lab;
        assert_eq!(lab.alliances, ["jjjl", "bj-east"]);
        assert!(lab.harmonized_intervals);
        assert_eq!(
            lab.rule_set().to_string(),
            "1-2s:warning,1-3s,2of3-2s,R-4s,3-1s,6x"
        );
        assert_eq!(lab.accredited_until, "2028-03-31");
        let columns: Vec<_> = problems
            .iter()
            .map(|p| (p.line, p.column.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            columns,
            [
                (3, "alliances".to_owned()),
                (3, "iqc_rules".to_owned()),
                (3, "harmonized_intervals".to_owned()),
                (3, "accredited_until".to_owned()),
            ]
        );
    }
}
