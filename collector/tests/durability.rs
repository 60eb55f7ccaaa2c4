//! Accepted means kept: beacons that got a 2xx survive a PostgreSQL restart in
//! the middle of a stream, and a SIGTERM of the collector in the middle of a stream.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use collector::configuration::Settings;
use collector::startup::Application;
use serde_json::json;

/// A port for a PostgreSQL cluster (which cannot report a port-0 bind back).
/// A clash with another process shows as a failed `pg_ctl start`, which
/// `PrivateCluster::start_new` answers by trying another port.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The collector binary on port 0, with `envs`; returns it once it printed the
/// address it bound (read back from its stdout line), and its stderr lines.
/// A collector that never says it listens fails the test.
/// The collector's stderr, read on a thread until the process closes it.
struct Stderr {
    lines: Arc<Mutex<Vec<String>>>,
    reader: std::thread::JoinHandle<()>,
}

impl Stderr {
    /// All lines, once the process has exited and its stderr is read to the end.
    fn finish(self) -> Vec<String> {
        let _ = self.reader.join();
        std::mem::take(&mut *self.lines.lock().unwrap())
    }
}

fn spawn_collector(envs: &[(&str, &str)]) -> (Child, String, Stderr) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strray-collector"));
    cmd.env("STRRAY_BIND", "127.0.0.1:0")
        .env("STRRAY_RATE_LIMIT_CLIENT", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let (err, lines) = (child.stderr.take().unwrap(), lines.clone());
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(l);
            }
        })
    };
    let stderr = Stderr { lines, reader };
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(a) = l.strip_prefix("strray-collector listening on ") {
                let _ = tx.send(a.to_string());
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(base) => (child, base, stderr),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the collector never reported its address; stderr:\n{}",
                stderr.finish().join("\n")
            );
        }
    }
}

fn sigterm(child: &Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
}

/// One value from `/metrics` (`name` includes the labels).
async fn metric(base: &str, name: &str) -> u64 {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} not in /metrics"))
        .trim()
        .parse::<f64>()
        .unwrap() as u64
}

fn beacon(pv: &str) -> String {
    json!({
        "v": 1, "site": "dur", "page_view_id": pv, "seq": 0,
        "url": "https://dur.example/a/b?c=d", "navigation_type": "navigate", "sample_rate": 1,
        "metrics": [
            {"name": "FCP", "id": "v1-1-1", "value": 500.5},
            {"name": "LCP", "id": "v1-1-2", "value": 1500.25},
            {"name": "CLS", "id": "v1-1-3", "value": 0.015}
        ]
    })
    .to_string()
}

/// Page views that got a 2xx, in the order the answers came.
type Accepted = Arc<Mutex<Vec<String>>>;

