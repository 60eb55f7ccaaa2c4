use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate};
use sqlx::Row;
use sqlx::postgres::{PgArguments, PgPool, Postgres};
use sqlx::query::Query;

use super::{
    MetricRow, PartitionDay, PathSample, Sample, SampleQuery, StoredRow, WeightRow, like_prefix,
};

/// The batch as one row set: arrays bound once, unnested server-side.
const BATCH_ROWS: &str = "UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], \
        $6::float8[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::float8[], \
        $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], \
        $20::int8[], $21::timestamptz[], $22::date[]) \
    AS t(s, pv, mid, n, v, d, r, nt, u, p, rt, sr, rel, con, ff, b, e, c, a, sq, ra, dy)";

const INSERT_ROWS: &str = "INSERT INTO metric (site, page_view_id, metric_id, name, value, delta, \
        rating, navigation_type, url, path, route, sample_rate, release, connection, form_factor, \
        browser, engine, country, attribution, seq, received_at, day)
    SELECT s, pv, mid, n, v, d, r, nt, u, p, rt, sr, rel, con, ff, b, e, c, a::jsonb, sq, ra, dy";

const ON_CONFLICT: &str = "ON CONFLICT (site, page_view_id, metric_id, day) DO UPDATE SET
        value = EXCLUDED.value, delta = EXCLUDED.delta, rating = EXCLUDED.rating,
        attribution = EXCLUDED.attribution, seq = EXCLUDED.seq,
        received_at = EXCLUDED.received_at, url = EXCLUDED.url
    WHERE metric.seq < EXCLUDED.seq";

/// The hot path: an upsert into the partition of the row's creation day.
static UPSERT: LazyLock<String> =
    LazyLock::new(|| format!("{INSERT_ROWS} FROM {BATCH_ROWS} {ON_CONFLICT}"));

/// Re-sends more than 48 h after creation (a tab left open for days): the first
/// send may be in the creation day's partition, which the receive day does not
/// name, so the row is looked up by its key in every partition (one index probe
/// each) and updated there; only metrics stored nowhere are inserted. The
/// update keeps `received_at`, so the row stays within its day's query window.
/// `source` is a query yielding the batch's columns (`BATCH_ROWS`' names).
fn upsert_late(source: &str) -> String {
    format!(
        "WITH t AS ({source}),
         updated AS (
            UPDATE metric m SET value = t.v, delta = t.d, rating = t.r,
                attribution = t.a::jsonb, seq = t.sq, url = t.u
            FROM t
            WHERE m.site = t.s AND m.page_view_id = t.pv AND m.metric_id = t.mid AND m.seq < t.sq)
         {INSERT_ROWS} FROM t
         WHERE NOT EXISTS (SELECT 1 FROM metric m
                           WHERE m.site = t.s AND m.page_view_id = t.pv AND m.metric_id = t.mid)
         {ON_CONFLICT}"
    )
}

static UPSERT_LATE: LazyLock<String> =
    LazyLock::new(|| upsert_late(&format!("SELECT * FROM {BATCH_ROWS}")));

