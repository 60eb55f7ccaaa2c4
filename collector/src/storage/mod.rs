//! Storage: PostgreSQL for production, embedded SQLite as the zero-setup default.
//! One small instrumented function per statement, per backend; both backends
//! pass the same tests (tests/api/storage.rs).

pub use alerts::{AlertLeader, AlertRecord, AlertStateRow};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
pub use postgres::Merge;
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

mod alerts;
mod postgres;
mod sqlite;

/// The PostgreSQL `application_name` of the collector's sessions.
pub const APPLICATION_NAME: &str = "strray-collector";

/// One stored metric: a beacon's metric plus the dimensions derived at ingest.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MetricRow {
    // A beacon's dimensions are shared by its metrics' rows (`Arc<str>`): a
    // queued 4-metric beacon holds each string once, not four times.
    pub site: Arc<str>,
    pub page_view_id: Arc<str>,
    pub metric_id: String,
    pub name: String,
    pub value: f64,
    pub delta: f64,
    pub rating: String,
    pub navigation_type: String,
    pub url: Arc<str>,
    pub path: Arc<str>,
    pub route: Arc<str>,
    pub sample_rate: f64,
    pub release: Option<Arc<str>>,
    pub connection: Option<Arc<str>>,
    pub form_factor: String,
    pub browser: Arc<str>,
    pub engine: String,
    pub country: Option<Arc<str>>,
    /// JSON object text.
    pub attribution: Option<String>,
    pub seq: i64,
    pub received_at: DateTime<Utc>,
}

/// What a retention run removed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Retention {
    /// PostgreSQL day partitions dropped (`metric_YYYYMMDD`).
    pub dropped_partitions: Vec<String>,
    /// Rows deleted one by one (SQLite; PostgreSQL's default partition).
    pub deleted_rows: u64,
}

/// One value for percentile computation, with its weight (1 / sample rate).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    pub value: f64,
    pub weight: f64,
}

/// Filters for sample queries.
#[derive(Clone, Debug, Default)]
pub struct SampleQuery<'a> {
    pub site: &'a str,
    pub metric: &'a str,
    /// Only pages whose path starts with this prefix.
    pub path_prefix: Option<&'a str>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Only rows whose page declared this release.
    pub release: Option<&'a str>,
    /// Only rows whose page did not declare this release (no release counts as other).
    pub exclude_release: Option<&'a str>,
}

/// The sampling step for `matching` rows read at most `limit` at a time: 1
/// (every row) while they fit.
fn sample_every(matching: i64, limit: i64) -> i64 {
    if limit <= 0 || matching <= limit {
        1
    } else {
        (matching + limit - 1) / limit
    }
}

/// A stored WEIGHT row as page-weight budgets read it: the breakdown is in
/// the attribution, first party is decided by the page URL's host.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct WeightRow {
    pub path: String,
    pub url: String,
    /// 1 / sample rate, as for `Sample`.
    pub weight: f64,
    pub attribution: Option<String>,
}

/// A sample with the page path it was measured on, for budget path patterns
/// that a SQL prefix cannot express (`*`, `$`).
#[derive(Clone, Debug, PartialEq)]
pub struct PathSample {
    pub path: String,
    pub sample: Sample,
}

