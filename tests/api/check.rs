//! Budget-file checks (`POST /v1/sites/{site}/check`) against known data in a
//! real database, both backends: exact percentiles, weighting, severities at
//! the boundaries, path patterns, regressions, insufficient data, bad input.

use chrono::{Duration, Utc};
use collector::storage::MetricRow;
use integration_tests::{BACKENDS, TestApp, metric_row, spawn_app};
use serde_json::{Value, json};

fn row(pv: usize, name: &str, value: f64, path: &str, rate: f64, release: &str) -> MetricRow {
    MetricRow {
        metric_id: format!("v1-{name}-{pv}"),
        url: format!("https://shop.example{path}").into(),
        path: path.into(),
        route: path.into(),
        sample_rate: rate,
        release: Some(release.into()),
        ..metric_row(
            &format!("pv{pv:08}"),
            name,
            value,
            Utc::now() - Duration::minutes(30),
        )
    }
}

async fn check(app: &TestApp, body: &Value) -> (u16, Value) {
    let resp = app
        .client
        .post(format!("{}/v1/sites/shop/check", app.address))
        .json(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

fn timing<'a>(report: &'a Value, entry: usize, metric: &str) -> &'a Value {
    report["entries"][entry]["timings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["metric"] == metric)
        .unwrap_or_else(|| panic!("{metric} in entry {entry}: {report}"))
}

/// Weighted nearest rank computed independently of the collector.
fn exact_percentile(mut v: Vec<(f64, f64)>, p: f64) -> f64 {
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = v.iter().map(|x| x.1).sum();
    let mut acc = 0.0;
    for (value, w) in &v {
        acc += w;
        if acc >= total * p / 100.0 - 1e-9 {
            return *value;
        }
    }
    unreachable!()
}

#[tokio::test]
async fn percentiles_weights_and_severity_boundaries_match_an_exact_computation() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let mut rows = Vec::new();
        let mut lcp = Vec::new();
        // Irregular LCP values, a third of them sampled at 25 % (weight 4).
        for i in 0..60usize {
            let v = ((i * 7919) % 3001) as f64 + 500.0;
            let rate = if i % 3 == 0 { 0.25 } else { 1.0 };
            lcp.push((v, 1.0 / rate));
            rows.push(row(i, "LCP", v, "/products/x", rate, "v1"));
        }
        // Exactly 0.9, 1.0 and 1.1 of the budget at p75 (all values equal).
        for i in 0..8 {
            rows.push(row(100 + i, "FCP", 1800.0, "/", 1.0, "v1")); // 0.9 × 2000
            rows.push(row(200 + i, "CLS", 0.1, "/", 1.0, "v1")); // 1.0 × 0.1
            rows.push(row(300 + i, "TTI", 5500.0, "/", 1.0, "v1")); // 1.1 × 5000
            rows.push(row(400 + i, "TBT", 269.9, "/", 1.0, "v1")); // just under 0.9 × 300
        }
        // Too few INP samples.
        for i in 0..3 {
            rows.push(row(500 + i, "INP", 50.0, "/", 1.0, "v1"));
        }
        app.store.insert_metrics(&rows).await.unwrap();

        let budget = json!([{
            "path": "/",
            "timings": [
                {"metric": "largest-contentful-paint", "budget": 2500},
                {"metric": "first-contentful-paint", "budget": 2000},
                {"metric": "cumulative-layout-shift", "budget": 0.1},
                {"metric": "interactive", "budget": 5000},
                {"metric": "total-blocking-time", "budget": 300},
                {"metric": "interaction-to-next-paint", "budget": 200},
                {"metric": "speed-index", "budget": 3000}
            ],
            "resourceCounts": [{"resourceType": "script", "budget": 10}],
            "strray": {"minSamples": 5}
        }, {
            "path": "/products/*",
            "timings": [{"metric": "largest-contentful-paint", "budget": 2500}],
            "strray": {"percentile": 90}
        }]);
        let (status, r) = check(&app, &json!({"budget": budget})).await;
        assert_eq!(status, 200, "{r}");
        let l = timing(&r, 0, "LCP");
        assert_eq!(
            l["value"],
            exact_percentile(lcp.clone(), 75.0),
            "{backend:?}"
        );
        assert_eq!(l["samples"], 60);
        let lo = l["interval"]["low"].as_f64().unwrap();
        let hi = l["interval"]["high"].as_f64().unwrap();
        assert!(lo <= l["value"].as_f64().unwrap() && l["value"].as_f64().unwrap() <= hi);
        let shares = &l["shares"];
        let sum = shares["good"].as_f64().unwrap()
            + shares["needs_improvement"].as_f64().unwrap()
            + shares["poor"].as_f64().unwrap();
        // Shares are rounded to 1e-6 in JSON answers.
        assert!((sum - 1.0).abs() < 1e-5);
        // Good share weighted: computed here over the same rows.
        let total: f64 = lcp.iter().map(|x| x.1).sum();
        let good: f64 = lcp.iter().filter(|x| x.0 <= 2500.0).map(|x| x.1).sum();
        assert!((shares["good"].as_f64().unwrap() - good / total).abs() < 1e-6);
        assert_eq!(
            timing(&r, 1, "LCP")["value"],
            exact_percentile(lcp, 90.0),
            "p90 from the extension"
        );

        assert_eq!(timing(&r, 0, "FCP")["severity"], "warning", "{backend:?}");
        assert_eq!(timing(&r, 0, "CLS")["severity"], "error");
        assert_eq!(timing(&r, 0, "TTI")["severity"], "critical");
        assert_eq!(timing(&r, 0, "TTI")["breach_is_solid"], true);
        assert_eq!(timing(&r, 0, "TBT")["severity"], "pass");
        assert_eq!(timing(&r, 0, "INP")["severity"], "insufficient-data");
        assert_eq!(timing(&r, 0, "INP")["samples"], 3);
        let unjudged: Vec<&str> = r["entries"][0]["unjudged"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap())
            .collect();
        assert_eq!(unjudged, ["speed-index"]);
        // Judged on WEIGHT records, of which there are none here.
        let counts = &r["entries"][0]["resources"][0];
        assert_eq!(counts["id"], "resourceCounts.script");
        assert_eq!(counts["severity"], "insufficient-data");
        assert_eq!(r["outcome"], "fail");
    }
}

