use std::sync::LazyLock;

use sqlx::Row;
use sqlx::sqlite::SqlitePool;

use super::{MetricRow, PathSample, Sample, SampleQuery, StoredRow, like_prefix};

/// SQLite has no array binds; one prepared statement per row inside a single
/// transaction is as fast here and keeps the batch all-or-nothing.
pub async fn insert_metrics(pool: &SqlitePool, rows: &[MetricRow]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for r in rows {
        sqlx::query(
            "INSERT INTO metric (site, page_view_id, metric_id, name, value, delta, rating,
                navigation_type, url, path, route, sample_rate, release, connection, form_factor,
                browser, engine, country, attribution, seq, received_at_ms)
             VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
             ON CONFLICT (site, page_view_id, metric_id) DO UPDATE SET
                value = excluded.value, delta = excluded.delta, rating = excluded.rating,
                attribution = excluded.attribution, seq = excluded.seq,
                received_at_ms = excluded.received_at_ms, url = excluded.url
             WHERE metric.seq < excluded.seq",
        )
        .bind(&r.site)
        .bind(&r.page_view_id)
        .bind(&r.metric_id)
        .bind(&r.name)
        .bind(r.value)
        .bind(r.delta)
        .bind(&r.rating)
        .bind(&r.navigation_type)
        .bind(&r.url)
        .bind(&r.path)
        .bind(&r.route)
        .bind(r.sample_rate)
        .bind(&r.release)
        .bind(&r.connection)
        .bind(&r.form_factor)
        .bind(&r.browser)
        .bind(&r.engine)
        .bind(&r.country)
        .bind(&r.attribution)
        .bind(r.seq)
        .bind(r.received_at.timestamp_millis())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// The rows behind `samples` and `path_samples`: one filter, two column lists.
const SAMPLE_FILTER: &str = "FROM metric
         WHERE site = ?1 AND name = ?2
           AND (?3 IS NULL OR path LIKE ?3 ESCAPE '\\')
           AND (?4 IS NULL OR received_at_ms >= ?4)
           AND (?5 IS NULL OR received_at_ms < ?5)
           AND (?6 IS NULL OR release = ?6)
           AND (?7 IS NULL OR release IS NOT ?7)";

static SAMPLES: LazyLock<String> =
    LazyLock::new(|| format!("SELECT value, 1.0 / sample_rate AS weight {SAMPLE_FILTER}"));
static PATH_SAMPLES: LazyLock<String> =
    LazyLock::new(|| format!("SELECT path, value, 1.0 / sample_rate AS weight {SAMPLE_FILTER}"));

async fn sample_rows(
    pool: &SqlitePool,
    sql: &'static str,
    q: &SampleQuery<'_>,
) -> Result<Vec<sqlx::sqlite::SqliteRow>, sqlx::Error> {
    sqlx::query(sql)
        .bind(q.site)
        .bind(q.metric)
        .bind(q.path_prefix.map(like_prefix))
        .bind(q.since.map(|t| t.timestamp_millis()))
        .bind(q.until.map(|t| t.timestamp_millis()))
        .bind(q.release)
        .bind(q.exclude_release)
        .fetch_all(pool)
        .await
}

fn sample_of(r: &sqlx::sqlite::SqliteRow) -> Result<Sample, sqlx::Error> {
    Ok(Sample {
        value: r.try_get("value")?,
        weight: r.try_get("weight")?,
    })
}

/// Newest receive time of a release's rows on a site.
pub async fn release_last_seen(
    pool: &SqlitePool,
    site: &str,
    release: &str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, sqlx::Error> {
    let ms: Option<i64> = sqlx::query_scalar(
        "SELECT max(received_at_ms) FROM metric WHERE site = ?1 AND release = ?2",
    )
    .bind(site)
    .bind(release)
    .fetch_one(pool)
    .await?;
    Ok(ms.and_then(chrono::DateTime::from_timestamp_millis))
}

pub async fn samples(pool: &SqlitePool, q: &SampleQuery<'_>) -> Result<Vec<Sample>, sqlx::Error> {
    let rows = sample_rows(pool, SAMPLES.as_str(), q).await?;
    rows.iter().map(sample_of).collect()
}

pub async fn recent_metrics(
    pool: &SqlitePool,
    site: &str,
    limit: i64,
) -> Result<Vec<MetricRow>, sqlx::Error> {
    let rows: Vec<StoredRow> = sqlx::query_as(
        "SELECT site, page_view_id, metric_id, name, value, delta, rating, navigation_type, url,
                path, route, sample_rate, release, connection, form_factor, browser, engine,
                country, attribution, seq, received_at_ms
         FROM metric WHERE site = ? ORDER BY received_at_ms DESC, id DESC LIMIT ?",
    )
    .bind(site)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(MetricRow::from).collect())
}

pub async fn path_samples(
    pool: &SqlitePool,
    q: &SampleQuery<'_>,
) -> Result<Vec<PathSample>, sqlx::Error> {
    let rows = sample_rows(pool, PATH_SAMPLES.as_str(), q).await?;
    rows.iter()
        .map(|r| {
            Ok(PathSample {
                path: r.try_get("path")?,
                sample: sample_of(r)?,
            })
        })
        .collect()
}
