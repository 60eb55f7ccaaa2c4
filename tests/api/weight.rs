//! Page weight (issue 17): WEIGHT beacons through the real endpoint, then the
//! `page_weight` view, the weight report and the dashboard section.

use collector::storage::Store;
use integration_tests::{BACKENDS, Backend, TestApp, beacon, spawn_app, spawn_app_with};
use serde_json::{Value, json};

/// A beacon of one page view carrying only its WEIGHT record.
pub fn weight_beacon(pv: &str, path: &str, route: &str, value: f64, attribution: Value) -> Value {
    let mut b = beacon("shop", pv);
    b["url"] = json!(format!("https://shop.example{path}"));
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

const TOKEN: &str = "weight-read-token";

async fn get_json(app: &TestApp, path: &str) -> (u16, Value) {
    let r = app
        .client
        .get(format!("{}{path}", app.address))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

/// Type sizes as the agent sends them (transfer = encoded, nothing hidden).
fn t(encoded: f64, decoded: f64, requests: f64) -> Value {
    sizes(encoded, encoded, decoded, requests, 0.0)
}

/// Four page views of two routes: scripts on three, a third-party CDN on the
/// product pages, one hidden request among the "other hosts".
async fn four_page_views(app: &TestApp) {
    let views = [
        (
            "w1",
            "/product/1",
            "/product/:id",
            300_000.0,
            json!({"types": {"document": t(20_000.0, 80_000.0, 1.0),
                             "script": t(200_000.0, 700_000.0, 5.0),
                             "image": t(80_000.0, 80_000.0, 4.0)},
                   "hosts": {"shop.example": t(120_000.0, 160_000.0, 5.0),
                             "cdn.thirdparty.example": t(180_000.0, 700_000.0, 4.0),
                             "*": sizes(0.0, 0.0, 0.0, 1.0, 1.0)}}),
        ),
        (
            "w2",
            "/product/2",
            "/product/:id",
            400_000.0,
            json!({"types": {"document": t(20_000.0, 80_000.0, 1.0),
                             "script": t(300_000.0, 1_000_000.0, 6.0),
                             "image": t(80_000.0, 80_000.0, 4.0)},
                   "hosts": {"shop.example": t(100_000.0, 160_000.0, 5.0),
                             "cdn.thirdparty.example": t(300_000.0, 1_000_000.0, 6.0)}}),
        ),
        (
            "w3",
            "/",
            "/",
            100_000.0,
            json!({"types": {"document": t(30_000.0, 100_000.0, 1.0),
                             "image": t(70_000.0, 70_000.0, 3.0)},
                   "hosts": {"shop.example": t(100_000.0, 170_000.0, 4.0)}}),
        ),
        (
            "w4",
            "/",
            "/",
            150_000.0,
            json!({"types": {"document": t(30_000.0, 100_000.0, 1.0),
                             "script": t(50_000.0, 150_000.0, 1.0),
                             "image": t(70_000.0, 70_000.0, 3.0)},
                   "hosts": {"shop.example": t(150_000.0, 320_000.0, 5.0)}}),
        ),
    ];
    for (pv, path, route, value, attribution) in views {
        app.accept(&weight_beacon(pv, path, route, value, attribution))
            .await;
    }
    // Timing metrics of another page view are no weight.
    app.accept(&beacon("shop", "timing")).await;
    app.wait_for_rows("shop", 7).await;
}

fn type_row(kind: &str, c: f64, u: f64, r: f64, with: f64) -> Value {
    json!({"type": kind, "compressed_p75": c, "uncompressed_p75": u, "requests_p75": r,
           "page_views_with": with})
}

async fn weight_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| s.read_token = Some(TOKEN.into())).await
}

