//! From results as a hospital sent them to stored Observations: normalize, build, write. Shared
//! by every input (FHIR, HL7 v2 over HTTP and MLLP, CSV) and by the release of held results
//! when a mapping is approved.

use crate::mapping_import::now_millis;
use crate::recognition::Assessor;
use crate::state::{AppState, Catalog};
use huren_core::normalize::{Context, Issue, Normalized, normalize, recorded};
use huren_core::observation::{
    StoredObservation, UnmappedSighting, WriteOutcome, fhir_instant_millis, observation_id,
    subjects_of,
};
use huren_core::ports::{PortError, Storage};
use huren_core::qc::EqaPolicy;
use huren_core::recognition::{AllowableErrors, Decision, Recorded, without_national_code};
use huren_core::reference::ReferenceIntervals;
use huren_core::result::{LabResult, PatientIdPolicy};
use huren_core::{HospitalId, Mapping, normalize::NormalizeOptions};
use huren_fhir::Urls;
use huren_fhir::observation::{EmitContext, observation_json, recognized_observation_json};
use std::collections::HashMap;

/// Settings of result normalization; configuration, not rules.
#[derive(Debug, Clone)]
pub struct ResultsConfig {
    /// National reference intervals (`code-tables/reference-intervals.csv`).
    pub intervals: ReferenceIntervals,
    pub options: NormalizeOptions,
    /// The identifier system of national patient identifiers (resident ID, health card).
    pub national_id_system: String,
    /// Identifier type codes that mark a national identifier (`NI`, `NNCHN`).
    pub national_id_types: Vec<String>,
    /// UTC offset assumed for times sent without one, in minutes (China: 480).
    pub default_offset_minutes: i16,
    /// MLLP: sending facility (MSH-4) → hospital.
    pub facilities: HashMap<String, HospitalId>,
    /// Allowable total errors (`code-tables/allowable-error.csv`), for the reference-interval
    /// condition of recognition.
    pub tea: AllowableErrors,
    /// How EQA events are scored.
    pub eqa: EqaPolicy,
}

impl Default for ResultsConfig {
    fn default() -> ResultsConfig {
        ResultsConfig {
            intervals: ReferenceIntervals::default(),
            options: NormalizeOptions::default(),
            national_id_system: DEFAULT_NATIONAL_ID_SYSTEM.to_owned(),
            national_id_types: vec!["NI".into(), "NNCHN".into()],
            default_offset_minutes: 480,
            facilities: HashMap::new(),
            tea: AllowableErrors::default(),
            eqa: EqaPolicy::default(),
        }
    }
}

/// The default system of national patient identifiers. Which OID China assigns to the resident
/// ID card is not confirmed here, so the default is huren's own URN and the real one is
/// configuration (`HUREN_NATIONAL_ID_SYSTEM`).
pub const DEFAULT_NATIONAL_ID_SYSTEM: &str = "urn:huren:id:national-patient";

impl ResultsConfig {
    /// The patient identifier policy for one hospital.
    pub fn patients(&self, urls: &Urls, hospital: &HospitalId) -> PatientIdPolicy {
        PatientIdPolicy {
            national_system: self.national_id_system.clone(),
            national_types: self.national_id_types.clone(),
            hospital_system: hospital_patient_system(urls, hospital),
        }
    }
}

/// The identifier system of one hospital's patient record numbers.
pub fn hospital_patient_system(urls: &Urls, hospital: &HospitalId) -> String {
    format!("{}/hospital/{}/patient", urls.base, hospital.as_str())
}

/// The identifier system of one hospital's result ids (CSV `result_id`).
pub fn hospital_result_system(urls: &Urls, hospital: &HospitalId) -> String {
    format!("{}/hospital/{}/result", urls.base, hospital.as_str())
}

/// One result after normalization, ready to write.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub stored: StoredObservation,
    pub sighting: Option<UnmappedSighting>,
    pub issues: Vec<Issue>,
    /// Why the result is held, when it is.
    pub hold: Option<String>,
}

/// One written result.
#[derive(Debug, Clone)]
pub struct Written {
    pub prepared: Prepared,
    pub outcome: WriteOutcome,
    pub version: i64,
}

