//! Startup and the servers: connect, migrate, seed on first start, build the catalog, bind HTTP
//! (and MLLP when configured, see [`crate::mllp`]), and keep the catalog in step with the
//! database.

use crate::config::{Settings, jwt_secret};
use crate::registry_ops::load_catalog;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use huren_core::HospitalId;
use huren_core::jobs::{JobEnd, JobKind, KEEP_ENDED_MS, LEASE_MS, RENEW_EVERY_MS};
use huren_core::ports::{RegistryStore, Storage};
use huren_fhir::Urls;
use huren_http::ingest::ResultsConfig;
use huren_http::{AppState, Authenticator};
use huren_store::Store;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A built, bound, not yet running service.
pub struct Application {
    server: actix_web::dev::Server,
    addr: SocketAddr,
    mllp: Option<(actix_web::rt::net::TcpListener, SocketAddr)>,
    state: web::Data<AppState>,
    store: Store,
    refresh: Duration,
    /// How often the hash chains are verified by a scheduled job (0: never).
    verify_every: Duration,
    /// Set when `serve` created a new development secret, so `main` can say how to mint tokens.
    pub created_secret: Option<std::path::PathBuf>,
    /// The token keys, for reloading the JWKS file.
    auth: web::Data<Authenticator>,
}

/// The token verifier `settings` ask for: the PEM public key and the JWKS file when given;
/// HS256 with the secret when one is configured (`HUREN_JWT_SECRET`), or, when no public key
/// is, with a development secret kept in the data directory (created on first start: its path
/// is returned then).
fn authenticator(
    settings: &Settings,
) -> anyhow::Result<(Authenticator, Option<std::path::PathBuf>)> {
    let mut auth = Authenticator::new(settings.jwt_rules.clone());
    if let Some(path) = &settings.jwt_public_key {
        auth = auth.with_pem_file(path)?;
    }
    if let Some(path) = &settings.jwt_jwks {
        auth = auth.with_jwks_file(path)?;
    }
    let asymmetric = settings.jwt_public_key.is_some() || settings.jwt_jwks.is_some();
    let mut created = None;
    if settings.jwt_secret.is_some() || !asymmetric {
        let (secret, made) = jwt_secret(settings.jwt_secret.as_ref(), &settings.data_dir)?;
        auth = auth.with_hs256(secret.expose().as_bytes());
        created = made.then(|| settings.data_dir.join("jwt-secret"));
    }
    Ok((auth, created))
}

