//! `CodeSystem/$lookup`: everything the registry knows about one code.

use super::{State, blocking, code_system_param, fhir_bytes, language, release_of};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::params::Params;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use huren_core::{CodeSystem, Concept};
use huren_fhir::LookupInput;
use std::sync::Arc;

pub async fn lookup(
    _who: Principal,
    state: State,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_request(&req, &body)?;
    let system = code_system_param(&state, "system", params.required("system")?)?;
    let code = params.required("code")?;
    let lang = language(&params, &req)?;
    let catalog = state.catalog();
    let release = release_of(&catalog, system, params.get("version")?)?.clone();
    let current = catalog.registry.current(system);
    let of_current = current.is_some_and(|c| c.release.id == release.id);
    // An answer about a current release depends on nothing but the catalog: kept with it.
    let key = (system, code.to_owned(), lang.tag());
    if of_current && let Some(answer) = catalog.lookups.get(&key) {
        return Ok(fhir_bytes(answer));
    }
    let concept: Arc<Concept> = if of_current {
        current.and_then(|c| c.get(code)).cloned()
    } else {
        let store = state.store.clone();
        let (id, code) = (release.id, code.to_owned());
        blocking(move || Ok(store.concept(id, &code)?))
            .await?
            .map(Arc::new)
    }
    .ok_or_else(|| {
        ApiError::NotFound(format!(
            "code `{code}` is not in {system} release {}",
            release.label
        ))
    })?;
    // The cross-reference always comes from the current releases.
    let stub;
    let mut equivalents: Vec<&Concept> = Vec::new();
    match system {
        CodeSystem::National if !concept.loinc.is_empty() => {
            match catalog.registry.lookup(CodeSystem::Loinc, &concept.loinc) {
                Some(l) => equivalents.push(l),
                None => {
                    stub = Concept {
                        code: concept.loinc.clone(),
                        ..stub_concept()
                    };
                    equivalents.push(&stub);
                }
            }
        }
        CodeSystem::National => {}
        CodeSystem::Loinc => {
            for n in catalog.registry.national_for_loinc(&concept.code) {
                if let Some(c) = catalog.registry.lookup(CodeSystem::National, n) {
                    equivalents.push(c);
                }
            }
        }
    }
    let answer = Bytes::from(huren_fhir::lookup(
        &state.urls,
        &LookupInput {
            system,
            release: &release,
            concept: &concept,
            lang,
            equivalents,
        },
    ));
    if of_current {
        catalog.lookups.put(key, answer.clone());
    }
    Ok(fhir_bytes(answer))
}

/// A concept known only by its code (a LOINC code not in the loaded LOINC subset).
fn stub_concept() -> Concept {
    Concept {
        code: String::new(),
        axes: None,
        class: String::new(),
        display_zh: String::new(),
        display_en: String::new(),
        short_name: String::new(),
        abbreviations: Vec::new(),
        synonyms_zh: Vec::new(),
        synonyms_en: Vec::new(),
        ucum_unit: String::new(),
        molar_mass: None,
        status: huren_core::Status::Active,
        replaced_by: String::new(),
        loinc: String::new(),
    }
}
