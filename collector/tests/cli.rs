//! The `verdict` subcommand: table output and exit codes a CI step can use.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::process::Command;

use chrono::Utc;
use collector::storage::{MetricRow, Store};

fn row(i: usize, name: &str, value: f64) -> MetricRow {
    MetricRow {
        site: "cli".into(),
        page_view_id: format!("pv{i:08}").into(),
        metric_id: format!("v1-{name}-{i}"),
        name: name.into(),
        value,
        delta: value,
        rating: "good".into(),
        navigation_type: "navigate".into(),
        url: "https://cli.example/".into(),
        path: "/".into(),
        route: "/".into(),
        sample_rate: 1.0,
        release: None,
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

fn verdict(db: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_strray-collector"))
        .args(["--min-samples", "3", "verdict", "--site", "cli"])
        .env("DATABASE_URL", db)
        .env("RUST_LOG", "error")
        .output()
        .expect("run collector");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn verdict_exit_codes_follow_the_data() {
    let path = std::env::temp_dir().join(format!("strray-cli-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let db = format!("sqlite://{}", path.display());

    let (code, out) = verdict(&db);
    assert_eq!(code, 2, "no data is insufficient, not a pass:\n{out}");
    assert!(out.contains("INSUFFICIENT-DATA"), "{out}");

    let store = Store::connect(&db).await.unwrap();
    store.migrate().await.unwrap();
    let mut rows = Vec::new();
    for i in 0..3 {
        for (name, v) in [
            ("FCP", 900.0),
            ("LCP", 1200.0),
            ("FID", 10.0),
            ("CLS", 0.01),
            ("TTI", 2000.0),
        ] {
            rows.push(row(i, name, v));
        }
    }
    store.insert_metrics(&rows).await.unwrap();
    let (code, out) = verdict(&db);
    assert_eq!(code, 0, "all within budget:\n{out}");
    assert!(out.contains("LCP") && out.contains("1200 ms"), "{out}");

    let slow: Vec<_> = (10..20).map(|i| row(i, "LCP", 4000.0)).collect();
    store.insert_metrics(&slow).await.unwrap();
    let (code, out) = verdict(&db);
    assert_eq!(code, 1, "LCP p75 over budget fails:\n{out}");
    assert!(out.contains("critical"), "{out}");
    store.close().await;
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_settings_file_provides_defaults_that_env_overrides_and_rejects_unknown_keys() {
    let dir = std::env::temp_dir().join(format!("strray-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let from_file = dir.join("from-file.db");
    let from_env = dir.join("from-env.db");
    let config = dir.join("collector.env");
    std::fs::write(
        &config,
        format!(
            "# operator settings\nDATABASE_URL=\"sqlite://{}\"\nSTRRAY_MIN_SAMPLES=3\n",
            from_file.display()
        ),
    )
    .unwrap();
    let run = |extra_env: Option<&std::path::Path>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_strray-collector"));
        cmd.arg("--config")
            .arg(&config)
            .args(["verdict", "--site", "cli"])
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "error");
        if let Some(p) = extra_env {
            cmd.env("DATABASE_URL", format!("sqlite://{}", p.display()));
        }
        cmd.output().expect("run collector")
    };

    // The file's database is used (and created): an empty one is insufficient data.
    let out = run(None);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        from_file.exists(),
        "the settings file's DATABASE_URL was used"
    );

    // An environment variable wins over the file.
    let out = run(Some(&from_env));
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(from_env.exists(), "the environment's DATABASE_URL was used");

    // A typo is an error naming the key, not a silently ignored line.
    std::fs::write(&config, "STRRAY_QUEUE_CAPACITYY=5\n").unwrap();
    let out = run(None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown setting \"STRRAY_QUEUE_CAPACITYY\""),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
