//! Rollups, reporting views and the reports API against real databases.

use chrono::{DateTime, Duration, TimeZone, Utc};
use collector::budget::weighted_percentile;
use collector::histogram::MAX_RELATIVE_ERROR;
use collector::reports::{self, GroupBy, Slice};
use collector::storage::{MetricRow, Sample, Store};
use integration_tests::{
    BACKENDS, Backend, TestApp, beacon, metric_row, spawn_app, spawn_app_with,
};
use serde_json::Value;

const TOKEN: &str = "s3cret-read-token";

/// Deterministic xorshift: tests need varied but reproducible values.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.next().max(1e-300), self.next());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

fn day0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap()
}

#[allow(clippy::too_many_arguments)]
fn row(site: &str, i: usize, name: &str, value: f64, at: DateTime<Utc>) -> MetricRow {
    MetricRow {
        site: site.into(),
        metric_id: format!("v1-{name}-{i}"),
        ..metric_row(&format!("pv{i:010}"), name, value, at)
    }
}

fn slice(site: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Slice {
    Slice {
        site: site.into(),
        from,
        to,
        metric: None,
        route: None,
        form_factor: None,
        engine: None,
        country: None,
        release: None,
    }
}

async fn insert(store: &Store, rows: &[MetricRow]) {
    for c in rows.chunks(2000) {
        store.insert_metrics(c).await.unwrap();
    }
}

/// p75 from rollups (both levels) vs the exact weighted percentile of the same rows.
#[tokio::test]
async fn rollup_p75_matches_exact_percentile_on_several_distributions() {
    type Dist = fn(&mut Rng) -> f64;
    let dists: [(&str, &str, Dist); 5] = [
        ("LCP", "lognormal", |r| 1800.0 * (0.6 * r.normal()).exp()),
        ("INP", "uniform", |r| 20.0 + 900.0 * r.next()),
        ("TTFB", "bimodal", |r| {
            if r.next() < 0.6 {
                200.0 * (0.2 * r.normal()).exp()
            } else {
                1500.0 * (0.3 * r.normal()).exp()
            }
        }),
        ("CLS", "heavy-tailed", |r| {
            (0.02 * (1.3 * r.normal()).exp() * 10_000.0).round() / 10_000.0
        }),
        ("TBT", "exponential", |r| {
            (-250.0 * (1.0 - r.next()).ln()).round()
        }),
    ];
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut rows = Vec::new();
        let mut exact_in: Vec<(String, Vec<Sample>)> = Vec::new();
        for (k, &(metric, _, dist)) in dists.iter().enumerate() {
            let mut samples = Vec::new();
            for i in 0..3000 {
                let v = dist(&mut rng);
                let mut r = row(
                    "dist",
                    k * 100_000 + i,
                    metric,
                    v,
                    day0() + Duration::minutes((i * 29 % (3 * 24 * 60)) as i64),
                );
                // A third of the rows sampled at 25 %: they weigh 4.
                if i % 3 == 0 {
                    r.sample_rate = 0.25;
                }
                samples.push(Sample {
                    value: v,
                    weight: 1.0 / r.sample_rate,
                });
                r.form_factor = ["desktop", "phone", "tablet"][i % 3].into();
                r.route = ["/", "/a", "/b", "/c"][i % 4].into();
                rows.push(r);
            }
            exact_in.push((metric.to_string(), samples));
        }
        insert(&app.store, &rows).await;
        let whole_days = slice("dist", day0(), day0() + Duration::days(3));
        // The same rows through each rollup level: unsliced whole days read
        // site-day; a (no-op) engine filter reads dimension-day; a range that
        // is not whole days reads the hourly all-dimension rollup.
        let one_dim = Slice {
            engine: Some("Blink".into()),
            ..whole_days.clone()
        };
        let hourly = Slice {
            to: whole_days.to + Duration::hours(1),
            ..whole_days.clone()
        };
        for s in [whole_days.clone(), one_dim, hourly] {
            let got = reports::report(&app.store, &s, GroupBy::Nothing)
                .await
                .unwrap();
            for ((metric, samples), (_, name, _)) in exact_in.iter().zip(dists.iter()) {
                let exact = weighted_percentile(samples, 75.0).unwrap();
                let r = got.iter().find(|r| &r.metric == metric).unwrap();
                let approx = r.p75.unwrap();
                assert_eq!(r.samples, 3000);
                assert!(
                    (approx - exact).abs() <= exact * MAX_RELATIVE_ERROR,
                    "{backend:?} {metric} ({name}) via {}: rollup p75 {approx} vs exact {exact}",
                    s.source(GroupBy::Nothing).name()
                );
            }
        }
        // A slice: phones only, from the hourly rollup.
        let mut phones = whole_days.clone();
        phones.form_factor = Some("phone".into());
        phones.metric = Some("LCP".into());
        let got = reports::report(&app.store, &phones, GroupBy::Nothing)
            .await
            .unwrap();
        let phone_samples: Vec<Sample> = exact_in[0]
            .1
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 == 1)
            .map(|(_, s)| *s)
            .collect();
        let exact = weighted_percentile(&phone_samples, 75.0).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].samples, 1000);
        assert!((got[0].p75.unwrap() - exact).abs() <= exact * MAX_RELATIVE_ERROR);
    }
}

