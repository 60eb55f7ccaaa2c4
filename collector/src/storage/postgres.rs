use sqlx::Row;
use sqlx::postgres::PgPool;

use super::{MetricRow, PathSample, Sample, SampleQuery, StoredRow, like_prefix};

/// One multi-row statement per batch: arrays bound once, unnested server-side.
pub async fn insert_metrics(pool: &PgPool, rows: &[MetricRow]) -> Result<(), sqlx::Error> {
    // Columns borrow from the rows: a batch is not copied again to be bound.
    fn col<'a, T>(rows: &'a [MetricRow], f: impl Fn(&'a MetricRow) -> T) -> Vec<T> {
        rows.iter().map(f).collect()
    }
    sqlx::query(
        "INSERT INTO metric (site, page_view_id, metric_id, name, value, delta, rating, \
            navigation_type, url, path, route, sample_rate, release, connection, form_factor, \
            browser, engine, country, attribution, seq, received_at, day)
         SELECT s, pv, mid, n, v, d, r, nt, u, p, rt, sr, rel, con, ff, b, e, c, a::jsonb, sq, ra, dy
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[],
                     $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::float8[],
                     $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[],
                     $19::text[], $20::int4[], $21::timestamptz[], $22::date[])
              AS t(s, pv, mid, n, v, d, r, nt, u, p, rt, sr, rel, con, ff, b, e, c, a, sq, ra, dy)
         ON CONFLICT (site, page_view_id, metric_id, day) DO UPDATE SET
            value = EXCLUDED.value, delta = EXCLUDED.delta, rating = EXCLUDED.rating,
            attribution = EXCLUDED.attribution, seq = EXCLUDED.seq,
            received_at = EXCLUDED.received_at, url = EXCLUDED.url
         WHERE metric.seq < EXCLUDED.seq",
    )
    .bind(col(rows, |r| r.site.as_str()))
    .bind(col(rows, |r| r.page_view_id.as_str()))
    .bind(col(rows, |r| r.metric_id.as_str()))
    .bind(col(rows, |r| r.name.as_str()))
    .bind(col(rows, |r| r.value))
    .bind(col(rows, |r| r.delta))
    .bind(col(rows, |r| r.rating.as_str()))
    .bind(col(rows, |r| r.navigation_type.as_str()))
    .bind(col(rows, |r| r.url.as_str()))
    .bind(col(rows, |r| r.path.as_str()))
    .bind(col(rows, |r| r.route.as_str()))
    .bind(col(rows, |r| r.sample_rate))
    .bind(col(rows, |r| r.release.as_deref()))
    .bind(col(rows, |r| r.connection.as_deref()))
    .bind(col(rows, |r| r.form_factor.as_str()))
    .bind(col(rows, |r| r.browser.as_str()))
    .bind(col(rows, |r| r.engine.as_str()))
    .bind(col(rows, |r| r.country.as_deref()))
    .bind(col(rows, |r| r.attribution.as_deref()))
    .bind(col(rows, |r| r.seq))
    .bind(col(rows, |r| r.received_at))
    .bind(col(rows, |r| super::partition_day(&r.metric_id, r.received_at)))
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn samples(pool: &PgPool, q: &SampleQuery<'_>) -> Result<Vec<Sample>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT value, 1.0 / sample_rate AS weight FROM metric
         WHERE site = $1 AND name = $2
           AND ($3::text IS NULL OR path LIKE $3 ESCAPE '\\')
           AND ($4::timestamptz IS NULL OR received_at >= $4)
           AND ($5::timestamptz IS NULL OR received_at < $5)
           AND day >= COALESCE(($4::timestamptz AT TIME ZONE 'UTC')::date - 2, '-infinity')
           AND day <= COALESCE(($5::timestamptz AT TIME ZONE 'UTC')::date + 1, 'infinity')
           AND ($6::text IS NULL OR release = $6)",
    )
    .bind(q.site)
    .bind(q.metric)
    .bind(q.path_prefix.map(like_prefix))
    .bind(q.since)
    .bind(q.until)
    .bind(q.release)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Sample {
                value: r.try_get("value")?,
                weight: r.try_get("weight")?,
            })
        })
        .collect()
}

pub async fn recent_metrics(
    pool: &PgPool,
    site: &str,
    limit: i64,
) -> Result<Vec<MetricRow>, sqlx::Error> {
    let rows: Vec<StoredRow> = sqlx::query_as(
        "SELECT site, page_view_id, metric_id, name, value, delta, rating, navigation_type, url,
                path, route, sample_rate, release, connection, form_factor, browser, engine,
                country, attribution::text AS attribution, seq,
                (EXTRACT(EPOCH FROM received_at) * 1000)::int8 AS received_at_ms
         FROM unnest($3::text[]) AS n(metric_name)
         CROSS JOIN LATERAL (
             SELECT * FROM metric m WHERE m.site = $1 AND m.name = n.metric_name
             ORDER BY m.received_at DESC, m.id DESC LIMIT $2) r
         ORDER BY received_at DESC, id DESC LIMIT $2",
    )
    .bind(site)
    .bind(limit)
    // Top rows per metric name through the (site, name, received_at) index of
    // each day partition, then merged: "latest rows of a site" over all names
    // would otherwise read every partition (seconds on 10 M rows).
    .bind(
        vitals_core::MetricName::ALL
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>(),
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(MetricRow::from).collect())
}

pub async fn path_samples(
    pool: &PgPool,
    q: &SampleQuery<'_>,
) -> Result<Vec<PathSample>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT path, value, 1.0 / sample_rate AS weight FROM metric
         WHERE site = $1 AND name = $2
           AND ($3::text IS NULL OR path LIKE $3 ESCAPE '\\')
           AND ($4::timestamptz IS NULL OR received_at >= $4)
           AND ($5::timestamptz IS NULL OR received_at < $5)
           AND day >= COALESCE(($4::timestamptz AT TIME ZONE 'UTC')::date - 2, '-infinity')
           AND day <= COALESCE(($5::timestamptz AT TIME ZONE 'UTC')::date + 1, 'infinity')
           AND ($6::text IS NULL OR release = $6)",
    )
    .bind(q.site)
    .bind(q.metric)
    .bind(q.path_prefix.map(like_prefix))
    .bind(q.since)
    .bind(q.until)
    .bind(q.release)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PathSample {
                path: r.try_get("path")?,
                sample: Sample {
                    value: r.try_get("value")?,
                    weight: r.try_get("weight")?,
                },
            })
        })
        .collect()
}