impl Application {
    /// Does everything up to accepting connections. Binding port 0 picks a free port; read it
    /// back with [`Application::addr`].
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let (auth, created) = authenticator(&settings)?;
        let auth = web::Data::new(auth);
        let auth_data = auth.clone();
        let db = settings.db.clone();
        let db_pool = settings.db_pool;
        let seed = settings.seed;
        let facilities = facility_table(&settings)?;
        let hospitals: Vec<_> = facilities.values().cloned().collect();
        let (store, catalog) = web::block(move || -> anyhow::Result<_> {
            let store = Store::connect_checkpointing(&db, db_pool)
                .with_context(|| format!("opening {db}"))?;
            // Nodes started together: one migrates and seeds, the others wait for it.
            store.while_starting(|| -> anyhow::Result<()> {
                let applied = store.migrate()?;
                if applied > 0 {
                    tracing::info!(applied, backend = store.backend(), "migrations applied");
                }
                if seed && crate::seed::seed_if_empty(&store)? {
                    tracing::info!("loaded the national registry and LOINC seed");
                }
                Ok(())
            })??;
            let catalog = load_catalog(&store)?;
            for h in &hospitals {
                if huren_core::ports::HospitalStore::hospital(&store, h)?.is_none() {
                    tracing::warn!(
                        hospital = %h,
                        "an MLLP facility maps to hospital `{h}`, which does not exist (yet): \
                         its messages will fail until it is created"
                    );
                }
            }
            Ok((store, catalog))
        })
        .await??;
        let urls = Urls::new(settings.canonical_base.clone());
        let results = ResultsConfig {
            facilities,
            ..results_config(&settings)?
        };
        let state = web::Data::new(
            AppState::new(
                catalog,
                Arc::new(store.clone()) as Arc<dyn Storage>,
                urls,
                settings.two_person_rule,
            )
            .with_results(results)
            .with_limits(settings.limits)
            .with_node(
                settings
                    .node_id
                    .clone()
                    .unwrap_or_else(huren_http::default_node_id),
            ),
        );
        let app_state = state.clone();
        let max_body = settings.limits.max_body_bytes;
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(huren_http::error::fhir_errors())
                // Outermost: records the answer as the client gets it.
                .wrap(actix_web::middleware::from_fn(
                    huren_http::audit::audit_trail,
                ))
                .app_data(app_state.clone())
                .app_data(auth.clone())
                .app_data(web::PayloadConfig::new(max_body))
                .configure(huren_http::configure)
        });
        if let Some(w) = settings.workers {
            server = server.workers(w);
        }
        let server = match &settings.tls {
            Some((cert, key)) => {
                server.bind_rustls_0_23(&settings.addr, crate::tls::server_config(cert, key)?)
            }
            None => server.bind(&settings.addr),
        }
        .with_context(|| format!("cannot listen on {}", settings.addr))?;
        let addr = *server
            .addrs()
            .first()
            .context("the server bound no address")?;
        let mllp = match &settings.mllp_addr {
            Some(a) => {
                let listener = crate::mllp::bind(a)
                    .await
                    .with_context(|| format!("cannot listen for MLLP on {a}"))?;
                let bound = listener.local_addr()?;
                if settings.facilities.is_empty() {
                    tracing::warn!(
                        "the MLLP listener has no facilities (--mllp-facility FACILITY=HOSPITAL): \
                         every message will be rejected"
                    );
                }
                Some((listener, bound))
            }
            None => {
                if !settings.facilities.is_empty() {
                    tracing::warn!(
                        "--mllp-facility is set but --mllp-addr is not: no MLLP listener"
                    );
                }
                None
            }
        };
        Ok(Application {
            server: server.run(),
            addr,
            mllp,
            state,
            store,
            refresh: Duration::from_millis(settings.refresh_ms.max(10)),
            verify_every: Duration::from_secs(settings.verify_every_hours.saturating_mul(3600)),
            created_secret: created,
            auth: auth_data,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the MLLP listener is bound, when there is one.
    pub fn mllp_addr(&self) -> Option<SocketAddr> {
        self.mllp.as_ref().map(|(_, a)| *a)
    }

    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves HTTP (and MLLP) until the HTTP server is stopped, reloading the catalog when
    /// another process (`huren import`, or another node) adds a release. Stopping closes the
    /// MLLP listener and its connections too.
    pub async fn run(self) -> std::io::Result<()> {
        let Application {
            server,
            state,
            store,
            refresh,
            verify_every,
            mllp,
            auth,
            ..
        } = self;
        let mllp = mllp
            .map(|(listener, _)| actix_web::rt::spawn(crate::mllp::serve(listener, state.clone())));
        let checkpoints = actix_web::rt::spawn(checkpoint_wal(store.clone()));
        let jobs = actix_web::rt::spawn(run_jobs(state.clone(), refresh, verify_every));
        let watcher = actix_web::rt::spawn(watch_releases(state, store, refresh, auth));
        let result = server.await;
        watcher.abort();
        jobs.abort();
        checkpoints.abort();
        if let Some(m) = mllp {
            m.abort();
        }
        result
    }
}

/// The result settings of `settings` (reference intervals from the seed), without the MLLP
/// facility table.
pub fn results_config(settings: &Settings) -> anyhow::Result<ResultsConfig> {
    Ok(ResultsConfig {
        intervals: crate::seed::reference_intervals()?,
        tea: crate::seed::allowable_errors()?,
        eqa: settings.eqa.clone(),
        national_id_system: settings.national_id_system.clone(),
        ..ResultsConfig::default()
    })
}

/// MSH-4 → hospital, refusing a facility mapped to two hospitals.
fn facility_table(settings: &Settings) -> anyhow::Result<HashMap<String, HospitalId>> {
    let mut table = HashMap::new();
    for (facility, hospital) in &settings.facilities {
        if let Some(other) = table.insert(facility.clone(), hospital.clone())
            && &other != hospital
        {
            anyhow::bail!(
                "MLLP facility `{facility}` is mapped to both `{other}` and `{hospital}`"
            );
        }
    }
    Ok(table)
}

/// The WAL size above which the server copies it back into the database next to the writers
/// (SQLite): 16 MiB, four times SQLite's own automatic checkpoint, which the server switches off
/// (`Store::connect_checkpointing`). A page written again and again (an index's last leaf) is
/// copied once per checkpoint, so fewer checkpoints copy less.
pub const WAL_CHECKPOINT_BYTES: u64 = 16 * 1024 * 1024;

/// The WAL size above which the server checkpoints and truncates it (SQLite).
pub const WAL_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// Keeps SQLite's WAL copied back and bounded under sustained writes: four times a second, a
/// WAL over [`WAL_CHECKPOINT_BYTES`] is checkpointed and one over [`WAL_LIMIT_BYTES`] also
/// truncated (`Store::checkpoint`). PostgreSQL: returns at once.
async fn checkpoint_wal(store: Store) {
    if store.backend() != "sqlite" {
        return;
    }
    let mut interval = actix_web::rt::time::interval(Duration::from_millis(250));
    loop {
        interval.tick().await;
        let s = store.clone();
        match web::block(move || s.checkpoint(WAL_CHECKPOINT_BYTES, WAL_LIMIT_BYTES)).await {
            Ok(Ok(Some(bytes))) => tracing::debug!(wal_bytes = bytes, "WAL checkpointed"),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "WAL checkpoint failed"),
            Err(e) => tracing::error!(error = %e, "WAL checkpoint task failed"),
        }
    }
}

