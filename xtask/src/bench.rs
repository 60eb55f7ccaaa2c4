//! `cargo xtask bench-ingest`: durable ingest throughput of the collector on
//! PostgreSQL against an nginx-204 ceiling, with the same wrk settings, and
//! what half the ceiling would cost in CPU: wrk's, the collector's parsing and
//! validation, and PostgreSQL's per-row insert, each measured in the run.
//! Needs `wrk` and `nginx` (Debian packages) besides what the tests need.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::pg::TempPostgres;

const WRK_SCRIPT: &str = r#"
-- Each request is a realistic 710–760-byte beacon with a unique page view id, and
-- varied as real traffic is: metric values spread over their usual ranges (so
-- rollup histograms get many buckets), six URL shapes (four routes), four
-- browsers/devices, three releases, two connection types.
local counter = 0
local thread_id = 0
function setup(thread)
  thread:set("tid", math.random(1, 1e9))
end
local now_ms = 0
function init(args)
  thread_id = tid
  now_ms = os.time() * 1000
  math.randomseed(tid)
end
local urls = { "/products/%d/reviews?utm_source=newsletter", "/products/%d", "/products/%d?variant=blue",
  "/", "/cart", "/search?q=running+shoes&page=%d" }
local agents = {
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0" }
local releases = { "v2.3.1", "v2.3.2", "v2.4.0" }
local connections = { "4g", "4g", "3g" }
local function pick(t) return t[math.random(#t)] end
function request()
  counter = counter + 1
  local pv = string.format("b%09dx%09d", thread_id, counter)
  -- Metric ids carry their creation time (now), as the agent's do.
  local id = "v1-" .. now_ms .. "-"
  local ttfb = 40 + 900 * math.random() ^ 2
  local fcp = ttfb + 150 + 2500 * math.random() ^ 2
  local lcp = fcp + 2000 * math.random() ^ 2
  local cls = 0.4 * math.random() ^ 3
  local url = "https://shop.example" .. string.format(pick(urls), math.random(1, 99999))
  local body = '{"v":1,"site":"bench","page_view_id":"' .. pv .. '","seq":0,' ..
    '"url":"' .. url .. '","navigation_type":"navigate",' ..
    '"sample_rate":1,"sent_at":1732680000000,"release":"' .. pick(releases) ..
    '","connection":"' .. pick(connections) .. '","metrics":[' ..
    string.format('{"name":"FCP","id":"%s1000000000001","value":%.1f,"delta":%.1f,"rating":"good"},', id, fcp, fcp) ..
    string.format('{"name":"LCP","id":"%s1000000000002","value":%.1f,"delta":%.1f,"rating":"good",', id, lcp, lcp) ..
      '"attribution":{"target":"html>body>main>img.hero","url":"https://cdn.shop.example/img/hero-1200.jpg"}},' ..
    string.format('{"name":"CLS","id":"%s1000000000003","value":%.4f,"delta":%.4f,"rating":"good"},', id, cls, cls) ..
    string.format('{"name":"TTFB","id":"%s1000000000004","value":%.1f,"delta":%.1f,"rating":"good"}]}', id, ttfb, ttfb)
  return wrk.format("POST", "/v1/ingest?site=bench", { ["Content-Type"] = "text/plain;charset=UTF-8",
    ["User-Agent"] = pick(agents) }, body)
end
function done(summary, latency, requests)
  io.write(string.format("BENCH requests=%d duration_us=%d errors=%d p50=%d p95=%d p99=%d\n",
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"#;

/// Stops a child on drop: SIGTERM first, so that nginx's master takes its
/// workers down with it (SIGKILL would orphan them, holding our stdout open).
pub(crate) struct KillOnDrop(pub(crate) Child);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        for _ in 0..50 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct WrkResult {
    requests: u64,
    non_2xx: u64,
    secs: f64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wrk(url: &str, script: &Path, connections: u32, secs: u32) -> Result<WrkResult> {
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{secs}s"),
            "-s",
        ])
        .arg(script)
        .arg(url)
        .output()
        .context("running wrk (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text
        .lines()
        .find(|l| l.starts_with("BENCH "))
        .context("wrk output")?;
    let field = |k: &str| -> f64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    let non_2xx = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Ok(WrkResult {
        requests: field("requests") as u64,
        non_2xx,
        secs: field("duration_us") / 1e6,
        p50_ms: field("p50") / 1000.0,
        p95_ms: field("p95") / 1000.0,
        p99_ms: field("p99") / 1000.0,
    })
}

const WARMUP_SECS: u32 = 5;

/// (beacons, rows) of `site` in PostgreSQL, checked against what wrk saw
/// answered 2xx: wrk stops counting at its deadline, so requests still in
/// flight then (at most one per connection) may be stored without being counted.
fn stored(url: &str, site: &str, run: &WrkResult, connections: u32) -> Result<(u64, u64)> {
    let out = Command::new("psql")
        .args([
            url,
            "-Atc",
            &format!(
                "SELECT COUNT(DISTINCT page_view_id), COUNT(*) FROM metric WHERE site = '{site}'"
            ),
        ])
        .output()?;
    let counts = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let (beacons, rows) = counts
        .split_once('|')
        .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
        .context("counting rows")?;
    let accepted = run.requests - run.non_2xx;
    if beacons < accepted || beacons > accepted + u64::from(connections) {
        bail!("durability ({site}): {accepted} beacons got a 2xx but {beacons} are in PostgreSQL");
    }
    Ok((beacons, rows))
}

/// Waits (up to ten minutes: a spool may hold a long backlog) until the
/// collector's queue or spool has been written out.
pub(crate) fn wait_for_empty_queue(port: u16) {
    for _ in 0..6000 {
        let m = http_get(port, "/metrics").unwrap_or_default();
        if m.lines().any(|l| l == "strray_queue_rows 0") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The collector's receive-to-commit histogram (`strray_rollup_lag_seconds`):
/// (upper bound in s, cumulative count), +Inf as infinity.
fn lag_histogram(port: u16) -> Vec<(f64, u64)> {
    http_get(port, "/metrics")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("strray_rollup_lag_seconds_bucket{le=\""))
        .filter_map(|l| {
            let (le, n) = l.split_once("\"} ")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, n.trim().parse().ok()?))
        })
        .collect()
}

/// The bucket bound under which 99 % of the rows stored between two reads of
/// the histogram were committed (an upper bound on their p99).
fn lag_p99(before: &[(f64, u64)], after: &[(f64, u64)]) -> Option<f64> {
    let diff: Vec<(f64, u64)> = after
        .iter()
        .map(|&(le, n)| {
            (
                le,
                n - before.iter().find(|b| b.0 == le).map_or(0, |b| b.1).min(n),
            )
        })
        .collect();
    let total = diff.last()?.1;
    diff.iter()
        .find(|&&(_, n)| n as f64 >= 0.99 * total as f64)
        .map(|&(le, _)| le)
}

pub(crate) fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time (user + system, in clock ticks) of a process: its own, and what
/// its exited, reaped children used (PostgreSQL backends; wrk and psql for us).
fn cpu_ticks(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name, from the 3rd (the state, a
    // letter: 0 here, kept for the positions); utime is the 14th.
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .map(|f| f.parse().unwrap_or(0))
                .collect()
        })
        .unwrap_or_default();
    let field = |n: usize| fields.get(n - 3).copied().unwrap_or(0);
    (field(14) + field(15), field(16) + field(17))
}

/// CPU ticks of a PostgreSQL cluster: the postmaster, its reaped children
/// and its live ones.
fn postgres_ticks(data: &Path) -> u64 {
    let Some(pid) = std::fs::read_to_string(data.join("postmaster.pid"))
        .ok()
        .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<u32>().ok()))
    else {
        return 0;
    };
    let live = Command::new("pgrep")
        .args(["-P", &pid.to_string()])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let (own, reaped) = cpu_ticks(pid);
    own + reaped
        + live
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .map(|p| cpu_ticks(p).0)
            .sum::<u64>()
}

pub(crate) fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// CPU ticks of this process's exited, waited-for children (wrk, psql): the
/// difference around one `wrk` call is that wrk's CPU time.
fn children_ticks() -> u64 {
    cpu_ticks(std::process::id()).1
}

/// The rollup function before migration 0080 (it also upserted the
/// all-dimension hourly histogram), put back inside a rolled-back transaction
/// so that one run measures the rollup layout before and after.
const OLD_ROLLUPS: &str =
    include_str!("../../migrations/postgres/20261127000060_rollups_one_pass.sql");

fn old_rollup_function() -> Result<String> {
    let start = OLD_ROLLUPS
        .find("CREATE FUNCTION strray_rollups_on_change()")
        .context("old rollup function not found")?;
    let end = OLD_ROLLUPS[start..]
        .find("$fn$;")
        .context("old rollup function end not found")?;
    Ok(OLD_ROLLUPS[start..start + end + 5].replacen(
        "CREATE FUNCTION",
        "CREATE OR REPLACE FUNCTION",
        1,
    ))
}

/// PostgreSQL's time (ms) to INSERT the stored rows of `site` again in one
/// statement — the writer's batch shape — with the rollup triggers off
/// (`session_replication_role = replica`), on, and on with the rollup layout
/// before migration 0080, inside a transaction that is rolled back. One
/// backend working alone, so elapsed ≈ its CPU time.
fn insert_cost_ms(url: &str, site: &str) -> Result<(f64, f64, f64)> {
    let sql = format!(
        "BEGIN;\n\
         CREATE TEMP TABLE again ON COMMIT DROP AS SELECT * FROM metric WHERE site = '{site}';\n\
         SET LOCAL session_replication_role = replica;\n\
         DELETE FROM metric WHERE site = '{site}';\n\
         \\timing on\n\
         INSERT INTO metric SELECT * FROM again;\n\
         \\timing off\n\
         DELETE FROM metric WHERE site = '{site}';\n\
         SET LOCAL session_replication_role = origin;\n\
         \\timing on\n\
         INSERT INTO metric SELECT * FROM again;\n\
         \\timing off\n\
         DELETE FROM metric WHERE site = '{site}';\n\
         CREATE TABLE metric_rollup_hist (site TEXT NOT NULL, name TEXT NOT NULL, hour TIMESTAMPTZ NOT NULL, \
           route TEXT NOT NULL, form_factor TEXT NOT NULL, engine TEXT NOT NULL, country TEXT NOT NULL, \
           release TEXT NOT NULL, bucket INTEGER NOT NULL, samples BIGINT NOT NULL, weight DOUBLE PRECISION NOT NULL, \
           PRIMARY KEY (site, hour, name, route, form_factor, engine, country, release, bucket));\n\
         {old}\n\
         \\timing on\n\
         INSERT INTO metric SELECT * FROM again;\n\
         \\timing off\n\
         ROLLBACK;\n",
        old = old_rollup_function()?
    );
    let mut child = Command::new("psql")
        .args([url, "-qX", "-v", "ON_ERROR_STOP=1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running psql")?;
    child
        .stdin
        .take()
        .context("psql stdin")?
        .write_all(sql.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("psql: {}", String::from_utf8_lossy(&out.stderr));
    }
    let times: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("Time: "))
        .filter_map(|t| t.split_whitespace().next()?.parse().ok())
        .collect();
    match times[..] {
        [off, on, old] => Ok((off, on, old)),
        _ => bail!("psql timings: {times:?}"),
    }
}

pub fn ingest(secs: u32, connections: u32) -> Result<()> {
    let root = crate::root();
    // fsync, synchronous commit and full-page writes on: "durable" means on disk.
    let pg = TempPostgres::start_durable()?;
    // STRRAY_BENCH_COLLECTOR: another build (e.g. the design before a change)
    // measured in the same session as this one, instead of building this tree.
    let collector_bin = match std::env::var_os("STRRAY_BENCH_COLLECTOR") {
        Some(bin) => std::path::PathBuf::from(bin),
        None => {
            crate::build_release_collector()?;
            root.join("target/release/strray-collector")
        }
    };
    // The load as a wrk script, for site `bench` and, the same load for other
    // sites, the warm-up (not counted) and the paced run.
    let script_for = |site: &str, base: &str, extra: &str| -> Result<std::path::PathBuf> {
        let path = std::env::temp_dir().join(format!("strray-bench-{site}.lua"));
        let text = base
            .replace(r#""site":"bench""#, &format!(r#""site":"{site}""#))
            .replace("site=bench", &format!("site={site}"));
        std::fs::write(&path, text + extra)?;
        Ok(path)
    };
    let for_site = |site: &str, extra: &str| script_for(site, WRK_SCRIPT, extra);
    let script = for_site("bench", "")?;
    let warmup_script = for_site("warmup", "")?;
    // The same beacons made invalid by their last metric (a negative value):
    // the collector parses and validates all of each, then answers 422 —
    // its per-beacon cost without the queue, the writer and PostgreSQL.
    let invalid = WRK_SCRIPT.replace(
        r#"{"name":"TTFB","id":"%s1000000000004","value":%.1f"#,
        r#"{"name":"TTFB","id":"%s1000000000004","value":-%.1f"#,
    );
    if invalid == WRK_SCRIPT {
        bail!("bench script: the TTFB value to invalidate was not found");
    }
    let rejected_script = script_for("rejected", &invalid, "")?;

    // Ceiling: nginx answering 204 to the same requests.
    let nginx_port = free_port()?;
    let nginx_dir = std::env::temp_dir().join(format!("strray-nginx-{}", std::process::id()));
    std::fs::create_dir_all(&nginx_dir)?;
    std::fs::write(
        nginx_dir.join("nginx.conf"),
        format!(
            "worker_processes auto; daemon off; pid {d}/nginx.pid; error_log {d}/error.log;\n\
             events {{ worker_connections 1024; }}\n\
             http {{ access_log off; client_body_temp_path {d}; \
             server {{ listen 127.0.0.1:{nginx_port}; location / {{ return 204; }} }} }}\n",
            d = nginx_dir.display()
        ),
    )?;
    let nginx = KillOnDrop(
        Command::new("nginx")
            .args(["-c"])
            .arg(nginx_dir.join("nginx.conf"))
            .spawn()
            .context("starting nginx (apt-get install nginx)")?,
    );
    std::thread::sleep(Duration::from_millis(500));
    let wrk_ticks_before = children_ticks();
    let ceiling = wrk(
        &format!("http://127.0.0.1:{nginx_port}"),
        &script,
        connections,
        secs,
    )?;
    let ceiling_wrk_ticks = children_ticks().saturating_sub(wrk_ticks_before);
    drop(nginx);

    // The collector on PostgreSQL. Migrations first, timed on their own: a
    // deploy or restart starts on a migrated database, and that start is the
    // readiness figure.
    let migrate_started = Instant::now();
    let status = Command::new(&collector_bin)
        .arg("migrate")
        .env("DATABASE_URL", &pg.url)
        .env("RUST_LOG", "warn")
        .status()?;
    if !status.success() {
        bail!("strray-collector migrate failed: {status}");
    }
    let migrate_time = migrate_started.elapsed();
    let port = free_port()?;
    let started = Instant::now();
    // The durable acknowledgement: every 2xx is fsynced in the spool first.
    let spool_dir = std::env::temp_dir().join(format!("strray-bench-spool-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&spool_dir);
    std::fs::create_dir_all(&spool_dir)?;
    let child = Command::new(&collector_bin)
        .env("DATABASE_URL", &pg.url)
        .env("STRRAY_SPOOL_PATH", spool_dir.join("spool.db"))
        .env("STRRAY_BIND", format!("127.0.0.1:{port}"))
        .env("STRRAY_RATE_LIMIT_CLIENT", "0")
        .env("STRRAY_RATE_LIMIT_SITE", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()?;
    let pid = child.id();
    let collector = KillOnDrop(child);
    let mut ready = None;
    for _ in 0..2000 {
        if http_get(port, "/readyz").is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
            ready = Some(started.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let ready = ready.context("collector did not become ready")?;
    std::thread::sleep(Duration::from_millis(500));
    let rss_idle = rss_kb(pid);

    let peak = Arc::new(AtomicU64::new(0));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kb(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    // Each load on the collector is followed by waiting for its queue to drain.
    let collector_url = format!("http://127.0.0.1:{port}");
    // Returns wrk's result and how long the drain took after wrk stopped.
    let drive = |script: &Path, secs: u32| -> Result<(WrkResult, f64)> {
        let result = wrk(&collector_url, script, connections, secs)?;
        let drain = Instant::now();
        wait_for_empty_queue(port);
        Ok((result, drain.elapsed().as_secs_f64()))
    };
    // Warm-up: a new cluster creates and zero-fills (and, durable, fsyncs) its
    // WAL segments on first use, which a database in service did long ago; that
    // halved the measured rate of a cold run (5 110 beacons/s vs ~10 000).
    drive(&warmup_script, WARMUP_SECS)?;
    // Durable = in PostgreSQL, counted once the queue is empty.
    let ticks_before = (cpu_ticks(pid).0, postgres_ticks(&pg.data));
    let lag_before = lag_histogram(port);
    let (run, drain_secs) = drive(&script, secs)?;
    let lag_after = lag_histogram(port);
    let ticks = (
        cpu_ticks(pid).0.saturating_sub(ticks_before.0),
        postgres_ticks(&pg.data).saturating_sub(ticks_before.1),
    );
    let (beacons, rows) = stored(&pg.url, "bench", &run, connections)?;
    // In PostgreSQL per second of the run and of the drain that followed it
    // (with the spool, wrk's 2xx rate is the rate onto local disk).
    let durable_rate = beacons as f64 / (run.secs + drain_secs);
    let spooled_rate = (run.requests - run.non_2xx) as f64 / run.secs;

    // Saturated, wrk's connections resend at once after each 503 (without a
    // spool, or with a full one), so most
    // answers above are fast refusals and their latency is not that of stored
    // beacons. The same load paced to 90 % of the durable rate (wrk's delay()
    // hook: each connection waits between requests) gives the latency at a rate
    // the collector sustains without shedding.
    let pace_ms = (f64::from(connections) * 1000.0 / (0.9 * durable_rate))
        .round()
        .max(1.0);
    let paced_script = for_site("paced", &format!("function delay() return {pace_ms} end\n"))?;
    let lag_paced_before = lag_histogram(port);
    let (paced, _) = drive(&paced_script, secs)?;
    let lag_paced_after = lag_histogram(port);
    let (paced_beacons, _) = stored(&pg.url, "paced", &paced, connections)?;
    let paced_rate = paced_beacons as f64 / paced.secs;
    let before = (cpu_ticks(pid).0, children_ticks());
    let rejected = wrk(&collector_url, &rejected_script, connections, secs)?;
    let rejected_ticks = (
        cpu_ticks(pid).0.saturating_sub(before.0),
        children_ticks().saturating_sub(before.1),
    );
    if rejected.non_2xx != rejected.requests {
        bail!(
            "rejected run: {} of {} beacons were not refused",
            rejected.requests - rejected.non_2xx,
            rejected.requests
        );
    }
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.join();
    drop(collector);
    let _ = std::fs::remove_dir_all(&spool_dir);
    let (insert_off_ms, insert_on_ms, insert_old_ms) = insert_cost_ms(&pg.url, "bench")?;
    let accepted = run.requests - run.non_2xx;
    let ceiling_rate = ceiling.requests as f64 / ceiling.secs;

    println!("command: cargo xtask bench-ingest --secs {secs} --connections {connections}");
    if let Some(bin) = std::env::var_os("STRRAY_BENCH_COLLECTOR") {
        println!(
            "collector: STRRAY_BENCH_COLLECTOR={}",
            bin.to_string_lossy()
        );
    }
    println!(
        "wrk -t2 -c{connections} -d{secs}s, 710–760-byte beacons (4 metrics each, values, URLs, browsers and releases varied), 2 cores shared by wrk, server and PostgreSQL (default durable settings: fsync, synchronous_commit, full_page_writes on), after a {WARMUP_SECS} s warm-up of the same load for another site"
    );
    println!();
    println!("| target | req/s | p50 ms | p95 ms | p99 ms | non-2xx |");
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| nginx `return 204` (ceiling) | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
        ceiling_rate, ceiling.p50_ms, ceiling.p95_ms, ceiling.p99_ms, ceiling.non_2xx
    );
    println!(
        "| collector → PostgreSQL (durable), saturated | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
        durable_rate, run.p50_ms, run.p95_ms, run.p99_ms, run.non_2xx
    );
    println!(
        "| collector → PostgreSQL (durable), paced (each connection waits {pace_ms} ms) | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
        paced_rate, paced.p50_ms, paced.p95_ms, paced.p99_ms, paced.non_2xx
    );
    println!();
    println!("| measure | value |");
    println!("|---|---:|");
    println!(
        "| durable / ceiling (beacons in PostgreSQL per second of the run and its {drain_secs:.1} s drain) | {:.2}× |",
        durable_rate / ceiling_rate
    );
    println!(
        "| 2xx'd (fsynced in the spool) per second of the saturated run / ceiling | {spooled_rate:.0} / s, {:.2}× |",
        spooled_rate / ceiling_rate
    );
    println!(
        "| beacons 2xx'd (counted by wrk) / in PostgreSQL | {accepted} / {beacons} ({rows} rows; the difference is requests in flight at wrk's deadline) |"
    );
    println!(
        "| collector RSS idle | {:.1} MB |",
        rss_idle as f64 / 1024.0
    );
    println!(
        "| collector RSS peak under load | {:.1} MB |",
        peak.load(Ordering::Relaxed) as f64 / 1024.0
    );
    // Clock ticks are 1/100 s on Linux (USER_HZ).
    println!(
        "| CPU during the saturated run and its drain: collector / PostgreSQL | {:.1} s / {:.1} s (PostgreSQL {:.0} µs per stored row) |",
        ticks.0 as f64 / 100.0,
        ticks.1 as f64 / 100.0,
        ticks.1 as f64 * 10_000.0 / rows.max(1) as f64
    );
    let secs_or_none = |p: Option<f64>| p.map_or("no rows".to_string(), |s| format!("≤ {s} s"));
    println!(
        "| rollup freshness (2xx → row and every rollup committed), p99: saturated / paced | {} / {} |",
        secs_or_none(lag_p99(&lag_before, &lag_after)),
        secs_or_none(lag_p99(&lag_paced_before, &lag_paced_after))
    );
    println!("| start → ready (migrated DB) | {} ms |", ready.as_millis());
    println!(
        "| `strray-collector migrate` on an empty database | {} ms |",
        migrate_time.as_millis()
    );

    // What 0.5× would take on this machine, from the per-item CPU costs just
    // measured (µs of CPU per request, beacon or row).
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as f64;
    let target = 0.5 * ceiling_rate;
    let rows_per_beacon = rows as f64 / beacons.max(1) as f64;
    let us = |ticks: u64, n: u64| ticks as f64 * 10_000.0 / n.max(1) as f64;
    let wrk_us = us(rejected_ticks.1, rejected.requests);
    let parse_us = us(rejected_ticks.0, rejected.requests);
    let row_off_us = insert_off_ms * 1000.0 / rows.max(1) as f64;
    let row_on_us = insert_on_ms * 1000.0 / rows.max(1) as f64;
    let row_old_us = insert_old_ms * 1000.0 / rows.max(1) as f64;
    let need = |us_each: f64, per_s: f64| us_each * per_s / 1e6;
    println!();
    println!(
        "CPU budget at 0.5× the ceiling ({target:.0} beacons/s = {:.0} rows/s) on {cores:.0} cores:",
        target * rows_per_beacon
    );
    println!();
    println!("| consumer | CPU per item (measured here) | cores at 0.5× |");
    println!("|---|---:|---:|");
    println!(
        "| wrk, building and sending a beacon (nginx run: {:.1} µs) | {wrk_us:.1} µs / request | {:.2} |",
        us(ceiling_wrk_ticks, ceiling.requests),
        need(wrk_us, target)
    );
    println!(
        "| collector, parse + validate + 422 only (no queue, writer or database; {:.0} rejected/s) | {parse_us:.1} µs / beacon | {:.2} |",
        rejected.requests as f64 / rejected.secs,
        need(parse_us, target)
    );
    println!(
        "| PostgreSQL, INSERT of the stored rows in one statement, rollup triggers off | {row_off_us:.1} µs / row | {:.2} |",
        need(row_off_us, target * rows_per_beacon)
    );
    println!(
        "| PostgreSQL, the same with the rollup triggers | {row_on_us:.1} µs / row | {:.2} |",
        need(row_on_us, target * rows_per_beacon)
    );
    println!(
        "| PostgreSQL, the same with the rollup layout before migration 0080 (all-dimension hourly histogram) | {row_old_us:.1} µs / row | {:.2} |",
        need(row_old_us, target * rows_per_beacon)
    );
    println!(
        "| total without rollups (a lower bound: the accepted path also derives dimensions, queues and encodes batches; commits fsync) | | {:.2} of {cores:.0} |",
        need(wrk_us, target) + need(parse_us, target) + need(row_off_us, target * rows_per_beacon)
    );
    Ok(())
}
