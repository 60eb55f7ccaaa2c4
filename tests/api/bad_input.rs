//! Table of bad beacons: each gets its documented status and error code, no row
//! is written, no 5xx, and the collector keeps serving.

use integration_tests::{BACKENDS, beacon, spawn_app, spawn_app_with};
use serde_json::{Value, json};

struct Case {
    what: &'static str,
    body: Vec<u8>,
    content_type: &'static str,
    origin: Option<&'static str>,
    status: u16,
    code: &'static str,
}

fn with(mutate: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut b = beacon("shop", "pvbad00000001");
    mutate(&mut b);
    b.to_string().into_bytes()
}

fn metric(value: Value) -> Vec<u8> {
    with(|b| b["metrics"] = json!([{"name": "LCP", "id": "v1-1-1", "value": value}]))
}

fn cases() -> Vec<Case> {
    let c = |what, body, status, code| Case {
        what,
        body,
        content_type: "text/plain",
        origin: Some("https://shop.example"),
        status,
        code,
    };
    let good = beacon("shop", "pvbad00000001").to_string();
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let many_metrics: Vec<Value> = (0..33)
        .map(|i| json!({"name": "CLS", "id": format!("v1-1-{i}"), "value": 0.0}))
        .collect();
    let mut huge_array = good.clone();
    huge_array.truncate(huge_array.len() - 1);
    huge_array.push_str(&format!(",\"extra\":[{}0]}}", "0,".repeat(20_000)));
    vec![
        c("empty body", vec![], 400, "malformed_json"),
        c(
            "truncated JSON",
            good.as_bytes()[..good.len() / 2].to_vec(),
            400,
            "malformed_json",
        ),
        c("not JSON", b"hello".to_vec(), 400, "malformed_json"),
        c("JSON array", b"[]".to_vec(), 400, "malformed_json"),
        c("JSON null", b"null".to_vec(), 400, "malformed_json"),
        c(
            "invalid UTF-8",
            b"{\"v\":1,\"site\":\"\xff\xfe\"}".to_vec(),
            400,
            "malformed_json",
        ),
        c("deep nesting", deep.into_bytes(), 400, "malformed_json"),
        c(
            "NaN literal",
            good.replace("812.5", "NaN").into_bytes(),
            400,
            "malformed_json",
        ),
        c(
            "Infinity literal",
            good.replace("812.5", "Infinity").into_bytes(),
            400,
            "malformed_json",
        ),
        c(
            "number overflow 1e999",
            good.replace("812.5", "1e999").into_bytes(),
            400,
            "malformed_json",
        ),
        c(
            "duplicated key",
            good.replacen("{\"", "{\"site\":\"shop\",\"", 1)
                .into_bytes(),
            400,
            "malformed_json",
        ),
        c(
            "missing site",
            with(|b| {
                b.as_object_mut().unwrap().remove("site");
            }),
            400,
            "malformed_json",
        ),
        c(
            "missing metrics",
            with(|b| {
                b.as_object_mut().unwrap().remove("metrics");
            }),
            400,
            "malformed_json",
        ),
        c(
            "value is a string",
            metric(json!("12")),
            400,
            "malformed_json",
        ),
        c(
            "metrics is an object",
            with(|b| b["metrics"] = json!({})),
            400,
            "malformed_json",
        ),
        c("negative value", metric(json!(-5)), 422, "invalid_beacon"),
        c("1e308 value", metric(json!(1e308)), 422, "invalid_beacon"),
        c(
            "unknown metric",
            with(|b| b["metrics"][0]["name"] = json!("FMP")),
            422,
            "invalid_beacon",
        ),
        c(
            "lower-case metric name",
            with(|b| b["metrics"][0]["name"] = json!("lcp")),
            422,
            "invalid_beacon",
        ),
        c(
            "empty metrics",
            with(|b| b["metrics"] = json!([])),
            422,
            "invalid_beacon",
        ),
        c(
            "too many metrics",
            with(|b| b["metrics"] = json!(many_metrics)),
            422,
            "invalid_beacon",
        ),
        c(
            "duplicate metric id",
            with(|b| b["metrics"][1]["id"] = json!("v1-1-1")),
            422,
            "invalid_beacon",
        ),
        c(
            "bad site key",
            with(|b| b["site"] = json!("shop; DROP TABLE metric")),
            422,
            "invalid_beacon",
        ),
        c(
            "empty page view id",
            with(|b| b["page_view_id"] = json!("")),
            422,
            "invalid_beacon",
        ),
        c(
            "page view id with markup",
            with(|b| b["page_view_id"] = json!("<script>")),
            422,
            "invalid_beacon",
        ),
        c(
            "javascript: URL",
            with(|b| b["url"] = json!("javascript:alert(1)")),
            422,
            "invalid_beacon",
        ),
        c(
            "relative URL",
            with(|b| b["url"] = json!("/just/a/path")),
            422,
            "invalid_beacon",
        ),
        c(
            "URL too long",
            with(|b| b["url"] = json!(format!("https://a.example/{}", "x".repeat(3000)))),
            422,
            "invalid_beacon",
        ),
        c(
            "unknown navigation type",
            with(|b| b["navigation_type"] = json!("teleport")),
            422,
            "invalid_beacon",
        ),
        c(
            "future wire version",
            with(|b| b["v"] = json!(2)),
            422,
            "invalid_beacon",
        ),
        c(
            "huge array in unknown field (over size cap)",
            huge_array.into_bytes(),
            413,
            "payload_too_large",
        ),
        c(
            "10 MB body",
            vec![b' '; 10 * 1024 * 1024],
            413,
            "payload_too_large",
        ),
        Case {
            what: "wrong content type",
            body: good.clone().into_bytes(),
            content_type: "application/x-www-form-urlencoded",
            origin: None,
            status: 415,
            code: "unsupported_media_type",
        },
        Case {
            what: "multipart",
            body: good.clone().into_bytes(),
            content_type: "multipart/form-data; boundary=x",
            origin: None,
            status: 415,
            code: "unsupported_media_type",
        },
        Case {
            what: "disallowed origin",
            body: good.clone().into_bytes(),
            content_type: "text/plain",
            origin: Some("https://evil.example"),
            status: 403,
            code: "origin_not_allowed",
        },
        Case {
            what: "unknown site",
            body: with(|b| b["site"] = json!("nosuchsite")),
            content_type: "application/json",
            origin: Some("https://shop.example"),
            status: 403,
            code: "unknown_site",
        },
    ]
}

