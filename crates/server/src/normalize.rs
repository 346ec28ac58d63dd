//! `huren normalize --hospital ID FILE`: a results file through the normalizer, offline. Each
//! result comes out as the Observation huren would store (the JSON `huren_http::ingest::prepare`
//! builds), one per line (NDJSON) on stdout; nothing is written to the database.
//!
//! It is the curator's and the interface engineer's check before a LIS goes live: does every
//! local code have an approved mapping, does every unit convert, is every row readable.
//!
//! # Input
//!
//! The format is read from the content, not the file name:
//!
//! * **HL7 v2** when the first line is an `MSH` (or a batch header `FHS`/`BHS`) segment:
//!   one or more ORU^R01 messages, one after the other, with or without blank lines or MLLP
//!   framing bytes (0x0B, 0x1C) between them. Each line starting with `MSH` begins a message;
//!   batch segments (`FHS`, `BHS`, `BTS`, `FTS`) are skipped. `\r`, `\n` and `\r\n` all end a
//!   line (and a segment).
//! * **FHIR R4 JSON** when it starts with `{`: an `Observation`, or a `Bundle` of them (with the
//!   Patients they refer to), read as `POST /fhir/Observation` and `POST /fhir` read them.
//! * **CSV** otherwise: the results layout of `POST /api/results/import` (see `huren_csv`).
//!
//! # Output
//!
//! stdout: one Observation per normalized result, in input order. Held results (a local code
//! with no approved mapping, …) are not printed there.
//!
//! stderr: `FILE: <location>: <message>`, one per problem, warning or held result:
//! `line 5, column collected_at` (CSV), `line 12, segment 5 (OBX), field 5` (HL7: the file line
//! of the segment, then the segment as the ACK would name it), `Bundle.entry[3].resource.status`
//! (FHIR); then a summary line.
//!
//! Exit status: 0 when every result was normalized; 1 when anything in the input is wrong or a
//! result is held (warnings alone do not count); 2 for usage and IO errors (no such file,
//! no such hospital, the database cannot be opened).
//!
//! The database is only read, with one exception: an empty database (no registry release yet)
//! gets the national and LOINC seed first, as `huren serve` and `huren import mappings` do,
//! since there is nothing to normalize against without it.

use crate::config::Settings;
use crate::registry_ops::load_catalog;
use anyhow::Context as _;
use huren_core::HospitalId;
use huren_core::ports::Storage;
use huren_core::result::LabResult;
use huren_fhir::Urls;
use huren_fhir::observation::{IngestContext, Problem, read_bundle, read_observation};
use huren_http::Catalog;
use huren_http::ingest::{ResultsConfig, hospital_result_system, prepare};
use std::io::Write;

/// What came of a file.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Results read from the file.
    pub results: usize,
    /// Printed as Observations.
    pub normalized: usize,
    /// Normalized but held back (unmapped local code, mapping not approved, …).
    pub held: usize,
    /// Errors in the input (a row, segment or element that could not be read).
    pub problems: usize,
    pub warnings: usize,
}

impl Summary {
    /// Every result normalized, no input problem.
    pub fn is_clean(&self) -> bool {
        self.problems == 0 && self.held == 0
    }
}

/// The formats `huren normalize` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Hl7v2,
    Fhir,
    Csv,
}

/// The format of a file, from its first bytes (after a byte-order mark, whitespace and MLLP
/// start blocks).
pub fn detect(bytes: &[u8]) -> Format {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace() && *b != 0x0B)
        .unwrap_or(bytes.len());
    let head = &bytes[start..];
    if head.starts_with(b"{") {
        Format::Fhir
    } else if ["MSH", "FHS", "BHS"]
        .iter()
        .any(|s| is_segment(head, s.as_bytes()))
    {
        Format::Hl7v2
    } else {
        Format::Csv
    }
}

/// Whether `line` is a segment `id`: the ID and then a delimiter (not a letter or digit).
fn is_segment(line: &[u8], id: &[u8]) -> bool {
    line.starts_with(id)
        && line
            .get(id.len())
            .is_some_and(|b| !b.is_ascii_alphanumeric() && !b.is_ascii_whitespace())
}

/// Everything normalization reads, loaded once.
pub struct Normalizer {
    catalog: Catalog,
    urls: Urls,
    config: ResultsConfig,
    hospital: HospitalId,
}

