use std::sync::LazyLock;

use sqlx::Row;
use sqlx::sqlite::SqlitePool;

use super::{MetricRow, PathSample, Sample, SampleQuery, StoredRow, WeightRow, like_prefix};

/// SQLite has no array binds; one prepared statement per row inside a single
/// transaction is as fast here and keeps the batch all-or-nothing. Rollups are
/// maintained per batch, set-based, in the same transaction (migration 0090
/// dropped the per-row triggers): the batch's keys go to a temporary table,
/// the rows a newer sequence number replaces subtract their contribution, the
/// upserts run, and the rows that changed add theirs; each rollup is then
/// updated by one grouped statement.
pub async fn insert_metrics(pool: &SqlitePool, rows: &[MetricRow]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Temporary tables live per connection; emptied, not dropped, per batch.
    for q in [
        "CREATE TEMP TABLE IF NOT EXISTS strray_batch (
            site TEXT NOT NULL, page_view_id TEXT NOT NULL, metric_id TEXT NOT NULL,
            seq INTEGER NOT NULL, applies INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (site, page_view_id, metric_id))",
        "CREATE TEMP TABLE IF NOT EXISTS strray_delta (
            sign INTEGER NOT NULL, site TEXT NOT NULL, name TEXT NOT NULL,
            received_at_ms INTEGER NOT NULL, route TEXT NOT NULL, form_factor TEXT NOT NULL,
            engine TEXT NOT NULL, country TEXT NOT NULL, release TEXT NOT NULL,
            value REAL NOT NULL, rating TEXT NOT NULL, sample_rate REAL NOT NULL)",
        "DELETE FROM temp.strray_batch",
        "DELETE FROM temp.strray_delta",
    ] {
        sqlx::query(q).execute(&mut *tx).await?;
    }
    for r in rows {
        // OR IGNORE: rows are deduplicated by key before they get here; a
        // repeat would be the same metric, whose first row wins anyway.
        sqlx::query(
            "INSERT OR IGNORE INTO temp.strray_batch (site, page_view_id, metric_id, seq)
             VALUES (?, ?, ?, ?)",
        )
        .bind(&r.site)
        .bind(&r.page_view_id)
        .bind(&r.metric_id)
        .bind(r.seq)
        .execute(&mut *tx)
        .await?;
    }
    // A row changes the store unless a row with this or a newer seq is there.
    sqlx::query(
        "UPDATE temp.strray_batch SET applies = NOT EXISTS (
            SELECT 1 FROM metric m WHERE m.site = strray_batch.site
              AND m.page_view_id = strray_batch.page_view_id
              AND m.metric_id = strray_batch.metric_id AND m.seq >= strray_batch.seq)",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query(DELTA_FROM_METRIC)
        .bind(-1i64)
        .execute(&mut *tx)
        .await?;
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
    sqlx::query(DELTA_FROM_METRIC)
        .bind(1i64)
        .execute(&mut *tx)
        .await?;
    for q in ROLLUP_FROM_DELTA {
        sqlx::query(q).execute(&mut *tx).await?;
    }
    tx.commit().await
}

/// The contribution of the batch's rows that change the store, as they stand
/// in `metric` now: before the upserts (sign -1, the replaced rows) and after
/// them (sign 1, the new rows).
const DELTA_FROM_METRIC: &str = "INSERT INTO temp.strray_delta
    SELECT ?, m.site, m.name, m.received_at_ms, m.route, m.form_factor, m.engine,
           COALESCE(m.country, ''), COALESCE(m.release, ''), m.value, m.rating, m.sample_rate
    FROM temp.strray_batch b
    JOIN metric m ON m.site = b.site AND m.page_view_id = b.page_view_id
                 AND m.metric_id = b.metric_id
    WHERE b.applies";

