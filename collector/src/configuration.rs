//! The one typed configuration. Every limit is a field with a documented
//! default; each can be set by a command-line flag or an environment variable.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::domain::SiteKey;

#[derive(Args, Clone, Debug)]
pub struct Settings {
    /// Settings file of `KEY=VALUE` lines with the environment names below; env and flags override it.
    #[arg(long, env = "STRRAY_CONFIG")]
    pub config: Option<PathBuf>,

    /// Address to listen on. Port 0 picks a free port (tests).
    #[arg(long, env = "STRRAY_BIND", default_value = "127.0.0.1:8787")]
    pub bind: String,

    /// `postgres://…` or `sqlite://path`; unset: `sqlite://strray.db` in the working directory.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Directory holding the built agent (`manifest.json`, `agent.js`, `agent-*.wasm`).
    #[arg(long, env = "STRRAY_AGENT_DIR", default_value = "target/agent-dist")]
    pub agent_dir: PathBuf,

    /// Known sites and their allowed page origins: `key=origin|origin,key2=*`.
    /// Unset: any well-formed site key and any origin is accepted (development mode).
    #[arg(long, env = "STRRAY_SITES")]
    pub sites: Option<String>,

    /// Largest accepted beacon body in bytes (larger → 413).
    #[arg(long, env = "STRRAY_MAX_BODY_BYTES", default_value_t = 32 * 1024)]
    pub max_body_bytes: usize,

    /// Most metrics in one beacon (more → 422).
    #[arg(long, env = "STRRAY_MAX_METRICS_PER_BEACON", default_value_t = 32)]
    pub max_metrics_per_beacon: usize,

    // Memory at saturation per setting: README "Performance" (bench-ingest).
    /// Capacity of the in-memory ingest queue, in beacons; full → 503.
    #[arg(long, env = "STRRAY_QUEUE_CAPACITY", default_value_t = 2_000)]
    pub queue_capacity: usize,

    // Throughput per batch size: README "Performance" (bench-ingest).
    /// Rows written per batch at most.
    #[arg(long, env = "STRRAY_BATCH_ROWS", default_value_t = 8_000)]
    pub batch_rows: usize,

    // Why 64 000: README "Performance" (issue 16: the rollup trigger's cost
    // per row falls with the rows it sums at once).
    /// Rows the spool drainer stores in one PostgreSQL transaction at most
    /// (staged by COPY, upserted by one statement); 0: batch by batch.
    #[arg(long, env = "STRRAY_MERGE_ROWS", default_value_t = 64_000)]
    pub merge_rows: usize,

    // Why 1: README "Performance" (concurrent batches wait on each other's rollup rows).
    /// Batches written to the database concurrently.
    #[arg(long, env = "STRRAY_WRITER_CONCURRENCY", default_value_t = 1)]
    pub writer_concurrency: usize,

    /// Longest a queued beacon waits before its batch is written, in milliseconds.
    #[arg(long, env = "STRRAY_BATCH_INTERVAL_MS", default_value_t = 200)]
    pub batch_interval_ms: u64,

    /// Spool file (SQLite) for accepted beacons: when set, a 2xx means the
    /// beacon is fsynced there, and it is drained into the database oldest
    /// first (also while the database is down: the spool keeps accepting).
    #[arg(long, env = "STRRAY_SPOOL_PATH")]
    pub spool_path: Option<PathBuf>,

    /// Largest spool, in bytes of stored beacons; full → 503 with Retry-After.
    #[arg(long, env = "STRRAY_SPOOL_MAX_BYTES", default_value_t = 512 * 1024 * 1024)]
    pub spool_max_bytes: u64,

    /// On SIGTERM, how long to keep draining the queue into the database, in seconds.
    #[arg(long, env = "STRRAY_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,

    /// Header with the visitor's country set by a trusted proxy/CDN (e.g. `CF-IPCountry`); unset: not recorded.
    #[arg(long, env = "STRRAY_COUNTRY_HEADER")]
    pub country_header: Option<String>,

    /// Beacons per second accepted per site (burst: twice this); 0 = unlimited.
    #[arg(long, env = "STRRAY_RATE_LIMIT_SITE", default_value_t = 5_000)]
    pub rate_limit_site: u32,

    /// Beacons per second accepted per client IP (burst: twice this); 0 = unlimited.
    #[arg(long, env = "STRRAY_RATE_LIMIT_CLIENT", default_value_t = 20)]
    pub rate_limit_client: u32,

    /// Client-address header set by a trusted proxy (e.g. `X-Forwarded-For`), for rate limiting; unset: TCP peer.
    #[arg(long, env = "STRRAY_CLIENT_IP_HEADER")]
    pub client_ip_header: Option<String>,

    /// Most distinct routes stored per site; further new routes are stored as `/(other)`.
    #[arg(long, env = "STRRAY_MAX_ROUTES_PER_SITE", default_value_t = 1_000)]
    pub max_routes_per_site: usize,

    /// Days raw metric rows are kept; older rows are deleted hourly. 0 = keep forever.
    #[arg(long, env = "STRRAY_RETENTION_DAYS", default_value_t = 0)]
    pub retention_days: u32,

