//! Reports API (JSON) over the rollups, behind `Authorization: Bearer <STRRAY_READ_TOKEN>`.
//! Without a configured token the API is disabled (401 for everyone): reports
//! expose every site's traffic, so there is no open default.
//!
//! `GET /v1/reports/{site}/summary`     per metric: p75, rating shares, samples
//! `GET /v1/reports/{site}/timeseries`  per hour or day (`interval`), one metric or all
//! `GET /v1/reports/{site}/histogram`   one metric's merged histogram
//! `GET /v1/reports/{site}/breakdown`   by route, form_factor, engine, country or release,
//!                                      slowest p75 first (`routes` = breakdown by route)
//! `GET /v1/reports/{site}/weight`      page weight: p75 per resource type, the
//!                                      heaviest routes and hosts (`limit` each)
//!
//! Filters on every endpoint: `from`, `to` (YYYY-MM-DD or RFC 3339; a date `to`
//! is inclusive; default: the last 30 UTC days), `metric`, `route`,
//! `form_factor`, `engine`, `country`, `release`.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use vitals_core::MetricName;

use crate::domain::SiteKey;
use crate::error::ApiError;
use crate::histogram;
use crate::reports::{self, GroupBy, ReportRow, Slice};
use crate::startup::AppState;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    from: Option<String>,
    to: Option<String>,
    metric: Option<String>,
    route: Option<String>,
    form_factor: Option<String>,
    engine: Option<String>,
    country: Option<String>,
    release: Option<String>,
    /// timeseries: `hour` or `day` (default).
    interval: Option<String>,
    /// breakdown: the dimension.
    by: Option<String>,
    /// breakdown: most rows returned (1–500, default 20).
    limit: Option<usize>,
}

#[derive(Serialize)]
struct Envelope<T: Serialize> {
    site: String,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    /// Which rollup answered: `site_day`, `dimension_day` or `hourly` (see `reports::Source`);
    /// `raw` for the weight report (raw WEIGHT rows).
    source: &'static str,
    #[serde(flatten)]
    body: T,
}

/// Checks the bearer token (constant-time, see `auth::token_matches`).
pub fn authorize(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    let Some(expected) = state
        .settings
        .read_token
        .as_deref()
        .filter(|t| !t.is_empty())
    else {
        return Err(ApiError::Unauthorized(
            "reports API is disabled: set STRRAY_READ_TOKEN".into(),
        ));
    };
    let given = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(g) if crate::auth::token_matches(g, expected) => Ok(()),
        Some(_) => Err(ApiError::Unauthorized("wrong read token".into())),
        None => Err(ApiError::Unauthorized(
            "send Authorization: Bearer <read token>".into(),
        )),
    }
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::BadRequest(msg.into())
}

fn parse_time(raw: &str, end: bool) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        let start = d.and_time(chrono::NaiveTime::MIN).and_utc();
        // A date as the end of a range includes that whole day.
        return Ok(if end {
            start + Duration::days(1)
        } else {
            start
        });
    }
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| bad(format!("'{raw}' is not YYYY-MM-DD or an RFC 3339 time")))
}

fn dimension(name: &str, v: &Option<String>) -> Result<Option<String>, ApiError> {
    match v.as_deref() {
        None => Ok(None),
        Some(s) if s.is_empty() || s.len() > 256 || s.chars().any(char::is_control) => Err(bad(
            format!("{name} must be 1–256 characters without control characters"),
        )),
        Some(s) => Ok(Some(s.to_string())),
    }
}

