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
    let (code, out, _) = collector_cli(&["--min-samples", "3", "verdict", "--site", "cli"], db);
    (code, out)
}

/// Runs the binary with `DATABASE_URL=db`: (exit code, stdout, stderr).
fn collector_cli(args: &[&str], db: &str) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_strray-collector"))
        .args(args)
        .env("DATABASE_URL", db)
        .env("RUST_LOG", "error")
        .output()
        .expect("run collector");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn verdict_exit_codes_follow_the_data() {
    let path = std::env::temp_dir().join(format!("strray-cli-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let db = format!("sqlite://{}", path.display());

    let store = Store::connect(&db).await.unwrap();
    store.migrate().await.unwrap();
    store
        .insert_metrics(&[row(0, "LCP", 1000.0)])
        .await
        .unwrap();
    let (code, out) = verdict(&db);
    assert_eq!(
        code, 2,
        "too few samples is insufficient, not a pass:\n{out}"
    );
    assert!(out.contains("INSUFFICIENT-DATA"), "{out}");

    let mut rows = Vec::new();
    for i in 0..3 {
        for (name, v) in [
            ("FCP", 900.0),
            ("LCP", 1200.0),
            ("INP", 80.0),
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

    // The file's database is the one read (named in the error: it does not exist).
    let out = run(None);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&from_file.display().to_string()),
        "the settings file's DATABASE_URL was used: {err}"
    );

    // An environment variable wins over the file.
    let out = run(Some(&from_env));
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&from_env.display().to_string()),
        "the environment's DATABASE_URL was used: {err}"
    );

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

#[tokio::test]
async fn read_only_commands_never_create_a_database_and_name_the_one_they_read() {
    let dir = std::env::temp_dir().join(format!("strray-cli-missing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("nothing-here.db");
    let db = format!("sqlite://{}", path.display());
    for args in [
        &["verdict", "--site", "cli"][..],
        &["check", "--site", "cli"][..],
        &["check", "--site", "cli", "--format", "json"][..],
    ] {
        let (code, out, err) = collector_cli(args, &db);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(out.is_empty(), "no verdict printed: {out}");
        assert!(
            err.contains(&format!("no database at {db}"))
                && err.contains("DATABASE_URL")
                && err.contains("--database-url"),
            "{args:?}: {err}"
        );
        assert!(!path.exists(), "{args:?} created {}", path.display());
    }

    // An existing database without the site: the error lists what it holds.
    let store = Store::connect(&db).await.unwrap();
    store.migrate().await.unwrap();
    store
        .insert_metrics(&[row(0, "LCP", 1000.0)])
        .await
        .unwrap();
    store.close().await;
    for args in [
        &["verdict", "--site", "demo"][..],
        &["check", "--site", "demo"][..],
    ] {
        let (code, _, err) = collector_cli(args, &db);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains(&format!("site 'demo' has no data in {db}"))
                && err.contains("sites with data: cli")
                && err.contains("DATABASE_URL"),
            "{err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn settings_go_before_or_after_the_subcommand_and_json_ends_with_a_newline() {
    let path = std::env::temp_dir().join(format!("strray-cli-global-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let db = format!("sqlite://{}", path.display());
    let store = Store::connect(&db).await.unwrap();
    store.migrate().await.unwrap();
    let rows: Vec<_> = (0..3).map(|i| row(i, "LCP", 1200.0)).collect();
    store.insert_metrics(&rows).await.unwrap();
    store.close().await;

    // `--min-samples 3` after the subcommand (and the database as a flag, with
    // a wrong DATABASE_URL in the environment that the flag overrides).
    let missing = format!("sqlite://{}.missing", path.display());
    let after: [&[&str]; 2] = [
        &[
            "verdict",
            "--site",
            "cli",
            "--json",
            "--min-samples",
            "3",
            "--database-url",
            &db,
        ],
        &[
            "check",
            "--site",
            "cli",
            "--format",
            "json",
            "--min-samples",
            "3",
            "--database-url",
            &db,
        ],
    ];
    for args in after {
        let (code, out, err) = collector_cli(args, &missing);
        // Only LCP has samples: insufficient data (2) overall, but judged.
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.is_empty(), "{args:?}: {err}");
        assert!(
            out.ends_with("}\n"),
            "JSON output ends with a newline: {out:?}"
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let lcp = if args[0] == "verdict" {
            v["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["metric"] == "LCP")
                .cloned()
        } else {
            v["entries"][0]["timings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["metric"] == "LCP")
                .cloned()
        }
        .unwrap();
        assert_eq!(lcp["min_samples"], 3, "{lcp}");
        assert_eq!(lcp["samples"], 3, "{lcp}");
    }
    // The same settings before the subcommand give the same answer.
    let (_, before, _) = collector_cli(
        &[
            "--min-samples",
            "3",
            "--database-url",
            &db,
            "verdict",
            "--site",
            "cli",
            "--json",
        ],
        &missing,
    );
    let (_, after, _) = collector_cli(
        &[
            "verdict",
            "--site",
            "cli",
            "--json",
            "--min-samples",
            "3",
            "--database-url",
            &db,
        ],
        &missing,
    );
    let strip = |s: &str| {
        let mut v: serde_json::Value = serde_json::from_str(s).unwrap();
        v["from"] = serde_json::Value::Null;
        v["to"] = serde_json::Value::Null;
        v
    };
    assert_eq!(strip(&before), strip(&after));
    let _ = std::fs::remove_file(&path);
}

#[test]
fn help_describes_every_option_in_one_line_without_benchmark_figures() {
    for sub in [
        &["--help"][..],
        &["verdict", "--help"][..],
        &["check", "--help"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_strray-collector"))
            .args(sub)
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = help.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim_start();
            if t.starts_with("--")
                || (t.starts_with('-') && t.chars().nth(1).is_some_and(char::is_alphabetic))
            {
                // Long help: the option line, then exactly one description line.
                let desc = lines.get(i + 1).map(|d| d.trim()).unwrap_or("");
                let next = lines.get(i + 2).map(|d| d.trim_start()).unwrap_or("");
                let documented = !desc.is_empty() && !desc.starts_with('-');
                let allowed_bare = t.starts_with("--format"); // its possible values say it all
                assert!(
                    documented || allowed_bare,
                    "{sub:?}: {t} has no description"
                );
                assert!(
                    next.is_empty() || next.starts_with('-'),
                    "{sub:?}: {t} takes more than one line: {next}"
                );
            }
        }
        assert!(help.contains("--site") || sub.len() == 1, "{help}");
        for figure in ["beacons/s", "MB", "RSS", "bench-ingest"] {
            assert!(
                !help.contains(figure),
                "{sub:?} --help quotes a figure ({figure}):\n{help}"
            );
        }
    }
}
