//! Liveness, readiness and Prometheus counters.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};

use crate::startup::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// The database's state as last seen by a background check (see
/// [`spawn_readiness_check`]): `/readyz` reads it and never waits on the
/// database, so it answers at once whatever the database does.
pub struct Readiness {
    db_ready: AtomicBool,
    checked_ms: AtomicU64,
}

/// How often the background check runs, and how long one check may take.
const CHECK_EVERY: Duration = Duration::from_secs(1);
const CHECK_TIMEOUT: Duration = Duration::from_millis(800);
/// A result older than this is not trusted (the check itself is stuck).
const STALE_AFTER: Duration = Duration::from_secs(5);

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Readiness {
    /// Starts as ready: the store was just connected and migrated.
    pub fn new() -> Readiness {
        Readiness {
            db_ready: AtomicBool::new(true),
            checked_ms: AtomicU64::new(now_ms()),
        }
    }

    fn set(&self, ready: bool) {
        self.db_ready.store(ready, Ordering::Relaxed);
        self.checked_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// The database answered the last check, and that check is recent.
    pub fn database_ready(&self) -> bool {
        let age = now_ms().saturating_sub(self.checked_ms.load(Ordering::Relaxed));
        self.db_ready.load(Ordering::Relaxed) && age <= STALE_AFTER.as_millis() as u64
    }
}

impl Default for Readiness {
    fn default() -> Self {
        Self::new()
    }
}

pub fn spawn_readiness_check(store: crate::storage::Store, r: std::sync::Arc<Readiness>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let ok = tokio::time::timeout(CHECK_TIMEOUT, store.is_ready())
                .await
                .unwrap_or(false);
            r.set(ok);
        }
    });
}

/// Ready when the database answered the last background check with all
/// migrations applied, and the batch writer is not stuck with rows queued.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let stall = Duration::from_secs(state.settings.writer_stall_secs);
    let reason = if let Some(spool) = &state.spool {
        // Beacons go to the spool, which accepts while the database is down.
        spool.is_full().then_some("spool_full")
    } else if !state.readiness.database_ready() {
        Some("database_unreachable")
    } else if state.queue.stats.writer_stalled(stall) {
        Some("writer_stalled")
    } else {
        None
    };
    match reason {
        None => HttpResponse::Ok()
            .json(serde_json::json!({"status": "ready", "backend": state.store.backend()})),
        Some(r) => HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "not_ready", "reason": r})),
    }
}

/// `/metrics`, behind `STRRAY_METRICS_TOKEN` when that is set.
pub async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, crate::error::ApiError> {
    crate::auth::require_metrics(&req, &state)?;
    Ok(metrics_text(&state))
}

