//! `OperationOutcome`: how every error of the service reaches a FHIR client.
//!
//! The HTTP layer picks the status code and the issue; this module only renders it. Because it
//! is the error path itself, [`operation_outcome`] must never fail or panic.

use crate::wire::non_empty;
use fhir_model::r4b::codes::{IssueSeverity, IssueType};
use fhir_model::r4b::resources::{OperationOutcome, OperationOutcomeIssue, Resource};

/// How bad an issue is (FHIR `issue-severity`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Fatal,
    Error,
    Warning,
    Information,
}

/// What kind of issue it is: the subset of FHIR R4's `issue-type` codes the service reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueCode {
    Invalid,
    Required,
    Value,
    NotFound,
    NotSupported,
    Security,
    Login,
    Forbidden,
    Processing,
    Exception,
    TooCostly,
    /// The content is longer than allowed (`too-long`).
    TooLong,
    Conflict,
    Duplicate,
    Incomplete,
    BusinessRule,
    CodeInvalid,
    Throttled,
    Timeout,
    /// A note, not a problem (`informational`).
    Informational,
}

impl IssueCode {
    /// The R4 `issue-type` code, as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            IssueCode::Invalid => "invalid",
            IssueCode::Required => "required",
            IssueCode::Value => "value",
            IssueCode::NotFound => "not-found",
            IssueCode::TooLong => "too-long",
            IssueCode::NotSupported => "not-supported",
            IssueCode::Security => "security",
            IssueCode::Login => "login",
            IssueCode::Forbidden => "forbidden",
            IssueCode::Processing => "processing",
            IssueCode::Exception => "exception",
            IssueCode::TooCostly => "too-costly",
            IssueCode::Conflict => "conflict",
            IssueCode::Duplicate => "duplicate",
            IssueCode::Incomplete => "incomplete",
            IssueCode::BusinessRule => "business-rule",
            IssueCode::CodeInvalid => "code-invalid",
            IssueCode::Throttled => "throttled",
            IssueCode::Timeout => "timeout",
            IssueCode::Informational => "informational",
        }
    }

    fn to_fhir(self) -> IssueType {
        match self {
            IssueCode::Invalid => IssueType::Invalid,
            IssueCode::Required => IssueType::Required,
            IssueCode::Value => IssueType::Value,
            IssueCode::NotFound => IssueType::NotFound,
            IssueCode::NotSupported => IssueType::NotSupported,
            IssueCode::Security => IssueType::Security,
            IssueCode::Login => IssueType::Login,
            IssueCode::Forbidden => IssueType::Forbidden,
            IssueCode::Processing => IssueType::Processing,
            IssueCode::Exception => IssueType::Exception,
            IssueCode::TooCostly => IssueType::TooCostly,
            IssueCode::TooLong => IssueType::TooLong,
            IssueCode::Conflict => IssueType::Conflict,
            IssueCode::Duplicate => IssueType::Duplicate,
            IssueCode::Incomplete => IssueType::Incomplete,
            IssueCode::BusinessRule => IssueType::BusinessRule,
            IssueCode::CodeInvalid => IssueType::CodeInvalid,
            IssueCode::Throttled => IssueType::Throttled,
            IssueCode::Timeout => IssueType::Timeout,
            IssueCode::Informational => IssueType::Informational,
        }
    }
}

impl Severity {
    fn to_fhir(self) -> IssueSeverity {
        match self {
            Severity::Fatal => IssueSeverity::Fatal,
            Severity::Error => IssueSeverity::Error,
            Severity::Warning => IssueSeverity::Warning,
            Severity::Information => IssueSeverity::Information,
        }
    }
}

/// One issue of an `OperationOutcome`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    pub severity: Severity,
    pub code: IssueCode,
    /// Human-readable detail; left out of the JSON when empty.
    pub diagnostics: String,
    /// FHIRPath expressions of the elements (or request parameters) at fault.
    pub expression: Vec<String>,
}

/// Renders an `OperationOutcome` with these issues.
///
/// FHIR requires at least one issue, so an empty list renders as a single informational
/// "no issues" entry.
pub fn operation_outcome(issues: &[Issue]) -> Vec<u8> {
    match try_operation_outcome(issues) {
        Ok(bytes) => bytes,
        Err(e) => internal_error(&e.to_string()),
    }
}

fn try_operation_outcome(issues: &[Issue]) -> Result<Vec<u8>, crate::FhirError> {
    let mut built = Vec::with_capacity(issues.len().max(1));
    for i in issues {
        let mut b = OperationOutcomeIssue::builder()
            .severity(i.severity.to_fhir())
            .code(i.code.to_fhir());
        if let Some(d) = non_empty(&i.diagnostics) {
            b = b.diagnostics(d.to_owned());
        }
        let expression: Vec<Option<String>> = i
            .expression
            .iter()
            .filter_map(|e| non_empty(e).map(|e| Some(e.to_owned())))
            .collect();
        if !expression.is_empty() {
            b = b.expression(expression);
        }
        built.push(Some(b.build()?));
    }
    if built.is_empty() {
        built.push(Some(
            OperationOutcomeIssue::builder()
                .severity(IssueSeverity::Information)
                .code(IssueType::Informational)
                .diagnostics("no issues".to_owned())
                .build()?,
        ));
    }
    let oo = OperationOutcome::builder().issue(built).build()?;
    serde_json::to_vec(&Resource::from(oo)).map_err(crate::FhirError::Serialize)
}

