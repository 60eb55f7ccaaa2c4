//! Builds the application: store → migrations → writer → HTTP server. Tests
//! reuse `Application::build` with port 0 and read the real port back.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};

use crate::budget::Budget;
use crate::configuration::{Settings, SitePolicy};
use crate::domain::RouteRegistry;
use crate::ingest::{IngestQueue, IngestStats, WriterConfig, WriterHandle, spawn_writer};
use crate::ratelimit::IngestLimiter;
use crate::routes::{self, agent::AgentAssets};
use crate::spool::{Spool, SpoolReader};
use crate::storage::Store;

/// Shared by every request handler.
pub struct AppState {
    pub store: Store,
    pub queue: IngestQueue,
    pub policy: SitePolicy,
    pub settings: Settings,
    pub budget: Budget,
    pub agent: Arc<AgentAssets>,
    pub limiter: IngestLimiter,
    pub routes: RouteRegistry,
    pub readiness: Arc<routes::health::Readiness>,
    /// The durable spool, when `STRRAY_SPOOL_PATH` is set.
    pub spool: Option<Spool>,
}

pub struct Application {
    addr: std::net::SocketAddr,
    server: Server,
    writer: WriterHandle,
    /// Stops the spool drainer; it finishes what is spooled first.
    spool_drain: Option<(
        tokio::sync::watch::Sender<bool>,
        tokio::task::JoinHandle<()>,
    )>,
    store: Store,
    stats: Arc<IngestStats>,
    grace: std::time::Duration,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let store = Store::connect(&settings.database_url()).await?;
        store.migrate().await?;
        store.ensure_partitions().await?;
        let spool = match &settings.spool_path {
            Some(path) => Some(Spool::open(path, settings.spool_max_bytes).await?),
            None => None,
        };
        Self::build_with_store(settings, store, spool)
    }

    pub fn build_with_store(
        settings: Settings,
        store: Store,
        spool: Option<(Spool, SpoolReader)>,
    ) -> anyhow::Result<Application> {
        let policy = settings.site_policy().map_err(anyhow::Error::msg)?;
        if matches!(policy, SitePolicy::Open) {
            tracing::warn!("STRRAY_SITES is not set: accepting every site key from every origin");
        }
        let stats = Arc::new(IngestStats::default());
        let (queue, writer) = spawn_writer(
            store.clone(),
            WriterConfig {
                capacity: settings.queue_capacity,
                batch_rows: settings.batch_rows,
                batch_interval: settings.batch_interval(),
                concurrency: settings.writer_concurrency,
            },
            stats.clone(),
        );
        let (spool, spool_drain) = match spool {
            Some((spool, reader)) => {
                let (stop, stop_rx) = tokio::sync::watch::channel(false);
                let task = tokio::spawn(reader.drain(
                    store.clone(),
                    stats.clone(),
                    settings.batch_rows,
                    settings.merge_rows,
                    stop_rx,
                ));
                (Some(spool), Some((stop, task)))
            }
            None => (None, None),
        };
        let alert_config = crate::alerts::AlertConfig::from_settings(&settings)?;
        if settings.alert_interval_secs > 0 {
            let engine = Arc::new(crate::alerts::AlertEngine::new(store.clone(), alert_config));
            crate::alerts::spawn_scheduler(
                engine,
                std::time::Duration::from_secs(settings.alert_interval_secs),
            );
        }
        let listener = TcpListener::bind(&settings.bind)?;
        let addr = listener.local_addr()?;
        let agent = Arc::new(AgentAssets::load(&settings.agent_dir));
        let grace = settings.shutdown_grace();
        let workers = settings.workers;
        let readiness = Arc::new(routes::health::Readiness::new());
        routes::health::spawn_readiness_check(store.clone(), readiness.clone());
        // Named sites bound the registry by themselves; open mode needs the caps.
        let open = matches!(policy, SitePolicy::Open);
        let (max_sites, max_routes) = match policy {
            SitePolicy::Open => (settings.max_tracked_sites, settings.max_tracked_routes),
            SitePolicy::Listed(_) => (usize::MAX, usize::MAX),
        };
        let state = web::Data::new(AppState {
            store: store.clone(),
            queue,
            policy,
            limiter: IngestLimiter::with_site_buckets(
                settings.rate_limit_site,
                settings.rate_limit_client,
                // Open mode: invented site keys share 4 096 quotas (bounded memory).
                open.then_some(4096),
            ),
            routes: RouteRegistry::bounded(settings.max_routes_per_site, max_sites, max_routes),
            readiness,
            spool,
            budget: Budget::default_with_min_samples(settings.min_samples),
            settings,
            agent,
        });
        // Partition upkeep (PostgreSQL) and retention, hourly. The first tick
        // is immediate; partitions were also made before the server started.
        {
            let (store, days) = (store.clone(), state.settings.retention_days);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
                loop {
                    tick.tick().await;
                    if let Err(e) = store.ensure_partitions().await {
                        tracing::error!(error = %e, "creating day partitions failed; rows go to metric_default until the next run");
                    }
                    if days == 0 {
                        continue;
                    }
                    let cutoff = chrono::Utc::now() - chrono::Duration::days(i64::from(days));
                    match store.apply_retention(cutoff).await {
                        Ok(r) => tracing::info!(
                            partitions = ?r.dropped_partitions,
                            rows = r.deleted_rows,
                            days,
                            "retention: old raw rows removed"
                        ),
                        Err(e) => {
                            tracing::warn!(error = %e, "retention run failed; retrying next hour")
                        }
                    }
                }
            });
        }
        let pruned = state.clone();
        tokio::spawn(async move {
            // Often: in open mode every invented site key (and every request is
            // checked before it can be shed) is a limiter entry until pruned.
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
            loop {
                tick.tick().await;
                pruned.limiter.prune();
            }
        });
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                // Extractor failures answer like every other client error: JSON, 400.
                .app_data(web::QueryConfig::default().error_handler(|e, _| {
                    crate::error::ApiError::BadRequest(format!("query string: {e}")).into()
                }))
                .wrap(tracing_actix())
                .route("/", web::get().to(routes::dashboard::index))
                .route("/sites/{site}", web::get().to(routes::dashboard::site))
                .route("/login", web::get().to(routes::dashboard::login_form))
                .route("/login", web::post().to(routes::dashboard::login))
                .route("/logout", web::post().to(routes::dashboard::logout))
                .route("/healthz", web::get().to(routes::health::healthz))
                .route("/readyz", web::get().to(routes::health::readyz))
                .route("/metrics", web::get().to(routes::health::metrics))
                .route("/v1/agent.js", web::get().to(routes::agent::loader))
                .route(
                    "/v1/{file:agent-[0-9a-f]+\\.wasm}",
                    web::get().to(routes::agent::wasm),
                )
                .route("/v1/ingest", web::post().to(routes::ingest::ingest))
                .route("/v1/web-vitals", web::post().to(routes::web_vitals::ingest))
                .route(
                    "/v1/web-vitals",
                    web::method(actix_web::http::Method::OPTIONS).to(routes::ingest::preflight),
                )
                .route(
                    "/v1/ingest",
                    web::method(actix_web::http::Method::OPTIONS).to(routes::ingest::preflight),
                )
                .route(
                    "/v1/sites/{site}/verdict",
                    web::get().to(routes::sites::verdict),
                )
                .route(
                    "/v1/sites/{site}/metrics",
                    web::get().to(routes::sites::recent),
                )
                .route(
                    "/v1/sites/{site}/check",
                    web::post().to(routes::check::check),
                )
                .route(
                    "/v1/sites/{site}/alerts",
                    web::get().to(routes::check::alerts),
                )
                .service(
                    web::scope("/v1/reports/{site}")
                        .route("/summary", web::get().to(routes::reports::summary))
                        .route("/timeseries", web::get().to(routes::reports::timeseries))
                        .route("/histogram", web::get().to(routes::reports::histogram))
                        .route("/breakdown", web::get().to(routes::reports::breakdown))
                        .route("/routes", web::get().to(routes::reports::routes))
                        .route("/weight", web::get().to(routes::reports::weight)),
                )
        })
        .listen(listener)?
        // Stop accepting and finish in-flight requests within the grace period;
        // the queue is drained after that (see `run_until_stopped`).
        .shutdown_timeout(grace.as_secs().max(1));
        if workers > 0 {
            server = server.workers(workers);
        }
        Ok(Application {
            addr,
            server: server.run(),
            writer,
            spool_drain,
            store,
            stats,
            grace,
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The address actually bound (a `:0` bind gets its port here).
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    pub fn stats(&self) -> Arc<IngestStats> {
        self.stats.clone()
    }

    /// Runs until SIGTERM/SIGINT (handled by actix), then drains the queue.
    /// Returns how many accepted (2xx'd) rows were not written — the same
    /// number `strray_metric_rows_total{stage="dropped"}` counts; the binary
    /// turns a non-zero count into a non-zero exit code.
    pub async fn run_until_stopped(self) -> anyhow::Result<u64> {
        let result = self.server.await;
        match self.spool_drain {
            // With a spool the in-memory writer holds nothing: what the drain
            // leaves within the grace stays in the spool file, not lost, so it
            // must not be counted as dropped (the writer's drain would count
            // every accepted-but-unstored row).
            Some((stop, mut task)) => {
                let _ = stop.send(true);
                if tokio::time::timeout(self.grace, &mut task).await.is_err() {
                    task.abort();
                    let _ = task.await;
                    tracing::warn!(
                        "shutdown grace over with beacons still spooled; they are written after the next start"
                    );
                }
            }
            None => {
                self.writer.drain(self.grace).await;
            }
        }
        let lost = self
            .stats
            .rows_dropped
            .load(std::sync::atomic::Ordering::SeqCst);
        if lost > 0 {
            tracing::error!(rows_not_written = lost, "collector stopped");
        } else {
            tracing::info!(rows_not_written = lost, "collector stopped");
        }
        self.store.close().await;
        result?;
        Ok(lost)
    }
}

fn tracing_actix() -> actix_web::middleware::Logger {
    // One access-log line per request: method and path, never the query string
    // (`%r` would print the whole request line). `%U` is the path alone.
    actix_web::middleware::Logger::new("%{method}xi %U %s %b %Dms")
        .custom_request_replace("method", |req| req.method().to_string())
        .log_target("strray::access")
}