/// Streams beacons from `senders` tasks until `stop` is set or sends fail
/// persistently; returns the page views that got a 2xx. `accepted` fills as
/// answers come, so a test can see what was accepted in a time window.
/// Every `poison_every`-th beacon (if set) is named `poison…`.
async fn stream_into(
    base: String,
    senders: usize,
    stop: Arc<Mutex<bool>>,
    accepted: Accepted,
    poison_every: Option<usize>,
) -> Vec<String> {
    let mut tasks = Vec::new();
    for t in 0..senders {
        let (base, stop, accepted) = (base.clone(), stop.clone(), accepted.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            let mut failures = 0;
            for i in 0.. {
                if *stop.lock().unwrap() || failures > 20 {
                    break;
                }
                let poison = poison_every.is_some_and(|n| i % n == n / 2);
                let pv = if poison {
                    format!("poison{t:02}x{i:08}")
                } else {
                    format!("pv{t:02}x{i:08}")
                };
                let r = client
                    .post(format!("{base}/v1/ingest?site=dur"))
                    .header("content-type", "text/plain")
                    .body(beacon(&pv))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().is_success() => {
                        accepted.lock().unwrap().push(pv);
                        failures = 0;
                        // A steady stream, not a flood: the debug-build writer
                        // keeps up, so a full queue (503) never ends a sender.
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                    _ => {
                        failures += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    accepted.lock().unwrap().clone()
}

async fn stream(base: String, senders: usize, stop: Arc<Mutex<bool>>) -> Vec<String> {
    stream_into(base, senders, stop, Accepted::default(), None).await
}

async fn stored_page_views(url: &str) -> Vec<(String, i64)> {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT page_view_id, COUNT(*) FROM metric WHERE site = 'dur' GROUP BY page_view_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows
}

fn assert_all_kept(accepted: &[String], stored: &[(String, i64)]) {
    assert!(
        !accepted.is_empty(),
        "the stream must have been accepted at all"
    );
    let stored_set: HashSet<&str> = stored.iter().map(|(p, _)| p.as_str()).collect();
    for pv in accepted {
        assert!(
            stored_set.contains(pv.as_str()),
            "accepted page view {pv} is missing"
        );
    }
    for (pv, n) in stored {
        assert_eq!(*n, 3, "page view {pv} has all three metrics, once each");
    }
}

async fn create_database(admin: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let name = format!("dur_{}_{n}", std::process::id());
    let pool = sqlx::PgPool::connect(admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    format!("{}/{name}", admin.rsplit_once('/').unwrap().0)
}

fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
        .expect("DATABASE_URL (PostgreSQL) must be set; run `cargo xtask test`")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_during_a_stream_loses_no_accepted_beacon() {
    let url = create_database(&admin_url()).await;
    // A long batch interval keeps accepted rows in the queue for a while, so
    // SIGTERM finds rows that only the drain can write.
    let (child, base, stderr) =
        spawn_collector(&[("DATABASE_URL", &url), ("STRRAY_BATCH_INTERVAL_MS", "3000")]);
    let stop = Arc::new(Mutex::new(false));
    let streaming = tokio::spawn(stream(base.clone(), 4, stop.clone()));
    tokio::time::sleep(Duration::from_millis(800)).await;
    // Queued rows at (just before) SIGTERM; the stream keeps going meanwhile.
    let queued = metric(&base, "strray_queue_rows").await;
    let stored_before = stored_page_views(&url).await.len();
    sigterm(&child);
    let mut child = child;
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    *stop.lock().unwrap() = true;
    let accepted = streaming.await.unwrap();
    assert!(
        queued > 0,
        "rows were still queued when SIGTERM arrived (else the drain proves nothing)"
    );
    assert!(
        status.success(),
        "collector exits cleanly after draining: {status}"
    );
    assert_eq!(
        stderr.finish().last().map(String::as_str),
        Some("strray-collector stopped: rows_not_written=0")
    );
    let stored = stored_page_views(&url).await;
    assert!(
        stored.len() * 3 >= stored_before * 3 + queued as usize,
        "the drain wrote what was queued at SIGTERM"
    );
    assert_all_kept(&accepted, &stored);
}

/// A batch interval longer than the shutdown grace: the batch being filled
/// when SIGTERM arrives is written at once, not after the interval (when the
/// grace is long over and the rows would be lost).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_writes_a_filling_batch_without_waiting_for_its_interval() {
    let url = create_database(&admin_url()).await;
    let (child, base, stderr) = spawn_collector(&[
        ("DATABASE_URL", &url),
        ("STRRAY_BATCH_INTERVAL_MS", "600000"),
        ("STRRAY_SHUTDOWN_GRACE_SECS", "5"),
    ]);
    let client = reqwest::Client::new();
    let mut accepted = Vec::new();
    for i in 0..20 {
        let pv = format!("fill-{i}");
        let r = client
            .post(format!("{base}/v1/ingest?site=dur"))
            .header("content-type", "text/plain")
            .body(beacon(&pv))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "beacon {pv}: {}", r.status());
        accepted.push(pv);
    }
    assert_eq!(
        stored_page_views(&url).await.len(),
        0,
        "nothing written before SIGTERM: the batch is still filling"
    );
    sigterm(&child);
    let mut child = child;
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    let last = stderr.finish().last().cloned();
    assert!(status.success(), "clean exit after the drain: {status}");
    assert_eq!(
        last.as_deref(),
        Some("strray-collector stopped: rows_not_written=0")
    );
    assert_all_kept(&accepted, &stored_page_views(&url).await);
}

/// SIGTERM while PostgreSQL is down, with a short grace: the rows that were
/// 2xx'd but never written are lost — and the collector says so: exit code 3
/// and a last line with the exact number (2xx'd rows minus rows in the
/// database), the number `strray_metric_rows_total{stage="dropped"}` counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_during_an_outage_exits_non_zero_with_the_exact_loss() {
    let cluster = PrivateCluster::start_new();
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port);
    let (child, base, stderr) = spawn_collector(&[
        ("DATABASE_URL", &url),
        ("STRRAY_BATCH_INTERVAL_MS", "50"),
        ("STRRAY_SHUTDOWN_GRACE_SECS", "1"),
        // Room to accept beacons throughout the outage.
        ("STRRAY_QUEUE_CAPACITY", "100000"),
    ]);
    let stop = Arc::new(Mutex::new(false));
    let accepted = Accepted::default();
    let streaming = tokio::spawn(stream_into(
        base.clone(),
        3,
        stop.clone(),
        accepted.clone(),
        None,
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.stop();
    let at_stop = accepted.lock().unwrap().len();
    // Keep streaming into the outage until some beacons were accepted in it.
    for _ in 0..200 {
        if accepted.lock().unwrap().len() > at_stop + 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        accepted.lock().unwrap().len() > at_stop,
        "beacons were accepted during the outage"
    );
    sigterm(&child);
    let mut child = child;
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    *stop.lock().unwrap() = true;
    let accepted = streaming.await.unwrap();
    assert_eq!(status.code(), Some(3), "a lossy shutdown is not a success");
    let last = stderr.finish().last().cloned().unwrap_or_default();
    let reported: u64 = last
        .strip_prefix("strray-collector stopped: rows_not_written=")
        .unwrap_or_else(|| panic!("last line: {last}"))
        .parse()
        .unwrap();
    cluster.start();
    let stored = stored_page_views(&url).await;
    let stored_rows: i64 = stored.iter().map(|(_, n)| n).sum();
    let accepted_rows = accepted.len() as u64 * 3;
    assert!(reported > 0);
    assert_eq!(
        reported,
        accepted_rows - stored_rows as u64,
        "the reported loss is exact: 2xx'd rows minus stored rows"
    );
}

/// A poison row in the middle of a stream (the test database refuses rows of
/// `poison…` page views, as it would a value it cannot store): every good
/// 2xx'd beacon is stored, the poison rows are in `metric_dead_letter`, and
/// ingest never stalls — no beacon is shed, every send got a 2xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poison_row_mid_stream_is_dead_lettered_and_ingest_never_stalls() {
    poison_rows_mid_stream(None).await;
}

/// The same through the spool: the drainer's merge holding a poison row is
/// refused whole, and its entries go batch by batch so that only the poison
/// rows are dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poison_row_in_a_spool_merge_is_dead_lettered_and_the_rest_stored() {
    let spool = spool_path();
    poison_rows_mid_stream(Some(spool.clone())).await;
    let _ = std::fs::remove_dir_all(spool.parent().unwrap());
}

async fn poison_rows_mid_stream(spool_path: Option<PathBuf>) {
    let url = create_database(&admin_url()).await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let store = collector::storage::Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    sqlx::query(
        "ALTER TABLE metric ADD CONSTRAINT test_no_poison CHECK (page_view_id NOT LIKE 'poison%')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let app = Application::build(Settings {
        bind: "127.0.0.1:0".into(),
        database_url: Some(url.clone()),
        batch_interval_ms: 50,
        rate_limit_client: 0,
        // Room to accept beacons throughout an outage or a slow stretch.
        queue_capacity: 100_000,
        spool_path,
        ..Settings::default()
    })
    .await
    .unwrap();
    let base = format!("http://{}", app.addr());
    let stats = app.stats();
    tokio::spawn(app.run_until_stopped());
    let stop = Arc::new(Mutex::new(false));
    let accepted = Accepted::default();
    let streaming = tokio::spawn(stream_into(
        base.clone(),
        3,
        stop.clone(),
        accepted.clone(),
        Some(150),
    ));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    *stop.lock().unwrap() = true;
    let accepted = streaming.await.unwrap();
    for _ in 0..2400 {
        if stats.rows_queued() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(stats.rows_queued(), 0, "the writer drained its queue");
    let (poison, good): (Vec<String>, Vec<String>) =
        accepted.into_iter().partition(|p| p.starts_with("poison"));
    assert!(!poison.is_empty(), "poison beacons were sent and accepted");
    assert_eq!(
        metric(&base, "strray_beacons_total{outcome=\"shed\"}").await,
        0
    );
    let stored = stored_page_views(&url).await;
    assert_all_kept(&good, &stored);
    assert_eq!(stored.len(), good.len(), "every good page view, no poison");
    let dead: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM metric_dead_letter WHERE row_json LIKE '%\"poison%' AND error LIKE '%test_no_poison%'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        dead,
        poison.len() as i64 * 3,
        "each poison row dead-lettered"
    );
    assert_eq!(
        metric(&base, "strray_metric_rows_total{stage=\"refused\"}").await,
        poison.len() as u64 * 3
    );
}

/// The access log names method, path, status — never the query string.
#[tokio::test]
async fn the_access_log_leaves_out_query_strings() {
    let db = std::env::temp_dir().join(format!("strray-access-{}.db", std::process::id()));
    let url = format!("sqlite://{}", db.display());
    let (child, base, stderr) = spawn_collector(&[
        ("DATABASE_URL", &url),
        ("RUST_LOG", "warn,strray::access=info"),
    ]);
    let r = reqwest::get(format!("{base}/healthz?token=SECRET-IN-QUERY"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    sigterm(&child);
    let mut child = child;
    tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    let log = stderr.finish().join("\n");
    assert!(
        log.contains("GET /healthz 200"),
        "the request is logged:\n{log}"
    );
    assert!(!log.contains("SECRET-IN-QUERY"), "{log}");
    let _ = std::fs::remove_file(db);
}

/// A sender that stalls in its body cannot hold shutdown for the grace period:
/// its request ends with the body timeout. (Grace 600 s: a collector that
/// waited on the body would outlive the test's bound.)
#[tokio::test]
async fn shutdown_does_not_wait_on_a_stalled_body() {
    use std::io::Write;
    let db = std::env::temp_dir().join(format!("strray-slow-{}.db", std::process::id()));
    let url = format!("sqlite://{}", db.display());
    let (child, base, _) = spawn_collector(&[
        ("DATABASE_URL", &url),
        ("STRRAY_SHUTDOWN_GRACE_SECS", "600"),
        ("STRRAY_BODY_TIMEOUT_MS", "500"),
    ]);
    let mut sock = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    sock.write_all(
        b"POST /v1/ingest?site=dur HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 400\r\n\r\n{\"v\":1,",
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    sigterm(&child);
    let mut child = child;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait().unwrap());
    });
    let status = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(120)))
        .await
        .unwrap()
        .expect("shutdown waited on the stalled body");
    assert!(status.success(), "{status}");
    drop(sock);
    let _ = std::fs::remove_file(db);
}

