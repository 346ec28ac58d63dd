//! Scale out: two `huren serve` processes (two nodes, each with its own pool, caches, catalog
//! and job loop) on one PostgreSQL database, as behind a load balancer. What one node writes,
//! the other uses: an approved mapping within a second, a catalogue change at once, a new
//! release within a refresh period; held results are released exactly once however the
//! approvals are spread over the nodes; a node killed under load loses nothing it
//! acknowledged. PostgreSQL only (skipped, and said so, without `HUREN_TEST_PG_URL`).

use crate::crash::{BATCH, Stream, new_agent, start_with, stored};
use crate::helpers::{Http, enc, national_of};
use huren_testkit::{TEST_SECRET, TestDb, token, token_for};
use std::process::Child;
use std::time::{Duration, Instant};

/// Patients with held results, per local code.
const HELD: usize = 10;

struct Node {
    child: Child,
    http: Http,
    base: String,
    _data: tempfile::TempDir,
}

impl Node {
    fn start(db: &str, name: &str) -> Node {
        let data = tempfile::tempdir().unwrap();
        let (child, base) = start_with(
            db,
            data.path(),
            &["--refresh-ms", "100", "--node-id", name, "--db-pool", "6"],
        );
        Node {
            child,
            http: Http::new(&base),
            base,
            _data: data,
        }
    }

