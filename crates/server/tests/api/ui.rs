//! The web pages in a real browser (headless Chromium through ChromeDriver) against the real
//! server: signing in with a token, a clinician finding a patient and seeing which results
//! are recognizable here and why not, recording a retest, the registry search and a code's
//! page, the English switch, signing out. Screenshots of each page go to `docs/ui/` when
//! `UPDATE_SCREENSHOTS=1`.

use crate::helpers::{TestApp, spawn_app};
use crate::recognition::{collection_day, send, setup, v2};
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
    // On a tablet the table becomes one card per result, still readable.
    browser.set_size(820, 1180);
    assert!(browser.find("table.results").text().contains("鄂HR"));
    shot(&browser, "patient-results-tablet");
    browser.set_size(1280, 800);

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

    // An admin names the receiving hospital to see the same judgement.
    sign_in(&browser, &app, &token("admin", None));
    browser.wait_for_url("/ui/registry");
    browser.goto(&app.url("/ui/patients?id=420106198001011234&receiver=hosp-c"));
    assert!(browser.text().contains("鄂HR"), "{}", browser.text());
    browser.find("header form.inline button").click();
    browser.wait_for_url("/ui/sign-in");

    // The lab manager of hospital A: each catalogue item, recognizable or not, and why.
    let qc = token_for(TEST_SECRET, "qc-a", "qc", Some("hosp-a"), 3600);
    browser.goto(&app.url("/ui/lang?to=zh&back=/ui/sign-in"));
    sign_in(&browser, &app, &qc);
    browser.wait_for_url("/ui/labs/hosp-a");
    browser.find("table.lab");
    let text = browser.text();
    assert!(text.contains("eqa-unsuccessful"), "{text}");
    assert!(text.contains("NCCL"), "{text}");
    assert!(text.contains("本实验室"), "{text}");
    shot(&browser, "lab");
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

/// Hospital A's LIS sends a glucose under its local code 016, which nobody has mapped yet.
fn send_local_glucose(app: &TestApp) {
    let day = collection_day();
    let (collected, analysed) = (v2(day, "0745"), v2(day, "0812"));
    let message = [
        format!("MSH|^~\\&|LIS|HOSP-A-LIS|HUREN|HUREN|{analysed}||ORU^R01^ORU_R01|UI1|P|2.5.1|||AL|NE||UNICODE UTF-8"),
        "PID|1||MRN-0002^^^HOSPA^MR~420106198203033456^^^CHN^NI||李^娜||19820303|F".to_owned(),
        format!("OBR|1|ORD7^HIS|LAB7^LIS|CHEM^生化^L|||{collected}"),
        format!("OBX|1|NM|016^空腹血糖^L||5.6|mmol/L|3.9-6.1||||F|||{analysed}"),
    ]
    .join("\r");
    let a = app.post_as(
        "/hl7v2",
        &token_for(TEST_SECRET, "lis", "system", Some("hosp-a"), 3600),
        "x-application/hl7-v2+er7",
        message.as_bytes(),
    );
    assert_eq!(a.status, 200);
}

