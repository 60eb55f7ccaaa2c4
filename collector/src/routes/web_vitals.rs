//! `POST /v1/web-vitals?site=KEY`: for pages that already use Google's
//! `web-vitals` library with the common pattern
//! `onLCP(m => navigator.sendBeacon(url, JSON.stringify(m)))`.
//!
//! One Metric object per request (`{name, value, rating, delta, id,
//! navigationType, entries, …}`); unknown fields and `entries` are ignored,
//! the rating is recomputed. It becomes a one-metric beacon and goes through
//! the same parser, limits and queue as `/v1/ingest`, so validation is the same.
//! - page view: web-vitals has no page-view id, so each metric's own `id`
//!   (unique per metric and page load) is used as page view and metric id.
//! - page URL: an optional `url` field (`{...m, url: location.href}`), else the
//!   `Referer` header, else the `Origin` header (path `/`). Cross-origin
//!   `sendBeacon` sends only the origin as Referer under the default referrer
//!   policy, so add `url` for per-path budgets.
//! - sample rate 1; an optional `release` field is kept like the agent's.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde_json::{Value, json};

use super::ingest::{
    add_cors, check_site, client_ip, count_refusal, header_str, rate_limit, read_body, to_rows,
};
use crate::domain::{BeaconError, parse_beacon};
use crate::error::ApiError;
use crate::startup::AppState;

#[derive(serde::Deserialize)]
pub struct Query {
    site: Option<String>,
}

#[derive(serde::Deserialize)]
struct MetricDto {
    name: String,
    value: f64,
    id: String,
    delta: Option<Value>,
    #[serde(rename = "navigationType")]
    navigation_type: Option<Value>,
    url: Option<Value>,
    release: Option<Value>,
}

pub async fn ingest(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let origin = header_str(req.headers(), header::ORIGIN);
    // Parsed here rather than by an extractor, so that a bad query string gets
    // the same JSON error and CORS headers as every other refusal.
    let result = match web::Query::<Query>::from_query(req.query_string()) {
        Ok(query) => accept(&req, query.into_inner(), payload, &state, origin.as_deref()).await,
        Err(e) => Err(ApiError::BadRequest(format!("query string: {e}"))),
    };
    let mut resp = match result {
        Ok(()) => HttpResponse::Accepted().finish(),
        Err(e) => {
            count_refusal(&state, &e);
            e.error_response()
        }
    };
    add_cors(resp.headers_mut(), origin.as_deref());
    resp
}

async fn accept(
    req: &HttpRequest,
    query: Query,
    mut payload: web::Payload,
    state: &AppState,
    origin: Option<&str>,
) -> Result<(), ApiError> {
    let limit = state.settings.max_body_bytes;
    let declared =
        header_str(req.headers(), header::CONTENT_LENGTH).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let ctype = header_str(req.headers(), header::CONTENT_TYPE).unwrap_or_default();
    let mime = ctype
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime != "text/plain" && mime != "application/json" {
        return Err(ApiError::UnsupportedMediaType);
    }
    let Some(site) = query.site else {
        return Err(ApiError::BadRequest(
            "site: query parameter required".into(),
        ));
    };
    check_site(state, &site, origin)?;
    rate_limit(state, Some(&site), client_ip(req, state))?;
    let body = read_body(&mut payload, declared, limit, state).await?;
    let m: MetricDto =
        serde_json::from_slice(&body).map_err(|e| ApiError::Malformed(e.to_string()))?;
    let url = match m.url {
        Some(Value::String(u)) => u,
        Some(_) => return Err(ApiError::Invalid("url: must be a string".into())),
        None => match header_str(req.headers(), header::REFERER) {
            Some(r) => r,
            None => match origin {
                Some(o) => format!("{}/", o.trim_end_matches('/')),
                None => {
                    return Err(ApiError::Invalid(
                        "url: no url field, Referer or Origin to tell the page".into(),
                    ));
                }
            },
        },
    };
    let nav = m
        .navigation_type
        .as_ref()
        .and_then(Value::as_str)
        .unwrap_or("navigate")
        .to_string();
    // The same wire beacon the agent sends; parse_beacon validates it.
    let beacon = json!({
        "v": vitals_core::WIRE_VERSION,
        "site": site,
        "page_view_id": m.id,
        "url": url,
        "navigation_type": nav,
        "release": m.release,
        "metrics": [{
            "name": m.name, "id": m.id, "value": m.value, "delta": m.delta,
            "navigation_type": nav,
        }],
    });
    let beacon = parse_beacon(beacon.to_string().as_bytes(), 1).map_err(|e| match e {
        BeaconError::Malformed(m) => ApiError::Malformed(m),
        e @ BeaconError::Invalid { .. } => ApiError::Invalid(e.to_string()),
    })?;
    let rows = to_rows(&beacon, req, state);
    state
        .queue
        .try_enqueue(rows)
        .map_err(|_| ApiError::Overloaded)
}
