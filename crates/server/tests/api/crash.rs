//! Crash safety: the real `huren` binary takes a stream of transaction Bundles, is killed with
//! SIGKILL in the middle of it, and started again on the same database. Every batch it
//! acknowledged is there in full, and no batch is there in part — on SQLite (WAL) and on
//! PostgreSQL.

use huren_testkit::{TEST_SECRET, TestDb, token};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Results per batch.
pub(crate) const BATCH: usize = 20;

/// Starts `huren serve` on `db` on a free port; returns the process and its base URL.
fn start(db: &str, data: &std::path::Path) -> (Child, String) {
    start_with(db, data, &[])
}

/// [`start`] with more arguments of `huren serve`.
pub(crate) fn start_with(db: &str, data: &std::path::Path, extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_huren"))
        .args([
            "serve",
            "--db",
            db,
            "--addr",
            "127.0.0.1:0",
            "--workers",
            "2",
        ])
        .args(extra)
        .arg("--data-dir")
        .arg(data)
        .env("HUREN_JWT_SECRET", TEST_SECRET)
        .env("HUREN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start huren");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent && let Some(addr) = line.strip_prefix("huren listening on ") {
                tx.send(addr.trim().to_owned()).ok();
                sent = true;
            }
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("huren did not say where it listens");
    (child, base)
}

/// A transaction Bundle of `BATCH` potassium results of patient `crash-{k}`.
pub(crate) fn batch(k: usize) -> String {
    let entries: Vec<String> = (0..BATCH)
        .map(|i| {
            format!(
                r#"{{"resource":{{"resourceType":"Observation","identifier":[{{"system":"urn:test:crash","value":"{k}-{i}"}}],"status":"final","code":{{"coding":[{{"system":"http://loinc.org","code":"2823-3"}}]}},"subject":{{"identifier":{{"system":"urn:test:patient","value":"crash-{k}"}}}},"effectiveDateTime":"2026-11-20T08:{:02}:00+08:00","valueQuantity":{{"value":4.{i},"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}}},"request":{{"method":"POST","url":"Observation"}}}}"#,
                i % 60
            )
        })
        .collect();
    format!(
        r#"{{"resourceType":"Bundle","type":"transaction","entry":[{}]}}"#,
        entries.join(",")
    )
}

pub(crate) fn new_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// How many results patient `crash-{k}` has, asked as an admin.
pub(crate) fn stored(agent: &ureq::Agent, base: &str, k: usize) -> usize {
    let mut resp = agent
        .get(&format!(
            "{base}/fhir/Observation?subject:identifier=urn:test:patient%7Ccrash-{k}&_count=100"
        ))
        .header("Authorization", &format!("Bearer {}", token("admin", None)))
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: serde_json::Value = resp.body_mut().read_json().unwrap();
    body["entry"].as_array().map_or(0, Vec::len)
}

/// Two clients sending [`batch`]es to `base` as the LIS `lis` until the server is gone or
/// they are stopped; which batches were acknowledged.
pub(crate) struct Stream {
    acked: Arc<Mutex<Vec<usize>>>,
    next: Arc<Mutex<usize>>,
    stop: Arc<AtomicBool>,
    clients: Vec<std::thread::JoinHandle<()>>,
}

impl Stream {
    pub(crate) fn start(base: &str, lis: &str) -> Stream {
        let acked = Arc::new(Mutex::new(Vec::<usize>::new()));
        let next = Arc::new(Mutex::new(0usize));
        let stop = Arc::new(AtomicBool::new(false));
        let clients = (0..2)
            .map(|_| {
                let (acked, next, stop, base, lis) = (
                    acked.clone(),
                    next.clone(),
                    stop.clone(),
                    base.to_owned(),
                    lis.to_owned(),
                );
                std::thread::spawn(move || {
                    let agent = new_agent();
                    while !stop.load(Ordering::SeqCst) {
                        let k = {
                            let mut n = next.lock().unwrap();
                            *n += 1;
                            *n
                        };
                        let sent = agent
                            .post(&format!("{base}/fhir"))
                            .header("Authorization", &format!("Bearer {lis}"))
                            .header("Content-Type", "application/fhir+json")
                            .send(batch(k));
                        match sent {
                            Ok(r) if r.status().as_u16() == 200 => acked.lock().unwrap().push(k),
                            Ok(r) => panic!("batch {k}: status {}", r.status()),
                            // The server was killed while this batch was on its way.
                            Err(_) => return,
                        }
                    }
                })
            })
            .collect();
        Stream {
            acked,
            next,
            stop,
            clients,
        }
    }

    /// Waits until `n` batches are acknowledged (at most a minute).
    pub(crate) fn wait_acked(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.acked.lock().unwrap().len() < n {
            assert!(Instant::now() < deadline, "no batches acknowledged");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the clients; the acknowledged batches and how many were sent.
    pub(crate) fn stop(self) -> (Vec<usize>, usize) {
        self.stop.store(true, Ordering::SeqCst);
        for c in self.clients {
            c.join().unwrap();
        }
        let acked = self.acked.lock().unwrap().clone();
        let sent = *self.next.lock().unwrap();
        (acked, sent)
    }
}

#[cfg(unix)]
#[test]
fn a_killed_server_keeps_every_acknowledged_batch_whole_and_no_batch_in_part() {
    for db in TestDb::all() {
        let data = tempfile::tempdir().unwrap();
        let (mut child, base) = start(db.url(), data.path());
        let agent = new_agent();
        let a = agent
            .post(&format!("{base}/api/hospitals"))
            .header("Authorization", &format!("Bearer {}", token("admin", None)))
            .header("Content-Type", "application/json")
            .send(r#"{"id":"hosp-a","name":"武汉示例人民医院","province":"420000"}"#)
            .unwrap();
        assert!(matches!(a.status().as_u16(), 200 | 201));

        // Two clients send batches until the server is gone; it is killed once it has
        // acknowledged some batches, while others are in flight.
        let lis = token("system", Some("hosp-a"));
        let stream = Stream::start(&base, &lis);
        stream.wait_acked(15);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let (acked, sent) = stream.stop();

        // Started again on the same database.
        let (mut child, base) = start(db.url(), data.path());
        let agent = new_agent();
        let mut partial = Vec::new();
        let mut whole = 0;
        for k in 1..=sent {
            let n = stored(&agent, &base, k);
            if acked.contains(&k) {
                assert_eq!(n, BATCH, "{db:?}: acknowledged batch {k} has {n} results");
            }
            match n {
                0 => {}
                n if n == BATCH => whole += 1,
                n => partial.push((k, n)),
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            partial.is_empty(),
            "{db:?}: batches stored in part: {partial:?}"
        );
        assert!(whole >= acked.len(), "{db:?}");
        eprintln!(
            "{db:?}: {sent} batches sent, {} acknowledged, {whole} stored whole, none in part",
            acked.len()
        );
    }
}
