//! Spawning the app and speaking HTTP to it.

use huren::{Application, Settings};
use huren_testkit::{TEST_SECRET, TestDb, token};
use serde_json::Value;
use std::net::SocketAddr;

pub struct TestApp {
    pub addr: SocketAddr,
    pub db: TestDb,
    handle: actix_web::dev::ServerHandle,
    _data: tempfile::TempDir,
    http: Http,
}

/// Speaks HTTP to one server (an app of this process, or a `huren serve` process).
pub struct Http {
    base: String,
    agent: ureq::Agent,
}

impl std::ops::Deref for TestApp {
    type Target = Http;
    fn deref(&self) -> &Http {
        &self.http
    }
}

impl Http {
    /// A client of the server at `base` (`http://HOST:PORT`).
    pub fn new(base: &str) -> Http {
        // Redirects (the pages' 303s) are answers to check, not to follow.
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Http {
            base: base.trim_end_matches('/').to_owned(),
            agent,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        // Stop the server and wait, so that a PostgreSQL schema is not dropped under it.
        let _ = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(handle.stop(false));
        })
        .join();
    }
}

/// Starts the service on `db`, on a free port, in a thread of its own.
pub fn spawn_app(db: TestDb) -> TestApp {
    spawn_app_with(db, |_| {})
}

/// [`spawn_app`] with settings changed by `change`.
pub fn spawn_app_with(db: TestDb, change: impl FnOnce(&mut Settings)) -> TestApp {
    let data = tempfile::tempdir().unwrap();
    let mut settings = Settings::new(db.url());
    settings.addr = "127.0.0.1:0".into();
    settings.jwt_secret = Some(huren::config::Secret::new(TEST_SECRET));
    settings.data_dir = data.path().to_path_buf();
    settings.workers = Some(2);
    settings.refresh_ms = 100;
    change(&mut settings);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            match Application::build(settings).await {
                Ok(app) => {
                    tx.send(Ok((app.addr(), app.handle()))).unwrap();
                    app.run().await.unwrap();
                }
                Err(e) => tx.send(Err(format!("{e:#}"))).unwrap(),
            }
        })
    });
    let (addr, handle) = rx
        .recv()
        .unwrap()
        .unwrap_or_else(|e| panic!("app failed to start: {e}"));
    TestApp {
        addr,
        db,
        handle,
        _data: data,
        http: Http::new(&format!("http://{addr}")),
    }
}

/// One app per available backend.
pub fn apps() -> Vec<TestApp> {
    TestDb::all().into_iter().map(spawn_app).collect()
}

/// An HTTP answer: status, content type and parsed JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
}

impl Answer {
    /// The first `Parameters.parameter` named `name`.
    pub fn param(&self, name: &str) -> Option<&Value> {
        self.params(name).into_iter().next()
    }

    pub fn params(&self, name: &str) -> Vec<&Value> {
        self.body["parameter"]
            .as_array()
            .map(|ps| ps.iter().filter(|p| p["name"] == name).collect())
            .unwrap_or_default()
    }

    /// The value of a `property` part with `code`, from a $lookup answer.
    pub fn property(&self, code: &str) -> Option<&Value> {
        self.params("property").into_iter().find_map(|p| {
            let parts = p["part"].as_array()?;
            parts
                .iter()
                .find(|x| x["name"] == "code" && (x["valueCode"] == code))?;
            parts.iter().find(|x| x["name"] == "value")
        })
    }