/// A private PostgreSQL cluster this test may stop and start at will.
struct PrivateCluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl PrivateCluster {
    fn cmd(&self, program: &str) -> Command {
        let p = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(p);
            c
        } else {
            Command::new(p)
        }
    }

    fn start_new() -> PrivateCluster {
        let mut bins: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL server binaries (Debian package postgresql)")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("initdb").exists())
            .collect();
        bins.sort();
        let as_postgres =
            String::from_utf8_lossy(&Command::new("id").arg("-u").output().unwrap().stdout).trim()
                == "0";
        // One directory per cluster: tests in this file run in parallel.
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let base =
            std::env::temp_dir().join(format!("strray-pgcluster-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        if as_postgres {
            Command::new("chown")
                .args(["-R", "postgres"])
                .arg(&base)
                .status()
                .unwrap();
        }
        let mut c = PrivateCluster {
            bin: bins.pop().unwrap(),
            data: base.join("data"),
            port: free_port(),
            as_postgres,
        };
        let ok = c
            .cmd("initdb")
            .arg("-D")
            .arg(&c.data)
            .args(["-U", "postgres", "-A", "trust", "--no-sync"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success());
        // The port was free a moment ago; if another process took it since,
        // start fails and another port is tried.
        for _ in 0..5 {
            if c.try_start() {
                return c;
            }
            c.port = free_port();
        }
        panic!("pg_ctl start failed on five ports");
    }

    fn start(&self) {
        assert!(self.try_start(), "pg_ctl start");
    }

    fn try_start(&self) -> bool {
        let ok = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.data.with_file_name("log"))
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1",
                self.port,
                self.data.parent().unwrap().display()
            ))
            .args(["-w", "start"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        ok.success()
    }

    /// Turns TLS on with a fresh self-signed certificate (openssl CLI) and refuses
    /// plaintext TCP connections, then restarts.
    fn enable_tls(&self) {
        let (cert, key) = (self.data.join("server.crt"), self.data.join("server.key"));
        let ok = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", "/CN=localhost"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(Stdio::null())
            .status()
            .expect("openssl CLI");
        assert!(ok.success());
        if self.as_postgres {
            Command::new("chown")
                .arg("postgres")
                .arg(&cert)
                .arg(&key)
                .status()
                .unwrap();
        }
        Command::new("chmod").arg("600").arg(&key).status().unwrap();
        let conf = self.data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap();
        text.push_str("\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        std::fs::write(&conf, text).unwrap();
        // TLS only: a TCP client that does not speak TLS is refused (the
        // socket stays for local administration).
        std::fs::write(
            self.data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
        )
        .unwrap();
        self.stop();
        self.start();
    }

    fn stop(&self) {
        let ok = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success(), "pg_ctl stop");
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(self.data.parent().unwrap());
    }
}

