//! Faults found by the independent reliability run (issue 13), on both backends:
//! strings the database cannot store, rows it refuses, re-send ties, large
//! sequence numbers, slow bodies, a stuck writer, hostile site keys.

use std::time::Duration;

use integration_tests::{BACKENDS, Backend, TestApp, beacon, spawn_app, spawn_app_with};
use serde_json::json;

/// One value of `/metrics` (a line `name value`, labels included in `name`).
pub async fn metric(app: &TestApp, name: &str) -> u64 {
    let text = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} not in /metrics:\n{text}"))
        .trim()
        .parse::<f64>()
        .unwrap() as u64
}

/// Waits until the writer has nothing queued (every accepted row stored or refused).
pub async fn wait_drained(app: &TestApp) {
    for _ in 0..400 {
        if metric(app, "strray_queue_rows").await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the writer never drained its queue (stalled?)");
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    match &app.store {
        collector::storage::Store::Postgres(p) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(p)
            .await
            .unwrap(),
        collector::storage::Store::Sqlite(p) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(p)
            .await
            .unwrap(),
    }
}

async fn exec(app: &TestApp, sql: &str) {
    match &app.store {
        collector::storage::Store::Postgres(p) => {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(p)
                .await
                .unwrap();
        }
        collector::storage::Store::Sqlite(p) => {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(p)
                .await
                .unwrap();
        }
    }
}

/// The poison beacon (NUL in an attribution value, then in a key):
/// refused with 422 at validation; a good beacon after it is stored, the bad
/// one is not, and nothing is refused by the database.
#[tokio::test]
async fn nul_in_attribution_is_refused_and_ingest_goes_on() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let mut value = beacon("shop", "pvnulvalue001");
        value["metrics"][1]["attribution"]["target"] = json!("a\u{0}b");
        let mut key = beacon("shop", "pvnulkey00001");
        key["metrics"][1]["attribution"] = json!({"a\u{0}b": "x"});
        for b in [&value, &key] {
            let resp = app.post_beacon(b).await;
            let status = resp.status().as_u16();
            let body: serde_json::Value = resp.json().await.unwrap();
            assert_eq!(status, 422, "{backend:?}: {body}");
            assert!(
                body["message"].as_str().unwrap().contains("U+0000"),
                "{body}"
            );
        }
        let resp = app.post_beacon(&beacon("shop", "pvgoodafter01")).await;
        assert_eq!(resp.status().as_u16(), 202);
        let rows = app.wait_for_rows("shop", 3).await;
        assert!(rows.iter().all(|r| &*r.page_view_id == "pvgoodafter01"));
        wait_drained(&app).await;
        assert_eq!(
            metric(&app, "strray_metric_rows_total{stage=\"refused\"}").await,
            0
        );
    }
}

/// Makes the test database refuse rows of page views named `poison…`, as it
/// would refuse a value its types or constraints cannot take. Only here, in the
/// test database: nothing in the collector knows about it.
async fn refuse_poison_rows(app: &TestApp) {
    match app.backend {
        Backend::Postgres => {
            exec(
                app,
                "ALTER TABLE metric ADD CONSTRAINT test_no_poison CHECK (page_view_id NOT LIKE 'poison%')",
            )
            .await
        }
        Backend::Sqlite => {
            exec(
                app,
                "CREATE TRIGGER test_no_poison BEFORE INSERT ON metric
                 WHEN NEW.page_view_id LIKE 'poison%'
                 BEGIN SELECT RAISE(ABORT, 'test_no_poison: refused'); END",
            )
            .await
        }
    }
}

/// A row the database refuses, in the middle of good ones and in the same
/// batch: the writer splits the batch, stores every good row, keeps the
/// refused row in `metric_dead_letter` with the error, counts it as refused,
/// and goes on (before: the batch was retried for ever and ingest stalled).
#[tokio::test]
async fn a_row_the_database_refuses_is_dead_lettered_and_the_rest_stored() {
    for backend in BACKENDS {
        // A long interval puts the whole stream into one batch.
        let app = spawn_app_with(backend, |s| s.batch_interval_ms = 1_000).await;
        refuse_poison_rows(&app).await;
        let mut good = Vec::new();
        for i in 0..20 {
            let pv = if i == 10 {
                "poison0000001".to_string()
            } else {
                format!("pvgood{i:07}")
            };
            let resp = app.post_beacon(&beacon("shop", &pv)).await;
            assert_eq!(resp.status().as_u16(), 202, "{backend:?}: {pv}");
            if i != 10 {
                good.push(pv);
            }
        }
        wait_drained(&app).await;
        let rows = app.wait_for_rows("shop", good.len() * 3).await;
        assert_eq!(rows.len(), good.len() * 3, "{backend:?}: every good row");
        assert!(rows.iter().all(|r| !r.page_view_id.starts_with("poison")));
        assert_eq!(
            metric(&app, "strray_metric_rows_total{stage=\"refused\"}").await,
            3,
            "{backend:?}: the poison beacon's three rows"
        );
        assert_eq!(
            metric(&app, "strray_metric_rows_total{stage=\"stored\"}").await,
            good.len() as u64 * 3
        );
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM metric_dead_letter
                 WHERE row_json LIKE '%poison0000001%' AND error LIKE '%test_no_poison%'"
            )
            .await,
            3,
            "{backend:?}: refused rows kept with the database's error"
        );
        // Ingest still flows after the refusal.
        let resp = app.post_beacon(&beacon("shop", "pvafter000001")).await;
        assert_eq!(resp.status().as_u16(), 202);
        app.wait_for_rows("shop", good.len() * 3 + 3).await;
    }
}

