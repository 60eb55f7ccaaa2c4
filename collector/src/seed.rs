//! `strray-collector seed-demo`: realistic synthetic traffic so the dashboard,
//! reports and SQL views can be seen (and benchmarked) without real visitors.
//!
//! Several sites, routes, devices, browsers and countries; values log-normal
//! around per-metric medians, slower on phones and in some countries, slower at
//! the evening peak; releases roll out over time and release `2026.11.3` of site
//! `shop` regresses LCP and INP on product pages. Each of the default sites has
//! its own speed so the demo tells a story against the default budget: `demo`
//! and `docs` pass, `news` sits just under it (warnings), `shop` passes until
//! the regressed release. Deterministic for a given seed.
//! Most page views also carry a `WEIGHT` row (page weight, issue 17) with a
//! per-type and per-host attribution, drawn from a second random stream so the
//! timing metrics are the same as without it; the same release of `shop`
//! ships a ~40 % heavier script bundle on `/products/:id`.
//! Rows go through `Store::insert_metrics` (one multi-row statement per chunk),
//! so the rollup triggers run exactly as for real traffic.

use std::sync::Arc;

use chrono::{DateTime, Duration, Timelike, Utc};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use vitals_core::MetricName;

use crate::storage::{MetricRow, Store};

#[derive(Clone, Debug)]
pub struct SeedOptions {
    /// Timing metric rows to write in total (about 7 per page view); each page
    /// view may add one `WEIGHT` row on top.
    pub rows: u64,
    pub days: u32,
    pub sites: Vec<String>,
    pub seed: u64,
    pub end: DateTime<Utc>,
    /// Rows per insert statement.
    pub chunk: usize,
}

/// (metric, median, log-normal sigma, share of page views reporting it)
const METRICS: [(MetricName, f64, f64, f64); 8] = [
    (MetricName::Ttfb, 320.0, 0.55, 1.0),
    (MetricName::Fcp, 1100.0, 0.45, 1.0),
    (MetricName::Lcp, 1700.0, 0.5, 1.0),
    (MetricName::Cls, 0.04, 1.1, 1.0),
    (MetricName::Inp, 110.0, 0.7, 0.8),
    (MetricName::Fid, 12.0, 0.9, 0.5),
    (MetricName::Tti, 2900.0, 0.45, 0.6),
    (MetricName::Tbt, 120.0, 0.9, 0.6),
];

const ROUTES: [(&str, f64, f64); 6] = [
    // (route, popularity, slowness)
    ("/", 0.30, 0.9),
    ("/products/:id", 0.25, 1.15),
    ("/search", 0.15, 1.05),
    ("/cart", 0.10, 1.0),
    ("/checkout", 0.08, 1.3),
    ("/blog/:slug", 0.12, 0.8),
];

const DEVICES: [(&str, f64, f64); 3] = [
    ("desktop", 0.55, 1.0),
    ("phone", 0.40, 1.55),
    ("tablet", 0.05, 1.25),
];

const BROWSERS: [(&str, &str, f64, f64); 4] = [
    ("Chrome", "Blink", 0.64, 1.0),
    ("Safari", "WebKit", 0.20, 0.95),
    ("Firefox", "Gecko", 0.08, 1.05),
    ("Edge", "Blink", 0.08, 1.0),
];

const COUNTRIES: [(&str, f64, f64); 6] = [
    ("US", 0.35, 1.0),
    ("DE", 0.15, 0.95),
    ("GB", 0.12, 1.0),
    ("IN", 0.15, 1.6),
    ("BR", 0.13, 1.35),
    ("JP", 0.10, 0.9),
];

fn pick<'a, T>(rng: &mut SmallRng, items: &'a [T], weight: impl Fn(&T) -> f64) -> &'a T {
    let total: f64 = items.iter().map(&weight).sum();
    let mut x = rng.random::<f64>() * total;
    for it in items {
        x -= weight(it);
        if x <= 0.0 {
            return it;
        }
    }
    &items[items.len() - 1]
}

