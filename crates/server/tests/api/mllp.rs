//! The MLLP listener: ORU^R01 over TCP, ACKs back on the same connection, results visible over
//! HTTP; unknown facilities and framing errors answered `AR` without closing the connection.

use huren::{Application, Settings};
use huren_core::HospitalId;
use huren_hl7v2::mllp::frame;
use huren_testkit::{TEST_SECRET, TestDb, repo_root, token};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The service with an MLLP listener mapping facility `HOSP-A-LIS` to `hosp-a`.
struct MllpApp {
    http: SocketAddr,
    mllp: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    _db: TestDb,
    _data: tempfile::TempDir,
}

impl Drop for MllpApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        let _ = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(handle.stop(false));
        })
        .join();
    }
}

fn spawn(db: TestDb) -> MllpApp {
    let data = tempfile::tempdir().unwrap();
    let mut settings = Settings::new(db.url());
    settings.addr = "127.0.0.1:0".into();
    settings.mllp_addr = Some("127.0.0.1:0".into());
    settings.facilities = vec![("HOSP-A-LIS".into(), HospitalId::parse("hosp-a").unwrap())];
    settings.jwt_secret = Some(huren::config::Secret::new(TEST_SECRET));
    settings.data_dir = data.path().to_path_buf();
    settings.workers = Some(2);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            match Application::build(settings).await {
                Ok(app) => {
                    tx.send(Ok((app.addr(), app.mllp_addr(), app.handle())))
                        .unwrap();
                    app.run().await.unwrap();
                }
                Err(e) => tx.send(Err(format!("{e:#}"))).unwrap(),
            }
        })
    });
    let (http, mllp, handle) = rx
        .recv()
        .unwrap()
        .unwrap_or_else(|e| panic!("app failed to start: {e}"));
    MllpApp {
        http,
        mllp: mllp.expect("an MLLP address"),
        handle,
        _db: db,
        _data: data,
    }
}

impl MllpApp {
    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into()
    }

    fn post(&self, path: &str, bearer: &str, body: &str) -> u16 {
        Self::agent()
            .post(&format!("http://{}{path}", self.http))
            .header("Authorization", &format!("Bearer {bearer}"))
            .header("Content-Type", "application/json")
            .send(body)
            .unwrap()
            .status()
            .as_u16()
    }

    fn get(&self, path: &str) -> Value {
        let mut resp = Self::agent()
            .get(&format!("http://{}{path}", self.http))
            .header(
                "Authorization",
                &format!("Bearer {}", token("clinician", Some("hosp-a"))),
            )
            .call()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap()
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.mllp).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s
    }
}

/// Reads one MLLP frame and returns its content as text.
fn read_frame(s: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut byte = [0u8; 1];
    while !bytes.ends_with(b"\x1c\r") {
        let n = s.read(&mut byte).expect("an ACK before the timeout");
        assert_eq!(
            n,
            1,
            "connection closed after {:?}",
            String::from_utf8_lossy(&bytes)
        );
        bytes.push(byte[0]);
    }
    assert_eq!(bytes[0], 0x0B, "a frame starts with 0x0B");
    String::from_utf8(bytes[1..bytes.len() - 2].to_vec()).unwrap()
}

/// The fields of the first segment `id` of an ER7 text.
fn segment(text: &str, id: &str) -> Vec<String> {
    text.split('\r')
        .find(|s| s.starts_with(id))
        .unwrap_or_else(|| panic!("no {id} in {text:?}"))
        .split('|')
        .map(str::to_owned)
        .collect()
}

/// `cbc.hl7` (a CBC with LOINC codes next to the local ones, so no mapping is needed) sent by
/// `facility` with control ID `control_id`.
fn cbc(facility: &str, control_id: &str) -> Vec<u8> {
    let text =
        std::fs::read_to_string(repo_root().join("crates/hl7v2/tests/data/cbc.hl7")).unwrap();
    let text = text
        .replacen(
            "|LIS|BJCH^12110000400000000X^ISO|",
            &format!("|LIS|{facility}|"),
            1,
        )
        .replacen("|LIS20240305000123|", &format!("|{control_id}|"), 1);
    assert!(text.contains(facility) && text.contains(control_id));
    text.into_bytes()
}

