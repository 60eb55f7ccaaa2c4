//! PostgreSQL rollups (migrations 0030, 0032, 0060, 0080) stay equal to what the
//! stored rows say, cell by cell, through inserts, re-sends that move a metric
//! to another bucket or rating, stale re-sends, and an analyst's direct UPDATE.

use chrono::{Duration, TimeZone, Utc};
use collector::storage::{MetricRow, Store};
use integration_tests::{Backend, Write, metric_row, spawn_app, write_rows};

/// (rollup table, its live cells, the same cells recomputed from `metric`).
/// Cells a re-send emptied stay behind with 0 samples; weights are compared to
/// 1e-6 (their float sums are added in another order).
const CHECKS: [(&str, &str, &str); 6] = [
    (
        "metric_rollup",
        "SELECT site, name, hour, route, form_factor, engine, country, release, samples,
                round(weight::numeric, 6), round(good::numeric, 6),
                round(needs_improvement::numeric, 6), round(poor::numeric, 6)
         FROM metric_rollup WHERE samples <> 0",
        "SELECT site, name, date_trunc('hour', received_at), route, form_factor, engine,
                COALESCE(country, ''), COALESCE(release, ''), COUNT(*),
                round(SUM(1 / sample_rate)::numeric, 6),
                round(COALESCE(SUM(1 / sample_rate) FILTER (WHERE rating = 'good'), 0)::numeric, 6),
                round(COALESCE(SUM(1 / sample_rate) FILTER (WHERE rating = 'needs-improvement'), 0)::numeric, 6),
                round(COALESCE(SUM(1 / sample_rate) FILTER (WHERE rating = 'poor'), 0)::numeric, 6)
         FROM metric GROUP BY 1, 2, 3, 4, 5, 6, 7, 8",
    ),
    (
        "metric_site_hour_hist",
        "SELECT site, hour, name, bucket, samples, round(weight::numeric, 6)
         FROM metric_site_hour_hist WHERE samples <> 0",
        "SELECT site, date_trunc('hour', received_at), name, strray_hist_bucket(name, value),
                COUNT(*), round(SUM(1 / sample_rate)::numeric, 6)
         FROM metric GROUP BY 1, 2, 3, 4",
    ),
    (
        "metric_site_day",
        "SELECT site, day, name, samples, round(weight::numeric, 6), round(good::numeric, 6),
                round(needs_improvement::numeric, 6), round(poor::numeric, 6)
         FROM metric_site_day WHERE samples <> 0",
        "SELECT site, (received_at AT TIME ZONE 'UTC')::date, name, COUNT(*),
                round(SUM(1 / sample_rate)::numeric, 6),
                round(COALESCE(SUM(1 / sample_rate) FILTER (WHERE rating = 'good'), 0)::numeric, 6),
                round(COALESCE(SUM(1 / sample_rate) FILTER (WHERE rating = 'needs-improvement'), 0)::numeric, 6),
                round(COALESCE(SUM(1 / sample_rate) FILTER (WHERE rating = 'poor'), 0)::numeric, 6)
         FROM metric GROUP BY 1, 2, 3",
    ),
    (
        "metric_site_day_hist",
        "SELECT site, day, name, bucket, samples, round(weight::numeric, 6)
         FROM metric_site_day_hist WHERE samples <> 0",
        "SELECT site, (received_at AT TIME ZONE 'UTC')::date, name, strray_hist_bucket(name, value),
                COUNT(*), round(SUM(1 / sample_rate)::numeric, 6)
         FROM metric GROUP BY 1, 2, 3, 4",
    ),
    (
        "metric_dim_day",
        "SELECT site, day, name, dim, val, samples, round(weight::numeric, 6),
                round(good::numeric, 6), round(needs_improvement::numeric, 6), round(poor::numeric, 6)
         FROM metric_dim_day WHERE samples <> 0",
        "SELECT site, (received_at AT TIME ZONE 'UTC')::date, name, x.dim, x.val, COUNT(*),
                round(SUM(1 / sample_rate)::numeric, 6),
                round(COALESCE(SUM(1 / sample_rate) FILTER (WHERE rating = 'good'), 0)::numeric, 6),
                round(COALESCE(SUM(1 / sample_rate) FILTER (WHERE rating = 'needs-improvement'), 0)::numeric, 6),
                round(COALESCE(SUM(1 / sample_rate) FILTER (WHERE rating = 'poor'), 0)::numeric, 6)
         FROM metric CROSS JOIN LATERAL (VALUES ('route', route), ('form_factor', form_factor),
             ('engine', engine), ('country', COALESCE(country, '')),
             ('release', COALESCE(release, ''))) AS x(dim, val)
         GROUP BY 1, 2, 3, 4, 5",
    ),
    (
        "metric_dim_day_hist",
        "SELECT site, day, name, dim, val, bucket, samples, round(weight::numeric, 6)
         FROM metric_dim_day_hist WHERE samples <> 0",
        "SELECT site, (received_at AT TIME ZONE 'UTC')::date, name, x.dim, x.val,
                strray_hist_bucket(name, value), COUNT(*), round(SUM(1 / sample_rate)::numeric, 6)
         FROM metric CROSS JOIN LATERAL (VALUES ('route', route), ('form_factor', form_factor),
             ('engine', engine), ('country', COALESCE(country, '')),
             ('release', COALESCE(release, ''))) AS x(dim, val)
         GROUP BY 1, 2, 3, 4, 5, 6",
    ),
];