#[tokio::test]
async fn path_patterns_select_rows_exactly() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let mut rows = Vec::new();
        for (i, path) in [
            "/checkout",
            "/checkout/pay",
            "/CHECKOUT",
            "/blog/a.html",
            "/blog/a.htmlx",
        ]
        .iter()
        .enumerate()
        {
            rows.push(row(i, "LCP", 1000.0 + i as f64, path, 1.0, "v1"));
        }
        app.store.insert_metrics(&rows).await.unwrap();
        let t = |p: &str| json!({"path": p, "timings": [{"metric": "largest-contentful-paint", "budget": 2500}]});
        let budget = json!([
            t("/checkout$"),
            t("/checkout"),
            t("/*.html$"),
            t("/*.html"),
            t("/")
        ]);
        let (status, r) = check(&app, &json!({"budget": budget, "min_samples": 1})).await;
        assert_eq!(status, 200, "{r}");
        let n = |e: usize| timing(&r, e, "LCP")["samples"].as_u64().unwrap();
        // Case-sensitive on both backends (SQLite's LIKE is not).
        assert_eq!(
            [n(0), n(1), n(2), n(3), n(4)],
            [1, 2, 1, 2, 5],
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn a_release_regresses_against_its_baseline() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let mut rows = Vec::new();
        for i in 0..40 {
            rows.push(row(i, "LCP", 1000.0 + i as f64, "/", 1.0, "v1"));
            rows.push(row(100 + i, "LCP", 1300.0 + i as f64, "/", 1.0, "v2"));
            rows.push(row(200 + i, "FCP", 800.0, "/", 1.0, "v1"));
            rows.push(row(300 + i, "FCP", 820.0, "/", 1.0, "v2"));
        }
        app.store.insert_metrics(&rows).await.unwrap();
        let budget = json!([{"timings": [
            {"metric": "largest-contentful-paint", "budget": 2500},
            {"metric": "first-contentful-paint", "budget": 2000}
        ]}]);
        let (status, r) = check(
            &app,
            &json!({"budget": budget, "release": "v2", "baseline_release": "v1"}),
        )
        .await;
        assert_eq!(status, 200, "{r}");
        let m = r["regression"]["metrics"].as_array().unwrap();
        let lcp = m.iter().find(|x| x["metric"] == "LCP").unwrap();
        assert_eq!(lcp["status"], "regressed", "{backend:?}: {lcp}");
        assert_eq!(lcp["baseline"], 1029.0); // 30th of 1000..1039
        assert_eq!(lcp["current"], 1329.0);
        assert!(lcp["change_low"].as_f64().unwrap() > 0.1);
        let fcp = m.iter().find(|x| x["metric"] == "FCP").unwrap();
        assert_eq!(fcp["status"], "ok", "+2.5 % is within 10 %");
        assert_eq!(r["outcome"], "fail", "budgets pass, but a regression fails");
        // Same comparison with a tolerance above the change passes.
        let (_, r) = check(
            &app,
            &json!({"budget": budget, "release": "v2", "baseline_release": "v1", "tolerance": 0.5}),
        )
        .await;
        assert_eq!(r["outcome"], "pass", "{r}");
        // A baseline with no data is insufficient, never a pass.
        let (_, r) = check(
            &app,
            &json!({"budget": budget, "release": "v2", "baseline_release": "v0"}),
        )
        .await;
        assert_eq!(r["outcome"], "insufficient-data");
    }
}

