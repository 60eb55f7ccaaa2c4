//! PostgreSQL day partitions of raw rows (migration 0040): the partition key is
//! stable across re-sends, late days move out of the default partition,
//! retention drops whole days and leaves the rollups alone.

use chrono::{DateTime, Duration, TimeZone, Utc};
use collector::storage::{MetricRow, Store};
use integration_tests::{Backend, TestApp, Write, metric_row, spawn_app, write_rows};

fn row(pv: &str, metric_id: &str, value: f64, seq: i64, at: DateTime<Utc>) -> MetricRow {
    MetricRow {
        metric_id: metric_id.into(),
        seq,
        ..metric_row(pv, "LCP", value, at)
    }
}

fn pool(app: &TestApp) -> &sqlx::PgPool {
    match &app.store {
        Store::Postgres(p) => p,
        Store::Sqlite(_) => panic!("partition tests run on PostgreSQL"),
    }
}

/// (partition, rows) for every partition holding rows of `site`.
async fn placement(app: &TestApp) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT tableoid::regclass::text, COUNT(*) FROM metric WHERE site = 'shop'
         GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(pool(app))
    .await
    .unwrap()
}

/// Samples and total value-weighted count in both rollup levels.
async fn rollup_totals(app: &TestApp) -> (i64, i64) {
    let hourly: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(samples), 0)::int8 FROM metric_rollup WHERE site = 'shop'",
    )
    .fetch_one(pool(app))
    .await
    .unwrap();
    let daily: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(samples), 0)::int8 FROM metric_site_day WHERE site = 'shop'",
    )
    .fetch_one(pool(app))
    .await
    .unwrap();
    (hourly, daily)
}

fn partition_of(day: DateTime<Utc>) -> String {
    format!("metric_{}", day.format("%Y%m%d"))
}

#[tokio::test]
async fn collector_start_makes_partitions_and_ingest_lands_in_them() {
    let app = spawn_app(Backend::Postgres).await;
    let resp = app
        .post_beacon(&integration_tests::beacon("shop", "pvpartition0001"))
        .await;
    assert!(resp.status().is_success(), "{}", resp.status());
    app.wait_for_rows("shop", 1).await;
    let parts = placement(&app).await;
    let today = partition_of(Utc::now());
    // The agent's metric ids carry their creation time; it is now, give or
    // take a midnight passing during the test.
    let yesterday = partition_of(Utc::now() - Duration::hours(1));
    assert!(
        parts.iter().all(|(p, _)| *p == today || *p == yesterday),
        "{parts:?}"
    );
}

#[tokio::test]
async fn a_resend_after_midnight_updates_the_row_of_the_day_the_metric_was_created() {
    let app = spawn_app(Backend::Postgres).await;
    let midnight = Utc.from_utc_datetime(&Utc::now().date_naive().and_hms_opt(0, 0, 0).unwrap());
    let created = midnight - Duration::seconds(2);
    let id = format!("v1-{}-42", created.timestamp_millis());
    // First sent just before midnight, re-sent (newer seq) hours after it.
    let first = row(
        "pv-midnight",
        &id,
        2000.0,
        0,
        created + Duration::seconds(1),
    );
    let resend = row("pv-midnight", &id, 3000.0, 1, midnight + Duration::hours(3));
    app.store.insert_metrics(&[first]).await.unwrap();
    app.store.insert_metrics(&[resend]).await.unwrap();
    // A stale re-send (older seq) changes nothing.
    let stale = row("pv-midnight", &id, 1.0, 0, midnight + Duration::hours(4));
    app.store.insert_metrics(&[stale]).await.unwrap();

    assert_eq!(placement(&app).await, vec![(partition_of(created), 1)]);
    let value: f64 = sqlx::query_scalar("SELECT value FROM metric WHERE site = 'shop'")
        .fetch_one(pool(&app))
        .await
        .unwrap();
    assert_eq!(value, 3000.0);
    assert_eq!(rollup_totals(&app).await, (1, 1), "counted once");

    // An id without a plausible creation time falls back to the receive day.
    let odd = row(
        "pv-odd",
        "not-a-timestamp",
        1000.0,
        0,
        midnight + Duration::hours(1),
    );
    let skewed_id = format!("v1-{}-1", (midnight + Duration::days(5)).timestamp_millis());
    let skewed = row(
        "pv-skew",
        &skewed_id,
        1000.0,
        0,
        midnight + Duration::hours(1),
    );
    app.store.insert_metrics(&[odd, skewed]).await.unwrap();
    let parts = placement(&app).await;
    assert!(
        parts.contains(&(partition_of(midnight), 2)),
        "fallback rows in the receive day: {parts:?}"
    );
}