#[derive(Clone, Debug)]
pub enum Store {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

impl Store {
    /// Connects to `postgres://…` or `sqlite://path` (created if missing).
    #[tracing::instrument(skip(url))]
    pub async fn connect(url: &str) -> anyhow::Result<Store> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut opts = sqlx::postgres::PgConnectOptions::from_str(url)?;
            // Named, so an operator (and the TLS test) can tell the collector's
            // sessions in pg_stat_activity; a URL's own application_name wins.
            if opts.get_application_name().is_none() {
                opts = opts.application_name(APPLICATION_NAME);
            }
            let pool = PgPoolOptions::new()
                .max_connections(10)
                .acquire_timeout(Duration::from_secs(5))
                .connect_lazy_with(opts);
            Ok(Store::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                // WAL lets the dashboard read while the writer writes.
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5));
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(opts)
                .await?;
            Ok(Store::Sqlite(pool))
        } else {
            anyhow::bail!("DATABASE_URL must start with postgres:// or sqlite:")
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Store::Postgres(_) => "postgres",
            Store::Sqlite(_) => "sqlite",
        }
    }

    #[tracing::instrument(skip(self))]
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Store::Postgres(p) => sqlx::migrate!("../migrations/postgres").run(p).await?,
            Store::Sqlite(p) => sqlx::migrate!("../migrations/sqlite").run(p).await?,
        }
        Ok(())
    }

    /// True when the database answers and every migration is applied.
    #[tracing::instrument(skip(self))]
    pub async fn is_ready(&self) -> bool {
        let expected = match self {
            Store::Postgres(_) => sqlx::migrate!("../migrations/postgres").iter().count(),
            Store::Sqlite(_) => sqlx::migrate!("../migrations/sqlite").iter().count(),
        } as i64;
        let q = "SELECT COUNT(*) FROM _sqlx_migrations WHERE success";
        let applied: Result<i64, sqlx::Error> = match self {
            Store::Postgres(p) => sqlx::query(q).fetch_one(p).await.and_then(|r| r.try_get(0)),
            Store::Sqlite(p) => sqlx::query(q).fetch_one(p).await.and_then(|r| r.try_get(0)),
        };
        matches!(applied, Ok(n) if n >= expected)
    }

    /// Upserts rows; a re-sent metric replaces the stored one only when its
    /// beacon sequence number is newer. Rows must be unique per key (see `dedupe`).
    #[tracing::instrument(skip(self, rows), fields(rows = rows.len()))]
    pub async fn insert_metrics(&self, rows: &[MetricRow]) -> Result<(), sqlx::Error> {
        if rows.is_empty() {
            return Ok(());
        }
        match self {
            Store::Postgres(p) => postgres::insert_metrics(p, rows).await,
            Store::Sqlite(p) => sqlite::insert_metrics(p, rows).await,
        }
    }

    /// A transaction that stores many batches at once (PostgreSQL; see
    /// `Merge`). None on SQLite, whose writer stores batch by batch.
    pub async fn begin_merge(&self) -> Option<Result<Merge, sqlx::Error>> {
        match self {
            Store::Postgres(p) => Some(Merge::begin(p).await),
            Store::Sqlite(_) => None,
        }
    }

    /// Keeps a row the database refused, with its error, in `metric_dead_letter`.
    /// The row goes in as JSON text, where U+0000 is the escape `\u0000`.
    #[tracing::instrument(skip(self, row))]
    pub async fn dead_letter(&self, row: &MetricRow, error: &str) -> Result<(), sqlx::Error> {
        let json = serde_json::to_string(row).map_err(|e| sqlx::Error::Encode(e.into()))?;
        let error = error.replace('\0', "\\u0000");
        match self {
            Store::Postgres(p) => {
                sqlx::query("INSERT INTO metric_dead_letter (error, row_json) VALUES ($1, $2)")
                    .bind(error)
                    .bind(json)
                    .execute(p)
                    .await?
                    .rows_affected()
            }
            Store::Sqlite(p) => sqlx::query(
                "INSERT INTO metric_dead_letter (refused_at_ms, error, row_json) VALUES (?, ?, ?)",
            )
            .bind(Utc::now().timestamp_millis())
            .bind(error)
            .bind(json)
            .execute(p)
            .await?
            .rows_affected(),
        };
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    pub async fn samples(&self, q: &SampleQuery<'_>) -> Result<Vec<Sample>, sqlx::Error> {
        match self {
            Store::Postgres(p) => postgres::samples(p, q).await,
            Store::Sqlite(p) => sqlite::samples(p, q).await,
        }
    }

    /// Each release seen on a site in [from, to) with its first receive time, oldest first.
    pub async fn release_first_seen(
        &self,
        site: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(String, DateTime<Utc>)>, sqlx::Error> {
        match self {
            Store::Postgres(p) => postgres::release_first_seen(p, site, from, to).await,
            Store::Sqlite(p) => sqlite::release_first_seen(p, site, from, to).await,
        }
    }

    /// Newest receive time of a release's rows on a site (None: never seen).
    pub async fn release_last_seen(
        &self,
        site: &str,
        release: &str,
    ) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        match self {
            Store::Postgres(p) => postgres::release_last_seen(p, site, release).await,
            Store::Sqlite(p) => sqlite::release_last_seen(p, site, release).await,
        }
    }

    /// The rows of `q` (its metric: WEIGHT) with their page URL and
    /// attribution, for page-weight budgets: all of them up to `limit`; past
    /// that, every n-th page view by a hash of its id (n = matching / limit,
    /// rounded up), so the sample spans the whole window rather than its
    /// newest part (the newest `limit` if the hash still picks more).
    #[tracing::instrument(skip(self))]
    pub async fn weight_rows(
        &self,
        q: &SampleQuery<'_>,
        limit: i64,
    ) -> Result<Vec<WeightRow>, sqlx::Error> {
        match self {
            Store::Postgres(p) => postgres::weight_rows(p, q, limit).await,
            Store::Sqlite(p) => sqlite::weight_rows(p, q, limit).await,
        }
    }

    /// Like `samples`, with each row's path (budget files filter by pattern).
    #[tracing::instrument(skip(self))]
    pub async fn path_samples(&self, q: &SampleQuery<'_>) -> Result<Vec<PathSample>, sqlx::Error> {
        match self {
            Store::Postgres(p) => postgres::path_samples(p, q).await,
            Store::Sqlite(p) => sqlite::path_samples(p, q).await,
        }
    }

    /// The most recently received metrics of a site, newest first.
    #[tracing::instrument(skip(self))]
    pub async fn recent_metrics(
        &self,
        site: &str,
        limit: i64,
    ) -> Result<Vec<MetricRow>, sqlx::Error> {
        match self {
            Store::Postgres(p) => postgres::recent_metrics(p, site, limit).await,
            Store::Sqlite(p) => sqlite::recent_metrics(p, site, limit).await,
        }
    }

    /// Makes sure raw-row partitions exist from two days ago to a week ahead
    /// (PostgreSQL; rows are partitioned by day, see migration 0040). Called at
    /// start and hourly, so a collector that was down for days catches up.
    /// Returns how many partitions were created. SQLite has one table.
    #[tracing::instrument(skip(self))]
    pub async fn ensure_partitions(&self) -> Result<i32, sqlx::Error> {
        let today = Utc::now().date_naive();
        self.ensure_partitions_between(today - chrono::Days::new(2), today + chrono::Days::new(7))
            .await
    }

    /// Partitions for every day in `[from, to]`, e.g. before loading historic
    /// data; rows of those days already in the default partition move in.
    #[tracing::instrument(skip(self))]
    pub async fn ensure_partitions_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<i32, sqlx::Error> {
        match self {
            Store::Postgres(p) => {
                sqlx::query_scalar("SELECT strray_metric_partitions_ensure($1, $2)")
                    .bind(from)
                    .bind(to)
                    .fetch_one(p)
                    .await
            }
            Store::Sqlite(_) => Ok(0),
        }
    }

    /// Removes raw rows older than `cutoff`; rollups stay. PostgreSQL drops
    /// whole day partitions (days before the cutoff's day, by the partition
    /// key: the day the metric was created) and deletes such rows that sit in
    /// the default partition; SQLite deletes rows received before `cutoff`.
    /// Deletes run in chunks so that no statement holds locks for long.
    #[tracing::instrument(skip(self))]
    pub async fn apply_retention(&self, cutoff: DateTime<Utc>) -> Result<Retention, sqlx::Error> {
        let mut out = Retention::default();
        if let Store::Postgres(p) = self {
            out.dropped_partitions =
                sqlx::query_scalar("SELECT strray_metric_partitions_drop_before($1)")
                    .bind(cutoff.date_naive())
                    .fetch_all(p)
                    .await?;
        }
        loop {
            let n = match self {
                Store::Postgres(p) => sqlx::query(
                    "DELETE FROM metric_default WHERE ctid = ANY(ARRAY(
                       SELECT ctid FROM metric_default WHERE day < $1 LIMIT 10000))",
                )
                .bind(cutoff.date_naive())
                .execute(p)
                .await?
                .rows_affected(),
                Store::Sqlite(p) => sqlx::query(
                    "DELETE FROM metric WHERE id IN
                       (SELECT id FROM metric WHERE received_at_ms < ? LIMIT 10000)",
                )
                .bind(cutoff.timestamp_millis())
                .execute(p)
                .await?
                .rows_affected(),
            };
            out.deleted_rows += n;
            if n < 10000 {
                return Ok(out);
            }
        }
    }

    /// Sites with stored data, alphabetically.
    #[tracing::instrument(skip(self))]
    pub async fn sites(&self) -> Result<Vec<String>, sqlx::Error> {
        let q = "SELECT DISTINCT site FROM metric ORDER BY site LIMIT 1000";
        match self {
            // From the small daily rollup (backfilled by its migration): DISTINCT
            // over raw rows takes seconds on large tables.
            Store::Postgres(p) => {
                sqlx::query_scalar(
                    "SELECT DISTINCT site FROM metric_site_day ORDER BY site LIMIT 1000",
                )
                .fetch_all(p)
                .await
            }
            // SQLite rollups are not backfilled; embedded stores are small.
            Store::Sqlite(p) => sqlx::query_scalar(q).fetch_all(p).await,
        }
    }

    pub async fn close(&self) {
        match self {
            Store::Postgres(p) => p.close().await,
            Store::Sqlite(p) => p.close().await,
        }
    }
}