/// Validates the query into a slice; every bad value is a 400.
fn slice(site: &str, q: &ReportQuery, now: DateTime<Utc>) -> Result<Slice, ApiError> {
    let site = SiteKey::parse(site).map_err(ApiError::BadRequest)?;
    let (def_from, def_to) = reports::last_days(now, 30);
    let from = q
        .from
        .as_deref()
        .map(|s| parse_time(s, false))
        .transpose()?
        .unwrap_or(def_from);
    let to =
        q.to.as_deref()
            .map(|s| parse_time(s, true))
            .transpose()?
            .unwrap_or(def_to);
    if from >= to {
        return Err(bad("from must be before to"));
    }
    if to - from > Duration::days(731) {
        return Err(bad("the date range is at most 731 days"));
    }
    let metric = match q.metric.as_deref() {
        None => None,
        Some(m) => Some(
            MetricName::parse(&m.to_ascii_uppercase())
                .ok_or_else(|| bad(format!("unknown metric '{m}'")))?
                .as_str()
                .to_string(),
        ),
    };
    if let Some(ff) = q.form_factor.as_deref()
        && !matches!(ff, "desktop" | "phone" | "tablet" | "other")
    {
        return Err(bad("form_factor must be desktop, phone, tablet or other"));
    }
    Ok(Slice {
        site: site.as_str().to_string(),
        from,
        to,
        metric,
        route: dimension("route", &q.route)?,
        form_factor: q.form_factor.clone(),
        engine: dimension("engine", &q.engine)?,
        country: dimension("country", &q.country)?,
        release: dimension("release", &q.release)?,
    })
}

fn query(req: &HttpRequest) -> Result<ReportQuery, ApiError> {
    web::Query::<ReportQuery>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| bad(format!("bad query: {e}")))
}

fn source(s: &Slice, g: GroupBy) -> &'static str {
    s.source(g).name()
}

fn respond<T: Serialize>(s: &Slice, g: GroupBy, body: T) -> HttpResponse {
    crate::wire::ok_json(&Envelope {
        site: s.site.clone(),
        from: s.from,
        to: s.to,
        source: source(s, g),
        body,
    })
}

#[derive(Serialize)]
struct Rows {
    rows: Vec<ReportRow>,
}

async fn prepare(
    req: &HttpRequest,
    state: &AppState,
    site: &str,
) -> Result<(ReportQuery, Slice), ApiError> {
    authorize(req, state)?;
    let q = query(req)?;
    let s = slice(site, &q, Utc::now())?;
    Ok((q, s))
}

/// `GET /v1/reports/{site}/summary`
pub async fn summary(
    req: HttpRequest,
    site: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (_, s) = prepare(&req, &state, &site).await?;
    let rows = reports::report(&state.store, &s, GroupBy::Nothing).await?;
    Ok(respond(&s, GroupBy::Nothing, Rows { rows }))
}

/// `GET /v1/reports/{site}/timeseries?interval=hour|day`
pub async fn timeseries(
    req: HttpRequest,
    site: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (q, s) = prepare(&req, &state, &site).await?;
    let g = match q.interval.as_deref().unwrap_or("day") {
        "day" => GroupBy::Day,
        "hour" => GroupBy::Hour,
        _ => return Err(bad("interval must be hour or day")),
    };
    if g == GroupBy::Hour && s.to - s.from > Duration::days(93) {
        return Err(bad("hourly series cover at most 93 days"));
    }
    let rows = reports::report(&state.store, &s, g).await?;
    Ok(respond(&s, g, Rows { rows }))
}

#[derive(Serialize)]
struct Bucket {
    bucket: i32,
    lower: f64,
    upper: f64,
    page_views: f64,
}

#[derive(Serialize)]
struct Histogram {
    metric: String,
    unit: &'static str,
    samples: i64,
    p75: Option<f64>,
    buckets: Vec<Bucket>,
}

/// `GET /v1/reports/{site}/histogram?metric=LCP`
pub async fn histogram(
    req: HttpRequest,
    site: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (_, s) = prepare(&req, &state, &site).await?;
    let Some(metric) = s.metric.clone() else {
        return Err(bad("metric is required"));
    };
    let groups = reports::load(&state.store, &s, GroupBy::Nothing).await?;
    let agg = groups
        .get(&(String::new(), metric.clone()))
        .cloned()
        .unwrap_or_default();
    let mut merged: std::collections::BTreeMap<i32, f64> = Default::default();
    for &(b, w) in &agg.hist {
        *merged.entry(b).or_default() += w;
    }
    let buckets = merged
        .into_iter()
        .filter(|&(_, w)| w > 1e-9)
        .map(|(b, w)| {
            let (lower, upper) = histogram::bucket_bounds(&metric, b);
            Bucket {
                bucket: b,
                lower,
                upper,
                page_views: w,
            }
        })
        .collect();
    Ok(respond(
        &s,
        GroupBy::Nothing,
        Histogram {
            unit: crate::reports::unit_of(&metric),
            p75: agg.percentile(&metric, 75.0),
            samples: agg.samples,
            metric,
            buckets,
        },
    ))
}

