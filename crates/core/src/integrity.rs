//! Tamper evidence: every stored result version and every mapping change is a link of its
//! hospital's hash chain.
//!
//! A link holds the SHA-256 digest of its item's canonical JSON and
//! `link = SHA-256(canonical JSON of {digest, item, kind, prev, seq, state})`, where `prev` is
//! the link before it (64 zeros for the first). The canonical JSON of a value is serde_json's
//! compact output of a struct whose fields are declared in alphabetical order: no whitespace,
//! keys sorted, strings escaped one way; stored JSON texts (a result's resource, its sent form)
//! are members as strings, byte for byte as stored.
//!
//! The store appends links in the transaction of the write; [`check_link`] and the checks of
//! the verifier recompute them. Anyone who can rewrite the database can also rewrite a chain
//! from the edited row on: the chain shows edits made behind huren's back only as far as its
//! head is kept somewhere the editor cannot reach (`docs/security.md`).
//!
//! Why `sha2`: RustCrypto's SHA-256, maintained and audited, with the CPU's SHA extensions when
//! present; already in the build through jsonwebtoken.

use crate::mapping::{Mapping, MappingChange};
use crate::observation::StoredObservation;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The `prev` of a chain's first link.
pub const GENESIS: Hash = [0; 32];

/// What a link stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkKind {
    /// One version of a stored result: item `Observation/ID/_history/N`.
    Observation,
    /// One entry of a mapping's history, with the mapping as it was after it: item
    /// `MappingChange/HOSPITAL/SEQ` (the change's row carries the link's `seq`).
    Mapping,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Observation => "observation",
            LinkKind::Mapping => "mapping",
        }
    }

    pub fn parse(s: &str) -> Option<LinkKind> {
        match s {
            "observation" => Some(LinkKind::Observation),
            "mapping" => Some(LinkKind::Mapping),
            _ => None,
        }
    }
}

/// One stored link of a hospital's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainLink {
    /// 1, 2, 3… without gaps, per hospital.
    pub seq: i64,
    pub kind: LinkKind,
    pub item: String,
    /// The item's digest when the link was made.
    pub digest: Hash,
    /// For a mapping change: the digest of the mapping after it; zeros otherwise.
    pub state: Hash,
    pub link: Hash,
}

/// Lower-case hex of a digest.
pub fn hex(hash: &Hash) -> String {
    base16ct::lower::encode_string(hash)
}

/// Lower-case hex of a digest, written into `buf` (no allocation: a link hashes three).
fn hex_in<'b>(hash: &Hash, buf: &'b mut [u8; 64]) -> &'b str {
    // 64 bytes hold the hex of 32: the encoder cannot fail.
    base16ct::lower::encode_str(hash, buf).unwrap_or_default()
}

fn sha256_json(value: &impl Serialize) -> Hash {
    let mut hasher = Sha256::new();
    // Serializing into the hasher: no buffer for large resources. serde_json writes these
    // plain structs of strings and numbers without failing.
    let _ = serde_json::to_writer(HashWriter(&mut hasher), value);
    hasher.finalize().into()
}

struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a result version's item begins with; [`OBSERVATION_ITEM_HISTORY`] follows its id.
pub const OBSERVATION_ITEM_PREFIX: &str = "Observation/";
/// What separates a result version's id from its version in its item.
pub const OBSERVATION_ITEM_HISTORY: &str = "/_history/";

/// The item of a result version.
pub fn observation_item(id: &str, version: i64) -> String {
    format!("{OBSERVATION_ITEM_PREFIX}{id}{OBSERVATION_ITEM_HISTORY}{version}")
}

/// The id and the version (as written) of a result version's item ([`observation_item`]);
/// `None` for another shape.
pub fn parse_observation_item(item: &str) -> Option<(&str, &str)> {
    item.strip_prefix(OBSERVATION_ITEM_PREFIX)?
        .split_once(OBSERVATION_ITEM_HISTORY)
}

/// The item of a mapping change with the link's `seq`.
pub fn mapping_item(hospital: &str, seq: i64) -> String {
    format!("MappingChange/{hospital}/{seq}")
}

/// The digest of one stored version of a result: everything a reader is served from (the
/// resource, the sent form, the recognition facts, status and whether it is held) and its
/// identity. The search columns derived from the resource are not part of it.
pub fn observation_digest(o: &StoredObservation) -> Hash {
    #[derive(Serialize)]
    struct Canonical<'a> {
        held: &'a str,
        hospital: &'a str,
        id: &'a str,
        identity: &'a str,
        recognition: &'a str,
        resource: &'a str,
        source: &'a str,
        status: &'a str,
        updated_at: i64,
        version: i64,
    }
    sha256_json(&Canonical {
        held: &o.held,
        hospital: o.hospital.as_str(),
        id: &o.id,
        identity: &o.identity,
        recognition: &o.recognition,
        resource: &o.resource,
        source: &o.source,
        status: o.status.as_str(),
        updated_at: o.updated_at,
        version: o.version,
    })
}