async fn rollup_samples(store: &Store, site: &str) -> (i64, i64, f64) {
    let q_hour = "SELECT COALESCE(SUM(samples), 0) FROM metric_rollup WHERE site = $1";
    let q_day = "SELECT COALESCE(SUM(samples), 0) FROM metric_site_day_hist WHERE site = $1";
    let q_w = "SELECT CAST(COALESCE(SUM(weight), 0) AS DOUBLE PRECISION) FROM metric_site_hour_hist WHERE site = $1";
    match store {
        Store::Postgres(p) => (
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(
                q_hour.replace("SUM(samples)", "SUM(samples)::int8"),
            ))
            .bind(site)
            .fetch_one(p)
            .await
            .unwrap(),
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(
                q_day.replace("SUM(samples)", "SUM(samples)::int8"),
            ))
            .bind(site)
            .fetch_one(p)
            .await
            .unwrap(),
            sqlx::query_scalar(q_w)
                .bind(site)
                .fetch_one(p)
                .await
                .unwrap(),
        ),
        Store::Sqlite(p) => (
            sqlx::query_scalar(sqlx::AssertSqlSafe(q_hour.replace("$1", "?1")))
                .bind(site)
                .fetch_one(p)
                .await
                .unwrap(),
            sqlx::query_scalar(sqlx::AssertSqlSafe(q_day.replace("$1", "?1")))
                .bind(site)
                .fetch_one(p)
                .await
                .unwrap(),
            sqlx::query_scalar(sqlx::AssertSqlSafe(
                q_w.replace("$1", "?1").replace("DOUBLE PRECISION", "REAL"),
            ))
            .bind(site)
            .fetch_one(p)
            .await
            .unwrap(),
        ),
    }
}