/// Polls the release list and rebuilds the catalog when it changed, drops the in-memory
/// mapping tables another process changed (`Store::refresh_caches`), and reloads the JWKS file
/// when it changed. The catalog is derived
/// data, so rebuilding it from the database is always correct, merely not free.
async fn watch_releases(
    state: web::Data<AppState>,
    store: Store,
    every: Duration,
    auth: web::Data<Authenticator>,
) {
    // Releases imported before the job table existed: look for registry gaps once at start
    // (the job joins one already waiting).
    let st = state.clone();
    let now = huren_http::mapping_import::now_millis();
    match web::block(move || st.store.enqueue_job(JobKind::ReleaseGaps, "", now)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot queue the registry gap job"),
        Err(e) => tracing::warn!(error = %e, "registry gap job task failed"),
    }
    let mut interval = actix_web::rt::time::interval(every);
    loop {
        interval.tick().await;
        // The identity provider may have rotated its keys.
        if auth.has_jwks() {
            let a = auth.clone();
            match web::block(move || a.reload()).await {
                Ok(Ok(true)) => tracing::info!("JWKS file changed; token keys reloaded"),
                Ok(Ok(false)) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "cannot reload the JWKS file; keeping the old keys")
                }
                Err(e) => tracing::error!(error = %e, "JWKS reload task failed"),
            }
        }
        // Another node (or `huren import mappings`) may have changed a hospital's mappings.
        let store2 = store.clone();
        match web::block(move || store2.refresh_caches()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot check the mapping versions; will retry")
            }
            Err(e) => tracing::warn!(error = %e, "mapping cache refresh task failed"),
        }
        let known = state.catalog().registry.releases().len();
        let store2 = store.clone();
        let latest = web::block(move || store2.releases()).await;
        let Ok(Ok(releases)) = latest else {
            tracing::warn!("cannot read releases; will retry");
            continue;
        };
        if releases.len() == known {
            continue;
        }
        let store2 = store.clone();
        match web::block(move || load_catalog(&store2)).await {
            Ok(Ok(catalog)) => {
                tracing::info!(
                    releases = releases.len(),
                    "registry changed; catalog rebuilt"
                );
                // The release's own job (queued with it) normalizes the registry gaps on
                // whichever node claims it once its catalog holds the release.
                state.set_catalog(catalog);
            }
            Ok(Err(e)) => tracing::error!(error = %e, "cannot rebuild the catalog"),
            Err(e) => tracing::error!(error = %e, "catalog rebuild task failed"),
        }
    }
}