/// One grouped upsert per rollup from the batch's delta (twins of the
/// PostgreSQL trigger function, migration 0080; buckets from `hist_bucket`).
const ROLLUP_FROM_DELTA: [&str; 6] = [
    "INSERT INTO metric_rollup (site, name, hour, route, form_factor, engine, country, release,
        samples, weight, good, needs_improvement, poor)
     SELECT site, name, received_at_ms / 3600000, route, form_factor, engine, country, release,
            SUM(sign), SUM(sign / sample_rate),
            SUM(CASE WHEN rating = 'good' THEN sign / sample_rate ELSE 0.0 END),
            SUM(CASE WHEN rating = 'needs-improvement' THEN sign / sample_rate ELSE 0.0 END),
            SUM(CASE WHEN rating = 'poor' THEN sign / sample_rate ELSE 0.0 END)
     FROM temp.strray_delta WHERE true GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
     ON CONFLICT (site, hour, name, route, form_factor, engine, country, release) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight,
        good = good + excluded.good, needs_improvement = needs_improvement + excluded.needs_improvement,
        poor = poor + excluded.poor",
    "INSERT INTO metric_site_hour_hist (site, hour, name, bucket, samples, weight)
     SELECT site, received_at_ms / 3600000, name,
            (SELECT bucket FROM hist_bucket WHERE lower <= value * (CASE WHEN name = 'CLS' THEN 10000.0 ELSE 1.0 END) ORDER BY lower DESC LIMIT 1),
            SUM(sign), SUM(sign / sample_rate)
     FROM temp.strray_delta WHERE true GROUP BY 1, 2, 3, 4
     ON CONFLICT (site, hour, name, bucket) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight",
    "INSERT INTO metric_site_day (site, day, name, samples, weight, good, needs_improvement, poor)
     SELECT site, received_at_ms / 86400000, name, SUM(sign), SUM(sign / sample_rate),
            SUM(CASE WHEN rating = 'good' THEN sign / sample_rate ELSE 0.0 END),
            SUM(CASE WHEN rating = 'needs-improvement' THEN sign / sample_rate ELSE 0.0 END),
            SUM(CASE WHEN rating = 'poor' THEN sign / sample_rate ELSE 0.0 END)
     FROM temp.strray_delta WHERE true GROUP BY 1, 2, 3
     ON CONFLICT (site, day, name) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight,
        good = good + excluded.good, needs_improvement = needs_improvement + excluded.needs_improvement,
        poor = poor + excluded.poor",
    "INSERT INTO metric_site_day_hist (site, day, name, bucket, samples, weight)
     SELECT site, received_at_ms / 86400000, name,
            (SELECT bucket FROM hist_bucket WHERE lower <= value * (CASE WHEN name = 'CLS' THEN 10000.0 ELSE 1.0 END) ORDER BY lower DESC LIMIT 1),
            SUM(sign), SUM(sign / sample_rate)
     FROM temp.strray_delta WHERE true GROUP BY 1, 2, 3, 4
     ON CONFLICT (site, day, name, bucket) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight",
    "INSERT INTO metric_dim_day (site, day, name, dim, val, samples, weight, good, needs_improvement, poor)
     SELECT d.site, d.received_at_ms / 86400000, d.name, x.dim,
            CASE x.dim WHEN 'route' THEN d.route WHEN 'form_factor' THEN d.form_factor
                WHEN 'engine' THEN d.engine WHEN 'country' THEN d.country ELSE d.release END,
            SUM(d.sign), SUM(d.sign / d.sample_rate),
            SUM(CASE WHEN d.rating = 'good' THEN d.sign / d.sample_rate ELSE 0.0 END),
            SUM(CASE WHEN d.rating = 'needs-improvement' THEN d.sign / d.sample_rate ELSE 0.0 END),
            SUM(CASE WHEN d.rating = 'poor' THEN d.sign / d.sample_rate ELSE 0.0 END)
     FROM temp.strray_delta d
     CROSS JOIN (SELECT 'route' AS dim UNION ALL SELECT 'form_factor' UNION ALL SELECT 'engine'
                 UNION ALL SELECT 'country' UNION ALL SELECT 'release') x
     WHERE true GROUP BY 1, 2, 3, 4, 5
     ON CONFLICT (site, day, name, dim, val) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight,
        good = good + excluded.good, needs_improvement = needs_improvement + excluded.needs_improvement,
        poor = poor + excluded.poor",
    "INSERT INTO metric_dim_day_hist (site, day, name, dim, val, bucket, samples, weight)
     SELECT d.site, d.received_at_ms / 86400000, d.name, x.dim,
            CASE x.dim WHEN 'route' THEN d.route WHEN 'form_factor' THEN d.form_factor
                WHEN 'engine' THEN d.engine WHEN 'country' THEN d.country ELSE d.release END,
            (SELECT bucket FROM hist_bucket WHERE lower <= d.value * (CASE WHEN d.name = 'CLS' THEN 10000.0 ELSE 1.0 END) ORDER BY lower DESC LIMIT 1),
            SUM(d.sign), SUM(d.sign / d.sample_rate)
     FROM temp.strray_delta d
     CROSS JOIN (SELECT 'route' AS dim UNION ALL SELECT 'form_factor' UNION ALL SELECT 'engine'
                 UNION ALL SELECT 'country' UNION ALL SELECT 'release') x
     WHERE true GROUP BY 1, 2, 3, 4, 5, 6
     ON CONFLICT (site, day, name, dim, val, bucket) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight",
];

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
static WEIGHT_COUNT: LazyLock<String> =
    LazyLock::new(|| format!("SELECT count(*) {SAMPLE_FILTER}"));
