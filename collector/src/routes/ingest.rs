//! `POST /v1/ingest?site=KEY`: the beacon endpoint.
//!
//! Cheap checks first, in this order: body size (413), content type (415),
//! site key and `Origin` (403), then parse and validate (400 / 422). Accepted
//! beacons are queued (202); a full queue answers 503 with `Retry-After`.
//! Every answer carries CORS headers so agents can read and back off.

use std::net::IpAddr;
use std::sync::atomic::Ordering;

use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use chrono::Utc;
use futures_util::StreamExt;

use crate::configuration::SiteRefusal;
use crate::domain::{Beacon, BeaconError, classify_user_agent, normalise_route, parse_beacon};
use crate::error::ApiError;
use crate::startup::AppState;
use crate::storage::MetricRow;
use std::sync::Arc;

#[derive(serde::Deserialize)]
pub struct IngestQuery {
    site: Option<String>,
}

pub async fn ingest(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let origin = header_str(req.headers(), header::ORIGIN);
    // Parsed here rather than by an extractor, so that a bad query string gets
    // the same JSON error and CORS headers as every other refusal.
    let result = match web::Query::<IngestQuery>::from_query(req.query_string()) {
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

/// CORS preflight. Beacons sent as `text/plain` need none; `application/json`
/// from fetch does.
pub async fn preflight(req: HttpRequest) -> HttpResponse {
    let origin = header_str(req.headers(), header::ORIGIN);
    let mut resp = HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "POST, OPTIONS"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, "content-type"))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
        .finish();
    add_cors(resp.headers_mut(), origin.as_deref());
    resp
}

pub(crate) fn add_cors(h: &mut HeaderMap, origin: Option<&str>) {
    // Echo the origin (never credentials): the site/origin policy is enforced
    // on the POST itself, where a refusal is a 403 the agent can see.
    let value = origin.unwrap_or("*");
    if let Ok(v) = header::HeaderValue::from_str(value) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    h.insert(header::VARY, header::HeaderValue::from_static("Origin"));
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        header::HeaderValue::from_static("Retry-After"),
    );
}

pub(crate) fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

pub(crate) fn count_refusal(state: &AppState, e: &ApiError) {
    let s = &state.queue.stats;
    let c = match e {
        ApiError::PayloadTooLarge { .. } => &s.beacons_too_large,
        ApiError::UnsupportedMediaType => &s.beacons_bad_content_type,
        ApiError::Malformed(_) | ApiError::BadRequest(_) => &s.beacons_invalid_malformed,
        ApiError::Invalid(_) => &s.beacons_invalid_content,
        ApiError::UnknownSite | ApiError::OriginNotAllowed => &s.beacons_forbidden,
        ApiError::RateLimited { .. } => &s.beacons_rate_limited,
        _ => return, // shed is counted by the queue itself
    };
    c.fetch_add(1, Ordering::Relaxed);
}

async fn accept(
    req: &HttpRequest,
    query: IngestQuery,
    mut payload: web::Payload,
    state: &AppState,
    origin: Option<&str>,
) -> Result<(), ApiError> {
    let limit = state.settings.max_body_bytes;
    // 1. Size: refuse by declared length before reading anything.
    let declared =
        header_str(req.headers(), header::CONTENT_LENGTH).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    // 2. Content type: what sendBeacon (text/plain) and fetch (JSON) send.
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
    // 3. Site and origin, from the query string, before parsing the body.
    if let Some(site) = query.site.as_deref() {
        check_site(state, site, origin)?;
    }
    // 4. Rate limits (per client always; per site now if the URL names it).
    let client = client_ip(req, state);
    rate_limit(state, query.site.as_deref(), client)?;
    let full = match &state.spool {
        Some(spool) => spool.is_full(),
        None => state.queue.shed_early(),
    };
    if full {
        if state.spool.is_some() {
            state
                .queue
                .stats
                .beacons_shed
                .fetch_add(1, Ordering::Relaxed);
        }
        return Err(ApiError::Overloaded);
    }
    let body = read_body(&mut payload, declared, limit, state).await?;
    // 5. Parse and validate.
    let beacon =
        parse_beacon(&body, state.settings.max_metrics_per_beacon).map_err(|e| match e {
            BeaconError::Malformed(m) => ApiError::Malformed(m),
            e @ BeaconError::Invalid { .. } => ApiError::Invalid(e.to_string()),
        })?;
    match query.site.as_deref() {
        Some(q) if q != beacon.site.as_str() => {
            return Err(ApiError::Invalid(
                "site: does not match the site in the URL".into(),
            ));
        }
        Some(_) => {}
        None => {
            check_site(state, beacon.site.as_str(), origin)?;
            rate_limit(state, Some(beacon.site.as_str()), None)?;
        }
    }
    if beacon.dropped_fields > 0 {
        state
            .queue
            .stats
            .optional_fields_dropped
            .fetch_add(u64::from(beacon.dropped_fields), Ordering::Relaxed);
    }
    let rows = to_rows(&beacon, req, state);
    match &state.spool {
        Some(spool) => spool_rows(spool, &state.queue.stats, rows).await,
        None => state
            .queue
            .try_enqueue(rows)
            .map_err(|_| ApiError::Overloaded),
    }
}