/// One multi-row statement per batch (two, in one transaction, when it holds
/// late re-sends).
pub async fn insert_metrics(pool: &PgPool, rows: &[MetricRow]) -> Result<(), sqlx::Error> {
    let (mut late, mut fresh) = (Vec::new(), Vec::with_capacity(rows.len()));
    for r in rows {
        match super::classify_day(&r.metric_id, r.received_at) {
            PartitionDay::Late(day) => late.push((r, day)),
            d => fresh.push((r, d.day())),
        }
    }
    if late.is_empty() {
        return bind_rows(sqlx::query(UPSERT.as_str()), &fresh)
            .execute(pool)
            .await
            .map(drop);
    }
    let mut tx = pool.begin().await?;
    if !fresh.is_empty() {
        bind_rows(sqlx::query(UPSERT.as_str()), &fresh)
            .execute(&mut *tx)
            .await?;
    }
    bind_rows(sqlx::query(UPSERT_LATE.as_str()), &late)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Binds the batch's columns; they borrow from the rows, so a batch is not
/// copied again to be bound.
fn bind_rows<'q>(
    q: Query<'q, Postgres, PgArguments>,
    rows: &'q [(&'q MetricRow, NaiveDate)],
) -> Query<'q, Postgres, PgArguments> {
    fn col<'a, T>(
        rows: &'a [(&'a MetricRow, NaiveDate)],
        f: impl Fn(&'a MetricRow) -> T,
    ) -> Vec<T> {
        rows.iter().map(|(r, _)| f(r)).collect()
    }
    q.bind(col(rows, |r| &*r.site))
        .bind(col(rows, |r| &*r.page_view_id))
        .bind(col(rows, |r| r.metric_id.as_str()))
        .bind(col(rows, |r| r.name.as_str()))
        .bind(col(rows, |r| r.value))
        .bind(col(rows, |r| r.delta))
        .bind(col(rows, |r| r.rating.as_str()))
        .bind(col(rows, |r| r.navigation_type.as_str()))
        .bind(col(rows, |r| &*r.url))
        .bind(col(rows, |r| &*r.path))
        .bind(col(rows, |r| &*r.route))
        .bind(col(rows, |r| r.sample_rate))
        .bind(col(rows, |r| r.release.as_deref()))
        .bind(col(rows, |r| r.connection.as_deref()))
        .bind(col(rows, |r| r.form_factor.as_str()))
        .bind(col(rows, |r| &*r.browser))
        .bind(col(rows, |r| r.engine.as_str()))
        .bind(col(rows, |r| r.country.as_deref()))
        .bind(col(rows, |r| r.attribution.as_deref()))
        .bind(col(rows, |r| r.seq))
        .bind(col(rows, |r| r.received_at))
        .bind(rows.iter().map(|(_, d)| *d).collect::<Vec<_>>())
}

/// A merge's staging table: one per session (TEMP: no WAL), emptied by each
/// commit. Its columns carry `BATCH_ROWS`' names so that the upserts read
/// either source; `ord` is the arrival order (dedupe keeps the first of equal
/// seqs) and `late` marks rows for `upsert_late`.
/// (Not `IF NOT EXISTS`: its notice would be logged at every merge.)
const CREATE_STAGE: &str = "DO $$ BEGIN
    IF to_regclass('pg_temp.metric_stage') IS NULL THEN
        CREATE TEMP TABLE metric_stage (
            ord int8, late bool, dy date, s text, pv text, mid text, n text, v float8,
            d float8, r text, nt text, u text, p text, rt text, sr float8, rel text, con text,
            ff text, b text, e text, c text, a text, sq int8, ra timestamptz)
        ON COMMIT DELETE ROWS;
    END IF;
END $$";

const COPY_STAGE: &str = "COPY pg_temp.metric_stage (ord, late, dy, s, pv, mid, n, v, d, r, nt, \
        u, p, rt, sr, rel, con, ff, b, e, c, a, sq, ra) FROM STDIN (FORMAT binary)";

/// One staged row per key, by the rule of `dedupe`: the highest seq, the
/// first arrival among equal ones.
const STAGED: &str = "SELECT DISTINCT ON (s, pv, mid) * FROM pg_temp.metric_stage
    ORDER BY s, pv, mid, sq DESC, ord";

static MERGE_FRESH: LazyLock<String> =
    LazyLock::new(|| format!("{INSERT_ROWS} FROM ({STAGED}) t WHERE NOT late {ON_CONFLICT}"));
static MERGE_LATE: LazyLock<String> =
    LazyLock::new(|| upsert_late(&format!("SELECT * FROM ({STAGED}) t WHERE late")));

/// One transaction storing many batches: each is streamed into the staging
/// table by binary COPY, then all are upserted into `metric` by one statement
/// (two with late re-sends). The rollup trigger thus sums the whole merge at
/// once, and a larger merge shares more rollup cells between its rows: for
/// varied traffic the trigger's cost per row fell ~4× from 8 000 to 64 000
/// rows a statement (README, issue 16).
pub struct Merge {
    tx: sqlx::Transaction<'static, Postgres>,
    staged: i64,
    late: bool,
    buf: Vec<u8>,
}

impl Merge {
    pub async fn begin(pool: &PgPool) -> Result<Merge, sqlx::Error> {
        let mut tx = pool.begin().await?;
        sqlx::query(CREATE_STAGE).execute(&mut *tx).await?;
        Ok(Merge {
            tx,
            staged: 0,
            late: false,
            buf: Vec::new(),
        })
    }