/// PostgreSQL stopped and restarted under a stream: beacons keep being
/// accepted while it is down, and every 2xx'd one is stored afterwards. While
/// it is down `/readyz` answers 503 at once (a probe with a 3 s timeout gets
/// its answer), and the dashboard and verdict answer 503 with a clear message.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_restart_mid_stream_loses_no_accepted_beacon() {
    let cluster = PrivateCluster::start_new();
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port);
    let app = Application::build(Settings {
        bind: "127.0.0.1:0".into(),
        database_url: Some(url.clone()),
        batch_interval_ms: 50,
        rate_limit_client: 0,
        // Room to accept beacons throughout an outage or a slow stretch.
        queue_capacity: 100_000,
        ..Settings::default()
    })
    .await
    .unwrap();
    let base = format!("http://{}", app.addr());
    let stats = app.stats();
    tokio::spawn(app.run_until_stopped());

    let stop = Arc::new(Mutex::new(false));
    let accepted = Accepted::default();
    let streaming = tokio::spawn(stream_into(
        base.clone(),
        3,
        stop.clone(),
        accepted.clone(),
        None,
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.stop();
    // From here until the restart below, PostgreSQL is down.
    let during_from = accepted.lock().unwrap().len();
    let probe = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let mut ready = None;
    for _ in 0..100 {
        let r = probe.get(format!("{base}/readyz")).send().await;
        let r = r.expect("/readyz answers within the probe's 3 s timeout");
        if r.status().as_u16() == 503 {
            ready = Some(r.json::<serde_json::Value>().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        ready.expect("/readyz turned 503 in the outage")["reason"],
        "database_unreachable"
    );
    let r = reqwest::get(format!("{base}/v1/sites/dur/verdict"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503, "verdict");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "database_unavailable", "verdict: {body}");
    assert!(body["message"].as_str().unwrap().contains("unreachable"));
    // The dashboard is a browser page: the same 503, said in HTML.
    let r = reqwest::get(format!("{base}/")).await.unwrap();
    assert_eq!(r.status().as_u16(), 503, "dashboard");
    assert!(
        r.headers().contains_key("retry-after"),
        "dashboard Retry-After"
    );
    let page = r.text().await.unwrap();
    assert!(
        page.contains("the database is unreachable"),
        "dashboard says why: {page}"
    );
    // Keep the outage until beacons were accepted in it.
    for _ in 0..200 {
        if accepted.lock().unwrap().len() > during_from + 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let during: Vec<String> = accepted.lock().unwrap()[during_from..].to_vec();
    // Accepted but not yet written: the outage really held rows in the queue.
    assert!(
        stats.rows_queued() > 0,
        "rows were waiting for the database"
    );
    cluster.start();
    tokio::time::sleep(Duration::from_millis(500)).await;
    *stop.lock().unwrap() = true;
    let accepted = streaming.await.unwrap();

    // Wait for the writer to catch up after its backoff.
    for _ in 0..400 {
        if stats.rows_queued() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stats.rows_queued(), 0, "queue drained after the restart");
    assert!(
        !during.is_empty(),
        "beacons were accepted during the outage"
    );
    let stored = stored_page_views(&url).await;
    let stored_set: HashSet<&str> = stored.iter().map(|(p, _)| p.as_str()).collect();
    for pv in &during {
        assert!(
            stored_set.contains(pv.as_str()),
            "{pv}, accepted during the outage, is stored"
        );
    }
    assert_all_kept(&accepted, &stored);
    assert_eq!(
        stored.len(),
        accepted.len(),
        "every accepted page view, no others"
    );
}

/// `DATABASE_URL=…?sslmode=require` talks TLS to PostgreSQL (managed databases
/// often insist): the session is encrypted and the collector works over it.
#[tokio::test]
async fn postgres_over_tls_when_the_url_asks_for_it() {
    let cluster = PrivateCluster::start_new();
    cluster.enable_tls();
    let url = format!(
        "postgres://postgres@127.0.0.1:{}/postgres?sslmode=require",
        cluster.port
    );
    let app = Application::build(Settings {
        bind: "127.0.0.1:0".into(),
        database_url: Some(url.clone()),
        batch_interval_ms: 20,
        ..Settings::default()
    })
    .await
    .unwrap();
    let base = format!("http://{}", app.addr());
    tokio::spawn(app.run_until_stopped());
    let resp = reqwest::Client::new()
        .post(format!("{base}/v1/ingest"))
        .header("content-type", "text/plain")
        .body(beacon("pvtls00000001"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);

    // The collector's own sessions, not this test's: by application_name.
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let (sessions, all_ssl): (i64, Option<bool>) = sqlx::query_as(
        "SELECT COUNT(*), bool_and(s.ssl) FROM pg_stat_ssl s
         JOIN pg_stat_activity a USING (pid) WHERE a.application_name = $1",
    )
    .bind(collector::storage::APPLICATION_NAME)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(sessions > 0, "the collector has sessions open");
    assert_eq!(all_ssl, Some(true), "every collector session is encrypted");
    let mut stored = Vec::new();
    for _ in 0..100 {
        stored = stored_page_views(&url).await;
        if !stored.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        stored.len(),
        1,
        "the beacon was written over TLS: {stored:?}"
    );
}

/// A spool file of its own for one test.
fn spool_path() -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("strray-spool-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("spool.db")
}

/// Waits until the collector at `base` has drained its spool.
async fn wait_for_empty_spool(base: &str) {
    for _ in 0..1200 {
        if metric(base, "strray_spool_entries").await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the spool did not drain");
}

/// Samples in the daily rollup equal the stored rows: nothing counted twice
/// by a replay or a re-send.
async fn assert_rollup_counts_rows_once(url: &str) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let (rows, rolled): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM metric WHERE site = 'dur'),
                (SELECT COALESCE(SUM(samples), 0)::int8 FROM metric_site_day WHERE site = 'dur')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert_eq!(rolled, rows, "rollup samples equal stored rows");
}

/// Sends `pvs` again (the same beacons, same sequence number); all must be 2xx.
async fn resend(base: &str, pvs: &[String]) {
    let client = reqwest::Client::new();
    for pv in pvs {
        let r = client
            .post(format!("{base}/v1/ingest?site=dur"))
            .header("content-type", "text/plain")
            .body(beacon(pv))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "re-send of {pv}: {}", r.status());
    }
}

/// With a spool, a 2xx means on disk: SIGKILL in the middle of a stream, then
/// a restart on the same spool, and every 2xx'd beacon is stored exactly once
/// (a batch stored but not yet removed from the spool is replayed harmlessly).
/// Beacons re-sent after the restart keep one row each.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_mid_stream_then_restart_stores_every_accepted_beacon_once() {
    let url = create_database(&admin_url()).await;
    let spool = spool_path();
    let spool_env = spool.display().to_string();
    let envs = [
        ("DATABASE_URL", url.as_str()),
        ("STRRAY_SPOOL_PATH", spool_env.as_str()),
    ];
    let (mut child, base, _stderr) = spawn_collector(&envs);
    let stop = Arc::new(Mutex::new(false));
    let streaming = tokio::spawn(stream(base.clone(), 4, stop.clone()));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.kill().unwrap(); // SIGKILL: no drain, no goodbye
    child.wait().unwrap();
    *stop.lock().unwrap() = true;
    let accepted = streaming.await.unwrap();

    let (child, base, _stderr) = spawn_collector(&envs);
    wait_for_empty_spool(&base).await;
    let resent: Vec<String> = accepted.iter().take(50).cloned().collect();
    resend(&base, &resent).await;
    wait_for_empty_spool(&base).await;
    sigterm(&child);
    let mut child = child;
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status}");

    let stored = stored_page_views(&url).await;
    assert_all_kept(&accepted, &stored);
    assert_rollup_counts_rows_once(&url).await;
    let _ = std::fs::remove_dir_all(spool.parent().unwrap());
}

/// Streams one beacon per sender every 20 ms until `stop`; returns the page
/// views that got a 2xx and how many requests did not.
async fn steady_stream(base: String, senders: usize, stop: Arc<Mutex<bool>>) -> (Vec<String>, u64) {
    let mut tasks = Vec::new();
    for t in 0..senders {
        let (base, stop) = (base.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let (mut ok, mut refused) = (Vec::new(), 0u64);
            for i in 0.. {
                if *stop.lock().unwrap() {
                    break;
                }
                let pv = format!("st{t:02}x{i:08}");
                let r = client
                    .post(format!("{base}/v1/ingest?site=dur"))
                    .header("content-type", "text/plain")
                    .body(beacon(&pv))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().is_success() => ok.push(pv),
                    _ => refused += 1,
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (ok, refused)
        }));
    }
    let (mut all, mut refused) = (Vec::new(), 0);
    for t in tasks {
        let (ok, r) = t.await.unwrap();
        all.extend(ok);
        refused += r;
    }
    (all, refused)
}

