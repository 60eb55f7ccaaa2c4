//! Server-rendered dashboard: no JavaScript, no third-party assets, works
//! offline. maud escapes every interpolated value, so URLs and selectors that
//! came from beacons are shown as text and can never become markup.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use maud::{DOCTYPE, Markup, html};

use crate::budget::Severity;
use crate::domain::SiteKey;
use crate::error::ApiError;
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
"#;

fn page(title: &str, body: Markup) -> HttpResponse {
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
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        // The dashboard runs no script at all; say so to the browser.
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:",
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(doc.into_string())
}

/// `GET /`: the sites with data.
pub async fn index(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let sites = state.store.sites().await?;
    Ok(page(
        "Sites",
        html! {
            h1 { "StrRay Vitals" }
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

/// `GET /sites/{site}`: budget verdict and the latest stored metrics.
pub async fn site(
    site: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let site = SiteKey::parse(&site).map_err(ApiError::BadRequest)?;
    let v = verdict::compute(
        &state.store,
        &state.budget,
        site.as_str(),
        None,
        state.settings.window_hours,
        Utc::now(),
    )
    .await?;
    let recent = state.store.recent_metrics(site.as_str(), 50).await?;
    Ok(page(
        site.as_str(),
        html! {
            p { a href="/" { "← all sites" } }
            h1 { "Site " (site.as_str()) " " (severity_badge(v.status)) }
            p { "Budget at p" (v.metrics.first().map(|m| m.percentile).unwrap_or(75.0)) " over the last " (v.window_hours) " hours." }
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
