//! `CodeSystem/$validate-code`: is this code (and display) valid? Answers are values: a bad
//! code is `result=false` with a message, not an HTTP error.

use super::{State, code_system_param, fhir, release_of};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::params::Params;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use huren_core::{Language, Status};

pub async fn validate_code(
    _who: Principal,
    state: State,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_request(&req, &body)?;
    let (name, value) = match (params.get("url")?, params.get("system")?) {
        (Some(u), _) => ("url", u),
        (None, Some(s)) => ("system", s),
        (None, None) => return Err(ApiError::param("url", "is required (or `system`)")),
    };
    let system = code_system_param(&state, name, value)?;
    let code = params.required("code")?;
    let display = params.get("display")?;
    let catalog = state.catalog();
    let release = release_of(&catalog, system, params.get("version")?)?;
    if let Err(problem) = system.check_code(code) {
        return Ok(fhir(huren_fhir::validate_code(
            false,
            Some(&problem.to_string()),
            None,
        )));
    }
    let current = catalog.registry.current(system);
    let concept = if current.is_some_and(|c| c.release.id == release.id) {
        current.and_then(|c| c.get(code)).map(|c| (**c).clone())
    } else {
        let store = state.store.clone();
        let (id, code) = (release.id, code.to_owned());
        super::blocking(move || Ok(store.concept(id, &code)?)).await?
    };
    let Some(concept) = concept else {
        let msg = format!(
            "Unknown code `{code}` in {} (release {})",
            state.urls.code_system(system),
            release.label
        );
        return Ok(fhir(huren_fhir::validate_code(false, Some(&msg), None)));
    };
    let shown = concept.display(Language::Zh).to_owned();
    if concept.status == Status::Deprecated {
        let mut msg = format!("code `{code}` is DEPRECATED");
        if !concept.replaced_by.is_empty() {
            msg.push_str(&format!("; use {} instead", concept.replaced_by));
        }
        return Ok(fhir(huren_fhir::validate_code(
            false,
            Some(&msg),
            Some(&shown),
        )));
    }
    if let Some(d) = display
        && !concept.has_name(d)
    {
        let msg = format!(
            "display `{d}` does not match code `{code}`; expected `{}` or `{}`",
            concept.display_zh, concept.display_en
        );
        return Ok(fhir(huren_fhir::validate_code(
            false,
            Some(&msg),
            Some(&shown),
        )));
    }
    Ok(fhir(huren_fhir::validate_code(true, None, Some(&shown))))
}