/// Asserts every rollup equals its recomputation; returns the live cells per table.
async fn assert_rollups_match(pool: &sqlx::PgPool, stage: &str) -> Vec<i64> {
    let mut cells = Vec::new();
    for (table, stored, recomputed) in CHECKS {
        let (live, differing): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT (SELECT COUNT(*) FROM ({stored}) s),
                    (SELECT COUNT(*) FROM (({stored}) EXCEPT ({recomputed})
                                           UNION ALL
                                           ({recomputed}) EXCEPT ({stored})) d)"
        )))
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(
            differing, 0,
            "{stage}: {table} differs from the stored rows"
        );
        cells.push(live);
    }
    cells
}

/// A row varied along every rollup dimension by `i`.
fn varied(i: usize, value: f64) -> MetricRow {
    let at =
        Utc.with_ymd_and_hms(2026, 11, 26, 22, 40, 0).unwrap() + Duration::minutes(i as i64 * 7);
    let name = ["LCP", "CLS", "INP", "FCP"][i % 4];
    let value = if name == "CLS" {
        value / 10_000.0
    } else {
        value
    };
    MetricRow {
        route: format!("/r{}", i % 5).into(),
        form_factor: ["desktop", "phone", "tablet"][i % 3].into(),
        engine: ["Blink", "Gecko"][i % 2].into(),
        country: (!i.is_multiple_of(4)).then(|| ["DE", "FR", "JP"][i % 3].into()),
        release: (!i.is_multiple_of(3)).then(|| format!("v{}", i % 2).into()),
        sample_rate: [1.0, 0.5, 0.1][i % 3],
        metric_id: format!("v1-{}-{i}", at.timestamp_millis()),
        ..metric_row(&format!("pv{:04}", i / 4), name, value, at)
    }
}

/// 160 rows over two UTC days and several hours (inserted in two batches);
/// re-sends of every third metric with a newer seq, a value in another bucket
/// and rating `poor`, mixed with new metrics in one batch; then stale re-sends
/// of the same metrics (an older seq), which must change nothing.
fn scenario() -> (Vec<MetricRow>, Vec<MetricRow>, Vec<MetricRow>) {
    let rows: Vec<MetricRow> = (0..160)
        .map(|i| varied(i, 90.0 + i as f64 * 37.0))
        .collect();
    let mut batch = Vec::new();
    for (i, r) in rows.iter().enumerate().step_by(3) {
        batch.push(MetricRow {
            value: r.value * 3.0,
            seq: 2,
            rating: "poor".into(),
            ..r.clone()
        });
        batch.push(MetricRow {
            value: r.value * 9.0,
            seq: 1,
            ..varied(i + 1000, 1.0)
        });
    }
    let stale: Vec<MetricRow> = rows
        .iter()
        .step_by(3)
        .map(|r| MetricRow {
            value: 1.0,
            seq: 1,
            ..r.clone()
        })
        .collect();
    (rows, batch, stale)
}