/// `GET /v1/reports/{site}/breakdown?by=route&metric=LCP&limit=20`: slowest p75 first.
pub async fn breakdown(
    req: HttpRequest,
    site: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (q, s) = prepare(&req, &state, &site).await?;
    let by = q.by.as_deref().unwrap_or("route");
    breakdown_by(&state, q.limit, s, by).await
}

/// `GET /v1/reports/{site}/routes?metric=LCP`: the slowest routes.
pub async fn routes(
    req: HttpRequest,
    site: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (q, s) = prepare(&req, &state, &site).await?;
    if q.by.is_some() {
        return Err(bad("use /breakdown for other dimensions"));
    }
    breakdown_by(&state, q.limit, s, "route").await
}

async fn breakdown_by(
    state: &AppState,
    limit: Option<usize>,
    mut s: Slice,
    by: &str,
) -> Result<HttpResponse, ApiError> {
    let g = match GroupBy::parse(by) {
        Some(g) if !matches!(g, GroupBy::Hour | GroupBy::Day) => g,
        _ => {
            return Err(bad(
                "by must be route, form_factor, engine, country or release",
            ));
        }
    };
    let limit = limit.unwrap_or(20);
    if !(1..=500).contains(&limit) {
        return Err(bad("limit must be 1 to 500"));
    }
    if s.metric.is_none() {
        s.metric = Some("LCP".into());
    }
    let mut rows = reports::report(&state.store, &s, g).await?;
    rows.sort_by(|a, b| {
        b.p75
            .unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&a.p75.unwrap_or(f64::NEG_INFINITY))
            .then_with(|| a.group.cmp(&b.group))
    });
    rows.truncate(limit);
    Ok(respond(&s, g, Rows { rows }))
}

/// `GET /v1/reports/{site}/weight?limit=20`: page weight from the WEIGHT rows
/// (see `weight_report`); `metric`, if given, must be WEIGHT.
pub async fn weight(
    req: HttpRequest,
    site: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (q, s) = prepare(&req, &state, &site).await?;
    if s.metric
        .as_deref()
        .is_some_and(|m| m != MetricName::Weight.as_str())
    {
        return Err(bad("the weight report is of metric WEIGHT only"));
    }
    if q.by.is_some() || q.interval.is_some() {
        return Err(bad("the weight report takes no by or interval"));
    }
    let limit = q.limit.unwrap_or(20);
    if !(1..=500).contains(&limit) {
        return Err(bad("limit must be 1 to 500"));
    }
    let mut report = crate::weight_report::report(&state.store, &s).await?;
    report.routes.truncate(limit);
    report.hosts.truncate(limit);
    Ok(crate::wire::ok_json(&Envelope {
        site: s.site.clone(),
        from: s.from,
        to: s.to,
        source: "raw",
        body: report,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn dates_are_whole_days_and_to_is_inclusive() {
        let q = ReportQuery {
            from: Some("2026-11-01".into()),
            to: Some("2026-11-01".into()),
            ..Default::default()
        };
        let s = slice("shop", &q, Utc::now()).unwrap();
        assert_eq!(s.to - s.from, Duration::days(1));
        assert!(s.uses_site_day(GroupBy::Nothing));
        let q = ReportQuery {
            from: Some("2026-11-02".into()),
            to: Some("2026-11-01".into()),
            ..Default::default()
        };
        assert!(slice("shop", &q, Utc::now()).is_err());
        let q = ReportQuery {
            metric: Some("nope".into()),
            ..Default::default()
        };
        assert!(slice("shop", &q, Utc::now()).is_err());
    }
}