/// Normalizes `results` of `hospital` (looking up the mappings of their local codes once).
pub fn prepare(
    store: &dyn Storage,
    catalog: &Catalog,
    urls: &Urls,
    config: &ResultsConfig,
    hospital: &HospitalId,
    results: Vec<LabResult>,
    now: i64,
) -> Result<Vec<Prepared>, PortError> {
    let mut codes: Vec<String> = results
        .iter()
        .filter_map(|r| r.local_code().map(|c| c.code.clone()))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    let mappings: HashMap<String, Mapping> = if codes.is_empty() {
        HashMap::new()
    } else {
        store
            .mappings_for(hospital, &codes)?
            .into_iter()
            .map(|m| (m.term.local_code.clone(), m))
            .collect()
    };
    let ctx = Context {
        registry: &catalog.registry,
        intervals: &config.intervals,
        options: &config.options,
    };
    let patients = config.patients(urls, hospital);
    let emit = EmitContext {
        urls,
        hospital: hospital.as_str(),
        patients: &patients,
    };
    let mut assessor = Assessor::new(store, &catalog.registry, config)?;
    let region = assessor
        .hospital(hospital)?
        .map(huren_core::Hospital::region)
        .unwrap_or_default();
    let normalized: Vec<(Normalized, Option<Recorded>)> = results
        .into_iter()
        .map(|r| {
            let mapping = r.local_code().and_then(|c| mappings.get(&c.code));
            let n = normalize(&ctx, r, mapping);
            let recorded = recorded(&ctx, &n, mapping, i32::from(config.default_offset_minutes));
            (n, recorded)
        })
        .collect();
    let items: Vec<(String, i64)> = normalized
        .iter()
        .filter_map(|(_, r)| r.as_ref())
        .map(|r| (r.result.national_code.clone(), r.result.collected_at))
        .collect();
    assessor.prefetch(hospital, &items)?;
    // As of storing, for the issuing hospital's own region.
    let at = now.div_euclid(1000);
    let mut out = Vec::with_capacity(normalized.len());
    for (n, recorded) in normalized {
        let prepared = build(n, hospital, &emit, config, now, |stored| {
            Ok(match &recorded {
                Some(rec) => {
                    stored.recognition = serde_json::to_string(rec).unwrap_or_default();
                    Some(assessor.decide(hospital, rec, &region, at)?)
                }
                // Kept under a LOINC term without a national code: shown, never recognizable.
                None if stored.held.is_empty()
                    && stored.national_code.is_empty()
                    && !stored.loinc.is_empty() =>
                {
                    Some(without_national_code(&stored.loinc))
                }
                None => None,
            })
        })?;
        out.push(prepared);
    }
    Ok(out)
}

/// The stored form of a normalized result. `decide` gives its recognition decision from the
/// rest of it (and may set its recognition facts); the decision's tag and extension are
/// written into the resource as it is emitted.
fn build(
    n: Normalized,
    hospital: &HospitalId,
    emit: &EmitContext<'_>,
    config: &ResultsConfig,
    now: i64,
    decide: impl FnOnce(&mut StoredObservation) -> Result<Option<Decision>, PortError>,
) -> Result<Prepared, PortError> {
    let source = serde_json::to_string(&n.result).unwrap_or_default();
    let identity = match &n.result.identifier {
        Some(id) => id.to_string(),
        // Without an identifier the content is the identity: the same result sent twice is
        // still stored once.
        None => format!("urn:huren:content|{}", observation_id(hospital, &source)),
    };
    let local = n.result.local_code();
    let sighting = n.unmapped_local.as_ref().map(|c| UnmappedSighting {
        hospital: hospital.clone(),
        local_code: c.code.clone(),
        local_name: c.display.clone(),
        unit: n.result.sent_unit().to_owned(),
        at: now,
    });
    let mut stored = StoredObservation {
        id: observation_id(hospital, &identity),
        hospital: hospital.clone(),
        identity,
        version: 0,
        status: n.result.status,
        held: n
            .hold
            .as_ref()
            .map_or(String::new(), |h| h.reason.to_owned()),
        local_code: local.map_or(String::new(), |c| c.code.clone()),
        national_code: n.concept.as_ref().map_or(String::new(), |c| c.code.clone()),
        // A registry gap is kept under its LOINC code: found by it, and by the gap list.
        loinc: n.concept.as_ref().map_or_else(
            || n.registry_gap.clone().unwrap_or_default(),
            |c| c.loinc.clone(),
        ),
        effective_at: n
            .result
            .effective
            .as_deref()
            .and_then(|e| fhir_instant_millis(e, i32::from(config.default_offset_minutes))),
        subjects: subjects_of(&n.result),
        resource: String::new(),
        source,
        updated_at: now,
        recognition: String::new(),
    };
    let resource = match decide(&mut stored)? {
        Some(d) => recognized_observation_json(&n, emit, &d),
        None => observation_json(&n, emit),
    };
    stored.resource = String::from_utf8(resource).unwrap_or_default();
    Ok(Prepared {
        stored,
        sighting,
        hold: n.hold.map(|h| h.message),
        issues: n.issues,
    })
}

