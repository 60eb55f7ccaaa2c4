//! Shared helpers for the API tests: each test gets a fresh, migrated database
//! (a new PostgreSQL database, or a new SQLite file) and a live collector on port 0.

use std::time::Duration;

use collector::configuration::Settings;
use collector::startup::Application;
use collector::storage::{MetricRow, Store};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

pub const BACKENDS: [Backend; 2] = [Backend::Postgres, Backend::Sqlite];

/// How a test stores rows: the batch writer's one statement per batch, or
/// the spool drainer's merge (PostgreSQL: batches staged by COPY, one upsert).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    Batch,
    Merge,
}

/// Stores `batches` in order: each with its own statement, or all in one merge.
pub async fn write_rows(store: &Store, how: Write, batches: &[&[MetricRow]]) {
    match how {
        Write::Batch => {
            for b in batches {
                store.insert_metrics(b).await.expect("batch stored");
            }
        }
        Write::Merge => {
            let mut merge = store
                .begin_merge()
                .await
                .expect("merges are PostgreSQL's")
                .expect("merge begun");
            for b in batches {
                merge.stage(b).await.expect("batch staged");
            }
            merge.commit().await.expect("merge committed");
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub store: Store,
    pub client: reqwest::Client,
    pub backend: Backend,
}

/// The PostgreSQL server to create test databases on. `cargo xtask test`
/// starts one and sets this; running `cargo test` alone needs it too.
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!("DATABASE_URL must point at a PostgreSQL server; run `cargo xtask test`, which starts one")
    })
}

fn unique_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "t_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        nanos
    )
}

/// Creates an empty database and returns its URL.
pub async fn fresh_database(backend: Backend) -> String {
    match backend {
        Backend::Postgres => {
            let admin = admin_url();
            let name = unique_name();
            let pool = sqlx::PgPool::connect(&admin)
                .await
                .expect("connect to PostgreSQL");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&pool)
                .await
                .expect("create database");
            pool.close().await;
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
            format!("{base}/{name}")
        }
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join("strray-tests");
            std::fs::create_dir_all(&dir).expect("temp dir");
            format!(
                "sqlite://{}",
                dir.join(format!("{}.db", unique_name())).display()
            )
        }
    }
}

pub fn test_settings(database_url: String) -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        database_url: Some(database_url),
        // Short batch interval so tests see rows quickly.
        batch_interval_ms: 20,
        min_samples: 5,
        workers: 2,
        // Tests send bursts from one address; the rate-limit test turns this on.
        rate_limit_client: 0,
        ..Settings::default()
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let url = fresh_database(backend).await;
    spawn_app_on(url, backend, configure).await
}

/// A collector on an existing database (several collectors may share one).
pub async fn spawn_app_on(
    url: String,
    backend: Backend,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut settings = test_settings(url.clone());
    configure(&mut settings);
    let app = Application::build(settings).await.expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        store: Store::connect(&url).await.expect("connect store"),
        client: reqwest::Client::new(),
        backend,
    }
}

impl TestApp {
    pub async fn post_beacon(&self, body: &Value) -> reqwest::Response {
        self.post_raw(
            body.to_string().into_bytes(),
            "text/plain;charset=UTF-8",
            None,
        )
        .await
    }

    /// Posts `body` as the agent does and asserts it was accepted (202),
    /// showing the answer otherwise.
    pub async fn accept(&self, body: &Value) {
        let r = self.post_beacon(body).await;
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        assert_eq!(status, 202, "beacon not accepted: {text}");
    }

    /// The body of `GET {path}` (a page or a JSON answer), whatever its status.
    pub async fn get_text(&self, path: &str) -> String {
        let r = self.client.get(format!("{}{path}", self.address)).send();
        r.await.expect("request").text().await.expect("body")
    }

