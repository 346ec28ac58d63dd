//! The web pages in a real browser (headless Chromium through ChromeDriver) against the real
//! server: signing in with a token, a clinician finding a patient and seeing which results
//! are recognizable here and why not, recording a retest, the registry search and a code's
//! page, the English switch, signing out. Screenshots of each page go to `docs/ui/` when
//! `UPDATE_SCREENSHOTS=1`.

use crate::helpers::{TestApp, spawn_app};
use crate::recognition::{send, setup};
use huren_testkit::browser::Browser;
use huren_testkit::{TEST_SECRET, TestDb, repo_root, token, token_for};

/// Saves a screenshot of the whole page: into `docs/ui/` when asked, else only checked.
fn shot(browser: &Browser, name: &str) {
    let png = browser.full_screenshot();
    assert!(png.starts_with(b"\x89PNG"), "{name} is not a PNG");
    if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        let dir = repo_root().join("docs/ui");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

fn sign_in(browser: &Browser, app: &TestApp, token: &str) {
    browser.goto(&app.url("/ui/sign-in"));
    browser.find("#token").type_text(token);
    browser.find("form.card button[type=submit]").click();
}

#[test]
fn a_clinician_signs_in_finds_a_patient_and_sees_what_may_be_recognized() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let app = spawn_app(TestDb::sqlite());
    setup(&app);
    send(&app);

    // Not signed in: the sign-in page. A token that is not one is refused with the reason.
    browser.goto(&app.url("/ui"));
    browser.wait_for_url("/ui/sign-in");
    shot(&browser, "sign-in");
    sign_in(&browser, &app, "not-a-token");
    browser.find("p.error");
    let text = browser.text();
    assert!(text.contains("401"), "{text}");

    // A clinician of Yichang (Hubei) signs in and lands on the patient page.
    let dr = token_for(TEST_SECRET, "dr-zhang", "clinician", Some("hosp-c"), 3600);
    sign_in(&browser, &app, &dr);
    browser.wait_for_url("/ui/patients");
    browser.find("#id");
    assert!(browser.text().contains("dr-zhang"));
    browser.find("#id").type_text("420106198001011234");
    browser.find("form.search button[type=submit]").click();
    browser.wait_for_url("id=");
    browser.find("table.results");
    let rows = browser.find_all("table.results tbody tr");
    assert_eq!(rows.len(), 6, "{}", browser.source());
    let text = browser.text();
    // Glucose is recognizable under Hubei's mark, valid for 30 days; chloride is not, because
    // its control was rejected that day; the preliminary glucose is not final.
    assert!(text.contains("鄂HR ✓ 可互认"), "{text}");
    assert!(text.contains("有效至"), "{text}");
    assert!(text.contains("不可互认"), "{text}");
    assert!(text.contains("iqc-rejected"), "{text}");
    assert!(text.contains("status-not-final"), "{text}");
    // As sent and as normalized.
    assert!(text.contains("5.2 mmol/L"), "{text}");
    shot(&browser, "patient-results");

    // Test again anyway: the reason is recorded, the page comes back.
    browser.find("details.retest summary").click();
    browser
        .find("details.retest select[name=reason] option[value=emergency]")
        .click();
    browser
        .find("details.retest input[name=text]")
        .type_text("急诊复查");
    browser.find("details.retest button[type=submit]").click();
    browser.wait_for_url("retested=");
    browser.find("table.results");
    let a = app.get_as(
        "/fhir/AuditEvent?subtype=retest",
        Some(&token("admin", None)),
    );
    assert_eq!(a.status, 200);
    let event = &a.body["entry"][0]["resource"];
    assert_eq!(event["purposeOfEvent"][0]["coding"][0]["code"], "emergency");
    assert_eq!(event["purposeOfEvent"][0]["text"], "急诊复查");
    assert_eq!(event["agent"][0]["who"]["identifier"]["value"], "dr-zhang");
    // The page's read of the patient's results is in the audit trail too.
    let a = app.get_as(
        "/fhir/AuditEvent?agent=dr-zhang&subtype=search",
        Some(&token("admin", None)),
    );
    assert!(a.body["total"].as_u64().unwrap() >= 1, "{:#}", a.body);

    // The registry: search in Chinese, open a code.
    browser.goto(&app.url("/ui/registry"));
    browser.find("#q").type_text("血糖");
    browser.find("form.search button[type=submit]").click();
    browser.wait_for_url("q=");
    browser.find("p.count");
    assert!(
        !browser.find_all("table tbody tr").is_empty(),
        "{}",
        browser.source()
    );
    shot(&browser, "registry-search");
    browser.find("table tbody tr a").click();
    browser.wait_for_url("/ui/registry/");
    browser.find("table.facts");
    let text = browser.text();
    assert!(text.contains("六轴"), "{text}");
    assert!(text.contains("LOINC"), "{text}");
    shot(&browser, "registry-code");

    // English.
    browser.find("a.lang").click();
    browser.find("html[lang=en]");
    assert!(browser.text().contains("Six axes"), "{}", browser.text());
    browser.goto(&app.url("/ui/patients?id=420106198001011234"));
    let text = browser.text();
    assert!(text.contains("recognizable"), "{text}");
    assert!(text.contains("Patient results"), "{text}");

    // Signing out ends the session: the page asks to sign in again.
    browser.find("header form.inline button").click();
    browser.wait_for_url("/ui/sign-in");
    browser.find("#token");
    browser.goto(&app.url("/ui/patients"));
    assert!(browser.text().contains("401"), "{}", browser.text());
}