/// Writes prepared results in one transaction.
pub fn write(store: &dyn Storage, prepared: Vec<Prepared>) -> Result<Vec<Written>, PortError> {
    let batch: Vec<(StoredObservation, Option<UnmappedSighting>)> = prepared
        .iter()
        .map(|p| (p.stored.clone(), p.sighting.clone()))
        .collect();
    let outcomes = store.write_observations(&batch)?;
    Ok(prepared
        .into_iter()
        .zip(outcomes)
        .map(|(prepared, (outcome, version))| Written {
            prepared,
            outcome,
            version,
        })
        .collect())
}

/// Normalizes and writes `results` of `hospital` through `store` (the state's store acting as
/// the sender, so the write is audited as theirs).
pub fn ingest(
    state: &AppState,
    store: &dyn Storage,
    hospital: &HospitalId,
    results: Vec<LabResult>,
    now: i64,
) -> Result<Vec<Written>, PortError> {
    let prepared = prepare_with(state, hospital, results, now)?;
    write(store, prepared)
}

/// [`prepare`] with the state's store, current catalog, URLs and settings.
fn prepare_with(
    state: &AppState,
    hospital: &HospitalId,
    results: Vec<LabResult>,
    now: i64,
) -> Result<Vec<Prepared>, PortError> {
    let catalog = state.catalog();
    prepare(
        &*state.store,
        &catalog,
        &state.urls,
        &state.results,
        hospital,
        results,
        now,
    )
}

/// Normalizes again the held results of `hospital` with one of `local_codes` (after their
/// mappings changed): those whose mapping is now approved become visible Observations.
/// Returns how many were released.
pub fn release_held(
    state: &AppState,
    store: &dyn Storage,
    hospital: &HospitalId,
    local_codes: &[String],
    now: i64,
) -> Result<usize, PortError> {
    if local_codes.is_empty() {
        return Ok(0);
    }
    let held = state.store.held_observations(hospital, local_codes)?;
    let results: Vec<LabResult> = held
        .iter()
        .filter_map(|o| serde_json::from_str(&o.source).ok())
        .collect();
    if results.is_empty() {
        return Ok(0);
    }
    let prepared = prepare_with(state, hospital, results, now)?;
    // Only those that are no longer held are written: a still-held result stays as it is (and
    // is not counted into the unmapped queue again).
    let released: Vec<Prepared> = prepared
        .into_iter()
        .filter(|p| p.stored.held.is_empty())
        .collect();
    let n = released.len();
    if n > 0 {
        write(store, released)?;
    }
    Ok(n)
}

/// After a national release: moves the mappings to LOINC terms that now have a national code
/// ([`move_loinc_mappings`]), then normalizes again the results kept under a LOINC code the
/// registry lacked (registry gaps, LOINC-only mappings) whose code the current registry now
/// has: they get their national code, canonical unit and recognition, and their earlier
/// version goes to the history. Returns how many results were written. Call after the catalog
/// changed.
///
/// # Errors
///
/// A storage failure (nothing of that hospital's batch is written then).
pub fn release_gaps(state: &AppState, now: i64) -> Result<usize, PortError> {
    let catalog = state.catalog();
    let moved = move_loinc_mappings(&*state.store, &catalog.registry, now)?;
    if moved > 0 {
        tracing::info!(
            mappings = moved,
            "mappings to LOINC terms moved to national codes"
        );
    }
    let gaps = state.store.gap_observations(None)?;
    let mut by_hospital: HashMap<HospitalId, Vec<LabResult>> = HashMap::new();
    for o in gaps {
        if catalog.registry.national_for_loinc(&o.loinc).is_empty() {
            continue;
        }
        if let Ok(result) = serde_json::from_str::<LabResult>(&o.source) {
            by_hospital.entry(o.hospital).or_default().push(result);
        }
    }
    let mut written = 0;
    for (hospital, results) in by_hospital {
        let prepared = prepare_with(state, &hospital, results, now)?;
        let known: Vec<Prepared> = prepared
            .into_iter()
            .filter(|p| !p.stored.national_code.is_empty())
            .collect();
        written += known.len();
        if !known.is_empty() {
            write(&*state.store, known)?;
        }
    }
    Ok(written)
}

/// The actor recorded in the history of changes huren makes on its own.
pub const SYSTEM_ACTOR: &str = "huren";