    /// SIGKILL.
    fn kill(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

fn curator(sub: &str) -> String {
    token_for(TEST_SECRET, sub, "curator", Some("hosp-a"), 3600)
}

/// Patient `k`'s national identifier.
fn national_id(k: usize) -> String {
    format!("4201061980{k:08}")
}

/// An ORU^R01 of hospital A for patient `k` with two local codes its curators have not
/// mapped yet.
fn held_report(k: usize) -> String {
    let day = crate::recognition::collection_day();
    let (collected, analysed) = (
        crate::recognition::v2(day, "0745"),
        crate::recognition::v2(day, "0812"),
    );
    [
        format!("MSH|^~\\&|LIS|HOSP-A-LIS|HUREN|HUREN|{analysed}||ORU^R01^ORU_R01|SCALE{k}|P|2.5.1|||AL|NE||UNICODE UTF-8"),
        format!("PID|1||MRN-{k}^^^HOSPA^MR~{}^^^CHN^NI||王^伟||19800101|M", national_id(k)),
        format!("OBR|1|ORD{k}^HIS|LAB{k}^LIS|CHEM^生化^L|||{collected}"),
        format!("OBX|1|NM|GLU-X^空腹血糖^L||5.{}|mmol/L|3.9-6.1||||F|||{analysed}", k % 10),
        format!("OBX|2|NM|K-X^钾^L||4.{}|mmol/L|3.5-5.3||||F|||{analysed}", k % 10),
    ]
    .join("\r")
}

/// Patient `k`'s visible results, as an admin.
fn results_of(node: &Http, k: usize) -> Vec<serde_json::Value> {
    node.observations(
        &format!(
            "subject:identifier={}",
            enc(&format!("urn:huren:id:national-patient|{}", national_id(k)))
        ),
        &token("admin", None),
    )
}

/// Waits until `check` holds, for at most `limit`; returns how long it took.
fn within(limit: Duration, mut check: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// `$translate` of hospital A's local `code` on `node`: the national code when it answers one.
fn translated(node: &Http, code: &str) -> Option<String> {
    let a = node.get_as(
        &format!(
            "/fhir/ConceptMap/$translate?system={}&code={code}",
            enc("http://huren.example/fhir/CodeSystem/local/hosp-a")
        ),
        Some(&curator("reader")),
    );
    assert_eq!(a.status, 200, "{:#}", a.body);
    if a.param("result")?["valueBoolean"] != true {
        return None;
    }
    let m = a.param("match")?;
    m["part"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == "concept")
        .and_then(|p| p["valueCoding"]["code"].as_str())
        .map(str::to_owned)
}

/// Whether patient `RECOGNITION`'s final glucose is recognizable at hospital C five days after
/// collection, asked on `node`.
fn glucose_recognizable(node: &Http) -> bool {
    let at = format!(
        "{}T10:00:00%2B08:00",
        (crate::recognition::collection_day() + time::Duration::days(5))
    );
    let found = node.observations(
        &format!(
            "subject:identifier={}&recognizable=true&at={at}&code=http://loinc.org%7C14749-6",
            enc("urn:huren:id:national-patient|420106198001011234")
        ),
        &token_for(TEST_SECRET, "dr-c", "clinician", Some("hosp-c"), 3600),
    );
    found.iter().any(|o| o["status"] == "final")
}

#[cfg(unix)]
#[test]
fn two_nodes_on_one_database_share_every_write_and_release_held_results_once() {
    let Some(db) = TestDb::postgres() else {
        eprintln!("note: HUREN_TEST_PG_URL is not set; skipping the two-node test");
        return;
    };
    // Both start at once on an empty database: one migrates and seeds, the other waits.
    let url = db.url().to_owned();
    let second = {
        let url = url.clone();
        std::thread::spawn(move || Node::start(&url, "node-2"))
    };
    let n1 = Node::start(&url, "node-1");
    let mut n2 = second.join().unwrap();

    // Hospitals, EQA and IQC through node 1; a recognizable report through node 2.
    crate::recognition::setup(&n1.http);
    crate::recognition::send(&n2.http);

    // ---- A catalogue change on node 2 changes node 1's recognition answers at once.
    assert!(glucose_recognizable(&n1.http), "glucose passes every rule");
    let shorter = "scope,national_code,validity_days,mark\n420000,".to_owned()
        + &national_of("14749-6")
        + ",3,鄂HR\n";
    let a = n2.http.post_as(
        "/api/catalogue",
        &token("admin", None),
        "text/csv",
        shorter.as_bytes(),
    );
    assert_eq!(a.status, 200, "{:#}", a.body);
    assert!(
        !glucose_recognizable(&n1.http),
        "node 1 still recognizes glucose after node 2 shortened its validity to 3 days"
    );

    // ---- Held results, sent to both nodes.
    let lis = token("system", Some("hosp-a"));
    for k in 0..HELD {
        let node = if k % 2 == 0 { &n1.http } else { &n2.http };
        let a = node.post_as(
            "/hl7v2",
            &lis,
            "x-application/hl7-v2+er7",
            held_report(k).as_bytes(),
        );
        assert_eq!(a.status, 200, "{:#}", a.body);
        assert!(
            results_of(node, k).is_empty(),
            "patient {k}: held, not visible"
        );
    }
    // Curator 1 proposes both mappings through node 1; node 2 reads them (its cache now
    // holds them as proposed, so what follows tests invalidation, not a first read).
    let csv = format!(
        "local_code,local_name,unit,national_code\nGLU-X,空腹血糖,mmol/L,{}\nK-X,钾,mmol/L,{}\n",
        national_of("14749-6"),
        national_of("2823-3")
    );
    let a = n1.http.post_as(
        "/api/hospitals/hosp-a/mappings/import",
        &curator("curator-1"),
        "text/csv",
        csv.as_bytes(),
    );
    assert_eq!(a.status, 200, "{:#}", a.body);
    assert_eq!(translated(&n2.http, "GLU-X"), None, "proposed only");
    assert_eq!(translated(&n2.http, "K-X"), None, "proposed only");

    // ---- Curator 2 approves one code through each node at the same moment: both requests
    // want hospital A's held results released.
    let approve = |node: &Http, code: &str| {
        let a = node.post_as(
            &format!("/api/hospitals/hosp-a/mappings/{code}/approve"),
            &curator("curator-2"),
            "application/json",
            b"",
        );
        assert_eq!(a.status, 200, "{:#}", a.body);
        a.body["released_results"].as_u64().unwrap()
    };
    let (released_1, released_2) = std::thread::scope(|s| {
        let one = s.spawn(|| approve(&n1.http, "GLU-X"));
        let two = s.spawn(|| approve(&n2.http, "K-X"));
        (one.join().unwrap(), two.join().unwrap())
    });
    // Node 2 translates with node 1's approval within a second, and node 1 with node 2's.
    let seen_2 = within(Duration::from_secs(1), || {
        translated(&n2.http, "GLU-X") == Some(national_of("14749-6"))
    });
    let seen_1 = within(Duration::from_secs(1), || {
        translated(&n1.http, "K-X") == Some(national_of("2823-3"))
    });
    eprintln!("approval seen by the other node after {seen_2:?} and {seen_1:?}");
    assert!(
        seen_2.is_some() && seen_1.is_some(),
        "{seen_2:?} {seen_1:?}"
    );

    // Every held result is released, once: two versions each (held, then released), and the
    // release jobs of hospital A together released exactly 2 × HELD results.
    let all_released = within(Duration::from_secs(20), || {
        (0..HELD).all(|k| results_of(&n1.http, k).len() == 2)
    });
    assert!(all_released.is_some(), "held results not all released");
    for k in 0..HELD {
        for o in results_of(&n2.http, k) {
            let id = o["id"].as_str().unwrap();
            let h = n2.http.get_as(
                &format!("/fhir/Observation/{id}/_history"),
                Some(&token("admin", None)),
            );
            assert_eq!(h.status, 200, "{:#}", h.body);
            assert_eq!(
                h.body["entry"].as_array().unwrap().len(),
                2,
                "patient {k}: {:#}",
                h.body
            );
        }
    }
    // The approval whose request found the other node's claim live leaves its job to the job
    // loops, which take it once the request's head start (ASKER_FIRST_MS) has passed.
    let release_jobs_of = |jobs: &serde_json::Value| -> Vec<serde_json::Value> {
        jobs["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| j["kind"] == "release-held" && j["key"] == "hosp-a")
            .cloned()
            .collect()
    };
    let mut jobs = n1.http.get_as("/api/jobs", Some(&token("admin", None)));
    let ended = within(Duration::from_secs(20), || {
        jobs = n1.http.get_as("/api/jobs", Some(&token("admin", None)));
        release_jobs_of(&jobs.body)
            .iter()
            .all(|j| j["state"] == "done")
    });
    assert_eq!(jobs.status, 200, "{:#}", jobs.body);
    assert_eq!(jobs.body["node"], "node-1");
    n1.http
        .get_as("/api/jobs?limit=0", Some(&token("admin", None)))
        .outcome(400, "invalid");
    assert!(ended.is_some(), "{:#}", jobs.body);
    let release_jobs = release_jobs_of(&jobs.body);
    let total: u64 = release_jobs
        .iter()
        .filter_map(|j| {
            j["outcome"]
                .as_str()?
                .strip_prefix("released ")?
                .split(' ')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    assert_eq!(
        total,
        2 * HELD as u64,
        "each held result released exactly once: {:#}",
        jobs.body
    );
    assert!(released_1 + released_2 <= total);
    eprintln!(
        "approvals answered with {released_1} and {released_2} released; jobs: {}",
        release_jobs.len()
    );
    // A new result of the approved code, sent to node 2, is normalized at once.
    let a = n2.http.post_as(
        "/hl7v2",
        &lis,
        "x-application/hl7-v2+er7",
        held_report(HELD).as_bytes(),
    );
    assert_eq!(a.status, 200, "{:#}", a.body);
    assert_eq!(results_of(&n1.http, HELD).len(), 2);

    // ---- A release imported into the database (as `huren import codes` does, next to the
    // nodes) is searchable on both within their refresh period.
    let (table, _, new_code) = crate::registry::next_release();
    crate::helpers::import_national_release(&url, &table, "2026.2");
    for node in [&n1.http, &n2.http] {
        let found = within(Duration::from_secs(10), || {
            node.get_as(
                &format!(
                    "/fhir/ValueSet/$expand?url={}&filter={new_code}",
                    enc("http://huren.example/fhir/ValueSet/national-lab")
                ),
                Some(&curator("reader")),
            )
            .expansion_codes()
            .contains(&new_code)
        });
        assert!(
            found.is_some(),
            "{new_code} not searchable on {}",
            node.url("")
        );
    }

    // ---- Node 2 is killed under load; node 1 has every batch node 2 acknowledged, whole.
    let stream = Stream::start(&n2.base, &lis);
    stream.wait_acked(10);
    n2.kill();
    let (acked, sent) = stream.stop();
    let agent = new_agent();
    for k in 1..=sent {
        let n = stored(&agent, &n1.base, k);
        if acked.contains(&k) {
            assert_eq!(n, BATCH, "acknowledged batch {k} has {n} results on node 1");
        } else {
            assert!(n == 0 || n == BATCH, "batch {k} stored in part: {n}");
        }
    }
    eprintln!(
        "node 2 killed after {} acknowledged batches of {sent} sent: all on node 1",
        acked.len()
    );
}