/// Durable acceptance: Ok once the rows are fsynced in the spool.
async fn spool_rows(
    spool: &crate::spool::Spool,
    stats: &crate::ingest::IngestStats,
    rows: Vec<crate::storage::MetricRow>,
) -> Result<(), ApiError> {
    let n = rows.len() as u64;
    // Counted before the append so the drainer can never store more than was accepted.
    stats.rows_accepted.fetch_add(n, Ordering::SeqCst);
    match spool.append(&rows).await {
        Ok(()) => {
            stats.beacons_accepted.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => {
            stats.rows_accepted.fetch_sub(n, Ordering::SeqCst);
            stats.beacons_shed.fetch_add(1, Ordering::Relaxed);
            if let crate::spool::SpoolError::Io(e) = e {
                tracing::error!(error = %e, "spool append failed");
            }
            Err(ApiError::Overloaded)
        }
    }
}

/// Reads the body, enforcing the size limit on what actually arrives and the
/// body timeout on how long it takes (a sender trickling bytes gets 408 and
/// cannot hold a worker, or delay shutdown, beyond STRRAY_BODY_TIMEOUT_MS).
pub(crate) async fn read_body(
    payload: &mut web::Payload,
    declared: Option<usize>,
    limit: usize,
    state: &AppState,
) -> Result<web::BytesMut, ApiError> {
    let timeout = state.settings.body_timeout();
    let read = async {
        let mut body = web::BytesMut::with_capacity(declared.unwrap_or(1024).min(limit));
        while let Some(chunk) = payload.next().await {
            let chunk =
                chunk.map_err(|e| ApiError::Malformed(format!("could not read body: {e}")))?;
            if body.len() + chunk.len() > limit {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| ApiError::BodyTimeout {
            ms: timeout.as_millis() as u64,
        })?
}

pub(crate) fn rate_limit(
    state: &AppState,
    site: Option<&str>,
    client: Option<IpAddr>,
) -> Result<(), ApiError> {
    state
        .limiter
        .check(site.unwrap_or(""), client)
        .map_err(|l| ApiError::RateLimited {
            scope: l.scope,
            retry_after_secs: l.retry_after.as_secs_f64().ceil().max(1.0) as u64,
        })
}

/// The client's address, for rate limiting only (never stored or logged).
pub(crate) fn client_ip(req: &HttpRequest, state: &AppState) -> Option<IpAddr> {
    if let Some(h) = state.settings.client_ip_header.as_deref() {
        return req
            .headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok());
    }
    req.peer_addr().map(|a| a.ip())
}

pub(crate) fn check_site(
    state: &AppState,
    site: &str,
    origin: Option<&str>,
) -> Result<(), ApiError> {
    state.policy.check(site, origin).map_err(|r| match r {
        SiteRefusal::UnknownSite => ApiError::UnknownSite,
        SiteRefusal::OriginNotAllowed => ApiError::OriginNotAllowed,
    })
}

/// Derives the stored dimensions. The client's IP is never read.
pub(crate) fn to_rows(b: &Beacon, req: &HttpRequest, state: &AppState) -> Vec<MetricRow> {
    let received_at = Utc::now();
    let ua = header_str(req.headers(), header::USER_AGENT).unwrap_or_default();
    let client = classify_user_agent(&ua);
    let country = state
        .settings
        .country_header
        .as_deref()
        .and_then(|h| req.headers().get(h))
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
        .map(str::to_ascii_uppercase);
    let route = state.routes.admit(
        b.site.as_str(),
        b.route.clone().unwrap_or_else(|| normalise_route(&b.path)),
    );
    // One allocation per dimension per beacon; its metrics' rows share them.
    let site: Arc<str> = b.site.as_str().into();
    let page_view_id: Arc<str> = b.page_view_id.as_str().into();
    let (url, path): (Arc<str>, Arc<str>) = (b.url.as_str().into(), b.path.as_str().into());
    let route: Arc<str> = route.into();
    let release: Option<Arc<str>> = b.release.as_deref().map(Into::into);
    let connection: Option<Arc<str>> = b.connection.as_deref().map(Into::into);
    let browser: Arc<str> = client.browser.as_str().into();
    let country: Option<Arc<str>> = country.map(Into::into);
    b.metrics
        .iter()
        .map(|m| MetricRow {
            site: site.clone(),
            page_view_id: page_view_id.clone(),
            metric_id: m.id.clone(),
            name: m.name.as_str().to_string(),
            value: m.value,
            delta: m.delta,
            // Recomputed here: the client's rating is not trusted.
            rating: m.name.rate(m.value).as_str().to_string(),
            navigation_type: m.navigation_type.as_str().to_string(),
            url: url.clone(),
            path: path.clone(),
            route: route.clone(),
            sample_rate: b.sample_rate,
            release: release.clone(),
            connection: connection.clone(),
            form_factor: client.form_factor.as_str().to_string(),
            browser: browser.clone(),
            engine: client.engine.to_string(),
            country: country.clone(),
            attribution: m
                .attribution
                .as_ref()
                .map(|a| serde_json::Value::Object(a.clone()).to_string()),
            // parse_beacon bounds seq to i64::MAX.
            seq: i64::try_from(b.seq).unwrap_or(i64::MAX),
            received_at,
        })
        .collect()
}
