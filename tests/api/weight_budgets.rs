//! Page-weight budgets (`resourceSizes`, `resourceCounts`, the strray
//! extensions) judged by `POST /v1/sites/{site}/check` on WEIGHT records sent
//! through the ingest endpoint, both backends: severities, weighting, first
//! party, path patterns, regressions, and every output format.

use collector::check::CheckReport;
use collector::check::render::{Format, render};
use integration_tests::{BACKENDS, TestApp, beacon, spawn_app, weight_metric};
use serde_json::{Value, json};

const KIB: f64 = 1024.0;

/// One page view's beacon: `script_kib` of script plus a fixed 150 KiB of
/// images and a 20 KiB document, from four hosts (the last one the overflow `*`).
fn page_view(pv: &str, path: &str, script_kib: f64, rate: f64, release: &str) -> Value {
    let mut b = beacon("shop", pv);
    b["url"] = json!(format!("https://shop.example{path}"));
    b["sample_rate"] = json!(rate);
    b["release"] = json!(release);
    b["metrics"] = json!([weight_metric(
        "v1-w-1",
        &[
            ("document", 20.0 * KIB, 1),
            ("script", script_kib * KIB, 5),
            ("image", 150.0 * KIB, 4)
        ],
        &[
            ("shop.example", 150.0 * KIB, 3),
            ("static.shop.example", 100.0 * KIB, 2),
            ("cdn.partner.net", 50.0 * KIB, 1),
            ("*", 20.0 * KIB, 1)
        ],
    )]);
    b
}

async fn send_all(app: &TestApp, beacons: &[Value]) {
    for b in beacons {
        app.accept(b).await;
    }
    app.wait_for_rows("shop", beacons.len()).await;
}

async fn check(app: &TestApp, body: &Value) -> Value {
    let resp = app
        .client
        .post(format!("{}/v1/sites/shop/check", app.address))
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.unwrap()
}

fn resource<'a>(report: &'a Value, entry: usize, id: &str) -> &'a Value {
    report["entries"][entry]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("{id} in entry {entry}: {report}"))
}

