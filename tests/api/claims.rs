//! README claims about the ingest endpoint that had no test (issue 19 item 10):
//! the per-site rate limit, and "cheapest checks first" — an input failing two
//! checks gets the answer of the check the README lists first.

use integration_tests::{Backend, TestApp, beacon, spawn_app_with};
use serde_json::Value;

async fn post(
    app: &TestApp,
    query: &str,
    body: Vec<u8>,
    content_type: &str,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut req = app
        .client
        .post(format!("{}/v1/ingest{query}", app.address))
        .header("Content-Type", content_type)
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn good(pv: &str) -> Vec<u8> {
    beacon("shop", pv).to_string().into_bytes()
}

/// `STRRAY_RATE_LIMIT_SITE`: a site over its burst (twice the rate) gets 429
/// naming the site scope, with Retry-After; another site is not affected.
#[tokio::test]
async fn the_per_site_rate_limit_refuses_one_site_only() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        // Listed sites: one quota per site (open mode folds keys into buckets).
        s.sites = Some("shop=*,other=*".into());
        s.rate_limit_site = 2;
        s.rate_limit_client = 0;
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let (s, _) = post(
            &app,
            "?site=shop",
            good(&format!("pvsite{i:07}")),
            "text/plain",
            &[],
        )
        .await;
        statuses.push(s);
    }
    // Burst 4: the first four pass (a refill within the loop may let a fifth through).
    assert_eq!(&statuses[..4], &[202, 202, 202, 202], "{statuses:?}");
    assert_eq!(statuses[5], 429, "{statuses:?}");
    let r = app
        .client
        .post(format!("{}/v1/ingest?site=shop", app.address))
        .header("Content-Type", "text/plain")
        .body(good("pvsite0000009"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let v: Value = r.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains("site"), "{v}");
    let other = beacon("other", "pvother000001");
    let (s, v) = post(
        &app,
        "?site=other",
        other.to_string().into_bytes(),
        "text/plain",
        &[],
    )
    .await;
    assert_eq!(s, 202, "another site is not limited: {v}");
}

/// Pairs of failures; the README's order is body size (413), content type
/// (415), site and origin (403), rate limit (429), shedding (503), then parse
/// and validate (400/422). Each pair must get the earlier check's answer.
#[tokio::test]
async fn inputs_failing_two_checks_get_the_cheaper_checks_answer() {
    let app = spawn_app_with(Backend::Postgres, |s| {
        s.sites = Some("shop=*".into());
        s.max_body_bytes = 2048;
        s.rate_limit_client = 1;
        s.client_ip_header = Some("X-Client".into());
        s.queue_capacity = 1;
    })
    .await;
    let big = vec![b'x'; 4096];
    // (what, query, body, content type, status, error code)
    type Case<'a> = (&'a str, &'a str, Vec<u8>, &'a str, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "too large + bad content type",
            "?site=shop",
            big.clone(),
            "image/png",
            413,
            "payload_too_large",
        ),
        (
            "too large + unknown site",
            "?site=nosuch",
            big.clone(),
            "text/plain",
            413,
            "payload_too_large",
        ),
        (
            "bad content type + unknown site",
            "?site=nosuch",
            good("pvpair0000001"),
            "image/png",
            415,
            "unsupported_media_type",
        ),
        (
            "unknown site + malformed body",
            "?site=nosuch",
            b"{".to_vec(),
            "text/plain",
            403,
            "unknown_site",
        ),
    ];
    for (what, q, body, ct, status, code) in cases {
        let (s, v) = post(&app, q, body, ct, &[("X-Client", "192.0.2.1")]).await;
        assert_eq!(
            (s, v["error"].as_str().unwrap_or("")),
            (status, code),
            "{what}: {v}"
        );
    }
    // Rate limit before parsing: a client over its burst sends a malformed body.
    for _ in 0..2 {
        post(
            &app,
            "?site=shop",
            good("pvrate0000001"),
            "text/plain",
            &[("X-Client", "192.0.2.9")],
        )
        .await;
    }
    let (s, v) = post(
        &app,
        "?site=shop",
        b"{".to_vec(),
        "text/plain",
        &[("X-Client", "192.0.2.9")],
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str().unwrap_or("")),
        (429, "rate_limited"),
        "rate limit + malformed: {v}"
    );

    // Shedding before the body is read: the writer is held by a table lock,
    // the one-beacon queue fills, and a malformed body then gets 503, not 400.
    let collector::storage::Store::Postgres(pool) = &app.store else {
        unreachable!()
    };
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE metric IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let mut seen = Vec::new();
    for i in 0..200 {
        let ip = format!("198.51.100.{i}");
        let (s, v) = post(
            &app,
            "?site=shop",
            good(&format!("pvshed{i:07}")),
            "text/plain",
            &[("X-Client", &ip)],
        )
        .await;
        seen.push((s, v["error"].clone()));
        if s == 503 {
            break;
        }
        // Let the writer take what is queued (and block on the lock).
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        seen.last().map(|s| s.0),
        Some(503),
        "the queue filled: {seen:?}"
    );
    let (s, v) = post(
        &app,
        "?site=shop",
        b"{".to_vec(),
        "text/plain",
        &[("X-Client", "203.0.113.1")],
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str().unwrap_or("")),
        (503, "overloaded"),
        "shed + malformed: {v}"
    );
    lock.rollback().await.unwrap();
}

