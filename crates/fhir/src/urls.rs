//! Canonical URLs of the code systems, value sets and concept map, and their parsing.
//!
//! LOINC's URLs are fixed by HL7 (`http://loinc.org`, `http://loinc.org/vs`); the national ones
//! hang off a configurable base, because the canonical base of a deployment is a policy decision
//! and not something this crate should guess.

use huren_core::CodeSystem;
use huren_core::code::LOINC_URL;

/// The canonical base used when the caller configures none.
pub const DEFAULT_BASE: &str = "http://huren.example/fhir";

/// LOINC's implicit "all codes" value set, as HL7 names it.
const LOINC_VS_URL: &str = "http://loinc.org/vs";

/// The suffix that turns a code-system URL into its implicit value set of all codes.
const IMPLICIT_VS_SUFFIX: &str = "?fhir_vs";

/// Canonical URLs of everything this service publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urls {
    /// The canonical base, without a trailing `/`.
    pub base: String,
}

impl Default for Urls {
    fn default() -> Urls {
        Urls::new(DEFAULT_BASE)
    }
}

impl Urls {
    /// Trims trailing `/` so that `{base}/CodeSystem/…` never has a doubled slash.
    pub fn new(base: impl Into<String>) -> Urls {
        let mut base = base.into();
        let trimmed = base.trim_end_matches('/').len();
        base.truncate(trimmed);
        Urls { base }
    }

    /// The canonical URL of a code system.
    pub fn code_system(&self, s: CodeSystem) -> String {
        match s {
            CodeSystem::National => format!("{}/CodeSystem/national-lab", self.base),
            CodeSystem::Loinc => LOINC_URL.to_owned(),
        }
    }

    /// The canonical URL of the value set of all codes of a code system.
    pub fn value_set(&self, s: CodeSystem) -> String {
        match s {
            CodeSystem::National => format!("{}/ValueSet/national-lab", self.base),
            CodeSystem::Loinc => LOINC_VS_URL.to_owned(),
        }
    }

    /// The canonical URL of a hospital's local code system.
    pub fn local_code_system(&self, hospital: &str) -> String {
        format!("{}/CodeSystem/local/{hospital}", self.base)
    }

    /// The hospital whose local code system `url` is (`{base}/CodeSystem/local/{hospital}`).
    pub fn parse_local_code_system<'u>(&self, url: &'u str) -> Option<&'u str> {
        let rest = strip_version(url).strip_prefix(self.base.as_str())?;
        let id = rest.strip_prefix("/CodeSystem/local/")?;
        (!id.is_empty() && !id.contains('/')).then_some(id)
    }

    /// The canonical URL of a hospital's local → national concept map.
    pub fn hospital_concept_map(&self, hospital: &str) -> String {
        format!("{}/ConceptMap/{hospital}", self.base)
    }

    /// The canonical URL of the LOINC → national concept map.
    pub fn concept_map(&self) -> String {
        format!("{}/ConceptMap/loinc-national-lab", self.base)
    }

    /// Which code system a `system` parameter names: one of the canonical URLs (a `|version`
    /// suffix is ignored, since the version travels in its own parameter), or a short name for
    /// people typing queries by hand.
    pub fn parse_code_system(&self, url: &str) -> Option<CodeSystem> {
        let url = strip_version(url);
        if let Some(s) = self.match_url(url, |u, s| u.code_system(s)) {
            return Some(s);
        }
        match url.to_ascii_lowercase().as_str() {
            "national" | "national-lab" => Some(CodeSystem::National),
            "loinc" => Some(CodeSystem::Loinc),
            _ => None,
        }
    }

    /// Which code system's "all codes" value set a `url` parameter names: the value-set URL, or
    /// the code-system URL followed by `?fhir_vs` (FHIR's implicit value set).
    pub fn parse_value_set(&self, url: &str) -> Option<CodeSystem> {
        let url = strip_version(url);
        if let Some(s) = self.match_url(url, |u, s| u.value_set(s)) {
            return Some(s);
        }
        let system_url = url.strip_suffix(IMPLICIT_VS_SUFFIX)?;
        self.match_url(system_url, |u, s| u.code_system(s))
    }

    /// The code system whose URL (as `url_of` builds it) equals `url`, tolerating a trailing `/`.
    fn match_url(&self, url: &str, url_of: fn(&Urls, CodeSystem) -> String) -> Option<CodeSystem> {
        let url = url.trim_end_matches('/');
        CodeSystem::ALL
            .into_iter()
            .find(|&s| url_of(self, s) == url)
    }
}