/// Prometheus text exposition of the ingest outcome counters.
fn metrics_text(state: &AppState) -> HttpResponse {
    let s = &state.queue.stats;
    let mut out = String::new();
    let mut counter = |name: &str, help: &str, labels: &[(&str, &str, u64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (k, v, n) in labels {
            if k.is_empty() {
                let _ = writeln!(out, "{name} {n}");
            } else {
                let _ = writeln!(out, "{name}{{{k}=\"{v}\"}} {n}");
            }
        }
    };
    let l = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    counter(
        "strray_beacons_total",
        "Beacons seen, by outcome.",
        &[
            ("outcome", "accepted", l(&s.beacons_accepted)),
            (
                "outcome",
                "invalid_malformed",
                l(&s.beacons_invalid_malformed),
            ),
            ("outcome", "invalid_content", l(&s.beacons_invalid_content)),
            ("outcome", "too_large", l(&s.beacons_too_large)),
            (
                "outcome",
                "bad_content_type",
                l(&s.beacons_bad_content_type),
            ),
            ("outcome", "forbidden", l(&s.beacons_forbidden)),
            ("outcome", "rate_limited", l(&s.beacons_rate_limited)),
            ("outcome", "shed", l(&s.beacons_shed)),
        ],
    );
    counter(
        "strray_metric_rows_total",
        "Metric rows, by stage. accepted = stored + refused + dropped + queued; refused rows are in metric_dead_letter; dropped (lost at shutdown) must stay 0.",
        &[
            ("stage", "accepted", l(&s.rows_accepted)),
            ("stage", "stored", l(&s.rows_stored)),
            ("stage", "refused", l(&s.rows_refused)),
            ("stage", "dropped", l(&s.rows_dropped)),
        ],
    );
    counter(
        "strray_optional_fields_dropped_total",
        "Invalid optional beacon fields dropped.",
        &[("", "", l(&s.optional_fields_dropped))],
    );
    counter(
        "strray_batches_written_total",
        "Batches written to the database.",
        &[("", "", l(&s.batches_written))],
    );
    counter(
        "strray_write_errors_total",
        "Failed batch writes: retried (connectivity) or split to find the refused rows.",
        &[("", "", l(&s.write_errors))],
    );
    let r = state.routes.size();
    counter(
        "strray_route_registry_evictions_total",
        "Sites forgotten by the route registry to stay within its caps.",
        &[("", "", r.evicted_sites)],
    );
    let _ = writeln!(
        out,
        "# HELP strray_route_registry_sites Sites tracked by the route registry.\n# TYPE strray_route_registry_sites gauge\nstrray_route_registry_sites {}\n# HELP strray_route_registry_sites_max Cap on tracked sites (STRRAY_MAX_TRACKED_SITES).\n# TYPE strray_route_registry_sites_max gauge\nstrray_route_registry_sites_max {}\n# HELP strray_route_registry_routes Routes tracked over all sites.\n# TYPE strray_route_registry_routes gauge\nstrray_route_registry_routes {}\n# HELP strray_route_registry_routes_max Cap on tracked routes (STRRAY_MAX_TRACKED_ROUTES).\n# TYPE strray_route_registry_routes_max gauge\nstrray_route_registry_routes_max {}",
        r.sites, r.max_sites, r.routes, r.max_routes
    );
    let _ = writeln!(
        out,
        "# HELP strray_queue_rows Metric rows queued, not yet written.\n# TYPE strray_queue_rows gauge\nstrray_queue_rows {}",
        s.rows_queued()
    );
    let _ = writeln!(
        out,
        "# HELP strray_last_batch_rows Rows in the last written batch.\n# TYPE strray_last_batch_rows gauge\nstrray_last_batch_rows {}",
        l(&s.last_batch_rows)
    );
    let _ = writeln!(
        out,
        "# HELP strray_last_flush_seconds Duration of the last batch write.\n# TYPE strray_last_flush_seconds gauge\nstrray_last_flush_seconds {}",
        l(&s.last_flush_micros) as f64 / 1e6
    );
    if let Some(spool) = &state.spool {
        let st = &spool.stats;
        let oldest = st.oldest_ms.load(Ordering::Relaxed);
        let age = if oldest > 0 {
            (chrono::Utc::now().timestamp_millis() - oldest).max(0) as f64 / 1000.0
        } else {
            0.0
        };
        let _ = writeln!(
            out,
            "# HELP strray_spool_bytes Bytes of beacons in the spool.\n# TYPE strray_spool_bytes gauge\nstrray_spool_bytes {}\n# HELP strray_spool_max_bytes STRRAY_SPOOL_MAX_BYTES.\n# TYPE strray_spool_max_bytes gauge\nstrray_spool_max_bytes {}\n# HELP strray_spool_entries Beacons in the spool.\n# TYPE strray_spool_entries gauge\nstrray_spool_entries {}\n# HELP strray_spool_oldest_age_seconds Age of the oldest spooled beacon (0: empty).\n# TYPE strray_spool_oldest_age_seconds gauge\nstrray_spool_oldest_age_seconds {age}\n# HELP strray_spool_drained_rows_total Rows drained from the spool into the database (its rate is the drain rate).\n# TYPE strray_spool_drained_rows_total counter\nstrray_spool_drained_rows_total {}",
            l(&st.bytes),
            st.max_bytes,
            l(&st.entries),
            l(&st.rows_drained)
        );
    }
    let (lag, lag_sum) = s.rollup_lag.cumulative();
    let _ = writeln!(
        out,
        "# HELP strray_rollup_lag_seconds Receive (2xx) to commit of each stored row; rollups are current at that commit.\n# TYPE strray_rollup_lag_seconds histogram"
    );
    for (le, n) in &lag {
        let le = le.map_or("+Inf".to_string(), |ms| (ms as f64 / 1000.0).to_string());
        let _ = writeln!(out, "strray_rollup_lag_seconds_bucket{{le=\"{le}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "strray_rollup_lag_seconds_sum {}\nstrray_rollup_lag_seconds_count {}",
        lag_sum as f64 / 1000.0,
        lag.last().map_or(0, |b| b.1)
    );
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out)
}
