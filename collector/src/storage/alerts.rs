//! Alert history: one row per announced transition, both backends.

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use std::sync::Arc;

use super::Store;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    pub site: String,
    pub path: String,
    pub metric: String,
    /// fired | escalated | recovered
    pub kind: String,
    pub severity: String,
    pub previous_severity: Option<String>,
    pub value: Option<f64>,
    pub budget: f64,
    pub samples: i64,
    pub message: String,
    /// JSON array of delivery results.
    pub deliveries: String,
    pub created_at: DateTime<Utc>,
}

impl Store {
    #[tracing::instrument(skip(self, a))]
    pub async fn insert_alert(&self, a: &AlertRecord) -> Result<(), sqlx::Error> {
        match self {
            Store::Postgres(p) => {
                sqlx::query(
                    "INSERT INTO alert_event (site, path, metric, kind, severity, previous_severity,
                        value, budget, samples, message, deliveries, created_at)
                     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11::jsonb,$12)",
                )
                .bind(&a.site)
                .bind(&a.path)
                .bind(&a.metric)
                .bind(&a.kind)
                .bind(&a.severity)
                .bind(&a.previous_severity)
                .bind(a.value)
                .bind(a.budget)
                .bind(a.samples)
                .bind(&a.message)
                .bind(&a.deliveries)
                .bind(a.created_at)
                .execute(p)
                .await?;
            }
            Store::Sqlite(p) => {
                sqlx::query(
                    "INSERT INTO alert_event (site, path, metric, kind, severity, previous_severity,
                        value, budget, samples, message, deliveries, created_at_ms)
                     VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                )
                .bind(&a.site)
                .bind(&a.path)
                .bind(&a.metric)
                .bind(&a.kind)
                .bind(&a.severity)
                .bind(&a.previous_severity)
                .bind(a.value)
                .bind(a.budget)
                .bind(a.samples)
                .bind(&a.message)
                .bind(&a.deliveries)
                .bind(a.created_at.timestamp_millis())
                .execute(p)
                .await?;
            }
        }
        Ok(())
    }

    /// A site's alert history, newest first.
    #[tracing::instrument(skip(self))]
    pub async fn alerts(&self, site: &str, limit: i64) -> Result<Vec<AlertRecord>, sqlx::Error> {
        let rows = match self {
            Store::Postgres(p) => sqlx::query(
                "SELECT site, path, metric, kind, severity, previous_severity, value, budget,
                        samples, message, deliveries::text AS deliveries,
                        (EXTRACT(EPOCH FROM created_at) * 1000)::int8 AS created_at_ms
                     FROM alert_event WHERE site = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
            )
            .bind(site)
            .bind(limit)
            .fetch_all(p)
            .await?
            .iter()
            .map(record)
            .collect::<Result<Vec<_>, _>>()?,
            Store::Sqlite(p) => sqlx::query(
                "SELECT site, path, metric, kind, severity, previous_severity, value, budget,
                        samples, message, deliveries, created_at_ms
                     FROM alert_event WHERE site = ? ORDER BY created_at_ms DESC, id DESC LIMIT ?",
            )
            .bind(site)
            .bind(limit)
            .fetch_all(p)
            .await?
            .iter()
            .map(record)
            .collect::<Result<Vec<_>, _>>()?,
        };
        Ok(rows)
    }
}

/// One persisted alert state: (path, metric, state as JSON).
pub type AlertStateRow = (String, String, String);

/// Held while this process evaluates alerts. On PostgreSQL a transaction with
/// a transaction-level advisory lock: several collectors on one database take
/// turns, and a crashed holder releases it with its connection.
pub struct AlertLeader {
    _tx: Option<sqlx::Transaction<'static, sqlx::Postgres>>,
    _local: Option<tokio::sync::OwnedMutexGuard<()>>,
}

type LocalLocks = std::collections::HashMap<std::path::PathBuf, Arc<tokio::sync::Mutex<()>>>;

/// SQLite is embedded in one process: one in-process lock per database file.
static SQLITE_ALERTS: std::sync::Mutex<Option<LocalLocks>> = std::sync::Mutex::new(None);