impl Normalizer {
    /// Loads the seed into an empty database, checks that the hospital exists, and builds the
    /// catalog. `settings` gives the canonical base and the national identifier system.
    pub fn load(
        store: &dyn Storage,
        hospital: HospitalId,
        settings: &Settings,
    ) -> anyhow::Result<Normalizer> {
        if crate::seed::seed_if_empty(store)? {
            tracing::info!("the database had no registry release: loaded the seed");
        }
        anyhow::ensure!(
            store.hospital(&hospital)?.is_some(),
            "no hospital `{hospital}`: create it first (huren import hospitals FILE, or POST /api/hospitals)"
        );
        Ok(Normalizer {
            catalog: load_catalog(store)?,
            urls: Urls::new(settings.canonical_base.clone()),
            config: crate::app::results_config(settings)?,
            hospital,
        })
    }

    /// Normalizes the file `name` (its `bytes`): Observations to `out`, problems to `err`.
    /// `Err` only when writing fails or the store cannot be read.
    pub fn run(
        &self,
        store: &dyn Storage,
        name: &str,
        bytes: &[u8],
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> anyhow::Result<Summary> {
        let mut report = Report {
            name,
            lines: Vec::new(),
            summary: Summary::default(),
        };
        let results = match detect(bytes) {
            Format::Hl7v2 => self.read_hl7(bytes, &mut report),
            Format::Fhir => self.read_fhir(bytes, &mut report),
            Format::Csv => self.read_csv(bytes, &mut report),
        };
        report.summary.results = results.len();
        let (labels, results): (Vec<String>, Vec<LabResult>) = results.into_iter().unzip();
        let prepared = prepare(
            store,
            &self.catalog,
            &self.urls,
            &self.config,
            &self.hospital,
            results,
            huren_http::mapping_import::now_millis(),
        )
        .context("reading the hospital's mappings")?;
        for (label, p) in labels.iter().zip(&prepared) {
            if let Some(hold) = &p.hold {
                report.line(label, &format!("held: {hold}"));
                report.summary.held += 1;
                continue;
            }
            // serde writes compact JSON: a line break can only be whitespace between tokens.
            writeln!(out, "{}", p.stored.resource.trim().replace('\n', " "))?;
            report.summary.normalized += 1;
            for i in &p.issues {
                if i.severity == huren_core::normalize::Severity::Warning {
                    report.warning(label, &i.message);
                }
            }
        }
        out.flush()?;
        Ok(report.finish(err)?)
    }

    fn read_csv(&self, bytes: &[u8], report: &mut Report<'_>) -> Vec<(String, LabResult)> {
        let patients = self.config.patients(&self.urls, &self.hospital);
        let result_system = hospital_result_system(&self.urls, &self.hospital);
        let options = huren_csv::ResultsOptions {
            patients: &patients,
            default_offset_minutes: self.config.default_offset_minutes,
            result_id_system: &result_system,
        };
        match huren_csv::parse_results(bytes, &options) {
            Ok(results) => results.into_iter().map(|r| (r.source.clone(), r)).collect(),
            Err(huren_csv::ResultsError::File(e)) => {
                report.problem("", &e.to_string());
                Vec::new()
            }
            Err(e) => {
                for p in e.problems() {
                    let location = match &p.column {
                        Some(c) => format!("line {}, column {c}", p.line),
                        None => format!("line {}", p.line),
                    };
                    report.problem(&location, &p.message);
                }
                Vec::new()
            }
        }
    }

    fn read_fhir(&self, bytes: &[u8], report: &mut Report<'_>) -> Vec<(String, LabResult)> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                report.problem(
                    "",
                    &format!(
                        "FHIR JSON must be UTF-8; invalid bytes at offset {}",
                        e.valid_up_to()
                    ),
                );
                return Vec::new();
            }
        };
        #[derive(serde::Deserialize)]
        struct Head {
            #[serde(rename = "resourceType")]
            resource_type: Option<String>,
        }
        let kind = match serde_json::from_str::<Head>(text) {
            Ok(h) => h.resource_type,
            Err(e) => {
                let position = format!(" at line {} column {}", e.line(), e.column());
                let message = e.to_string();
                let message = message.strip_suffix(&position).unwrap_or(&message);
                report.problem(
                    &format!("line {}, column {}", e.line(), e.column()),
                    &format!("not JSON: {message}"),
                );
                return Vec::new();
            }
        };
        let patients = self.config.patients(&self.urls, &self.hospital);
        let ctx = IngestContext {
            urls: &self.urls,
            hospital: self.hospital.as_str(),
            patients: &patients,
        };
        let mut results = Vec::new();
        match kind.as_deref() {
            Some("Bundle") => match read_bundle(text, &ctx) {
                Ok(bundle) => {
                    report.fhir(&bundle.problems);
                    for e in &bundle.entries {
                        report.fhir(e.outcome.problems());
                        if let Some(r) = e.outcome.lab_result() {
                            results.push((format!("Bundle.entry[{}]", e.index), r.clone()));
                        }
                    }
                }
                Err(problems) => report.fhir(&problems),
            },
            Some("Observation") => match read_observation(text, &ctx, "Observation") {
                Ok((r, warnings)) => {
                    report.fhir(&warnings);
                    results.push(("Observation".to_owned(), r));
                }
                Err(problems) => report.fhir(&problems),
            },
            Some(other) => report.problem(
                "resourceType",
                &format!("`{other}` is not read here: give an Observation or a Bundle of them"),
            ),
            None => report.problem(
                "resourceType",
                "missing: give an Observation or a Bundle of them",
            ),
        }
        results
    }

    fn read_hl7(&self, bytes: &[u8], report: &mut Report<'_>) -> Vec<(String, LabResult)> {
        let patients = self.config.patients(&self.urls, &self.hospital);
        let options = huren_hl7v2::ResultOptions {
            patients: &patients,
            default_offset_minutes: self.config.default_offset_minutes,
        };
        let mut results = Vec::new();
        let (messages, stray) = split_hl7(bytes);
        if let Some(line) = stray {
            report.problem(
                &format!("line {line}"),
                "text before the first MSH segment is not part of any message",
            );
        }
        for m in &messages {
            let line_of = |segment_index: usize| {
                m.lines
                    .get(segment_index.wrapping_sub(1))
                    .copied()
                    .unwrap_or(m.lines[0])
            };
            let errors = match huren_hl7v2::parse_oru_bytes(&m.bytes) {
                Ok(message) => {
                    let (read, errors) = huren_hl7v2::lab_results(&message, &options);
                    for r in read {
                        let label = match segment_of(&r.source) {
                            Some(i) => format!("line {}, {}", line_of(i), r.source),
                            None => format!("line {}, {}", m.lines[0], r.source),
                        };
                        results.push((label, r));
                    }
                    errors
                }
                Err(rejected) => {
                    report.line(
                        &format!("line {}", m.lines[0]),
                        &format!(
                            "note: the message is refused as a whole (the listener would answer {}): \
                             none of its results is used",
                            rejected.ack_code().code()
                        ),
                    );
                    rejected.errors
                }
            };
            for e in &errors {
                let whole = e.to_string();
                let (location, message) = match e.location() {
                    Some(at) => {
                        let prefix = format!("{at}: ");
                        match whole.strip_prefix(&prefix) {
                            Some(rest) => (
                                format!("line {}, {at}", line_of(at.segment_index)),
                                rest.to_owned(),
                            ),
                            None => (format!("line {}", line_of(at.segment_index)), whole),
                        }
                    }
                    None => (format!("line {}", m.lines[0]), whole),
                };
                match e.severity() {
                    huren_hl7v2::Severity::Error => report.problem(&location, &message),
                    huren_hl7v2::Severity::Warning => report.warning(&location, &message),
                    huren_hl7v2::Severity::Information => {
                        report.line(&location, &format!("note: {message}"));
                    }
                }
            }
        }
        results
    }
}

