//! Mutual recognition in FHIR: the tag and extension a stored Observation carries, the
//! `Parameters` of `$recognition`, and the `AuditEvent` of a clinician's retest.
//!
//! * `meta.tag`: `{base}/CodeSystem/recognition`, code `HR` (display: the scope's mark, `鄂HR`)
//!   or `not-recognizable`.
//! * The extension `{base}/StructureDefinition/recognition` on the Observation, with the
//!   sub-extensions `recognizable` (boolean), `scope`, `mark` (string), `validUntil`
//!   (dateTime) and one `reason` or `warning` per finding (a `Coding` of
//!   `{base}/CodeSystem/recognition-reason` whose display is the Chinese text).
//!
//! The tag and extension say what held when the result was last written, for the issuing
//! hospital's own region; the answer for another hospital and another time is
//! `$recognition`.

use crate::FhirError;
use crate::Urls;
use crate::observation::json::{ObjectWriter, RawObject, json_string};
use crate::observation::time::instant_from_millis;
use huren_core::recognition::{Decision, Retest, Severity};
use serde_json::{Value, json};

/// `{base}` + this: the code system of the tag.
pub const RECOGNITION_SYSTEM_PATH: &str = "/CodeSystem/recognition";
/// `{base}` + this: the extension on the Observation.
pub const RECOGNITION_EXTENSION_PATH: &str = "/StructureDefinition/recognition";
/// `{base}` + this: the code system of the reasons.
pub const REASON_SYSTEM_PATH: &str = "/CodeSystem/recognition-reason";
/// `{base}` + this: the code system of the retest reasons (domain.md §1.2).
pub const RETEST_REASON_SYSTEM_PATH: &str = "/CodeSystem/retest-reason";
/// `{base}` + this: the identifier system of huren's users (a token's subject).
pub const USER_SYSTEM_PATH: &str = "/user";

/// The tag's code.
#[must_use]
pub fn tag_code(d: &Decision) -> &'static str {
    if d.recognizable {
        "HR"
    } else {
        "not-recognizable"
    }
}

pub(crate) fn tag(urls: &Urls, d: &Decision) -> Value {
    let display = match (&d.entry, d.recognizable) {
        (Some(e), true) => e.mark.clone(),
        (_, true) => "HR".to_owned(),
        (_, false) => "不可互认".to_owned(),
    };
    json!({
        "system": format!("{}{RECOGNITION_SYSTEM_PATH}", urls.base),
        "code": tag_code(d),
        "display": display,
    })
}

fn reasons(urls: &Urls, d: &Decision) -> impl Iterator<Item = (&'static str, Value)> {
    let system = format!("{}{REASON_SYSTEM_PATH}", urls.base);
    d.reasons.iter().map(move |r| {
        (
            match r.severity {
                Severity::Failure => "reason",
                Severity::Warning => "warning",
            },
            json!({"system": system, "code": r.code, "display": r.zh}),
        )
    })
}

/// The recognition extension of a decision. It does not say when the decision was made, so
/// that the same result sent again with the same verdict is the same resource (and stored
/// once).
#[must_use]
pub fn extension(urls: &Urls, d: &Decision) -> Value {
    let mut parts = vec![json!({"url": "recognizable", "valueBoolean": d.recognizable})];
    if let Some(e) = &d.entry {
        parts.push(json!({"url": "scope", "valueString": e.scope.to_string()}));
        parts.push(json!({"url": "mark", "valueString": e.mark}));
    }
    if let Some(until) = d.valid_until {
        parts
            .push(json!({"url": "validUntil", "valueDateTime": instant_from_millis(until * 1000)}));
    }
    for (name, coding) in reasons(urls, d) {
        parts.push(json!({"url": name, "valueCoding": coding}));
    }
    json!({
        "url": format!("{}{RECOGNITION_EXTENSION_PATH}", urls.base),
        "extension": parts,
    })
}

