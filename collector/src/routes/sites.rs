//! Per-site JSON API: budget verdict and recently stored metrics.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;

use crate::domain::SiteKey;
use crate::error::ApiError;
use crate::startup::AppState;
use crate::verdict;

#[derive(serde::Deserialize)]
pub struct VerdictQuery {
    /// Path prefix, e.g. `/checkout`.
    path: Option<String>,
    window_hours: Option<u32>,
}

fn site_param(raw: &str) -> Result<SiteKey, ApiError> {
    SiteKey::parse(raw).map_err(ApiError::BadRequest)
}

/// `GET /v1/sites/{site}/verdict?path=/x&window_hours=168`
pub async fn verdict(
    req: HttpRequest,
    site: web::Path<String>,
    q: web::Query<VerdictQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    crate::auth::require_read(&req, &state, true)?;
    let site = site_param(&site)?;
    let window = q.window_hours.unwrap_or(state.settings.window_hours);
    if window == 0 || window > 24 * 400 {
        return Err(ApiError::BadRequest(
            "window_hours must be 1 to 9600".into(),
        ));
    }
    if let Some(p) = q.path.as_deref()
        && (!p.starts_with('/') || p.len() > 512)
    {
        return Err(ApiError::BadRequest(
            "path must start with '/' (max 512 bytes)".into(),
        ));
    }
    let v = verdict::compute(
        &state.store,
        &state.budget,
        site.as_str(),
        q.path.as_deref(),
        window,
        Utc::now(),
    )
    .await?;
    Ok(crate::wire::ok_json(&v))
}

#[derive(serde::Deserialize)]
pub struct MetricsQuery {
    limit: Option<i64>,
}

/// `GET /v1/sites/{site}/metrics?limit=100`: newest stored metrics.
pub async fn recent(
    req: HttpRequest,
    site: web::Path<String>,
    q: web::Query<MetricsQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    crate::auth::require_read(&req, &state, true)?;
    let site = site_param(&site)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let rows = state.store.recent_metrics(site.as_str(), limit).await?;
    let rows: Vec<serde_json::Value> = rows.iter().map(row_json).collect::<Result<_, _>>()?;
    Ok(crate::wire::ok_json(&rows))
}

/// A stored row for the API: attribution as the JSON object it was sent as
/// (stored as text), not a string holding JSON.
fn row_json(r: &crate::storage::MetricRow) -> Result<serde_json::Value, ApiError> {
    let mut v = serde_json::to_value(r).map_err(|e| ApiError::Unexpected(e.into()))?;
    if let Some(text) = r.attribution.as_deref() {
        v["attribution"] = serde_json::from_str(text)
            .unwrap_or_else(|_| serde_json::Value::String(text.to_string()));
    }
    Ok(v)
}