/// Drops a canonical's `|version` suffix and surrounding space.
fn strip_version(url: &str) -> &str {
    url.split_once('|').map_or(url, |(u, _)| u).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_cs(input: &str, expected: Option<CodeSystem>) {
        let urls = Urls::new("http://huren.example/fhir/");
        assert_eq!(urls.parse_code_system(input), expected, "{input:?}");
    }

    fn check_vs(input: &str, expected: Option<CodeSystem>) {
        let urls = Urls::default();
        assert_eq!(urls.parse_value_set(input), expected, "{input:?}");
    }

    #[test]
    fn urls_are_built_from_a_trimmed_base() {
        let urls = Urls::new("https://terminology.example.cn/fhir//");
        assert_eq!(urls.base, "https://terminology.example.cn/fhir");
        assert_eq!(
            urls.code_system(CodeSystem::National),
            "https://terminology.example.cn/fhir/CodeSystem/national-lab"
        );
        assert_eq!(urls.code_system(CodeSystem::Loinc), "http://loinc.org");
        assert_eq!(
            urls.value_set(CodeSystem::National),
            "https://terminology.example.cn/fhir/ValueSet/national-lab"
        );
        assert_eq!(urls.value_set(CodeSystem::Loinc), "http://loinc.org/vs");
        assert_eq!(
            urls.concept_map(),
            "https://terminology.example.cn/fhir/ConceptMap/loinc-national-lab"
        );
        assert_eq!(Urls::default().base, DEFAULT_BASE);
    }

    #[test]
    fn code_system_urls_and_short_names() {
        use CodeSystem::{Loinc, National};
        check_cs(
            "http://huren.example/fhir/CodeSystem/national-lab",
            Some(National),
        );
        check_cs(
            "http://huren.example/fhir/CodeSystem/national-lab|2026.1",
            Some(National),
        );
        check_cs("http://loinc.org", Some(Loinc));
        check_cs("http://loinc.org/", Some(Loinc));
        check_cs("http://loinc.org|2.80", Some(Loinc));
        check_cs(" http://loinc.org ", Some(Loinc));
        check_cs("NATIONAL", Some(National));
        check_cs("national", Some(National));
        check_cs("National-Lab", Some(National));
        check_cs("LOINC", Some(Loinc));
        check_cs("loinc|2.80", Some(Loinc));
        check_cs("http://snomed.info/sct", None);
        check_cs("http://other.example/fhir/CodeSystem/national-lab", None);
        check_cs("http://loinc.org/vs", None);
        check_cs("", None);
    }

    #[test]
    fn value_set_urls_and_implicit_value_sets() {
        use CodeSystem::{Loinc, National};
        check_vs(
            "http://huren.example/fhir/ValueSet/national-lab",
            Some(National),
        );
        check_vs(
            "http://huren.example/fhir/ValueSet/national-lab|2026.1",
            Some(National),
        );
        check_vs("http://loinc.org/vs", Some(Loinc));
        check_vs("http://loinc.org/vs|2.80", Some(Loinc));
        check_vs("http://loinc.org?fhir_vs", Some(Loinc));
        check_vs(
            "http://huren.example/fhir/CodeSystem/national-lab?fhir_vs",
            Some(National),
        );
        check_vs("http://loinc.org?fhir_vs=isa/LP14635-4", None);
        check_vs("http://loinc.org", None);
        check_vs("loinc", None);
        check_vs("http://huren.example/fhir/CodeSystem/national-lab", None);
    }
}