/// The stored Observation JSON (without `id`) with the decision's tag in `meta.tag` and its
/// extension in `extension`, replacing an earlier recognition tag or extension; every other
/// member is copied byte for byte.
///
/// The ingest writes both as it emits a new result
/// ([`crate::observation::recognized_observation_json`], which gives the same bytes as this of
/// the plain emission: a test checks it); this re-tags a text already written.
///
/// # Errors
///
/// When `resource_json` is not a JSON object, or its `meta` or `extension` has the wrong
/// shape.
pub fn with_recognition(
    resource_json: &str,
    urls: &Urls,
    d: &Decision,
) -> Result<String, FhirError> {
    let o = RawObject::parse(resource_json).map_err(FhirError::Json)?;
    let tag_system = format!("{}{RECOGNITION_SYSTEM_PATH}", urls.base);
    let ext_url = format!("{}{RECOGNITION_EXTENSION_PATH}", urls.base);

    let mut meta: serde_json::Map<String, Value> = match o.get("meta") {
        Some(m) => serde_json::from_str(m.get()).map_err(FhirError::Json)?,
        None => serde_json::Map::new(),
    };
    let mut tags: Vec<Value> = match meta.remove("tag") {
        Some(Value::Array(t)) => t,
        _ => Vec::new(),
    };
    tags.retain(|t| t.get("system").and_then(Value::as_str) != Some(&tag_system));
    tags.push(tag(urls, d));
    meta.insert("tag".into(), Value::Array(tags));

    let mut extensions: Vec<&serde_json::value::RawValue> = match o.get("extension") {
        Some(e) => serde_json::from_str(e.get()).map_err(FhirError::Json)?,
        None => Vec::new(),
    };
    extensions.retain(|e| {
        RawObject::parse(e.get())
            .ok()
            .and_then(|x| x.get("url").map(|u| u.get() != json_string(&ext_url)))
            .unwrap_or(true)
    });
    let ours = extension(urls, d).to_string();
    let mut ext = String::from("[");
    for e in &extensions {
        ext.push_str(e.get());
        ext.push(',');
    }
    ext.push_str(&ours);
    ext.push(']');

    let meta = Value::Object(meta).to_string();
    let mut out = ObjectWriter::with_capacity(resource_json.len() + meta.len() + ours.len() + 32);
    if let Some(rt) = o.get("resourceType") {
        out.member("resourceType", rt.get());
    }
    out.member("meta", &meta);
    out.member("extension", &ext);
    for (k, v) in &o.members {
        if !matches!(k.as_str(), "resourceType" | "meta" | "extension") {
            out.member(k, v.get());
        }
    }
    Ok(out.finish())
}

/// The `Parameters` answer of `$recognition`: `recognizable`, `receiver` (the hospital asked
/// for), `at`, `scope`, `mark`, `validUntil` when a catalogue entry applies, and one `reason`
/// per finding with the parts `code`, `severity` (`failure`/`warning`), `text` (Chinese) and
/// `textEn`.
#[must_use]
pub fn parameters(urls: &Urls, d: &Decision, receiver: &str, at: i64) -> Vec<u8> {
    let mut p = vec![
        json!({"name": "recognizable", "valueBoolean": d.recognizable}),
        json!({"name": "receiver", "valueString": receiver}),
        json!({"name": "at", "valueDateTime": instant_from_millis(at * 1000)}),
    ];
    if let Some(e) = &d.entry {
        p.push(json!({"name": "scope", "valueString": e.scope.to_string()}));
        p.push(json!({"name": "mark", "valueString": e.mark}));
        p.push(json!({"name": "validityDays", "valueInteger": e.validity_days}));
    }
    if let Some(until) = d.valid_until {
        p.push(json!({"name": "validUntil", "valueDateTime": instant_from_millis(until * 1000)}));
    }
    let system = format!("{}{REASON_SYSTEM_PATH}", urls.base);
    for r in &d.reasons {
        p.push(json!({
            "name": "reason",
            "part": [
                {"name": "code", "valueCoding": {"system": system, "code": r.code}},
                {"name": "severity", "valueCode": match r.severity {
                    Severity::Failure => "failure",
                    Severity::Warning => "warning",
                }},
                {"name": "text", "valueString": r.zh},
                {"name": "textEn", "valueString": r.en},
            ],
        }));
    }
    serde_json::to_vec(&json!({"resourceType": "Parameters", "parameter": p})).unwrap_or_default()
}