    pub async fn post_raw(
        &self,
        body: Vec<u8>,
        content_type: &str,
        origin: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}/v1/ingest", self.address))
            .header("Content-Type", content_type)
            .header(
                "User-Agent",
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
            )
            .body(body);
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        req.send().await.expect("request")
    }

    /// Waits until the site has `n` stored rows (the writer batches asynchronously).
    pub async fn wait_for_rows(&self, site: &str, n: usize) -> Vec<MetricRow> {
        for _ in 0..200 {
            let rows = self
                .store
                .recent_metrics(site, 10_000)
                .await
                .expect("query");
            if rows.len() >= n {
                return rows;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("timed out waiting for {n} rows of site {site}");
    }

    pub async fn row_count(&self) -> i64 {
        let q = "SELECT COUNT(*) FROM metric";
        match &self.store {
            Store::Postgres(p) => sqlx::query_scalar(q).fetch_one(p).await.expect("count"),
            Store::Sqlite(p) => sqlx::query_scalar(q).fetch_one(p).await.expect("count"),
        }
    }
}

/// A stored row for site `shop`, path `/`, desktop Chrome, rated by the
/// web-vitals thresholds; tests override fields with struct-update syntax.
pub fn metric_row(
    page_view: &str,
    name: &str,
    value: f64,
    received_at: chrono::DateTime<chrono::Utc>,
) -> MetricRow {
    let rating = vitals_core::MetricName::parse(name).map_or("good", |m| m.rate(value).as_str());
    MetricRow {
        site: "shop".into(),
        page_view_id: page_view.into(),
        metric_id: format!("v1-{name}-{page_view}"),
        name: name.into(),
        value,
        delta: value,
        rating: rating.into(),
        navigation_type: "navigate".into(),
        url: "https://shop.example/".into(),
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
        received_at,
    }
}

/// A valid beacon; tests mutate it.
pub fn beacon(site: &str, page_view: &str) -> Value {
    json!({
        "v": 1,
        "site": site,
        "page_view_id": page_view,
        "seq": 0,
        "url": "https://shop.example/products/12345?ref=home#top",
        "navigation_type": "navigate",
        "sample_rate": 1,
        "sent_at": 1_732_680_000_000u64,
        "release": "v1.0.0",
        "connection": "4g",
        "metrics": [
            {"name": "FCP", "id": "v1-1-1", "value": 812.5, "delta": 812.5, "rating": "good"},
            {"name": "LCP", "id": "v1-1-2", "value": 1650.0, "delta": 1650.0, "rating": "good",
             "attribution": {"target": "html>body>img#hero", "url": "https://shop.example/hero.jpg"}},
            {"name": "CLS", "id": "v1-1-3", "value": 0.12, "delta": 0.12, "rating": "needs-improvement"}
        ]
    })
}

/// One `{transfer, encoded, decoded, requests, unknown}` entry of a WEIGHT
/// attribution: `encoded` bytes over `requests` requests, half of it over the
/// network (the rest cached), three times as large uncompressed.
pub fn weight_sizes(encoded: f64, requests: u32) -> Value {
    json!({"transfer": encoded / 2.0, "encoded": encoded, "decoded": encoded * 3.0,
           "requests": requests, "unknown": 0})
}

/// A WEIGHT metric record as the agent sends it: `types` and `hosts` as
/// (name, encoded bytes, requests); its value is the sum of the types' bytes.
pub fn weight_metric(id: &str, types: &[(&str, f64, u32)], hosts: &[(&str, f64, u32)]) -> Value {
    let entries = |list: &[(&str, f64, u32)]| -> serde_json::Map<String, Value> {
        list.iter()
            .map(|(k, e, n)| (k.to_string(), weight_sizes(*e, *n)))
            .collect()
    };
    let value: f64 = types.iter().map(|t| t.1).sum();
    json!({"name": "WEIGHT", "id": id, "value": value,
           "attribution": {"types": entries(types), "hosts": entries(hosts)}})
}