#[test]
fn results_arrive_over_mllp_and_are_acknowledged_in_order() {
    for db in TestDb::all() {
        let app = spawn(db);
        let admin = token("admin", None);
        let status = app.post(
            "/api/hospitals",
            &admin,
            r#"{"id":"hosp-a","name":"武汉示例人民医院","province":"420000","city":"420100"}"#,
        );
        assert_eq!(status, 201);
        let mut conn = app.connect();

        // A known facility: stored, AA echoing the control ID.
        conn.write_all(&frame(&cbc("HOSP-A-LIS", "MSG-1"))).unwrap();
        let ack = read_frame(&mut conn);
        let msa = segment(&ack, "MSA");
        assert_eq!((msa[1].as_str(), msa[2].as_str()), ("AA", "MSG-1"), "{ack}");
        // Addressed back to the sender.
        let msh = segment(&ack, "MSH");
        assert_eq!(
            (msh[4].as_str(), msh[5].as_str()),
            ("LIS", "HOSP-A-LIS"),
            "{ack}"
        );

        // Visible over HTTP, by the patient's national identifier.
        let bundle = app.get(&format!(
            "/fhir/Observation?subject:identifier={}",
            crate::helpers::enc("urn:huren:id:national-patient|110101198503120012")
        ));
        let entries = bundle["entry"].as_array().expect("entries");
        assert_eq!(entries.len(), 4, "{bundle:#}");
        let wbc = entries
            .iter()
            .map(|e| &e["resource"])
            .find(|r| {
                r["code"]["coding"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["code"] == "6690-2")
            })
            .expect("the WBC result");
        assert_eq!(wbc["valueQuantity"]["value"].as_f64(), Some(6.3), "{wbc:#}");
        assert_eq!(wbc["valueQuantity"]["code"], "10*9/L", "{wbc:#}");
        assert_eq!(
            wbc["code"]["coding"][0]["code"],
            crate::helpers::national_of("6690-2")
        );

        // An unknown facility: AR naming it, nothing stored, the connection stays usable.
        conn.write_all(&frame(&cbc("HOSP-Z-LIS", "MSG-2"))).unwrap();
        let ack = read_frame(&mut conn);
        let msa = segment(&ack, "MSA");
        assert_eq!((msa[1].as_str(), msa[2].as_str()), ("AR", "MSG-2"), "{ack}");
        let err = segment(&ack, "ERR");
        assert_eq!(err[2], "MSH^1^4^1", "{ack}");
        assert!(err[3].starts_with("204^"), "{ack}");
        assert!(
            err[8].contains("`HOSP-Z-LIS` is not configured")
                && err[8].contains("--mllp-facility HOSP-Z-LIS=HOSPITAL"),
            "{ack}"
        );

        // A frame cut short by the next one: AR naming the truncation, then the next
        // message's AA, in order, on the same connection. Whitespace between frames is
        // tolerated without an answer.
        let mut stream = b"\x0bMSH|^~\\&|LIS|HOSP-A-LIS|HUREN".to_vec();
        stream.extend(frame(&cbc("HOSP-A-LIS", "MSG-3")));
        stream.extend(b"\r\n");
        conn.write_all(&stream).unwrap();
        let ack = read_frame(&mut conn);
        let msa = segment(&ack, "MSA");
        assert_eq!((msa[1].as_str(), msa[2].as_str()), ("AR", ""), "{ack}");
        assert!(
            segment(&ack, "ERR")[8].contains("truncated after 30 byte(s)"),
            "{ack}"
        );
        let ack = read_frame(&mut conn);
        let msa = segment(&ack, "MSA");
        assert_eq!((msa[1].as_str(), msa[2].as_str()), ("AA", "MSG-3"), "{ack}");

        // Bytes outside any frame: AR, and the connection goes on.
        conn.write_all(b"hello").unwrap();
        let ack = read_frame(&mut conn);
        assert_eq!(segment(&ack, "MSA")[1], "AR", "{ack}");
        assert!(
            segment(&ack, "ERR")[8].contains("outside any MLLP frame"),
            "{ack}"
        );

        // Not HL7 inside a frame: AR from the parser.
        conn.write_all(&frame(b"PID|1||x")).unwrap();
        let ack = read_frame(&mut conn);
        assert_eq!(segment(&ack, "MSA")[1], "AR", "{ack}");

        // The same result sent again is stored once.
        let bundle = app.get(&format!(
            "/fhir/Observation?subject:identifier={}",
            crate::helpers::enc("urn:huren:id:national-patient|110101198503120012")
        ));
        assert_eq!(bundle["entry"].as_array().unwrap().len(), 4);

        // Closing inside a frame: no answer, the server just drops it.
        conn.write_all(b"\x0bMSH|^~\\&|LIS|HOSP-A-LIS").unwrap();
        conn.shutdown(std::net::Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        conn.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));

        // A new connection still works.
        let mut conn = app.connect();
        conn.write_all(&frame(&cbc("HOSP-A-LIS", "MSG-4"))).unwrap();
        assert_eq!(segment(&read_frame(&mut conn), "MSA")[1], "AA");
    }
}

#[test]
fn pipelined_messages_are_answered_in_order() {
    let app = spawn(TestDb::sqlite());
    let admin = token("admin", None);
    app.post("/api/hospitals", &admin, r#"{"id":"hosp-a","name":"A"}"#);
    let mut conn = app.connect();
    let mut stream = Vec::new();
    for i in 0..5 {
        let facility = if i % 2 == 0 { "HOSP-A-LIS" } else { "OTHER" };
        stream.extend(frame(&cbc(facility, &format!("P{i}"))));
    }
    // In small pieces, as a slow network would deliver them.
    for chunk in stream.chunks(97) {
        conn.write_all(chunk).unwrap();
    }
    for i in 0..5 {
        let ack = read_frame(&mut conn);
        let msa = segment(&ack, "MSA");
        let expected = if i % 2 == 0 { "AA" } else { "AR" };
        assert_eq!(
            (msa[1].as_str(), msa[2].as_str()),
            (expected, format!("P{i}").as_str()),
            "{ack}"
        );
    }
}
