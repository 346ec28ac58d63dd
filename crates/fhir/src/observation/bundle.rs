//! Bundles in: a `batch`, `transaction` or `collection` of Observations, with the Patients they
//! refer to.
//!
//! The Bundle is read with its entries as raw JSON, and each entry's resource is read once.
//! Patient entries are read first, so that `subject.reference` (a `fullUrl` or `Patient/{id}`)
//! finds them. Problems are located in the Bundle (`Bundle.entry[3].resource.status`) and kept
//! per entry: in a batch one bad entry does not spoil the others; a transaction is all or
//! nothing, which the caller decides with [`BundleIn::has_errors`].

use super::json::{Kind, RawObject, Sink, arr, obj, string};
use super::read::{Subjects, observation_from, patient_from, resource_type_is, top_object};
use super::{IngestContext, Problem};
use crate::outcome::{IssueCode, Severity};
use huren_core::result::{LabResult, PatientInfo};
use serde_json::value::RawValue;
use std::collections::HashMap;

/// The kinds of Bundle accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleKind {
    /// Each entry stands alone.
    Batch,
    /// All entries or none.
    Transaction,
    /// Resources without requests (the official R4 examples are collections).
    Collection,
}

impl BundleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BundleKind::Batch => "batch",
            BundleKind::Transaction => "transaction",
            BundleKind::Collection => "collection",
        }
    }
}

/// The HTTP methods accepted in a batch or transaction entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Post,
    Put,
}

/// `Bundle.entry.request` of a batch or transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRequest {
    pub method: Method,
    /// As sent: `Observation`, `Observation/{id}` or a conditional `Observation?identifier=…`.
    pub url: String,
}

/// What became of one entry.
// The Observation variant is the common one; boxing it would only add an indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum EntryOutcome {
    /// An Observation: the result with its warnings, or every problem of the entry.
    Observation(Result<(LabResult, Vec<Problem>), Vec<Problem>>),
    /// A Patient, read for the `subject` of the Observations (it is not stored by itself).
    Patient(Result<(PatientInfo, Vec<Problem>), Vec<Problem>>),
    /// Accepted and not read (yet): `DiagnosticReport`, `Specimen`. An information note says
    /// so.
    Skipped(Vec<Problem>),
    /// Not an entry this service takes (another resource type, no resource): errors.
    Rejected(Vec<Problem>),
}

impl EntryOutcome {
    /// Every problem of the entry, errors and warnings.
    pub fn problems(&self) -> &[Problem] {
        match self {
            EntryOutcome::Observation(Ok((_, p)))
            | EntryOutcome::Observation(Err(p))
            | EntryOutcome::Patient(Ok((_, p)))
            | EntryOutcome::Patient(Err(p))
            | EntryOutcome::Skipped(p)
            | EntryOutcome::Rejected(p) => p,
        }
    }

    pub fn is_error(&self) -> bool {
        matches!(
            self,
            EntryOutcome::Observation(Err(_))
                | EntryOutcome::Patient(Err(_))
                | EntryOutcome::Rejected(_)
        )
    }

    /// The result, when this is an Observation that was read.
    pub fn lab_result(&self) -> Option<&LabResult> {
        match self {
            EntryOutcome::Observation(Ok((r, _))) => Some(r),
            _ => None,
        }
    }
}

/// One entry of a Bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryIn {
    /// The position in `Bundle.entry`, from 0 (as in the locations).
    pub index: usize,
    pub full_url: Option<String>,
    /// Present for a batch or transaction entry whose request was usable.
    pub request: Option<EntryRequest>,
    pub outcome: EntryOutcome,
}

/// A Bundle as read.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleIn {
    pub kind: BundleKind,
    /// In Bundle order.
    pub entries: Vec<EntryIn>,
    /// Problems of the Bundle itself (warnings only: an error rejects the whole Bundle).
    pub problems: Vec<Problem>,
}

impl BundleIn {
    /// Whether any entry has an error (a transaction must then be refused as a whole).
    pub fn has_errors(&self) -> bool {
        self.entries.iter().any(|e| e.outcome.is_error())
    }

    /// Every problem, the Bundle's first, then each entry's in order.
    pub fn all_problems(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .chain(self.entries.iter().flat_map(|e| e.outcome.problems()))
    }
}

