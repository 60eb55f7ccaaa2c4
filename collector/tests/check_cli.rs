//! The `check` subcommand: exit codes, every output format (JUnit parsed back),
//! bad input, and the `--collector` mode against a live collector.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::process::Command;

use chrono::Utc;
use collector::configuration::Settings;
use collector::startup::Application;
use collector::storage::{MetricRow, Store};
use quick_xml::Reader;
use quick_xml::events::Event;

fn row(i: usize, name: &str, value: f64) -> MetricRow {
    MetricRow {
        site: "ci".into(),
        page_view_id: format!("pv{i:08}").into(),
        metric_id: format!("v1-{name}-{i}"),
        name: name.into(),
        value,
        delta: value,
        rating: "good".into(),
        navigation_type: "navigate".into(),
        url: "https://ci.example/checkout".into(),
        path: "/checkout".into(),
        route: "/checkout".into(),
        sample_rate: 1.0,
        release: Some("v1".into()),
        connection: None,
        form_factor: "desktop".into(),
        browser: "Chrome".into(),
        engine: "Blink".into(),
        country: None,
        attribution: None,
        seq: 0,
        received_at: Utc::now(),
    }
}

fn run(db: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_strray-collector"))
        .args(["--min-samples", "3", "check", "--site", "ci"])
        .args(args)
        .env("DATABASE_URL", db)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// (testcase name, child element) pairs of a JUnit document, checking it parses.
fn junit_cases(xml: &str) -> Vec<(String, String)> {
    let mut r = Reader::from_str(xml);
    let mut out = Vec::new();
    let mut current = None;
    loop {
        match r.read_event().unwrap() {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.name().as_ref().to_string();
                if name == "testcase" {
                    let n = e
                        .attributes()
                        .map(|a| a.unwrap())
                        .find(|a| a.key.as_ref() == "name")
                        .unwrap();
                    current = Some(n.value.to_string());
                    out.push((current.clone().unwrap(), String::from("pass")));
                } else if (name == "failure" || name == "skipped") && current.is_some() {
                    out.last_mut().unwrap().1 = name;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

// Multi-threaded: the CLI runs blocking while the in-process collector serves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_exit_codes_and_formats() {
    let dir = std::env::temp_dir();
    let path = dir.join(format!("strray-check-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let db = format!("sqlite://{}", path.display());
    let budget = dir.join(format!("strray-budget-{}.json", std::process::id()));
    std::fs::write(
        &budget,
        r#"[{"path": "/checkout", "timings": [
              {"metric": "largest-contentful-paint", "budget": 2500},
              {"metric": "cumulative-layout-shift", "budget": 0.1},
              {"metric": "speed-index", "budget": 3000}],
            "resourceSizes": [{"resourceType": "script", "budget": 125}]}]"#,
    )
    .unwrap();
    let b = budget.to_str().unwrap();

    // Too few samples: insufficient, exit 2.
    let store = Store::connect(&db).await.unwrap();
    store.migrate().await.unwrap();
    store
        .insert_metrics(&[row(100, "LCP", 1200.0)])
        .await
        .unwrap();
    let (code, out, _) = run(&db, &["--budget", b]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("INSUFFICIENT-DATA"), "{out}");

    let mut rows = Vec::new();
    for i in 0..4 {
        rows.push(row(i, "LCP", 1200.0));
        rows.push(row(i, "CLS", 0.01));
        // 100 KiB of script (budget 125 KiB), as the agent's WEIGHT record.
        let script =
            r#"{"transfer": 0, "encoded": 102400, "decoded": 307200, "requests": 3, "unknown": 0}"#;
        rows.push(MetricRow {
            attribution: Some(format!(
                r#"{{"types": {{"script": {script}}}, "hosts": {{}}}}"#
            )),
            ..row(i, "WEIGHT", 102_400.0)
        });
    }
    store.insert_metrics(&rows).await.unwrap();
    let (code, out, _) = run(&db, &["--budget", b]);
    assert_eq!(code, 0, "pass:\n{out}");
    assert!(
        out.contains("LCP")
            && out.contains("1200 ms")
            && out.contains("n/a")
            && out.contains("100.0 KiB"),
        "{out}"
    );

    // JSON: the same report, machine-readable.
    let (code, out, _) = run(&db, &["--budget", b, "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["outcome"], "pass");
    assert_eq!(v["entries"][0]["timings"][0]["value"], 1200.0);

    // Make LCP fail.
    let slow: Vec<_> = (10..30).map(|i| row(i, "LCP", 4000.0)).collect();
    store.insert_metrics(&slow).await.unwrap();
    let (code, out, _) = run(&db, &["--budget", b]);
    assert_eq!(code, 1, "breach:\n{out}");
    assert!(out.contains("critical (solid)"), "{out}");

    let (code, out, _) = run(&db, &["--budget", b, "--format", "junit"]);
    assert_eq!(code, 1);
    let cases = junit_cases(&out);
    assert_eq!(
        cases,
        [
            ("LCP".to_string(), "failure".to_string()),
            ("CLS".into(), "pass".into()),
            ("resourceSizes.script".into(), "pass".into()),
            ("timing speed-index".into(), "skipped".into())
        ],
        "{out}"
    );

    let (code, out, _) = run(&db, &["--budget", b, "--format", "github"]);
    assert_eq!(code, 1);
    assert!(
        out.lines()
            .any(|l| l.starts_with("::error title=LCP budget critical::LCP p75 on '/checkout'")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("::notice title=CLS budget pass::")),
        "{out}"
    );

    // Regression against a release with no data: still a breach (1) because LCP fails.
    let (code, out, _) = run(
        &db,
        &["--budget", b, "--release", "v1", "--baseline-release", "v0"],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("insufficient-data"), "{out}");

    // Bad input → 2 with a message naming the entry and the key.
    let bad = dir.join(format!("strray-bad-{}.json", std::process::id()));
    std::fs::write(&bad, r#"[{"path": "/", "timings": [], "budgets": 1}]"#).unwrap();
    let (code, _, err) = run(&db, &["--budget", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("budget entry 0: unknown field `budgets`"),
        "{err}"
    );
    let (code, _, err) = run(&db, &["--budget", "/nonexistent/budget.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");

    // --collector: the same verdict through a live collector's API.
    let settings = Settings {
        bind: "127.0.0.1:0".into(),
        database_url: Some(db.clone()),
        min_samples: 3,
        workers: 1,
        ..Settings::default()
    };
    let app = Application::build(settings).await.unwrap();
    let url = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let (code, out, err) = run(
        "sqlite:///nonexistent/dir/x.db",
        &["--budget", b, "--collector", &url, "--format", "json"],
    );
    assert_eq!(code, 1, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["entries"][0]["timings"][0]["severity"], "critical");
    // The collector refuses a bad budget it is sent (validated there too): 2.
    let (code, _, err) = run(
        "sqlite:///nonexistent/dir/x.db",
        &["--collector", &url, "--window-hours", "0"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("400") && err.contains("window_hours"), "{err}");

    store.close().await;
    for f in [&path, &budget, &bad] {
        let _ = std::fs::remove_file(f);
    }
}