/// Standard normal by Box–Muller.
fn normal(rng: &mut SmallRng) -> f64 {
    let u1 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// How slow a site is overall (multiplies every metric); see the module doc.
fn site_speed(site: &str) -> f64 {
    match site {
        "demo" => 0.5,
        "docs" => 0.5,
        "news" => NEWS_SPEED,
        "shop" => SHOP_SPEED,
        _ => 1.0,
    }
}
const NEWS_SPEED: f64 = 0.65;
const SHOP_SPEED: f64 = 0.62;

fn release_at(days_ago: f64, days: f64) -> &'static str {
    if days_ago < 7.0_f64.min(days / 3.0) {
        "2026.11.3"
    } else if days_ago < days / 2.0 {
        "2026.11.2"
    } else {
        "2026.11.1"
    }
}

/// Page views of one site, in time order, as metric rows.
struct SiteGen {
    site: Arc<str>,
    rng: SmallRng,
    page_views: u64,
    next: u64,
    opts: SeedOptions,
    sample_rate: f64,
    /// Draws the WEIGHT rows only, so adding them left the other metrics as they were.
    weight_rng: SmallRng,
}

impl SiteGen {
    fn chunk(&mut self) -> Vec<MetricRow> {
        let mut rows = Vec::with_capacity(self.opts.chunk + 8);
        let span_ms = i64::from(self.opts.days) * 86_400_000;
        let start = self.opts.end - Duration::days(i64::from(self.opts.days));
        while rows.len() < self.opts.chunk && self.next < self.page_views {
            let i = self.next;
            self.next += 1;
            let offset = (span_ms as f64 * (i as f64 + self.rng.random::<f64>())
                / self.page_views as f64) as i64;
            let t = start + Duration::milliseconds(offset.min(span_ms - 1));
            let days_ago = (self.opts.end - t).num_seconds() as f64 / 86_400.0;
            let &(route, _, route_slow) = pick(&mut self.rng, &ROUTES, |r| r.1);
            let &(ff, _, dev_slow) = pick(&mut self.rng, &DEVICES, |d| d.1);
            let &(browser, engine, _, br_slow) = pick(&mut self.rng, &BROWSERS, |b| b.2);
            let &(country, _, c_slow) = pick(&mut self.rng, &COUNTRIES, |c| c.1);
            let release = release_at(days_ago, f64::from(self.opts.days));
            // Evening peak: busier servers.
            let hour = t.hour() as f64;
            let peak = 1.0 + 0.15 * (-((hour - 19.0) / 3.0).powi(2)).exp();
            let regression =
                &*self.site == "shop" && release == "2026.11.3" && route == "/products/:id";
            let pv = format!("pv{:x}{i:010}", self.opts.seed);
            let path = match route {
                "/products/:id" => format!("/products/{}", 1000 + self.rng.random_range(0..500u32)),
                "/blog/:slug" => format!("/blog/post-{}", self.rng.random_range(0..80u32)),
                r => r.to_string(),
            };
            let url: Arc<str> = format!("https://{}.example{path}", self.site).into();
            let (pv, path): (Arc<str>, Arc<str>) = (pv.into(), path.into());
            let shared = 0.25 * normal(&mut self.rng); // one slow page view is slow on every metric
            let site = self.site.clone();
            let sample_rate = self.sample_rate;
            // A row of this page view: only the metric's own fields differ.
            let row =
                |metric_id: String, metric: MetricName, value: f64, attribution, seq| MetricRow {
                    site: site.clone(),
                    page_view_id: pv.clone(),
                    metric_id,
                    name: metric.as_str().to_string(),
                    value,
                    delta: value,
                    rating: metric.rate(value).as_str().to_string(),
                    navigation_type: "navigate".into(),
                    url: url.clone(),
                    path: path.clone(),
                    route: route.into(),
                    sample_rate,
                    release: Some(release.into()),
                    connection: Some(if ff == "phone" { "4g" } else { "wifi" }.into()),
                    form_factor: ff.to_string(),
                    browser: browser.into(),
                    engine: engine.to_string(),
                    country: Some(country.into()),
                    attribution,
                    seq,
                    received_at: t,
                };
            for (k, &(metric, median, sigma, share)) in METRICS.iter().enumerate() {
                if share < 1.0 && self.rng.random::<f64>() > share {
                    continue;
                }
                let speed = site_speed(&self.site);
                let mut factor = speed * route_slow * dev_slow * br_slow * c_slow * peak;
                if metric == MetricName::Cls {
                    factor = speed * route_slow * if ff == "phone" { 1.3 } else { 1.0 };
                }
                if regression && matches!(metric, MetricName::Lcp | MetricName::Inp) {
                    factor *= if metric == MetricName::Lcp { 1.8 } else { 1.4 };
                }
                let z = shared + sigma * normal(&mut self.rng);
                let mut value = median * factor * z.exp();
                value = if metric.is_unitless() {
                    (value * 10_000.0).round() / 10_000.0
                } else {
                    value.round().max(0.0)
                };
                rows.push(row(format!("v1-{i}-{k}"), metric, value, None, 0));
            }
            // Most page views send their weight (a lost first hide sends none).
            if self.weight_rng.random::<f64>() < WEIGHT_SHARE {
                let heavy_script = if regression { REGRESSED_SCRIPT } else { 1.0 };
                let (value, attribution) = page_weight(
                    &mut self.weight_rng,
                    &self.site,
                    route,
                    ff,
                    engine == "Blink",
                    heavy_script,
                );
                rows.push(row(
                    format!("v1-{i}-w"),
                    MetricName::Weight,
                    value,
                    Some(attribution),
                    1,
                ));
            }
        }
        rows
    }
}

