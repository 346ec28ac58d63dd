//! `perf`: the performance harness of issue 20, one command from a clean checkout to the
//! table in `docs/performance.md`.
//!
//! ```sh
//! cargo run --release -p huren-benches --bin perf                  # SQLite
//! cargo run --release -p huren-benches --bin perf -- --pg postgres://postgres@127.0.0.1:5432/test
//! ```
//!
//! It builds the release server (`cargo build --release -p huren`), then:
//!
//! 1. starts `huren serve` on loopback on a fresh database (SQLite in a temporary directory, or
//!    a fresh schema of the PostgreSQL database given with `--pg`) with 2 workers;
//! 2. imports a synthetic 100,000-term release in the official `Loinc.csv` layout with
//!    `huren import codes --format loinc` while the server runs, and waits until it serves it;
//! 3. creates 50 hospitals and imports their mapping tables of 2,000 local codes each through
//!    the HTTP API (timed), has a second curator approve them, then imports one table of
//!    100,000 rows into another hospital (timed);
//! 4. ingests 1,000,000 results: Bundles of 100 Observations in the 50 hospitals' local codes
//!    and units, from 4 client threads, every answer checked (200, 100 × `201 Created`), while
//!    the server's resident memory and the database's and WAL's sizes are sampled;
//! 5. measures each terminology operation and the clinician's patient query for a fixed time
//!    with wrk (`-t1 -c32`, Debian's `wrk`), and `/health` before and after them for the ratios;
//!    a row whose requests vary (random LOINC codes, hospitals and local codes, patients) uses a
//!    Lua `request` function, and is compared with `/health` through the same function;
//! 6. stops the server and writes the table, with the date and the command, between the
//!    `<!-- perf-harness -->` markers of `docs/performance.md` (`--no-write` only prints it).
//!
//! CI compiles the harness (clippy's `--all-targets`) but does not run it: its figures depend
//! on the machine and take about ten minutes.
//!
//! Why no new crates: the load of step 4 needs whole checked answers, which wrk does not
//! check, so it is plain threads with ureq (already the benches' client); every read-only row
//! is wrk, which puts far less load on the shared cores than any client written here would.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::Parser;
use diesel::{Connection, RunQueryDsl};
use huren_fhir::Urls;
use huren_testkit::loinc_table::{loinc_num, write_loinc_csv};
use huren_testkit::mapping_table::{Target, mapping_csv};
use huren_testkit::{TEST_SECRET, repo_root, token_for};

#[derive(Parser)]
#[command(about = "The performance harness: builds the data, runs the load, writes the table")]
struct Args {
    /// Measure on this PostgreSQL database (a fresh schema is created and dropped) instead of
    /// SQLite.
    #[arg(long)]
    pg: Option<String>,
    /// Terms of the synthetic LOINC release.
    #[arg(long, default_value_t = 100_000)]
    terms: usize,
    /// Hospitals with a mapping table each.
    #[arg(long, default_value_t = 50)]
    hospitals: usize,
    /// Local codes per hospital.
    #[arg(long, default_value_t = 2_000)]
    codes: usize,
    /// Rows of the single large mapping import.
    #[arg(long, default_value_t = 100_000)]
    big_table: usize,
    /// Results to ingest (a multiple of 100).
    #[arg(long, default_value_t = 1_000_000)]
    results: usize,
    /// Client threads of the ingest.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Seconds of each wrk run.
    #[arg(long, default_value_t = 10)]
    secs: u64,
    /// wrk connections.
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// Server workers.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// `huren serve` processes on the one database (PostgreSQL): the ingest's clients and each
    /// wrk run's connections are spread over them, as a load balancer would (memory figures
    /// are the first node's).
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// Keep the data here instead of a temporary directory (kept afterwards).
    #[arg(long)]
    workdir: Option<PathBuf>,
    /// Do not run `cargo build --release -p huren` first (use the binary that is there).
    #[arg(long)]
    no_build: bool,
    /// Print the table only; leave `docs/performance.md` alone.
    #[arg(long)]
    no_write: bool,
}