/// The PostgreSQL partition day of a row (migration 0040): the UTC day of the
/// creation time carried in the metric id ("v1-<ms>-…", also web-vitals'
/// format) when it lies within 48 h before to 24 h after `received_at`, else
/// the receive day. Stable across re-sends within 48 h, so upserts find their
/// row; later re-sends are `PartitionDay::Late` and take the slow path. Must
/// equal SQL `strray_metric_day()` (tests/api/partitions.rs checks); computed
/// here because the SQL function costs ~4 µs a row on the ingest path.
pub fn partition_day(metric_id: &str, received_at: DateTime<Utc>) -> NaiveDate {
    classify_day(metric_id, received_at).day()
}

/// How old a metric id's creation time may be and still count as one (the
/// dashboard's longest window): ids like "v1-1-1" are names, not timestamps.
const LATE_MAX_DAYS: i64 = 400;

/// Where a row's partition day comes from (see `partition_day`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionDay {
    /// The id's creation day: the same for every send within the window.
    Created(NaiveDate),
    /// Created more than 48 h before this receipt: its first send may sit in
    /// the creation day's partition, so the writer looks for it across
    /// partitions before storing it in the receive day.
    Late(NaiveDate),
    /// No plausible creation time (none, > 24 h ahead, or > 400 days old):
    /// the receive day.
    Received(NaiveDate),
}