#[tokio::test]
async fn weight_report_gives_p75_per_type_and_the_heaviest_routes_and_hosts() {
    for backend in BACKENDS {
        let app = weight_app(backend).await;
        four_page_views(&app).await;
        let (status, body) = get_json(&app, "/v1/reports/shop/weight").await;
        assert_eq!(status, 200, "{backend:?}: {body}");
        assert_eq!(body["source"], "raw");
        assert_eq!(body["samples"], 4, "{backend:?}");
        assert_eq!(body["truncated"], false);
        // Nearest rank over 4 page views: the 3rd smallest; absent types are 0.
        assert_eq!(
            body["total"],
            type_row("total", 300_000.0, 860_000.0, 10.0, 4.0),
            "{backend:?}"
        );
        assert_eq!(
            body["types"],
            json!([
                type_row("document", 30_000.0, 100_000.0, 1.0, 4.0),
                type_row("script", 200_000.0, 700_000.0, 5.0, 3.0),
                type_row("stylesheet", 0.0, 0.0, 0.0, 0.0),
                type_row("image", 80_000.0, 80_000.0, 4.0, 4.0),
                type_row("media", 0.0, 0.0, 0.0, 0.0),
                type_row("font", 0.0, 0.0, 0.0, 0.0),
                type_row("other", 0.0, 0.0, 0.0, 0.0),
            ]),
            "{backend:?}"
        );
        assert_eq!(
            body["routes"],
            json!([
                {"route": "/product/:id", "samples": 2, "page_views": 2.0, "compressed_p75": 400_000.0},
                {"route": "/", "samples": 2, "page_views": 2.0, "compressed_p75": 150_000.0},
            ]),
            "{backend:?}"
        );
        assert_eq!(
            body["hosts"],
            json!([
                {"host": "cdn.thirdparty.example", "label": "cdn.thirdparty.example",
                 "first_party": false, "compressed": 480_000.0, "uncompressed": 1_700_000.0,
                 "requests": 10.0, "unknown_requests": 0.0, "page_views": 2.0},
                {"host": "shop.example", "label": "shop.example", "first_party": true,
                 "compressed": 470_000.0, "uncompressed": 810_000.0, "requests": 19.0,
                 "unknown_requests": 0.0, "page_views": 4.0},
                {"host": "*", "label": "other hosts", "first_party": false,
                 "compressed": 0.0, "uncompressed": 0.0, "requests": 1.0,
                 "unknown_requests": 1.0, "page_views": 1.0},
            ]),
            "{backend:?}"
        );

        // Filters narrow the rows; limit cuts routes and hosts.
        let (_, body) = get_json(&app, "/v1/reports/shop/weight?route=/&limit=1").await;
        assert_eq!(body["samples"], 2, "{backend:?}");
        assert_eq!(body["total"]["compressed_p75"], 150_000.0);
        assert_eq!(body["types"][1]["compressed_p75"], 50_000.0);
        assert_eq!(body["hosts"].as_array().map(Vec::len), Some(1));
        assert_eq!(body["hosts"][0]["compressed"], 250_000.0);

        for bad in [
            "/v1/reports/shop/weight?metric=LCP",
            "/v1/reports/shop/weight?limit=0",
            "/v1/reports/shop/weight?by=route",
        ] {
            let (status, body) = get_json(&app, bad).await;
            assert_eq!(status, 400, "{backend:?} {bad}: {body}");
        }
        let (status, _) = get_json(&app, "/v1/reports/shop/weight?metric=weight").await;
        assert_eq!(status, 200);
    }
}

/// The dashboard's text between `start` and the next `end`.
fn between<'a>(page: &'a str, start: &str, end: &str) -> &'a str {
    let from = page
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in the page"));
    let rest = &page[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

#[tokio::test]
async fn dashboard_shows_page_weight_with_the_script_budget() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        four_page_views(&app).await;
        let page = app.get_text("/sites/shop").await;
        let section = between(&page, "<section id=\"weight\"", "</section>");
        let types = between(section, "<table id=\"weight-types\"", "</table>");
        // Script p75: 200 000 B compressed (195.3 KiB), 700 000 B uncompressed
        // (683.6 KiB): under the 700 KiB / 2 MiB default budget.
        let script = between(types, "<tr data-type=\"script\"", "</tr>");
        for want in [
            "data-compressed=\"200000\"",
            "195.3 KiB",
            "683.6 KiB",
            "sev pass",
            "class=\"budget-mark\" data-value=\"716800\"",
        ] {
            assert!(script.contains(want), "{backend:?}: {want} in {script}");
        }
        // Types no page view loaded are left out; the others have no budget.
        assert!(!types.contains("data-type=\"font\""), "{types}");
        let image = between(types, "<tr data-type=\"image\"", "</tr>");
        assert!(image.contains("78.1 KiB") && !image.contains("budget-mark"));
        assert!(section.contains("Total compressed p75 <strong>293.0 KiB</strong>"));

        let routes = between(section, "<table id=\"weight-routes\"", "</table>");
        let product = routes.find("/product/:id").unwrap();
        let home = routes.find("<td class=\"wrap\">/</td>").unwrap();
        assert!(product < home, "heaviest first: {routes}");
        assert!(routes.contains("390.6 KiB"), "{routes}");

        // Third parties only: the shop's own host is not listed.
        let hosts = between(section, "<table id=\"weight-hosts\"", "</table>");
        assert!(hosts.contains("cdn.thirdparty.example"), "{hosts}");
        assert!(hosts.contains("other hosts"), "{hosts}");
        assert!(hosts.contains("data-host=\"*\""), "{hosts}");
        assert!(!hosts.contains("data-host=\"shop.example\""), "{hosts}");
        // 480 000 B in all, 120 000 B per page view on average.
        assert!(
            hosts.contains("468.8 KiB") && hosts.contains("117.2 KiB"),
            "{hosts}"
        );
    }
}

