//! The registry candidates list as CSV (`GET /api/registry/candidates?_format=csv`): the LOINC
//! terms hospitals use without a national code, for the registry's curators.

use huren_core::candidates::Candidate;

/// The columns of the candidates file, in order.
pub const CANDIDATE_COLUMNS: [&str; 9] = [
    "rank",
    "loinc",
    "loinc_name",
    "hospital_count",
    "result_count",
    "mapping_count",
    "hospitals",
    "local_names",
    "units",
];

/// Writes candidates, best first, as UTF-8 with a byte-order mark (so that Excel, which the
/// curators open it with, reads the Chinese names), `,`-separated, header first. Lists within a
/// cell are separated by `; `. `name_of` gives a LOINC code's name (the loaded LOINC release's
/// long common name), or `None`.
pub fn write_candidates(
    candidates: &[Candidate],
    name_of: &dyn Fn(&str) -> Option<String>,
) -> Vec<u8> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    let mut w = csv::Writer::from_writer(&mut out);
    w.write_record(CANDIDATE_COLUMNS)
        .expect("writing to a Vec cannot fail");
    for (i, c) in candidates.iter().enumerate() {
        w.write_record([
            (i + 1).to_string(),
            c.loinc.clone(),
            name_of(&c.loinc).unwrap_or_default(),
            c.hospitals.len().to_string(),
            c.results.to_string(),
            c.mappings.to_string(),
            c.hospitals.join("; "),
            c.local_names.join("; "),
            c.units.join("; "),
        ])
        .expect("writing to a Vec cannot fail");
    }
    w.flush().expect("writing to a Vec cannot fail");
    drop(w);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_candidate_with_a_bom_and_lists_in_cells() {
        let c = Candidate {
            loinc: "3040-3".into(),
            hospitals: vec!["hosp-a".into(), "hosp-b".into()],
            results: 3,
            mappings: 2,
            local_names: vec!["脂肪酶".into(), "LIPA, serum".into()],
            units: vec!["U/L".into()],
        };
        let bytes = write_candidates(&[c], &|code| {
            (code == "3040-3")
                .then(|| "Lipase [Enzymatic activity/volume] in Serum or Plasma".into())
        });
        let text = String::from_utf8(bytes).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            "\u{feff}rank,loinc,loinc_name,hospital_count,result_count,mapping_count,hospitals,local_names,units"
        );
        assert_eq!(
            lines.next().unwrap(),
            "1,3040-3,Lipase [Enzymatic activity/volume] in Serum or Plasma,2,3,2,hosp-a; hosp-b,\"脂肪酶; LIPA, serum\",U/L"
        );
        assert_eq!(lines.next(), None);
        // What the importer reads back.
        let decoded = crate::decode(text.as_bytes()).unwrap();
        assert!(decoded.text.starts_with("rank,"), "the BOM is not content");
    }
}