#[tokio::test]
async fn resource_budgets_are_judged_on_field_weight() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        // 20 product page views with 80..99 KiB of script; the 5 heaviest
        // were sampled at 25 % and so stand for 4 page views each.
        let mut beacons: Vec<Value> = (0..20)
            .map(|i| {
                let rate = if i >= 15 { 0.25 } else { 1.0 };
                page_view(
                    &format!("pvp{i:04}"),
                    "/products/1",
                    80.0 + i as f64,
                    rate,
                    "v1",
                )
            })
            .collect();
        beacons.extend(
            (0..5).map(|i| page_view(&format!("pvc{i:04}"), "/checkout", 1000.0, 1.0, "v1")),
        );
        send_all(&app, &beacons).await;

        let products = |extra: Value| {
            let mut e = json!({"path": "/products", "strray": {"minSamples": 5}});
            for (k, v) in extra.as_object().unwrap() {
                if k == "strray" {
                    for (sk, sv) in v.as_object().unwrap() {
                        e["strray"][sk] = sv.clone();
                    }
                } else {
                    e[k] = v.clone();
                }
            }
            e
        };
        let budget = json!([
            products(json!({
                "resourceSizes": [
                    {"resourceType": "script", "budget": 100},
                    {"resourceType": "image", "budget": 200},
                    {"resourceType": "total", "budget": 260},
                    {"resourceType": "third-party", "budget": 100}
                ],
                "resourceCounts": [
                    {"resourceType": "total", "budget": 9},
                    {"resourceType": "third-party", "budget": 2}
                ],
                "strray": {
                    "decodedSizes": [{"resourceType": "script", "budget": 250}],
                    "transferSizes": [{"resourceType": "script", "budget": 60}]
                }
            })),
            products(json!({
                "options": {"firstPartyHostnames": ["shop.example"]},
                "resourceSizes": [{"resourceType": "third-party", "budget": 100}]
            })),
            products(json!({
                "options": {"firstPartyHostnames": ["*.partner.net", "*.shop.example"]},
                "resourceSizes": [{"resourceType": "third-party", "budget": 100}],
                "resourceCounts": [{"resourceType": "third-party", "budget": 2}]
            })),
            {"path": "/checkout", "resourceSizes": [{"resourceType": "script", "budget": 500}]},
            {"path": "/nothing", "resourceSizes": [{"resourceType": "script", "budget": 500}]}
        ]);
        let r = check(&app, &json!({"budget": budget, "min_samples": 5})).await;
        let got = |e: usize, id: &str| {
            let t = resource(&r, e, id);
            (
                t["value"].as_f64().unwrap_or(-1.0),
                t["severity"].as_str().unwrap().to_string(),
            )
        };
        let want = |v: f64, s: &str| (v, s.to_string());
        // Weighted p75: cumulative weight 15 (80..94), then 4 each: 97 KiB
        // reaches 75 % of 35 (the unweighted p75 would be 94).
        assert_eq!(
            got(0, "resourceSizes.script"),
            want(97.0, "warning"),
            "{backend:?}"
        );
        assert_eq!(resource(&r, 0, "resourceSizes.script")["unit"], "KiB");
        assert_eq!(resource(&r, 0, "resourceSizes.script")["samples"], 20);
        assert_eq!(got(0, "resourceSizes.image"), want(150.0, "pass"));
        assert_eq!(got(0, "resourceSizes.total"), want(267.0, "error"));
        // Not first party by the page's host (shop.example and subdomains):
        // cdn.partner.net and the overflow `*`.
        assert_eq!(got(0, "resourceSizes.third-party"), want(70.0, "pass"));
        assert_eq!(got(0, "resourceCounts.total"), want(10.0, "critical"));
        assert_eq!(resource(&r, 0, "resourceCounts.total")["unit"], "requests");
        assert_eq!(got(0, "resourceCounts.third-party"), want(2.0, "error"));
        assert_eq!(got(0, "decodedSizes.script"), want(291.0, "critical"));
        assert_eq!(got(0, "transferSizes.script"), want(48.5, "pass"));
        // firstPartyHostnames exact: static.shop.example is third party now.
        assert_eq!(got(1, "resourceSizes.third-party"), want(170.0, "critical"));
        // *.domain covers the domain and its subdomains: only `*` is left.
        assert_eq!(got(2, "resourceSizes.third-party"), want(20.0, "pass"));
        assert_eq!(got(2, "resourceCounts.third-party"), want(1.0, "pass"));
        // Path patterns pick the page views.
        assert_eq!(got(3, "resourceSizes.script"), want(1000.0, "critical"));
        assert_eq!(resource(&r, 3, "resourceSizes.script")["samples"], 5);
        assert_eq!(
            resource(&r, 4, "resourceSizes.script")["severity"],
            "insufficient-data"
        );
        assert_eq!(r["entries"][0]["status"], "critical");
        assert_eq!(r["entries"][2]["status"], "pass");
        assert_eq!(r["outcome"], "fail");
        assert!(r["entries"][0]["unjudged"].as_array().unwrap().is_empty());

        // Every output format of `check`, from the same report.
        let report: CheckReport = serde_json::from_value(r.clone()).unwrap();
        let gh = render(&report, Format::Github);
        assert!(gh.contains("::warning title=resourceSizes.script budget warning::resourceSizes.script p75 on '/products' (budget #0) is 97.0 KiB against a budget of 100.0 KiB"), "{gh}");
        assert!(
            gh.contains("::error title=resourceCounts.total budget critical::"),
            "{gh}"
        );
        let junit = render(&report, Format::Junit);
        assert!(
            junit.contains(r#"<testcase name="decodedSizes.script" classname="budget./products">"#),
            "{junit}"
        );
        assert!(
            junit.contains(r#"name="budget #0 /products" tests="8" failures="4""#),
            "{junit}"
        );
        let human = render(&report, Format::Human);
        assert!(
            human.lines().any(|l| l.contains("resourceSizes.total")
                && l.contains("267.0 KiB")
                && l.ends_with("error (solid)")),
            "{human}"
        );
        let json: Value = serde_json::from_str(&render(&report, Format::Json)).unwrap();
        assert_eq!(
            json["entries"][0]["resources"][2]["id"],
            "resourceSizes.total"
        );
    }
}