/// The digest of one entry of a mapping's history.
pub fn change_digest(c: &MappingChange) -> Hash {
    #[derive(Serialize)]
    struct Canonical<'a> {
        action: &'a str,
        at: i64,
        by: &'a str,
        comment: &'a str,
        from_status: Option<&'a str>,
        from_target: &'a str,
        hospital: &'a str,
        local_code: &'a str,
        to_status: &'a str,
        to_target: &'a str,
    }
    sha256_json(&Canonical {
        action: &c.action,
        at: c.at,
        by: &c.by,
        comment: &c.comment,
        from_status: c.from_status.map(|s| s.as_str()),
        from_target: &c.from_target,
        hospital: c.hospital.as_str(),
        local_code: &c.local_code,
        to_status: c.to_status.as_str(),
        to_target: &c.to_target,
    })
}

/// The digest of a mapping: every field.
pub fn mapping_digest(m: &Mapping) -> Hash {
    #[derive(Serialize)]
    struct Canonical<'a> {
        equivalence: &'a str,
        hospital: &'a str,
        local_code: &'a str,
        local_name: &'a str,
        loinc: &'a str,
        method: &'a str,
        national_code: &'a str,
        note: &'a str,
        proposed_by: &'a str,
        ref_high: Option<f64>,
        ref_low: Option<f64>,
        ref_text: &'a str,
        specimen: &'a str,
        status: &'a str,
        unit: &'a str,
        unit_alias: &'a str,
        unit_ucum: &'a str,
        updated_at: i64,
        updated_by: &'a str,
    }
    let t = &m.term;
    sha256_json(&Canonical {
        equivalence: m.equivalence.as_str(),
        hospital: m.hospital.as_str(),
        local_code: &t.local_code,
        local_name: &t.local_name,
        loinc: &m.loinc,
        method: &t.method,
        national_code: &m.national_code,
        note: &t.note,
        proposed_by: &m.proposed_by,
        ref_high: t.ref_high,
        ref_low: t.ref_low,
        ref_text: &t.ref_text,
        specimen: &t.specimen,
        status: m.status.as_str(),
        unit: &t.unit,
        unit_alias: &m.unit_alias,
        unit_ucum: &m.unit_ucum,
        updated_at: m.updated_at,
        updated_by: &m.updated_by,
    })
}

/// The link after `prev` for an item.
pub fn link(
    prev: &Hash,
    seq: i64,
    kind: LinkKind,
    item: &str,
    digest: &Hash,
    state: &Hash,
) -> Hash {
    #[derive(Serialize)]
    struct Canonical<'a> {
        digest: &'a str,
        item: &'a str,
        kind: &'a str,
        prev: &'a str,
        seq: i64,
        state: &'a str,
    }
    let (mut d, mut p, mut s) = ([0; 64], [0; 64], [0; 64]);
    sha256_json(&Canonical {
        digest: hex_in(digest, &mut d),
        item,
        kind: kind.as_str(),
        prev: hex_in(prev, &mut p),
        seq,
        state: hex_in(state, &mut s),
    })
}

/// A hospital's chain as the store extends it: the head, then each appended link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub seq: i64,
    pub head: Hash,
}

impl Chain {
    /// Appends an item; returns the new link.
    pub fn append(&mut self, kind: LinkKind, item: String, digest: Hash, state: Hash) -> ChainLink {
        let seq = self.seq + 1;
        let link = link(&self.head, seq, kind, &item, &digest, &state);
        self.seq = seq;
        self.head = link;
        ChainLink {
            seq,
            kind,
            item,
            digest,
            state,
            link,
        }
    }
}

/// The first thing wrong with a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub seq: i64,
    pub item: String,
    /// In words: what differs.
    pub problem: String,
}

/// Checks one stored link against the one before it (`prev`, `seq - 1`) and against its
/// item's digest recomputed from the stored data now (`None`: the item is gone).
pub fn check_link(prev: &Chain, stored: &ChainLink, current: Option<&Hash>) -> Result<(), Broken> {
    let broken = |problem: String| Broken {
        seq: stored.seq,
        item: stored.item.clone(),
        problem,
    };
    if stored.seq != prev.seq + 1 {
        return Err(Broken {
            seq: prev.seq + 1,
            item: String::new(),
            problem: format!(
                "link {} is missing: the chain jumps from {} to {}",
                prev.seq + 1,
                prev.seq,
                stored.seq
            ),
        });
    }
    let expected = link(
        &prev.head,
        stored.seq,
        stored.kind,
        &stored.item,
        &stored.digest,
        &stored.state,
    );
    if expected != stored.link {
        return Err(broken(
            "the link does not follow from the one before it: the chain itself was edited"
                .to_owned(),
        ));
    }
    match current {
        None => Err(broken("the item is gone from the database".to_owned())),
        Some(d) if *d != stored.digest => Err(broken(format!(
            "the stored item was changed after it was written (digest {} when written, {} now)",
            hex(&stored.digest),
            hex(d)
        ))),
        Some(_) => Ok(()),
    }
}

