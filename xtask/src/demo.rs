//! `cargo xtask demo`: builds the agent and the collector, runs the collector on
//! the embedded SQLite store, and serves `web-demo/` from a second origin, the
//! way a customer's site would include the script tag.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use anyhow::{Context, Result};

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn run(collector_port: u16, site_port: u16) -> Result<()> {
    let root = crate::root();
    let dist = crate::agent::build()?;
    crate::build_release_collector()?;
    let demo_dir = root.join("target/demo");
    std::fs::create_dir_all(&demo_dir)?;
    let collector_origin = format!("http://localhost:{collector_port}");
    let site_origins = format!("http://localhost:{site_port}|http://127.0.0.1:{site_port}");
    let db = demo_dir.join("strray.db");
    if !db.exists() {
        // A new demo database: fill it with 30 days of synthetic traffic so the
        // dashboard and reports have something to show before the first real visit.
        eprintln!("xtask: seeding the demo database with synthetic traffic");
        crate::run(
            Command::new(root.join("target/release/strray-collector"))
                .args(["seed-demo", "--rows", "100000", "--days", "30"])
                .env("DATABASE_URL", format!("sqlite://{}", db.display()))
                .env("RUST_LOG", "warn"),
        )?;
    }
    let child = Command::new(root.join("target/release/strray-collector"))
        .current_dir(&root)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", demo_dir.join("strray.db").display()),
        )
        .env("STRRAY_BIND", format!("127.0.0.1:{collector_port}"))
        .env("STRRAY_AGENT_DIR", &dist.dir)
        .env("STRRAY_SITES", format!("demo={site_origins}"))
        // Reports API for the demo only; set a real secret in production.
        .env("STRRAY_READ_TOKEN", "demo-read-token")
        // A demo has few page views; let the verdict speak after a handful.
        .env("STRRAY_MIN_SAMPLES", "3")
        .spawn()
        .context("starting the collector")?;
    let _guard = KillOnDrop(child);

    let listener = TcpListener::bind(("127.0.0.1", site_port))
        .with_context(|| format!("port {site_port} is busy; pass --site-port"))?;
    let web_root = root.join("web-demo");
    eprintln!();
    eprintln!("  Demo page:  http://localhost:{site_port}/");
    eprintln!(
        "  Dashboard:  {collector_origin}/sites/demo  (also /sites/shop: a regression in release 2026.11.3)"
    );
    eprintln!("              log in with the demo's read token: demo-read-token");
    eprintln!("  Verdict:    {collector_origin}/v1/sites/demo/verdict");
    eprintln!(
        "  Reports:    curl -H 'Authorization: Bearer demo-read-token' {collector_origin}/v1/reports/shop/summary"
    );
    eprintln!(
        "  Data:       {} (SQLite)",
        demo_dir.join("strray.db").display()
    );
    // Relative paths: the commands are meant to be pasted in the repository root.
    let cli = "target/release/strray-collector";
    let db_flag = "--database-url sqlite://target/demo/strray.db";
    eprintln!("  CLI (from {}):", root.display());
    eprintln!("    {cli} verdict --site demo --min-samples 3 {db_flag}");
    eprintln!(
        "    {cli} check --site shop --release 2026.11.3 --baseline-window-hours 168 {db_flag}"
    );
    eprintln!(
        "    {cli} check --site shop --release 2026.11.3 --baseline-release 2026.11.2 {db_flag}"
    );
    eprintln!();
    eprintln!("  Load the demo page, click its button, then close or leave the tab:");
    eprintln!("  the agent reports when the page is hidden. Ctrl-C stops everything.");
    for stream in listener.incoming().flatten() {
        let web_root = web_root.clone();
        let origin = collector_origin.clone();
        std::thread::spawn(move || {
            let _ = serve_file(stream, &web_root, &origin);
        });
    }
    Ok(())
}

/// Minimal static file server for the demo site (GET only, no directory listing).
/// `?delay=ms` holds the response back, to make slow resources on purpose.
fn serve_file(mut stream: TcpStream, web_root: &Path, collector_origin: &str) -> Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut line = String::new();
    let mut reader = BufReader::new(stream.try_clone()?);
    reader.read_line(&mut line)?;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
    }
    let target = line.split_whitespace().nth(1).unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if let Some(ms) = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("delay="))
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(Duration::from_millis(ms.min(10_000)));
    }
    let rel = if path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_string()
    };
    let file: PathBuf = web_root.join(rel.trim_start_matches('/'));
    let ok = !rel.contains("..") && file.is_file();
    let (status, ctype, body) = if ok {
        let ctype = match file.extension().and_then(|e| e.to_str()) {
            Some("html") => "text/html; charset=utf-8",
            Some("js") => "text/javascript",
            Some("css") => "text/css",
            Some("svg") => "image/svg+xml",
            Some("png") => "image/png",
            _ => "application/octet-stream",
        };
        let mut body = std::fs::read(&file)?;
        if ctype.starts_with("text/html") {
            body = String::from_utf8_lossy(&body)
                .replace("{{COLLECTOR_ORIGIN}}", collector_origin)
                .replace("{{SITE}}", "demo")
                .into_bytes();
        }
        ("200 OK", ctype, body)
    } else {
        ("404 Not Found", "text/plain", b"not found".to_vec())
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body)?;
    Ok(())
}
