//! Growing the national registry from real use: the LOINC terms hospitals map their local codes
//! to, or send results under, that no national code covers yet, ranked by how many hospitals
//! and results use them, so that the registry's curators give the most used ones a national
//! code in the next release.
//!
//! Pure: the caller gathers one [`Sighting`] per LOINC-only mapping and per result kept under a
//! LOINC code, and [`rank`] counts them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One use of a LOINC term without a national code.
#[derive(Debug, Clone, PartialEq)]
pub struct Sighting {
    pub loinc: String,
    pub hospital: String,
    /// The hospital's name of the test (its mapping's local name, or the name it sent).
    pub local_name: String,
    /// The unit as the hospital wrote it, or empty.
    pub unit: String,
    /// A stored result (`true`) or a mapping (`false`).
    pub result: bool,
}

/// One candidate for a national code.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub loinc: String,
    /// Distinct hospitals that map to it or sent results under it.
    pub hospitals: Vec<String>,
    /// Results stored under it.
    pub results: usize,
    /// Mappings to it.
    pub mappings: usize,
    /// The local names used, most used first (then in text order).
    pub local_names: Vec<String>,
    /// The units seen, most used first (then in text order).
    pub units: Vec<String>,
}

/// Counts the sightings per LOINC code, best candidates first: more hospitals, then more
/// results, then more mappings, then by code. Local names and units are compared as written,
/// trimmed; empty ones are left out.
#[must_use]
pub fn rank(sightings: impl IntoIterator<Item = Sighting>) -> Vec<Candidate> {
    #[derive(Default)]
    struct Acc {
        hospitals: BTreeSet<String>,
        results: usize,
        mappings: usize,
        names: HashMap<String, usize>,
        units: HashMap<String, usize>,
    }
    let mut by_code: BTreeMap<String, Acc> = BTreeMap::new();
    for s in sightings {
        let a = by_code.entry(s.loinc.trim().to_owned()).or_default();
        a.hospitals.insert(s.hospital);
        if s.result {
            a.results += 1;
        } else {
            a.mappings += 1;
        }
        for (map, text) in [(&mut a.names, s.local_name), (&mut a.units, s.unit)] {
            let text = text.trim();
            if !text.is_empty() {
                *map.entry(text.to_owned()).or_default() += 1;
            }
        }
    }
    let most_used_first = |counts: HashMap<String, usize>| {
        let mut v: Vec<(String, usize)> = counts.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.into_iter().map(|(t, _)| t).collect::<Vec<_>>()
    };
    let mut out: Vec<Candidate> = by_code
        .into_iter()
        .map(|(loinc, a)| Candidate {
            loinc,
            hospitals: a.hospitals.into_iter().collect(),
            results: a.results,
            mappings: a.mappings,
            local_names: most_used_first(a.names),
            units: most_used_first(a.units),
        })
        .collect();
    out.sort_by(|a, b| {
        b.hospitals
            .len()
            .cmp(&a.hospitals.len())
            .then(b.results.cmp(&a.results))
            .then(b.mappings.cmp(&a.mappings))
            .then_with(|| a.loinc.cmp(&b.loinc))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(loinc: &str, hospital: &str, name: &str, unit: &str, result: bool) -> Sighting {
        Sighting {
            loinc: loinc.into(),
            hospital: hospital.into(),
            local_name: name.into(),
            unit: unit.into(),
            result,
        }
    }

    #[test]
    fn more_hospitals_first_then_more_results() {
        let ranked = rank([
            // Lipase: two hospitals, one result.
            seen("3040-3", "a", "脂肪酶", "U/L", false),
            seen("3040-3", "b", "LIPA", "U/L", false),
            seen("3040-3", "b", "LIPA", "U/L", true),
            // PSA: one hospital, three results.
            seen("2857-1", "a", "总PSA", "ng/mL", true),
            seen("2857-1", "a", "总PSA", "ng/mL", true),
            seen("2857-1", "a", "tPSA", "ug/L", true),
            // Ammonia: one hospital, one mapping.
            seen("16362-6", "c", "血氨", "umol/L", false),
        ]);
        let order: Vec<&str> = ranked.iter().map(|c| c.loinc.as_str()).collect();
        assert_eq!(order, ["3040-3", "2857-1", "16362-6"]);
        let lipase = &ranked[0];
        assert_eq!(lipase.hospitals, ["a", "b"]);
        assert_eq!((lipase.results, lipase.mappings), (1, 2));
        assert_eq!(lipase.local_names, ["LIPA", "脂肪酶"]);
        assert_eq!(lipase.units, ["U/L"]);
        let psa = &ranked[1];
        assert_eq!(psa.local_names, ["总PSA", "tPSA"]);
        assert_eq!(psa.units, ["ng/mL", "ug/L"]);
    }

    #[test]
    fn nothing_seen_is_no_candidate() {
        assert!(rank([]).is_empty());
        let one = rank([seen("3040-3", "a", " ", "", true)]);
        assert!(one[0].local_names.is_empty() && one[0].units.is_empty());
    }
}