    /// Rows staged so far.
    pub fn rows(&self) -> usize {
        self.staged as usize
    }

    /// Streams one batch into the staging table; nothing is stored before `commit`.
    pub async fn stage(&mut self, rows: &[MetricRow]) -> Result<(), sqlx::Error> {
        // Sent in pieces: a whole batch encoded at once (~4 MB for 8 000
        // rows) took the collector's peak RSS over its 64 MB goal.
        const PIECE_ROWS: usize = 500;
        let mut copy = self.tx.copy_in_raw(COPY_STAGE).await?;
        self.buf.clear();
        self.buf.extend_from_slice(COPY_HEADER);
        for piece in rows.chunks(PIECE_ROWS) {
            self.late |= encode_copy(&mut self.buf, piece, self.staged)?;
            self.staged += piece.len() as i64;
            copy.send(self.buf.as_slice()).await?;
            self.buf.clear();
        }
        self.buf.extend_from_slice(&(-1i16).to_be_bytes()); // the trailer
        copy.send(self.buf.as_slice()).await?;
        copy.finish().await?;
        Ok(())
    }

    /// Upserts every staged row (dedupe, then the same statements as
    /// `insert_metrics`) and commits.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        sqlx::query(MERGE_FRESH.as_str())
            .execute(&mut *self.tx)
            .await?;
        if self.late {
            sqlx::query(MERGE_LATE.as_str())
                .execute(&mut *self.tx)
                .await?;
        }
        self.tx.commit().await
    }
}

/// Binary COPY's signature, flags and header extension length (none).
const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// PostgreSQL's binary COPY tuples of rows in `COPY_STAGE`'s column order,
/// numbered from `first_ord` (the header and trailer are the caller's);
/// true when any row is a late re-send.
fn encode_copy(buf: &mut Vec<u8>, rows: &[MetricRow], first_ord: i64) -> Result<bool, sqlx::Error> {
    // Binary COPY counts days and microseconds from 2000-01-01 UTC.
    const EPOCH_DAYS_FROM_CE: i32 = 730_120;
    const EPOCH_MICROS: i64 = 946_684_800_000_000;
    fn len(buf: &mut Vec<u8>, n: usize) -> Result<(), sqlx::Error> {
        let n = i32::try_from(n).map_err(|e| sqlx::Error::Encode(e.into()))?;
        buf.extend_from_slice(&n.to_be_bytes());
        Ok(())
    }
    fn text(buf: &mut Vec<u8>, v: Option<&str>) -> Result<(), sqlx::Error> {
        match v {
            Some(v) => {
                len(buf, v.len())?;
                buf.extend_from_slice(v.as_bytes());
            }
            None => buf.extend_from_slice(&(-1i32).to_be_bytes()),
        }
        Ok(())
    }
    fn fixed<const N: usize>(buf: &mut Vec<u8>, bytes: [u8; N]) {
        buf.extend_from_slice(&(N as i32).to_be_bytes());
        buf.extend_from_slice(&bytes);
    }
    let mut any_late = false;
    for (i, r) in rows.iter().enumerate() {
        let (late, day) = match super::classify_day(&r.metric_id, r.received_at) {
            PartitionDay::Late(d) => (true, d),
            d => (false, d.day()),
        };
        any_late |= late;
        let days = day.num_days_from_ce() - EPOCH_DAYS_FROM_CE;
        buf.extend_from_slice(&24i16.to_be_bytes());
        fixed(buf, (first_ord + i as i64).to_be_bytes());
        fixed(buf, [u8::from(late)]);
        fixed(buf, days.to_be_bytes());
        text(buf, Some(&r.site))?;
        text(buf, Some(&r.page_view_id))?;
        text(buf, Some(&r.metric_id))?;
        text(buf, Some(&r.name))?;
        fixed(buf, r.value.to_be_bytes());
        fixed(buf, r.delta.to_be_bytes());
        text(buf, Some(&r.rating))?;
        text(buf, Some(&r.navigation_type))?;
        text(buf, Some(&r.url))?;
        text(buf, Some(&r.path))?;
        text(buf, Some(&r.route))?;
        fixed(buf, r.sample_rate.to_be_bytes());
        text(buf, r.release.as_deref())?;
        text(buf, r.connection.as_deref())?;
        text(buf, Some(&r.form_factor))?;
        text(buf, Some(&r.browser))?;
        text(buf, Some(&r.engine))?;
        text(buf, r.country.as_deref())?;
        text(buf, r.attribution.as_deref())?;
        fixed(buf, r.seq.to_be_bytes());
        fixed(
            buf,
            (r.received_at.timestamp_micros() - EPOCH_MICROS).to_be_bytes(),
        );
    }
    Ok(any_late)
}