fn at(mut r: MetricRow, hours_ago: i64) -> MetricRow {
    r.received_at = Utc::now() - Duration::hours(hours_ago);
    r
}

/// CI's case: a fresh release with no history. `baseline_window_hours` takes
/// every other release of the hours before the judged window (not the judged
/// release, which has none there); an older `baseline_release` gets its own
/// window; a thin baseline names the flag that fixes it.
#[tokio::test]
async fn baselines_work_for_a_release_without_history() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let mut rows = Vec::new();
        for i in 0..30 {
            // Judged window (last 24 h): the new release, 30 % slower, and
            // some old-release traffic that must not count as baseline.
            rows.push(at(row(i, "LCP", 1300.0 + i as f64, "/", 1.0, "new"), 2));
            rows.push(at(row(100 + i, "LCP", 5000.0, "/", 1.0, "old"), 3));
            // The 24 h before: the old release.
            rows.push(at(
                row(200 + i, "LCP", 1000.0 + i as f64, "/", 1.0, "old"),
                30,
            ));
            // Long ago (10 days): a still older release, 2 000 ms.
            rows.push(at(row(300 + i, "LCP", 2000.0, "/", 1.0, "older"), 240));
        }
        app.store.insert_metrics(&rows).await.unwrap();
        let budget = json!([{"timings": [{"metric": "largest-contentful-paint", "budget": 9000}]}]);
        let lcp = |r: &Value| {
            r["regression"]["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["metric"] == "LCP")
                .cloned()
                .unwrap()
        };

        let (status, r) = check(
            &app,
            &json!({"budget": budget, "window_hours": 24, "release": "new", "baseline_window_hours": 24}),
        )
        .await;
        assert_eq!(status, 200, "{r}");
        let m = lcp(&r);
        assert_eq!(
            m["baseline_samples"], 30,
            "{backend:?}: only 'old' of 24–48 h ago: {m}"
        );
        assert_eq!(m["baseline"], 1022.0, "{m}"); // 23rd of 1000..1029
        assert_eq!(m["current"], 1322.0, "{m}");
        assert_eq!(m["status"], "regressed", "{m}");
        assert_eq!(r["outcome"], "fail");

        // `older` ended 10 days ago: judged over its own 24 h window.
        let (_, r) = check(
            &app,
            &json!({"budget": budget, "window_hours": 24, "release": "new", "baseline_release": "older"}),
        )
        .await;
        let m = lcp(&r);
        assert_eq!(m["baseline_samples"], 30, "{backend:?}: {m}");
        assert_eq!(m["baseline"], 2000.0, "{m}");
        assert_eq!(m["status"], "ok", "faster than 'older': {m}");
        assert_eq!(r["outcome"], "pass", "{r}");

        // A baseline window with too little traffic: the hint names the flag.
        let (_, r) = check(
            &app,
            &json!({"budget": budget, "window_hours": 24, "release": "new",
                    "baseline_window_hours": 2, "min_samples": 20}),
        )
        .await;
        assert_eq!(r["outcome"], "insufficient-data", "{r}");
        let hints = r["regression"]["hints"].to_string();
        assert!(hints.contains("--baseline-window-hours"), "{hints}");
    }
}

#[tokio::test]
async fn bad_check_requests_are_4xx_with_a_message() {
    let app = spawn_app(integration_tests::Backend::Sqlite).await;
    let cases: &[(&str, Value, u16, &str)] = &[
        (
            "unknown request field",
            json!({"budgett": []}),
            400,
            "unknown field",
        ),
        (
            "budget not an array",
            json!({"budget": {"path": "/"}}),
            400,
            "JSON array",
        ),
        (
            "unknown budget key",
            json!({"budget": [{"path": "/", "timing": []}]}),
            400,
            "budget entry 0: unknown field `timing`",
        ),
        (
            "unknown metric",
            json!({"budget": [{}, {"timings": [{"metric": "ttfb", "budget": 1}]}]}),
            400,
            "budget entry 1: timings: unknown metric id",
        ),
        (
            "bad path",
            json!({"budget": [{"path": "x"}]}),
            400,
            "must start with '/'",
        ),
        (
            "zero window",
            json!({"window_hours": 0}),
            400,
            "window_hours",
        ),
        (
            "two baselines",
            json!({"baseline_release": "a", "baseline_window_hours": 2}),
            400,
            "at most one baseline",
        ),
    ];
    for (what, body, want_status, want_msg) in cases {
        let (status, r) = check(&app, body).await;
        assert_eq!(status, *want_status, "{what}: {r}");
        assert!(
            r["message"].as_str().unwrap().contains(want_msg),
            "{what}: {r}"
        );
    }
    let resp = app
        .client
        .post(format!("{}/v1/sites/shop/check", app.address))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let resp = app
        .client
        .post(format!("{}/v1/sites/bad%20site/check", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(app.row_count().await, 0);
}