fn sqlite_alert_lock(file: &std::path::Path) -> Arc<tokio::sync::Mutex<()>> {
    // A poisoned map only means another thread panicked mid-insert; the map is still usable.
    let mut map = SQLITE_ALERTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    map.get_or_insert_with(Default::default)
        .entry(file.to_path_buf())
        .or_default()
        .clone()
}

impl AlertLeader {
    /// Ends the turn now. (Dropping also ends it, but the rollback then runs
    /// lazily, and until it does the next round could find the lock taken.)
    pub async fn release(self) -> Result<(), sqlx::Error> {
        match self._tx {
            Some(tx) => tx.commit().await,
            None => Ok(()),
        }
    }
}

/// The advisory lock key of alert evaluation ("strray alerts").
const ALERT_LOCK_KEY: i64 = 0x5354_5241_4C52_5400;

impl Store {
    /// Becomes the alert evaluator until the returned guard is dropped, or
    /// `None` if another collector is evaluating right now (it will have
    /// covered this round). SQLite is single-process: a process-wide lock.
    pub async fn alert_leader(&self) -> Result<Option<AlertLeader>, sqlx::Error> {
        match self {
            Store::Postgres(p) => {
                let mut tx = p.begin().await?;
                let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
                    .bind(ALERT_LOCK_KEY)
                    .fetch_one(&mut *tx)
                    .await?;
                Ok(got.then_some(AlertLeader {
                    _tx: Some(tx),
                    _local: None,
                }))
            }
            Store::Sqlite(p) => {
                let lock = sqlite_alert_lock(p.connect_options().get_filename());
                Ok(lock.try_lock_owned().ok().map(|g| AlertLeader {
                    _tx: None,
                    _local: Some(g),
                }))
            }
        }
    }

    /// The persisted alert states of a site.
    #[tracing::instrument(skip(self))]
    pub async fn alert_states(&self, site: &str) -> Result<Vec<AlertStateRow>, sqlx::Error> {
        match self {
            Store::Postgres(p) => {
                sqlx::query_as("SELECT path, metric, state::text FROM alert_state WHERE site = $1")
                    .bind(site)
                    .fetch_all(p)
                    .await
            }
            Store::Sqlite(p) => {
                sqlx::query_as("SELECT path, metric, state FROM alert_state WHERE site = ?")
                    .bind(site)
                    .fetch_all(p)
                    .await
            }
        }
    }

    /// Upserts alert states of a site.
    #[tracing::instrument(skip(self, states), fields(n = states.len()))]
    pub async fn save_alert_states(
        &self,
        site: &str,
        states: &[AlertStateRow],
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        for (path, metric, state) in states {
            match self {
                Store::Postgres(p) => {
                    sqlx::query(
                        "INSERT INTO alert_state (site, path, metric, state, updated_at)
                         VALUES ($1, $2, $3, $4::jsonb, $5)
                         ON CONFLICT (site, path, metric) DO UPDATE
                           SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at",
                    )
                    .bind(site)
                    .bind(path)
                    .bind(metric)
                    .bind(state)
                    .bind(now)
                    .execute(p)
                    .await?;
                }
                Store::Sqlite(p) => {
                    sqlx::query(
                        "INSERT INTO alert_state (site, path, metric, state, updated_at_ms)
                         VALUES (?, ?, ?, ?, ?)
                         ON CONFLICT (site, path, metric) DO UPDATE
                           SET state = excluded.state, updated_at_ms = excluded.updated_at_ms",
                    )
                    .bind(site)
                    .bind(path)
                    .bind(metric)
                    .bind(state)
                    .bind(now.timestamp_millis())
                    .execute(p)
                    .await?;
                }
            }
        }
        Ok(())
    }
}

fn record<R: Row>(r: &R) -> Result<AlertRecord, sqlx::Error>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> f64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<f64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(AlertRecord {
        site: r.try_get("site")?,
        path: r.try_get("path")?,
        metric: r.try_get("metric")?,
        kind: r.try_get("kind")?,
        severity: r.try_get("severity")?,
        previous_severity: r.try_get("previous_severity")?,
        value: r.try_get("value")?,
        budget: r.try_get("budget")?,
        samples: r.try_get("samples")?,
        message: r.try_get("message")?,
        deliveries: r.try_get("deliveries")?,
        created_at: Utc
            .timestamp_millis_opt(r.try_get("created_at_ms")?)
            .single()
            .unwrap_or_default(),
    })
}