const BUNDLE_ELEMENTS: &[&str] = &[
    "resourceType",
    "id",
    "meta",
    "implicitRules",
    "language",
    "identifier",
    "type",
    "timestamp",
    "total",
    "link",
    "entry",
    "signature",
];

const ENTRY_ELEMENTS: &[&str] = &[
    "id",
    "extension",
    "modifierExtension",
    "link",
    "fullUrl",
    "resource",
    "search",
    "request",
    "response",
];

/// A `batch`, `transaction` or `collection` Bundle → its entries, each read or refused on its
/// own. `Err` only when the Bundle itself is unusable (not JSON, not a Bundle, another type,
/// `entry` not an array): then nothing was read.
///
/// Accepted entries: `Observation` and `Patient` (POST or PUT in a batch or transaction, with a
/// `request.url` naming the resource type), `DiagnosticReport` and `Specimen` (skipped with an
/// information note). Anything else is an entry error.
pub fn read_bundle(json: &str, ctx: &IngestContext<'_>) -> Result<BundleIn, Vec<Problem>> {
    let o = top_object(json, "Bundle")?;
    let mut s = Sink::default();
    if !resource_type_is(&o, "Bundle", "Bundle", &mut s) {
        return Err(s.problems);
    }
    for k in o.duplicate_keys() {
        s.error(
            IssueCode::Invalid,
            format!("Bundle.{k}"),
            format!("`{k}` occurs more than once"),
        );
    }
    let unknown: Vec<String> = o
        .members
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !BUNDLE_ELEMENTS.contains(&k.strip_prefix('_').unwrap_or(k)))
        .map(|k| format!("`{k}`"))
        .collect();
    if !unknown.is_empty() {
        s.warning(
            IssueCode::Invalid,
            "Bundle",
            format!("unknown elements ignored: {}", unknown.join(", ")),
        );
    }
    let kind = read_kind(o.get("type"), &mut s);
    let entries = match o.get("entry") {
        Some(raw) => arr(raw, "Bundle.entry", &mut s),
        None => Some(Vec::new()),
    };
    let (Some(kind), Some(entries), false) = (kind, entries, s.has_errors()) else {
        return Err(s.problems);
    };

    let mut envelopes: Vec<Envelope<'_>> = entries
        .iter()
        .enumerate()
        .map(|(i, raw)| envelope(i, raw, kind))
        .collect();
    let mut seen_urls: HashMap<String, usize> = HashMap::new();
    for e in &mut envelopes {
        if let Some(url) = &e.full_url {
            match seen_urls.get(url) {
                Some(first) => e.sink.error(
                    IssueCode::Duplicate,
                    format!("Bundle.entry[{}].fullUrl", e.index),
                    format!("`{url}` is also the fullUrl of entry[{first}]"),
                ),
                None => {
                    seen_urls.insert(url.clone(), e.index);
                }
            }
        }
    }

    // Patients first: the Observations' subjects refer to them.
    let mut outcomes: Vec<Option<EntryOutcome>> = vec![None; envelopes.len()];
    let mut patients = HashMap::new();
    let mut failed = HashMap::new();
    for e in &mut envelopes {
        let Some((text, resource)) = &e.resource else {
            continue;
        };
        if e.resource_type.as_deref() != Some("Patient") {
            continue;
        }
        let read = patient_from(text.get(), resource, &e.resource_loc(), ctx);
        let keys = patient_keys(e.full_url.as_deref(), resource);
        match &read {
            Ok((p, _)) if !e.sink.has_errors() => {
                for k in keys {
                    patients.insert(k, p.clone());
                }
            }
            _ => {
                for k in keys {
                    failed.insert(k, e.index);
                }
            }
        }
        let sink = std::mem::take(&mut e.sink);
        outcomes[e.index] = Some(EntryOutcome::Patient(merge(sink, read)));
    }
    let subjects = Subjects {
        patients: &patients,
        failed: &failed,
    };
    for e in &mut envelopes {
        if outcomes[e.index].is_some() {
            continue;
        }
        let loc = e.resource_loc();
        let mut sink = std::mem::take(&mut e.sink);
        let outcome = match (&e.resource, e.resource_type.as_deref()) {
            (None, _) | (_, None) => EntryOutcome::Rejected(sink.problems),
            (Some((text, resource)), Some("Observation")) => {
                let source = format!("entry[{}]", e.index);
                let read = observation_from(text.get(), resource, &loc, ctx, &source, &subjects);
                EntryOutcome::Observation(merge(sink, read))
            }
            (Some(_), Some(t @ ("DiagnosticReport" | "Specimen"))) => {
                if sink.has_errors() {
                    EntryOutcome::Rejected(sink.problems)
                } else {
                    sink.push(
                        Severity::Information,
                        IssueCode::Informational,
                        loc,
                        format!("{t} entries are accepted but not read yet: skipped"),
                    );
                    EntryOutcome::Skipped(sink.problems)
                }
            }
            (Some(_), Some(t)) => {
                sink.error(
                    IssueCode::NotSupported,
                    format!("{loc}.resourceType"),
                    format!(
                        "{t} entries are not accepted: a Bundle may hold Observation, Patient, \
                         DiagnosticReport and Specimen entries"
                    ),
                );
                EntryOutcome::Rejected(sink.problems)
            }
        };
        outcomes[e.index] = Some(outcome);
    }
    let entries = envelopes
        .into_iter()
        .zip(outcomes)
        .map(|(e, outcome)| EntryIn {
            index: e.index,
            full_url: e.full_url,
            request: e.request,
            outcome: outcome.unwrap_or(EntryOutcome::Rejected(Vec::new())),
        })
        .collect();
    Ok(BundleIn {
        kind,
        entries,
        problems: s.problems,
    })
}

