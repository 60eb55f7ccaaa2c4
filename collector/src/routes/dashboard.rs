//! Server-rendered dashboard: no JavaScript, no third-party assets, works
//! offline. maud escapes every interpolated value, so URLs and selectors that
//! came from beacons are shown as text and can never become markup.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::{DOCTYPE, Markup, html};

use crate::auth;
use crate::budget::{self, Budget, MetricVerdict, Severity};
use crate::domain::SiteKey;
use crate::error::ApiError;
use crate::reports::{self, GroupBy, ReportRow, Slice};
use crate::startup::AppState;
use crate::verdict;

const STYLE: &str = r#"
:root{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1b1f24;background:#f6f7f9}
body{max-width:1100px;margin:0 auto;padding:1rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.9rem}
th,td{padding:.4rem .6rem;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.wrap{word-break:break-all;max-width:28rem}
.sev{display:inline-block;padding:.1rem .5rem;border-radius:1rem;font-weight:600;font-size:.8rem}
.pass{background:#d3f4dc;color:#0b5d1e}.warning{background:#fff1c2;color:#6b4e00}
.error{background:#ffd9d2;color:#8a1c00}.critical{background:#8a1c00;color:#fff}
.insufficient-data{background:#e3e6ea;color:#3b434d}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr));gap:.8rem}
.card{background:#fff;border-radius:.5rem;padding:.8rem;box-shadow:0 1px 2px #0001}
.card .v{font-size:1.6rem;font-weight:700}
.bar{height:.5rem;background:#e3e6ea;border-radius:.25rem;overflow:hidden;margin-top:.4rem}
.bar span{display:block;height:100%}
.scroll{overflow-x:auto}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(17rem,1fr));gap:.8rem}
.chart-card{background:#fff;border-radius:.5rem;padding:.6rem .8rem;box-shadow:0 1px 2px #0001}
.chart-card h3{font-size:.95rem;margin:.2rem 0}
svg.chart{width:100%;height:auto;display:block}
svg.chart .p75{fill:none;stroke:#2459c4;stroke-width:2}
svg.chart .budget-line{stroke:#b3261e;stroke-width:1.2;stroke-dasharray:5 4}
svg.chart text{font-size:10px;fill:#5b6470}
svg.chart .grid{stroke:#e3e6ea}
.dist{display:flex;height:1.1rem;border-radius:.25rem;overflow:hidden;font-size:.7rem;color:#fff;font-weight:600}
.dist span{display:flex;align-items:center;justify-content:center;min-width:0;overflow:hidden}
.dist .good{background:#0c7d3a}.dist .ni{background:#d08a00}.dist .poor{background:#c2311a}
.dist-row{display:grid;grid-template-columns:3.5rem 1fr 6rem;gap:.5rem;align-items:center;margin:.35rem 0;font-size:.85rem}
.muted{color:#5b6470;font-size:.85rem}
.error-message{background:#ffd9d2;color:#8a1c00;padding:.6rem .8rem;border-radius:.4rem}
form.login{display:grid;gap:.5rem;max-width:22rem;background:#fff;padding:1rem;border-radius:.5rem;box-shadow:0 1px 2px #0001}
form.login input,form.login button,form.logout button{font:inherit;padding:.4rem .6rem}
form.logout{float:right}
@media (max-width:600px){body{padding:.5rem}th,td{padding:.3rem .35rem}.dist-row{grid-template-columns:3rem 1fr}.dist-row .muted{display:none}}
"#;

fn page(title: &str, body: Markup) -> HttpResponse {
    page_with_status(StatusCode::OK, title, body)
}

fn page_with_status(status: StatusCode, title: &str, body: Markup) -> HttpResponse {
    let doc = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · StrRay Vitals" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    };
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        // The dashboard runs no script at all; say so to the browser. Forms
        // post only here; no other site may frame it (clickjacking).
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
        ))
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(doc.into_string())
}

/// An error as a page in the dashboard's style (a browser shows it, not JSON).
pub fn error_page(status: StatusCode, message: &str) -> HttpResponse {
    let title = status.canonical_reason().unwrap_or("Error");
    page_with_status(
        status,
        title,
        html! {
            p { a href="/" { "← all sites" } }
            h1 { (status.as_u16()) " · " (title) }
            p class="error-message" { (message) }
        },
    )
}

fn html_error(e: ApiError) -> HttpResponse {
    use actix_web::ResponseError;
    let status = e.status_code();
    let message = match &e {
        ApiError::BadRequest(m) | ApiError::NotFound(m) | ApiError::Unauthorized(m) => m.clone(),
        _ => "the dashboard could not be built; see the collector's log".into(),
    };
    if status.is_server_error() {
        tracing::error!(error = %e, "dashboard page failed");
    }
    error_page(status, &message)
}

/// Where the dashboard goes when a login is needed: the login form, with
/// the page asked for to come back to.
fn to_login(req: &HttpRequest) -> HttpResponse {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    let next = match req.query_string() {
        "" => req.path().to_string(),
        qs => format!("{}?{qs}", req.path()),
    };
    q.append_pair("next", &next);
    HttpResponse::SeeOther()
        .insert_header(("Location", format!("/login?{}", q.finish())))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

/// Whether this browser may see everything (no read token, or logged in).
fn logged_in(req: &HttpRequest, state: &AppState) -> bool {
    match auth::read_token(state) {
        None => true,
        Some(t) => auth::has_session(req, t),
    }
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    token: String,
    next: Option<String>,
}

/// A local path to return to after login (never another site: `//host`, `/\host`).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => {
            n.to_string()
        }
        _ => "/".into(),
    }
}

fn login_page(status: StatusCode, next: &str, failed: bool) -> HttpResponse {
    page_with_status(
        status,
        "Log in",
        html! {
            h1 { "StrRay Vitals" }
            @if failed { p class="error-message" role="alert" { "Wrong read token." } }
            form method="post" action="/login" class="login" {
                label for="token" { "Read token (STRRAY_READ_TOKEN)" }
                input id="token" type="password" name="token" autocomplete="current-password" required;
                input type="hidden" name="next" value=(next);
                button type="submit" { "Log in" }
            }
        },
    )
}

/// `GET /login`
pub async fn login_form(q: web::Query<LoginQuery>, state: web::Data<AppState>) -> HttpResponse {
    if auth::read_token(&state).is_none() {
        return HttpResponse::SeeOther()
            .insert_header(("Location", "/"))
            .finish();
    }
    login_page(StatusCode::OK, &safe_next(q.next.as_deref()), false)
}

/// `POST /login`: the right token sets the session cookie and goes back.
pub async fn login(
    req: HttpRequest,
    form: web::Form<LoginForm>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let next = safe_next(form.next.as_deref());
    let Some(token) = auth::read_token(&state) else {
        return HttpResponse::SeeOther()
            .insert_header(("Location", "/"))
            .finish();
    };
    if !auth::token_matches(form.token.trim(), token) {
        return login_page(StatusCode::UNAUTHORIZED, &next, true);
    }
    let value = auth::session_value(token, Utc::now().timestamp());
    HttpResponse::SeeOther()
        .insert_header(("Set-Cookie", auth::session_cookie(&req, Some(&value))))
        .insert_header(("Location", next))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

/// `POST /logout`: ends the session. A POST (no link or image can log
/// anyone out), from our own origin only, and the cookie is SameSite=Strict.
pub async fn logout(req: HttpRequest) -> HttpResponse {
    if !auth::same_origin(&req) {
        return error_page(
            StatusCode::FORBIDDEN,
            "log out from the dashboard's own page",
        );
    }
    HttpResponse::SeeOther()
        .insert_header(("Set-Cookie", auth::session_cookie(&req, None)))
        .insert_header(("Location", "/login"))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

fn logout_button(req: &HttpRequest, state: &AppState) -> Markup {
    let show = auth::read_token(state).is_some_and(|t| auth::has_session(req, t));
    html! {
        @if show {
            form method="post" action="/logout" class="logout" { button type="submit" { "Log out" } }
        }
    }
}

/// `GET /`: the sites with data.
pub async fn index(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !logged_in(&req, &state)
        && state
            .settings
            .public_sites
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
    {
        return to_login(&req);
    }
    index_page(&req, &state).await.unwrap_or_else(html_error)
}

async fn index_page(req: &HttpRequest, state: &AppState) -> Result<HttpResponse, ApiError> {
    let mut sites = state.store.sites().await?;
    let all = logged_in(req, state);
    if !all {
        sites.retain(|s| auth::is_public(state, s));
    }
    Ok(page(
        "Sites",
        html! {
            (logout_button(req, state))
            h1 { "StrRay Vitals" }
            @if !all { p { "Public dashboards below; " a href="/login" { "log in" } " to see every site." } }
            p { "Collector on " (state.store.backend()) ". Sites with data:" }
            @if sites.is_empty() {
                p { "No data yet. Add the script tag to a page and load it." }
            }
            ul { @for s in &sites { li { a href={ "/sites/" (s) } { (s) } } } }
        },
    ))
}

fn severity_badge(s: Severity) -> Markup {
    html! { span class={ "sev " (s.as_str()) } { (s.as_str()) } }
}

fn fmt_value(unit: &str, v: f64) -> String {
    if unit == "score" {
        format!("{v:.3}")
    } else {
        format!("{v:.0} ms")
    }
}

/// What the site page shows: a range of whole days and optional filters.
#[derive(serde::Deserialize)]
pub struct SiteView {
    days: Option<i64>,
    form_factor: Option<String>,
    release: Option<String>,
}

/// Day ranges offered as links (any 1..=400 works in the URL).
const RANGES: [i64; 3] = [7, 30, 90];
const FORM_FACTORS: [&str; 4] = ["desktop", "phone", "tablet", "other"];

impl SiteView {
    fn validate(self) -> Result<(i64, Option<String>, Option<String>), ApiError> {
        let days = self.days.unwrap_or(REPORT_DAYS);
        if !(1..=400).contains(&days) {
            return Err(ApiError::BadRequest(format!(
                "days: {days} is not between 1 and 400"
            )));
        }
        let ff = self.form_factor.filter(|f| !f.is_empty());
        if let Some(f) = &ff
            && !FORM_FACTORS.contains(&f.as_str())
        {
            return Err(ApiError::BadRequest(format!(
                "form_factor: {f:?} is not one of desktop, phone, tablet, other"
            )));
        }
        let release = self.release.filter(|r| !r.is_empty());
        if release.as_ref().is_some_and(|r| r.len() > 200) {
            return Err(ApiError::BadRequest(
                "release: longer than 200 bytes".into(),
            ));
        }
        Ok((days, ff, release))
    }
}

/// The site page's URL for a view (query values percent-encoded).
fn view_url(site: &str, days: i64, ff: Option<&str>, release: Option<&str>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("days", &days.to_string());
    if let Some(f) = ff {
        q.append_pair("form_factor", f);
    }
    if let Some(r) = release {
        q.append_pair("release", r);
    }
    format!("/sites/{site}?{}", q.finish())
}

/// `GET /sites/{site}?days=N&form_factor=…&release=…`: budget verdict, charts
/// and breakdowns for the chosen days and slice, and the latest stored metrics.
pub async fn site(
    req: HttpRequest,
    site: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    if !logged_in(&req, &state) && !auth::is_public(&state, &site) {
        return to_login(&req);
    }
    site_page(&req, &site, &state)
        .await
        .unwrap_or_else(html_error)
}

async fn site_page(
    req: &HttpRequest,
    site: &str,
    state: &AppState,
) -> Result<HttpResponse, ApiError> {
    let site =
        SiteKey::parse(site).map_err(|e| ApiError::NotFound(format!("no site {site:?}: {e}")))?;
    let view = web::Query::<SiteView>::from_query(req.query_string())
        .map_err(|e| {
            ApiError::BadRequest(format!(
                "query string: {e} (expected days=1…400, form_factor=desktop|phone|tablet|other, release=NAME)"
            ))
        })?;
    let (days, ff, release) = view.into_inner().validate()?;
    if !state
        .store
        .sites()
        .await?
        .iter()
        .any(|s| s == site.as_str())
    {
        return Err(ApiError::NotFound(format!(
            "no data for site '{}' in this collector's database",
            site.as_str()
        )));
    }
    let now = Utc::now();
    let v = site_verdict(state, site.as_str(), now).await?;
    let (from, to) = reports::last_days(now, days);
    let all = Slice {
        site: site.as_str().to_string(),
        from,
        to,
        metric: None,
        route: None,
        form_factor: ff.clone(),
        engine: None,
        country: None,
        release: release.clone(),
    };
    let slice_label = match (&ff, &release) {
        (None, None) => String::new(),
        (f, r) => format!(
            " · {}{}",
            f.as_deref().unwrap_or("all devices"),
            r.as_deref()
                .map(|r| format!(", release {r}"))
                .unwrap_or_default()
        ),
    };
    let nav_link = |label: String, href: String, current: bool| {
        html! { @if current { strong { (label) } } @else { a href=(href) { (label) } } " " }
    };
    let daily = reports::report(&state.store, &all, GroupBy::Day).await?;
    let summary = reports::report(&state.store, &all, GroupBy::Nothing).await?;
    let mut worst = reports::report(
        &state.store,
        &Slice {
            metric: Some("LCP".into()),
            ..all.clone()
        },
        GroupBy::Route,
    )
    .await?;
    worst.sort_by(|a, b| b.p75.unwrap_or(0.0).total_cmp(&a.p75.unwrap_or(0.0)));
    worst.truncate(10);
    let by_device = reports::report(&state.store, &all, GroupBy::FormFactor).await?;
    let by_engine = reports::report(&state.store, &all, GroupBy::Engine).await?;
    let recent = state.store.recent_metrics(site.as_str(), 50).await?;
    let alerts = state.store.alerts(site.as_str(), 10).await?;
    Ok(page(
        site.as_str(),
        html! {
            (logout_button(req, state))
            p { a href="/" { "← all sites" } }
            h1 { "Site " (site.as_str()) " " (severity_badge(v.status)) }
            p { "Budget at p" (v.metrics.first().map(|m| m.percentile).unwrap_or(75.0)) " over the last " (v.window_hours) " hours (all traffic)." }
            nav id="view" class="muted" {
                "Days: "
                @for d in RANGES {
                    (nav_link(format!("{d}"), view_url(site.as_str(), d, ff.as_deref(), release.as_deref()), d == days))
                }
                " · Device: "
                (nav_link("all".into(), view_url(site.as_str(), days, None, release.as_deref()), ff.is_none()))
                @for f in FORM_FACTORS {
                    (nav_link(f.into(), view_url(site.as_str(), days, Some(f), release.as_deref()), ff.as_deref() == Some(f)))
                }
                @if let Some(r) = &release {
                    " · Release " strong { (r) } " "
                    a href=(view_url(site.as_str(), days, ff.as_deref(), None)) { "(all releases)" }
                }
            }
            section id="verdict" class="cards" {
                @for m in &v.metrics {
                    div class="card" data-metric=(m.metric) {
                        div { strong { (m.metric) } " " (severity_badge(m.severity)) }
                        div class="v" { (m.value.map(|x| fmt_value(m.unit, x)).unwrap_or_else(|| "–".into())) }
                        div { "budget " (fmt_value(m.unit, m.budget)) " · " (m.samples) " samples (min " (m.min_samples) ")" }
                        @let pct = m.ratio.map(|r| (r * 100.0).clamp(0.0, 100.0)).unwrap_or(0.0);
                        div class="bar" title="p75 as a share of budget" {
                            span class=(m.severity.as_str()) style={ "width:" (format!("{pct:.0}")) "%" } {}
                        }
                    }
                }
            }
            h2 { "p75 per day, last " (days) " days" (slice_label) }
            section id="trends" class="charts" {
                @for m in CHART_METRICS {
                    @let points: Vec<(String, f64)> = daily.iter().filter(|r| r.metric == *m).filter_map(|r| r.p75.map(|p| (r.group.clone(), p))).collect();
                    @if !points.is_empty() {
                        div class="chart-card" {
                            h3 { (m) " p75" }
                            (chart(m, &points, reference_line(&state.budget, m)))
                        }
                    }
                }
                @if daily.is_empty() { p class="muted" { "No data in the last " (days) " days" (slice_label) "." } }
            }
            h2 { "Distribution (good / needs improvement / poor), last " (days) " days" (slice_label) }
            section id="distribution" {
                @for r in &summary { (distribution(r)) }
            }
            h2 { "Slowest routes by LCP p75" }
            div class="scroll" {
                table id="worst-routes" {
                    thead { tr { th { "route" } th class="num" { "p75" } th class="num" { "page views" } th { "distribution" } } }
                    tbody {
                        @for r in &worst {
                            tr {
                                td class="wrap" { (r.group) }
                                td class="num" { (r.p75.map(|p| fmt_value(r.unit, p)).unwrap_or_default()) }
                                td class="num" { (format!("{:.0}", r.page_views)) }
                                td { (dist_bar(r)) }
                            }
                        }
                    }
                }
            }
            h2 { "By device" }
            (breakdown_table("by-device", &by_device))
            h2 { "By browser engine" }
            (breakdown_table("by-engine", &by_engine))
            h2 { "Recent alerts" }
            section id="alerts" {
                @if alerts.is_empty() {
                    p class="muted" { "No alerts recorded." }
                } @else {
                    div class="scroll" {
                        table {
                            thead { tr { th { "when" } th { "metric" } th { "path" } th { "event" } th { "severity" } th { "message" } } }
                            tbody {
                                @for a in &alerts {
                                    tr {
                                        td { (a.created_at.format("%Y-%m-%d %H:%M")) }
                                        td { (a.metric) }
                                        td class="wrap" { (a.path) }
                                        td { (a.kind) }
                                        td { span class={ "sev " (a.severity) } { (a.severity) } }
                                        td class="wrap" { (a.message) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Latest metrics" }
            div class="scroll" {
                table id="recent" {
                    thead { tr { th { "received" } th { "metric" } th { "value" } th { "rating" } th { "page" } th { "navigation" } th { "device" } th { "attribution" } } }
                    tbody {
                        @for r in &recent {
                            tr {
                                td { (r.received_at.format("%Y-%m-%d %H:%M:%S")) }
                                td { (r.name) }
                                td class="num" { (fmt_value(if r.name == "CLS" { "score" } else { "ms" }, r.value)) }
                                td { (r.rating) }
                                td class="wrap" { (r.url) }
                                td { (r.navigation_type) }
                                td { (r.form_factor) " · " (r.browser) }
                                td class="wrap" { (r.attribution.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// Days of history the dashboard's charts and tables cover by default.
const REPORT_DAYS: i64 = 30;
const CHART_METRICS: [&str; 8] = ["LCP", "INP", "CLS", "FCP", "TTFB", "FID", "TTI", "TBT"];
const BREAKDOWN_METRICS: [&str; 4] = ["LCP", "INP", "CLS", "TTFB"];
/// Up to this many samples in the verdict window, the cards use exact
/// percentiles over raw rows; above it, the rollups (within 1 %) keep the page fast.
const EXACT_VERDICT_MAX_SAMPLES: i64 = 50_000;

/// The budget verdict for the cards: exact when the window is small, from the
/// site-day rollups (whole UTC days covering the window) when it is large.
async fn site_verdict(
    state: &AppState,
    site: &str,
    now: chrono::DateTime<Utc>,
) -> Result<verdict::Verdict, ApiError> {
    let window = state.settings.window_hours;
    let days = i64::from(window.div_ceil(24)).max(1);
    let (from, to) = reports::last_days(now, days);
    let slice = Slice {
        site: site.to_string(),
        from,
        to,
        metric: None,
        route: None,
        form_factor: None,
        engine: None,
        country: None,
        release: None,
    };
    let groups = reports::load(&state.store, &slice, GroupBy::Nothing).await?;
    let samples: i64 = groups.values().map(|a| a.samples).sum();
    if samples <= EXACT_VERDICT_MAX_SAMPLES {
        return Ok(verdict::compute(&state.store, &state.budget, site, None, window, now).await?);
    }
    let b: &Budget = &state.budget;
    let metrics: Vec<MetricVerdict> = b
        .limits
        .iter()
        .map(|&(metric, limit)| {
            let agg = groups.get(&(String::new(), metric.as_str().to_string()));
            let n = agg.map(|a| a.samples.max(0) as u64).unwrap_or(0);
            let value = agg.and_then(|a| a.percentile(metric.as_str(), b.percentile));
            let severity = match value {
                Some(v) if n >= b.min_samples => budget::classify(v, limit, &b.thresholds),
                _ => Severity::InsufficientData,
            };
            MetricVerdict {
                metric: metric.as_str(),
                unit: if metric.is_unitless() { "score" } else { "ms" },
                budget: limit,
                value,
                percentile: b.percentile,
                ratio: value.map(|v| v / limit),
                samples: n,
                min_samples: b.min_samples,
                severity,
            }
        })
        .collect();
    Ok(verdict::Verdict {
        site: site.to_string(),
        path: None,
        from,
        to,
        window_hours: u32::try_from(days * 24).unwrap_or(window),
        status: budget::overall(&metrics),
        metrics,
    })
}

/// The budget when there is one, else the metric's "good" threshold.
fn reference_line(b: &Budget, metric: &str) -> Option<(f64, &'static str)> {
    if let Some(&(_, limit)) = b.limits.iter().find(|(m, _)| m.as_str() == metric) {
        return Some((limit, "budget"));
    }
    vitals_core::MetricName::parse(metric).map(|m| (m.thresholds().0, "good"))
}

/// Server-rendered line chart: p75 per day with a dashed budget line.
fn chart(metric: &str, points: &[(String, f64)], line: Option<(f64, &'static str)>) -> Markup {
    const W: f64 = 320.0;
    const H: f64 = 130.0;
    const L: f64 = 46.0; // left margin for labels
    const B: f64 = 18.0; // bottom margin
    let unit = if metric == "CLS" { "score" } else { "ms" };
    let max_v = points
        .iter()
        .map(|p| p.1)
        .chain(line.map(|l| l.0))
        .fold(0.0_f64, f64::max)
        * 1.15;
    let max_v = if max_v > 0.0 { max_v } else { 1.0 };
    let x = |i: usize| {
        if points.len() <= 1 {
            L + (W - L) / 2.0
        } else {
            L + (W - L - 6.0) * i as f64 / (points.len() - 1) as f64
        }
    };
    let y = |v: f64| 6.0 + (H - B - 6.0) * (1.0 - v / max_v);
    let path: String = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.1)))
        .collect::<Vec<_>>()
        .join(" ");
    let first = points.first().map(|p| p.0.as_str()).unwrap_or("");
    let last = points.last().map(|p| p.0.as_str()).unwrap_or("");
    html! {
        svg class="chart" data-metric=(metric) viewBox={ "0 0 " (W) " " (H) } role="img"
            aria-label={ (metric) " p75 per day" } xmlns="http://www.w3.org/2000/svg" {
            line class="grid" x1=(L) y1=(H - B) x2=(W) y2=(H - B) {}
            text x="2" y=(y(max_v / 1.15) + 3.0) { (fmt_value(unit, max_v / 1.15)) }
            text x="2" y=(H - B) { "0" }
            @if let Some((v, label)) = line {
                line class="budget-line" data-value=(v) x1=(L) y1=(format!("{:.1}", y(v))) x2=(W) y2=(format!("{:.1}", y(v))) {}
                text x=(W - 4.0) y=(format!("{:.1}", y(v) - 3.0)) text-anchor="end" { (label) " " (fmt_value(unit, v)) }
            }
            polyline class="p75" points=(path) {}
            @for (i, p) in points.iter().enumerate() {
                circle cx=(format!("{:.1}", x(i))) cy=(format!("{:.1}", y(p.1))) r="1.8" fill="#2459c4" {
                    title { (p.0) ": " (fmt_value(unit, p.1)) }
                }
            }
            text x=(L) y=(H - 4.0) { (first) }
            text x=(W) y=(H - 4.0) text-anchor="end" { (last) }
        }
    }
}

fn pct(x: f64) -> String {
    format!("{:.0}%", (x * 100.0).clamp(0.0, 100.0))
}

/// CrUX-style stacked bar of the good / needs-improvement / poor shares.
fn dist_bar(r: &ReportRow) -> Markup {
    html! {
        div class="dist" data-metric=(r.metric) title={ "good " (pct(r.good)) ", needs improvement " (pct(r.needs_improvement)) ", poor " (pct(r.poor)) } {
            span class="good" style={ "width:" (format!("{:.2}", r.good * 100.0)) "%" } { @if r.good >= 0.08 { (pct(r.good)) } }
            span class="ni" style={ "width:" (format!("{:.2}", r.needs_improvement * 100.0)) "%" } { @if r.needs_improvement >= 0.08 { (pct(r.needs_improvement)) } }
            span class="poor" style={ "width:" (format!("{:.2}", r.poor * 100.0)) "%" } { @if r.poor >= 0.08 { (pct(r.poor)) } }
        }
    }
}

fn distribution(r: &ReportRow) -> Markup {
    html! {
        div class="dist-row" {
            strong { (r.metric) }
            (dist_bar(r))
            span class="muted" { "p75 " (r.p75.map(|p| fmt_value(r.unit, p)).unwrap_or_default()) }
        }
    }
}

/// p75 of the main metrics per value of one dimension (device, engine).
fn breakdown_table(id: &str, rows: &[ReportRow]) -> Markup {
    let mut groups: Vec<&str> = rows.iter().map(|r| r.group.as_str()).collect();
    groups.dedup();
    let cell = |g: &str, m: &str| {
        rows.iter()
            .find(|r| r.group == g && r.metric == m)
            .and_then(|r| r.p75.map(|p| fmt_value(r.unit, p)))
            .unwrap_or_else(|| "–".into())
    };
    let views = |g: &str| {
        rows.iter()
            .filter(|r| r.group == g && r.metric == "LCP")
            .map(|r| r.page_views)
            .sum::<f64>()
    };
    html! {
        div class="scroll" {
            table id=(id) {
                thead { tr { th { "" } @for m in BREAKDOWN_METRICS { th class="num" { (m) " p75" } } th class="num" { "page views" } } }
                tbody {
                    @for g in &groups {
                        tr {
                            td { (if g.is_empty() { "unknown" } else { g }) }
                            @for m in BREAKDOWN_METRICS { td class="num" { (cell(g, m)) } }
                            td class="num" { (format!("{:.0}", views(g))) }
                        }
                    }
                }
            }
        }
    }
}