/// Moves every mapping to a LOINC term that the current national release gives a code (a
/// concept declaring that LOINC equivalent) to that code, keeping its review status, with one
/// history entry each (action `release`, by [`SYSTEM_ACTOR`]). When several national codes are
/// equivalent, the active one the mapping's unit converts into is taken; when that leaves
/// none or several, the mapping stays and the curators decide. When the mapping's unit does
/// not convert into the new code's unit, the mapping moves but goes back to `proposed` for
/// review. Returns how many mappings moved.
///
/// # Errors
///
/// A storage failure (nothing is written then).
pub fn move_loinc_mappings(
    store: &dyn Storage,
    registry: &huren_core::Registry,
    now: i64,
) -> Result<usize, PortError> {
    use huren_core::mapping::MappingChange;
    use huren_core::units::conversion_factor_with_charge;
    use huren_core::{CodeSystem, MappingStatus, Status};
    let mut writes = Vec::new();
    let mut history = Vec::new();
    for m in store.loinc_mappings()? {
        let concepts: Vec<_> = registry
            .national_for_loinc(&m.loinc)
            .iter()
            .filter_map(|c| registry.lookup(CodeSystem::National, c))
            .filter(|c| c.status != Status::Deprecated)
            .collect();
        let converts = |c: &huren_core::Concept| {
            m.unit_ucum.is_empty()
                || c.ucum_unit.is_empty()
                || conversion_factor_with_charge(
                    &m.unit_ucum,
                    &c.ucum_unit,
                    c.molar_mass,
                    c.axes
                        .as_ref()
                        .and_then(|a| huren_core::units::ion_charge(&a.component)),
                )
                .is_some()
        };
        let chosen = match concepts.as_slice() {
            [] => continue,
            [one] => one,
            many => {
                let fitting: Vec<_> = many.iter().filter(|c| converts(c)).collect();
                match fitting.as_slice() {
                    [one] => **one,
                    _ => continue,
                }
            }
        };
        let mut next = m.clone();
        next.national_code = chosen.code.clone();
        next.loinc.clear();
        next.updated_by = SYSTEM_ACTOR.to_owned();
        next.updated_at = now;
        let mut comment = format!(
            "the national release gives LOINC {} the code {} ({})",
            m.loinc, chosen.code, chosen.display_zh
        );
        if !converts(chosen) && next.status == MappingStatus::Approved {
            next.status = MappingStatus::Proposed;
            comment.push_str(&format!(
                "; the mapping's unit {} does not convert into its unit {}, so it needs review",
                m.unit_ucum, chosen.ucum_unit
            ));
        }
        history.push(MappingChange {
            hospital: m.hospital.clone(),
            local_code: m.term.local_code.clone(),
            at: now,
            by: SYSTEM_ACTOR.to_owned(),
            action: "release".into(),
            from_status: Some(m.status),
            to_status: next.status,
            from_target: m.loinc.clone(),
            to_target: next.national_code.clone(),
            comment,
        });
        writes.push(next);
    }
    if !writes.is_empty() {
        store.apply_mappings(&writes, &history)?;
    }
    Ok(writes.len())
}

/// The hospital a sender's own name for a laboratory stands for: the facility table
/// (`--mllp-facility`), or a hospital id.
fn named_hospital(
    store: &dyn Storage,
    config: &ResultsConfig,
    name: &str,
) -> Result<Option<HospitalId>, PortError> {
    let name = name.trim();
    if let Some(h) = config.facilities.get(name) {
        return Ok(Some(h.clone()));
    }
    match HospitalId::parse(name) {
        Ok(id) => Ok(store.hospital(&id)?.map(|h| h.id)),
        Err(_) => Ok(None),
    }
}

/// Why `results` may not be taken from `hospital`'s token: a result whose performing
/// laboratory (OBX-23, `Observation.performer`, the CSV's `lab_id`) is known as another
/// hospital. `None` when they may; a laboratory name huren does not know is no objection.
///
/// # Errors
///
/// A storage failure.
pub fn foreign_origin(
    state: &AppState,
    hospital: &HospitalId,
    results: &[LabResult],
) -> Result<Option<String>, PortError> {
    let mut checked: Vec<&str> = Vec::new();
    for r in results {
        let Some(performer) = r.performer.as_deref().map(str::trim) else {
            continue;
        };
        if performer.is_empty() || checked.contains(&performer) {
            continue;
        }
        checked.push(performer);
        if let Some(other) = named_hospital(&*state.store, &state.results, performer)?
            && &other != hospital
        {
            return Ok(Some(format!(
                "{}: the performing laboratory `{performer}` is hospital `{other}`; a token of \
                 `{hospital}` sends its own hospital's results only",
                r.source
            )));
        }
    }
    Ok(None)
}

