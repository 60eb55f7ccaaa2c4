//! Page weight (issue 17): WEIGHT beacons through the real endpoint, then the
//! `page_weight` view, the weight report and the dashboard section.

use collector::storage::Store;
use integration_tests::{BACKENDS, TestApp, beacon, spawn_app};
use serde_json::{Value, json};

/// A beacon of one page view carrying only its WEIGHT record.
pub fn weight_beacon(pv: &str, route: &str, value: f64, attribution: Value) -> Value {
    let mut b = beacon("shop", pv);
    b["url"] = json!(format!("https://shop.example{route}"));
    b["route"] = json!(route);
    b["metrics"] = json!([{
        "name": "WEIGHT", "id": format!("v1-1-w{pv}"), "value": value, "delta": value,
        "attribution": attribution,
    }]);
    b
}

fn sizes(transfer: f64, encoded: f64, decoded: f64, requests: f64, unknown: f64) -> Value {
    json!({"transfer": transfer, "encoded": encoded, "decoded": decoded,
           "requests": requests, "unknown": unknown})
}

/// Two page views: one with a document, scripts (one hidden cross-origin) and
/// the heap; one with images only and a full resource buffer.
async fn two_page_views(app: &TestApp) {
    app.accept(&weight_beacon(
        "pv-a",
        "/product/1",
        61_000.0,
        json!({
            "types": {
                "document": sizes(12_300.0, 12_000.0, 48_000.0, 1.0, 0.0),
                "script": sizes(49_500.0, 49_000.0, 160_000.0, 4.0, 1.0),
            },
            "hosts": {
                "shop.example": sizes(31_800.0, 31_000.0, 108_000.0, 3.0, 0.0),
                "cdn.example": sizes(30_000.0, 30_000.0, 100_000.0, 2.0, 1.0),
            },
            "heap": 9_500_000,
        }),
    ))
    .await;
    app.accept(&weight_beacon(
        "pv-b",
        "/",
        250_000.0,
        json!({
            "types": {"image": sizes(0.0, 250_000.0, 250_000.0, 7.0, 0.0)},
            "hosts": {"*": sizes(0.0, 250_000.0, 250_000.0, 7.0, 0.0)},
            "incomplete": 1,
        }),
    ))
    .await;
    // A timing metric of the same page view is not a page_weight row.
    let mut lcp = beacon("shop", "pv-a");
    lcp["seq"] = json!(1);
    app.accept(&lcp).await;
}

#[derive(Debug, PartialEq)]
struct ViewRow {
    page_view: String,
    route: String,
    /// The columns of VIEW_QUERY from script_encoded to the request sums.
    numbers: Vec<f64>,
    heap: Option<f64>,
    incomplete: bool,
}

const VIEW_QUERY: &str = "SELECT page_view_id, route, script_encoded, script_decoded,
        script_transfer, script_requests, document_encoded, image_requests, font_encoded,
        total_encoded, total_decoded, total_transfer, total_requests + 1000 * unknown_requests,
        heap_bytes, incomplete
     FROM page_weight WHERE site = 'shop' ORDER BY page_view_id";

macro_rules! view_row {
    ($r:expr) => {{
        use sqlx::Row;
        let r = $r;
        ViewRow {
            page_view: r.get(0),
            route: r.get(1),
            numbers: (2..13).map(|i| r.get::<f64, _>(i)).collect(),
            heap: r.get(13),
            incomplete: r.get(14),
        }
    }};
}

async fn view_rows(app: &TestApp) -> Vec<ViewRow> {
    match &app.store {
        Store::Postgres(p) => sqlx::query(VIEW_QUERY)
            .fetch_all(p)
            .await
            .unwrap()
            .into_iter()
            .map(|r| view_row!(r))
            .collect(),
        Store::Sqlite(p) => sqlx::query(VIEW_QUERY)
            .fetch_all(p)
            .await
            .unwrap()
            .into_iter()
            .map(|r| view_row!(r))
            .collect(),
    }
}

#[tokio::test]
async fn page_weight_view_spreads_the_attribution_into_columns() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        two_page_views(&app).await;
        app.wait_for_rows("shop", 5).await;
        let rows = view_rows(&app).await;
        assert_eq!(
            rows,
            vec![
                ViewRow {
                    page_view: "pv-a".into(),
                    route: "/product/1".into(),
                    numbers: vec![
                        49_000.0, 160_000.0, 49_500.0, 4.0, 12_000.0, 0.0, 0.0, 61_000.0,
                        208_000.0, 61_800.0, 1005.0,
                    ],
                    heap: Some(9_500_000.0),
                    incomplete: false,
                },
                ViewRow {
                    page_view: "pv-b".into(),
                    route: "/".into(),
                    numbers: vec![
                        0.0, 0.0, 0.0, 0.0, 0.0, 7.0, 0.0, 250_000.0, 250_000.0, 0.0, 7.0,
                    ],
                    heap: None,
                    incomplete: true,
                },
            ],
            "{backend:?}"
        );
    }
}
