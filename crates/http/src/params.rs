//! Operation parameters from a query string, a form body, or a FHIR `Parameters` body, with
//! errors that name the parameter.

use crate::error::ApiError;
use actix_web::HttpRequest;
use actix_web::web::{Bytes, Query};

/// Name/value pairs of one request, in order.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Reads the query string and, for a POST, the body: `application/fhir+json` or
    /// `application/json` as a `Parameters` resource, or `application/x-www-form-urlencoded`.
    pub fn from_request(req: &HttpRequest, body: &Bytes) -> Result<Params, ApiError> {
        let mut pairs = Query::<Vec<(String, String)>>::from_query(req.query_string())
            .map_err(|e| ApiError::Body(format!("malformed query string: {e}")))?
            .into_inner();
        if !body.is_empty() {
            let ct = req
                .headers()
                .get(actix_web::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if ct.starts_with("application/x-www-form-urlencoded") {
                let form = std::str::from_utf8(body)
                    .map_err(|_| ApiError::Body("form body is not UTF-8".into()))?;
                pairs.extend(
                    Query::<Vec<(String, String)>>::from_query(form)
                        .map_err(|e| ApiError::Body(format!("malformed form body: {e}")))?
                        .into_inner(),
                );
            } else if ct.contains("json") || ct.is_empty() {
                pairs.extend(
                    huren_fhir::parse_parameters(body)
                        .map_err(|e| ApiError::Body(e.to_string()))?,
                );
            } else {
                return Err(ApiError::Body(format!(
                    "unsupported Content-Type `{ct}`: send application/fhir+json Parameters or a form"
                )));
            }
        }
        Ok(Params(pairs))
    }

    /// The value of `name`, if given and non-empty. A parameter given twice with different
    /// values is an error: silently picking one would answer a question nobody asked.
    pub fn get(&self, name: &str) -> Result<Option<&str>, ApiError> {
        let mut found: Option<&str> = None;
        for (k, v) in &self.0 {
            if k == name && !v.is_empty() {
                match found {
                    Some(prev) if prev != v => {
                        return Err(ApiError::param(name, "given more than once"));
                    }
                    _ => found = Some(v),
                }
            }
        }
        Ok(found)
    }

    /// Every non-empty value of `name`, in order (search parameters that may repeat, like
    /// `date=ge…&date=le…`).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The parameter names given, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name)?
            .ok_or_else(|| ApiError::param(name, "is required"))
    }

    /// A non-negative integer parameter, at most `max`.
    pub fn usize(&self, name: &str, default: usize, max: usize) -> Result<usize, ApiError> {
        match self.get(name)? {
            None => Ok(default),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n <= max => Ok(n),
                Ok(_) => Err(ApiError::param(name, format!("must be at most {max}"))),
                Err(_) => Err(ApiError::param(
                    name,
                    format!("`{v}` is not a non-negative integer"),
                )),
            },
        }
    }

    /// A boolean parameter (`true`/`false`).
    pub fn bool(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name)? {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(v) => Err(ApiError::param(name, format!("`{v}` is not true or false"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn params(query: &str) -> Params {
        let req = TestRequest::get()
            .uri(&format!("/x?{query}"))
            .to_http_request();
        Params::from_request(&req, &Bytes::new()).unwrap()
    }

    #[test]
    fn query_parameters() {
        let p = params("system=http%3A%2F%2Floinc.org&code=14749-6&count=5&flag=true");
        assert_eq!(p.get("system").unwrap(), Some("http://loinc.org"));
        assert_eq!(p.required("code").unwrap(), "14749-6");
        assert_eq!(p.usize("count", 10, 100).unwrap(), 5);
        assert_eq!(p.usize("offset", 0, 100).unwrap(), 0);
        assert!(p.bool("flag").unwrap());
        assert!(p.required("missing").is_err());
    }

    #[test]
    fn bad_values_name_the_parameter() {
        let p = params("count=-1&code=a&code=b&reverse=yes");
        for (name, r) in [
            ("count", p.usize("count", 0, 10).map(|_| ())),
            ("code", p.get("code").map(|_| ())),
            ("reverse", p.bool("reverse").map(|_| ())),
        ] {
            match r {
                Err(ApiError::Param { param, .. }) => assert_eq!(param, name),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn form_body() {
        let req = TestRequest::post()
            .uri("/x")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .to_http_request();
        let p = Params::from_request(&req, &Bytes::from_static(b"code=718-7")).unwrap();
        assert_eq!(p.get("code").unwrap(), Some("718-7"));
    }
}
