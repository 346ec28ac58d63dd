//! `ConceptMap/$translate` and `GET /fhir/ConceptMap/{id}`: the LOINC ↔ national
//! cross-reference, in both directions, and each hospital's local ↔ national map.

use super::hospitals::{existing, may_read};
use super::{State, blocking, code_system_param, fhir};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::params::Params;
use actix_web::web::{Bytes, Path};
use actix_web::{HttpRequest, HttpResponse};
use huren_core::{CodeSystem, Equivalence, HospitalId, Mapping, MappingStatus};
use huren_fhir::{CodedMatch, LocalMapElement, TranslateMatch};

/// The id of the one ConceptMap huren serves so far.
const MAP_ID: &str = "loinc-national-lab";

pub async fn translate(
    who: Principal,
    state: State,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_request(&req, &body)?;
    if let Some(answer) = translate_local(&who, &state, &params).await? {
        return Ok(answer);
    }
    if let Some(url) = params.get("url")?
        && url.split('|').next() != Some(state.urls.concept_map().as_str())
    {
        return Err(ApiError::NotFound(format!("unknown ConceptMap `{url}`")));
    }
    let source = code_system_param(&state, "system", params.required("system")?)?;
    let code = params.required("code")?;
    let other = match source {
        CodeSystem::National => CodeSystem::Loinc,
        CodeSystem::Loinc => CodeSystem::National,
    };
    // `targetsystem` (R4) or `target` names the other side; without it, the other system.
    // `reverse=true` is accepted: the direction follows from the two systems either way.
    let target = match (params.get("targetsystem")?, params.get("target")?) {
        (Some(t), _) => code_system_param(&state, "targetsystem", t)?,
        (None, Some(t)) => state
            .urls
            .parse_code_system(t)
            .or_else(|| state.urls.parse_value_set(t))
            .ok_or_else(|| ApiError::param("target", format!("unknown target `{t}`")))?,
        (None, None) => other,
    };
    params.bool("reverse")?;
    if target == source {
        return Err(ApiError::param(
            "targetsystem",
            "source and target are the same code system",
        ));
    }
    let catalog = state.catalog();
    let registry = &catalog.registry;
    let version = |s| registry.current(s).map_or("", |c| c.release.label.as_str());
    let mut matches = Vec::new();
    let mut message = None;
    match source {
        CodeSystem::Loinc => {
            for n in registry.national_for_loinc(code) {
                if let Some(c) = registry.lookup(CodeSystem::National, n) {
                    matches.push(TranslateMatch {
                        system: CodeSystem::National,
                        version: version(CodeSystem::National),
                        concept: c,
                    });
                }
            }
        }
        CodeSystem::National => match registry.lookup(CodeSystem::National, code) {
            None => message = Some(format!("national code `{code}` is unknown")),
            Some(n) if n.loinc.is_empty() => {
                message = Some(format!("national code `{code}` has no LOINC equivalent"));
            }
            Some(n) => match registry.lookup(CodeSystem::Loinc, &n.loinc) {
                Some(l) => matches.push(TranslateMatch {
                    system: CodeSystem::Loinc,
                    version: version(CodeSystem::Loinc),
                    concept: l,
                }),
                None => {
                    message = Some(format!(
                        "the LOINC equivalent {} is not in the loaded LOINC release",
                        n.loinc
                    ));
                }
            },
        },
    }
    if matches.is_empty() && message.is_none() {
        message = Some(format!("no national code is mapped to LOINC `{code}`"));
    }
    Ok(fhir(huren_fhir::translate(
        &state.urls,
        &matches,
        message.as_deref(),
    )))
}

pub async fn read(
    who: Principal,
    state: State,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    if id.as_str() != MAP_ID {
        return hospital_map(&who, &state, &id).await;
    }
    let catalog = state.catalog();
    let national = catalog
        .registry
        .current(CodeSystem::National)
        .ok_or_else(|| ApiError::NotFound("no national release is loaded".into()))?;
    let pairs: Vec<(&str, &huren_core::Concept)> = national
        .concepts
        .iter()
        .filter(|c| !c.loinc.is_empty())
        .map(|c| (c.loinc.as_str(), &**c))
        .collect();
    Ok(fhir(huren_fhir::concept_map(
        &state.urls,
        &national.release.label,
        &pairs,
    )))
}

/// `GET /fhir/ConceptMap/{hospital}`: the hospital's approved mappings, local → national.
async fn hospital_map(who: &Principal, state: &State, id: &str) -> Result<HttpResponse, ApiError> {
    let unknown = || ApiError::NotFound(format!("ConceptMap/{id} is not known"));
    let hospital = HospitalId::parse(id).map_err(|_| unknown())?;
    let h = match existing(state, &hospital).await {
        Err(ApiError::NotFound(_)) => return Err(unknown()),
        other => other?,
    };
    may_read(who, &hospital)?;
    let store = state.store.clone();
    let key = hospital.clone();
    let mappings = blocking(move || Ok(store.mappings(&key)?)).await?;
    let catalog = state.catalog();
    let registry = &catalog.registry;
    let elements: Vec<LocalMapElement<'_>> = mappings
        .iter()
        // The map's target is the national code system: a mapping to a LOINC term without a
        // national code is not in it (`GET /api/hospitals/{id}/mappings` lists those).
        .filter(|m| m.status == MappingStatus::Approved && !m.national_code.is_empty())
        .map(|m| LocalMapElement {
            local_code: &m.term.local_code,
            local_name: &m.term.local_name,
            national_code: &m.national_code,
            national_display: registry
                .lookup(CodeSystem::National, &m.national_code)
                .map_or("", |c| c.display_zh.as_str()),
            equivalence: m.equivalence,
        })
        .collect();
    let version = registry
        .current(CodeSystem::National)
        .map_or("", |c| c.release.label.as_str());
    Ok(fhir(huren_fhir::hospital_concept_map(
        &state.urls,
        hospital.as_str(),
        &h.name,
        version,
        &elements,
    )))
}

