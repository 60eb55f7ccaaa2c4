//! Page weight (issue 17) at ingest: a WEIGHT record's nested attribution is
//! stored whole on both backends; one off its contract refuses the beacon.

use integration_tests::{BACKENDS, beacon, spawn_app, weight_metric, weight_sizes};
use serde_json::{Value, json};

fn weight_beacon(pv: &str, weight: Value) -> Value {
    let mut b = beacon("shop", pv);
    b["metrics"] = json!([
        {"name": "FCP", "id": "v1-1-1", "value": 812.5},
        weight
    ]);
    b
}

#[tokio::test]
async fn a_weight_record_is_stored_with_its_attribution_intact() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let mut w = weight_metric(
            "w-1",
            &[("document", 20_000.0, 1), ("script", 350_000.0, 12)],
            &[
                ("shop.example", 300_000.0, 10),
                ("cdn.example:8443", 70_000.0, 3),
            ],
        );
        w["attribution"]["hosts"]["*"] = weight_sizes(0.0, 0);
        w["attribution"]["types"]["image"] =
            json!({"transfer": 0, "encoded": 0, "decoded": 0, "requests": 4, "unknown": 4});
        w["attribution"]["heap"] = json!(12_345_678);
        w["attribution"]["incomplete"] = json!(1);
        app.accept(&weight_beacon("pvweight0001", w.clone())).await;
        let rows = app.wait_for_rows("shop", 2).await;
        let row = rows
            .iter()
            .find(|r| r.name == "WEIGHT")
            .expect("WEIGHT row");
        assert_eq!(row.value, 370_000.0, "{backend:?}");
        let stored: Value = serde_json::from_str(row.attribution.as_deref().unwrap()).unwrap();
        assert_eq!(stored, w["attribution"], "{backend:?}");
        // The dashboard's latest metrics show bytes, not milliseconds.
        let page = app.get_text("/sites/shop").await;
        assert!(page.contains(">370000 B<"), "{backend:?}: WEIGHT in bytes");
        assert!(!page.contains("370000 ms"), "{backend:?}");
    }
}

#[tokio::test]
async fn a_weight_record_off_its_contract_refuses_the_beacon_and_stores_nothing() {
    let good = || {
        weight_metric(
            "w-1",
            &[("script", 1000.0, 2)],
            &[("shop.example", 1000.0, 2)],
        )
    };
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "metrics[1].attribution",
            Box::new(|w| {
                w.as_object_mut().unwrap().remove("attribution");
            }),
        ),
        (
            "metrics[1].attribution.types.script.encoded",
            Box::new(|w| {
                w["attribution"]["types"]["script"]["encoded"] = json!(-1);
            }),
        ),
        (
            "metrics[1].attribution.types.wasm",
            Box::new(|w| {
                w["attribution"]["types"]["wasm"] = weight_sizes(0.0, 0);
            }),
        ),
        (
            "metrics[1].attribution.hosts.shop.example.unknown",
            Box::new(|w| {
                w["attribution"]["hosts"]["shop.example"]["unknown"] = json!(3);
            }),
        ),
        (
            "metrics[1].attribution.types.script.requests",
            Box::new(|w| {
                w["attribution"]["types"]["script"]["requests"] = json!(2.5);
            }),
        ),
        (
            "metrics[1].attribution.hosts.evil/host",
            Box::new(|w| {
                w["attribution"]["hosts"]["evil/host"] = weight_sizes(0.0, 0);
            }),
        ),
        (
            "metrics[1].attribution.hosts",
            Box::new(|w| {
                for i in 0..17 {
                    w["attribution"]["hosts"][format!("h{i}.example")] = weight_sizes(0.0, 0);
                }
            }),
        ),
        (
            "metrics[1].attribution.cookies",
            Box::new(|w| {
                w["attribution"]["cookies"] = json!(1);
            }),
        ),
        ("metrics[1].value", Box::new(|w| w["value"] = json!(1002))),
    ];
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        for (field, mutate) in &cases {
            let mut w = good();
            mutate(&mut w);
            let resp = app.post_beacon(&weight_beacon("pvweightbad1", w)).await;
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap();
            assert_eq!(status, 422, "{backend:?} {field}: {body}");
            assert_eq!(body["error"], "invalid_beacon", "{backend:?} {field}");
            let message = body["message"].as_str().unwrap();
            assert!(
                message.starts_with(&format!("{field}: ")),
                "{backend:?}: {message}"
            );
        }
        // A good beacon after the bad ones: once it is stored, anything queued
        // before it was too (one queue, in order), so the count is final.
        app.accept(&weight_beacon("pvweightok01", good())).await;
        app.wait_for_rows("shop", 2).await;
        assert_eq!(
            app.row_count().await,
            2,
            "{backend:?}: only the good beacon stored"
        );
    }
}