/// Through the batch writer and through the spool drainer's merges alike.
/// In a merge the batches are chunks of one transaction: a stale re-send
/// before a newer one, and an equal-seq one after it (the first received
/// stays), must be sorted out inside the merge as across batches.
async fn rollups_follow_inserts_resends_and_updates(how: Write) {
    let app = spawn_app(Backend::Postgres).await;
    let Store::Postgres(pool) = &app.store else {
        unreachable!()
    };
    let (rows, batch, stale) = scenario();
    write_rows(&app.store, how, &[&rows[..100], &rows[100..]]).await;
    let first = assert_rollups_match(pool, "inserts").await;
    assert!(
        first.iter().all(|&n| n >= 8),
        "too few cells to test: {first:?}"
    );
    // The same beacon again, equal seq and another value: must not win.
    let equal: Vec<MetricRow> = batch
        .iter()
        .map(|r| MetricRow {
            value: 4242.0,
            ..r.clone()
        })
        .collect();
    write_rows(&app.store, how, &[&stale, &batch, &equal]).await;
    assert_rollups_match(pool, "re-sends").await;
    let (newer, stale_stored, equal_stored): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*) FILTER (WHERE seq = 2), COUNT(*) FILTER (WHERE value = 1.0),
                COUNT(*) FILTER (WHERE value = 4242.0) FROM metric",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        (newer, stale_stored, equal_stored),
        (54, 0, 0),
        "newer re-sends stored; stale and equal-seq ones not"
    );

    // An analyst corrects data in SQL: rollups follow statements they did not see coming.
    sqlx::query("UPDATE metric SET value = value * 2, sample_rate = 0.25 WHERE route = '/r1'")
        .execute(pool)
        .await
        .unwrap();
    // A statement that changes no row fires the triggers with empty transition tables.
    sqlx::query("UPDATE metric SET value = 0 WHERE false")
        .execute(pool)
        .await
        .unwrap();
    assert_rollups_match(pool, "direct UPDATE").await;
}

#[tokio::test]
async fn rollups_equal_the_stored_rows_through_inserts_resends_and_updates() {
    rollups_follow_inserts_resends_and_updates(Write::Batch).await;
}

#[tokio::test]
async fn rollups_equal_the_stored_rows_through_merged_inserts_and_resends() {
    rollups_follow_inserts_resends_and_updates(Write::Merge).await;
}

/// The SQLite twins of `CHECKS` (epoch hours and days; buckets from `hist_bucket`).
const SQLITE_BUCKET: &str = "(SELECT bucket FROM hist_bucket WHERE lower <= value * (CASE WHEN name = 'CLS' THEN 10000.0 ELSE 1.0 END) ORDER BY lower DESC LIMIT 1)";
const SQLITE_SHARES: &str = "round(SUM(1.0 / sample_rate), 6),
    round(SUM(CASE WHEN rating = 'good' THEN 1.0 / sample_rate ELSE 0 END), 6),
    round(SUM(CASE WHEN rating = 'needs-improvement' THEN 1.0 / sample_rate ELSE 0 END), 6),
    round(SUM(CASE WHEN rating = 'poor' THEN 1.0 / sample_rate ELSE 0 END), 6)";
const SQLITE_DIMS: &str = "CROSS JOIN (SELECT 'route' AS dim UNION ALL SELECT 'form_factor'
    UNION ALL SELECT 'engine' UNION ALL SELECT 'country' UNION ALL SELECT 'release') x";
const SQLITE_VAL: &str = "CASE x.dim WHEN 'route' THEN route WHEN 'form_factor' THEN form_factor
    WHEN 'engine' THEN engine WHEN 'country' THEN COALESCE(country, '') ELSE COALESCE(release, '') END";