/// What verifying one hospital's chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub hospital: String,
    /// Links checked.
    pub links: i64,
    /// The head as recomputed (hex), to compare with a copy kept elsewhere.
    pub head: String,
    pub broken: Option<Broken>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::ResultStatus;

    fn observation(resource: &str) -> StoredObservation {
        StoredObservation {
            id: "abc".into(),
            hospital: crate::HospitalId::parse("hosp-a").unwrap(),
            identity: "urn:x|1".into(),
            version: 1,
            status: ResultStatus::Final,
            held: String::new(),
            local_code: "GLU".into(),
            national_code: "9000001-9".into(),
            loinc: String::new(),
            effective_at: None,
            subjects: Vec::new(),
            resource: resource.into(),
            source: "{}".into(),
            updated_at: 5,
            recognition: String::new(),
        }
    }

    #[test]
    fn digest_is_sha256_of_the_canonical_json() {
        let o = observation(r#"{"valueQuantity":{"value":6.30}}"#);
        let canonical = r#"{"held":"","hospital":"hosp-a","id":"abc","identity":"urn:x|1","recognition":"","resource":"{\"valueQuantity\":{\"value\":6.30}}","source":"{}","status":"final","updated_at":5,"version":1}"#;
        let expected: Hash = Sha256::digest(canonical.as_bytes()).into();
        assert_eq!(observation_digest(&o), expected);
        // A digit more or less is another digest.
        assert_ne!(
            observation_digest(&observation(r#"{"valueQuantity":{"value":6.3}}"#)),
            expected
        );
    }

    #[test]
    fn a_chain_checks_and_every_edit_shows() {
        let mut chain = Chain {
            seq: 0,
            head: GENESIS,
        };
        let digests: Vec<Hash> = (0..3u8).map(|i| [i; 32]).collect();
        let links: Vec<ChainLink> = digests
            .iter()
            .enumerate()
            .map(|(i, d)| {
                chain.append(
                    LinkKind::Observation,
                    observation_item("x", i as i64 + 1),
                    *d,
                    [0; 32],
                )
            })
            .collect();
        let walk = |links: &[ChainLink], digests: &[Hash]| -> Result<Chain, Broken> {
            let mut at = Chain {
                seq: 0,
                head: GENESIS,
            };
            for (l, d) in links.iter().zip(digests) {
                check_link(&at, l, Some(d))?;
                at = Chain {
                    seq: l.seq,
                    head: l.link,
                };
            }
            Ok(at)
        };
        assert_eq!(walk(&links, &digests).unwrap(), chain);

        // The item changed.
        let mut changed = digests.clone();
        changed[1] = [9; 32];
        let b = walk(&links, &changed).unwrap_err();
        assert_eq!((b.seq, b.item.as_str()), (2, "Observation/x/_history/2"));
        assert!(b.problem.contains("changed"), "{}", b.problem);

        // The link's digest rewritten to match the edit: the link no longer follows.
        let mut forged = links.clone();
        forged[1].digest = [9; 32];
        let b = walk(&forged, &changed).unwrap_err();
        assert_eq!(b.seq, 2);
        assert!(b.problem.contains("chain itself"), "{}", b.problem);

        // A link removed.
        let gap = [links[0].clone(), links[2].clone()];
        let b = walk(&gap, &[digests[0], digests[2]]).unwrap_err();
        assert_eq!(b.seq, 2);
        assert!(b.problem.contains("missing"), "{}", b.problem);
    }

    #[test]
    fn an_item_parses_back_into_its_id_and_version() {
        assert_eq!(
            parse_observation_item(&observation_item("abc", 12)),
            Some(("abc", "12"))
        );
        assert_eq!(parse_observation_item("Observation/abc"), None);
        assert_eq!(parse_observation_item("MappingChange/h/1"), None);
    }

    /// A link's formula is fixed: chains written by every earlier release must still verify.
    #[test]
    fn a_link_is_the_digest_of_its_canonical_json() {
        let mut digest = [0u8; 32];
        for (i, b) in digest.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37);
        }
        let l = link(
            &[0; 32],
            7,
            LinkKind::Observation,
            "Observation/abc/_history/2",
            &digest,
            &[0xab; 32],
        );
        // sha256 of {"digest":"00254a…","item":"Observation/abc/_history/2","kind":"observation",
        // "prev":"00…","seq":7,"state":"abab…"}, computed apart (Python's hashlib).
        assert_eq!(
            hex(&l),
            "efafeea1c5609c9a107f7589544ba2f3b6ddc5b26501dce253b4cd44b7975acd"
        );
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0xab; 32]), "ab".repeat(32));
        let mut h = [0u8; 32];
        for (i, b) in h.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37);
        }
        let expected: String = h.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&h), expected);
        assert_eq!(hex_in(&h, &mut [0; 64]), expected);
    }
}
