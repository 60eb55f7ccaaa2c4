use integration_tests::{BACKENDS, beacon, spawn_app, spawn_app_with};
use serde_json::json;

#[tokio::test]
async fn a_valid_beacon_is_accepted_and_stored_with_derived_dimensions() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let resp = app.post_beacon(&beacon("shop", "pv0000000001")).await;
        assert_eq!(resp.status().as_u16(), 202, "{backend:?}");
        assert_eq!(
            resp.headers()
                .get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap()),
            Some("*")
        );
        let rows = app.wait_for_rows("shop", 3).await;
        assert_eq!(rows.len(), 3, "{backend:?}");
        let lcp = rows.iter().find(|r| r.name == "LCP").expect("LCP row");
        assert_eq!(lcp.value, 1650.0);
        assert_eq!(lcp.rating, "good");
        assert_eq!(&*lcp.url, "https://shop.example/products/12345?ref=home");
        assert_eq!(&*lcp.path, "/products/12345");
        assert_eq!(&*lcp.route, "/products/:id");
        assert_eq!(lcp.form_factor, "desktop");
        assert_eq!(lcp.engine, "Blink");
        assert_eq!(lcp.release.as_deref(), Some("v1.0.0"));
        let attribution: serde_json::Value =
            serde_json::from_str(lcp.attribution.as_deref().expect("attribution")).unwrap();
        assert_eq!(attribution["target"], "html>body>img#hero");
        let cls = rows.iter().find(|r| r.name == "CLS").expect("CLS row");
        assert_eq!(cls.rating, "needs-improvement", "{backend:?}");
    }
}

#[tokio::test]
async fn the_client_rating_is_recomputed_not_trusted() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let mut b = beacon("shop", "pv0000000002");
        b["metrics"] = json!([{"name": "LCP", "id": "v1-9-9", "value": 5000.0, "rating": "good"}]);
        app.accept(&b).await;
        let rows = app.wait_for_rows("shop", 1).await;
        assert_eq!(rows[0].rating, "poor", "{backend:?}");
    }
}

#[tokio::test]
async fn a_resent_metric_keeps_only_its_latest_value() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let mut b = beacon("shop", "pv0000000003");
        b["metrics"] = json!([{"name": "CLS", "id": "v1-5-5", "value": 0.05}]);
        app.accept(&b).await;
        app.wait_for_rows("shop", 1).await;

        b["seq"] = json!(1);
        b["metrics"] = json!([{"name": "CLS", "id": "v1-5-5", "value": 0.3, "delta": 0.25}]);
        app.accept(&b).await;
        // A stale re-send (older sequence number) arriving late must not win.
        b["seq"] = json!(0);
        b["metrics"] = json!([{"name": "CLS", "id": "v1-5-5", "value": 0.05}]);
        app.accept(&b).await;

        for _ in 0..100 {
            if app.store.recent_metrics("shop", 10).await.unwrap()[0].value == 0.3 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let rows = app.store.recent_metrics("shop", 10).await.unwrap();
        assert_eq!(rows.len(), 1, "{backend:?}: one row per metric instance");
        assert_eq!(rows[0].value, 0.3, "{backend:?}: latest value wins");
        assert_eq!(rows[0].seq, 1);
    }
}

#[tokio::test]
async fn listed_sites_accept_only_their_origins() {
    for backend in BACKENDS {
        let app = spawn_app_with(backend, |s| {
            s.sites = Some("shop=https://shop.example".into());
        })
        .await;
        let body = beacon("shop", "pv0000000004").to_string().into_bytes();
        let ok = app
            .post_raw(body.clone(), "text/plain", Some("https://shop.example"))
            .await;
        assert_eq!(ok.status().as_u16(), 202);
        let bad = app
            .post_raw(body.clone(), "text/plain", Some("https://evil.example"))
            .await;
        assert_eq!(bad.status().as_u16(), 403);
        let err: serde_json::Value = bad.json().await.unwrap();
        assert_eq!(err["error"], "origin_not_allowed");
        let other = beacon("other", "pv0000000005").to_string().into_bytes();
        let unknown = app
            .post_raw(other, "text/plain", Some("https://shop.example"))
            .await;
        assert_eq!(unknown.status().as_u16(), 403);
        app.wait_for_rows("shop", 3).await;
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        assert_eq!(
            app.row_count().await,
            3,
            "{backend:?}: only the allowed beacon stored"
        );
    }
}

#[tokio::test]
async fn preflight_allows_json_posts_from_pages() {
    let app = spawn_app(integration_tests::Backend::Sqlite).await;
    let resp = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/ingest", app.address),
        )
        .header("Origin", "https://shop.example")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], "https://shop.example");
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert!(
        h["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("content-type")
    );
}

