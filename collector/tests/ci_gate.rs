//! The README's CI gate, run verbatim: its `budget.json` and its `run:` command
//! line, through a shell, against a running collector holding the demo's `shop`
//! data. The regressed release `2026.11.3` must fail (exit 1); a release as fast
//! as its predecessor must pass (exit 0).
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::path::Path;
use std::process::Command;

use chrono::Utc;
use collector::configuration::Settings;
use collector::startup::Application;
use collector::storage::Store;

const TOKEN: &str = "ci-gate-read-token";

fn readme() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join("README.md")).unwrap()
}

/// The body of the fenced block whose info string is `info`.
fn fenced(text: &str, info: &str) -> String {
    let start = text
        .find(&format!("```{info}\n"))
        .unwrap_or_else(|| panic!("README has no ```{info} block"));
    let body = &text[start + info.len() + 4..];
    body[..body.find("```").unwrap()].to_string()
}

/// The `run: |` script of the README's workflow step, unindented.
fn ci_script(text: &str) -> String {
    let yaml = fenced(text, "yaml");
    assert!(yaml.contains(".github/workflows"), "{yaml}");
    let run = yaml.split("run: |\n").nth(1).unwrap();
    let script: Vec<&str> = run.lines().map(str::trim).collect();
    let script = script.join("\n");
    assert!(script.contains("strray-collector check"), "{script}");
    script
}

/// Copies release 2026.11.2's page views from 8–15 days ago into the last
/// week as release `sha`: a new release exactly as fast as the old one.
async fn replay_good_release(db: &str, sha: &str) {
    let pool = sqlx::SqlitePool::connect(db).await.unwrap();
    let shift = 8 * 86_400_000_i64;
    let cutoff = Utc::now().timestamp_millis() - shift;
    let n = sqlx::query(
        "INSERT INTO metric (site, page_view_id, metric_id, name, value, delta, rating,
            navigation_type, url, path, route, sample_rate, release, connection, form_factor,
            browser, engine, country, attribution, seq, received_at_ms)
         SELECT site, 'replay-' || page_view_id, metric_id, name, value, delta, rating,
            navigation_type, url, path, route, sample_rate, ?1, connection, form_factor,
            browser, engine, country, attribution, seq, received_at_ms + ?2
         FROM metric WHERE site = 'shop' AND release = '2026.11.2' AND received_at_ms <= ?3",
    )
    .bind(sha)
    .bind(shift)
    .bind(cutoff)
    .execute(&pool)
    .await
    .unwrap()
    .rows_affected();
    assert!(n > 1000, "replayed {n} rows");
    pool.close().await;
}

fn run_ci(script: &str, dir: &Path, url: &str, sha: &str, token: &str) -> (i32, String) {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_strray-collector"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env("STRRAY_URL", url)
        .env("GITHUB_SHA", sha)
        .env("STRRAY_READ_TOKEN", token)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_ci_command_fails_the_regressed_release_and_passes_a_good_one() {
    let text = readme();
    let script = ci_script(&text);
    let budget = fenced(&text, "json budget.json");

    let dir = std::env::temp_dir().join(format!("strray-ci-gate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("budget.json"), budget).unwrap();
    let db = format!("sqlite://{}", dir.join("strray.db").display());

    let store = Store::connect(&db).await.unwrap();
    store.migrate().await.unwrap();
    let opts = collector::seed::SeedOptions {
        rows: 30_000,
        days: 30,
        sites: vec!["shop".into()],
        seed: 42,
        end: Utc::now(),
        chunk: 5_000,
    };
    collector::seed::seed(&store, &opts).await.unwrap();
    store.close().await;
    replay_good_release(&db, "4f2c9e1").await;

    let app = Application::build(Settings {
        bind: "127.0.0.1:0".into(),
        database_url: Some(db),
        read_token: Some(TOKEN.into()),
        alert_interval_secs: 0,
        ..Settings::default()
    })
    .await
    .unwrap();
    let url = format!("http://{}", app.addr());
    tokio::spawn(app.run_until_stopped());

    let (code, out) = tokio::task::spawn_blocking({
        let (script, dir, url) = (script.clone(), dir.clone(), url.clone());
        move || run_ci(&script, &dir, &url, "2026.11.3", TOKEN)
    })
    .await
    .unwrap();
    assert_eq!(code, 1, "the regressed release must fail the gate:\n{out}");
    assert!(
        out.contains("::error title=LCP regression regressed::"),
        "{out}"
    );
    assert!(out.contains("strray check: fail"), "{out}");

    let (code, out) = tokio::task::spawn_blocking({
        let (script, dir, url) = (script.clone(), dir.clone(), url.clone());
        move || run_ci(&script, &dir, &url, "4f2c9e1", TOKEN)
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "a release as fast as before must pass:\n{out}");
    assert!(out.contains("strray check: pass"), "{out}");
    assert!(!out.contains("::error"), "{out}");

    let _ = std::fs::remove_dir_all(&dir);
}