/// Re-sent metrics (same page view and metric id) through the real ingest
/// path: the rollups hold the latest value once.
#[tokio::test]
async fn resent_metrics_do_not_double_count() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let mut b = beacon("resend", "pvresend000001");
        app.post_beacon(&b).await;
        app.wait_for_rows("resend", 3).await;
        // The same beacon again (same seq: ignored), then a newer one with a new LCP.
        app.post_beacon(&b).await;
        b["seq"] = 1.into();
        b["metrics"] = serde_json::json!([
            {"name": "LCP", "id": "v1-1-2", "value": 4200.0, "delta": 2550.0, "rating": "poor"}
        ]);
        app.post_beacon(&b).await;
        for _ in 0..200 {
            let rows = app.store.recent_metrics("resend", 10).await.unwrap();
            if rows.iter().any(|r| r.name == "LCP" && r.value == 4200.0) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        let (hourly, daily, weight) = rollup_samples(&app.store, "resend").await;
        assert_eq!(
            (hourly, daily),
            (3, 3),
            "{backend:?}: three metrics, counted once"
        );
        assert!((weight - 3.0).abs() < 1e-9, "{backend:?}: weight {weight}");
        let now = Utc::now();
        let s = Slice {
            metric: Some("LCP".into()),
            ..slice("resend", now - Duration::days(2), now + Duration::days(1))
        };
        let got = reports::report(&app.store, &s, GroupBy::Nothing)
            .await
            .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].samples, 1);
        let p75 = got[0].p75.unwrap();
        assert!((p75 - 4200.0).abs() <= 4200.0 * MAX_RELATIVE_ERROR, "{p75}");
        assert_eq!((got[0].good, got[0].poor), (0.0, 1.0));

        // A re-sent row moving to another hour leaves nothing behind in the old one.
        let mut r = row("move", 1, "LCP", 1000.0, day0());
        insert(&app.store, std::slice::from_ref(&r)).await;
        r.seq = 2;
        r.value = 2000.0;
        r.received_at = day0() + Duration::hours(5);
        insert(&app.store, std::slice::from_ref(&r)).await;
        let ts = reports::report(
            &app.store,
            &slice("move", day0(), day0() + Duration::days(1)),
            GroupBy::Hour,
        )
        .await
        .unwrap();
        assert_eq!(ts.len(), 1, "{backend:?}: {ts:?}");
        assert_eq!(ts[0].group, "2026-10-01T05:00:00Z");
        assert_eq!(ts[0].samples, 1);
    }
}

/// Known rows on two days and two routes, for the views and the API.
fn known_rows(site: &str) -> Vec<MetricRow> {
    let mut rows = Vec::new();
    let mut i = 0;
    for day in 0..2 {
        for (route, ff, engine, country, release, base) in [
            ("/", "desktop", "Blink", Some("DE"), "r1", 1000.0),
            ("/checkout", "phone", "WebKit", Some("US"), "r2", 3000.0),
        ] {
            for k in 1..=20 {
                i += 1;
                let mut r = row(
                    site,
                    i,
                    "LCP",
                    base + 10.0 * f64::from(k),
                    day0() + Duration::days(day) + Duration::hours(k as i64 % 24),
                );
                r.route = route.into();
                r.path = route.into();
                r.form_factor = ff.into();
                r.engine = engine.into();
                r.browser = if engine == "Blink" {
                    "Chrome"
                } else {
                    "Safari"
                }
                .into();
                r.country = country.map(Into::into);
                r.release = Some(release.into());
                rows.push(r);
            }
        }
    }
    rows
}