/// Late re-sends, through the batch writer or the spool drainer's merge.
async fn late_resends_update_the_first_row(how: Write) {
    let app = spawn_app(Backend::Postgres).await;
    let now = Utc::now();
    let created = now - Duration::days(3);
    app.store
        .ensure_partitions_between(created.date_naive(), created.date_naive())
        .await
        .unwrap();
    let id = format!("v1-{}-7", created.timestamp_millis());
    let first_at = created + Duration::minutes(1);
    let first = row("pv-tab", &id, 2000.0, 0, first_at);
    write_rows(&app.store, how, &[&[first]]).await;
    // The tab stayed open for three days; this re-send is outside the 48 h
    // window, so its own partition day would be today's. It comes in a batch
    // with an ordinary row, as it would from the writer.
    let resend = row("pv-tab", &id, 3000.0, 1, now);
    let other = row("pv-new", "m-new", 1500.0, 0, now);
    write_rows(&app.store, how, &[&[other, resend]]).await;
    let stale = row("pv-tab", &id, 1.0, 0, now);
    write_rows(&app.store, how, &[&[stale]]).await;

    let (value, seq, received): (f64, i64, DateTime<Utc>) = sqlx::query_as(
        "SELECT value, seq, received_at FROM metric WHERE site = 'shop' AND page_view_id = 'pv-tab'",
    )
    .fetch_one(pool(&app))
    .await
    .unwrap();
    assert_eq!((value, seq), (3000.0, 1), "one row, the newest value");
    assert_eq!(
        received.timestamp_millis(),
        first_at.timestamp_millis(),
        "first receipt kept"
    );
    let tab_parts: Vec<String> = sqlx::query_scalar(
        "SELECT tableoid::regclass::text FROM metric WHERE page_view_id = 'pv-tab'",
    )
    .fetch_all(pool(&app))
    .await
    .unwrap();
    assert_eq!(tab_parts, vec![partition_of(created)]);
    assert_eq!(
        rollup_totals(&app).await,
        (2, 2),
        "each metric counted once"
    );

    // First seen days after creation: stored on the receive day, and found
    // there by its next re-send even after midnight has passed.
    let old_id = format!("v1-{}-9", (now - Duration::days(4)).timestamp_millis());
    let late_first = row("pv-late", &old_id, 800.0, 0, now);
    write_rows(&app.store, how, &[&[late_first]]).await;
    let late_again = row("pv-late", &old_id, 900.0, 1, now + Duration::days(1));
    write_rows(&app.store, how, &[&[late_again]]).await;
    let late: Vec<(f64, String)> = sqlx::query_as(
        "SELECT value, tableoid::regclass::text FROM metric WHERE page_view_id = 'pv-late'",
    )
    .fetch_all(pool(&app))
    .await
    .unwrap();
    assert_eq!(late, vec![(900.0, partition_of(now))]);
    assert_eq!(rollup_totals(&app).await, (3, 3));
}

#[tokio::test]
async fn a_resend_days_after_creation_updates_the_first_row_wherever_it_is() {
    late_resends_update_the_first_row(Write::Batch).await;
}

#[tokio::test]
async fn a_merged_resend_days_after_creation_updates_the_first_row_wherever_it_is() {
    late_resends_update_the_first_row(Write::Merge).await;
}