async fn lcp_of(app: &TestApp, pv: &str) -> (f64, i64) {
    let rows = app.store.recent_metrics("shop", 10_000).await.unwrap();
    let r = rows
        .iter()
        .find(|r| &*r.page_view_id == pv && r.name == "LCP")
        .unwrap_or_else(|| panic!("no LCP row of {pv}"));
    (r.value, r.seq)
}

fn with_lcp(pv: &str, seq: u64, lcp: f64) -> serde_json::Value {
    let mut b = beacon("shop", pv);
    b["seq"] = json!(seq);
    b["metrics"][1]["value"] = json!(lcp);
    b["metrics"][1]["delta"] = json!(lcp);
    b
}

/// One tie rule everywhere: equal `seq` → the first received wins, whether the
/// two sends meet in one batch or in two. A larger `seq` always wins, also
/// above 2^31 (stored as BIGINT, never clamped).
#[tokio::test]
async fn equal_seq_first_received_wins_in_a_batch_and_across_batches() {
    for backend in BACKENDS {
        let app = spawn_app_with(backend, |s| s.batch_interval_ms = 1_000).await;
        // Within one batch: two sends a moment apart, written together.
        let before = metric(&app, "strray_batches_written_total").await;
        app.accept(&with_lcp("pvtiebatch001", 5, 1000.0)).await;
        app.accept(&with_lcp("pvtiebatch001", 5, 2000.0)).await;
        wait_drained(&app).await;
        assert_eq!(
            metric(&app, "strray_batches_written_total").await,
            before + 1,
            "{backend:?}: both sends were in one batch"
        );
        assert_eq!(
            lcp_of(&app, "pvtiebatch001").await,
            (1000.0, 5),
            "{backend:?}"
        );

        // Across batches: the second send is written after the first is stored.
        app.accept(&with_lcp("pvtiecross01", 5, 1000.0)).await;
        wait_drained(&app).await;
        app.accept(&with_lcp("pvtiecross01", 5, 2000.0)).await;
        wait_drained(&app).await;
        assert_eq!(
            lcp_of(&app, "pvtiecross01").await,
            (1000.0, 5),
            "{backend:?}"
        );

        // Large sequence numbers stay distinct: the newer one wins.
        let big = 2_147_483_648u64;
        app.accept(&with_lcp("pvtiebig00001", big, 1000.0)).await;
        wait_drained(&app).await;
        app.accept(&with_lcp("pvtiebig00001", big + 1, 3000.0))
            .await;
        wait_drained(&app).await;
        assert_eq!(
            lcp_of(&app, "pvtiebig00001").await,
            (3000.0, big as i64 + 1),
            "{backend:?}"
        );
        let huge = i64::MAX as u64;
        app.accept(&with_lcp("pvtiebig00001", huge, 4000.0)).await;
        wait_drained(&app).await;
        assert_eq!(
            lcp_of(&app, "pvtiebig00001").await,
            (4000.0, i64::MAX),
            "{backend:?}"
        );
    }
}