/// Bundle size of the ingest.
const PER_BUNDLE: usize = 100;
/// Distinct patients of the ingest; each has results from several hospitals.
const PATIENTS: u64 = 100_000;
const NATIONAL_ID: &str = "urn:huren:id:national-patient";

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(
        args.results.is_multiple_of(PER_BUNDLE),
        "--results must be a multiple of {PER_BUNDLE}"
    );
    ensure!(
        Command::new("wrk").arg("--version").output().is_ok(),
        "wrk is needed (Debian: apt-get install wrk)"
    );
    let root = repo_root();
    let huren = build(&root, args.no_build)?;

    let tmp;
    let dir = match &args.workdir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let db = Database::new(&dir, args.pg.as_deref())?;
    let started = utc_now();
    let mut report = Report::default();

    // 1. The server on a fresh database (the seed is loaded on first start).
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Server::start(&huren, &db, &dir, port, args.workers, 0)?;
    server.wait_healthy(&base)?;
    eprintln!("server up at {base}, pid {}", server.pid());
    ensure!(
        args.nodes == 1 || !db.is_sqlite(),
        "--nodes above 1 needs --pg: several nodes share a PostgreSQL database"
    );
    // More nodes once the first has migrated and seeded.
    let mut bases = vec![base.clone()];
    let mut others = Vec::new();
    for n in 1..args.nodes.max(1) {
        let port = free_port()?;
        let b = format!("http://127.0.0.1:{port}");
        let mut node = Server::start(&huren, &db, &dir, port, args.workers, n)?;
        node.wait_healthy(&b)?;
        eprintln!("node {n} up at {b}, pid {}", node.pid());
        bases.push(b);
        others.push(node);
    }

    // 2. The 100k-term LOINC release, imported by another process while the server runs.
    let loinc = dir.join("Loinc.csv");
    write_loinc_csv(
        std::io::BufWriter::new(std::fs::File::create(&loinc)?),
        args.terms,
    )?;
    let t = Instant::now();
    let out = Command::new(&huren)
        .args(["import", "codes", "--format", "loinc", "--release", "perf"])
        .arg(&loinc)
        .args(["--db", &db.url])
        .env("HUREN_JWT_SECRET", TEST_SECRET)
        .output()?;
    ensure!(
        out.status.success(),
        "huren import codes failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let import_secs = t.elapsed().as_secs_f64();
    let http = agent();
    let clinician = bearer("clinician-1", "clinician", Some(&hospital(0)));
    let t2 = Instant::now();
    for b in &bases {
        let probe = format!(
            "{b}/fhir/CodeSystem/$lookup?system=http%3A%2F%2Floinc.org&code={}",
            loinc_num(args.terms - 1)
        );
        while get_status(&http, &probe, &clinician)? != 200 {
            ensure!(
                t2.elapsed() < Duration::from_secs(120),
                "{b} did not pick up the release"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    report.row(
        "import",
        &format!("`huren import codes` of {} LOINC terms", args.terms),
        format!(
            "{import_secs:.1} s; served {:.1} s later",
            t2.elapsed().as_secs_f64()
        ),
    );
    std::thread::sleep(Duration::from_secs(3));
    report.row(
        "footprint",
        &format!("server RSS, {}-term release, no results", args.terms),
        mib(server.rss()?),
    );

    // 3. Hospitals and mapping tables.
    let targets = national_targets(&root)?;
    let admin = bearer("admin-1", "admin", None);
    let mut rows_total = 0;
    let mut import_time = Duration::ZERO;
    let mut approve_time = Duration::ZERO;
    for h in 0..=args.hospitals {
        let id = hospital(h);
        let body = format!(
            r#"{{"id":"{id}","name":"性能测试医院{h}","province":"420000","city":"420100","level":"三级甲等"}}"#
        );
        let (status, text) = send(
            &http,
            "POST",
            &format!("{base}/api/hospitals"),
            &admin,
            "application/json",
            body.as_bytes(),
        )?;
        ensure!(status < 300, "creating {id}: {status} {text}");
        if h == args.hospitals {
            break; // the last one takes the large table
        }
        let csv = mapping_csv(args.codes, &targets);
        let (import, approve) = import_table(&http, &base, &id, &csv)?;
        import_time += import;
        approve_time += approve;
        rows_total += args.codes;
    }
    report.row(
        "mapping import",
        &format!(
            "{} tables of {} rows through `POST …/mappings/import`",
            args.hospitals, args.codes
        ),
        format!(
            "{:.1} s = {:.0} rows/s; their approval by a second curator {:.1} s = {:.0} rows/s",
            import_time.as_secs_f64(),
            rows_total as f64 / import_time.as_secs_f64(),
            approve_time.as_secs_f64(),
            rows_total as f64 / approve_time.as_secs_f64()
        ),
    );
    let big = hospital(args.hospitals);
    let csv = mapping_csv(args.big_table, &targets);
    let (import, approve) = import_table(&http, &base, &big, &csv)?;
    let secs = import.as_secs_f64();
    report.row(
        "mapping import",
        &format!(
            "one table of {} rows ({:.1} MB) through `POST …/mappings/import`",
            args.big_table,
            csv.len() as f64 / 1e6
        ),
        format!(
            "{secs:.2} s = **{:.0} rows/s**; its approval {:.2} s",
            args.big_table as f64 / secs,
            approve.as_secs_f64()
        ),
    );

    // 4. The ingest of results, sampled.
    let ingest = Ingest::new(&targets, args.hospitals, args.codes);
    // The release, the hospitals and their mappings, before any result: what the ingest adds
    // is the results' own footprint.
    let (before_data, before_wal) = db.size()?;
    let sampler = Sampler::start(server.pid(), db.clone());
    let t = Instant::now();
    let stored = ingest.run(&bases, args.results, args.clients)?;
    let ingest_secs = t.elapsed().as_secs_f64();
    let samples = sampler.stop();
    report.row(
        "ingest",
        &format!(
            "{} results, Bundles of {PER_BUNDLE}, {} clients",
            args.results, args.clients
        ),
        format!(
            "{ingest_secs:.0} s = **{:.0} Observations/s** ({stored} stored, 0 errors)",
            args.results as f64 / ingest_secs
        ),
    );
    report.row(
        "ingest",
        "throughput by tenths of the ingest (Observations/s)",
        samples.rates(),
    );
    report.row(
        "footprint",
        "server RSS during the ingest (max)",
        mib(samples.max_rss),
    );
    if db.is_sqlite() {
        report.row(
            "footprint",
            "SQLite WAL during the ingest (max)",
            mib(samples.max_wal),
        );
    }
    std::thread::sleep(Duration::from_secs(5));
    let (data, wal) = db.size()?;
    report.row(
        "footprint",
        "database after the ingest",
        format!(
            "{} ({}) = **{:.2} kB per stored Observation**",
            mib(data + wal),
            if db.is_sqlite() {
                format!("file {} + WAL {}", mib(data), mib(wal))
            } else {
                "tables, indexes and TOAST of the schema".into()
            },
            (data + wal) as f64 / 1000.0 / args.results as f64
        ),
    );
    let added = (data + wal).saturating_sub(before_data + before_wal);
    report.row(
        "footprint",
        "of which the results (the database after the ingest less the database before it)",
        format!(
            "{} = **{:.2} kB per stored Observation**",
            mib(added),
            added as f64 / 1000.0 / args.results as f64
        ),
    );

    // 5. The read rows.
    let wrk = Wrk {
        secs: args.secs,
        connections: args.connections,
        dir: dir.clone(),
    };
    let health = wrk.run_all(&bases, "", &Paths::One("/health".into()))?;
    let health_lua = wrk.run_all(
        &bases,
        "",
        &Paths::Many(vec![("/health".into(), String::new())]),
    )?;
    report.row(
        "ceiling",
        "`/health` (plain wrk; with a Lua `request` function)",
        format!("{} ; {}", health.brief(), health_lua.brief()),
    );
    let national_vs = "http%3A%2F%2Fhuren.example%2Ffhir%2FValueSet%2Fnational-lab";
    let national_cs = "http%3A%2F%2Fhuren.example%2Ffhir%2FCodeSystem%2Fnational-lab";
    let loinc_vs = "http%3A%2F%2Floinc.org%2Fvs";
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut random = move |n: u64| {
        // xorshift: reproducible paths without a crate
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let loinc_codes: Vec<(String, String)> = (0..1000)
        .map(|_| {
            let path = format!(
                "/fhir/CodeSystem/$lookup?system=http%3A%2F%2Floinc.org&code={}",
                loinc_num(random(args.terms as u64) as usize)
            );
            (path, String::new())
        })
        .collect();
    // Each hospital's own interface engine asks about its own codes.
    let local: Vec<(String, String)> = (0..1000)
        .map(|_| {
            let h = hospital(random(args.hospitals as u64) as usize);
            let code = mapped_code(random(args.codes as u64) as usize);
            let path = format!(
                "/fhir/ConceptMap/$translate?system={}&code={code}",
                encode(&Urls::new(huren::config::DEFAULT_CANONICAL_BASE).local_code_system(&h))
            );
            (path, bearer("interface", "system", Some(&h)))
        })
        .collect();
    let patients: Vec<(String, String)> = (0..1000)
        .map(|_| {
            let path = format!(
                "/fhir/Observation?subject:identifier={}%7C{}",
                encode(NATIONAL_ID),
                patient_id(random(PATIENTS.min((args.results as u64).max(1))))
            );
            (path, String::new())
        })
        .collect();
    let mut rows: Vec<(String, String, Paths)> = vec![
        (
            "`$lookup` national code".into(),
            format!("/fhir/CodeSystem/$lookup?system={national_cs}&code=9000033-2"),
            Paths::One(String::new()),
        ),
        (
            "`$lookup` LOINC, 1,000 random codes of the release".into(),
            String::new(),
            Paths::Many(loinc_codes),
        ),
        (
            "`$validate-code` national code and display".into(),
            format!(
                "/fhir/CodeSystem/$validate-code?url={national_cs}&code=9000033-2&display=GLU"
            ),
            Paths::One(String::new()),
        ),
        (
            "`$translate` LOINC → national".into(),
            "/fhir/ConceptMap/$translate?system=http%3A%2F%2Floinc.org&code=14749-6&targetsystem=NATIONAL".into(),
            Paths::One(String::new()),
        ),
        (
            "`$translate` local → national, 1,000 random (hospital, code)".into(),
            String::new(),
            Paths::Many(local),
        ),
    ];
    // The `$expand` query shapes of the issue: label, value set, filter as sent.
    let shapes = [
        ("national, 血糖", national_vs, "%E8%A1%80%E7%B3%96"),
        ("LOINC, one word (glucose)", loinc_vs, "glucose"),
        (
            "LOINC, two words (alanine aminotransferase)",
            loinc_vs,
            "alanine%20aminotransferase",
        ),
        (
            "LOINC, a word in 1/12 of all terms (serum)",
            loinc_vs,
            "serum",
        ),
        (
            "LOINC, Chinese (谷丙转氨酶)",
            loinc_vs,
            "%E8%B0%B7%E4%B8%99%E8%BD%AC%E6%B0%A8%E9%85%B6",
        ),
        ("LOINC, abbreviation (ALT)", loinc_vs, "ALT"),
        ("LOINC, typo (glucsoe)", loinc_vs, "glucsoe"),
    ];
    rows.extend(shapes.iter().map(|(label, vs, filter)| {
        (
            format!("`$expand` {label}"),
            format!("/fhir/ValueSet/$expand?url={vs}&filter={filter}&count=10"),
            Paths::One(String::new()),
        )
    }));
    rows.push((
        "clinician's patient query, 1,000 random patients of the 1M results".into(),
        String::new(),
        Paths::Many(patients),
    ));
    // The same query shapes, never the same page twice: 4,100 pages of each (every count from
    // 1 to 100 at offsets 0 to 40) asked in turn, more than the index keeps (2,048), so every
    // request is searched anew.
    rows.extend(shapes.iter().map(|(label, vs, filter)| {
        let pages = (0..=40)
            .flat_map(|offset| {
                (1..=100).map(move |count| {
                    let path = format!(
                        "/fhir/ValueSet/$expand?url={vs}&filter={filter}&count={count}&offset={offset}"
                    );
                    (path, String::new())
                })
            })
            .collect();
        (
            format!("`$expand` {label}, no page kept"),
            String::new(),
            Paths::Cycle(pages),
        )
    }));
    let mut measured = Vec::new();
    for (name, path, paths) in &rows {
        let paths = match paths {
            Paths::One(_) => Paths::One(path.clone()),
            many => many.clone(),
        };
        // Each path must answer 200 before it is loaded.
        let (first, auth) = match &paths {
            Paths::One(p) => (p.clone(), clinician.clone()),
            Paths::Many(ps) | Paths::Cycle(ps) => {
                let (p, a) = ps[0].clone();
                (p, if a.is_empty() { clinician.clone() } else { a })
            }
        };
        let status = get_status(&http, &format!("{base}{first}"), &auth)?;
        ensure!(status == 200, "{first}: {status}");
        let m = wrk.run_all(&bases, &clinician, &paths)?;
        eprintln!("{name}: {}", m.brief());
        measured.push(m);
    }
    let health_after = wrk.run_all(&bases, "", &Paths::One("/health".into()))?;
    let health_lua_after = wrk.run_all(
        &bases,
        "",
        &Paths::Many(vec![("/health".into(), String::new())]),
    )?;
    report.row(
        "ceiling",
        "`/health` after the rows (plain; Lua)",
        format!("{} ; {}", health_after.brief(), health_lua_after.brief()),
    );
    let plain = (health.rps + health_after.rps) / 2.0;
    let lua = (health_lua.rps + health_lua_after.rps) / 2.0;
    for ((name, _, paths), m) in rows.iter().zip(&measured) {
        let ceiling = if matches!(paths, Paths::One(_)) {
            plain
        } else {
            lua
        };
        report.row(
            "read",
            name,
            format!("{} = **{:.2} of `/health`**", m.brief(), m.rps / ceiling),
        );
    }
    report.row(
        "footprint",
        "server RSS at the end (now; peak of the run)",
        format!("{} ; {}", mib(server.rss()?), mib(server.peak_rss()?)),
    );

    // 6. Stop, size at rest, and the table.
    for node in others {
        node.stop()?;
    }
    server.stop()?;
    let (data, wal) = db.size()?;
    report.row(
        "footprint",
        "database after shutdown",
        format!(
            "{} = {:.2} kB per stored Observation",
            mib(data + wal),
            (data + wal) as f64 / 1000.0 / args.results as f64
        ),
    );
    db.drop_schema();

    let command = match &args.pg {
        Some(_) => "cargo run --release -p huren-benches --bin perf -- --pg postgres://…",
        None => "cargo run --release -p huren-benches --bin perf",
    };
    let table = report.markdown(&started, command, &args, db.is_sqlite());
    println!("{table}");
    if !args.no_write {
        write_into_docs(&root.join("docs/performance.md"), &table, db.is_sqlite())?;
        eprintln!("written into docs/performance.md");
    }
    Ok(())
}

/// Builds the release server unless told not to; returns its path.
fn build(root: &Path, no_build: bool) -> anyhow::Result<PathBuf> {
    if !no_build {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--release",
                "--locked",
                "-p",
                "huren",
                "--bin",
                "huren",
            ])
            .current_dir(root)
            .status()?;
        ensure!(status.success(), "cargo build --release -p huren failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin = target.join("release/huren");
    ensure!(bin.exists(), "{} is missing", bin.display());
    Ok(bin)
}

/// The database under measure: a SQLite file, or a schema of a PostgreSQL database.
#[derive(Clone)]
struct Database {
    url: String,
    sqlite: Option<PathBuf>,
    pg: Option<(String, String)>,
}

impl Database {
    fn new(dir: &Path, pg: Option<&str>) -> anyhow::Result<Database> {
        match pg {
            None => {
                let path = dir.join("perf.db");
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
                Ok(Database {
                    url: format!("sqlite://{}", path.display()),
                    sqlite: Some(path),
                    pg: None,
                })
            }
            Some(admin) => {
                let schema = format!("huren_perf_{}", std::process::id());
                let mut conn = diesel::PgConnection::establish(admin)
                    .with_context(|| format!("connecting to {admin}"))?;
                diesel::sql_query(format!("CREATE SCHEMA {schema}")).execute(&mut conn)?;
                let sep = if admin.contains('?') { '&' } else { '?' };
                Ok(Database {
                    url: format!("{admin}{sep}options=-csearch_path%3D{schema}"),
                    sqlite: None,
                    pg: Some((admin.to_owned(), schema)),
                })
            }
        }
    }

    fn is_sqlite(&self) -> bool {
        self.sqlite.is_some()
    }

    /// (data, WAL) bytes: the SQLite file and its WAL, or the schema's relations (WAL 0).
    fn size(&self) -> anyhow::Result<(u64, u64)> {
        if let Some(path) = &self.sqlite {
            let len = |p: String| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            return Ok((
                len(path.display().to_string()),
                len(format!("{}-wal", path.display())),
            ));
        }
        let (admin, schema) = self.pg.as_ref().expect("postgres");
        #[derive(diesel::QueryableByName)]
        struct Size {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = diesel::PgConnection::establish(admin)?;
        let size: Size = diesel::sql_query(format!(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint AS n FROM pg_class c \
             JOIN pg_namespace s ON s.oid = c.relnamespace \
             WHERE s.nspname = '{schema}' AND c.relkind IN ('r', 'm')"
        ))
        .get_result(&mut conn)?;
        Ok((size.n as u64, 0))
    }

    fn drop_schema(&self) {
        if let Some((admin, schema)) = &self.pg
            && let Ok(mut conn) = diesel::PgConnection::establish(admin)
        {
            let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .execute(&mut conn);
        }
    }
}

/// `huren serve` as a child process.
struct Server {
    child: Child,
}

impl Server {
    fn start(
        huren: &Path,
        db: &Database,
        dir: &Path,
        port: u16,
        workers: usize,
        node: usize,
    ) -> anyhow::Result<Server> {
        let log = std::fs::File::create(dir.join(if node == 0 {
            "server.log".to_owned()
        } else {
            format!("server-{node}.log")
        }))?;
        let child = Command::new(huren)
            .arg("serve")
            .args(["--node-id", &format!("perf-{node}")])
            .args(["--db", &db.url])
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir.join("huren-data"))
            .args(["--workers", &workers.to_string()])
            .args(["--max-body-mb", "64"])
            .env("HUREN_JWT_SECRET", TEST_SECRET)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting huren serve")?;
        Ok(Server { child })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_healthy(&mut self, base: &str) -> anyhow::Result<()> {
        let http = agent();
        let t = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("huren serve exited: {status} (see server.log)");
            }
            if http
                .get(format!("{base}/health"))
                .call()
                .is_ok_and(|r| r.status() == 200)
            {
                return Ok(());
            }
            ensure!(
                t.elapsed() < Duration::from_secs(300),
                "no /health after 300 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn rss(&self) -> anyhow::Result<u64> {
        status_kib(self.pid(), "VmRSS:").map(|k| k * 1024)
    }

    fn peak_rss(&self) -> anyhow::Result<u64> {
        status_kib(self.pid(), "VmHWM:").map(|k| k * 1024)
    }

    /// SIGTERM (graceful: the server finishes its requests and closes the database), then wait.
    fn stop(mut self) -> anyhow::Result<()> {
        Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()?;
        let t = Instant::now();
        while self.child.try_wait()?.is_none() {
            if t.elapsed() > Duration::from_secs(60) {
                self.child.kill()?;
                bail!("huren serve did not stop within 60 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .with_context(|| format!("no {field} in /proc/{pid}/status"))?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("no number")?
        .parse()?)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(300)))
        .build()
        .into()
}

fn bearer(sub: &str, role: &str, hospital: Option<&str>) -> String {
    format!(
        "Bearer {}",
        token_for(TEST_SECRET, sub, role, hospital, 24 * 3600)
    )
}

fn hospital(i: usize) -> String {
    format!("perf-h{i:02}")
}

fn patient_id(p: u64) -> String {
    format!("4201061980{p:08}")
}

/// The `i`-th local code that the mapping table maps (one row in fifty is left unmapped).
fn mapped_code(i: usize) -> String {
    let i = if i % 50 == 49 { i - 1 } else { i };
    format!("L{i:06}")
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn get_status(http: &ureq::Agent, url: &str, bearer: &str) -> anyhow::Result<u16> {
    let mut r = http.get(url).header("Authorization", bearer).call()?;
    let _ = r.body_mut().read_to_vec();
    Ok(r.status().as_u16())
}

fn send(
    http: &ureq::Agent,
    method: &str,
    url: &str,
    bearer: &str,
    content_type: &str,
    body: &[u8],
) -> anyhow::Result<(u16, String)> {
    let req = match method {
        "POST" => http.post(url),
        "PUT" => http.put(url),
        _ => bail!("method {method}"),
    };
    let mut r = req
        .header("Authorization", bearer)
        .header("Content-Type", content_type)
        .send(body)?;
    let text = r
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()?;
    Ok((r.status().as_u16(), text))
}

/// Imports `csv` for hospital `id` as its first curator and approves it as the second; returns
/// how long each took.
fn import_table(
    http: &ureq::Agent,
    base: &str,
    id: &str,
    csv: &[u8],
) -> anyhow::Result<(Duration, Duration)> {
    let c1 = bearer("curator-1", "curator", Some(id));
    let c2 = bearer("curator-2", "curator", Some(id));
    let t = Instant::now();
    let (status, text) = send(
        http,
        "POST",
        &format!("{base}/api/hospitals/{id}/mappings/import"),
        &c1,
        "text/csv",
        csv,
    )?;
    ensure!(
        status == 200,
        "importing {id}'s table: {status} {}",
        clip(&text)
    );
    let import = t.elapsed();
    let t = Instant::now();
    let (status, text) = send(
        http,
        "POST",
        &format!("{base}/api/hospitals/{id}/mappings/approve"),
        &c2,
        "application/json",
        br#"{"status":"proposed"}"#,
    )?;
    ensure!(
        status == 200,
        "approving {id}'s table: {status} {}",
        clip(&text)
    );
    Ok((import, t.elapsed()))
}

fn clip(s: &str) -> &str {
    &s[..s.floor_char_boundary(600)]
}

/// The national codes that quantitative results can map to: (code, canonical unit, name).
fn national_targets(root: &Path) -> anyhow::Result<Vec<Target<'static>>> {
    let mut reader = csv::Reader::from_path(root.join("code-tables/national-lab.csv"))?;
    let headers = reader.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("no column {name}"))
    };
    let (code, scale, unit, zh, status) = (
        col("code")?,
        col("scale_typ")?,
        col("ucum_unit")?,
        col("display_zh")?,
        col("status")?,
    );
    let mut targets = Vec::new();
    for row in reader.records() {
        let row = row?;
        if &row[scale] == "Qn" && !row[unit].is_empty() && &row[status] == "ACTIVE" {
            let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
            targets.push(Target {
                code: leak(&row[code]),
                unit: leak(&row[unit]),
                name_zh: leak(&row[zh]),
            });
        }
    }
    ensure!(!targets.is_empty(), "no quantitative national codes");
    Ok(targets)
}

/// The results of step 4: each local code is sent in its mapping's unit with a value inside
/// its mapping's range.
struct Ingest {
    /// (unit, value) per local code index.
    codes: Vec<(String, String)>,
    hospitals: usize,
    next: AtomicU64,
}

impl Ingest {
    fn new(targets: &[Target<'_>], hospitals: usize, codes: usize) -> Ingest {
        let codes = (0..codes)
            .map(|i| {
                let t = targets[i % targets.len()];
                // the same range as `mapping_csv` gives the row: low = i % 7 + 0.5, high = low + 10
                let value = (i % 7) as f64 + 0.5 + (i % 11) as f64 * 0.7;
                (t.unit.to_owned(), format!("{value:.1}"))
            })
            .collect();
        Ingest {
            codes,
            hospitals,
            next: AtomicU64::new(0),
        }
    }

    /// Bundle `b`: hospital `b % hospitals`, results numbered from `b * 100`.
    fn bundle(&self, b: u64, system: &str, id: &str) -> String {
        let mut out = String::with_capacity(PER_BUNDLE * 700);
        out.push_str(r#"{"resourceType":"Bundle","type":"batch","entry":["#);
        for k in 0..PER_BUNDLE as u64 {
            let n = b * PER_BUNDLE as u64 + k;
            let i = (n.wrapping_mul(2_654_435_761) % self.codes.len() as u64) as usize;
            let code = mapped_code(i);
            let (unit, value) = &self.codes[if i % 50 == 49 { i - 1 } else { i }];
            let patient = patient_id(n % PATIENTS);
            let day = 1 + n % 5;
            if k > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                r#"{{"resource":{{"resourceType":"Observation","identifier":[{{"system":"urn:lis:{id}","value":"R{n}"}}],"status":"final","category":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}}]}}],"code":{{"coding":[{{"system":"{system}","code":"{code}","display":"test {code}"}}]}},"subject":{{"identifier":{{"system":"{NATIONAL_ID}","value":"{patient}"}}}},"effectiveDateTime":"2026-12-0{day}T08:12:00+08:00","issued":"2026-12-0{day}T10:30:00+08:00","valueQuantity":{{"value":{value},"unit":"{unit}","system":"http://unitsofmeasure.org","code":"{unit}"}}}},"request":{{"method":"POST","url":"Observation"}}}}"#
            );
        }
        out.push_str("]}");
        out
    }

    /// Sends `total` results from `clients` threads; every answer must be 200 with one
    /// `201 Created` per entry. Returns how many were stored.
    fn run(&self, bases: &[String], total: usize, clients: usize) -> anyhow::Result<usize> {
        let bundles = (total / PER_BUNDLE) as u64;
        let urls = Urls::new(huren::config::DEFAULT_CANONICAL_BASE);
        let tokens: Vec<(String, String, String)> = (0..self.hospitals)
            .map(|h| {
                let id = hospital(h);
                (
                    bearer("lis", "system", Some(&id)),
                    urls.local_code_system(&id),
                    id,
                )
            })
            .collect();
        let stored = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let done = AtomicU64::new(0);
        let t = Instant::now();
        let (stored, failed, done, tokens) = (&stored, &failed, &done, &tokens);
        std::thread::scope(|s| -> anyhow::Result<()> {
            let handles: Vec<_> = (0..clients)
                .map(|c| {
                    // Client c sends to node c (mod the nodes), as a load balancer would.
                    let url = format!("{}/fhir", bases[c % bases.len()]);
                    s.spawn(move || -> anyhow::Result<()> {
                        let http = agent();
                        loop {
                            let b = self.next.fetch_add(1, Ordering::Relaxed);
                            if b >= bundles || failed.load(Ordering::Relaxed) {
                                return Ok(());
                            }
                            let (token, system, id) = &tokens[(b as usize) % tokens.len()];
                            let body = self.bundle(b, system, id);
                            let (status, text) = send(
                                &http,
                                "POST",
                                &url,
                                token,
                                "application/fhir+json",
                                body.as_bytes(),
                            )?;
                            let created = text.matches("201 Created").count();
                            if status != 200 || created != PER_BUNDLE {
                                failed.store(true, Ordering::Relaxed);
                                bail!("bundle {b}: {status}, {created} created: {}", clip(&text));
                            }
                            stored.fetch_add(created, Ordering::Relaxed);
                            PROGRESS.fetch_add(created as u64, Ordering::Relaxed);
                            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                            if d.is_multiple_of((bundles / 20).max(1)) {
                                eprintln!(
                                    "ingest: {} results in {:.0} s",
                                    d * PER_BUNDLE as u64,
                                    t.elapsed().as_secs_f64()
                                );
                            }
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().expect("client thread")?;
            }
            Ok(())
        })?;
        Ok(stored.load(Ordering::Relaxed))
    }
}

/// What the sampler saw during the ingest.
struct Samples {
    max_rss: u64,
    max_wal: u64,
    /// Observations/s in each tenth of the ingest's time.
    rates: Vec<f64>,
}

impl Samples {
    fn rates(&self) -> String {
        if self.rates.is_empty() {
            return "—".into();
        }
        self.rates
            .iter()
            .map(|r| format!("{:.0}k", r / 1000.0))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Samples the server's RSS and the WAL every 250 ms, and the ingest's progress per tenth.
struct Sampler {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<Samples>,
}

/// Results stored so far by the ingest (read by the sampler).
static PROGRESS: AtomicU64 = AtomicU64::new(0);

impl Sampler {
    fn start(pid: u32, db: Database) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut s = Samples {
                max_rss: 0,
                max_wal: 0,
                rates: Vec::new(),
            };
            let start = Instant::now();
            let mut progress = vec![(0.0, 0)];
            while !flag.load(Ordering::Relaxed) {
                progress.push((
                    start.elapsed().as_secs_f64(),
                    PROGRESS.load(Ordering::Relaxed),
                ));
                if let Ok(k) = status_kib(pid, "VmRSS:") {
                    s.max_rss = s.max_rss.max(k * 1024);
                }
                if db.is_sqlite()
                    && let Ok((_, wal)) = db.size()
                {
                    s.max_wal = s.max_wal.max(wal);
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            // Throughput per tenth of the time, from the nearest samples.
            let total = progress.last().map_or(0.0, |p| p.0);
            let at = |t: f64| {
                progress
                    .iter()
                    .min_by(|a, b| (a.0 - t).abs().total_cmp(&(b.0 - t).abs()))
                    .copied()
                    .unwrap_or((0.0, 0))
            };
            if total > 1.0 {
                for k in 0..10 {
                    let (t0, n0) = at(total * k as f64 / 10.0);
                    let (t1, n1) = at(total * (k + 1) as f64 / 10.0);
                    if t1 > t0 {
                        s.rates.push((n1 - n0) as f64 / (t1 - t0));
                    }
                }
            }
            s
        });
        Sampler { stop, handle }
    }

    fn stop(self) -> Samples {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().expect("sampler")
    }
}

/// The paths one wrk run requests.
#[derive(Clone)]
enum Paths {
    /// One path, plain wrk.
    One(String),
    /// A random one per request, through a Lua `request` function; each with its own bearer
    /// token, or the run's when empty.
    Many(Vec<(String, String)>),
    /// Each in turn, over and over (for more paths than a cache keeps, none is ever kept).
    Cycle(Vec<(String, String)>),
}

struct Wrk {
    secs: u64,
    connections: u32,
    dir: PathBuf,
}

/// One wrk run's figures.
struct Measured {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

impl Measured {
    fn brief(&self) -> String {
        format!(
            "{:.1}k req/s, p50 {:.2} ms, p99 {:.2} ms",
            self.rps / 1000.0,
            self.p50_ms,
            self.p99_ms
        )
    }
}

impl Wrk {
    /// One run against every node at once, the connections shared out between them: the
    /// requests per second added up, the latencies the worst node's.
    fn run_all(&self, bases: &[String], bearer: &str, paths: &Paths) -> anyhow::Result<Measured> {
        if let [base] = bases {
            return self.run(base, bearer, paths, self.connections, "wrk.lua");
        }
        let each = (self.connections / bases.len() as u32).max(1);
        let runs: Vec<Measured> = std::thread::scope(|s| {
            let handles: Vec<_> = bases
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    s.spawn(move || self.run(b, bearer, paths, each, &format!("wrk-{i}.lua")))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("wrk thread"))
                .collect::<anyhow::Result<_>>()
        })?;
        Ok(Measured {
            rps: runs.iter().map(|m| m.rps).sum(),
            p50_ms: runs.iter().map(|m| m.p50_ms).fold(0.0, f64::max),
            p99_ms: runs.iter().map(|m| m.p99_ms).fold(0.0, f64::max),
        })
    }

    fn run(
        &self,
        base: &str,
        bearer: &str,
        paths: &Paths,
        connections: u32,
        script: &str,
    ) -> anyhow::Result<Measured> {
        let script = self.dir.join(script);
        let mut lua = String::new();
        if !bearer.is_empty() {
            let _ = writeln!(lua, r#"wrk.headers["Authorization"] = "{bearer}""#);
        }
        let url = match paths {
            Paths::One(p) => format!("{base}{p}"),
            Paths::Many(ps) | Paths::Cycle(ps) => {
                lua.push_str("local paths = {\n");
                for (p, auth) in ps {
                    let _ = writeln!(lua, "  {{\"{p}\", \"{auth}\"}},");
                }
                lua.push_str(concat!(
                    "}\nmath.randomseed(42)\n",
                    "local turn = 0\n",
                    "request = function()\n",
                ));
                lua.push_str(if matches!(paths, Paths::Cycle(_)) {
                    "  turn = turn % #paths + 1\n  local p = paths[turn]\n"
                } else {
                    "  local p = paths[math.random(#paths)]\n"
                });
                lua.push_str(concat!(
                    "  if p[2] == \"\" then return wrk.format(nil, p[1]) end\n",
                    "  return wrk.format(nil, p[1], {[\"Authorization\"] = p[2]})\n",
                    "end\n",
                ));
                base.to_owned()
            }
        };
        std::fs::write(&script, lua)?;
        let out = Command::new("wrk")
            .args(["-t1", &format!("-c{connections}")])
            .arg(format!("-d{}s", self.secs))
            .arg("--latency")
            .arg("-s")
            .arg(&script)
            .arg(&url)
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        ensure!(out.status.success(), "wrk failed: {text}");
        ensure!(
            !text.contains("Non-2xx") && !text.contains("Socket errors"),
            "wrk saw errors on {url}:\n{text}"
        );
        let number = |prefix: &str| -> anyhow::Result<&str> {
            text.lines()
                .find_map(|l| l.trim_start().strip_prefix(prefix))
                .map(str::trim)
                .with_context(|| format!("no `{prefix}` in wrk's output:\n{text}"))
        };
        Ok(Measured {
            rps: number("Requests/sec:")?.parse()?,
            p50_ms: millis(number("50%")?)?,
            p99_ms: millis(number("99%")?)?,
        })
    }
}

/// wrk's latency: `812.00us`, `1.20ms`, `2.01s`.
fn millis(s: &str) -> anyhow::Result<f64> {
    let (number, factor) = if let Some(n) = s.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else {
        bail!("latency `{s}`")
    };
    Ok(number.parse::<f64>()? * factor)
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Rows of the table, in order, grouped by kind.
#[derive(Default)]
struct Report {
    rows: Vec<(String, String, String)>,
}

impl Report {
    fn row(&mut self, kind: &str, what: &str, value: String) {
        eprintln!("{what}: {value}");
        self.rows.push((kind.into(), what.into(), value));
    }

    fn markdown(&self, started: &str, command: &str, args: &Args, sqlite: bool) -> String {
        let mut out = String::new();
        let backend = if sqlite { "SQLite" } else { "PostgreSQL" };
        let _ = writeln!(
            out,
            "Run of {started} on {}, {backend}, `{command}`: {} LOINC terms, {} hospitals × {} \
             local codes, {} results; wrk `-t1 -c{} -d{}s` on the same cores; {} server node(s) \
             with {} workers each.\n",
            machine(),
            args.terms,
            args.hospitals,
            args.codes,
            args.results,
            args.connections,
            args.secs,
            args.nodes,
            args.workers
        );
        let _ = writeln!(out, "| | measure | figure |\n|---|---|---|");
        for (kind, what, value) in &self.rows {
            let _ = writeln!(out, "| {kind} | {what} | {value} |");
        }
        out
    }
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map_or(String::new(), |k| {
            format!(", {:.0} GiB", k as f64 / 1048576.0)
        });
    format!("{cpus} cores{mem}")
}

fn utc_now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Replaces the text between the harness's markers for this backend (or appends a section).
fn write_into_docs(path: &Path, table: &str, sqlite: bool) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let tag = if sqlite { "sqlite" } else { "postgres" };
    let begin = format!("<!-- perf-harness {tag} begin -->");
    let end = format!("<!-- perf-harness {tag} end -->");
    let new = match (text.find(&begin), text.find(&end)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{begin}\n{table}{}", &text[..b], &text[e..])
        }
        _ => format!(
            "{}\n## The harness ({tag})\n\n{begin}\n{table}{end}\n",
            text.trim_end()
        ),
    };
    let mut f = std::fs::File::create(path)?;
    f.write_all(new.as_bytes())?;
    Ok(())
}