#[tokio::test]
async fn rows_of_a_day_without_partition_move_in_when_it_is_made() {
    let app = spawn_app(Backend::Postgres).await;
    let at = Utc::now() - Duration::days(20);
    let rows: Vec<_> = (0..7)
        .map(|i| row(&format!("pv{i}"), &format!("m{i}"), 1000.0, 0, at))
        .collect();
    app.store.insert_metrics(&rows).await.unwrap();
    assert_eq!(
        placement(&app).await,
        vec![("metric_default".to_string(), 7)]
    );
    let before = rollup_totals(&app).await;

    let day = at.date_naive();
    assert_eq!(
        app.store.ensure_partitions_between(day, day).await.unwrap(),
        1
    );
    assert_eq!(
        app.store.ensure_partitions_between(day, day).await.unwrap(),
        0
    );
    assert_eq!(placement(&app).await, vec![(partition_of(at), 7)]);
    assert_eq!(
        rollup_totals(&app).await,
        before,
        "moving rows is not a new insert"
    );

    // Upserts still find the moved rows.
    let resend = row("pv0", "m0", 5000.0, 1, at);
    app.store.insert_metrics(&[resend]).await.unwrap();
    assert_eq!(placement(&app).await, vec![(partition_of(at), 7)]);
}

#[tokio::test]
async fn retention_drops_whole_day_partitions_and_keeps_rollups() {
    let app = spawn_app(Backend::Postgres).await;
    let old = Utc::now() - Duration::days(40);
    let edge = Utc::now() - Duration::days(29);
    app.store
        .ensure_partitions_between(old.date_naive(), edge.date_naive())
        .await
        .unwrap();
    let mut rows: Vec<_> = (0..5)
        .map(|i| row(&format!("old{i}"), &format!("m{i}"), 1000.0, 0, old))
        .collect();
    rows.extend((0..3).map(|i| row(&format!("edge{i}"), &format!("m{i}"), 1000.0, 0, edge)));
    rows.extend((0..2).map(|i| row(&format!("new{i}"), &format!("m{i}"), 1000.0, 0, Utc::now())));
    app.store.insert_metrics(&rows).await.unwrap();
    let before = rollup_totals(&app).await;
    assert_eq!(before, (10, 10));

    let r = app
        .store
        .apply_retention(Utc::now() - Duration::days(30))
        .await
        .unwrap();
    // Every partition of a day before the cutoff's day, empty or not.
    assert!(r.dropped_partitions.contains(&partition_of(old)), "{r:?}");
    assert!(!r.dropped_partitions.contains(&partition_of(edge)), "{r:?}");
    assert_eq!(r.dropped_partitions.len(), 10, "{r:?}");
    assert_eq!(r.deleted_rows, 0);
    let parts = placement(&app).await;
    assert_eq!(parts.iter().map(|p| p.1).sum::<i64>(), 5, "{parts:?}");
    assert!(!parts.iter().any(|p| p.0 == partition_of(old)), "{parts:?}");
    assert_eq!(
        rollup_totals(&app).await,
        before,
        "rollups outlive raw rows"
    );
    let gone: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
        .bind(partition_of(old))
        .fetch_one(pool(&app))
        .await
        .unwrap();
    assert_eq!(gone, None);
}

#[tokio::test]
async fn the_ingest_path_and_sql_agree_on_the_partition_day() {
    let app = spawn_app(Backend::Postgres).await;
    let r = Utc.with_ymd_and_hms(2026, 3, 1, 0, 30, 0).unwrap();
    let ms = |t: DateTime<Utc>| t.timestamp_millis();
    let ids = [
        format!("v1-{}-1", ms(r)),
        format!("v5-{}-8212331711239", ms(r - Duration::minutes(31))), // web-vitals, day before
        format!("v1-{}-1", ms(r - Duration::hours(48))),               // window edge
        format!(
            "v1-{}-1",
            ms(r - Duration::hours(48) - Duration::milliseconds(1))
        ),
        format!("v1-{}-1", ms(r + Duration::hours(24))),
        format!(
            "v1-{}-1",
            ms(r + Duration::hours(24) + Duration::milliseconds(1))
        ),
        "v1-0-1".into(),
        "v1-999999999999999-1".into(),
        "v1-1234567890123456-1".into(), // 16 digits
        "v1--1".into(),
        "v1-12a4-1".into(),
        "no dashes".into(),
        "v1-+1764201600000-1".into(),
        String::new(),
    ];
    for id in ids {
        let sql: chrono::NaiveDate = sqlx::query_scalar("SELECT strray_metric_day($1, $2)")
            .bind(&id)
            .bind(r)
            .fetch_one(pool(&app))
            .await
            .unwrap();
        assert_eq!(collector::storage::partition_day(&id, r), sql, "{id:?}");
    }
}