/// Share of page views that send a WEIGHT row.
const WEIGHT_SHARE: f64 = 0.9;
/// Script bytes of `shop` release 2026.11.3 on `/products/:id`, relative to before.
const REGRESSED_SCRIPT: f64 = 1.4;
const KIB: f64 = 1024.0;
/// A third-party CDN and a font host; `*` stands for the tag-manager and ad
/// hosts past the agent's first 16.
const CDN: &str = "cdn.jsdelivr.net";
const FONTS: &str = "fonts.gstatic.com";

/// (type, median compressed KiB, decoded / compressed, median requests, shares
/// of bytes: first party, CDN, fonts host, other hosts)
const WEIGHT_TYPES: [(&str, f64, f64, f64, [f64; 4]); 6] = [
    ("document", 18.0, 4.5, 1.0, [1.0, 0.0, 0.0, 0.0]),
    ("script", 330.0, 3.4, 14.0, [0.4, 0.45, 0.0, 0.15]),
    ("stylesheet", 55.0, 5.0, 3.0, [1.0, 0.0, 0.0, 0.0]),
    ("image", 420.0, 1.0, 16.0, [0.3, 0.7, 0.0, 0.0]),
    ("font", 85.0, 1.0, 3.0, [0.0, 0.0, 1.0, 0.0]),
    ("other", 22.0, 3.0, 6.0, [1.0, 0.0, 0.0, 0.0]),
];

/// Image bytes by route, relative to the median above.
fn route_images(route: &str) -> f64 {
    match route {
        "/products/:id" => 1.6,
        "/blog/:slug" => 1.2,
        "/search" => 0.9,
        "/cart" | "/checkout" => 0.35,
        _ => 1.0,
    }
}