/// A collector with a spool (bounded by `max_bytes` if given) on a private
/// PostgreSQL cluster the test may stop: (cluster, its URL, spool file, base URL).
async fn spooled_app_on_own_cluster(
    max_bytes: Option<u64>,
) -> (PrivateCluster, String, PathBuf, String) {
    let cluster = PrivateCluster::start_new();
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port);
    let spool = spool_path();
    let defaults = Settings::default();
    let app = Application::build(Settings {
        bind: "127.0.0.1:0".into(),
        database_url: Some(url.clone()),
        rate_limit_client: 0,
        spool_path: Some(spool.clone()),
        spool_max_bytes: max_bytes.unwrap_or(defaults.spool_max_bytes),
        ..defaults
    })
    .await
    .unwrap();
    let base = format!("http://{}", app.addr());
    tokio::spawn(app.run_until_stopped());
    (cluster, url, spool, base)
}

/// PostgreSQL stopped for 60 s under a steady stream: with a spool, every
/// beacon is answered 2xx throughout (the spool has room), `/readyz` stays
/// ready, `/metrics` shows the spool growing, and after PostgreSQL returns
/// every 2xx'd beacon is stored, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_60_s_postgres_outage_under_a_steady_stream_is_all_2xx_and_all_stored() {
    let (cluster, url, spool, base) = spooled_app_on_own_cluster(None).await;

    let stop = Arc::new(Mutex::new(false));
    let streaming = tokio::spawn(steady_stream(base.clone(), 3, stop.clone()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.stop();
    tokio::time::sleep(Duration::from_secs(30)).await;
    let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "ready while the spool has room");
    assert!(
        metric(&base, "strray_spool_bytes").await > 0,
        "the outage fills the spool"
    );
    assert!(metric(&base, "strray_spool_oldest_age_seconds").await >= 1);
    tokio::time::sleep(Duration::from_secs(30)).await;
    cluster.start();
    tokio::time::sleep(Duration::from_millis(500)).await;
    *stop.lock().unwrap() = true;
    let (accepted, refused) = streaming.await.unwrap();
    assert_eq!(refused, 0, "no beacon was refused during the outage");
    wait_for_empty_spool(&base).await;
    let stored = stored_page_views(&url).await;
    assert_all_kept(&accepted, &stored);
    assert_eq!(
        stored.len(),
        accepted.len(),
        "every accepted page view, no others"
    );
    assert_rollup_counts_rows_once(&url).await;
    let _ = std::fs::remove_dir_all(spool.parent().unwrap());
}