/// README: "Unfiltered cards use exact percentiles over raw rows up to 50 000
/// samples, rollups otherwise." At 50 000 samples the dashboard's LCP card
/// shows the verdict's exact p75; one sample more and it shows the rollup
/// estimate, which differs from the exact value but stays within its error.
#[tokio::test]
async fn dashboard_cards_are_exact_up_to_50_000_samples_then_from_rollups() {
    use integration_tests::{BACKENDS, metric_row, spawn_app};
    let at = chrono::Utc::now() - chrono::Duration::hours(1);
    // 10 000 … 20 000 ms in 0.2 ms steps, shuffled.
    let lcp = |i: usize| 10_000.0 + ((i * 7919) % 50_000) as f64 * 0.2;
    let row = |i: usize, v: f64| collector::storage::MetricRow {
        site: "big".into(),
        metric_id: format!("v1-LCP-{i}"),
        ..metric_row(&format!("pv{i:010}"), "LCP", v, at)
    };
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let rows: Vec<_> = (0..50_000).map(|i| row(i, lcp(i))).collect();
        for c in rows.chunks(2000) {
            app.store.insert_metrics(c).await.unwrap();
        }
        let card = || async {
            let html = app.get_text("/sites/big").await;
            let v = html
                .split("class=\"card\" data-metric=\"LCP\"")
                .nth(1)
                .and_then(|c| c.split("<div class=\"v\">").nth(1))
                .and_then(|c| c.split(" ms</div>").next())
                .unwrap_or_else(|| panic!("{backend:?}: no LCP card"))
                .to_string();
            v.parse::<f64>().unwrap()
        };
        let exact = || async {
            let v: Value = serde_json::from_str(&app.get_text("/v1/sites/big/verdict").await)
                .expect("verdict JSON");
            let m = v["metrics"].as_array().unwrap().iter();
            m.clone()
                .find(|m| m["metric"] == "LCP")
                .and_then(|m| m["value"].as_f64())
                .unwrap_or_else(|| panic!("{backend:?}: {v}"))
        };
        let e = exact().await;
        assert_eq!(
            card().await,
            e.round(),
            "{backend:?}: 50 000 samples: exact"
        );
        app.store
            .insert_metrics(&[row(50_000, 15_000.0)])
            .await
            .unwrap();
        let (e, c) = (exact().await, card().await);
        assert_ne!(
            c,
            e.round(),
            "{backend:?}: 50 001 samples: the rollup estimate, not exact"
        );
        assert!(
            (c - e).abs() <= e * collector::histogram::MAX_RELATIVE_ERROR + 0.5,
            "{backend:?}: the estimate {c} within the rollups' error of {e}"
        );
    }
}
