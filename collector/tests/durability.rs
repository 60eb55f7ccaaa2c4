//! Accepted means kept: beacons that got a 2xx survive a PostgreSQL restart in
//! the middle of a stream, and a SIGTERM of the collector in the middle of a stream.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::collections::HashSet;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use collector::configuration::Settings;
use collector::startup::Application;
use serde_json::json;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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

/// Streams beacons from `senders` tasks until `stop` is set or sends fail
/// persistently; returns the page views that got a 2xx.
async fn stream(base: String, senders: usize, stop: Arc<Mutex<bool>>) -> Vec<String> {
    let accepted = Arc::new(Mutex::new(Vec::new()));
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
                let pv = format!("pv{t:02}x{i:08}");
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
    let name = format!("dur_{}_{}", std::process::id(), free_port());
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
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_strray-collector"))
        .env("DATABASE_URL", &url)
        .env("STRRAY_BIND", format!("127.0.0.1:{port}"))
        .env("STRRAY_RATE_LIMIT_CLIENT", "0")
        .env("STRRAY_BATCH_INTERVAL_MS", "100")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if reqwest::get(format!("{base}/readyz"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let stop = Arc::new(Mutex::new(false));
    let streaming = tokio::spawn(stream(base, 4, stop.clone()));
    tokio::time::sleep(Duration::from_millis(800)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    *stop.lock().unwrap() = true;
    let accepted = streaming.await.unwrap();
    assert!(
        status.success(),
        "collector exits cleanly after draining: {status}"
    );
    let stored = stored_page_views(&url).await;
    assert_all_kept(&accepted, &stored);
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
        let c = PrivateCluster {
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
        c.start();
        c
    }

    fn start(&self) {
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
        assert!(ok.success(), "pg_ctl start");
    }

    /// Turns TLS on with a fresh self-signed certificate (openssl CLI), then restarts.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_restart_mid_stream_loses_no_accepted_beacon() {
    let cluster = PrivateCluster::start_new();
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port);
    let app = Application::build(Settings {
        bind: "127.0.0.1:0".into(),
        database_url: Some(url.clone()),
        batch_interval_ms: 50,
        rate_limit_client: 0,
        ..Settings::default()
    })
    .await
    .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let stats = app.stats();
    tokio::spawn(app.run_until_stopped());

    let stop = Arc::new(Mutex::new(false));
    let streaming = tokio::spawn(stream(base, 3, stop.clone()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stored_before = stats.rows_stored.load(std::sync::atomic::Ordering::SeqCst);
    tokio::task::spawn_blocking({
        let c = (
            cluster.bin.clone(),
            cluster.data.clone(),
            cluster.port,
            cluster.as_postgres,
        );
        move || {
            let c = PrivateCluster {
                bin: c.0,
                data: c.1,
                port: c.2,
                as_postgres: c.3,
            };
            c.stop();
            std::mem::forget(c); // the outer handle owns cleanup
        }
    })
    .await
    .unwrap();
    // The database is down: beacons keep being accepted into the queue.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let accepted_while_down = stats
        .rows_accepted
        .load(std::sync::atomic::Ordering::SeqCst);
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
        accepted_while_down > stored_before,
        "beacons were accepted during the outage"
    );
    let stored = stored_page_views(&url).await;
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
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let resp = reqwest::Client::new()
        .post(format!("{base}/v1/ingest"))
        .header("content-type", "text/plain")
        .body(beacon("pvtls00000001"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);

    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(ssl, "the session is encrypted");
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