/// Every `?8`-th page view by a hash of its id's last three characters (the
/// same arithmetic as PostgreSQL's, so both backends pick the same rows).
static WEIGHT_ROWS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT path, url, 1.0 / sample_rate AS weight, attribution AS attribution {SAMPLE_FILTER}
           AND (coalesce(unicode(substr(page_view_id, -1, 1)), 0) * 961
                + coalesce(unicode(substr(page_view_id, -2, 1)), 0) * 31
                + coalesce(unicode(substr(page_view_id, -3, 1)), 0)) % ?8 = 0
         ORDER BY received_at_ms DESC LIMIT ?9"
    )
});
static PATH_SAMPLES: LazyLock<String> =
    LazyLock::new(|| format!("SELECT path, value, 1.0 / sample_rate AS weight {SAMPLE_FILTER}"));

/// Binds `SAMPLE_FILTER`'s parameters of a `SampleQuery` to any query type.
macro_rules! bind_filter {
    ($query:expr, $q:expr) => {
        $query
            .bind($q.site)
            .bind($q.metric)
            .bind($q.path_prefix.map(like_prefix))
            .bind($q.since.map(|t| t.timestamp_millis()))
            .bind($q.until.map(|t| t.timestamp_millis()))
            .bind($q.release)
            .bind($q.exclude_release)
    };
}

async fn sample_rows(
    pool: &SqlitePool,
    sql: &'static str,
    q: &SampleQuery<'_>,
) -> Result<Vec<sqlx::sqlite::SqliteRow>, sqlx::Error> {
    bind_filter!(sqlx::query(sql), q).fetch_all(pool).await
}

fn sample_of(r: &sqlx::sqlite::SqliteRow) -> Result<Sample, sqlx::Error> {
    Ok(Sample {
        value: r.try_get("value")?,
        weight: r.try_get("weight")?,
    })
}

/// First receive time of each release with rows on a site in [from, to).
pub async fn release_first_seen(
    pool: &SqlitePool,
    site: &str,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>)>, sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT release, min(received_at_ms) FROM metric
         WHERE site = ?1 AND received_at_ms >= ?2 AND received_at_ms < ?3 AND release IS NOT NULL
         GROUP BY release ORDER BY 2",
    )
    .bind(site)
    .bind(from.timestamp_millis())
    .bind(to.timestamp_millis())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(r, ms)| chrono::DateTime::from_timestamp_millis(ms).map(|t| (r, t)))
        .collect())
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

pub async fn weight_rows(
    pool: &SqlitePool,
    q: &SampleQuery<'_>,
    limit: i64,
) -> Result<Vec<WeightRow>, sqlx::Error> {
    let matching: i64 = bind_filter!(sqlx::query_scalar(WEIGHT_COUNT.as_str()), q)
        .fetch_one(pool)
        .await?;
    bind_filter!(sqlx::query_as::<_, WeightRow>(WEIGHT_ROWS.as_str()), q)
        .bind(super::sample_every(matching, limit))
        .bind(limit)
        .fetch_all(pool)
        .await
}
