//! Headless Chromium for the web pages' tests, driven through ChromeDriver's W3C WebDriver
//! protocol (Debian's `chromium` and `chromium-driver`; `.ci/run` installs them).
//!
//! The protocol is JSON over HTTP; the few commands the tests need (navigate, find, type,
//! click, read, screenshot) are spoken here with ureq, which the tests already link. A WebDriver
//! crate (fantoccini, thirtyfour) would add hyper, url and idna to every test build for the
//! same dozen requests.

use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The key of an element reference in W3C WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A ChromeDriver process and one browser session.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
}

/// One element of the page.
#[derive(Debug, Clone)]
pub struct Element(String);

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| std::path::Path::new(d).join(name))
        .find(|p| p.is_file())
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium at 1280×800. `None` when they are not
    /// installed (then the browser tests say so and skip) — except when
    /// `HUREN_BROWSER_TESTS=required` (`.ci/run` sets it), where their absence is a failure.
    pub fn start() -> Option<Browser> {
        let driver = which("chromedriver");
        let chromium = ["chromium", "chromium-browser", "google-chrome"]
            .into_iter()
            .find_map(which);
        let (Some(driver), Some(chromium)) = (driver, chromium) else {
            assert!(
                std::env::var("HUREN_BROWSER_TESTS").as_deref() != Ok("required"),
                "chromium and chromedriver are needed for the browser tests (apt-get install \
                 chromium chromium-driver)"
            );
            eprintln!("note: chromium or chromedriver not installed; skipping the browser test");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while agent.get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut browser = Browser {
            driver: child,
            base,
            session: String::new(),
            agent,
        };
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,800", "--lang=zh-CN"],
            },
        }}});
        let answer = browser.call("POST", "/session", Some(caps));
        browser.session = answer["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {answer:#}"))
            .to_owned();
        Some(browser)
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let resp = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self.agent.post(&url).send_json(body.unwrap_or(json!({}))),
        }
        .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let status = resp.status().as_u16();
        let value: Value = resp.into_body().read_json().unwrap_or(Value::Null);
        assert!(
            status < 300,
            "WebDriver {method} {path}: {status} {:#}",
            value["value"]
        );
        value.get("value").cloned().unwrap_or(value)
    }

    fn session_call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    /// Opens `url`.
    pub fn goto(&self, url: &str) {
        self.session_call("POST", "/url", Some(json!({"url": url})));
    }

    /// The current URL.
    pub fn url(&self) -> String {
        self.session_call("GET", "/url", None)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// Waits (up to ten seconds) until the URL contains `part`, after a click that navigates;
    /// returns the URL.
    pub fn wait_for_url(&self, part: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = self.url();
            if url.contains(part) {
                return url;
            }
            assert!(
                Instant::now() < deadline,
                "the browser stayed on {url}, not `{part}`"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Resizes the window (a tablet: 820×1180).
    pub fn set_size(&self, width: u32, height: u32) {
        self.session_call(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        );
    }

    /// The page's HTML as the browser has it.
    pub fn source(&self) -> String {
        self.session_call("GET", "/source", None)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// The visible text of the whole page.
    pub fn text(&self) -> String {
        self.find("body").text()
    }

    /// The first element matching the CSS selector (waiting up to five seconds for it).
    pub fn find(&self, css: &str) -> BoundElement<'_> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let url = format!("{}/session/{}/element", self.base, self.session);
            let resp = self
                .agent
                .post(&url)
                .send_json(json!({"using": "css selector", "value": css}))
                .expect("WebDriver find");
            let ok = resp.status().as_u16() < 300;
            let value: Value = resp.into_body().read_json().unwrap_or(Value::Null);
            if ok && let Some(id) = value["value"][ELEMENT].as_str() {
                return BoundElement {
                    browser: self,
                    element: Element(id.to_owned()),
                };
            }
            assert!(
                Instant::now() < deadline,
                "no element `{css}` on {}:\n{}",
                self.url(),
                self.source()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every element matching the CSS selector, now.
    pub fn find_all(&self, css: &str) -> Vec<BoundElement<'_>> {
        let found = self.session_call(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        );
        found
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT].as_str())
                    .map(|id| BoundElement {
                        browser: self,
                        element: Element(id.to_owned()),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A PNG of the viewport.
    pub fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let b64 = self.session_call("GET", "/screenshot", None);
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or(""))
            .expect("a base64 screenshot")
    }

    /// A PNG of the whole page (Chromium's full-page capture through the DevTools protocol).
    pub fn full_screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let shot = self.session_call(
            "POST",
            "/goog/cdp/execute",
            Some(
                json!({"cmd": "Page.captureScreenshot", "params": {"captureBeyondViewport": true}}),
            ),
        );
        base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap_or(""))
            .expect("a base64 screenshot")
    }
}

/// An element of a browser's page.
pub struct BoundElement<'a> {
    browser: &'a Browser,
    element: Element,
}

impl BoundElement<'_> {
    fn path(&self, tail: &str) -> String {
        format!("/element/{}{tail}", self.element.0)
    }

    /// Types `text` into the element.
    pub fn type_text(&self, text: &str) -> &Self {
        self.browser
            .session_call("POST", &self.path("/value"), Some(json!({"text": text})));
        self
    }

    /// Empties an input or textarea.
    pub fn clear(&self) -> &Self {
        self.browser
            .session_call("POST", &self.path("/clear"), None);
        self
    }

    pub fn click(&self) {
        self.browser
            .session_call("POST", &self.path("/click"), None);
    }

    /// The element's visible text.
    pub fn text(&self) -> String {
        self.browser
            .session_call("GET", &self.path("/text"), None)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// An attribute's value.
    pub fn attr(&self, name: &str) -> Option<String> {
        self.browser
            .session_call("GET", &self.path(&format!("/attribute/{name}")), None)
            .as_str()
            .map(str::to_owned)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self
                .agent
                .delete(&format!("{}/session/{}", self.base, self.session))
                .call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