#[tokio::test]
async fn dashboard_without_weight_says_so() {
    let app = spawn_app(Backend::Sqlite).await;
    app.accept(&beacon("shop", "timing")).await;
    app.wait_for_rows("shop", 3).await;
    let page = app.get_text("/sites/shop").await;
    let section = between(&page, "<section id=\"weight\"", "</section>");
    assert!(section.contains("No page weight yet"), "{section}");
}

#[tokio::test]
async fn dashboard_marks_a_script_p75_over_budget() {
    let app = spawn_app(Backend::Sqlite).await;
    // 750 KiB compressed: 107 % of the 700 KiB default, an error (critical from 110 %).
    let script = 750.0 * 1024.0;
    app.accept(&weight_beacon(
        "heavy",
        "/",
        "/",
        script,
        json!({"types": {"script": t(script, 3.0 * script, 9.0)},
               "hosts": {"shop.example": t(script, 3.0 * script, 9.0)}}),
    ))
    .await;
    app.wait_for_rows("shop", 1).await;
    let page = app.get_text("/sites/shop").await;
    let row = between(&page, "<tr data-type=\"script\"", "</tr>");
    assert!(row.contains("sev error"), "{row}");
    assert!(row.contains("<span class=\"over\""), "{row}");
    assert!(
        row.contains("750.0 KiB") && row.contains("2.20 MiB"),
        "{row}"
    );
    // Only first-party bytes: no third-party table.
    assert!(page.contains("No third-party requests."));
}

#[tokio::test]
async fn first_party_hosts_follow_the_page_host_with_www_and_port() {
    for backend in BACKENDS {
        let app = weight_app(backend).await;
        let mut b = weight_beacon(
            "port",
            "/",
            "/",
            3000.0,
            json!({"types": {"script": t(3000.0, 9000.0, 2.0)},
                   "hosts": {"static.shop.example": t(1000.0, 3000.0, 1.0),
                             "cdn.example": t(2000.0, 6000.0, 1.0)}}),
        );
        b["url"] = json!("https://www.shop.example:8443/?q=1");
        app.accept(&b).await;
        app.wait_for_rows("shop", 1).await;
        let (_, body) = get_json(&app, "/v1/reports/shop/weight").await;
        let hosts: Vec<(String, bool)> = body["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["host"].as_str().unwrap().to_string(),
                    h["first_party"].as_bool().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            hosts,
            [
                ("cdn.example".to_string(), false),
                ("static.shop.example".to_string(), true),
            ],
            "{backend:?}"
        );
    }
}

/// WEIGHT's values are bytes in every report that names a unit (they were
/// labelled "ms" before the reports took the unit from the metric).
#[tokio::test]
async fn reports_label_weight_in_bytes() {
    for backend in BACKENDS {
        let app = weight_app(backend).await;
        four_page_views(&app).await;
        let (status, body) = get_json(&app, "/v1/reports/shop/summary").await;
        assert_eq!(status, 200, "{backend:?}: {body}");
        let rows = body["rows"].as_array().expect("summary rows");
        let weight = rows
            .iter()
            .find(|r| r["metric"] == "WEIGHT")
            .expect("a WEIGHT row");
        assert_eq!(weight["unit"], "bytes", "{backend:?}: {weight}");
        let (status, body) = get_json(&app, "/v1/reports/shop/histogram?metric=WEIGHT").await;
        assert_eq!(status, 200, "{backend:?}: {body}");
        assert_eq!(body["unit"], "bytes", "{backend:?}: {body}");
    }
}