/// Runs the background jobs (`huren_http::jobs`) that are due, on this node, one at a time:
/// every five seconds it queues the period's chain verification when it is due (one node wins
/// each period), and every refresh period it claims and runs jobs until none is left for it. While a job runs, its lease
/// is renewed; if this node dies, the lease runs out and another node's loop resumes the job.
async fn run_jobs(state: web::Data<AppState>, every: Duration, verify_every: Duration) {
    let verify_ms = i64::try_from(verify_every.as_millis()).unwrap_or(i64::MAX);
    let mut interval = actix_web::rt::time::interval(every);
    let mut pruned_at = Instant::now();
    // A schedule's period is hours: looking every few seconds is enough.
    let mut scheduled_at: Option<Instant> = None;
    loop {
        interval.tick().await;
        // Ended jobs are kept 30 days; any node may prune, once an hour.
        if pruned_at.elapsed() >= Duration::from_secs(3600) {
            pruned_at = Instant::now();
            let st = state.clone();
            let before = huren_http::mapping_import::now_millis() - KEEP_ENDED_MS;
            match web::block(move || st.store.prune_jobs(before)).await {
                Ok(Ok(n)) if n > 0 => tracing::info!(jobs = n, "ended jobs pruned"),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot prune ended jobs"),
                Err(e) => tracing::warn!(error = %e, "job pruning task failed"),
            }
        }
        if verify_ms > 0 && scheduled_at.is_none_or(|t| t.elapsed() >= Duration::from_secs(5)) {
            scheduled_at = Some(Instant::now());
            let st = state.clone();
            let now = huren_http::mapping_import::now_millis();
            match web::block(move || {
                st.store
                    .schedule_job(JobKind::VerifyIntegrity, verify_ms, now)
            })
            .await
            {
                Ok(Ok(true)) => tracing::info!("chain verification queued"),
                Ok(Ok(false)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot read the job schedule"),
                Err(e) => tracing::warn!(error = %e, "job schedule task failed"),
            }
        }
        loop {
            let st = state.clone();
            let now = huren_http::mapping_import::now_millis();
            let claimed = web::block(move || {
                st.store
                    .claim_job(&st.node, &JobKind::ALL, None, now, now, LEASE_MS)
            })
            .await;
            let job = match claimed {
                Ok(Ok(Some(job))) => job,
                Ok(Ok(None)) => break,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "cannot claim a job; will retry");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "job claim task failed");
                    break;
                }
            };
            let renewing = actix_web::rt::spawn(renew_lease(state.clone(), job.id));
            let st = state.clone();
            let run = job.clone();
            let ended =
                web::block(move || huren_http::jobs::run_claimed(&st, &*st.store, &run)).await;
            renewing.abort();
            match ended {
                Ok((JobEnd::Done(text), _)) => {
                    tracing::info!(job = job.id, kind = %job.kind, key = %job.key, "{text}")
                }
                // Given back or failed: the next period (or another node) tries again.
                Ok(_) => break,
                Err(e) => {
                    tracing::error!(job = job.id, error = %e, "job task failed");
                    break;
                }
            }
        }
    }
}

/// Renews this node's lease of job `id` every [`RENEW_EVERY_MS`] until aborted.
async fn renew_lease(state: web::Data<AppState>, id: i64) {
    let mut interval = actix_web::rt::time::interval(Duration::from_millis(RENEW_EVERY_MS as u64));
    interval.tick().await;
    loop {
        interval.tick().await;
        let st = state.clone();
        let until = huren_http::mapping_import::now_millis() + LEASE_MS;
        match web::block(move || st.store.renew_job(id, &st.node, until)).await {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => {
                tracing::warn!(job = id, "lost the lease of a running job to another node");
                return;
            }
            Ok(Err(e)) => tracing::warn!(job = id, error = %e, "cannot renew a job's lease"),
            Err(e) => tracing::warn!(job = id, error = %e, "lease renewal task failed"),
        }
    }
}