fn read_kind(raw: Option<&RawValue>, s: &mut Sink) -> Option<BundleKind> {
    let Some(raw) = raw else {
        s.error(
            IssueCode::Required,
            "Bundle.type",
            "a Bundle must have a type",
        );
        return None;
    };
    let t = string(raw, "Bundle.type", s)?;
    match t.as_str() {
        "batch" => Some(BundleKind::Batch),
        "transaction" => Some(BundleKind::Transaction),
        "collection" => Some(BundleKind::Collection),
        "document"
        | "message"
        | "history"
        | "searchset"
        | "batch-response"
        | "transaction-response" => {
            s.error(
                IssueCode::NotSupported,
                "Bundle.type",
                format!("a `{t}` Bundle is not accepted: send a batch, transaction or collection"),
            );
            None
        }
        _ => {
            s.error(
                IssueCode::CodeInvalid,
                "Bundle.type",
                format!("`{t}` is not a Bundle type"),
            );
            None
        }
    }
}

/// One entry before its resource is read: where it is, its request, its resource's members.
struct Envelope<'a> {
    index: usize,
    full_url: Option<String>,
    request: Option<EntryRequest>,
    /// The resource's raw text and members.
    resource: Option<(&'a RawValue, RawObject<'a>)>,
    resource_type: Option<String>,
    /// Problems of the entry itself.
    sink: Sink,
}

impl Envelope<'_> {
    fn resource_loc(&self) -> String {
        format!("Bundle.entry[{}].resource", self.index)
    }
}