/// A sender that stops halfway through its body gets 408 once the body
/// timeout passes, instead of holding the request open indefinitely.
#[tokio::test]
async fn a_stalled_body_gets_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(Backend::Sqlite, |s| s.body_timeout_ms = 300).await;
    let addr = app.address.trim_start_matches("http://").to_string();
    for path in ["/v1/ingest?site=shop", "/v1/web-vitals?site=shop"] {
        let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 500\r\n\r\n{{\"v\":1,"
        );
        sock.write_all(head.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        // A bound for the test run, not a timing assertion: without a body
        // timeout no answer ever comes.
        let read = tokio::time::timeout(Duration::from_secs(30), async {
            let mut chunk = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = sock.read(&mut chunk).await.unwrap();
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
        })
        .await;
        assert!(read.is_ok(), "{path}: no answer to a stalled body");
        let text = String::from_utf8_lossy(&buf);
        assert!(text.starts_with("HTTP/1.1 408"), "{path}: {text}");
    }
}

/// `/readyz` turns 503 (`writer_stalled`) while rows are queued and the writer
/// finishes nothing — here it waits on a table lock the test holds, while the
/// database itself answers — and ready again once the writer moves.
#[tokio::test]
async fn readyz_reports_a_stuck_writer() {
    let app = spawn_app_with(Backend::Postgres, |s| s.writer_stall_secs = 1).await;
    let collector::storage::Store::Postgres(pool) = &app.store else {
        unreachable!()
    };
    let ready = |app: &TestApp| {
        let (c, a) = (app.client.clone(), app.address.clone());
        async move {
            let r = c.get(format!("{a}/readyz")).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<serde_json::Value>().await.unwrap())
        }
    };
    assert_eq!(ready(&app).await.0, 200);
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE metric IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    app.accept(&beacon("shop", "pvstuck000001")).await;
    let mut seen = None;
    for _ in 0..200 {
        let (status, body) = ready(&app).await;
        if status == 503 {
            seen = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let body = seen.expect("/readyz never reported the stuck writer");
    assert_eq!(body["reason"], "writer_stalled");
    lock.rollback().await.unwrap();
    app.wait_for_rows("shop", 3).await;
    let mut status = 0;
    for _ in 0..200 {
        status = ready(&app).await.0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, 200, "ready again once the writer moved");
}

/// Open mode (no STRRAY_SITES): site keys and routes invented by senders are
/// tracked within the caps; the caps and the evictions are on `/metrics`.
#[tokio::test]
async fn invented_site_keys_stay_within_the_route_registry_caps() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.max_tracked_sites = 5;
        s.max_tracked_routes = 12;
        s.batch_interval_ms = 200;
    })
    .await;
    for i in 0..40 {
        let site = format!("inv{i:03}");
        let mut b = beacon(&site, &format!("pvinv{i:08}"));
        b["url"] = json!(format!("https://x.example/p{i}/q"));
        app.accept(&b).await;
    }
    assert_eq!(metric(&app, "strray_route_registry_sites_max").await, 5);
    assert_eq!(metric(&app, "strray_route_registry_routes_max").await, 12);
    assert!(metric(&app, "strray_route_registry_sites").await <= 5);
    assert!(metric(&app, "strray_route_registry_routes").await <= 12);
    assert_eq!(
        metric(&app, "strray_route_registry_evictions_total").await,
        35,
        "40 sites seen, 5 kept"
    );
    wait_drained(&app).await;
    assert_eq!(app.row_count().await, 120, "every beacon still stored");
}

/// Strings with the code points storage is touchy about: NUL, other C0
/// controls, BOM, noncharacters, the last scalar values, astral characters.
fn touchy_string() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let ch = prop_oneof![
        Just('\u{0}'),
        Just('\u{1}'),
        Just('\u{7f}'),
        Just('\u{feff}'),
        Just('\u{fffe}'),
        Just('\u{ffff}'),
        Just('\u{10ffff}'),
        Just('\u{1f600}'),
        Just('\\'),
        Just('"'),
        Just('\''),
        proptest::char::range('a', 'z'),
        any::<char>(),
    ];
    proptest::collection::vec(ch, 0..8).prop_map(|v| v.into_iter().collect())
}

/// The invariant behind "strings the database cannot store never reach it":
/// every beacon the endpoint accepts is stored on both backends — none is
/// refused by the database (dead-lettered) and the writer never stalls.
#[test]
fn every_accepted_beacon_is_storable_on_both_backends() {
    use proptest::test_runner::{Config, TestRunner};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let apps: Vec<TestApp> = rt.block_on(async {
        let mut v = Vec::new();
        for b in BACKENDS {
            v.push(spawn_app(b).await);
        }
        v
    });
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    let fields = (
        touchy_string(),
        touchy_string(),
        touchy_string(),
        touchy_string(),
        touchy_string(),
        touchy_string(),
    );
    let n = std::sync::atomic::AtomicU32::new(0);
    let accepted_any = std::cell::Cell::new(false);
    runner
        .run(&fields, |(key, value, release, route, connection, path)| {
            let i = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut b = beacon("shop", &format!("pvprop{i:07}"));
            b["release"] = json!(release);
            b["route"] = json!(format!("/{route}"));
            b["connection"] = json!(connection);
            b["url"] = json!(format!("https://shop.example/{path}"));
            let mut attribution = serde_json::Map::new();
            attribution.insert(key, json!(value));
            b["metrics"][1]["attribution"] = serde_json::Value::Object(attribution);
            rt.block_on(async {
                for app in &apps {
                    let status = app.post_beacon(&b).await.status().as_u16();
                    assert!(
                        matches!(status, 202 | 422),
                        "{:?}: {status} for {b}",
                        app.backend
                    );
                    if status == 202 {
                        accepted_any.set(true);
                        wait_drained(app).await;
                        assert_eq!(
                            metric(app, "strray_metric_rows_total{stage=\"refused\"}").await,
                            0,
                            "{:?}: accepted but refused by the database: {b}",
                            app.backend
                        );
                    }
                }
            });
            Ok(())
        })
        .unwrap();
    assert!(accepted_any.get(), "some generated beacons were accepted");
    rt.block_on(async {
        for app in &apps {
            assert_eq!(
                metric(app, "strray_metric_rows_total{stage=\"stored\"}").await,
                metric(app, "strray_metric_rows_total{stage=\"accepted\"}").await,
                "{:?}: every accepted row stored",
                app.backend
            );
        }
    });
}
