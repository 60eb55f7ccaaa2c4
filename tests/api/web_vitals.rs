//! `POST /v1/web-vitals`: Metric objects from Google's web-vitals library.

use integration_tests::{BACKENDS, TestApp, spawn_app};
use serde_json::{Value, json};

async fn post(app: &TestApp, query: &str, body: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = app
        .client
        .post(format!("{}/v1/web-vitals{query}", app.address))
        .header("Content-Type", "text/plain;charset=UTF-8")
        .body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn metric() -> Value {
    json!({"name": "LCP", "value": 1234.5, "rating": "good", "delta": 1234.5,
           "id": "v5-1732680000000-1234567890123", "navigationType": "reload",
           "entries": [{"name": "", "entryType": "largest-contentful-paint", "startTime": 1234.5}]})
}

#[tokio::test]
async fn a_web_vitals_metric_is_stored_like_an_agent_row() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let (s, _) = post(
            &app,
            "?site=shop",
            &metric().to_string(),
            &[("Referer", "https://shop.example/p/1?x=2")],
        )
        .await;
        assert_eq!(s, 202, "{backend:?}");
        let mut m = metric();
        m["name"] = json!("CLS");
        m["value"] = json!(0.3);
        m["id"] = json!("v5-1732680000000-999");
        m["url"] = json!("https://shop.example/checkout");
        let (s, _) = post(&app, "?site=shop", &m.to_string(), &[]).await;
        assert_eq!(s, 202);
        let rows = app.wait_for_rows("shop", 2).await;
        let lcp = rows.iter().find(|r| r.name == "LCP").unwrap();
        assert_eq!(lcp.value, 1234.5);
        assert_eq!(&*lcp.path, "/p/1");
        assert_eq!(lcp.navigation_type, "reload");
        assert_eq!(&*lcp.page_view_id, "v5-1732680000000-1234567890123");
        let cls = rows.iter().find(|r| r.name == "CLS").unwrap();
        assert_eq!(&*cls.path, "/checkout");
        assert_eq!(cls.rating, "poor", "rating recomputed");
    }
}

#[tokio::test]
async fn bad_web_vitals_input_is_refused_and_nothing_stored() {
    let app = spawn_app(integration_tests::Backend::Sqlite).await;
    let good = metric().to_string();
    let with = |k: &str, v: Value| {
        let mut m = metric();
        m[k] = v;
        m.to_string()
    };
    let referer: &[(&str, &str)] = &[("Referer", "https://shop.example/")];
    type Case<'a> = (&'a str, &'a str, String, &'a [(&'a str, &'a str)], u16);
    let cases: Vec<Case> = vec![
        ("no site", "", good.clone(), referer, 400),
        ("bad site", "?site=a%20b", good.clone(), referer, 422),
        ("not json", "?site=shop", "{".into(), referer, 400),
        (
            "value a string",
            "?site=shop",
            with("value", json!("fast")),
            referer,
            400,
        ),
        (
            "unknown metric",
            "?site=shop",
            with("name", json!("FPS")),
            referer,
            422,
        ),
        (
            "negative value",
            "?site=shop",
            with("value", json!(-1)),
            referer,
            422,
        ),
        (
            "bad id",
            "?site=shop",
            with("id", json!("a b")),
            referer,
            422,
        ),
        ("no url at all", "?site=shop", good.clone(), &[], 422),
        (
            "non-http url",
            "?site=shop",
            with("url", json!("file:///etc/passwd")),
            &[],
            422,
        ),
    ];
    for (what, q, body, headers, want) in cases {
        let (s, v) = post(&app, q, &body, headers).await;
        assert_eq!(s, want, "{what}: {v}");
        assert!(v["message"].is_string(), "{what}: {v}");
    }
    // A good metric after the bad ones: once it is stored, anything queued
    // before it was written too, so the count shows whether a bad one got in.
    let (s, v) = post(&app, "?site=shop", &good, referer).await;
    assert_eq!(s, 202, "{v}");
    app.wait_for_rows("shop", 1).await;
    assert_eq!(app.row_count().await, 1, "only the good metric stored");
}