#[test]
fn curators_upload_fix_import_and_approve_and_the_held_result_becomes_recognizable() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let app = spawn_app(TestDb::sqlite());
    setup(&app);
    send_local_glucose(&app);
    let files = tempfile::tempdir().unwrap();

    // Curator 1 of hospital A: the held code waits in the queue, with suggestions.
    let c1 = token_for(TEST_SECRET, "c1", "curator", Some("hosp-a"), 3600);
    sign_in(&browser, &app, &c1);
    browser.wait_for_url("/ui/hospitals/hosp-a/mappings");
    browser.goto(&app.url("/ui/hospitals/hosp-a/unmapped"));
    let text = browser.text();
    assert!(text.contains("016") && text.contains("空腹血糖"), "{text}");
    assert!(text.contains("1 条结果等待"), "{text}");
    assert!(
        !browser.find_all("table.suggestions tr").is_empty(),
        "{}",
        browser.source()
    );
    shot(&browser, "unmapped-queue");

    // A file with a bad row: the dry run names its line and column, writes nothing.
    let bad = files.path().join("hosp-a-bad.csv");
    std::fs::write(
        &bad,
        "local_code,local_name,unit,loinc\n016,空腹血糖,mmol/L,14749-6\n017,钾,mmol/LL,2823-3\n",
    )
    .unwrap();
    browser.goto(&app.url("/ui/hospitals/hosp-a/upload"));
    browser.find("#file").type_text(&bad.to_string_lossy());
    browser.find("form.card button[type=submit]").click();
    browser.find("table.problems");
    let text = browser.text();
    assert!(text.contains("未写入任何内容"), "{text}");
    let line = browser.find("table.problems tbody tr td").text();
    assert_eq!(line, "3", "{text}");
    assert!(text.contains("unit"), "{text}");
    shot(&browser, "upload-problems");

    // Fixed: the dry run is clean, then the import writes.
    let good = files.path().join("hosp-a.csv");
    std::fs::write(
        &good,
        "local_code,local_name,unit,loinc\n016,空腹血糖,mmol/L,14749-6\n017,钾,mmol/L,2823-3\n",
    )
    .unwrap();
    browser.find("#file").type_text(&good.to_string_lossy());
    browser.find("form.card button[type=submit]").click();
    browser.find("p.notice");
    assert!(
        browser.text().contains("试运行无问题"),
        "{}",
        browser.text()
    );
    browser.find("form.card button[type=submit]").click();
    browser.wait_for_url("done=");
    let text = browser.text();
    assert!(text.contains("2 行已导入"), "{text}");
    // The proposer may not approve: the two-person rule, explained, with the API's 403.
    browser.find("td.actions button[value=approve]").click();
    browser.find("p.error");
    let text = browser.text();
    assert!(
        text.contains("403") && text.contains("two-person rule"),
        "{text}"
    );
    browser.goto(&app.url("/ui/hospitals/hosp-a/mappings/016"));
    assert!(browser.text().contains("c1"), "{}", browser.text());
    shot(&browser, "mapping-history");
    browser.find("header form.inline button").click();
    browser.wait_for_url("/ui/sign-in");

    // Curator 2 approves everything proposed, in one go: the held glucose is released.
    let c2 = token_for(TEST_SECRET, "c2", "curator", Some("hosp-a"), 3600);
    sign_in(&browser, &app, &c2);
    browser.wait_for_url("/ui/hospitals/hosp-a/mappings");
    browser.goto(&app.url("/ui/hospitals/hosp-a/mappings?status=proposed"));
    assert_eq!(browser.find_all("table.mappings tbody tr").len(), 2);
    shot(&browser, "mappings-review");
    browser.find("form.bulk button").click();
    browser.wait_for_url("done=");
    let text = browser.text();
    assert!(text.contains("2 条已批准"), "{text}");
    assert!(text.contains("1 条结果已发布"), "{text}");
    browser.find("header form.inline button").click();
    browser.wait_for_url("/ui/sign-in");

    // A clinician in Yichang sees it recognizable under Hubei's mark.
    let dr = token_for(TEST_SECRET, "dr-zhang", "clinician", Some("hosp-c"), 3600);
    sign_in(&browser, &app, &dr);
    browser.wait_for_url("/ui/patients");
    browser.goto(&app.url("/ui/patients?id=420106198203033456"));
    let text = browser.text();
    assert!(text.contains("5.6 mmol/L"), "{text}");
    assert!(text.contains("鄂HR ✓ 可互认"), "{text}");

    // A curator of another hospital gets the API's 403, as a page.
    browser.find("header form.inline button").click();
    browser.wait_for_url("/ui/sign-in");
    let other = token_for(TEST_SECRET, "c-b", "curator", Some("hosp-b"), 3600);
    sign_in(&browser, &app, &other);
    browser.wait_for_url("/ui/hospitals/hosp-b/mappings");
    browser.goto(&app.url("/ui/hospitals/hosp-a/mappings"));
    let text = browser.text();
    assert!(text.contains("403"), "{text}");
    let api = app.get_as("/api/hospitals/hosp-a/mappings", Some(&other));
    assert_eq!(api.status, 403);
}
