//! Scheduled alerts, driven tick by tick with a chosen clock, delivering to
//! real HTTP receivers: one healthy, one that fails twice before accepting,
//! one down.

use std::sync::Mutex;

use actix_web::{App, HttpResponse, HttpServer, web};
use chrono::{Duration, Utc};
use collector::alerts::{AlertConfig, AlertEngine};
use collector::storage::MetricRow;
use integration_tests::{BACKENDS, metric_row, spawn_app_with};
use serde_json::Value;

#[derive(Default)]
struct Received {
    bodies: Mutex<Vec<Value>>,
    /// Answer 500 to this many requests first.
    fail_first: Mutex<u32>,
}

async fn receive(body: web::Json<Value>, state: web::Data<Received>) -> HttpResponse {
    state.bodies.lock().unwrap().push(body.into_inner());
    let mut f = state.fail_first.lock().unwrap();
    if *f > 0 {
        *f -= 1;
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::Ok().finish()
}

/// A receiver on port 0; returns its URL and what it saw.
fn receiver(fail_first: u32) -> (String, web::Data<Received>) {
    let data = web::Data::new(Received {
        bodies: Mutex::new(Vec::new()),
        fail_first: Mutex::new(fail_first),
    });
    let d = data.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(d.clone())
            .route("/hook", web::post().to(receive))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    (format!("http://127.0.0.1:{port}/hook"), data)
}

fn lcp(pv: usize, value: f64) -> MetricRow {
    MetricRow {
        metric_id: format!("v1-LCP-{pv}"),
        ..metric_row(
            &format!("pv{pv:08}"),
            "LCP",
            value,
            Utc::now() - Duration::minutes(30),
        )
    }
}

fn kinds(v: &[collector::storage::AlertRecord]) -> Vec<String> {
    v.iter()
        .map(|a| format!("{} {} {}", a.metric, a.kind, a.severity))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_fire_once_recover_once_respect_cooldown_and_survive_a_dead_receiver() {
    for backend in BACKENDS {
        let (ok_url, ok) = receiver(0);
        let (flaky_url, flaky) = receiver(2);
        let down_url = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://127.0.0.1:{}/hook", l.local_addr().unwrap().port())
        }; // dropped: nothing listens there
        let hooks = format!("{down_url},{flaky_url},{ok_url}");
        let app = spawn_app_with(backend, |s| {
            s.alert_interval_secs = 0; // the test drives the ticks
            s.alert_webhooks = Some(hooks.clone());
            s.alert_webhook_retries = 2;
            s.alert_webhook_timeout_ms = 2000;
        })
        .await;
        let settings = collector::configuration::Settings {
            min_samples: 5,
            alert_webhooks: Some(hooks.clone()),
            alert_webhook_retries: 2,
            alert_webhook_timeout_ms: 2000,
            ..Default::default()
        };
        let engine = AlertEngine::new(
            app.store.clone(),
            AlertConfig::from_settings(&settings).unwrap(),
        );
        let t0 = Utc::now();
        let at = |min: i64| t0 + Duration::minutes(min);

        // LCP p75 at 2600 of 2500: an error (1.04), not critical.
        let rows: Vec<_> = (0..10).map(|i| lcp(i, 2600.0)).collect();
        app.store.insert_metrics(&rows).await.unwrap();
        assert!(
            engine.evaluate_once(at(0)).await.unwrap().is_empty(),
            "{backend:?}"
        );
        assert!(engine.evaluate_once(at(5)).await.unwrap().is_empty());
        let fired = engine.evaluate_once(at(10)).await.unwrap();
        assert_eq!(
            kinds(&fired),
            ["LCP fired error"],
            "{backend:?}: third breach fires"
        );
        let deliveries: Value = serde_json::from_str(&fired[0].deliveries).unwrap();
        assert_eq!(deliveries[0]["ok"], false, "down receiver: {deliveries}");
        assert_eq!(deliveries[0]["attempts"], 3, "retried twice");
        assert_eq!(deliveries[1]["ok"], true, "flaky receiver, after retries");
        assert_eq!(deliveries[1]["attempts"], 3);
        assert_eq!(deliveries[2]["ok"], true);
        assert_eq!(deliveries[2]["attempts"], 1);
        assert_eq!(ok.bodies.lock().unwrap().len(), 1);
        assert_eq!(flaky.bodies.lock().unwrap().len(), 3);
        let body = ok.bodies.lock().unwrap()[0].clone();
        assert_eq!(body["metric"], "LCP");
        assert_eq!(body["kind"], "fired");
        assert_eq!(body["severity"], "error");
        assert_eq!(body["value"], 2600.0);
        assert_eq!(body["budget"], 2500.0);

        // Continued breach: nothing more.
        assert!(engine.evaluate_once(at(15)).await.unwrap().is_empty());
        assert!(engine.evaluate_once(at(20)).await.unwrap().is_empty());

        // Recovery: enough fast views bring p75 under budget; announced once.
        let fast: Vec<_> = (100..140).map(|i| lcp(i, 1000.0)).collect();
        app.store.insert_metrics(&fast).await.unwrap();
        let rec = engine.evaluate_once(at(25)).await.unwrap();
        assert_eq!(kinds(&rec), ["LCP recovered pass"]);
        assert!(engine.evaluate_once(at(30)).await.unwrap().is_empty());

        // Breach again within the cooldown (1 h after the fire): suppressed.
        let slow: Vec<_> = (200..400).map(|i| lcp(i, 2700.0)).collect();
        app.store.insert_metrics(&slow).await.unwrap();
        for m in [35, 40, 45, 50] {
            assert!(
                engine.evaluate_once(at(m)).await.unwrap().is_empty(),
                "minute {m}"
            );
        }
        // After the cooldown the ongoing breach is announced again.
        let again = engine.evaluate_once(at(75)).await.unwrap();
        assert_eq!(kinds(&again), ["LCP fired error"]);
        assert_eq!(
            ok.bodies.lock().unwrap().len(),
            3,
            "fired, recovered, fired"
        );

        // History through the API, newest first.
        let list: Vec<Value> = app
            .client
            .get(format!("{}/v1/sites/shop/alerts", app.address))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let k: Vec<&str> = list.iter().map(|a| a["kind"].as_str().unwrap()).collect();
        assert_eq!(k, ["fired", "recovered", "fired"], "{backend:?}");

        // The dashboard lists the same history.
        let html = app
            .client
            .get(format!("{}/sites/shop", app.address))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let section = html.split("id=\"alerts\"").nth(1).unwrap_or("");
        assert!(
            !section.contains("No alerts recorded"),
            "{backend:?}: alerts listed"
        );
        assert_eq!(
            section.matches("<td>recovered</td>").count(),
            1,
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn a_critical_breach_fires_at_once() {
    let app = spawn_app_with(integration_tests::Backend::Sqlite, |s| {
        s.alert_interval_secs = 0
    })
    .await;
    let rows: Vec<_> = (0..10).map(|i| lcp(i, 4000.0)).collect();
    app.store.insert_metrics(&rows).await.unwrap();
    let settings = collector::configuration::Settings {
        min_samples: 5,
        ..Default::default()
    };
    let engine = AlertEngine::new(
        app.store.clone(),
        AlertConfig::from_settings(&settings).unwrap(),
    );
    let fired = engine.evaluate_once(Utc::now()).await.unwrap();
    assert_eq!(kinds(&fired), ["LCP fired critical"]);
    let bad = collector::configuration::Settings {
        alert_webhooks: Some("ftp://hooks.example/x".into()),
        ..Default::default()
    };
    let err = AlertConfig::from_settings(&bad).unwrap_err().to_string();
    assert!(err.contains("only http:// and https://"), "{err}");
}

/// The machine state is in the database: a restarted collector (a new engine)
/// does not re-announce an ongoing breach and does announce its recovery; two
/// collectors evaluating at the same moment announce once.
#[tokio::test]
async fn restarts_and_second_collectors_neither_repeat_nor_forget_alerts() {
    for backend in BACKENDS {
        let app = spawn_app_with(backend, |s| s.alert_interval_secs = 0).await;
        let settings = collector::configuration::Settings {
            min_samples: 5,
            ..Default::default()
        };
        let engine = || {
            AlertEngine::new(
                app.store.clone(),
                AlertConfig::from_settings(&settings).unwrap(),
            )
        };
        let t0 = Utc::now();
        let at = |min: i64| t0 + Duration::minutes(min);
        let rows: Vec<_> = (0..10).map(|i| lcp(i, 2600.0)).collect();
        app.store.insert_metrics(&rows).await.unwrap();

        // Two breaching evaluations by the first collector, then the third
        // by two collectors at once: one announcement in total.
        let first = engine();
        assert!(first.evaluate_once(at(0)).await.unwrap().is_empty());
        assert!(first.evaluate_once(at(5)).await.unwrap().is_empty());
        let second = engine();
        let (a, b) = tokio::join!(first.evaluate_once(at(10)), second.evaluate_once(at(10)));
        let fired: Vec<_> = a.unwrap().into_iter().chain(b.unwrap()).collect();
        assert_eq!(kinds(&fired), ["LCP fired error"], "{backend:?}");

        // "Restart": a fresh engine sees the announced breach, stays quiet...
        let restarted = engine();
        for m in [15, 20, 25] {
            assert!(
                restarted.evaluate_once(at(m)).await.unwrap().is_empty(),
                "{backend:?} minute {m}"
            );
        }
        // ...and announces the recovery once.
        let fast: Vec<_> = (100..140).map(|i| lcp(i, 1000.0)).collect();
        app.store.insert_metrics(&fast).await.unwrap();
        let rec = restarted.evaluate_once(at(30)).await.unwrap();
        assert_eq!(kinds(&rec), ["LCP recovered pass"], "{backend:?}");
        assert!(engine().evaluate_once(at(35)).await.unwrap().is_empty());
        assert_eq!(app.store.alerts("shop", 10).await.unwrap().len(), 2);
    }
}

/// An HTTPS receiver (Python's http.server behind TLS, a self-signed
/// certificate made with the openssl CLI) on `port`; prints each POST body as
/// one line on stdout.
const HTTPS_RECEIVER: &str = r#"
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        print(body.decode(), flush=True)
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("ready", srv.server_address[1], flush=True)
srv.serve_forever()
"#;

#[tokio::test]
async fn https_webhooks_verify_the_receiver_certificate() {
    use std::io::BufRead;
    let dir = std::env::temp_dir().join(format!("strray-tls-hook-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl CLI");
    assert!(made.success());
    // The receiver binds port 0 and says which port it got: no window in
    // which another process could take a port picked in advance.
    let mut child = std::process::Command::new("python3")
        .args(["-c", HTTPS_RECEIVER])
        .arg(&cert)
        .arg(&key)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().expect("the receiver started").unwrap();
    let port: u16 = ready
        .strip_prefix("ready ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("receiver said {ready:?}"));

    let app = spawn_app_with(integration_tests::Backend::Sqlite, |s| {
        s.alert_interval_secs = 0
    })
    .await;
    let rows: Vec<_> = (0..10).map(|i| lcp(i, 4000.0)).collect();
    app.store.insert_metrics(&rows).await.unwrap();
    let engine = |ca: Option<std::path::PathBuf>, hours_later: i64| {
        let settings = collector::configuration::Settings {
            min_samples: 5,
            alert_webhooks: Some(format!("https://localhost:{port}/hook")),
            alert_webhook_retries: 0,
            alert_ca_file: ca,
            ..Default::default()
        };
        let engine = AlertEngine::new(
            app.store.clone(),
            AlertConfig::from_settings(&settings).unwrap(),
        );
        (engine, Utc::now() + Duration::hours(hours_later))
    };

    // Not trusted (self-signed, no CA file): the delivery fails, recorded.
    let (untrusting, now) = engine(None, 0);
    let fired = untrusting.evaluate_once(now).await.unwrap();
    let d: Value = serde_json::from_str(&fired[0].deliveries).unwrap();
    assert_eq!(d[0]["ok"], false, "{d}");

    // Trusted through STRRAY_ALERT_CA_FILE: delivered over TLS. (A fresh
    // site state: the first engine's alert is announced already.)
    sqlx::query("DELETE FROM alert_state")
        .execute(match &app.store {
            collector::storage::Store::Sqlite(p) => p,
            collector::storage::Store::Postgres(_) => unreachable!("SQLite app"),
        })
        .await
        .unwrap();
    let (trusting, now) = engine(Some(cert.clone()), 2);
    let fired = trusting.evaluate_once(now).await.unwrap();
    let d: Value = serde_json::from_str(&fired[0].deliveries).unwrap();
    assert_eq!(d[0]["ok"], true, "{d}");
    let body: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(body["kind"], "fired");
    assert_eq!(body["severity"], "critical");

    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A WEIGHT row whose page view loaded `script_kib` KiB of compressed script
/// (three times that uncompressed), as the agent's record is stored.
fn weight(pv: usize, script_kib: f64) -> MetricRow {
    let w = integration_tests::weight_metric(
        "w",
        &[("script", script_kib * 1024.0, 5)],
        &[("shop.example", script_kib * 1024.0, 5)],
    );
    MetricRow {
        metric_id: format!("v1-WEIGHT-{pv}"),
        attribution: Some(w["attribution"].to_string()),
        ..metric_row(
            &format!("pv{pv:08}"),
            "WEIGHT",
            script_kib * 1024.0,
            Utc::now() - Duration::minutes(30),
        )
    }
}

/// The built-in budget's script weight (700 KiB compressed, 2 MiB
/// uncompressed): a breach is a `bundleSizeViolation` of severity error, even
/// when critical by ratio, announced once, recovered once, and again only
/// after the 5-minute bundle cooldown (the timing cooldown is an hour).
#[tokio::test]
async fn a_page_weight_breach_fires_bundle_size_violation_once_per_cooldown() {
    for backend in BACKENDS {
        let (hook, received) = receiver(0);
        let app = spawn_app_with(backend, |s| s.alert_interval_secs = 0).await;
        let settings = collector::configuration::Settings {
            min_samples: 5,
            alert_webhooks: Some(hook),
            ..Default::default()
        };
        let engine = AlertEngine::new(
            app.store.clone(),
            AlertConfig::from_settings(&settings).unwrap(),
        );
        let t0 = Utc::now();
        let at = |min: i64| t0 + Duration::minutes(min);
        let sorted = |v: Vec<collector::storage::AlertRecord>| {
            let mut k = kinds(&v);
            k.sort();
            k
        };
        let violation = [
            "decodedSizes.script bundleSizeViolation error",
            "resourceSizes.script bundleSizeViolation error",
        ];

        // 800 KiB compressed (1.14 × 700) and 2400 KiB uncompressed (1.17 × 2048).
        let big: Vec<_> = (0..10).map(|i| weight(i, 800.0)).collect();
        app.store.insert_metrics(&big).await.unwrap();
        assert!(
            engine.evaluate_once(at(0)).await.unwrap().is_empty(),
            "{backend:?}"
        );
        assert!(engine.evaluate_once(at(1)).await.unwrap().is_empty());
        let fired = engine.evaluate_once(at(2)).await.unwrap();
        assert_eq!(sorted(fired), violation, "{backend:?}: third breach fires");
        let body = received.bodies.lock().unwrap()[0].clone();
        assert_eq!(body["kind"], "bundleSizeViolation", "{body}");
        assert_eq!(body["severity"], "error");
        assert_eq!(body["unit"], "KiB");
        assert!(
            body["metric"] == "resourceSizes.script" && body["value"] == 800.0
                || body["metric"] == "decodedSizes.script" && body["value"] == 2400.0,
            "{body}"
        );
        // Continued breach: once is enough.
        assert!(engine.evaluate_once(at(3)).await.unwrap().is_empty());

        // Lighter pages bring p75 under budget: recovered, once.
        let light: Vec<_> = (100..140).map(|i| weight(i, 300.0)).collect();
        app.store.insert_metrics(&light).await.unwrap();
        let rec = engine.evaluate_once(at(4)).await.unwrap();
        assert_eq!(
            sorted(rec),
            [
                "decodedSizes.script recovered pass",
                "resourceSizes.script recovered pass"
            ]
        );

        // Heavy again: three breaches by minute 7, 5 min after the fire...
        let heavy: Vec<_> = (200..400).map(|i| weight(i, 800.0)).collect();
        app.store.insert_metrics(&heavy).await.unwrap();
        for m in [5, 6] {
            assert!(
                engine.evaluate_once(at(m)).await.unwrap().is_empty(),
                "minute {m}"
            );
        }
        // ... the streak is complete at minute 6.5, still within the cooldown.
        let within = t0 + Duration::seconds(6 * 60 + 30);
        assert!(
            engine.evaluate_once(within).await.unwrap().is_empty(),
            "{backend:?}: cooldown"
        );
        let again = engine.evaluate_once(at(7)).await.unwrap();
        assert_eq!(
            sorted(again),
            violation,
            "{backend:?}: after the 5-minute cooldown"
        );
        assert_eq!(received.bodies.lock().unwrap().len(), 6);
    }
}
