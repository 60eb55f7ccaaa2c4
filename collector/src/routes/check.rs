//! `POST /v1/sites/{site}/check`: the budget check over HTTP, for the `check`
//! CLI's `--collector` mode and any CI that prefers plain HTTP. The body is a
//! `CheckRequest` (JSON); the budget inside is validated like a file.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;

use crate::check::{self, CheckRequest};
use crate::domain::SiteKey;
use crate::error::ApiError;
use crate::startup::AppState;

/// Largest accepted check request: a budget file is a few KiB.
const MAX_CHECK_BODY: usize = 256 * 1024;

pub async fn check(
    req: HttpRequest,
    site: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // A POST: bearer token only, a browser session cannot be ridden here.
    crate::auth::require_read(&req, &state, false)?;
    let site = SiteKey::parse(&site).map_err(ApiError::BadRequest)?;
    if body.len() > MAX_CHECK_BODY {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_CHECK_BODY,
        });
    }
    // An empty body means "the default budget, default options".
    let req: CheckRequest = if body.iter().all(u8::is_ascii_whitespace) {
        CheckRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::Malformed(e.to_string()))?
    };
    let opts = req
        .into_options(state.settings.window_hours, state.settings.min_samples)
        .map_err(ApiError::BadRequest)?;
    let report = check::run(&state.store, site.as_str(), &opts, Utc::now()).await?;
    Ok(crate::wire::ok_json(&report))
}

#[derive(serde::Deserialize)]
pub struct AlertsQuery {
    limit: Option<i64>,
}

/// `GET /v1/sites/{site}/alerts?limit=100`: alert history, newest first.
pub async fn alerts(
    req: HttpRequest,
    site: web::Path<String>,
    q: web::Query<AlertsQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    crate::auth::require_read(&req, &state, true)?;
    let site = SiteKey::parse(&site).map_err(ApiError::BadRequest)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    Ok(crate::wire::ok_json(
        &state.store.alerts(site.as_str(), limit).await?,
    ))
}