/// The last resort when a resource cannot be built or serialized: a minimal OperationOutcome
/// written by hand.
///
/// This is the one place that does not go through fhir-model, on purpose: it runs exactly when
/// the typed path has just failed, so it must not depend on it. The message is escaped with
/// serde_json's string serializer, which cannot fail for a `&str`.
pub(crate) fn internal_error(message: &str) -> Vec<u8> {
    let diagnostics = serde_json::to_string(message)
        .unwrap_or_else(|_| "\"internal error while rendering FHIR JSON\"".to_owned());
    format!(
        r#"{{"resourceType":"OperationOutcome","issue":[{{"severity":"fatal","code":"exception","diagnostics":{diagnostics}}}]}}"#
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const ALL: [IssueCode; 18] = [
        IssueCode::Invalid,
        IssueCode::Required,
        IssueCode::Value,
        IssueCode::NotFound,
        IssueCode::NotSupported,
        IssueCode::Security,
        IssueCode::Login,
        IssueCode::Forbidden,
        IssueCode::Processing,
        IssueCode::Exception,
        IssueCode::TooCostly,
        IssueCode::Conflict,
        IssueCode::Duplicate,
        IssueCode::Incomplete,
        IssueCode::BusinessRule,
        IssueCode::CodeInvalid,
        IssueCode::Throttled,
        IssueCode::Timeout,
    ];

    fn issue(severity: Severity, code: IssueCode, diagnostics: &str) -> Issue {
        Issue {
            severity,
            code,
            diagnostics: diagnostics.to_owned(),
            expression: vec![],
        }
    }

    fn code_on_the_wire(code: IssueCode) -> String {
        let bytes = operation_outcome(&[issue(Severity::Error, code, "x")]);
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        v["issue"][0]["code"].as_str().unwrap().to_owned()
    }

    #[test]
    fn issue_codes_map_to_r4_issue_types() {
        let expected = [
            "invalid",
            "required",
            "value",
            "not-found",
            "not-supported",
            "security",
            "login",
            "forbidden",
            "processing",
            "exception",
            "too-costly",
            "conflict",
            "duplicate",
            "incomplete",
            "business-rule",
            "code-invalid",
            "throttled",
            "timeout",
        ];
        for (code, want) in ALL.into_iter().zip(expected) {
            assert_eq!(code_on_the_wire(code), want, "{code:?}");
            assert_eq!(code.as_str(), want, "{code:?}");
        }
    }

    #[test]
    fn severities_and_expressions_round_trip() {
        let issues = [
            Issue {
                severity: Severity::Error,
                code: IssueCode::NotFound,
                diagnostics: "code 9000024-2 is not in national-lab 2026.1".into(),
                expression: vec!["code".into(), String::new()],
            },
            issue(Severity::Warning, IssueCode::BusinessRule, ""),
            issue(Severity::Fatal, IssueCode::Exception, "boom"),
            issue(Severity::Information, IssueCode::Processing, "fyi"),
        ];
        let bytes = operation_outcome(&issues);
        let oo: OperationOutcome = serde_json::from_slice(&bytes).unwrap();
        let got: Vec<_> = oo.issue.iter().flatten().collect();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].severity, IssueSeverity::Error);
        assert_eq!(got[0].code, IssueType::NotFound);
        assert_eq!(got[0].expression, vec![Some("code".to_owned())]);
        assert_eq!(got[1].severity, IssueSeverity::Warning);
        assert_eq!(got[1].diagnostics, None, "empty diagnostics are left out");
        assert_eq!(got[2].severity, IssueSeverity::Fatal);
        assert_eq!(got[3].severity, IssueSeverity::Information);

        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["resourceType"], "OperationOutcome");
        assert_eq!(
            v["issue"][0],
            json!({"severity": "error", "code": "not-found",
                   "diagnostics": "code 9000024-2 is not in national-lab 2026.1",
                   "expression": ["code"]})
        );
    }

    #[test]
    fn no_issues_still_renders_a_valid_outcome() {
        let v: Value = serde_json::from_slice(&operation_outcome(&[])).unwrap();
        assert_eq!(
            v,
            json!({"resourceType": "OperationOutcome",
                   "issue": [{"severity": "information", "code": "informational",
                              "diagnostics": "no issues"}]})
        );
    }

    #[test]
    fn the_hand_written_fallback_is_a_valid_outcome() {
        let bytes = internal_error("missing \"status\"\n");
        let oo: OperationOutcome = serde_json::from_slice(&bytes).unwrap();
        let issue = oo.issue[0].as_ref().unwrap();
        assert_eq!(issue.severity, IssueSeverity::Fatal);
        assert_eq!(issue.code, IssueType::Exception);
        assert_eq!(issue.diagnostics.as_deref(), Some("missing \"status\"\n"));
    }
}