/// One page view's compressed weight and its WEIGHT attribution, in the wire
/// shape of `vitals_core::weight` (transfer = encoded + headers of the part
/// not served from the browser cache; hidden sizes only among other hosts).
fn page_weight(
    rng: &mut SmallRng,
    site: &str,
    route: &str,
    form_factor: &str,
    chromium: bool,
    heavy_script: f64,
) -> (f64, String) {
    use serde_json::{Map, Value, json};
    let site_scale = match site {
        "demo" | "docs" => 0.6,
        "news" => 1.25,
        _ => 1.0,
    };
    let hosts = [
        format!("{site}.example"),
        CDN.into(),
        FONTS.into(),
        "*".into(),
    ];
    let mut host_sums = [[0.0f64; 5]; 4];
    let mut types = Map::new();
    let mut total = 0.0;
    // A returning visitor has part of the page in the browser cache.
    let cached = if rng.random::<f64>() < 0.4 {
        0.3 + 0.5 * rng.random::<f64>()
    } else {
        0.0
    };
    // Whole numbers on the wire, as the agent sends them (all finite, ≥ 0 here).
    let int = |x: f64| x.round().max(0.0) as u64;
    let mut script_decoded = 0.0;
    for &(kind, median_kib, ratio, requests, shares) in &WEIGHT_TYPES {
        let mut scale = site_scale * (0.3 * normal(rng)).exp();
        match kind {
            "script" => scale *= heavy_script,
            "image" => {
                scale *= route_images(route) * if form_factor == "phone" { 0.75 } else { 1.0 }
            }
            _ => {}
        }
        let encoded = (median_kib * KIB * scale).round();
        let decoded = (encoded * ratio).round();
        let n = (requests * (0.25 * normal(rng)).exp()).round().max(1.0);
        let transfer = ((encoded + 350.0 * n) * (1.0 - cached)).round();
        // Requests to the other hosts hide their sizes (no Timing-Allow-Origin).
        let hidden = if shares[3] > 0.0 { 2.0 } else { 0.0 };
        total += encoded;
        if kind == "script" {
            script_decoded = decoded;
        }
        types.insert(
            kind.into(),
            json!({"transfer": int(transfer), "encoded": int(encoded), "decoded": int(decoded),
                   "requests": int(n + hidden), "unknown": int(hidden)}),
        );
        for (h, share) in shares.iter().enumerate() {
            if *share > 0.0 {
                let sum = &mut host_sums[h];
                sum[0] += (transfer * share).round();
                sum[1] += (encoded * share).round();
                sum[2] += (decoded * share).round();
                sum[3] += (n * share).round().max(1.0);
            }
        }
        host_sums[3][3] += hidden;
        host_sums[3][4] += hidden;
    }
    let mut host_map = Map::new();
    for (host, q) in hosts.iter().zip(host_sums) {
        if q[3] > 0.0 {
            host_map.insert(
                host.clone(),
                json!({"transfer": int(q[0]), "encoded": int(q[1]), "decoded": int(q[2]),
                       "requests": int(q[3]), "unknown": int(q[4])}),
            );
        }
    }
    let mut a = Map::new();
    a.insert("types".into(), Value::Object(types));
    a.insert("hosts".into(), Value::Object(host_map));
    if chromium {
        // usedJSHeapSize: a base plus a multiple of the parsed script.
        a.insert(
            "heap".into(),
            json!(int(4.0 * KIB * KIB + 5.0 * script_decoded)),
        );
    }
    (total, Value::Object(a).to_string())
}