fn envelope<'a>(index: usize, raw: &'a RawValue, kind: BundleKind) -> Envelope<'a> {
    let loc = format!("Bundle.entry[{index}]");
    let mut e = Envelope {
        index,
        full_url: None,
        request: None,
        resource: None,
        resource_type: None,
        sink: Sink::default(),
    };
    let s = &mut e.sink;
    let Some(entry) = obj(raw, &loc, s) else {
        return e;
    };
    let unknown: Vec<String> = entry
        .members
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !ENTRY_ELEMENTS.contains(&k.strip_prefix('_').unwrap_or(k)))
        .map(|k| format!("`{k}`"))
        .collect();
    if !unknown.is_empty() {
        s.warning(
            IssueCode::Invalid,
            &loc,
            format!("unknown elements ignored: {}", unknown.join(", ")),
        );
    }
    if entry.get("modifierExtension").is_some() {
        s.error(
            IssueCode::NotSupported,
            format!("{loc}.modifierExtension"),
            "modifier extensions are not understood here, and FHIR requires an element with a \
             modifier extension that is not understood to be refused",
        );
    }
    if entry.get("search").is_some() {
        s.error(
            IssueCode::Invalid,
            format!("{loc}.search"),
            "entry.search is only allowed in a searchset Bundle (bdl-2)",
        );
    }
    if entry.get("response").is_some() {
        s.error(
            IssueCode::Invalid,
            format!("{loc}.response"),
            "entry.response is only allowed in a response Bundle (bdl-4)",
        );
    }
    e.full_url = entry
        .get("fullUrl")
        .and_then(|u| string(u, &format!("{loc}.fullUrl"), s));

    let resource_loc = format!("{loc}.resource");
    match entry.get("resource") {
        None => s.error(
            IssueCode::Required,
            &resource_loc,
            "the entry has no resource",
        ),
        Some(r) if Kind::of(r) != Kind::Object => s.error(
            IssueCode::Invalid,
            &resource_loc,
            "the resource must be a JSON object",
        ),
        // Duplicate keys and the like are the resource reader's to report.
        Some(r) => match RawObject::parse(r.get()) {
            Ok(members) => {
                e.resource_type = members
                    .get("resourceType")
                    .and_then(|t| serde_json::from_str::<String>(t.get()).ok());
                if e.resource_type.is_none() {
                    s.error(
                        IssueCode::Required,
                        format!("{resource_loc}.resourceType"),
                        "the resource has no resourceType (a string)",
                    );
                }
                e.resource = Some((r, members));
            }
            Err(err) => s.error(IssueCode::Invalid, &resource_loc, err.to_string()),
        },
    }

    let request_loc = format!("{loc}.request");
    match (kind, entry.get("request")) {
        (BundleKind::Collection, Some(_)) => s.error(
            IssueCode::Invalid,
            &request_loc,
            "entry.request is only allowed in a batch or transaction (bdl-3)",
        ),
        (BundleKind::Collection, None) => {}
        (_, None) => s.error(
            IssueCode::Required,
            &request_loc,
            format!("every entry of a {} needs a request (bdl-3)", kind.as_str()),
        ),
        (_, Some(raw)) => {
            e.request = read_request(raw, &request_loc, e.resource_type.as_deref(), s)
        }
    }
    e
}

fn read_request(
    raw: &RawValue,
    loc: &str,
    resource_type: Option<&str>,
    s: &mut Sink,
) -> Option<EntryRequest> {
    let r = obj(raw, loc, s)?;
    let method = match r.get("method") {
        None => {
            s.error(
                IssueCode::Required,
                format!("{loc}.method"),
                "the request has no method",
            );
            None
        }
        Some(m) => {
            match string(m, &format!("{loc}.method"), s)?.as_str() {
                "POST" => Some(Method::Post),
                "PUT" => Some(Method::Put),
                other => {
                    s.error(
                    IssueCode::NotSupported,
                    format!("{loc}.method"),
                    format!("`{other}` is not accepted: entries are created or updated with POST or PUT"),
                );
                    None
                }
            }
        }
    };
    let url = match r.get("url") {
        None => {
            s.error(
                IssueCode::Required,
                format!("{loc}.url"),
                "the request has no url",
            );
            None
        }
        Some(u) => string(u, &format!("{loc}.url"), s),
    };
    if let (Some(url), Some(t)) = (&url, resource_type) {
        let names_type = url
            .strip_prefix(t)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'));
        if !names_type {
            s.error(
                IssueCode::Invalid,
                format!("{loc}.url"),
                format!("`{url}` does not name the entry's resource type ({t})"),
            );
        }
    }
    Some(EntryRequest {
        method: method?,
        url: url?,
    })
}

/// The references a Patient entry answers to: its `fullUrl`, and `Patient/{id}` from its id or
/// from a `fullUrl` ending in `/Patient/{id}`.
fn patient_keys(full_url: Option<&str>, resource: &RawObject<'_>) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(url) = full_url {
        keys.push(url.to_owned());
        if let Some((_, id)) = url.rsplit_once("/Patient/")
            && !id.is_empty()
            && !id.contains('/')
        {
            keys.push(format!("Patient/{id}"));
        }
    }
    if let Some(id) = resource
        .get("id")
        .and_then(|i| serde_json::from_str::<String>(i.get()).ok())
    {
        keys.push(format!("Patient/{id}"));
    }
    keys.dedup();
    keys
}

/// The entry's own problems first, then the resource's; an entry error fails the entry.
fn merge<T>(
    entry: Sink,
    read: Result<(T, Vec<Problem>), Vec<Problem>>,
) -> Result<(T, Vec<Problem>), Vec<Problem>> {
    let failed = entry.has_errors();
    let mut problems = entry.problems;
    match read {
        Ok((value, warnings)) => {
            problems.extend(warnings);
            if failed {
                Err(problems)
            } else {
                Ok((value, problems))
            }
        }
        Err(errors) => {
            problems.extend(errors);
            Err(problems)
        }
    }
}