#[tokio::test]
async fn bad_beacons_get_a_clear_4xx_and_store_nothing() {
    for backend in BACKENDS {
        let app = spawn_app_with(backend, |s| {
            s.sites = Some("shop=https://shop.example".into());
        })
        .await;
        let cases = cases();
        assert!(cases.len() >= 30);
        for case in cases {
            let resp = app
                .post_raw(case.body, case.content_type, case.origin)
                .await;
            let status = resp.status().as_u16();
            assert!(
                resp.headers().contains_key("access-control-allow-origin"),
                "{}: CORS header",
                case.what
            );
            let body: Value = resp
                .json()
                .await
                .unwrap_or_else(|e| panic!("{}: JSON error body: {e}", case.what));
            assert_eq!(status, case.status, "{backend:?} {}: {body}", case.what);
            assert_eq!(body["error"], case.code, "{backend:?} {}", case.what);
            assert!(
                body["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{}: message names the problem",
                case.what
            );
        }
        // A good beacon after the bad ones: once the writer stored it, anything
        // queued before it was written too (one queue, in order), so the count
        // shows whether a bad one slipped through — no sleep to guess with.
        let resp = app
            .post_raw(
                beacon("shop", "pvgoodlast001").to_string().into_bytes(),
                "text/plain",
                Some("https://shop.example"),
            )
            .await;
        assert_eq!(resp.status().as_u16(), 202);
        app.wait_for_rows("shop", 3).await;
        assert_eq!(
            app.row_count().await,
            3,
            "{backend:?}: only the good beacon stored"
        );
        let health = app
            .client
            .get(format!("{}/healthz", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status().as_u16(), 200, "still serving");
    }
}

/// A malformed query string is a client error like any other: 400, a JSON
/// body naming it, CORS headers on the beacon endpoints, nothing stored.
#[tokio::test]
async fn bad_query_strings_get_a_json_400() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let body = beacon("shop", "pvquery000001").to_string();
        for path in [
            "/v1/ingest?site=shop&site=other",
            "/v1/web-vitals?site=shop&site=other",
        ] {
            let resp = app
                .client
                .post(format!("{}{path}", app.address))
                .header("Content-Type", "text/plain")
                .header("Origin", "https://shop.example")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 400, "{backend:?} {path}");
            assert!(resp.headers().contains_key("access-control-allow-origin"));
            let err: Value = resp.json().await.unwrap();
            assert_eq!(err["error"], "bad_request", "{backend:?} {path}: {err}");
            assert!(err["message"].as_str().unwrap().contains("query string"));
        }
        for path in [
            "/v1/sites/shop/verdict?window_hours=abc",
            "/v1/sites/shop/verdict?window_hours=-1",
            "/sites/shop?days=many",
        ] {
            let resp = app
                .client
                .get(format!("{}{path}", app.address))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 400, "{backend:?} {path}");
            let err: Value = resp.json().await.unwrap();
            assert_eq!(err["error"], "bad_request", "{backend:?} {path}: {err}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(app.row_count().await, 0, "{backend:?}: nothing stored");
    }
}
