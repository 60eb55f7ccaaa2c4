//! Server-rendered dashboard: no JavaScript, no third-party assets, works
//! offline. maud escapes every interpolated value, so URLs and selectors that
//! came from beacons are shown as text and can never become markup.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::{DOCTYPE, Markup, html};

use crate::auth;
use crate::budget::{self, Budget, MetricVerdict, Severity};
use crate::budget_file::{BudgetFile, ResourceKind};
use crate::domain::SiteKey;
use crate::error::ApiError;
use crate::reports::{self, GroupBy, ReportRow, Slice};
use crate::startup::AppState;
use crate::verdict;
use crate::weight_report::{self, WeightReport, format_bytes};

const STYLE: &str = r#"
:root{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1b1f24;background:#f6f7f9}
body{max-width:1100px;margin:0 auto;padding:1rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.9rem}
th,td{padding:.4rem .6rem;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.wrap{word-break:break-all;max-width:28rem;min-width:9rem}
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
svg.chart .budget-line{stroke:#b3261e;stroke-width:1.5;stroke-dasharray:6 4}
svg.chart .good-line{stroke:#0c7d3a;stroke-width:1.5;stroke-dasharray:1.5 3}
svg.chart text{font-size:9px;fill:#5b6470}
svg.chart .grid{stroke:#e9ecef;stroke-width:1}
svg.chart .pt{fill:#2459c4}
svg.chart .pt.partial{fill:#fff;stroke:#2459c4;stroke-width:1.5}
svg.chart .p75.partial{stroke-dasharray:3 3;opacity:.7}
svg.chart .release-marker line{stroke:#7a4fd1;stroke-width:1;stroke-dasharray:2 2}
svg.chart .release-marker text{fill:#7a4fd1;font-size:8px}
.chart-refs{margin:.2rem 0 0;font-size:.75rem}
.key{display:inline-block;width:1.4rem;height:0;vertical-align:middle;margin-right:.3rem;border-top:2px solid}
.key.p75{border-color:#2459c4}.key.budget{border-top:2px dashed #b3261e}.key.good{border-top:2px dotted #0c7d3a}
.key.release{border-top:2px dashed #7a4fd1;width:.8rem}.key.partial{width:.5rem;height:.5rem;border:1.5px solid #2459c4;border-radius:50%}
nav{margin:.3rem 0;line-height:1.8}
.release-option{white-space:nowrap}
dl.attr{display:grid;grid-template-columns:auto 1fr;gap:0 .5rem;margin:0;font-size:.8rem}
dl.attr dt{color:#5b6470}dl.attr dd{margin:0;word-break:break-all}
#compare tr[data-status=regressed] td{background:#fff4f2}
.site-list{display:grid;grid-template-columns:repeat(auto-fit,minmax(15rem,1fr));gap:.8rem;padding:0;list-style:none}
.site-list li{background:#fff;border-radius:.5rem;padding:.8rem;box-shadow:0 1px 2px #0001}
.site-list a{font-weight:700;font-size:1.1rem}
.dist{display:flex;height:1.1rem;border-radius:.25rem;overflow:hidden;font-size:.7rem;color:#fff;font-weight:600}
.dist span{display:flex;align-items:center;justify-content:center;min-width:0;overflow:hidden}
.dist .good{background:#0c7d3a}.dist .ni{background:#d08a00}.dist .poor{background:#c2311a}
.dist-row{display:grid;grid-template-columns:3.5rem 1fr 6rem;gap:.5rem;align-items:center;margin:.35rem 0;font-size:.85rem}
.muted{color:#5b6470;font-size:.85rem}
.wbar{position:relative;height:.6rem;background:#e3e6ea;border-radius:.25rem;min-width:8rem;margin-top:.3rem}
.wbar span{display:block;height:100%;background:#2459c4;border-radius:.25rem}
.wbar span.over{background:#c2311a}
.wbar i.budget-mark{position:absolute;top:-.25rem;bottom:-.25rem;border-left:2px dashed #b3261e}
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
    // An unreachable database is said as such (503, retry later), not as an
    // internal error: the operator and the viewer both know what to wait for.
    let unreachable = matches!(e, ApiError::DatabaseUnavailable)
        || matches!(e.normalised(), Some(ApiError::DatabaseUnavailable));
    let message = match &e {
        ApiError::BadRequest(m) | ApiError::NotFound(m) | ApiError::Unauthorized(m) => m.clone(),
        _ if unreachable => ApiError::DatabaseUnavailable.to_string(),
        _ => "the dashboard could not be built; see the collector's log".into(),
    };
    if unreachable {
        tracing::warn!(error = %e, "dashboard: database unreachable");
    } else if status.is_server_error() {
        tracing::error!(error = %e, "dashboard page failed");
    }
    let mut page = error_page(status, &message);
    if unreachable {
        page.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from_static("5"),
        );
    }
    page
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
    let now = Utc::now();
    let (from, to) = reports::last_days(now, REPORT_DAYS_ROOT);
    let mut rows = Vec::new();
    for s in sites.iter().take(100) {
        let slice = Slice {
            site: s.clone(),
            from,
            to,
            metric: None,
            route: None,
            form_factor: None,
            engine: None,
            country: None,
            release: None,
        };
        rows.push((s.clone(), slice_verdict(state, &slice, now).await?));
    }
    Ok(page(
        "Sites",
        html! {
            (logout_button(req, state))
            h1 { "StrRay Vitals" }
            @if !all { p { "Public dashboards below; " a href="/login" { "log in" } " to see every site." } }
            p { "Collector on " (state.store.backend()) ". Budget at p75 over the last " (REPORT_DAYS_ROOT) " days:" }
            @if sites.is_empty() {
                p { "No data yet. Add the script tag to a page and load it." }
            }
            ul class="site-list" id="sites" {
                @for (s, v) in &rows {
                    @let samples = v.metrics.iter().map(|m| m.samples).max().unwrap_or(0);
                    li data-site=(s) data-status=(v.status.as_str()) data-samples=(samples) {
                        a href={ "/sites/" (s) } { (s) } " " (severity_badge(v.status))
                        div class="muted" { (samples) " samples · "
                            @let worst = v.metrics.iter().filter(|m| m.severity.is_breach() || m.severity == Severity::Warning).map(|m| m.metric).collect::<Vec<_>>().join(", ");
                            @if worst.is_empty() { "all metrics within budget" } @else { "over or near budget: " (worst) }
                        }
                    }
                }
            }
        },
    ))
}

fn severity_badge(s: Severity) -> Markup {
    html! { span class={ "sev " (s.as_str()) } { (s.as_str()) } }
}

fn fmt_value(unit: &str, v: f64) -> String {
    match unit {
        "score" => format!("{v:.3}"),
        "bytes" => format!("{v:.0} B"),
        "KiB" => format!("{v:.1} KiB"),
        "requests" => format!("{v:.0} requests"),
        _ => format!("{v:.0} ms"),
    }
}

use crate::reports::unit_of;

/// What the site page shows: a range of whole days and optional filters.
#[derive(serde::Deserialize)]
pub struct SiteView {
    days: Option<i64>,
    form_factor: Option<String>,
    release: Option<String>,
    /// Release to compare `release` with (default: the one before it).
    baseline: Option<String>,
}

/// Day ranges offered as links (any 1..=400 works in the URL).
const RANGES: [i64; 3] = [7, 30, 90];
const FORM_FACTORS: [&str; 4] = ["desktop", "phone", "tablet", "other"];

impl SiteView {
    #[allow(clippy::type_complexity)] // the four parameters, validated
    fn validate(self) -> Result<(i64, Option<String>, Option<String>, Option<String>), ApiError> {
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
        let baseline = self.baseline.filter(|r| !r.is_empty());
        if baseline.as_ref().is_some_and(|r| r.len() > 200) {
            return Err(ApiError::BadRequest(
                "baseline: longer than 200 bytes".into(),
            ));
        }
        Ok((days, ff, release, baseline))
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
    let (days, ff, release, baseline) = view.into_inner().validate()?;
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
    // Every panel follows the chosen days, device and release: the cards too.
    let v = slice_verdict(state, &all, now).await?;
    // Releases by first page view (over the longest range the page offers).
    let releases = state
        .store
        .release_first_seen(site.as_str(), now - chrono::Duration::days(400), to)
        .await?;
    let markers: Vec<(String, String)> = releases
        .iter()
        .filter(|(_, t)| *t >= from)
        .map(|(r, t)| (t.format("%Y-%m-%d").to_string(), r.clone()))
        .collect();
    let today = now.format("%Y-%m-%d").to_string();
    let compare = match &release {
        Some(r) => {
            let base = baseline.clone().or_else(|| {
                let i = releases.iter().position(|(x, _)| x == r)?;
                i.checked_sub(1).map(|j| releases[j].0.clone())
            });
            match base {
                Some(b) if b != *r => {
                    Some(compare_releases(state, site.as_str(), r, &b, now).await?)
                }
                _ => None,
            }
        }
        None => None,
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
    let weight = weight_report::report(&state.store, &all).await?;
    // Latest metrics of the chosen slice (newest 2 000 rows looked at).
    let recent: Vec<_> = state
        .store
        .recent_metrics(site.as_str(), 2_000)
        .await?
        .into_iter()
        .filter(|r| r.received_at >= from)
        .filter(|r| ff.as_deref().is_none_or(|f| r.form_factor == f))
        .filter(|r| {
            release
                .as_deref()
                .is_none_or(|x| r.release.as_deref() == Some(x))
        })
        .take(50)
        .collect();
    // Alerts judge all traffic of a site; shown for the chosen days.
    let alerts: Vec<_> = state
        .store
        .alerts(site.as_str(), 200)
        .await?
        .into_iter()
        .filter(|a| a.created_at >= from)
        .take(20)
        .collect();
    Ok(page(
        site.as_str(),
        html! {
            (logout_button(req, state))
            p { a href="/" { "← all sites" } }
            h1 { "Site " (site.as_str()) " " (severity_badge(v.status)) }
            p { "Budget at p" (v.metrics.first().map(|m| m.percentile).unwrap_or(75.0)) " over the last " (days) " days" (slice_label) " (whole UTC days, today so far included)." }
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
            }
            nav id="releases" class="muted" {
                "Release: "
                (nav_link("all".into(), view_url(site.as_str(), days, ff.as_deref(), None), release.is_none()))
                @for (r, t) in releases.iter().rev().take(12) {
                    span class="release-option" data-release=(r) title={ "first seen " (t.format("%Y-%m-%d %H:%M")) " UTC" } {
                        (nav_link(r.clone(), view_url(site.as_str(), days, ff.as_deref(), Some(r)), release.as_deref() == Some(r.as_str())))
                    }
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
            @if let Some(c) = &compare { (compare_section(site.as_str(), c, state)) }
            @if release.is_some() && compare.is_none() {
                p class="muted" id="compare-none" { "No earlier release to compare with; add " code { "&baseline=RELEASE" } " to the address." }
            }
            h2 { "p75 per day, last " (days) " days" (slice_label) }
            p class="muted legend" {
                span class="key p75" {} "p75 · "
                span class="key budget" {} "budget · "
                span class="key good" {} "“good” threshold · "
                span class="key release" {} "release first seen · "
                span class="key partial" {} "today so far (partial day)"
            }
            section id="trends" class="charts" {
                @for m in CHART_METRICS {
                    @let points: Vec<(String, f64)> = daily.iter().filter(|r| r.metric == *m).filter_map(|r| r.p75.map(|p| (r.group.clone(), p))).collect();
                    @if !points.is_empty() {
                        div class="chart-card" {
                            h3 { (m) " p75" }
                            (chart(m, &points, budget_of(&state.budget, m), &markers, &today))
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
            h2 { "Page weight, last " (days) " days" (slice_label) }
            (weight_section(&weight, state))
            h2 { "Alerts, last " (days) " days (judged on all traffic)" }
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
                                td class="num" { (fmt_value(unit_of(&r.name), r.value)) }
                                td { (r.rating) }
                                td class="wrap" { (r.url) }
                                td { (r.navigation_type) }
                                td { (r.form_factor) " · " (r.browser) }
                                td class="wrap attribution" { (attribution(&r.name, r.attribution.as_deref())) }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// How many routes and third-party hosts the page weight section lists.
const WEIGHT_ROWS: usize = 10;

/// The script budgets the page weight section draws: compressed, uncompressed
/// (bytes), from the built-in budget file (`check` and the alerts use the
/// same one unless given another; the dashboard's timing limits are the
/// built-in ones too). NaN where it has none.
fn script_budgets() -> (f64, f64) {
    let mut out = (f64::NAN, f64::NAN);
    for e in BudgetFile::default_budget().entries {
        for r in e.resources.iter().filter(|r| r.resource_type == "script") {
            match r.kind {
                ResourceKind::Sizes => out.0 = r.budget * 1024.0,
                ResourceKind::DecodedSizes => out.1 = r.budget * 1024.0,
                ResourceKind::Counts | ResourceKind::TransferSizes => {}
            }
        }
    }
    out
}

/// "Page weight": p75 per resource type with the script budget, the heaviest
/// routes and the heaviest third-party hosts (see `weight_report`).
fn weight_section(w: &WeightReport, state: &AppState) -> Markup {
    let (budget_c, budget_u) = script_budgets();
    let thresholds = &state.budget.thresholds;
    let shown: Vec<_> = w.types.iter().filter(|t| t.page_views_with > 0.0).collect();
    // One scale for every bar, so the budget mark and the bars compare.
    let scale = shown
        .iter()
        .filter_map(|t| t.compressed_p75)
        .fold(budget_c, f64::max)
        .max(1.0);
    let pct = |x: f64| format!("{:.1}", (x / scale * 100.0).clamp(0.0, 100.0));
    let bytes = |x: Option<f64>| x.map(format_bytes).unwrap_or_else(|| "–".into());
    let third_party: Vec<_> = w
        .hosts
        .iter()
        .filter(|h| !h.first_party)
        .take(WEIGHT_ROWS)
        .collect();
    html! {
        section id="weight" data-samples=(w.samples) {
            @if w.samples == 0 {
                p class="muted" { "No page weight yet: the agent sends it once per page view, at the first hide." }
            } @else {
                p class="muted" {
                    "p75 over " (w.samples) " page views (compressed = the bodies as sent, encodedBodySize, cached or not; uncompressed = decoded). "
                    "Total compressed p75 " strong { (bytes(w.total.compressed_p75)) } ", uncompressed " (bytes(w.total.uncompressed_p75))
                    ", " (w.total.requests_p75.map(|r| format!("{r:.0}")).unwrap_or_default()) " requests. "
                    span class="key budget" {} "script budget: " (format_bytes(budget_c)) " compressed, " (format_bytes(budget_u)) " uncompressed."
                    @if w.truncated { " Newest " (weight_report::MAX_ROWS) " page views only." }
                }
                div class="scroll" {
                    table id="weight-types" {
                        thead { tr { th { "type" } th class="num" { "compressed p75" } th class="num" { "uncompressed p75" } th class="num" { "requests p75" } th class="num" { "page views with it" } th { "compressed p75 vs budget" } } }
                        tbody {
                            @for t in &shown {
                                @let is_script = t.kind == "script";
                                @let sev = if is_script {
                                    Some(budget::classify(t.compressed_p75.unwrap_or(0.0), budget_c, thresholds)
                                        .max(budget::classify(t.uncompressed_p75.unwrap_or(0.0), budget_u, thresholds)))
                                } else { None };
                                tr data-type=(t.kind) data-compressed=(t.compressed_p75.unwrap_or(0.0)) {
                                    td { (t.kind) @if let Some(s) = sev { " " (severity_badge(s)) } }
                                    td class="num" { (bytes(t.compressed_p75)) }
                                    td class="num" { (bytes(t.uncompressed_p75)) }
                                    td class="num" { (t.requests_p75.map(|r| format!("{r:.0}")).unwrap_or_default()) }
                                    td class="num" { (format!("{:.0}", t.page_views_with)) }
                                    td {
                                        div class="wbar" title={ "compressed p75 " (bytes(t.compressed_p75)) } {
                                            span class=[sev.filter(|s| s.is_breach()).map(|_| "over")] style={ "width:" (pct(t.compressed_p75.unwrap_or(0.0))) "%" } {}
                                            @if is_script {
                                                i class="budget-mark" data-value=(budget_c) title={ "budget " (format_bytes(budget_c)) } style={ "left:" (pct(budget_c)) "%" } {}
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                h3 { "Heaviest routes (compressed p75)" }
                div class="scroll" {
                    table id="weight-routes" {
                        thead { tr { th { "route" } th class="num" { "compressed p75" } th class="num" { "page views" } } }
                        tbody {
                            @for r in w.routes.iter().take(WEIGHT_ROWS) {
                                tr {
                                    td class="wrap" { (r.route) }
                                    td class="num" { (bytes(r.compressed_p75)) }
                                    td class="num" { (format!("{:.0}", r.page_views)) }
                                }
                            }
                        }
                    }
                }
                h3 { "Heaviest third-party hosts (compressed bytes, all page views)" }
                @if third_party.is_empty() {
                    p class="muted" { "No third-party requests." }
                } @else {
                    div class="scroll" {
                        table id="weight-hosts" {
                            thead { tr { th { "host" } th class="num" { "compressed" } th class="num" { "mean per page view" } th class="num" { "requests" } th class="num" { "sizes hidden" } } }
                            tbody {
                                @for h in &third_party {
                                    tr data-host=(h.host) {
                                        td class="wrap" { (h.label) }
                                        td class="num" { (format_bytes(h.compressed)) }
                                        td class="num" { (format_bytes(h.compressed / w.page_views.max(1e-9))) }
                                        td class="num" { (format!("{:.0}", h.requests)) }
                                        td class="num" { (format!("{:.0}", h.unknown_requests)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Days the root page's per-site status covers (the verdict's default week).
const REPORT_DAYS_ROOT: i64 = 7;
/// Days of history the dashboard's charts and tables cover by default.
const REPORT_DAYS: i64 = 30;
const CHART_METRICS: [&str; 8] = ["LCP", "INP", "CLS", "FCP", "TTFB", "FID", "TTI", "TBT"];
const BREAKDOWN_METRICS: [&str; 4] = ["LCP", "INP", "CLS", "TTFB"];
/// Up to this many samples in the verdict window, the cards use exact
/// percentiles over raw rows; above it, the rollups (within 1 %) keep the page fast.
const EXACT_VERDICT_MAX_SAMPLES: i64 = 50_000;

/// The budget verdict for the cards over the page's slice: exact percentiles
/// over raw rows when the slice is all traffic and small, else from the
/// rollups (histograms, within 1 %) which also carry device and release.
async fn slice_verdict(
    state: &AppState,
    slice: &Slice,
    now: chrono::DateTime<Utc>,
) -> Result<verdict::Verdict, ApiError> {
    let hours = u32::try_from((slice.to - slice.from).num_hours()).unwrap_or(u32::MAX);
    let groups = reports::load(&state.store, slice, GroupBy::Nothing).await?;
    let samples: i64 = groups.values().map(|a| a.samples).sum();
    let unfiltered = slice.form_factor.is_none() && slice.release.is_none();
    if unfiltered && samples <= EXACT_VERDICT_MAX_SAMPLES {
        let mut v = verdict::compute(
            &state.store,
            &state.budget,
            &slice.site,
            None,
            hours,
            slice.to.min(now + chrono::Duration::seconds(1)),
        )
        .await?;
        v.window_hours = hours;
        return Ok(v);
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
                unit: metric.unit().as_str(),
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
        site: slice.site.clone(),
        path: None,
        from: slice.from,
        to: slice.to,
        window_hours: hours,
        status: budget::overall(&metrics),
        metrics,
    })
}

/// The budget of a metric, if the budget has one.
fn budget_of(b: &Budget, metric: &str) -> Option<f64> {
    b.limits
        .iter()
        .find(|(m, _)| m.as_str() == metric)
        .map(|&(_, limit)| limit)
}

/// Round numbers for an axis from 0 to at least `max`: (step, count).
fn nice_ticks(max: f64) -> (f64, usize) {
    let raw = max / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    (step, (max / step).ceil().max(1.0) as usize)
}

fn tick_label(unit: &str, v: f64) -> String {
    if unit == "score" {
        format!("{v:.2}")
    } else if v >= 1000.0 {
        format!("{:.1} s", v / 1000.0)
    } else {
        format!("{v:.0} ms")
    }
}

/// Server-rendered line chart: p75 per day, y gridlines with labelled ticks,
/// dated x ticks, the budget (red dashes) and the "good" threshold (green
/// dots) as lines labelled in the legend (never over the data), a marker
/// where each release was first seen, and today's partial day drawn apart.
fn chart(
    metric: &str,
    points: &[(String, f64)],
    budget: Option<f64>,
    markers: &[(String, String)],
    today: &str,
) -> Markup {
    const W: f64 = 340.0;
    const H: f64 = 150.0;
    const L: f64 = 44.0; // left margin: y tick labels
    const R: f64 = 8.0;
    const T: f64 = 14.0; // top margin: release labels
    const B: f64 = 20.0; // bottom margin: x tick labels
    let unit = unit_of(metric);
    let good = vitals_core::MetricName::parse(metric).map(|m| m.thresholds().0);
    let top = points
        .iter()
        .map(|p| p.1)
        .chain(budget)
        .chain(good)
        .fold(0.0_f64, f64::max)
        * 1.08;
    let top = if top > 0.0 { top } else { 1.0 };
    let (step, n) = nice_ticks(top);
    let max_v = step * n as f64;
    let x = |i: usize| {
        if points.len() <= 1 {
            L + (W - L - R) / 2.0
        } else {
            L + (W - L - R) * i as f64 / (points.len() - 1) as f64
        }
    };
    let y = |v: f64| T + (H - B - T) * (1.0 - v / max_v);
    let partial = points.last().is_some_and(|p| p.0 == today);
    let full = if partial {
        &points[..points.len() - 1]
    } else {
        points
    };
    let path = |pts: &[(usize, f64)]| {
        pts.iter()
            .map(|(i, v)| format!("{:.1},{:.1}", x(*i), y(*v)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let full_pts: Vec<(usize, f64)> = full.iter().enumerate().map(|(i, p)| (i, p.1)).collect();
    let tail: Vec<(usize, f64)> = if partial && points.len() >= 2 {
        let k = points.len() - 2;
        vec![(k, points[k].1), (k + 1, points[k + 1].1)]
    } else {
        Vec::new()
    };
    // About five dated ticks, evenly spaced in days, the last day always.
    let x_ticks: Vec<usize> = if points.len() <= 1 {
        vec![0]
    } else {
        let last = points.len() - 1;
        let every = last.div_ceil(4).max(1);
        let mut t: Vec<usize> = (0..=last).rev().step_by(every).collect();
        t.reverse();
        t
    };
    let day_index = |d: &str| points.iter().position(|p| p.0 == d);
    html! {
        svg class="chart" data-metric=(metric) viewBox={ "0 0 " (W) " " (H) } role="img"
            aria-label={ (metric) " p75 per day" } xmlns="http://www.w3.org/2000/svg" {
            @for j in 0..=n {
                @let v = step * j as f64;
                line class="grid" x1=(L) x2=(W - R) y1=(format!("{:.1}", y(v))) y2=(format!("{:.1}", y(v))) {}
                text class="y-tick" x=(L - 4.0) y=(format!("{:.1}", y(v) + 3.0)) text-anchor="end" { (tick_label(unit, v)) }
            }
            @for i in &x_ticks {
                line class="grid x-grid" x1=(format!("{:.1}", x(*i))) x2=(format!("{:.1}", x(*i))) y1=(T) y2=(H - B) {}
                text class="x-tick" x=(format!("{:.1}", x(*i))) y=(H - 6.0)
                    text-anchor=(if *i + 1 == points.len() { "end" } else { "middle" }) {
                    (points.get(*i).map(|p| p.0.get(5..).unwrap_or(&p.0)).unwrap_or(""))
                }
            }
            @for (d, r) in markers {
                @if let Some(i) = day_index(d) {
                    g class="release-marker" data-release=(r) data-day=(d) {
                        line x1=(format!("{:.1}", x(i))) x2=(format!("{:.1}", x(i))) y1=(T - 2.0) y2=(H - B) {}
                        text x=(format!("{:.1}", x(i) + 2.0)) y=(T - 4.0) { (r) }
                        title { "release " (r) " first seen " (d) }
                    }
                }
            }
            @if let Some(g) = good {
                line class="good-line" data-value=(g) x1=(L) x2=(W - R) y1=(format!("{:.1}", y(g))) y2=(format!("{:.1}", y(g))) {
                    title { "good: " (fmt_value(unit, g)) }
                }
            }
            @if let Some(b) = budget {
                line class="budget-line" data-value=(b) x1=(L) x2=(W - R) y1=(format!("{:.1}", y(b))) y2=(format!("{:.1}", y(b))) {
                    title { "budget: " (fmt_value(unit, b)) }
                }
            }
            polyline class="p75" points=(path(&full_pts)) {}
            @if !tail.is_empty() { polyline class="p75 partial" points=(path(&tail)) {} }
            @for (i, p) in points.iter().enumerate() {
                circle class=(if partial && i + 1 == points.len() { "pt partial" } else { "pt" })
                    data-day=(p.0) cx=(format!("{:.1}", x(i))) cy=(format!("{:.1}", y(p.1))) r="2" {
                    title { (p.0) ": " (fmt_value(unit, p.1)) @if partial && i + 1 == points.len() { " (today so far)" } }
                }
            }
        }
        p class="chart-refs muted" {
            @if let Some(b) = budget { span class="key budget" {} "budget " (fmt_value(unit, b)) " " }
            @if let Some(g) = good { span class="key good" {} "good ≤ " (fmt_value(unit, g)) }
        }
    }
}

/// Current vs baseline release, computed by the same code as `check`.
async fn compare_releases(
    state: &AppState,
    site: &str,
    release: &str,
    baseline: &str,
    now: chrono::DateTime<Utc>,
) -> Result<crate::check::CheckReport, ApiError> {
    let opts = crate::check::CheckRequest {
        release: Some(release.to_string()),
        baseline_release: Some(baseline.to_string()),
        ..Default::default()
    }
    .into_options(state.settings.window_hours, state.settings.min_samples)
    .map_err(ApiError::BadRequest)?;
    Ok(crate::check::run(&state.store, site, &opts, now).await?)
}

fn signed_pct(x: Option<f64>) -> String {
    x.map(|c| format!("{:+.1} %", c * 100.0))
        .unwrap_or_else(|| "–".into())
}

fn compare_section(site: &str, c: &crate::check::CheckReport, state: &AppState) -> Markup {
    use crate::check::RegressionStatus;
    let Some(reg) = &c.regression else {
        return html! {};
    };
    let base = reg.baseline.trim_start_matches("release ");
    let cur = c.release.as_deref().unwrap_or("");
    // Numbers exactly as the JSON answers round them (the check test compares).
    let tidy =
        |metric: &str, v: Option<f64>| v.map(|v| crate::wire::round_value(metric == "CLS", v));
    html! {
        section id="compare" data-release=(cur) data-baseline=(base) {
            h2 { "Release " (cur) " vs " (base) }
            p class="muted" {
                "p75 per metric, each release over its last " (state.settings.window_hours) " h of page views, all devices; change > "
                (format!("{:.0}", reg.tolerance * 100.0)) " % beyond sampling noise (intervals apart) is a regression. The same numbers as "
                code { "strray-collector check --site " (site) " --release " (cur) " --baseline-release " (base) " --format json" }
            }
            div class="scroll" {
                table {
                    thead { tr { th { "metric" } th class="num" { (base) } th class="num" { (cur) } th class="num" { "change" } th class="num" { "95 % interval" } th class="num" { "samples" } th { "" } } }
                    tbody {
                        @for m in &reg.metrics {
                            @let unit = if m.unit.is_empty() { unit_of(&m.metric) } else { m.unit.as_str() };
                            tr data-metric=(m.metric)
                                data-baseline=(tidy(&m.metric, m.baseline).map(|v| v.to_string()).unwrap_or_default())
                                data-current=(tidy(&m.metric, m.current).map(|v| v.to_string()).unwrap_or_default())
                                data-change=(m.change.map(|v| crate::wire::round_value(true, v).to_string()).unwrap_or_default())
                                data-status=(m.status.as_str()) {
                                td { strong { (m.metric) } }
                                td class="num" { (m.baseline.map(|v| fmt_value(unit, v)).unwrap_or_else(|| "–".into())) }
                                td class="num" { (m.current.map(|v| fmt_value(unit, v)).unwrap_or_else(|| "–".into())) }
                                td class="num" { (signed_pct(m.change)) }
                                td class="num" { (signed_pct(m.change_low)) " … " (signed_pct(m.change_high)) }
                                td class="num" { (m.baseline_samples) " / " (m.current_samples) }
                                td {
                                    @match m.status {
                                        RegressionStatus::Regressed => span class="sev critical" { "regressed" },
                                        RegressionStatus::Ok => span class="sev pass" { "ok" },
                                        RegressionStatus::InsufficientData => span class="sev insufficient-data" { "insufficient data" },
                                        RegressionStatus::WithinNoise => span class="sev warning" title="worse than the tolerance by the p75s, but the 95 % intervals overlap" { "within noise" },
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @for h in &reg.hints { p class="muted" { (h) } }
        }
    }
}

/// Attribution (stored as the JSON object the beacon sent) as readable
/// fields; every value is text, escaped by maud.
fn attribution(metric: &str, raw: Option<&str>) -> Markup {
    let Some(raw) = raw else { return html! {} };
    let Ok(serde_json::Value::Object(obj)) = serde_json::from_str::<serde_json::Value>(raw) else {
        return html! { span class="raw" { (raw) } };
    };
    let label = |k: &str| -> String {
        match k {
            "target" | "element" | "largestShiftTarget" | "interactionTarget" => "element".into(),
            "url" => "URL".into(),
            "timeToFirstByte" => "TTFB phase".into(),
            "resourceLoadDelay" => "load delay".into(),
            "resourceLoadDuration" => "load time".into(),
            "resourceLoadTime" => "load time".into(),
            "elementRenderDelay" => "render delay".into(),
            "inputDelay" => "input delay".into(),
            "processingDuration" => "processing".into(),
            "presentationDelay" => "presentation delay".into(),
            other => other.to_string(),
        }
    };
    let unit = unit_of(metric);
    html! {
        dl class="attr" {
            @for (k, v) in &obj {
                dt { (label(k)) }
                dd {
                    @match v {
                        serde_json::Value::String(s) => (s),
                        serde_json::Value::Number(n) => {
                            @let x = n.as_f64().unwrap_or(0.0);
                            @if unit != "score" && k != "largestShiftValue" { (fmt_value(unit, x)) } @else { (format!("{x:.4}")) }
                        }
                        other => (other.to_string()),
                    }
                }
            }
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
