//! `cargo xtask bench-reports`: 10 M demo rows over 30 days in PostgreSQL
//! (generated once into database `strray_bench`), then p75 per metric from the
//! rollups vs `percentile_cont` over raw rows, then the dashboard's load time
//! in headless Chromium. Prints tables; asserts nothing.

use std::process::Command;

use anyhow::{Context, Result};

use crate::pg::TempPostgres;

pub fn run(rows: u64, site: &str) -> Result<()> {
    let root = crate::root();
    let (admin, _pg) = match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => (url, None),
        _ => {
            let pg = TempPostgres::start()?;
            (pg.url.clone(), Some(pg))
        }
    };
    crate::build_release_collector()?;
    let bin = root.join("target/release/strray-collector");
    let exists = Command::new("psql")
        .args([
            &admin,
            "-tAc",
            "SELECT 1 FROM pg_database WHERE datname = 'strray_bench'",
        ])
        .output()
        .context("psql (postgresql-client) is needed")?;
    if String::from_utf8_lossy(&exists.stdout).trim() != "1" {
        crate::run(Command::new("psql").args([&admin, "-qc", "CREATE DATABASE strray_bench"]))?;
    }
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    let url = format!("{base}/strray_bench");
    eprintln!("xtask: seeding {rows} rows over 30 days (once; skipped when strray_bench has data)");
    crate::run(
        Command::new(&bin)
            .args([
                "seed-demo",
                "--if-empty",
                "--days",
                "30",
                "--rows",
                &rows.to_string(),
            ])
            .env("DATABASE_URL", &url)
            .env("RUST_LOG", "warn"),
    )?;
    crate::run(
        Command::new(&bin)
            .args(["bench-reports", "--site", site, "--days", "30"])
            .env("DATABASE_URL", &url)
            .env("RUST_LOG", "warn"),
    )?;
    eprintln!("xtask: dashboard load time in headless Chromium");
    crate::run(
        Command::new("node")
            .current_dir(&root)
            .arg("tests/browser/bench-dashboard.mjs")
            .env("COLLECTOR_BIN", &bin)
            .env("BENCH_DATABASE_URL", &url)
            .env("BENCH_SITE", site),
    )
}