fn sqlite_checks() -> Vec<(&'static str, String, String)> {
    let shares = "round(weight, 6), round(good, 6), round(needs_improvement, 6), round(poor, 6)";
    vec![
        (
            "metric_rollup",
            format!("SELECT site, name, hour, route, form_factor, engine, country, release, samples, {shares} FROM metric_rollup WHERE samples <> 0"),
            format!("SELECT site, name, received_at_ms / 3600000, route, form_factor, engine, COALESCE(country, ''), COALESCE(release, ''), COUNT(*), {SQLITE_SHARES} FROM metric GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"),
        ),
        (
            "metric_site_hour_hist",
            "SELECT site, hour, name, bucket, samples, round(weight, 6) FROM metric_site_hour_hist WHERE samples <> 0".into(),
            format!("SELECT site, received_at_ms / 3600000, name, {SQLITE_BUCKET}, COUNT(*), round(SUM(1.0 / sample_rate), 6) FROM metric GROUP BY 1, 2, 3, 4"),
        ),
        (
            "metric_site_day",
            format!("SELECT site, day, name, samples, {shares} FROM metric_site_day WHERE samples <> 0"),
            format!("SELECT site, received_at_ms / 86400000, name, COUNT(*), {SQLITE_SHARES} FROM metric GROUP BY 1, 2, 3"),
        ),
        (
            "metric_site_day_hist",
            "SELECT site, day, name, bucket, samples, round(weight, 6) FROM metric_site_day_hist WHERE samples <> 0".into(),
            format!("SELECT site, received_at_ms / 86400000, name, {SQLITE_BUCKET}, COUNT(*), round(SUM(1.0 / sample_rate), 6) FROM metric GROUP BY 1, 2, 3, 4"),
        ),
        (
            "metric_dim_day",
            format!("SELECT site, day, name, dim, val, samples, {shares} FROM metric_dim_day WHERE samples <> 0"),
            format!("SELECT site, received_at_ms / 86400000, name, x.dim, {SQLITE_VAL}, COUNT(*), {SQLITE_SHARES} FROM metric {SQLITE_DIMS} GROUP BY 1, 2, 3, 4, 5"),
        ),
        (
            "metric_dim_day_hist",
            "SELECT site, day, name, dim, val, bucket, samples, round(weight, 6) FROM metric_dim_day_hist WHERE samples <> 0".into(),
            format!("SELECT site, received_at_ms / 86400000, name, x.dim, {SQLITE_VAL}, {SQLITE_BUCKET}, COUNT(*), round(SUM(1.0 / sample_rate), 6) FROM metric {SQLITE_DIMS} GROUP BY 1, 2, 3, 4, 5, 6"),
        ),
    ]
}

async fn assert_sqlite_rollups_match(pool: &sqlx::SqlitePool, stage: &str) -> Vec<i64> {
    let mut cells = Vec::new();
    for (table, stored, recomputed) in sqlite_checks() {
        let (live, differing): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT (SELECT COUNT(*) FROM ({stored})),
                    (SELECT COUNT(*) FROM (SELECT * FROM ({stored}) EXCEPT SELECT * FROM ({recomputed}))) +
                    (SELECT COUNT(*) FROM (SELECT * FROM ({recomputed}) EXCEPT SELECT * FROM ({stored})))"
        )))
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(
            differing, 0,
            "{stage}: {table} differs from the stored rows"
        );
        cells.push(live);
    }
    cells
}

/// SQLite keeps its rollups per batch, set-based (migration 0090): the same
/// inserts, re-sends in another bucket and rating, and stale re-sends leave
/// every cell equal to its recomputation from `metric`.
#[tokio::test]
async fn sqlite_rollups_equal_the_stored_rows_through_inserts_and_resends() {
    let app = spawn_app(Backend::Sqlite).await;
    let Store::Sqlite(pool) = &app.store else {
        unreachable!()
    };
    let (rows, batch, stale) = scenario();
    app.store.insert_metrics(&rows[..100]).await.unwrap();
    app.store.insert_metrics(&rows[100..]).await.unwrap();
    let first = assert_sqlite_rollups_match(pool, "inserts").await;
    assert!(
        first.iter().all(|&n| n >= 8),
        "too few cells to test: {first:?}"
    );
    app.store.insert_metrics(&batch).await.unwrap();
    app.store.insert_metrics(&stale).await.unwrap();
    // The same beacon again (equal seq): the first received stays, nothing moves.
    app.store.insert_metrics(&batch).await.unwrap();
    assert_sqlite_rollups_match(pool, "re-sends").await;
}
