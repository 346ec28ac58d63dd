//! The hospitals file of `huren import hospitals`: columns `id, name, province, city, level`
//! (header required; `id` and `name` required), in any encoding [`crate::decode`] reads.

use std::collections::HashMap;

use huren_core::Hospital;
use huren_core::registry::RowProblem;

use crate::text::each_record;
use crate::{CsvError, decode};

/// The columns, in the order `huren` writes them.
pub const HOSPITAL_COLUMNS: [&str; 5] = ["id", "name", "province", "city", "level"];

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
            let mut bad = match Hospital::parse(
                id,
                get("name"),
                get("province"),
                get("city"),
                get("level"),
            ) {
                Ok(h) => {
                    if duplicate.is_none() {
                        hospitals.push(h);
                    }
                    Vec::new()
                }
                Err(bad) => bad,
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
}
