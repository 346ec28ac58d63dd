//! The hospitals file of `huren import hospitals`: columns `id, name, province, city, level`
//! (header required; `id` and `name` required), in any encoding [`crate::decode`] reads.

use std::collections::HashMap;

use huren_core::registry::RowProblem;
use huren_core::{Hospital, HospitalId};

use crate::{CsvError, decode};

/// The columns, in the order `huren` writes them.
pub const HOSPITAL_COLUMNS: [&str; 5] = ["id", "name", "province", "city", "level"];

/// Parses a hospitals file: the hospitals of the good rows, and every problem with its line.
pub fn parse_hospitals(bytes: &[u8]) -> Result<(Vec<Hospital>, Vec<RowProblem>), CsvError> {
    let decoded = decode(bytes)?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(decoded.delimiter)
        .flexible(true)
        .from_reader(decoded.text.as_bytes());
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
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(RowProblem::new(line, None, format!("unreadable row: {e}")));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let get = |c: &str| {
            index
                .get(c)
                .and_then(|&i| record.get(i))
                .map_or("", str::trim)
                .to_owned()
        };
        let mut ok = true;
        let id = match HospitalId::parse(&get("id")) {
            Ok(id) => Some(id),
            Err(e) => {
                problems.push(RowProblem::new(line, Some("id"), e.to_string()));
                ok = false;
                None
            }
        };
        if get("name").is_empty() {
            problems.push(RowProblem::new(line, Some("name"), "name is required"));
            ok = false;
        }
        for column in ["province", "city"] {
            let v = get(column);
            if !huren_core::mapping::is_division_code_or_empty(&v) {
                problems.push(RowProblem::new(
                    line,
                    Some(column),
                    format!("`{v}` is not a six-digit administrative division code"),
                ));
                ok = false;
            }
        }
        if let Some(id) = &id
            && let Some(first) = seen.insert(id.to_string(), line)
        {
            problems.push(RowProblem::new(
                line,
                Some("id"),
                format!("duplicate id `{id}` (first on line {first})"),
            ));
            ok = false;
        }
        if let (true, Some(id)) = (ok, id) {
            hospitals.push(Hospital {
                id,
                name: get("name"),
                province: get("province"),
                city: get("city"),
                level: get("level"),
            });
        }
    }
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