/// A full spool answers 503 with Retry-After (and `/readyz` says so); what it
/// accepted before is stored once PostgreSQL is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_spool_answers_503_and_loses_nothing_it_accepted() {
    let (cluster, url, spool, base) = spooled_app_on_own_cluster(Some(20_000)).await;
    cluster.stop();
    let client = reqwest::Client::new();
    let mut accepted = Vec::new();
    let mut refusal = None;
    for i in 0..1000 {
        let pv = format!("full{i:06}");
        let r = client
            .post(format!("{base}/v1/ingest?site=dur"))
            .header("content-type", "text/plain")
            .body(beacon(&pv))
            .send()
            .await
            .unwrap();
        if r.status().is_success() {
            accepted.push(pv);
        } else {
            refusal = Some(r);
            break;
        }
    }
    let r = refusal.expect("the spool filled up");
    assert_eq!(r.status().as_u16(), 503);
    assert!(r.headers().contains_key("retry-after"), "Retry-After");
    let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["reason"],
        "spool_full"
    );
    assert!(!accepted.is_empty());
    cluster.start();
    wait_for_empty_spool(&base).await;
    // Drained: room again, ready again, accepting again.
    let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "ready once the spool drained");
    resend(&base, &["after".to_string()]).await;
    accepted.push("after".into());
    wait_for_empty_spool(&base).await;
    let stored = stored_page_views(&url).await;
    assert_all_kept(&accepted, &stored);
    assert_eq!(stored.len(), accepted.len());
    let _ = std::fs::remove_dir_all(spool.parent().unwrap());
}

