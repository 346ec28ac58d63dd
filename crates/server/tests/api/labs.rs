//! `POST /api/labs/{hospital}/eqa|iqc`: a laboratory's quality data over HTTP, on SQLite and
//! PostgreSQL: who may send it, and a file with bad rows answered row by row, nothing written.

use crate::helpers::apps;
use huren_core::HospitalId;
use huren_core::ports::QualityStore;
use huren_testkit::token;

const EQA: &str = "loinc,program,event,event_date,samples,acceptable\n\
                   14749-6,NCCL,2026-1,2026-03-15,5,5\n\
                   14749-6,NCCL,2026-2,2026-09-01,5,4\n";

#[test]
fn a_labs_qc_users_send_its_quality_data() {
    for app in apps() {
        app.create_example_hospitals();
        let qc = token("qc", Some("hosp-a"));
        let a = app.post_as("/api/labs/hosp-a/eqa", &qc, "text/csv", EQA.as_bytes());
        assert_eq!(a.status, 200, "{:#}", a.body);
        assert_eq!(
            (
                a.body["kind"].as_str(),
                a.body["rows"].as_u64(),
                a.body["written"].as_bool()
            ),
            (Some("eqa"), Some(2), Some(true)),
            "{:#}",
            a.body
        );
        let stored = huren_store::Store::connect(app.db.url())
            .unwrap()
            .eqa_events(&HospitalId::parse("hosp-a").unwrap(), "9000033-2")
            .unwrap();
        assert_eq!(stored.len(), 2);

        let iqc = "national_code,run_at,control_level,value,target_mean,target_sd\n\
                   9000033-2,2026-11-20T08:12:00+08:00,1,5.62,5.50,0.12\n";
        let a = app.post_as("/api/labs/hosp-a/iqc", &qc, "text/csv", iqc.as_bytes());
        assert_eq!(a.status, 200, "{:#}", a.body);

        // Another lab's qc user, a curator, a clinician: refused.
        for bearer in [
            token("qc", Some("hosp-b")),
            token("curator", Some("hosp-a")),
            token("clinician", Some("hosp-a")),
        ] {
            let a = app.post_as("/api/labs/hosp-a/eqa", &bearer, "text/csv", EQA.as_bytes());
            a.outcome(403, "forbidden");
        }
        // An admin may; an unknown lab is a 404.
        let admin = token("admin", None);
        let a = app.post_as("/api/labs/hosp-b/eqa", &admin, "text/csv", EQA.as_bytes());
        assert_eq!(a.status, 200, "{:#}", a.body);
        let a = app.post_as("/api/labs/nowhere/eqa", &admin, "text/csv", EQA.as_bytes());
        a.outcome(404, "not-found");
    }
}

#[test]
fn bad_rows_are_answered_by_line_and_nothing_is_written() {
    for app in apps() {
        app.create_example_hospitals();
        let qc = token("qc", Some("hosp-a"));
        let csv = "national_code,program,event,event_date,samples,acceptable\n\
                   9000033-2,NCCL,2026-1,2026-03-15,5,5\n\
                   9000033-2,NCCL,2026-2,not-a-date,5,4\n";
        let a = app.post_as("/api/labs/hosp-a/eqa", &qc, "text/csv", csv.as_bytes());
        a.outcome(422, "invalid");
        let text = a.body.to_string();
        assert!(text.contains("line 3"), "{text}");
        assert!(text.contains("event_date"), "{text}");
        let stored = huren_store::Store::connect(app.db.url())
            .unwrap()
            .eqa_events(&HospitalId::parse("hosp-a").unwrap(), "9000033-2")
            .unwrap();
        assert!(stored.is_empty());
        let a = app.post_as("/api/labs/hosp-a/iqc", &qc, "text/csv", b"");
        a.outcome(400, "invalid");
    }
}