/// The segment index of a result source `segment 5 (OBX)`.
fn segment_of(source: &str) -> Option<usize> {
    source
        .strip_prefix("segment ")?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

/// One HL7 v2 message of a file: its segments joined with `\r`, and the file line of each.
#[derive(Debug, PartialEq, Eq)]
struct Message {
    bytes: Vec<u8>,
    /// `lines[i]` is the 1-based file line of segment `i + 1`; never empty.
    lines: Vec<usize>,
}

/// Splits a file into messages at lines starting with `MSH`. MLLP framing bytes are dropped,
/// blank lines and batch segments skipped. Also returns the first non-blank line before the
/// first MSH, if any.
fn split_hl7(bytes: &[u8]) -> (Vec<Message>, Option<usize>) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut messages: Vec<Message> = Vec::new();
    let mut stray = None;
    for (number, line) in lines(bytes) {
        let line: Vec<u8> = line
            .iter()
            .copied()
            .filter(|b| *b != 0x0B && *b != 0x1C)
            .collect();
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if ["FHS", "BHS", "BTS", "FTS"]
            .iter()
            .any(|s| is_segment(&line, s.as_bytes()))
        {
            continue;
        }
        if is_segment(&line, b"MSH") {
            messages.push(Message {
                bytes: line,
                lines: vec![number],
            });
            continue;
        }
        match messages.last_mut() {
            Some(m) => {
                m.bytes.push(b'\r');
                m.bytes.extend_from_slice(&line);
                m.lines.push(number);
            }
            None => {
                stray.get_or_insert(number);
            }
        }
    }
    (messages, stray)
}

/// The lines of `bytes` with their 1-based numbers; `\r\n`, `\r` and `\n` each end a line.
/// Safe for GB18030 too: its multi-byte sequences never contain 0x0A or 0x0D.
fn lines(bytes: &[u8]) -> Vec<(usize, &[u8])> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\r' | b'\n' => {
                out.push((out.len() + 1, &bytes[start..i]));
                if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < bytes.len() {
        out.push((out.len() + 1, &bytes[start..]));
    }
    out
}