/// Beacons left in a spool file after its collector exited.
async fn spooled(path: &std::path::Path) -> i64 {
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
    let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
    let n = sqlx::query_scalar("SELECT COUNT(*) FROM spool")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

/// Two collectors, each with its own spool, on one database: streams to both,
/// the same beacons re-sent to both; SIGTERM drains each spool to empty and
/// every accepted beacon is stored once, counted once in the rollups.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_collectors_with_their_own_spools_on_one_database_store_each_beacon_once() {
    let url = create_database(&admin_url()).await;
    let spools = [spool_path(), spool_path()];
    let envs: Vec<[(&str, String); 3]> = spools
        .iter()
        .map(|s| {
            [
                ("DATABASE_URL", url.clone()),
                ("STRRAY_SPOOL_PATH", s.display().to_string()),
                // A long interval: SIGTERM finds spooled rows to drain.
                ("STRRAY_BATCH_INTERVAL_MS", "2000".to_string()),
            ]
        })
        .collect();
    let mut collectors = Vec::new();
    for e in &envs {
        let e: Vec<(&str, &str)> = e.iter().map(|(k, v)| (*k, v.as_str())).collect();
        collectors.push(spawn_collector(&e));
    }
    let stop = Arc::new(Mutex::new(false));
    let a = tokio::spawn(stream(collectors[0].1.clone(), 2, stop.clone()));
    let b = tokio::spawn(stream(collectors[1].1.clone(), 2, stop.clone()));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    *stop.lock().unwrap() = true;
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    // The same page views from both streams (`pv…` names), sent to the other collector.
    resend(&collectors[1].1, &a[..a.len().min(30)]).await;
    resend(&collectors[0].1, &b[..b.len().min(30)]).await;
    for (child, _, _) in &collectors {
        sigterm(child);
    }
    for (mut child, _, _) in collectors {
        let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap();
        assert!(status.success(), "{status}");
    }
    for s in &spools {
        assert_eq!(spooled(s).await, 0, "SIGTERM drained {}", s.display());
    }
    let accepted: Vec<String> = a.into_iter().chain(b).collect();
    let stored = stored_page_views(&url).await;
    assert_all_kept(&accepted, &stored);
    assert_rollup_counts_rows_once(&url).await;
    for s in &spools {
        let _ = std::fs::remove_dir_all(s.parent().unwrap());
    }
}

