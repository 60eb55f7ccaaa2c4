//! Alert history: one row per announced transition, both backends.

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

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
