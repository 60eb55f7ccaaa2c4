//! Liveness, readiness and Prometheus counters.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use actix_web::{HttpRequest, HttpResponse, web};

use crate::startup::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Ready only when the database answers and all migrations are applied.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.store.is_ready().await {
        HttpResponse::Ok()
            .json(serde_json::json!({"status": "ready", "backend": state.store.backend()}))
    } else {
        HttpResponse::ServiceUnavailable().json(serde_json::json!({"status": "not_ready"}))
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
        "Metric rows, by stage. accepted = stored + dropped + queued; dropped must stay 0.",
        &[
            ("stage", "accepted", l(&s.rows_accepted)),
            ("stage", "stored", l(&s.rows_stored)),
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
        "Failed batch writes (each is retried).",
        &[("", "", l(&s.write_errors))],
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
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out)
}