    /// Asserts an OperationOutcome with `status` and issue code `code`, returns diagnostics.
    #[track_caller]
    pub fn outcome(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "{:#}", self.body);
        assert_eq!(
            self.body["resourceType"], "OperationOutcome",
            "{:#}",
            self.body
        );
        assert_eq!(self.body["issue"][0]["code"], code, "{:#}", self.body);
        self.body["issue"][0]["diagnostics"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The codes of a ValueSet expansion.
    pub fn expansion_codes(&self) -> Vec<String> {
        self.body["expansion"]["contains"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| c["code"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Http {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn answer(mut resp: ureq::http::Response<ureq::Body>) -> Answer {
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = resp.body_mut().read_to_string().unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            content_type,
            body,
        }
    }

    /// GET with an admin token.
    pub fn get(&self, path: &str) -> Answer {
        self.get_as(path, Some(&token("clinician", Some("hosp-a"))))
    }

    pub fn get_as(&self, path: &str, bearer: Option<&str>) -> Answer {
        let mut req = self.agent.get(&self.url(path));
        if let Some(t) = bearer {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        Self::answer(req.call().unwrap())
    }

    pub fn post(&self, path: &str, content_type: &str, body: &str) -> Answer {
        let resp = self
            .agent
            .post(&self.url(path))
            .header(
                "Authorization",
                &format!("Bearer {}", token("system", Some("hosp-a"))),
            )
            .header("Content-Type", content_type)
            .send(body)
            .unwrap();
        Self::answer(resp)
    }
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The national code of a LOINC code, via the seed table (so tests do not hard-code numbers).
pub fn national_of(loinc: &str) -> String {
    let table = huren_csv::parse_code_table(
        huren::seed::NATIONAL_TABLE,
        huren_core::CodeSystem::National,
    )
    .unwrap();
    table
        .rows
        .iter()
        .find(|(_, c)| c.loinc == loinc)
        .map(|(_, c)| c.code.clone())
        .unwrap_or_else(|| panic!("no national concept for LOINC {loinc}"))
}

impl Http {
    /// POST raw bytes with `bearer`.
    pub fn post_as(&self, path: &str, bearer: &str, content_type: &str, body: &[u8]) -> Answer {
        let resp = self
            .agent
            .post(&self.url(path))
            .header("Authorization", &format!("Bearer {bearer}"))
            .header("Content-Type", content_type)
            .send(body)
            .unwrap();
        Self::answer(resp)
    }

    /// Creates the two example hospitals of `mappings/hospitals.csv` as an admin.
    pub fn create_example_hospitals(&self) {
        let admin = token("admin", None);
        for body in [
            r#"{"id":"hosp-a","name":"武汉示例人民医院","province":"420000","city":"420100","level":"三级甲等"}"#,
            r#"{"id":"hosp-b","name":"Shanghai Example International Clinic","province":"310000","city":"310100","level":"二级甲等"}"#,
        ] {
            let a = self.post_as(
                "/api/hospitals",
                &admin,
                "application/json",
                body.as_bytes(),
            );
            assert!(matches!(a.status, 200 | 201), "{:#}", a.body);
        }
    }
}

impl TestApp {
    /// Imports `table` (the national layout) as national release `label` straight into the
    /// app's database, as `huren import codes` does; the running server notices it.
    pub fn import_national_release(&self, table: &str, label: &str) {
        import_national_release(self.db.url(), table, label);
    }
}

impl Http {
    /// The resources of an Observation search as `bearer`, each checked against the R4 schema.
    pub fn observations(&self, query: &str, bearer: &str) -> Vec<Value> {
        let a = self.get_as(&format!("/fhir/Observation?{query}"), Some(bearer));
        assert_eq!(a.status, 200, "{:#}", a.body);
        assert_eq!(a.body["type"], "searchset");
        let entries: Vec<Value> = a.body["entry"]
            .as_array()
            .map(|e| e.iter().map(|e| e["resource"].clone()).collect())
            .unwrap_or_default();
        for o in &entries {
            huren_testkit::fhir_schema::validate_r4(o)
                .unwrap_or_else(|e| panic!("emitted Observation is not R4: {e:#?}\n{o:#}"));
        }
        entries
    }
}

impl Http {
    /// POST without an `Authorization` header.
    pub fn post_unauthenticated(&self, path: &str, content_type: &str, body: &[u8]) -> Answer {
        let resp = self
            .agent
            .post(&self.url(path))
            .header("Content-Type", content_type)
            .send(body)
            .unwrap();
        Self::answer(resp)
    }
}

/// Imports `table` (the national layout) as national release `label` into the database at
/// `db`, as `huren import codes` does next to running servers.
pub fn import_national_release(db: &str, table: &str, label: &str) {
    let store = huren_store::Store::connect_with(db, Some(2)).unwrap();
    let outcome = huren::registry_ops::import_codes(
        &store,
        table.as_bytes(),
        huren_core::CodeSystem::National,
        label,
        "test",
        &mut |_| {},
    )
    .unwrap();
    assert!(
        matches!(outcome, huren::registry_ops::ImportOutcome::Imported(_)),
        "{outcome:?}"
    );
}