/// A retest as an R4 `AuditEvent`: type `{base}/CodeSystem/recognition|retest`, the clinician
/// as the requesting agent (identifier `{base}/user|sub`), the receiving hospital as
/// `source.site`, the Observation as the entity, and the coded reason with its text in
/// `purposeOfEvent`.
#[must_use]
pub fn audit_event(urls: &Urls, r: &Retest) -> Value {
    let mut purpose = json!({
        "coding": [{
            "system": format!("{}{RETEST_REASON_SYSTEM_PATH}", urls.base),
            "code": r.reason.as_str(),
            "display": r.reason.display_zh(),
        }],
    });
    if !r.text.trim().is_empty() {
        purpose["text"] = json!(r.text);
    }
    json!({
        "resourceType": "AuditEvent",
        "id": format!("retest-{}", r.id),
        "type": {
            "system": format!("{}{RECOGNITION_SYSTEM_PATH}", urls.base),
            "code": "retest",
            "display": "复查（不互认）",
        },
        "action": "C",
        "recorded": instant_from_millis(r.recorded_at),
        "outcome": "0",
        "outcomeDesc": if r.recognizable {
            "the result was recognizable; the clinician ordered the test again"
        } else {
            "the result was not recognizable; the clinician ordered the test again"
        },
        "purposeOfEvent": [purpose],
        "agent": [{
            "who": {
                "identifier": {"system": format!("{}{USER_SYSTEM_PATH}", urls.base), "value": r.clinician},
            },
            "requestor": true,
        }],
        "source": {
            "site": r.receiver.as_str(),
            "observer": {"display": "huren"},
        },
        "entity": [{
            "what": {"reference": format!("Observation/{}", r.observation_id)},
            "description": format!("result of {}", r.issuer),
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use huren_core::recognition::{CatalogueEntry, Reason, RetestReason, Scope};

    fn decision(recognizable: bool) -> Decision {
        Decision {
            recognizable,
            entry: Some(CatalogueEntry {
                scope: Scope::Province("420000".into()),
                national_code: "9000033-2".into(),
                validity_days: 30,
                mark: "鄂HR".into(),
                strict_iqc: false,
            }),
            valid_until: Some(1_767_225_600),
            reasons: vec![Reason {
                code: "iqc-missing",
                severity: Severity::Warning,
                zh: "检测当日无室内质控数据".into(),
                en: "no IQC data for the analysis day".into(),
            }],
        }
    }

    #[test]
    fn the_tag_and_extension_are_added_and_replace_earlier_ones() {
        let urls = Urls::new("http://h.example/fhir");
        let resource = r#"{"resourceType":"Observation","extension":[{"url":"http://x/original","valueBoolean":true}],"status":"final","valueQuantity":{"value":6.30}}"#;
        let once = with_recognition(resource, &urls, &decision(false)).unwrap();
        let twice = with_recognition(&once, &urls, &decision(true)).unwrap();
        assert!(twice.contains(r#""value":6.30"#), "{twice}");
        let v: Value = serde_json::from_str(&twice).unwrap();
        let tags = v["meta"]["tag"].as_array().unwrap();
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0]["code"], "HR");
        assert_eq!(tags[0]["display"], "鄂HR");
        let ext = v["extension"].as_array().unwrap();
        assert_eq!(ext.len(), 2, "{twice}");
        assert_eq!(ext[0]["url"], "http://x/original");
        let ours = &ext[1]["extension"];
        assert_eq!(ours[0]["valueBoolean"], true);
        assert_eq!(ours[1]["valueString"], "420000");
        assert_eq!(ours[2]["valueString"], "鄂HR");
        assert_eq!(ours[3]["url"], "validUntil");
        assert_eq!(ours[4]["url"], "warning");
        assert_eq!(ours[4]["valueCoding"]["code"], "iqc-missing");
    }

    #[test]
    fn parameters_carry_every_reason_with_both_texts() {
        let urls = Urls::default();
        let p: Value =
            serde_json::from_slice(&parameters(&urls, &decision(true), "hosp-b", 100)).unwrap();
        let names: Vec<&str> = p["parameter"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "recognizable",
                "receiver",
                "at",
                "scope",
                "mark",
                "validityDays",
                "validUntil",
                "reason"
            ]
        );
        assert_eq!(p["parameter"][7]["part"][1]["valueCode"], "warning");
    }

    #[test]
    fn an_audit_event_names_clinician_reason_and_result() {
        let r = Retest {
            id: 7,
            observation_id: "abc".into(),
            issuer: huren_core::HospitalId::parse("hosp-a").unwrap(),
            receiver: huren_core::HospitalId::parse("hosp-b").unwrap(),
            clinician: "dr-li".into(),
            reason: RetestReason::Other,
            text: "患者要求".into(),
            recognizable: true,
            recorded_at: 1_000,
        };
        let a = audit_event(&Urls::default(), &r);
        assert_eq!(a["id"], "retest-7");
        assert_eq!(a["purposeOfEvent"][0]["coding"][0]["code"], "other");
        assert_eq!(a["purposeOfEvent"][0]["text"], "患者要求");
        assert_eq!(a["entity"][0]["what"]["reference"], "Observation/abc");
        assert_eq!(a["agent"][0]["who"]["identifier"]["value"], "dr-li");
        huren_testkit::fhir_schema::validate_r4(&a).unwrap();
    }

    #[test]
    fn what_is_emitted_is_valid_r4() {
        let urls = Urls::default();
        let resource = r#"{"resourceType":"Observation","status":"final","code":{"text":"GLU"},"valueQuantity":{"value":6.30}}"#;
        for d in [decision(true), decision(false)] {
            let tagged = with_recognition(resource, &urls, &d).unwrap();
            huren_testkit::fhir_schema::validate_r4(&serde_json::from_str(&tagged).unwrap())
                .unwrap();
            let p: Value = serde_json::from_slice(&parameters(&urls, &d, "hosp-b", 100)).unwrap();
            huren_testkit::fhir_schema::validate_r4(&p).unwrap();
        }
    }
}