#[test]
fn a_page_refuses_what_the_api_refuses() {
    let app = spawn_app(TestDb::sqlite());
    setup(&app);
    send(&app);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let page = |path: &str, bearer: &str| {
        let mut r = agent
            .get(&app.url(path))
            .header("Authorization", &format!("Bearer {bearer}"))
            .call()
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    };
    // A curator of another hospital sees none of hospital A's results (the API's scope)…
    let curator_b = token("curator", Some("hosp-b"));
    let (status, body) = page("/ui/patients?id=420106198001011234", &curator_b);
    assert_eq!(status, 200);
    assert!(body.contains("没有该患者的结果"), "{body}");
    // …and may not record a retest: the same 403 and reason as `$retest`.
    let found = app.observations(
        "subject:identifier=420106198001011234",
        &token("admin", None),
    );
    let id = found[0]["id"].as_str().unwrap();
    let r = agent
        .post(&app.url(&format!("/ui/results/{id}/retest")))
        .header("Authorization", &format!("Bearer {curator_b}"))
        .content_type("application/x-www-form-urlencoded")
        .send("reason=emergency&csrf=x")
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let api = app.post_as(
        &format!("/fhir/Observation/{id}/$retest"),
        &curator_b,
        "application/fhir+json",
        br#"{"resourceType":"Parameters","parameter":[{"name":"reason","valueCode":"emergency"}]}"#,
    );
    assert_eq!(api.status, 403);
    // A form without the session's CSRF token is refused.
    let dr = token_for(TEST_SECRET, "dr-zhang", "clinician", Some("hosp-c"), 3600);
    let mut r = agent
        .post(&app.url(&format!("/ui/results/{id}/retest")))
        .header("Authorization", &format!("Bearer {dr}"))
        .content_type("application/x-www-form-urlencoded")
        .send("reason=emergency&csrf=forged")
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.body_mut().read_to_string().unwrap().contains("CSRF"));
    // Values are escaped: a search text with markup comes back as text.
    let (status, body) = page("/ui/registry?q=%3Cscript%3Ealert(1)%3C/script%3E", &dr);
    assert_eq!(status, 200);
    assert!(!body.contains("<script>alert(1)"), "{body}");
    assert!(body.contains("&lt;script&gt;"), "{body}");
}
