//! Budget verdict against known data in a real database.

use chrono::{Duration, Utc};
use collector::storage::MetricRow;
use integration_tests::{BACKENDS, TestApp, metric_row, spawn_app};
use serde_json::Value;

fn row(site: &str, pv: usize, name: &str, value: f64, path: &str, age_hours: i64) -> MetricRow {
    MetricRow {
        site: site.into(),
        metric_id: format!("v1-{name}-{pv}"),
        url: format!("https://shop.example{path}").into(),
        path: path.into(),
        route: path.into(),
        ..metric_row(
            &format!("pv{pv:08}"),
            name,
            value,
            Utc::now() - Duration::hours(age_hours),
        )
    }
}

async fn verdict(app: &TestApp, query: &str) -> Value {
    let resp = app
        .client
        .get(format!("{}/v1/sites/shop/verdict{query}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.unwrap()
}

fn metric<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == name)
        .unwrap()
}

#[tokio::test]
async fn verdict_reports_p75_samples_and_severity_per_metric() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let mut rows = Vec::new();
        // LCP 100..=2000 step 100 on /home → nearest-rank p75 of 20 values = 15th = 1500 → pass.
        for i in 1..=20 {
            rows.push(row("shop", i, "LCP", 100.0 * i as f64, "/home", 1));
        }
        // FCP exactly 0.9 × 2000 at p75 → warning.
        for i in 1..=8 {
            rows.push(row(
                "shop",
                i,
                "FCP",
                if i <= 6 { 1800.0 } else { 3000.0 },
                "/home",
                1,
            ));
        }
        // CLS exactly the budget → error; on /checkout.
        for i in 1..=8 {
            rows.push(row("shop", 100 + i, "CLS", 0.1, "/checkout", 1));
        }
        // TTI at 1.1 × budget → critical.
        for i in 1..=8 {
            rows.push(row("shop", 200 + i, "TTI", 5500.0, "/home", 1));
        }
        // FID has too few samples (min is 5 in tests).
        for i in 1..=4 {
            rows.push(row("shop", 300 + i, "FID", 10.0, "/home", 1));
        }
        // Outside the window: must be ignored.
        rows.push(row("shop", 999, "LCP", 99_999.0, "/home", 24 * 30));
        app.store.insert_metrics(&rows).await.unwrap();

        let v = verdict(&app, "").await;
        assert_eq!(metric(&v, "LCP")["value"], 1500.0, "{backend:?}");
        assert_eq!(metric(&v, "LCP")["samples"], 20);
        assert_eq!(metric(&v, "LCP")["severity"], "pass");
        assert_eq!(metric(&v, "FCP")["severity"], "warning");
        assert_eq!(metric(&v, "CLS")["severity"], "error");
        assert_eq!(metric(&v, "TTI")["severity"], "critical");
        assert_eq!(metric(&v, "FID")["severity"], "insufficient-data");
        assert_eq!(metric(&v, "FID")["samples"], 4);
        assert_eq!(v["status"], "critical");

        let checkout = verdict(&app, "?path=/checkout").await;
        assert_eq!(metric(&checkout, "CLS")["samples"], 8, "{backend:?}");
        assert_eq!(metric(&checkout, "LCP")["samples"], 0);
        assert_eq!(metric(&checkout, "LCP")["severity"], "insufficient-data");
        assert_eq!(checkout["status"], "error");
    }
}

#[tokio::test]
async fn a_site_without_data_is_insufficient_not_passing() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let v = verdict(&app, "").await;
        assert_eq!(v["status"], "insufficient-data", "{backend:?}");
        let bad = app
            .client
            .get(format!(
                "{}/v1/sites/shop/verdict?window_hours=0",
                app.address
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status().as_u16(), 400);
    }
}

#[tokio::test]
async fn sample_rate_weights_the_percentile() {
    let app = spawn_app(integration_tests::Backend::Postgres).await;
    let mut rows = Vec::new();
    for i in 1..=10 {
        rows.push(row("shop", i, "LCP", 1000.0, "/", 1));
    }
    // Five slow views sampled at 10 %: they stand for 50 page views.
    for i in 11..=15 {
        let mut r = row("shop", i, "LCP", 3000.0, "/", 1);
        r.sample_rate = 0.1;
        rows.push(r);
    }
    app.store.insert_metrics(&rows).await.unwrap();
    let v = verdict(&app, "").await;
    assert_eq!(metric(&v, "LCP")["value"], 3000.0);
    assert_eq!(metric(&v, "LCP")["samples"], 15);
}

#[tokio::test]
async fn retention_deletes_only_rows_older_than_the_cutoff() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let rows: Vec<_> = (0..5)
            .map(|i| row("shop", i, "LCP", 1000.0, "/", 24 * 40))
            .chain((5..8).map(|i| row("shop", i, "LCP", 1000.0, "/", 1)))
            .collect();
        app.store.insert_metrics(&rows).await.unwrap();
        // The old rows' day has no partition (only recent days are made
        // ahead), so on PostgreSQL they sit in metric_default.
        let r = app
            .store
            .apply_retention(Utc::now() - Duration::days(30))
            .await
            .unwrap();
        assert_eq!(r.deleted_rows, 5, "{backend:?}");
        assert!(r.dropped_partitions.is_empty(), "{backend:?}");
        assert_eq!(app.row_count().await, 3, "{backend:?}");
    }
}