impl PartitionDay {
    pub fn day(self) -> NaiveDate {
        match self {
            PartitionDay::Created(d) | PartitionDay::Late(d) | PartitionDay::Received(d) => d,
        }
    }
}

pub fn classify_day(metric_id: &str, received_at: DateTime<Utc>) -> PartitionDay {
    let created = metric_id
        .split('-')
        .nth(1)
        .filter(|t| (1..=15).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<i64>().ok())
        .and_then(DateTime::<Utc>::from_timestamp_millis);
    let received_day = received_at.date_naive();
    let window_start = received_at - chrono::Duration::hours(48);
    match created {
        Some(c) if c >= window_start && c <= received_at + chrono::Duration::hours(24) => {
            PartitionDay::Created(c.date_naive())
        }
        Some(c) if c < window_start && c >= received_at - chrono::Duration::days(LATE_MAX_DAYS) => {
            PartitionDay::Late(received_day)
        }
        // None, more than 24 h ahead, or older than any partition the
        // dashboard can ask for: not a creation time.
        _ => PartitionDay::Received(received_day),
    }
}

/// True when a failed statement may succeed unchanged later: the database is
/// unreachable, restarting, out of resources, or the statement lost a race.
/// Anything else (a value or constraint the database refuses) will fail again
/// however often it is retried.
pub fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if let Ok(n) = code.parse::<i32>() {
                // SQLite (extended) result codes: BUSY, LOCKED, IOERR, FULL, CANTOPEN.
                matches!(n & 0xff, 5 | 6 | 10 | 13 | 14)
            } else {
                // PostgreSQL SQLSTATE: connection exception, insufficient resources,
                // operator intervention (shutdown, restart), system error,
                // serialization failure, deadlock, lock not available.
                ["08", "53", "57", "58"].iter().any(|c| code.starts_with(c))
                    || matches!(&*code, "40001" | "40P01" | "55P03")
            }
        }
        _ => false,
    }
}

/// Keeps one row per (site, page view, metric id): the one with the highest
/// sequence number, the *first received* on ties — the same tie rule as the
/// upsert across batches (`WHERE metric.seq < excluded.seq`): a sequence
/// number names one beacon, so a repeat of it is a re-send, not news. A batch
/// upsert must not touch a row twice. Leaves the rows sorted by that key, so
/// that concurrent batches lock rows in the same order. Sorts instead of
/// hashing: no key is copied.
pub fn dedupe(rows: &mut Vec<MetricRow>) {
    fn key(r: &MetricRow) -> (&str, &str, &str) {
        (&r.site, &r.page_view_id, &r.metric_id)
    }
    // Stable sort, seq descending: the wanted row (highest seq, earliest
    // arrival among equals) heads its run, and dedup keeps the first.
    rows.sort_by(|a, b| key(a).cmp(&key(b)).then(b.seq.cmp(&a.seq)));
    rows.dedup_by(|later, earlier| key(later) == key(earlier));
}