    /// Fewest samples a metric needs before the budget verdict judges it.
    #[arg(long, env = "STRRAY_MIN_SAMPLES", default_value_t = 20)]
    pub min_samples: u64,

    /// Window judged by the verdict, `check` and the dashboard's cards, in hours.
    #[arg(long, env = "STRRAY_WINDOW_HOURS", default_value_t = 24 * 7)]
    pub window_hours: u32,

    /// Seconds between scheduled budget evaluations for alerts (0 = alerts off).
    #[arg(long, env = "STRRAY_ALERT_INTERVAL_SECS", default_value_t = 300)]
    pub alert_interval_secs: u64,

    /// Consecutive breaching evaluations before an alert fires.
    #[arg(long, env = "STRRAY_ALERT_CONSECUTIVE", default_value_t = 3)]
    pub alert_consecutive: u32,

    /// After an alert fires, no new alert for the same site/path/metric for this long.
    #[arg(long, env = "STRRAY_ALERT_COOLDOWN_SECS", default_value_t = 3600)]
    pub alert_cooldown_secs: u64,

    /// The cooldown of page-weight alerts (`bundleSizeViolation`), per site/path/budget.
    #[arg(long, env = "STRRAY_ALERT_BUNDLE_COOLDOWN_SECS", default_value_t = 300)]
    pub alert_bundle_cooldown_secs: u64,

    /// Escalation: after this many firings in the frequency window, fire on the next breach (0 = off).
    #[arg(long, env = "STRRAY_ALERT_FREQUENT_COUNT", default_value_t = 3)]
    pub alert_frequent_count: u32,

    /// The frequency window for escalation, in hours.
    #[arg(long, env = "STRRAY_ALERT_FREQUENT_WINDOW_HOURS", default_value_t = 24)]
    pub alert_frequent_window_hours: u32,

    /// Window each alert evaluation looks at, in hours.
    #[arg(long, env = "STRRAY_ALERT_WINDOW_HOURS", default_value_t = 24)]
    pub alert_window_hours: u32,

    /// Budget file (budget.json) for alerts. Unset: the built-in budget.
    #[arg(long, env = "STRRAY_ALERT_BUDGET")]
    pub alert_budget: Option<PathBuf>,

    /// Comma-separated http:// or https:// webhook URLs receiving alert JSON.
    #[arg(long, env = "STRRAY_ALERT_WEBHOOKS")]
    pub alert_webhooks: Option<String>,

    /// Extra trusted root certificates (PEM) for https webhooks, besides the system's.
    #[arg(long, env = "STRRAY_ALERT_CA_FILE")]
    pub alert_ca_file: Option<PathBuf>,

    /// Per-attempt webhook timeout in milliseconds.
    #[arg(long, env = "STRRAY_ALERT_WEBHOOK_TIMEOUT_MS", default_value_t = 5000)]
    pub alert_webhook_timeout_ms: u64,

    /// Webhook retries after the first attempt (backoff 200 ms, doubling).
    #[arg(long, env = "STRRAY_ALERT_WEBHOOK_RETRIES", default_value_t = 3)]
    pub alert_webhook_retries: u32,

    /// Secret for reading stored data: API bearer token and dashboard login; unset: reads open, reports API off.
    #[arg(long, env = "STRRAY_READ_TOKEN", hide_env_values = true)]
    pub read_token: Option<String>,

    /// Comma-separated site keys whose dashboard anyone may view without logging in.
    #[arg(long, env = "STRRAY_PUBLIC_SITES")]
    pub public_sites: Option<String>,

    /// Bearer token required by `/metrics` (Prometheus); unset: `/metrics` is open.
    #[arg(long, env = "STRRAY_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Number of HTTP worker threads (0 = one per core).
    #[arg(long, env = "STRRAY_WORKERS", default_value_t = 0)]
    pub workers: usize,

    /// Longest wait for a request body, in milliseconds, once the headers are
    /// in (slow or stalled senders → 408). Also bounds how long shutdown waits
    /// for such a request.
    #[arg(long, env = "STRRAY_BODY_TIMEOUT_MS", default_value_t = 5_000)]
    pub body_timeout_ms: u64,

    /// `/readyz` answers 503 when rows are queued and the batch writer has
    /// finished nothing for this many seconds (the database hangs or keeps failing).
    #[arg(long, env = "STRRAY_WRITER_STALL_SECS", default_value_t = 30)]
    pub writer_stall_secs: u64,

    /// Most sites whose routes are tracked for the per-site route cap; the
    /// least recently seen site is forgotten beyond it (bounded memory when
    /// STRRAY_SITES is unset and anyone can invent site keys).
    #[arg(long, env = "STRRAY_MAX_TRACKED_SITES", default_value_t = 10_000)]
    pub max_tracked_sites: usize,