/// The rows behind `samples` and `path_samples`: one filter, two column lists.
const SAMPLE_FILTER: &str = "FROM metric
         WHERE site = $1 AND name = $2
           AND ($3::text IS NULL OR path LIKE $3 ESCAPE '\\')
           AND ($4::timestamptz IS NULL OR received_at >= $4)
           AND ($5::timestamptz IS NULL OR received_at < $5)
           AND day >= COALESCE(($4::timestamptz AT TIME ZONE 'UTC')::date - 2, '-infinity')
           AND day <= COALESCE(($5::timestamptz AT TIME ZONE 'UTC')::date + 1, 'infinity')
           AND ($6::text IS NULL OR release = $6)
           AND ($7::text IS NULL OR release IS DISTINCT FROM $7)";

static SAMPLES: LazyLock<String> =
    LazyLock::new(|| format!("SELECT value, 1.0 / sample_rate AS weight {SAMPLE_FILTER}"));
static WEIGHT_COUNT: LazyLock<String> =
    LazyLock::new(|| format!("SELECT count(*) {SAMPLE_FILTER}"));
/// Every `$8`-th page view by a hash of its id's last three characters (the
/// same arithmetic as SQLite's, so both backends pick the same rows).
static WEIGHT_ROWS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT path, url, 1.0 / sample_rate AS weight, attribution::text AS attribution {SAMPLE_FILTER}
           AND (ascii(substr(right(page_view_id, 1), 1, 1)) * 961
                + ascii(substr(right(page_view_id, 2), 1, 1)) * 31
                + ascii(substr(right(page_view_id, 3), 1, 1))) % $8 = 0
         ORDER BY received_at DESC LIMIT $9"
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
            .bind($q.since)
            .bind($q.until)
            .bind($q.release)
            .bind($q.exclude_release)
    };
}

async fn sample_rows(
    pool: &PgPool,
    sql: &'static str,
    q: &SampleQuery<'_>,
) -> Result<Vec<sqlx::postgres::PgRow>, sqlx::Error> {
    bind_filter!(sqlx::query(sql), q).fetch_all(pool).await
}

fn sample_of(r: &sqlx::postgres::PgRow) -> Result<Sample, sqlx::Error> {
    Ok(Sample {
        value: r.try_get("value")?,
        weight: r.try_get("weight")?,
    })
}

/// First receive time of each release with rows on a site in [from, to).
pub async fn release_first_seen(
    pool: &PgPool,
    site: &str,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT release, min(received_at) FROM metric
         WHERE site = $1 AND received_at >= $2 AND received_at < $3 AND release IS NOT NULL
           AND day >= ($2::timestamptz AT TIME ZONE 'UTC')::date - 2
           AND day <= ($3::timestamptz AT TIME ZONE 'UTC')::date + 1
         GROUP BY release ORDER BY 2",
    )
    .bind(site)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
}

/// Newest receive time of a release's rows on a site.
pub async fn release_last_seen(
    pool: &PgPool,
    site: &str,
    release: &str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, sqlx::Error> {
    sqlx::query_scalar("SELECT max(received_at) FROM metric WHERE site = $1 AND release = $2")
        .bind(site)
        .bind(release)
        .fetch_one(pool)
        .await
}

pub async fn samples(pool: &PgPool, q: &SampleQuery<'_>) -> Result<Vec<Sample>, sqlx::Error> {
    let rows = sample_rows(pool, SAMPLES.as_str(), q).await?;
    rows.iter().map(sample_of).collect()
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
    pool: &PgPool,
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