/// `$translate` from or to a hospital's local code system, through its approved mappings.
/// `None` when neither side (nor `url`) names a local code system.
async fn translate_local(
    who: &Principal,
    state: &State,
    params: &Params,
) -> Result<Option<HttpResponse>, ApiError> {
    let urls = &state.urls;
    let source = params.get("system")?;
    let target = params.get("targetsystem")?.or(params.get("target")?);
    let from_local = source.and_then(|u| urls.parse_local_code_system(u));
    let to_local = target.and_then(|u| urls.parse_local_code_system(u));
    let by_url = params.get("url")?.and_then(|u| {
        u.split('|')
            .next()
            .and_then(|u| u.strip_prefix(&format!("{}/ConceptMap/", urls.base)))
            .filter(|id| *id != MAP_ID)
    });
    let Some(raw) = from_local.or(to_local).or(by_url) else {
        return Ok(None);
    };
    let hospital = HospitalId::parse(raw).map_err(|e| ApiError::param("system", e.to_string()))?;
    may_read(who, &hospital)?;
    existing(state, &hospital).await?;
    let code = params.required("code")?.to_owned();
    let reverse = params.bool("reverse")? || to_local.is_some();
    let approved = |m: &&Mapping| m.status == MappingStatus::Approved && !m.is_unmapped();
    let catalog = state.catalog();
    let registry = &catalog.registry;
    let national_url = urls.code_system(CodeSystem::National);
    let local_url = urls.local_code_system(hospital.as_str());
    let map_url = urls.hospital_concept_map(hospital.as_str());
    let version = registry
        .current(CodeSystem::National)
        .map(|c| c.release.label.clone());
    let answer = if reverse {
        // national → local: the national code (or a LOINC code through the registry).
        let national: Vec<String> = match source.and_then(|s| urls.parse_code_system(s)) {
            Some(CodeSystem::Loinc) => registry.national_for_loinc(&code).to_vec(),
            _ => vec![code.clone()],
        };
        // Scans the hospital's table: the reverse direction is rare (a few per request at
        // most), and a hospital has thousands of local codes, not millions.
        let store = state.store.clone();
        let key = hospital.clone();
        let mappings = blocking(move || Ok(store.mappings(&key)?)).await?;
        let found: Vec<_> = mappings
            .iter()
            .filter(approved)
            .filter(|m| national.contains(&m.national_code))
            .map(|m| CodedMatch {
                system: &local_url,
                version: None,
                code: &m.term.local_code,
                display: &m.term.local_name,
                equivalence: reverse_equivalence(m.equivalence),
                source: &map_url,
            })
            .collect();
        let message = found
            .is_empty()
            .then(|| format!("hospital `{hospital}` has no approved local code for `{code}`"));
        huren_fhir::translate_codings(&found, message.as_deref())
    } else {
        // local → national is the hot direction: one keyed read, from memory when the
        // hospital's table is loaded.
        let pending = match state.store.mapping_in_memory(&hospital, &code) {
            Some(found) => found,
            None => {
                let store = state.store.clone();
                let (key, local) = (hospital.clone(), code.clone());
                blocking(move || Ok(store.mapping(&key, &local)?)).await?
            }
        };
        let hit = pending.as_ref().filter(approved);
        let found: Vec<_> = hit
            .iter()
            .map(|m| CodedMatch {
                system: &national_url,
                version: version.as_deref(),
                code: &m.national_code,
                display: registry
                    .lookup(CodeSystem::National, &m.national_code)
                    .map_or("", |c| c.display_zh.as_str()),
                equivalence: m.equivalence,
                source: &map_url,
            })
            .collect();
        let message = match (hit, pending.as_ref()) {
            (Some(_), _) => None,
            (None, Some(m)) if m.is_unmapped() => Some(format!(
                "local code `{code}` of `{hospital}` is not mapped yet (queued for curators)"
            )),
            (None, Some(m)) => Some(format!(
                "the mapping of local code `{code}` of `{hospital}` is {}, not approved",
                m.status
            )),
            (None, None) => Some(format!("hospital `{hospital}` has no local code `{code}`")),
        };
        huren_fhir::translate_codings(&found, message.as_deref())
    };
    Ok(Some(fhir(answer)))
}

/// The equivalence seen from the other side: a wider target means a narrower source.
fn reverse_equivalence(e: Equivalence) -> Equivalence {
    match e {
        Equivalence::Wider => Equivalence::Narrower,
        Equivalence::Narrower => Equivalence::Wider,
        other => other,
    }
}