/// SIGTERM while PostgreSQL is down, with a spool and a short grace: the
/// beacons the drain could not write are not lost but kept on disk, so the
/// collector exits 0 ("rows_not_written=0"), and the next start on the same
/// spool stores every 2xx'd beacon once PostgreSQL is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_during_an_outage_keeps_spooled_beacons_for_the_next_start() {
    let cluster = PrivateCluster::start_new();
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port);
    let spool = spool_path();
    let spool_env = spool.display().to_string();
    let envs = [
        ("DATABASE_URL", url.as_str()),
        ("STRRAY_SPOOL_PATH", spool_env.as_str()),
        ("STRRAY_SHUTDOWN_GRACE_SECS", "1"),
    ];
    let (child, base, stderr) = spawn_collector(&envs);
    let stop = Arc::new(Mutex::new(false));
    let accepted = Accepted::default();
    let streaming = tokio::spawn(stream_into(
        base.clone(),
        3,
        stop.clone(),
        accepted.clone(),
        None,
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.stop();
    let at_stop = accepted.lock().unwrap().len();
    for _ in 0..200 {
        if accepted.lock().unwrap().len() > at_stop + 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        metric(&base, "strray_spool_entries").await > 0,
        "beacons wait in the spool"
    );
    sigterm(&child);
    let mut child = child;
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    *stop.lock().unwrap() = true;
    let accepted = streaming.await.unwrap();
    assert!(status.success(), "nothing was lost: {status}");
    assert_eq!(
        stderr.finish().last().map(String::as_str),
        Some("strray-collector stopped: rows_not_written=0")
    );
    assert!(spooled(&spool).await > 0, "the backlog stayed on disk");
    cluster.start();
    let (child, base, _stderr) = spawn_collector(&envs);
    wait_for_empty_spool(&base).await;
    sigterm(&child);
    let mut child = child;
    tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    let stored = stored_page_views(&url).await;
    assert_all_kept(&accepted, &stored);
    assert_rollup_counts_rows_once(&url).await;
    let _ = std::fs::remove_dir_all(spool.parent().unwrap());
}

/// A spool entry that cannot be read back (a damaged file, or a format from
/// another version) must not block the drain, and must not vanish either: it
/// moves to `spool_unreadable` in the spool file, and the entries around it
/// are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreadable_spool_entry_is_kept_aside_and_the_rest_drains() {
    let url = create_database(&admin_url()).await;
    let spool = spool_path();
    {
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&spool)
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
        sqlx::query(
            "CREATE TABLE spool (id INTEGER PRIMARY KEY, received_ms INTEGER NOT NULL,
                                 rows INTEGER NOT NULL, body BLOB NOT NULL)",
        )
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO spool (received_ms, rows, body) VALUES (1, 1, 'not json')")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let spool_env = spool.display().to_string();
    let (child, base, _stderr) = spawn_collector(&[
        ("DATABASE_URL", url.as_str()),
        ("STRRAY_SPOOL_PATH", spool_env.as_str()),
    ]);
    resend(&base, &["readable".to_string()]).await;
    wait_for_empty_spool(&base).await;
    sigterm(&child);
    let mut child = child;
    tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_all_kept(&["readable".to_string()], &stored_page_views(&url).await);
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&spool);
    let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
    let kept: Vec<Vec<u8>> = sqlx::query_scalar("SELECT body FROM spool_unreadable")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(kept, [b"not json".to_vec()], "the unreadable entry is kept");
    let _ = std::fs::remove_dir_all(spool.parent().unwrap());
}