/// Every SQL view, queried against real PostgreSQL.
#[tokio::test]
async fn reporting_views_answer_in_plain_sql() {
    let app = spawn_app(Backend::Postgres).await;
    let Store::Postgres(pool) = &app.store else {
        unreachable!()
    };
    insert(&app.store, &known_rows("views")).await;
    // Recent rows for the 7-day budget view.
    let mut recent: Vec<MetricRow> = (1..=20)
        .map(|k| {
            let mut r = row(
                "views",
                1000 + k,
                "LCP",
                2400.0 + f64::from(k as u32),
                Utc::now() - Duration::hours(2),
            );
            r.route = "/slow".into();
            r
        })
        .collect();
    recent.push(row(
        "views",
        2000,
        "CLS",
        0.05,
        Utc::now() - Duration::hours(1),
    ));
    insert(&app.store, &recent).await;

    let rows: Vec<(String, String, chrono::NaiveDate, i64, f64, f64, f64)> = sqlx::query_as(
        "SELECT route, metric, day, samples, p75, good_share, needs_improvement_share
         FROM daily_metric_summary WHERE site = 'views' AND day < '2026-11-01' ORDER BY day, route",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 4);
    let (route, metric, day, samples, p75, good, ni) = &rows[0];
    assert_eq!(
        (route.as_str(), metric.as_str(), *samples),
        ("/", "LCP", 20)
    );
    assert_eq!(day.to_string(), "2026-10-01");
    // Values 1010..1200: nearest-rank p75 is the 15th = 1150.
    assert!((p75 - 1150.0).abs() <= 1150.0 * MAX_RELATIVE_ERROR, "{p75}");
    assert_eq!((*good, *ni), (1.0, 0.0));
    let (_, _, _, _, p75, good, ni) = &rows[1];
    assert!((p75 - 3150.0).abs() <= 3150.0 * MAX_RELATIVE_ERROR);
    assert_eq!((*good, *ni), (0.0, 1.0));

    let site_rows: Vec<(String, i64, f64)> = sqlx::query_as(
        "SELECT metric, samples, p75 FROM site_daily_summary
         WHERE site = 'views' AND day = '2026-10-02'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(site_rows.len(), 1);
    assert_eq!(site_rows[0].1, 40);
    // 40 values, half ~1100 and half ~3100: p75 is the 30th = 3100.
    assert!((site_rows[0].2 - 3100.0).abs() <= 3100.0 * MAX_RELATIVE_ERROR);

    let status: Vec<(String, String, i64, f64, f64, String)> = sqlx::query_as(
        "SELECT route, metric, samples, p75, budget, severity FROM route_budget_status
         WHERE site = 'views' ORDER BY route, metric",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(status.len(), 2, "{status:?}");
    let cls = &status[0];
    assert_eq!(
        (cls.0.as_str(), cls.1.as_str(), cls.5.as_str()),
        ("/", "CLS", "pass")
    );
    let slow = &status[1];
    assert_eq!((slow.0.as_str(), slow.2, slow.4), ("/slow", 20, 2500.0));
    assert_eq!(slow.5, "warning", "p75 ≈ 2415 is ≥ 90 % of 2500: {slow:?}");

    let budgets: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM default_budget")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(budgets, 5);
    // Every view is documented for analysts.
    let undocumented: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'v' AND n.nspname = 'public' AND obj_description(c.oid, 'pg_class') IS NULL",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(undocumented.is_empty(), "{undocumented:?}");
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = app.client.get(format!("{}{path}", app.address));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn reports_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| s.read_token = Some(TOKEN.into())).await
}

#[tokio::test]
async fn reports_api_requires_the_read_token() {
    for backend in BACKENDS {
        let app = reports_app(backend).await;
        let (s, body) = get(&app, "/v1/reports/shop/summary", None).await;
        assert_eq!(s, 401);
        assert_eq!(body["error"], "unauthorized");
        let (s, _) = get(&app, "/v1/reports/shop/summary", Some("wrong")).await;
        assert_eq!(s, 401);
        let (s, body) = get(&app, "/v1/reports/shop/summary", Some(TOKEN)).await;
        assert_eq!(s, 200, "{body}");
        // Empty database: an empty report, not an error.
        assert_eq!(body["rows"], serde_json::json!([]));
        let resp = app
            .client
            .get(format!(
                "{}/v1/reports/shop/histogram?metric=LCP",
                app.address
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 401);
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    }
    // No token configured: the API is disabled even with a header.
    let app = spawn_app(Backend::Sqlite).await;
    let (s, body) = get(&app, "/v1/reports/shop/summary", Some("anything")).await;
    assert_eq!(s, 401);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("STRRAY_READ_TOKEN")
    );
}

#[tokio::test]
async fn reports_api_filters_dates_and_groups() {
    for backend in BACKENDS {
        let app = reports_app(backend).await;
        insert(&app.store, &known_rows("api")).await;
        let base = "/v1/reports/api";
        let range = "from=2026-10-01&to=2026-10-02";
        let t = Some(TOKEN);

        let (s, body) = get(&app, &format!("{base}/summary?{range}"), t).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["source"], "site_day");
        let rows = body["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["metric"], "LCP");
        assert_eq!(rows[0]["samples"], 80);
        assert_eq!(rows[0]["good"], 0.5);

        // One day only (a date `to` is inclusive).
        let (_, body) = get(
            &app,
            &format!("{base}/summary?from=2026-10-02&to=2026-10-02"),
            t,
        )
        .await;
        assert_eq!(body["rows"][0]["samples"], 40);
        // A range with no data.
        let (s, body) = get(
            &app,
            &format!("{base}/summary?from=2025-01-01&to=2025-01-31"),
            t,
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(body["rows"], serde_json::json!([]));
        // RFC 3339 bounds, hour precision.
        let (_, body) = get(
            &app,
            &format!("{base}/summary?from=2026-10-01T00:00:00Z&to=2026-10-01T06:00:00Z"),
            t,
        )
        .await;
        assert_eq!(body["source"], "hourly");
        // Hours 1..=5 of day one, both routes: k = 1..5 → 10 rows.
        assert_eq!(body["rows"][0]["samples"], 10);

        for (filter, samples, p75) in [
            ("route=/checkout", 40, 3150.0),
            ("form_factor=desktop", 40, 1150.0),
            ("engine=WebKit", 40, 3150.0),
            ("country=DE", 40, 1150.0),
            ("release=r2", 40, 3150.0),
            ("release=r1&country=US", 0, 0.0),
        ] {
            let (s, body) = get(
                &app,
                &format!("{base}/summary?{range}&metric=lcp&{filter}"),
                t,
            )
            .await;
            assert_eq!(s, 200, "{filter}: {body}");
            let rows = body["rows"].as_array().unwrap();
            if samples == 0 {
                assert!(rows.is_empty(), "{filter}: {body}");
                continue;
            }
            assert_eq!(rows[0]["samples"], samples, "{filter}");
            let got = rows[0]["p75"].as_f64().unwrap();
            assert!(
                (got - p75).abs() <= p75 * MAX_RELATIVE_ERROR,
                "{filter}: {got}"
            );
        }

        let (_, body) = get(&app, &format!("{base}/timeseries?{range}&metric=LCP"), t).await;
        let days: Vec<&str> = body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["group"].as_str().unwrap())
            .collect();
        assert_eq!(days, ["2026-10-01", "2026-10-02"]);
        let (_, body) = get(
            &app,
            &format!("{base}/timeseries?from=2026-10-01&to=2026-10-01&interval=hour&route=/"),
            t,
        )
        .await;
        let hours = body["rows"].as_array().unwrap();
        assert_eq!(hours.len(), 20, "k = 1..=20 → hours 1..=20");
        assert_eq!(hours[0]["group"], "2026-10-01T01:00:00Z");

        let (_, body) = get(
            &app,
            &format!("{base}/histogram?{range}&metric=LCP&route=/"),
            t,
        )
        .await;
        let buckets = body["buckets"].as_array().unwrap();
        let total: f64 = buckets
            .iter()
            .map(|b| b["page_views"].as_f64().unwrap())
            .sum();
        assert_eq!(total, 40.0);
        assert!(
            buckets
                .iter()
                .all(|b| b["lower"].as_f64() < b["upper"].as_f64())
        );

        // Two filters: the hourly all-dimension rollup answers.
        let (_, body) = get(
            &app,
            &format!("{base}/summary?{range}&route=/&engine=Blink"),
            t,
        )
        .await;
        assert_eq!(body["source"], "hourly");
        assert_eq!(body["rows"][0]["samples"], 40);
        let (_, body) = get(&app, &format!("{base}/routes?{range}"), t).await;
        assert_eq!(body["source"], "dimension_day");
        let routes: Vec<&str> = body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["group"].as_str().unwrap())
            .collect();
        assert_eq!(routes, ["/checkout", "/"], "slowest first");
        let (_, body) = get(
            &app,
            &format!("{base}/breakdown?{range}&by=form_factor&limit=1"),
            t,
        )
        .await;
        assert_eq!(body["rows"].as_array().unwrap().len(), 1);
        assert_eq!(body["rows"][0]["group"], "phone");

        for bad in [
            "summary?metric=XYZ",
            "summary?from=yesterday",
            "summary?from=2026-10-05&to=2026-10-01",
            "summary?from=2020-01-01&to=2026-01-01",
            "summary?form_factor=fridge",
            "summary?colour=red",
            "summary?route=",
            "timeseries?interval=minute",
            "timeseries?interval=hour&from=2026-01-01&to=2026-10-01",
            "histogram",
            "breakdown?by=hour",
            "breakdown?limit=0",
            "routes?limit=x",
        ] {
            let (s, body) = get(&app, &format!("{base}/{bad}"), t).await;
            assert_eq!(s, 400, "{bad}: {body}");
            assert_eq!(body["error"], "bad_request", "{bad}");
        }
        let (s, _) = get(&app, "/v1/reports/bad%20site/summary", t).await;
        assert_eq!(s, 400);
    }
}

/// The dashboard's day range and device/release filters: what they include,
/// and a clear 400 for values outside what they accept.
#[tokio::test]
async fn dashboard_range_and_filters_select_the_data_shown() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let now = Utc::now();
        let mut rows: Vec<MetricRow> = (0..10)
            .map(|i| row("shop", i, "LCP", 4000.0, now - Duration::days(20)))
            .collect();
        rows.extend((10..20).map(|i| MetricRow {
            form_factor: "phone".into(),
            release: Some("<script>alert(1)</script>".into()),
            ..row("shop", i, "LCP", 1000.0, now - Duration::hours(20))
        }));
        insert(&app.store, &rows).await;
        let page = |q: &'static str| {
            let (client, base) = (app.client.clone(), app.address.clone());
            async move {
                let r = client
                    .get(format!("{base}/sites/shop{q}"))
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            }
        };
        // Device rows of the "By device" table.
        let devices = |html: &str| -> Vec<String> {
            let table = html
                .split("id=\"by-device\"")
                .nth(1)
                .and_then(|t| t.split("</table>").next())
                .unwrap_or("");
            table
                .split("<tr><td>")
                .skip(1)
                .filter_map(|r| r.split("</td>").next())
                .map(str::to_string)
                .collect()
        };

        let (status, html) = page("?days=7").await;
        assert_eq!(status, 200, "{backend:?}");
        assert_eq!(
            devices(&html),
            ["phone"],
            "{backend:?}: 20-day-old rows are out"
        );
        assert!(html.contains("last 7 days"), "{backend:?}");
        let (_, html) = page("").await;
        let mut d = devices(&html);
        d.sort();
        assert_eq!(d, ["desktop", "phone"], "{backend:?}: default 30 days");
        let (_, html) = page("?days=30&form_factor=desktop").await;
        assert_eq!(devices(&html), ["desktop"], "{backend:?}");
        assert!(html.contains("last 30 days · desktop"), "{backend:?}");
        // A release filter from beacon data: matched exactly, shown as text.
        let (status, html) = page("?release=%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
        assert_eq!(status, 200);
        assert_eq!(devices(&html), ["phone"], "{backend:?}");
        assert!(!html.contains("<script>alert(1)"), "{backend:?}: escaped");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));

        for bad in ["?days=0", "?days=401", "?days=x", "?form_factor=toaster"] {
            let (status, body) = page(bad).await;
            assert_eq!(status, 400, "{backend:?} {bad}: {body}");
        }
    }
}