#[tokio::test]
async fn page_weight_regresses_against_a_baseline_release() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let mut beacons = Vec::new();
        for i in 0..30 {
            beacons.push(page_view(
                &format!("pva{i:04}"),
                "/",
                100.0 + i as f64,
                1.0,
                "v1",
            ));
            // v2 ships 60 KiB more script; images unchanged.
            beacons.push(page_view(
                &format!("pvb{i:04}"),
                "/",
                160.0 + i as f64,
                1.0,
                "v2",
            ));
        }
        send_all(&app, &beacons).await;
        let budget = json!([{"resourceSizes": [
            {"resourceType": "script", "budget": 500},
            {"resourceType": "image", "budget": 500}
        ]}]);
        let r = check(
            &app,
            &json!({"budget": budget, "release": "v2", "baseline_release": "v1", "min_samples": 10}),
        )
        .await;
        let m = r["regression"]["metrics"].as_array().unwrap();
        let script = m
            .iter()
            .find(|x| x["metric"] == "resourceSizes.script")
            .unwrap();
        assert_eq!(script["status"], "regressed", "{backend:?}: {script}");
        assert_eq!(script["unit"], "KiB");
        assert_eq!(script["baseline"], 122.0, "23rd of 100..129");
        assert_eq!(script["current"], 182.0);
        let image = m
            .iter()
            .find(|x| x["metric"] == "resourceSizes.image")
            .unwrap();
        assert_eq!(image["status"], "ok", "{image}");
        assert_eq!(resource(&r, 0, "resourceSizes.script")["severity"], "pass");
        assert_eq!(r["outcome"], "fail", "within budget, but regressed");
        let report: CheckReport = serde_json::from_value(r).unwrap();
        let gh = render(&report, Format::Github);
        assert!(
            gh.contains("::error title=resourceSizes.script regression regressed::"),
            "{gh}"
        );
    }
}

/// Past its row limit a page-weight verdict reads a sample spread over the
/// whole window (every n-th page view by a hash of its id), not the newest
/// rows: 30 light page views, then 30 heavy ones, read 10 at most. Both
/// backends pick the same page views.
#[tokio::test]
async fn past_the_row_limit_the_weight_rows_are_a_sample_of_the_whole_window() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let views = |from: usize, kib: f64| -> Vec<Value> {
            (from..from + 30)
                .map(|i| {
                    let pv = format!("pv-{i:03}");
                    page_view(&pv, &format!("/p/{pv}"), kib, 1.0, "r1")
                })
                .collect()
        };
        send_all(&app, &views(0, 100.0)).await;
        // The heavy half is strictly newer.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        for b in views(30, 500.0) {
            app.accept(&b).await;
        }
        app.wait_for_rows("shop", 60).await;
        let q = collector::storage::SampleQuery {
            site: "shop",
            metric: "WEIGHT",
            path_prefix: None,
            since: None,
            until: None,
            release: None,
            exclude_release: None,
        };
        let rows = app.store.weight_rows(&q, 10).await.unwrap();
        let mut paths: Vec<&str> = rows.iter().map(|r| r.path.as_str()).collect();
        paths.sort_unstable();
        // 60 rows, 10 at most: every 6th by the hash of the id's last three
        // characters (computed by hand for these ids), 4 light and 6 heavy —
        // the newest 10 would all be heavy.
        let expected: Vec<String> = [0, 6, 15, 24, 33, 39, 42, 48, 51, 57]
            .iter()
            .map(|i| format!("/p/pv-{i:03}"))
            .collect();
        assert_eq!(paths, expected, "{backend:?}");
        let heavy = rows
            .iter()
            .filter(|r| {
                r.attribution
                    .as_deref()
                    .is_some_and(|a| a.contains("512000"))
            })
            .count();
        assert_eq!(heavy, 6, "{backend:?}");
        // Under the limit every row is read.
        assert_eq!(app.store.weight_rows(&q, 60).await.unwrap().len(), 60);
    }
}
