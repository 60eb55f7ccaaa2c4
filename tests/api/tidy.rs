//! JSON answers: attribution is a JSON object (not a string holding JSON) and
//! numbers are rounded as the wire format rounds them (0.1 ms, CLS 1e-6).

use integration_tests::{BACKENDS, spawn_app};
use serde_json::{Value, json};

#[tokio::test]
async fn stored_metrics_come_back_as_objects_with_wire_rounded_numbers() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let beacon = json!({
            "v": 1, "site": "shop", "page_view_id": "pvtidy00000001", "seq": 0,
            "url": "https://shop.example/p/1", "navigation_type": "navigate", "sample_rate": 1,
            "metrics": [
                {"name": "LCP", "id": "v1-1-1", "value": 2237.519872921078,
                 "attribution": {"target": "img#hero", "url": "https://cdn.example/hero.jpg",
                                 "timeToFirstByte": 312.3456789, "resourceLoadDelay": 10.04}},
                {"name": "CLS", "id": "v1-1-2", "value": 0.10459999999999998,
                 "attribution": {"largestShiftTarget": "div.ad", "largestShiftValue": 0.0812345678}}
            ]
        });
        assert_eq!(app.post_beacon(&beacon).await.status(), 202);
        app.wait_for_rows("shop", 2).await;
        let rows: Vec<Value> = app
            .client
            .get(format!("{}/v1/sites/shop/metrics", app.address))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let get = |n: &str| rows.iter().find(|r| r["name"] == n).cloned().unwrap();
        let lcp = get("LCP");
        assert_eq!(lcp["value"], 2237.5, "{backend:?}: {lcp}");
        assert!(lcp["attribution"].is_object(), "{lcp}");
        assert_eq!(lcp["attribution"]["target"], "img#hero");
        assert_eq!(lcp["attribution"]["timeToFirstByte"], 312.3);
        assert_eq!(lcp["attribution"]["resourceLoadDelay"], 10.0);
        let cls = get("CLS");
        assert_eq!(cls["value"], 0.1046, "{cls}");
        assert_eq!(cls["attribution"]["largestShiftValue"], 0.081235, "{cls}");

        // The verdict and check answers are rounded the same way.
        let text = app
            .client
            .get(format!(
                "{}/v1/sites/shop/verdict?window_hours=1",
                app.address
            ))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            text.contains("2237.5") && !text.contains("2237.51"),
            "{text}"
        );
        let text = app
            .client
            .post(format!("{}/v1/sites/shop/check", app.address))
            .body(r#"{"min_samples": 1}"#)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            text.contains("0.1046") && !text.contains("0.10459999"),
            "{text}"
        );
    }
}