    /// Most routes tracked over all sites; beyond it the least recently seen
    /// sites are forgotten until the total fits.
    #[arg(long, env = "STRRAY_MAX_TRACKED_ROUTES", default_value_t = 100_000)]
    pub max_tracked_routes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            s: Settings,
        }
        // Defaults live in the attributes above only; parse an empty command line
        // with no environment influence to get them.
        let w = <Wrapper as clap::Parser>::try_parse_from(["collector"]);
        match w {
            Ok(w) => w.s,
            Err(e) => panic!("built-in defaults must parse: {e}"),
        }
    }
}

impl Settings {
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| "sqlite://strray.db".to_string())
    }

    pub fn batch_interval(&self) -> Duration {
        Duration::from_millis(self.batch_interval_ms)
    }

    pub fn body_timeout(&self) -> Duration {
        Duration::from_millis(self.body_timeout_ms.max(1))
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    /// Parses `sites` into the allow-list. `Ok(None)` = open (development) mode.
    pub fn site_policy(&self) -> Result<SitePolicy, String> {
        let Some(raw) = self.sites.as_deref().filter(|s| !s.trim().is_empty()) else {
            return Ok(SitePolicy::Open);
        };
        let mut sites = HashMap::new();
        for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, origins) = item.split_once('=').unwrap_or((item, "*"));
            let key = SiteKey::parse(key.trim()).map_err(|e| format!("STRRAY_SITES: {e}"))?;
            let origins: Vec<String> = origins
                .split('|')
                .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                .filter(|o| !o.is_empty())
                .collect();
            let allowed = if origins.iter().any(|o| o == "*") {
                AllowedOrigins::Any
            } else {
                AllowedOrigins::List(origins)
            };
            sites.insert(key.as_str().to_string(), allowed);
        }
        Ok(SitePolicy::Listed(sites))
    }
}

#[derive(Clone, Debug)]
pub enum AllowedOrigins {
    Any,
    List(Vec<String>),
}

#[derive(Clone, Debug)]
pub enum SitePolicy {
    /// Any site key, any origin: for local development and the demo.
    Open,
    Listed(HashMap<String, AllowedOrigins>),
}

/// Why a beacon's site/origin pair is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum SiteRefusal {
    UnknownSite,
    OriginNotAllowed,
}

impl SitePolicy {
    /// `origin` is the request's `Origin` header, absent for same-origin or
    /// non-browser senders. A listed origin set requires the header.
    pub fn check(&self, site: &str, origin: Option<&str>) -> Result<(), SiteRefusal> {
        match self {
            SitePolicy::Open => Ok(()),
            SitePolicy::Listed(map) => match map.get(site) {
                None => Err(SiteRefusal::UnknownSite),
                Some(AllowedOrigins::Any) => Ok(()),
                Some(AllowedOrigins::List(list)) => {
                    let origin = origin.map(|o| o.trim_end_matches('/').to_ascii_lowercase());
                    match origin {
                        Some(o) if list.contains(&o) => Ok(()),
                        _ => Err(SiteRefusal::OriginNotAllowed),
                    }
                }
            },
        }
    }

    pub fn is_known(&self, site: &str) -> bool {
        match self {
            SitePolicy::Open => true,
            SitePolicy::Listed(map) => map.contains_key(site),
        }
    }
}

/// Environment names read outside [`Settings`] that a settings file may set.
pub const EXTRA_ENV: &[&str] = &["STRRAY_LOG_FORMAT", "RUST_LOG"];

/// Applies a settings file to the process environment, without overriding
/// variables that are already set. Every key must be one of `known`; the
/// error names the file and the key. Call before parsing the command line.
pub fn load_settings_file(path: &std::path::Path, known: &[String]) -> Result<(), String> {
    let show = path.display();
    let iter = dotenvy::from_path_iter(path).map_err(|e| format!("{show}: {e}"))?;
    for item in iter {
        let (key, _) = item.map_err(|e| format!("{show}: {e}"))?;
        if !known.contains(&key) {
            return Err(format!("{show}: unknown setting {key:?}"));
        }
    }
    dotenvy::from_path(path).map_err(|e| format!("{show}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_sites_check_origin_and_key() {
        let s = Settings {
            sites: Some("demo=http://localhost:8080|https://Example.com/,open=*".into()),
            ..Settings::default()
        };
        let p = s.site_policy().unwrap();
        assert_eq!(p.check("demo", Some("http://localhost:8080")), Ok(()));
        assert_eq!(p.check("demo", Some("https://example.com")), Ok(()));
        assert_eq!(
            p.check("demo", Some("https://evil.test")),
            Err(SiteRefusal::OriginNotAllowed)
        );
        assert_eq!(p.check("demo", None), Err(SiteRefusal::OriginNotAllowed));
        assert_eq!(p.check("open", Some("https://any.test")), Ok(()));
        assert_eq!(p.check("nope", None), Err(SiteRefusal::UnknownSite));
    }

    #[test]
    fn defaults_are_documented_values() {
        let s = Settings::default();
        assert_eq!(s.max_body_bytes, 32 * 1024);
        assert_eq!(s.min_samples, 20);
        assert_eq!(s.alert_bundle_cooldown_secs, 300);
        assert_eq!(s.spool_max_bytes, 512 * 1024 * 1024);
        assert!(matches!(s.site_policy(), Ok(SitePolicy::Open)));
    }
}