/// Writes the demo data; returns the number of rows written. On PostgreSQL one
/// task per site (sites touch disjoint rollup rows, so the triggers never wait
/// on each other); on SQLite one site after another.
pub async fn seed(store: &Store, opts: &SeedOptions) -> anyhow::Result<u64> {
    anyhow::ensure!(!opts.sites.is_empty(), "at least one site");
    anyhow::ensure!(opts.days > 0, "days must be positive");
    // Historic rows belong in their own day partitions, not the default one.
    let last = opts.end.date_naive();
    store
        .ensure_partitions_between(last - chrono::Days::new(u64::from(opts.days) + 1), last)
        .await?;
    let avg_metrics: f64 = METRICS.iter().map(|m| m.3).sum();
    let per_site_rows = opts.rows / opts.sites.len() as u64;
    let mut tasks = Vec::new();
    let mut total = 0;
    for (n, site) in opts.sites.iter().enumerate() {
        crate::domain::SiteKey::parse(site).map_err(anyhow::Error::msg)?;
        let mut g = SiteGen {
            site: site.as_str().into(),
            rng: SmallRng::seed_from_u64(opts.seed.wrapping_add(n as u64 * 7919)),
            page_views: ((per_site_rows as f64 / avg_metrics).ceil() as u64).max(1),
            next: 0,
            opts: opts.clone(),
            // One site samples half of its page views, to exercise weighting.
            sample_rate: if n % 4 == 2 { 0.5 } else { 1.0 },
            weight_rng: SmallRng::seed_from_u64(
                opts.seed.wrapping_add(n as u64 * 7919) ^ 0x5745_4947_4854,
            ),
        };
        let task = {
            let store = store.clone();
            async move {
                let mut written = 0u64;
                loop {
                    let rows = g.chunk();
                    if rows.is_empty() {
                        break;
                    }
                    store.insert_metrics(&rows).await?;
                    written += rows.len() as u64;
                }
                Ok::<u64, anyhow::Error>(written)
            }
        };
        match store {
            // PostgreSQL: one task per site, in parallel.
            Store::Postgres(_) => tasks.push(tokio::spawn(task)),
            // SQLite has one writer: parallel write transactions only collide
            // ("database is locked" when one waits past the busy timeout).
            Store::Sqlite(_) => total += task.await?,
        }
    }
    for t in tasks {
        total += t.await??;
    }
    if let Store::Postgres(pool) = store {
        // Fresh statistics and visibility maps: the planner picks index-only
        // scans on the rollups right away instead of after autovacuum.
        sqlx::query(
            "VACUUM ANALYZE metric, metric_rollup, metric_site_hour_hist, metric_site_day,
                metric_site_day_hist, metric_dim_day, metric_dim_day_hist",
        )
        .execute(pool)
        .await?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn generated_rows_are_plausible_and_deterministic() {
        let opts = SeedOptions {
            rows: 5000,
            days: 10,
            sites: vec!["shop".into()],
            seed: 1,
            end: Utc::now(),
            chunk: 1000,
        };
        let mk = || SiteGen {
            site: "shop".into(),
            rng: SmallRng::seed_from_u64(3),
            page_views: 700,
            next: 0,
            opts: opts.clone(),
            sample_rate: 1.0,
            weight_rng: SmallRng::seed_from_u64(4),
        };
        let (a, b) = (mk().chunk(), mk().chunk());
        assert_eq!(a, b);
        assert!(a.len() >= 1000);
        for r in &a {
            let m = MetricName::parse(&r.name).unwrap();
            assert!(r.value >= 0.0 && r.value <= m.max_plausible(), "{r:?}");
            assert!(r.received_at <= opts.end);
        }
    }

    #[test]
    fn weight_rows_add_up_and_the_regressed_release_ships_more_script() {
        let opts = SeedOptions {
            rows: 10_000,
            days: 10,
            sites: vec!["shop".into()],
            seed: 1,
            end: Utc::now(),
            chunk: 20_000,
        };
        let mk = |weight_seed| SiteGen {
            site: "shop".into(),
            rng: SmallRng::seed_from_u64(3),
            page_views: 1500,
            next: 0,
            opts: opts.clone(),
            sample_rate: 1.0,
            weight_rng: SmallRng::seed_from_u64(weight_seed),
        };
        let rows = mk(4).chunk();
        // The timing metrics do not depend on the weight stream.
        let timing = |rows: &[MetricRow]| -> Vec<MetricRow> {
            rows.iter()
                .filter(|r| r.name != "WEIGHT")
                .cloned()
                .collect()
        };
        assert_eq!(timing(&rows), timing(&mk(99).chunk()));
        let weights: Vec<_> = rows.iter().filter(|r| r.name == "WEIGHT").collect();
        assert!(
            weights.len() > 1200 && weights.len() < 1500,
            "{}",
            weights.len()
        );
        let mut script = (Vec::new(), Vec::new());
        for r in &weights {
            let a: serde_json::Value =
                serde_json::from_str(r.attribution.as_deref().unwrap()).unwrap();
            let types = a["types"].as_object().unwrap();
            let encoded: f64 = types.values().map(|t| t["encoded"].as_f64().unwrap()).sum();
            assert_eq!(encoded, r.value, "value = sum of encoded: {a}");
            for t in types.keys() {
                assert!(vitals_core::weight::ResourceType::parse(t).is_some(), "{t}");
            }
            let hosts = a["hosts"].as_object().unwrap();
            assert!(hosts.contains_key("cdn.jsdelivr.net") && hosts.contains_key("*"));
            assert!(hosts.len() <= vitals_core::weight::MAX_HOSTS + 1);
            if &*r.route == "/products/:id" {
                let s = a["types"]["script"]["encoded"].as_f64().unwrap();
                match r.release.as_deref() {
                    Some("2026.11.3") => script.0.push(s),
                    _ => script.1.push(s),
                }
            }
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let ratio = median(&mut script.0) / median(&mut script.1);
        assert!((1.2..1.65).contains(&ratio), "script ratio {ratio}");
    }
}