#[test]
fn iqc_status_per_day_with_the_rule_that_fired() {
    for app in apps() {
        app.create_example_hospitals();
        let qc = token("qc", Some("hosp-a"));
        // Level 1 at +2.3 SD on the 19th and +2.4 SD on the 20th: 2-2s across runs, charged
        // to the 20th; the 19th only warns.
        let iqc = "loinc,run_at,control_level,value,target_mean,target_sd\n\
                   14749-6,2026-11-19T09:00:00+08:00,1,5.776,5.50,0.12\n\
                   14749-6,2026-11-19T09:00:00+08:00,2,15.0,15.0,0.3\n\
                   14749-6,2026-11-20T09:00:00+08:00,1,5.788,5.50,0.12\n\
                   14749-6,2026-11-20T09:00:00+08:00,2,15.03,15.0,0.3\n\
                   14749-6,2026-11-20T15:00:00+08:00,1,5.50,5.50,0.12\n\
                   14749-6,2026-11-20T15:00:00+08:00,2,15.0,15.0,0.3\n";
        let a = app.post_as("/api/labs/hosp-a/iqc", &qc, "text/csv", iqc.as_bytes());
        assert_eq!(a.status, 200, "{:#}", a.body);
        let clinician = token("clinician", Some("hosp-a"));
        let status = |query: &str| {
            app.get_as(
                &format!("/api/labs/hosp-a/iqc/status?{query}"),
                Some(&clinician),
            )
        };
        let a = status("code=14749-6&date=2026-11-20");
        assert_eq!(a.status, 200, "{:#}", a.body);
        assert_eq!(
            (a.body["code"].as_str(), a.body["status"].as_str()),
            (Some("9000033-2"), Some("rejected")),
            "{:#}",
            a.body
        );
        assert_eq!(a.body["fired"], serde_json::json!(["2-2s"]));
        assert_eq!(a.body["runs"].as_array().unwrap().len(), 2);
        let a = status("code=9000033-2&date=2026-11-19");
        assert_eq!(a.body["status"], "warning", "{:#}", a.body);
        assert_eq!(a.body["fired"], serde_json::json!(["1-2s"]));
        let a = status("code=9000033-2&date=2026-11-21");
        assert_eq!(a.body["status"], "no-data", "{:#}", a.body);
        // Another rule set: only 1-3s rejects, so the 20th is in control.
        let a = status("code=9000033-2&date=2026-11-20&rules=1-3s");
        assert_eq!(a.body["status"], "in-control", "{:#}", a.body);
        // Bad parameters and another hospital's user.
        status("code=9000033-2&date=20.11.2026").outcome(400, "invalid");
        status("code=9000033-2&date=2026-11-20&rules=1-9q").outcome(400, "invalid");
        status("code=nope&date=2026-11-20").outcome(400, "invalid");
        let other = token("clinician", Some("hosp-b"));
        app.get_as(
            "/api/labs/hosp-a/iqc/status?code=9000033-2&date=2026-11-20",
            Some(&other),
        )
        .outcome(403, "forbidden");
    }
}

#[test]
fn admins_post_the_catalogue() {
    for app in apps() {
        let shipped = huren_testkit::repo_root().join("code-tables/catalogue.csv");
        let body = std::fs::read(shipped).unwrap();
        let admin = token("admin", None);
        let a = app.post_as("/api/catalogue", &admin, "text/csv", &body);
        assert_eq!(a.status, 200, "{:#}", a.body);
        assert_eq!(a.body["rows"], 70, "{:#}", a.body);
        let stored = huren_store::Store::connect(app.db.url())
            .unwrap()
            .catalogue()
            .unwrap();
        assert_eq!(stored.len(), 70);
        // A curator may not; a bad row is a 422 naming its line, and nothing changes.
        let curator = token("curator", Some("hosp-a"));
        app.post_as("/api/catalogue", &curator, "text/csv", &body)
            .outcome(403, "forbidden");
        let bad = "scope,loinc,validity_days,mark\n420000,14749-6,0,鄂HR\n";
        let a = app.post_as("/api/catalogue", &admin, "text/csv", bad.as_bytes());
        let text = a.outcome(422, "invalid");
        assert!(a.body.to_string().contains("line 2"), "{text} {:#}", a.body);
    }
}
