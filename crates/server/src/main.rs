//! `huren`: the command line. Parses arguments and calls into the library; nothing else.
//!
//! clap (derive) parses arguments and `HUREN_…` environment variables; indicatif draws
//! progress bars only when stderr is a terminal.

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use huren::config::{Secret, Settings, jwt_secret};
use huren::registry_ops::{ImportOutcome, import_codes};
use huren_core::CodeSystem;
use huren_http::Role;
use huren_http::quality_import::QualityKind;
use huren_store::Store;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "huren",
    version,
    about = "Lab-result mutual recognition (互认) terminology service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct DbArgs {
    /// Database: sqlite://PATH (default huren.db in the working directory) or postgres://…
    #[arg(long, env = "HUREN_DB", default_value = "sqlite://huren.db")]
    db: String,
}

#[derive(Subcommand)]
#[expect(
    clippy::large_enum_variant,
    reason = "parsed once per process: boxing `serve`'s settings would save nothing"
)]
enum Command {
    /// Run the HTTP service (creates the schema and loads the seed on first start).
    Serve {
        #[command(flatten)]
        db: DbArgs,
        /// Address to listen on.
        #[arg(long, env = "HUREN_ADDR", default_value = "127.0.0.1:8080")]
        addr: String,
        /// Base of canonical URLs.
        #[arg(long, env = "HUREN_CANONICAL_BASE", default_value = huren::config::DEFAULT_CANONICAL_BASE)]
        canonical_base: String,
        /// Directory for generated files (the development JWT secret).
        #[arg(long, env = "HUREN_DATA_DIR", default_value = "huren-data")]
        data_dir: PathBuf,
        /// HTTP worker threads (default: one per core).
        #[arg(long, env = "HUREN_WORKERS")]
        workers: Option<usize>,
        /// Whoever proposed a mapping may not approve it.
        #[arg(long, env = "HUREN_TWO_PERSON_RULE", default_value_t = true, action = clap::ArgAction::Set)]
        two_person_rule: bool,
        /// Also accept HL7 v2 ORU^R01 over MLLP (TCP) on this address, e.g. 0.0.0.0:2575.
        #[arg(long, env = "HUREN_MLLP_ADDR", value_name = "HOST:PORT")]
        mllp_addr: Option<String>,
        /// Which hospital an MLLP sending facility (MSH-4) is; repeatable. The variable takes a
        /// comma-separated list.
        #[arg(
            long = "mllp-facility",
            env = "HUREN_MLLP_FACILITIES",
            value_name = "FACILITY=HOSPITAL",
            value_delimiter = ',',
            value_parser = huren::config::parse_facility
        )]
        mllp_facilities: Vec<(String, huren_core::HospitalId)>,
        /// The identifier system of national patient identifiers (resident ID card, health
        /// card): what links one person's results across hospitals.
        #[arg(long, env = "HUREN_NATIONAL_ID_SYSTEM", default_value = huren_http::ingest::DEFAULT_NATIONAL_ID_SYSTEM)]
        national_id_system: String,
        /// EQA: the share of acceptable samples (percent) that makes an event satisfactory.
        #[arg(long, env = "HUREN_EQA_PASS_PERCENT", default_value_t = 80, value_parser = clap::value_parser!(u32).range(1..=100))]
        eqa_pass_percent: u32,
        /// EQA: performance is unsuccessful when LIMIT of the last WINDOW events of a program
        /// are unsatisfactory (`2/3`).
        #[arg(long, env = "HUREN_EQA_UNSUCCESSFUL", default_value = "2/3", value_parser = parse_unsuccessful)]
        eqa_unsuccessful: (usize, usize),
        /// EQA: how old, in days, the latest event may be for recognition.
        #[arg(long, env = "HUREN_EQA_MAX_AGE_DAYS", default_value_t = 365)]
        eqa_max_age_days: u32,
        /// The largest request body taken, in MiB (larger: 413 with an OperationOutcome).
        #[arg(long, env = "HUREN_MAX_BODY_MB", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1024))]
        max_body_mb: u32,
        /// The most entries of one FHIR Bundle.
        #[arg(long, env = "HUREN_MAX_BUNDLE_ENTRIES", default_value_t = 10_000)]
        max_bundle_entries: usize,
        /// The most data rows of one uploaded CSV file.
        #[arg(long, env = "HUREN_MAX_CSV_ROWS", default_value_t = 200_000)]
        max_csv_rows: usize,
        /// Accept tokens signed by this PEM public key (RSA: RS256, P-256: ES256). With a public
        /// key or a JWKS file, HS256 is accepted only when HUREN_JWT_SECRET is set.
        #[arg(long, env = "HUREN_JWT_PUBLIC_KEY", value_name = "PEM")]
        jwt_public_key: Option<PathBuf>,
        /// Accept tokens signed by the keys of this JWKS file (by `kid`); the file is read again
        /// when it changes, without a restart.
        #[arg(long, env = "HUREN_JWT_JWKS", value_name = "FILE")]
        jwt_jwks: Option<PathBuf>,
        /// The `iss` every token must carry.
        #[arg(long, env = "HUREN_JWT_ISSUER")]
        jwt_issuer: Option<String>,
        /// An `aud` every token must carry.
        #[arg(long, env = "HUREN_JWT_AUDIENCE")]
        jwt_audience: Option<String>,
        /// Serve HTTPS with this PEM certificate chain (leaf first); needs --tls-key.
        #[arg(long, env = "HUREN_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1).
        #[arg(long, env = "HUREN_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Allowed clock skew for `exp` and `nbf`, in seconds.
        #[arg(long, env = "HUREN_JWT_LEEWAY_SECS", default_value_t = 30)]
        jwt_leeway_secs: u64,
        /// How often, in milliseconds, to look for what other nodes changed (releases,
        /// mappings, hospitals) and for due background jobs.
        #[arg(long, env = "HUREN_REFRESH_MS", default_value_t = 250, value_parser = clap::value_parser!(u64).range(10..=60_000))]
        refresh_ms: u64,
        /// This node's name in background-job claims (default: host name and process id).
        #[arg(long, env = "HUREN_NODE_ID")]
        node_id: Option<String>,
        /// Verify the hash chains every this many hours, on one node (0: never).
        #[arg(long, env = "HUREN_VERIFY_EVERY_HOURS", default_value_t = 24)]
        verify_every_hours: u64,
        /// The most database connections this node opens (default 8 on SQLite, 16 on
        /// PostgreSQL). Nodes × this must stay under PostgreSQL's max_connections.
        #[arg(long, env = "HUREN_DB_POOL", value_parser = clap::value_parser!(u32).range(1..=1000))]
        db_pool: Option<u32>,
    },
    /// Normalize a results file offline (HL7 v2, FHIR JSON or CSV, told by content): one
    /// Observation per line on stdout, problems and held results on stderr. Writes nothing.
    ///
    /// Exit status 0 when every result was normalized, 1 when the input has a problem or a
    /// result is held, 2 for usage and IO errors.
    Normalize {
        /// The hospital that sent the results (its mappings are used).
        #[arg(long)]
        hospital: String,
        /// The results file.
        file: PathBuf,
        /// Base of canonical URLs.
        #[arg(long, env = "HUREN_CANONICAL_BASE", default_value = huren::config::DEFAULT_CANONICAL_BASE)]
        canonical_base: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Recompute the tamper-evident hash chains of stored results and mapping changes, and
    /// report the first broken link of each hospital.
    ///
    /// Exit status 0 when every chain is intact, 1 when one is broken, 2 for other errors.
    /// Each line gives a hospital, its links and its head hash: keep the heads somewhere the
    /// database's administrators cannot write, and compare them next time.
    Verify {
        /// Only this hospital.
        #[arg(long)]
        hospital: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Import data files.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Inspect registry releases.
    Registry {
        #[command(subcommand)]
        what: RegistryCommand,
    },
    /// Print a signed development token (HS256).
    Token {
        #[arg(long)]
        role: String,
        /// Hospital id the token acts for (optional for admin).
        #[arg(long)]
        hospital: Option<String>,
        /// Lifetime, e.g. 30m, 1h, 7d.
        #[arg(long, default_value = "1h")]
        ttl: String,
        /// Subject (user or system name).
        #[arg(long, default_value = "huren-cli")]
        sub: String,
        #[arg(long, env = "HUREN_DATA_DIR", default_value = "huren-data")]
        data_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Import a code table as a new release: the national layout or LOINC's Loinc.csv.
    Codes {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::National)]
        format: Format,
        /// Release label (default: file name and time).
        #[arg(long)]
        release: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Create or update hospitals from a CSV file (id,name,province,city,level).
    Hospitals {
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Import the recognition catalogue (scope, national_code or loinc, validity_days, mark,
    /// strict_iqc): entries are added or replaced.
    Catalogue {
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Import a laboratory's EQA events (室间质评): national_code, loinc or local_code, program,
    /// event, event_date, samples, acceptable, passed.
    Eqa {
        /// The laboratory the events belong to.
        #[arg(long)]
        hospital: String,
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Import a laboratory's IQC control results (室内质控): national_code, loinc or local_code,
    /// run_at, control_level, value, target_mean, target_sd.
    Iqc {
        /// The laboratory the control results belong to.
        #[arg(long)]
        hospital: String,
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Import a hospital's local-code mapping table (the curator's CSV).
    Mappings {
        /// The hospital the table belongs to.
        #[arg(long)]
        hospital: String,
        file: PathBuf,
        /// Check and report everything, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Mark every mapped row approved (the file was reviewed); the two-person rule applies.
        #[arg(long, value_enum)]
        status: Option<ImportStatus>,
        /// Who imports (recorded in the history; the two-person rule compares it).
        #[arg(long, env = "USER", default_value = "huren-cli")]
        by: String,
        /// Whoever proposed a mapping may not approve it.
        #[arg(long, env = "HUREN_TWO_PERSON_RULE", default_value_t = true, action = clap::ArgAction::Set)]
        two_person_rule: bool,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ImportStatus {
    Proposed,
    Approved,
}

#[derive(Subcommand)]
enum RegistryCommand {
    /// List releases.
    Releases {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Codes added, changed, deprecated and removed between two releases.
    Diff {
        from: String,
        to: String,
        #[arg(long, value_enum, default_value_t = Format::National)]
        system: Format,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    National,
    Loinc,
}

impl Format {
    fn system(self) -> CodeSystem {
        match self {
            Format::National => CodeSystem::National,
            Format::Loinc => CodeSystem::Loinc,
        }
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HUREN_LOG")
                .unwrap_or_else(|_| "info,actix_server=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn open(db: &DbArgs) -> anyhow::Result<Store> {
    let store = Store::connect(&db.db).with_context(|| format!("opening {}", db.db))?;
    store.migrate()?;
    // What the command line writes is audited as done by the operating-system user.
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let request: String = std::env::args().collect::<Vec<_>>().join(" ");
    Ok(store.acting_as(huren_core::audit::AuditContext {
        actor: huren_core::audit::Actor {
            sub: format!("cli:{user}"),
            role: "cli".into(),
            hospital: None,
            address: None,
        },
        request: request.chars().take(2048).collect(),
    }))
}

/// `huren verify`.
fn verify(hospital: Option<&str>, db: &DbArgs) -> anyhow::Result<ExitCode> {
    let store = open(db)?;
    let hospital = hospital
        .map(|h| {
            huren_core::HospitalId::parse(h).map_err(|e| anyhow::anyhow!("--hospital: {}", e.0))
        })
        .transpose()?;
    let reports = store.verify_chains(hospital.as_ref())?;
    let mut broken = 0;
    for r in &reports {
        match &r.broken {
            None => println!(
                "{:<24} intact  {:>9} links  head {}",
                r.hospital, r.links, r.head
            ),
            Some(b) => {
                broken += 1;
                println!(
                    "{:<24} BROKEN  at link {}{}: {}",
                    r.hospital,
                    b.seq,
                    if b.item.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", b.item)
                    },
                    b.problem
                );
            }
        }
    }
    if broken > 0 {
        eprintln!("{broken} of {} chain(s) broken", reports.len());
        Ok(ExitCode::from(1))
    } else {
        eprintln!("{} chain(s) intact", reports.len());
        Ok(ExitCode::SUCCESS)
    }
}

/// `LIMIT/WINDOW` of `--eqa-unsuccessful`: 1 ≤ LIMIT ≤ WINDOW.
fn parse_unsuccessful(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("`{s}` is not LIMIT/WINDOW with 1 <= LIMIT <= WINDOW (e.g. 2/3)");
    let (limit, window) = s.split_once('/').ok_or_else(bad)?;
    let limit: usize = limit.trim().parse().map_err(|_| bad())?;
    let window: usize = window.trim().parse().map_err(|_| bad())?;
    if limit == 0 || limit > window {
        return Err(bad());
    }
    Ok((limit, window))
}

fn env_secret() -> Option<Secret> {
    std::env::var("HUREN_JWT_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .map(Secret::new)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve {
            db,
            addr,
            canonical_base,
            data_dir,
            workers,
            two_person_rule,
            mllp_addr,
            mllp_facilities,
            national_id_system,
            eqa_pass_percent,
            eqa_unsuccessful: (unsatisfactory_limit, window),
            eqa_max_age_days,
            max_body_mb,
            max_bundle_entries,
            max_csv_rows,
            jwt_public_key,
            jwt_jwks,
            jwt_issuer,
            jwt_audience,
            jwt_leeway_secs,
            tls_cert,
            tls_key,
            refresh_ms,
            node_id,
            verify_every_hours,
            db_pool,
        } => {
            let mut settings = Settings::new(db.db);
            settings.refresh_ms = refresh_ms;
            settings.node_id = node_id.filter(|s| !s.trim().is_empty());
            settings.verify_every_hours = verify_every_hours;
            settings.db_pool = db_pool;
            settings.tls = tls_cert.zip(tls_key);
            settings.jwt_public_key = jwt_public_key;
            settings.jwt_jwks = jwt_jwks;
            settings.jwt_rules = huren_http::auth::TokenRules {
                leeway_secs: jwt_leeway_secs,
                issuer: jwt_issuer.filter(|s| !s.is_empty()),
                audience: jwt_audience.filter(|s| !s.is_empty()),
            };
            settings.limits = huren_http::Limits {
                max_body_bytes: max_body_mb as usize * 1024 * 1024,
                max_bundle_entries,
                max_csv_rows,
            };
            settings.national_id_system = national_id_system;
            settings.eqa = huren_core::qc::EqaPolicy {
                pass_percent: eqa_pass_percent,
                window,
                unsatisfactory_limit,
                max_age_days: i64::from(eqa_max_age_days),
            };
            settings.mllp_addr = mllp_addr;
            settings.facilities = mllp_facilities;
            settings.two_person_rule = two_person_rule;
            settings.addr = addr;
            settings.canonical_base = canonical_base;
            settings.data_dir = data_dir;
            settings.workers = workers;
            settings.jwt_secret = env_secret();
            actix_web::rt::System::new().block_on(serve(settings))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Normalize {
            hospital,
            file,
            canonical_base,
            db,
        } => Ok(
            normalize(&hospital, &file, canonical_base, &db).unwrap_or_else(|e| {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }),
        ),
        Command::Verify { hospital, db } => verify(hospital.as_deref(), &db),
        Command::Migrate { db } => {
            let store = Store::connect(&db.db)?;
            let n = store.migrate()?;
            println!("{n} migration(s) applied to {}", store.backend());
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            what:
                ImportCommand::Codes {
                    file,
                    format,
                    release,
                    db,
                },
        } => import(&file, format.system(), release, &db),
        Command::Import {
            what: ImportCommand::Hospitals { file, db },
        } => import_hospitals(&file, &db),
        Command::Import {
            what: ImportCommand::Catalogue { file, db },
        } => import_quality(None, &file, &db),
        Command::Import {
            what: ImportCommand::Eqa { hospital, file, db },
        } => import_quality(Some((QualityKind::Eqa, &hospital)), &file, &db),
        Command::Import {
            what: ImportCommand::Iqc { hospital, file, db },
        } => import_quality(Some((QualityKind::Iqc, &hospital)), &file, &db),
        Command::Import {
            what:
                ImportCommand::Mappings {
                    hospital,
                    file,
                    dry_run,
                    status,
                    by,
                    two_person_rule,
                    db,
                },
        } => {
            let options = huren_http::mapping_import::ImportOptions {
                dry_run,
                status: status.map(|s| match s {
                    ImportStatus::Proposed => huren_core::MappingStatus::Proposed,
                    ImportStatus::Approved => huren_core::MappingStatus::Approved,
                }),
                two_person_rule,
                actor: by,
                now: huren_http::mapping_import::now_millis(),
            };
            import_mappings(&hospital, &file, options, &db)
        }
        Command::Registry { what } => match what {
            RegistryCommand::Releases { db } => {
                let store = open(&db)?;
                use huren_core::ports::RegistryStore;
                for r in store.releases()? {
                    println!(
                        "{:<9} {:<24} {:>7} concepts  {}  {}",
                        r.system, r.label, r.concept_count, r.imported_at, r.source
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            RegistryCommand::Diff {
                from,
                to,
                system,
                db,
            } => {
                let store = open(&db)?;
                let d = huren::registry_ops::diff(&store, system.system(), &from, &to)?;
                for (kind, codes) in [
                    ("added", &d.added),
                    ("changed", &d.changed),
                    ("deprecated", &d.deprecated),
                    ("removed", &d.removed),
                ] {
                    for c in codes {
                        println!("{kind}\t{c}");
                    }
                }
                eprintln!(
                    "{} added, {} changed, {} deprecated, {} removed",
                    d.added.len(),
                    d.changed.len(),
                    d.deprecated.len(),
                    d.removed.len()
                );
                Ok(ExitCode::SUCCESS)
            }
        },
        Command::Token {
            role,
            hospital,
            ttl,
            sub,
            data_dir,
        } => {
            let role = Role::parse(&role).with_context(|| {
                format!("unknown role `{role}`: admin, curator, system, clinician or qc")
            })?;
            let ttl = humantime::parse_duration(&ttl)
                .with_context(|| format!("--ttl `{ttl}` is not a duration like 30m, 1h or 7d"))?;
            let (secret, _) = jwt_secret(env_secret().as_ref(), &data_dir)?;
            println!(
                "{}",
                huren::token::mint(secret.expose(), &sub, role, hospital.as_deref(), ttl)?
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = huren::Application::build(settings).await?;
    if let Some(path) = &app.created_secret {
        eprintln!(
            "Created a development JWT secret in {}.\nMint a token with:  cargo run --release -- token --role admin",
            path.display()
        );
    }
    eprintln!("huren listening on http://{}", app.addr());
    if let Some(addr) = app.mllp_addr() {
        eprintln!("huren listening for HL7 v2 over MLLP on {addr}");
    }
    app.run().await?;
    Ok(())
}

fn normalize(
    hospital: &str,
    file: &std::path::Path,
    canonical_base: String,
    db: &DbArgs,
) -> anyhow::Result<ExitCode> {
    let id = huren_core::HospitalId::parse(hospital)?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let store = open(db)?;
    let mut settings = Settings::new(db.db.clone());
    settings.canonical_base = canonical_base;
    let normalizer = huren::normalize::Normalizer::load(&store, id, &settings)?;
    let summary = normalizer.run(
        &store,
        &file.display().to_string(),
        &bytes,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    )?;
    Ok(if summary.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn import(
    file: &std::path::Path,
    system: CodeSystem,
    release: Option<String>,
    db: &DbArgs,
) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let label = release.unwrap_or_else(|| {
        let stem = file
            .file_stem()
            .map_or("import".into(), |s| s.to_string_lossy().into_owned());
        let now = time::OffsetDateTime::now_utc();
        format!(
            "{stem}-{:04}{:02}{:02}T{:02}{:02}{:02}",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second()
        )
    });
    let store = open(db)?;
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(bytes.len() as u64);
        bar.set_style(indicatif::ProgressStyle::with_template(
            "{msg} {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )?);
        bar.set_message("reading");
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let started = std::time::Instant::now();
    let outcome = import_codes(
        &store,
        &bytes,
        system,
        &label,
        &file.display().to_string(),
        &mut |done| bar.set_position(done),
    )?;
    bar.finish_and_clear();
    match outcome {
        ImportOutcome::Imported(r) => {
            println!(
                "imported {} {} concepts as release `{}` in {:.1} s",
                r.concept_count,
                r.system,
                r.label,
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        ImportOutcome::Rejected(problems) => {
            for p in &problems {
                eprintln!("{}:{p}", file.display());
            }
            eprintln!(
                "{}: {} problem(s); nothing was imported",
                file.display(),
                problems.len()
            );
            Ok(ExitCode::from(1))
        }
    }
}

fn progress_bar(len: u64) -> anyhow::Result<indicatif::ProgressBar> {
    Ok(if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(len);
        bar.set_style(indicatif::ProgressStyle::with_template(
            "{msg} {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )?);
        bar.set_message("reading");
        bar
    } else {
        indicatif::ProgressBar::hidden()
    })
}

fn import_hospitals(file: &std::path::Path, db: &DbArgs) -> anyhow::Result<ExitCode> {
    use huren_core::ports::HospitalStore;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let (hospitals, problems) = huren_csv::hospitals::parse_hospitals(&bytes)
        .with_context(|| format!("cannot read {}", file.display()))?;
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("{}:{p}", file.display());
        }
        eprintln!(
            "{}: {} problem(s); nothing was imported",
            file.display(),
            problems.len()
        );
        return Ok(ExitCode::from(1));
    }
    let store = open(db)?;
    store.upsert_hospitals(&hospitals)?;
    println!("{} hospital(s) created or updated", hospitals.len());
    Ok(ExitCode::SUCCESS)
}

fn import_mappings(
    hospital: &str,
    file: &std::path::Path,
    options: huren_http::mapping_import::ImportOptions,
    db: &DbArgs,
) -> anyhow::Result<ExitCode> {
    use huren_core::ports::HospitalStore;
    let id = huren_core::HospitalId::parse(hospital)?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let store = open(db)?;
    huren::seed::seed_if_empty(&store)?;
    anyhow::ensure!(
        store.hospital(&id)?.is_some(),
        "no hospital `{id}`: create it first (huren import hospitals FILE, or POST /api/hospitals)"
    );
    let registry = huren::registry_ops::load_registry(&store)?;
    let bar = progress_bar(bytes.len() as u64)?;
    let started = std::time::Instant::now();
    let report = huren_http::mapping_import::import_mappings(
        &store,
        &registry,
        &id,
        &bytes,
        &options,
        &mut |done| bar.set_position(done),
    )
    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    bar.finish_and_clear();
    print_problems(file, &report.problems);
    let verb = if report.written {
        "imported"
    } else {
        "checked"
    };
    println!(
        "{verb} {} rows ({}) for {id} in {:.2} s: {} created, {} updated, {} unchanged, {} unmapped, {} awaiting a second reviewer, {} problem(s)",
        report.rows,
        report.encoding,
        started.elapsed().as_secs_f64(),
        report.created,
        report.updated,
        report.unchanged,
        report.unmapped,
        report.awaiting_second_review,
        report.problems.len()
    );
    if !report.problems.is_empty() {
        eprintln!("{}: nothing was written", file.display());
        return Ok(ExitCode::from(1));
    }
    if options.dry_run {
        eprintln!("dry run: nothing was written");
    }
    Ok(ExitCode::SUCCESS)
}

/// Every row problem as `FILE:LINE: COLUMN: MESSAGE`, on standard error.
fn print_problems(file: &std::path::Path, problems: &[huren_http::mapping_import::ProblemReport]) {
    for p in problems {
        match &p.column {
            Some(c) => eprintln!("{}:{}: {c}: {}", file.display(), p.line, p.message),
            None => eprintln!("{}:{}: {}", file.display(), p.line, p.message),
        }
    }
}

/// `huren import catalogue|eqa|iqc`: the file is checked whole, and written only when no row
/// has a problem.
fn import_quality(
    lab: Option<(QualityKind, &str)>,
    file: &std::path::Path,
    db: &DbArgs,
) -> anyhow::Result<ExitCode> {
    use huren_core::ports::HospitalStore;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let store = open(db)?;
    huren::seed::seed_if_empty(&store)?;
    let registry = huren::registry_ops::load_registry(&store)?;
    let report = match lab {
        None => huren_http::quality_import::import_catalogue(&store, &registry, &bytes),
        Some((kind, hospital)) => {
            let id = huren_core::HospitalId::parse(hospital)?;
            anyhow::ensure!(
                store.hospital(&id)?.is_some(),
                "no hospital `{id}`: create it first (huren import hospitals FILE, or POST /api/hospitals)"
            );
            huren_http::quality_import::import_quality(&store, &registry, &id, kind, &bytes)
        }
    }
    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    print_problems(file, &report.problems);
    if !report.written {
        eprintln!(
            "{}: {} problem(s); nothing was written",
            file.display(),
            report.problems.len()
        );
        return Ok(ExitCode::from(1));
    }
    let whose = report
        .hospital
        .as_deref()
        .map_or_else(String::new, |h| format!(" for {h}"));
    println!("{} {} row(s) imported{whose}", report.rows, report.kind);
    Ok(ExitCode::SUCCESS)
}