/// Collects `FILE: location: message` lines and counts them; [`Report::finish`] writes them in
/// file order (reading problems and normalization notes of one line together).
struct Report<'a> {
    name: &'a str,
    lines: Vec<(usize, String)>,
    summary: Summary,
}

impl Report<'_> {
    fn line(&mut self, location: &str, message: &str) {
        let text = if location.is_empty() {
            format!("{}: {message}", self.name)
        } else {
            format!("{}: {location}: {message}", self.name)
        };
        self.lines.push((position(location), text));
    }

    fn problem(&mut self, location: &str, message: &str) {
        self.summary.problems += 1;
        self.line(location, message);
    }

    fn warning(&mut self, location: &str, message: &str) {
        self.summary.warnings += 1;
        self.line(location, &format!("warning: {message}"));
    }

    fn fhir(&mut self, problems: &[Problem]) {
        for p in problems {
            match p.severity {
                huren_fhir::Severity::Fatal | huren_fhir::Severity::Error => {
                    self.problem(&p.location, &p.message);
                }
                huren_fhir::Severity::Warning => self.warning(&p.location, &p.message),
                huren_fhir::Severity::Information => {
                    self.line(&p.location, &format!("note: {}", p.message));
                }
            }
        }
    }

    /// Writes the lines, by position in the file (stable: same place, order of finding), and
    /// the summary.
    fn finish(mut self, err: &mut dyn Write) -> std::io::Result<Summary> {
        self.lines.sort_by_key(|(at, _)| *at);
        for (_, line) in &self.lines {
            writeln!(err, "{line}")?;
        }
        let s = self.summary;
        writeln!(
            err,
            "{}: {} result(s): {} normalized, {} held; {} problem(s), {} warning(s)",
            self.name, s.results, s.normalized, s.held, s.problems, s.warnings
        )?;
        err.flush()?;
        Ok(s)
    }
}

/// Where a location is in the file, for ordering: the line (`line 12, …`) or the entry
/// (`Bundle.entry[3]…`); 0 for the file as a whole.
fn position(location: &str) -> usize {
    let digits = |s: &str| {
        s.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse::<usize>()
            .map_or(0, |n| n.saturating_add(1))
    };
    if let Some(rest) = location.strip_prefix("line ") {
        digits(rest)
    } else if let Some(rest) = location.strip_prefix("Bundle.entry[") {
        digits(rest)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_their_first_bytes() {
        assert_eq!(detect(b"MSH|^~\\&|LIS"), Format::Hl7v2);
        assert_eq!(detect(b"\xEF\xBB\xBF\x0bMSH|^~\\&|LIS"), Format::Hl7v2);
        assert_eq!(detect(b"\r\nFHS|^~\\&\rBHS|^~\\&\rMSH|"), Format::Hl7v2);
        assert_eq!(detect(b"  {\"resourceType\":\"Bundle\"}"), Format::Fhir);
        assert_eq!(detect(b"result_id,patient_id"), Format::Csv);
        assert_eq!(detect(b"MSHX,patient_id"), Format::Csv);
        assert_eq!(detect(b""), Format::Csv);
    }

    #[test]
    fn lines_end_at_cr_lf_and_crlf() {
        let l = lines(b"a\rb\r\nc\nd");
        assert_eq!(
            l,
            [
                (1, &b"a"[..]),
                (2, &b"b"[..]),
                (3, &b"c"[..]),
                (4, &b"d"[..])
            ]
        );
        assert_eq!(lines(b"a\n\nb\n").len(), 3);
    }

    #[test]
    fn messages_split_at_msh_with_their_lines() {
        let file = b"MSH|1\rPID|1\rOBX|1\r\n\n\x0bMSH|2\nOBX|2\x1c\r\n";
        let (m, stray) = split_hl7(file);
        assert_eq!(stray, None);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].bytes, b"MSH|1\rPID|1\rOBX|1");
        assert_eq!(m[0].lines, [1, 2, 3]);
        assert_eq!(m[1].bytes, b"MSH|2\rOBX|2");
        assert_eq!(m[1].lines, [5, 6]);

        let (m, stray) = split_hl7(b"hello\nFHS|^~\\&\nMSH|1\nOBX|1\nBTS|1\n");
        assert_eq!(stray, Some(1));
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].lines, [3, 4]);
    }

    #[test]
    fn segment_indexes_are_read_from_sources() {
        assert_eq!(segment_of("segment 5 (OBX)"), Some(5));
        assert_eq!(segment_of("line 5"), None);
    }
}