/// One HL7 v2 ORU^R01 message of `hospital` (bytes as received) → the ACK to send back.
///
/// A message the parser refuses (no OBX, a malformed segment) is answered `AE`/`AR` with its
/// ERR segments and nothing of it is stored. In a parsed message, an OBX that cannot be used
/// (OBX-11 without a FHIR status) is an ERR (`AE`) and the other results are stored; held
/// results and normalization warnings are ERR warnings in an `AA`. A storage failure answers
/// `AE` with error 207 and stores nothing, so the sender retries.
pub fn hl7v2_message(
    state: &AppState,
    store: &dyn Storage,
    hospital: &HospitalId,
    bytes: &[u8],
) -> String {
    use huren_hl7v2::{AckCode, ErrorCode, Hl7Error, Severity as V2Severity};
    let now = time::OffsetDateTime::now_utc();
    let control_id = format!("HUREN{}", now.unix_timestamp_nanos() / 1_000_000);
    let message = match huren_hl7v2::parse_oru_bytes(bytes) {
        Ok(m) => m,
        Err(rejected) => {
            let header = rejected.header.as_deref().cloned().unwrap_or_default();
            return huren_hl7v2::ack(
                &header,
                rejected.ack_code(),
                &rejected.errors,
                &control_id,
                now,
            );
        }
    };
    let patients = state.results.patients(&state.urls, hospital);
    let options = huren_hl7v2::ResultOptions {
        patients: &patients,
        default_offset_minutes: state.results.default_offset_minutes,
    };
    let (results, mut errors) = huren_hl7v2::lab_results(&message, &options);
    // The message must come from the token's own hospital: MSH-4 and every OBX-23.
    let refuse = |text: String| {
        let error = Hl7Error::Application {
            at: None,
            code: ErrorCode::UnknownKeyIdentifier,
            severity: V2Severity::Error,
            text,
        };
        huren_hl7v2::ack(&message.header, AckCode::Reject, &[error], &control_id, now)
    };
    let facility = &message.header.sending_facility;
    for name in [&facility.namespace_id, &facility.universal_id] {
        if name.trim().is_empty() {
            continue;
        }
        match named_hospital(&*state.store, &state.results, name) {
            Ok(Some(other)) if &other != hospital => {
                return refuse(format!(
                    "MSH-4 sending facility `{name}` is hospital `{other}`; this token sends \
                     for `{hospital}` only; nothing was stored"
                ));
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "checking MSH-4 failed"),
        }
    }
    match foreign_origin(state, hospital, &results) {
        Ok(Some(why)) => return refuse(format!("{why}; nothing was stored")),
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "checking the performing laboratories failed"),
    }
    let sources: Vec<String> = results.iter().map(|r| r.source.clone()).collect();
    match ingest(state, store, hospital, results, now_millis()) {
        Ok(written) => {
            for (w, source) in written.iter().zip(&sources) {
                if let Some(hold) = &w.prepared.hold {
                    errors.push(Hl7Error::Application {
                        at: None,
                        code: ErrorCode::UnknownKeyIdentifier,
                        severity: V2Severity::Warning,
                        text: format!("{source}: {hold}"),
                    });
                }
                for i in &w.prepared.issues {
                    if i.severity == huren_core::normalize::Severity::Warning
                        && w.prepared.hold.is_none()
                    {
                        let code = match i.code {
                            "unmapped" | "not-approved" | "no-concept" | "registry-gap" => {
                                ErrorCode::UnknownKeyIdentifier
                            }
                            _ => ErrorCode::DataType,
                        };
                        errors.push(Hl7Error::Application {
                            at: None,
                            code,
                            severity: V2Severity::Warning,
                            text: format!("{source}: {}", i.message),
                        });
                    }
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "storing an HL7 v2 message failed");
            errors.push(Hl7Error::Application {
                at: None,
                code: ErrorCode::ApplicationInternalError,
                severity: V2Severity::Error,
                text: "the results could not be stored; nothing was stored, send again".into(),
            });
        }
    }
    let code = AckCode::for_errors(&errors);
    huren_hl7v2::ack(&message.header, code, &errors, &control_id, now)
}

/// The hospital an MLLP message comes from: its MSH-4 (sending facility) through
/// [`ResultsConfig::facilities`].
pub fn facility_hospital(config: &ResultsConfig, bytes: &[u8]) -> Option<HospitalId> {
    let decoded = huren_hl7v2::decode(bytes).ok()?;
    let header = huren_hl7v2::read_header(&decoded.text)?;
    let f = &header.sending_facility;
    [&f.namespace_id, &f.universal_id]
        .into_iter()
        .filter(|k| !k.is_empty())
        .find_map(|k| config.facilities.get(k.as_str()).cloned())
}
