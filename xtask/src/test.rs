//! `cargo xtask test`: the one command that runs every test.

use std::process::Command;

use anyhow::Result;

use crate::pg::TempPostgres;

/// Fails early, with the fix, when a system package the tests need is missing.
fn preflight(browser: bool) -> Result<()> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut missing = Vec::new();
    if browser && !std::path::Path::new(&chromium).exists() {
        missing.push("chromium");
    }
    if std::env::var("DATABASE_URL").is_err()
        && !std::path::Path::new("/usr/lib/postgresql").exists()
    {
        missing.push("postgresql");
    }
    if Command::new("psql").arg("--version").output().is_err() {
        missing.push("postgresql-client");
    }
    if !crate::root().join("node_modules/.bin/wasm-opt").exists() {
        anyhow::bail!("node_modules is missing: run `npm ci` first");
    }
    if !missing.is_empty() {
        anyhow::bail!(
            "missing system packages: {} — install with `sudo apt-get install {}` (or run .ci/run)",
            missing.join(", "),
            missing.join(" ")
        );
    }
    Ok(())
}

pub fn run(browser: bool) -> Result<()> {
    let root = crate::root();
    preflight(browser)?;
    // PostgreSQL: the given one, or a throwaway cluster for this run.
    let (url, _pg) = match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => (url, None),
        _ => {
            let pg = TempPostgres::start()?;
            let env = (pg.url.clone(), pg.bin.clone(), pg.data.clone());
            (env.0.clone(), Some((pg, env.1, env.2)))
        }
    };
    let (pg_bin, pg_data) = match &_pg {
        Some((_, bin, data)) => (bin.display().to_string(), data.display().to_string()),
        None => (String::new(), String::new()),
    };

    eprintln!("xtask: building the agent");
    let dist = crate::agent::build()?;
    let test_pkg = crate::agent::build_test_pkg()?;

    eprintln!("xtask: unit and API tests");
    crate::run(
        crate::cargo()
            .current_dir(&root)
            .args([
                "test",
                "--workspace",
                "--exclude",
                "agent-wasm",
                "--no-fail-fast",
            ])
            .env("DATABASE_URL", &url)
            .env("STRRAY_TEST_PG_BIN", &pg_bin)
            .env("STRRAY_TEST_PGDATA", &pg_data)
            .env("STRRAY_AGENT_DIR", &dist.dir),
    )?;

    if browser {
        eprintln!("xtask: browser tests (headless Chromium)");
        crate::run(crate::cargo().current_dir(&root).args([
            "build",
            "-p",
            "collector",
            "--bin",
            "strray-collector",
        ]))?;
        let mut files: Vec<_> = std::fs::read_dir(root.join("tests/browser"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(".test.mjs"))
            .collect();
        files.sort();
        crate::run(
            Command::new("node")
                .current_dir(&root)
                .args(["--test", "--test-concurrency=1"])
                .args(&files)
                .env("DATABASE_URL", &url)
                .env("STRRAY_AGENT_DIR", &dist.dir)
                .env("STRRAY_AGENT_TEST_PKG", &test_pkg)
                .env("COLLECTOR_BIN", root.join("target/debug/strray-collector")),
        )?;
    }
    eprintln!("xtask: all tests passed");
    Ok(())
}