#[tokio::test]
async fn health_readiness_and_counters_are_exposed() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let ready = app
            .client
            .get(format!("{}/readyz", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status().as_u16(), 200, "{backend:?}");
        app.post_beacon(&beacon("shop", "pv0000000006")).await;
        app.post_raw(b"{".to_vec(), "text/plain", None).await;
        app.wait_for_rows("shop", 3).await;
        let text = app
            .client
            .get(format!("{}/metrics", app.address))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            text.contains("strray_beacons_total{outcome=\"accepted\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("strray_beacons_total{outcome=\"invalid_malformed\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("strray_metric_rows_total{stage=\"stored\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("strray_metric_rows_total{stage=\"dropped\"} 0"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_flooding_client_gets_429_with_retry_after_and_cors() {
    let app = spawn_app_with(integration_tests::Backend::Sqlite, |s| {
        s.rate_limit_client = 1; // burst of 2
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        let resp = app
            .post_beacon(&beacon("shop", &format!("pvrate0000{i}")))
            .await;
        statuses.push(resp.status().as_u16());
        if resp.status().as_u16() == 429 {
            let h = resp.headers();
            assert!(h["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
            assert!(h.contains_key("access-control-allow-origin"));
            let body: serde_json::Value = resp.json().await.unwrap();
            assert_eq!(body["error"], "rate_limited");
        }
    }
    assert_eq!(statuses, vec![202, 202, 429, 429]);
    app.wait_for_rows("shop", 6).await;
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert_eq!(
        app.row_count().await,
        6,
        "only the two accepted beacons are stored"
    );
}

#[tokio::test]
async fn two_collectors_on_one_database_store_exact_counts_without_duplicates() {
    let url = integration_tests::fresh_database(integration_tests::Backend::Postgres).await;
    let a =
        integration_tests::spawn_app_on(url.clone(), integration_tests::Backend::Postgres, |_| {})
            .await;
    let b =
        integration_tests::spawn_app_on(url, integration_tests::Backend::Postgres, |_| {}).await;
    for i in 0..60 {
        let pv = format!("pvtwo{i:07}");
        let first = beacon("shop", &pv);
        // Every third page view re-sends the same beacon through the other collector,
        // and every fifth sends an updated CLS value (seq 1).
        let (x, y) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        x.accept(&first).await;
        if i % 3 == 0 {
            y.accept(&first).await;
        }
        if i % 5 == 0 {
            let mut update = first.clone();
            update["seq"] = json!(1);
            update["metrics"] = json!([{"name": "CLS", "id": "v1-1-3", "value": 0.5}]);
            y.accept(&update).await;
        }
    }
    let rows = a.wait_for_rows("shop", 180).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let rows_after = a.store.recent_metrics("shop", 10_000).await.unwrap();
    assert_eq!(rows.len(), 180);
    assert_eq!(
        rows_after.len(),
        180,
        "60 page views × 3 metrics, no duplicates"
    );
    let updated = rows_after
        .iter()
        .filter(|r| r.name == "CLS" && r.value == 0.5)
        .count();
    assert_eq!(updated, 12, "the 12 updated CLS values won");
}

/// The writer stalls (the table is locked); the bounded queue fills; further
/// beacons get 503 with Retry-After and CORS, never a hang; once the database
/// is back every 2xx'd beacon is stored and the counters add up.
#[tokio::test]
async fn a_full_queue_sheds_with_503_and_keeps_what_it_accepted() {
    let app = spawn_app_with(integration_tests::Backend::Postgres, |s| {
        s.queue_capacity = 2;
        s.writer_concurrency = 1;
        s.batch_rows = 1;
        s.batch_interval_ms = 1;
    })
    .await;
    let collector::storage::Store::Postgres(pool) = &app.store else {
        unreachable!("PostgreSQL app")
    };
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE metric IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();

    let (mut accepted, mut shed) = (0, 0);
    for i in 0..12 {
        let resp = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            app.post_beacon(&beacon("shop", &format!("pvshed{i:06}"))),
        )
        .await
        .expect("a full queue answers at once, it does not block");
        match resp.status().as_u16() {
            202 => accepted += 1,
            503 => {
                shed += 1;
                assert!(resp.headers().contains_key("retry-after"));
                assert!(resp.headers().contains_key("access-control-allow-origin"));
            }
            s => panic!("unexpected status {s}"),
        }
        // Give the writer time to take what it can before the next beacon.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        accepted >= 1 && shed >= 1,
        "accepted {accepted}, shed {shed}"
    );
    assert!(
        accepted <= 5,
        "queue of 2 + writer's batch + waiting batch: {accepted}"
    );

    lock.rollback().await.unwrap();
    app.wait_for_rows("shop", 3 * accepted).await;
    let text = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(&format!("strray_beacons_total{{outcome=\"shed\"}} {shed}")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "strray_beacons_total{{outcome=\"accepted\"}} {accepted}"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "strray_metric_rows_total{{stage=\"stored\"}} {}",
            3 * accepted
        )),
        "{text}"
    );
}