/// A `metric` row as both backends return it (times as epoch milliseconds).
#[derive(sqlx::FromRow)]
struct StoredRow {
    site: String,
    page_view_id: String,
    metric_id: String,
    name: String,
    value: f64,
    delta: f64,
    rating: String,
    navigation_type: String,
    url: String,
    path: String,
    route: String,
    sample_rate: f64,
    release: Option<String>,
    connection: Option<String>,
    form_factor: String,
    browser: String,
    engine: String,
    country: Option<String>,
    attribution: Option<String>,
    seq: i64,
    received_at_ms: i64,
}

impl From<StoredRow> for MetricRow {
    fn from(r: StoredRow) -> Self {
        MetricRow {
            site: r.site.into(),
            page_view_id: r.page_view_id.into(),
            metric_id: r.metric_id,
            name: r.name,
            value: r.value,
            delta: r.delta,
            rating: r.rating,
            navigation_type: r.navigation_type,
            url: r.url.into(),
            path: r.path.into(),
            route: r.route.into(),
            sample_rate: r.sample_rate,
            release: r.release.map(Into::into),
            connection: r.connection.map(Into::into),
            form_factor: r.form_factor,
            browser: r.browser.into(),
            engine: r.engine,
            country: r.country.map(Into::into),
            attribution: r.attribution,
            seq: r.seq,
            received_at: Utc
                .timestamp_millis_opt(r.received_at_ms)
                .single()
                .unwrap_or_default(),
        }
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` prefix pattern.
fn like_prefix(prefix: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plausible_creation_times_are_late() {
        let now = DateTime::from_timestamp_millis(1_780_000_000_000).unwrap();
        let id = |t: DateTime<Utc>| format!("v1-{}-1", t.timestamp_millis());
        let today = now.date_naive();
        let h = chrono::Duration::hours;
        assert_eq!(
            classify_day(&id(now - h(47)), now),
            PartitionDay::Created((now - h(47)).date_naive())
        );
        assert_eq!(
            classify_day(&id(now - h(49)), now),
            PartitionDay::Late(today)
        );
        assert_eq!(
            classify_day(&id(now - chrono::Duration::days(399)), now),
            PartitionDay::Late(today)
        );
        // Names rather than times ("v1-1-1"), far past and far future.
        for odd in [
            "v1-1-1".to_string(),
            id(now - chrono::Duration::days(401)),
            id(now + h(25)),
            "x".into(),
        ] {
            assert_eq!(
                classify_day(&odd, now),
                PartitionDay::Received(today),
                "{odd}"
            );
        }
    }

    fn row(pv: &str, metric_id: &str, seq: i64, value: f64) -> MetricRow {
        MetricRow {
            site: "shop".into(),
            page_view_id: pv.into(),
            metric_id: metric_id.into(),
            name: "LCP".into(),
            value,
            delta: value,
            rating: "good".into(),
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
            seq,
            received_at: Utc.timestamp_opt(0, 0).unwrap(),
        }
    }

    #[test]
    fn dedupe_keeps_the_newest_seq_and_the_first_arrival_on_ties() {
        let mut rows = vec![
            row("b", "m1", 0, 1.0),
            row("a", "m1", 1, 2.0),
            row("a", "m1", 3, 3.0),
            row("a", "m1", 2, 4.0), // older seq arriving later: loses
            row("a", "m2", 0, 5.0),
            row("a", "m2", 0, 6.0), // same seq, later arrival: loses (a re-send)
            row("a", "m3", 2_147_483_648, 7.0),
            row("a", "m3", 2_147_483_649, 8.0), // beyond i32: still newer
        ];
        dedupe(&mut rows);
        let got: Vec<_> = rows
            .iter()
            .map(|r| (&*r.page_view_id, r.metric_id.as_str(), r.value))
            .collect();
        assert_eq!(
            got,
            [
                ("a", "m1", 3.0),
                ("a", "m2", 5.0),
                ("a", "m3", 8.0),
                ("b", "m1", 1.0)
            ]
        );
    }
}
