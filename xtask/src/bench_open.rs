//! `cargo xtask bench-open-mode`: the release collector in open mode (no
//! STRRAY_SITES) fed beacons that each invent a new site key and a new route,
//! until `--beacons` of them were accepted; reports the collector's RSS (idle,
//! peak, after) and what its route registry held. The claim it checks: memory
//! stays bounded (≤ 64 MB) however many site keys a hostile sender invents.
//! Needs `wrk`. The store is SQLite in a temporary directory (its page cache
//! is in the collector's RSS, as in production).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::bench::{KillOnDrop, http_get, rss_kb, wait_for_empty_queue};

/// Each wrk thread sends beacons with keys `t<thread>k<n>`: a new site key and
/// a new route (`/t0k17/p`) per request; a thread stops after `limit` 202s
/// (wrk itself runs until interrupted: its main thread sleeps for `-d`).
const SCRIPT: &str = r#"
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
function init(args)
  n = 0
  ok = 0
  limit = tonumber(args[1])
end
function request()
  n = n + 1
  local key = string.format("t%dk%d", tid, n)
  local body = '{"v":1,"site":"' .. key .. '","page_view_id":"' .. key ..
    '","url":"https://open.example/' .. key .. '/p","navigation_type":"navigate",' ..
    '"metrics":[{"name":"LCP","id":"v1-1-1","value":1200}]}'
  return wrk.format("POST", "/v1/ingest?site=" .. key, { ["Content-Type"] = "text/plain" }, body)
end
function response(status, headers, body)
  if status == 202 then ok = ok + 1 end
  if ok >= limit then wrk.thread:stop() end
end
"#;

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(0.0) as u64
}

pub fn run(beacons: u64) -> Result<()> {
    let root = crate::root();
    crate::build_release_collector()?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin = target.join("release/strray-collector");
    let dir = std::env::temp_dir().join(format!("strray-bench-open-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let script = dir.join("open.lua");
    std::fs::write(&script, SCRIPT)?;

    let mut child = Command::new(&bin)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("open.db").display()),
        )
        .env("STRRAY_BIND", "127.0.0.1:0")
        .env("STRRAY_RATE_LIMIT_CLIENT", "0")
        .env("STRRAY_ALERT_INTERVAL_SECS", "0")
        .env_remove("STRRAY_SITES")
        // One sender stands for many visitors; the per-site limit stays on (its
        // keyed state is part of what an invented site key costs).
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let out = child.stdout.take().context("collector stdout")?;
    let pid = child.id();
    let collector = KillOnDrop(child);
    let mut addr = String::new();
    for line in BufReader::new(out).lines() {
        if let Some(a) = line?.strip_prefix("strray-collector listening on http://") {
            addr = a.to_string();
            break;
        }
    }
    let port: u16 = addr
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .context("the collector did not report its address")?;
    std::thread::sleep(Duration::from_millis(500));
    let rss_idle = rss_kb(pid);

    let peak = Arc::new(AtomicU64::new(rss_idle));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kb(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let started = Instant::now();
    let per_thread = beacons.div_ceil(2);
    let mut wrk = Command::new("wrk")
        .args(["-t2", "-c32", "-d7200s", "-s"])
        .arg(&script)
        .arg(format!("http://{addr}"))
        .args(["--", &per_thread.to_string()])
        .stdout(Stdio::null())
        .spawn()
        .context("running wrk (apt-get install wrk)")?;
    // Until the collector counts the beacons accepted, then SIGINT (wrk's stop).
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let m = http_get(port, "/metrics").unwrap_or_default();
        if metric(&m, "strray_beacons_total{outcome=\"accepted\"}") >= beacons {
            break;
        }
        if let Some(status) = wrk.try_wait()? {
            bail!("wrk ended early: {status}");
        }
    }
    Command::new("kill")
        .args(["-INT", &wrk.id().to_string()])
        .status()?;
    wrk.wait()?;
    let load_secs = started.elapsed().as_secs_f64();
    wait_for_empty_queue(port);
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let rss_after = rss_kb(pid);
    // The kernel's high-water mark: the true peak, between our samples too.
    let hwm = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0);
    peak.fetch_max(hwm, Ordering::Relaxed);
    let m = http_get(port, "/metrics").unwrap_or_default();
    drop(collector);
    let _ = std::fs::remove_dir_all(&dir);

    let mb = |kb: u64| kb as f64 / 1024.0;
    let accepted = metric(&m, "strray_beacons_total{outcome=\"accepted\"}");
    println!(
        "## Open mode: distinct site keys and routes (cargo xtask bench-open-mode --beacons {beacons})\n"
    );
    println!("| | |\n|---|---|");
    println!("| beacons accepted, each a new site key and route | {accepted} ({load_secs:.0} s) |");
    println!(
        "| beacons shed (503, queue full) | {} |",
        metric(&m, "strray_beacons_total{outcome=\"shed\"}")
    );
    println!(
        "| rows stored | {} |",
        metric(&m, "strray_metric_rows_total{stage=\"stored\"}")
    );
    println!(
        "| route registry: sites / cap | {} / {} |",
        metric(&m, "strray_route_registry_sites"),
        metric(&m, "strray_route_registry_sites_max")
    );
    println!(
        "| route registry: routes / cap | {} / {} |",
        metric(&m, "strray_route_registry_routes"),
        metric(&m, "strray_route_registry_routes_max")
    );
    println!(
        "| sites evicted from the registry | {} |",
        metric(&m, "strray_route_registry_evictions_total")
    );
    println!("| collector RSS idle | {:.1} MB |", mb(rss_idle));
    println!(
        "| collector RSS peak (VmHWM) | {:.1} MB |",
        mb(peak.load(Ordering::Relaxed))
    );
    println!(
        "| collector RSS after the queue drained | {:.1} MB |",
        mb(rss_after)
    );
    if accepted < beacons {
        bail!("only {accepted} of {beacons} beacons were accepted");
    }
    let limit_kb = 64 * 1024;
    if peak.load(Ordering::Relaxed) > limit_kb {
        bail!("peak RSS above 64 MB");
    }
    Ok(())
}
