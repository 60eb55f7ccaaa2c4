//! Reports from the rollups (migrations/*/20261127000030_rollups.sql): any slice
//! by site, metric, route, form factor, engine, country, release and time range,
//! grouped by nothing, a dimension, the hour or the day. Percentiles come from
//! merged histograms (`histogram`), never from averaging percentiles.
//!
//! Three rollup levels, the smallest that answers wins: whole UTC days with no
//! dimension → site-day; whole days with one dimension (filter or grouping) →
//! dimension-day; anything else → the hourly, all-dimension tables.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveTime, Timelike, Utc};
use serde::Serialize;
use sqlx::Row;

use crate::histogram;
use crate::storage::Store;

/// What to report on. `from` is inclusive, `to` exclusive; both are truncated
/// to the hour (the rollups' grain).
#[derive(Clone, Debug)]
pub struct Slice {
    pub site: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub metric: Option<String>,
    pub route: Option<String>,
    pub form_factor: Option<String>,
    pub engine: Option<String>,
    pub country: Option<String>,
    pub release: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    Nothing,
    Route,
    FormFactor,
    Engine,
    Country,
    Release,
    Hour,
    Day,
}

impl GroupBy {
    pub fn parse(s: &str) -> Option<GroupBy> {
        Some(match s {
            "route" => GroupBy::Route,
            "form_factor" => GroupBy::FormFactor,
            "engine" => GroupBy::Engine,
            "country" => GroupBy::Country,
            "release" => GroupBy::Release,
            "hour" => GroupBy::Hour,
            "day" => GroupBy::Day,
            _ => return None,
        })
    }

    fn key(self) -> &'static str {
        match self {
            GroupBy::Nothing => "",
            GroupBy::Route => "route",
            GroupBy::FormFactor => "form_factor",
            GroupBy::Engine => "engine",
            GroupBy::Country => "country",
            GroupBy::Release => "release",
            GroupBy::Hour => "hour",
            GroupBy::Day => "day",
        }
    }
}

/// Merged rollups of one group and metric.
#[derive(Clone, Debug, Default)]
pub struct Agg {
    pub samples: i64,
    pub weight: f64,
    pub good: f64,
    pub needs_improvement: f64,
    pub poor: f64,
    /// (bucket, weight), merged per bucket.
    pub hist: Vec<(i32, f64)>,
}

/// One row of a report: a group (e.g. a route, an hour) and a metric.
#[derive(Clone, Debug, Serialize)]
pub struct ReportRow {
    /// The group's value: '' when ungrouped; RFC 3339 hour or YYYY-MM-DD day for time groups.
    pub group: String,
    pub metric: String,
    pub unit: &'static str,
    pub samples: i64,
    /// Samples weighted by 1 / sample_rate: the page views they stand for.
    pub page_views: f64,
    pub p75: Option<f64>,
    pub good: f64,
    pub needs_improvement: f64,
    pub poor: f64,
}

impl Agg {
    pub fn percentile(&self, metric: &str, p: f64) -> Option<f64> {
        histogram::percentile(metric, &self.hist, p)
    }

    fn row(&self, group: &str, metric: &str) -> ReportRow {
        let share = |x: f64| {
            if self.weight > 1e-9 {
                (x / self.weight).clamp(0.0, 1.0)
            } else {
                0.0
            }
        };
        ReportRow {
            group: group.to_string(),
            metric: metric.to_string(),
            unit: unit_of(metric),
            samples: self.samples,
            page_views: self.weight,
            p75: self.percentile(metric, 75.0),
            good: share(self.good),
            needs_improvement: share(self.needs_improvement),
            poor: share(self.poor),
        }
    }
}

/// Which rollup answers a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `metric_site_day`: whole days, no dimension.
    SiteDay,
    /// `metric_dim_day`: whole days, one dimension (filtered to `val` and/or grouped by value).
    DimDay {
        dim: &'static str,
        val: Option<String>,
        by_value: bool,
    },
    /// `metric_rollup`: hourly, every dimension; histograms from
    /// `metric_site_hour_hist` when no dimension is asked for, else from raw
    /// rows (an hourly histogram per every dimension was as large as the raw
    /// table and cost most of the ingest, see migration 0080).
    Hourly,
}

impl Source {
    pub fn name(&self) -> &'static str {
        match self {
            Source::SiteDay => "site_day",
            Source::DimDay { .. } => "dimension_day",
            Source::Hourly => "hourly",
        }
    }
}

pub type Groups = BTreeMap<(String, String), Agg>;

impl Slice {
    fn whole_days(&self) -> bool {
        self.from.time() == NaiveTime::MIN && self.to.time() == NaiveTime::MIN
    }

    /// True when the small site-day rollup can answer.
    pub fn uses_site_day(&self, group: GroupBy) -> bool {
        self.source(group) == Source::SiteDay
    }

    fn filters(&self) -> Vec<(&'static str, &str)> {
        [
            ("route", &self.route),
            ("form_factor", &self.form_factor),
            ("engine", &self.engine),
            ("country", &self.country),
            ("release", &self.release),
        ]
        .into_iter()
        .filter_map(|(d, v)| v.as_deref().map(|v| (d, v)))
        .collect()
    }

    /// The smallest rollup that answers this slice and grouping.
    pub fn source(&self, group: GroupBy) -> Source {
        if !self.whole_days() {
            return Source::Hourly;
        }
        let filters = self.filters();
        let time_or_none = matches!(group, GroupBy::Nothing | GroupBy::Day);
        match (filters.as_slice(), time_or_none) {
            ([], true) => Source::SiteDay,
            ([(dim, val)], true) => Source::DimDay {
                dim,
                val: Some(val.to_string()),
                by_value: false,
            },
            ([], false) if !matches!(group, GroupBy::Hour) => Source::DimDay {
                dim: group.key(),
                val: None,
                by_value: true,
            },
            ([(dim, val)], false) if *dim == group.key() => Source::DimDay {
                dim,
                val: Some(val.to_string()),
                by_value: true,
            },
            _ => Source::Hourly,
        }
    }

    /// True when the site-level hourly histogram answers an hourly slice: no
    /// dimension filtered on or grouped by.
    fn site_hist_answers(&self, group: GroupBy) -> bool {
        self.filters().is_empty()
            && matches!(group, GroupBy::Nothing | GroupBy::Hour | GroupBy::Day)
    }

    fn hour_from(&self) -> DateTime<Utc> {
        truncate_hour(self.from)
    }

    fn hour_to(&self) -> DateTime<Utc> {
        truncate_hour(self.to)
    }
}

pub fn truncate_hour(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_minute(0))
        .unwrap_or(t)
}

/// Loads and merges rollups for `slice`, grouped by `group` and metric.
pub async fn load(store: &Store, slice: &Slice, group: GroupBy) -> Result<Groups, sqlx::Error> {
    let mut groups: Groups = BTreeMap::new();
    let source = slice.source(group);
    match store {
        Store::Postgres(pool) => {
            let (counts, hist) = match source {
                Source::SiteDay => (PG_SITE_DAY, PG_SITE_DAY_HIST),
                Source::DimDay { .. } => (PG_DIM_DAY, PG_DIM_DAY_HIST),
                Source::Hourly if slice.site_hist_answers(group) => (PG_ROLLUP, PG_SITE_HOUR_HIST),
                Source::Hourly => (PG_ROLLUP, PG_RAW_HIST),
            };
            // Both statements at once, on two pooled connections.
            let (counts, hist) = tokio::try_join!(
                bind_pg(sqlx::query(counts), slice, group, &source).fetch_all(pool),
                bind_pg(sqlx::query(hist), slice, group, &source).fetch_all(pool),
            )?;
            for r in counts {
                add_counts(&mut groups, &r)?;
            }
            for r in hist {
                add_hist(&mut groups, &r)?;
            }
        }
        Store::Sqlite(pool) => {
            let (counts, hist) = match source {
                Source::SiteDay => (SQ_SITE_DAY, SQ_SITE_DAY_HIST),
                Source::DimDay { .. } => (SQ_DIM_DAY, SQ_DIM_DAY_HIST),
                Source::Hourly if slice.site_hist_answers(group) => (SQ_ROLLUP, SQ_SITE_HOUR_HIST),
                Source::Hourly => (SQ_ROLLUP, SQ_RAW_HIST),
            };
            // Both statements at once, on two pooled connections.
            let (counts, hist) = tokio::try_join!(
                bind_sq(sqlx::query(counts), slice, group, &source).fetch_all(pool),
                bind_sq(sqlx::query(hist), slice, group, &source).fetch_all(pool),
            )?;
            for r in counts {
                add_counts(&mut groups, &r)?;
            }
            for r in hist {
                add_hist(&mut groups, &r)?;
            }
        }
    }
    // Keys whose every row was re-sent away hold nothing.
    groups.retain(|_, a| a.samples > 0);
    Ok(groups)
}

/// Rows of a report, ordered by group then metric.
pub async fn report(
    store: &Store,
    slice: &Slice,
    group: GroupBy,
) -> Result<Vec<ReportRow>, sqlx::Error> {
    let groups = load(store, slice, group).await?;
    Ok(groups.iter().map(|((g, m), a)| a.row(g, m)).collect())
}

fn add_counts<R: Row>(groups: &mut Groups, r: &R) -> Result<(), sqlx::Error>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> f64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let a = groups
        .entry((r.try_get("g")?, r.try_get("name")?))
        .or_default();
    a.samples += r.try_get::<i64, _>("samples")?;
    a.weight += r.try_get::<f64, _>("weight")?;
    a.good += r.try_get::<f64, _>("good")?;
    a.needs_improvement += r.try_get::<f64, _>("ni")?;
    a.poor += r.try_get::<f64, _>("poor")?;
    Ok(())
}

fn add_hist<R: Row>(groups: &mut Groups, r: &R) -> Result<(), sqlx::Error>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i32: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> f64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let key: (String, String) = (r.try_get("g")?, r.try_get("name")?);
    let bucket: i32 = r.try_get("bucket")?;
    let weight: f64 = r.try_get("weight")?;
    if let Some(a) = groups.get_mut(&key) {
        a.hist.push((bucket, weight));
    }
    Ok(())
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;
type SqQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>;

fn bind_pg<'q>(q: PgQuery<'q>, s: &'q Slice, g: GroupBy, src: &Source) -> PgQuery<'q> {
    let q = q.bind(s.site.as_str());
    match src {
        Source::SiteDay => q
            .bind(g.key())
            .bind(s.metric.as_deref())
            .bind(s.from.date_naive())
            .bind(s.to.date_naive()),
        Source::DimDay { dim, val, by_value } => q
            .bind(if *by_value { "dim" } else { g.key() })
            .bind(s.metric.as_deref())
            .bind(s.from.date_naive())
            .bind(s.to.date_naive())
            .bind(*dim)
            .bind(val.clone()),
        Source::Hourly => q
            .bind(g.key())
            .bind(s.metric.as_deref())
            .bind(s.hour_from())
            .bind(s.hour_to())
            .bind(s.route.as_deref())
            .bind(s.form_factor.as_deref())
            .bind(s.engine.as_deref())
            .bind(s.country.as_deref())
            .bind(s.release.as_deref()),
    }
}

fn bind_sq<'q>(q: SqQuery<'q>, s: &'q Slice, g: GroupBy, src: &Source) -> SqQuery<'q> {
    let q = q.bind(s.site.as_str());
    let day = |t: DateTime<Utc>| t.timestamp().div_euclid(86_400);
    match src {
        Source::SiteDay => q
            .bind(g.key())
            .bind(s.metric.as_deref())
            .bind(day(s.from))
            .bind(day(s.to)),
        Source::DimDay { dim, val, by_value } => q
            .bind(if *by_value { "dim" } else { g.key() })
            .bind(s.metric.as_deref())
            .bind(day(s.from))
            .bind(day(s.to))
            .bind(*dim)
            .bind(val.clone()),
        Source::Hourly => q
            .bind(g.key())
            .bind(s.metric.as_deref())
            .bind(s.hour_from().timestamp().div_euclid(3600))
            .bind(s.hour_to().timestamp().div_euclid(3600))
            .bind(s.route.as_deref())
            .bind(s.form_factor.as_deref())
            .bind(s.engine.as_deref())
            .bind(s.country.as_deref())
            .bind(s.release.as_deref()),
    }
}

// One static statement per table and backend; optional filters are
// `(param IS NULL OR column = param)` and the grouping column is picked by name.
macro_rules! pg_rollup_where {
    () => {
        "WHERE site = $1 AND hour >= $4 AND hour < $5 AND ($3::text IS NULL OR name = $3)
           AND ($6::text IS NULL OR route = $6) AND ($7::text IS NULL OR form_factor = $7)
           AND ($8::text IS NULL OR engine = $8) AND ($9::text IS NULL OR country = $9)
           AND ($10::text IS NULL OR release = $10)"
    };
}

const PG_ROLLUP: &str = concat!(
    "SELECT CASE $2 WHEN 'route' THEN route WHEN 'form_factor' THEN form_factor
            WHEN 'engine' THEN engine WHEN 'country' THEN country WHEN 'release' THEN release
            WHEN 'hour' THEN to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:00:00\"Z\"')
            WHEN 'day' THEN to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD') ELSE '' END AS g,
            name, SUM(samples)::int8 AS samples, SUM(weight) AS weight, SUM(good) AS good,
            SUM(needs_improvement) AS ni, SUM(poor) AS poor
         FROM metric_rollup ",
    pg_rollup_where!(),
    " GROUP BY 1, 2"
);

const PG_SITE_HOUR_HIST: &str = concat!(
    "SELECT CASE $2 WHEN 'hour' THEN to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:00:00\"Z\"')
            WHEN 'day' THEN to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD') ELSE '' END AS g,
            name, bucket, SUM(weight) AS weight
         FROM metric_site_hour_hist
         WHERE site = $1 AND hour >= $4 AND hour < $5 AND ($3::text IS NULL OR name = $3)
           AND COALESCE($6::text, $7::text, $8::text, $9::text, $10::text) IS NULL",
    " GROUP BY 1, 2, 3"
);

/// The histogram of an hourly slice by dimensions, from raw rows: bucketed
/// like the rollups, the day range added so only those days' partitions are read.
const PG_RAW_HIST: &str = concat!(
    "SELECT CASE $2 WHEN 'route' THEN route WHEN 'form_factor' THEN form_factor
            WHEN 'engine' THEN engine WHEN 'country' THEN COALESCE(country, '')
            WHEN 'release' THEN COALESCE(release, '')
            WHEN 'hour' THEN to_char(date_trunc('hour', received_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD\"T\"HH24:00:00\"Z\"')
            WHEN 'day' THEN to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') ELSE '' END AS g,
            name, strray_hist_bucket(name, value) AS bucket, SUM(1.0 / sample_rate) AS weight
         FROM metric
         WHERE site = $1 AND received_at >= $4 AND received_at < $5
           AND day >= ($4::timestamptz AT TIME ZONE 'UTC')::date - 2
           AND day <= ($5::timestamptz AT TIME ZONE 'UTC')::date + 1
           AND ($3::text IS NULL OR name = $3)
           AND ($6::text IS NULL OR route = $6) AND ($7::text IS NULL OR form_factor = $7)
           AND ($8::text IS NULL OR engine = $8) AND ($9::text IS NULL OR COALESCE(country, '') = $9)
           AND ($10::text IS NULL OR COALESCE(release, '') = $10)",
    " GROUP BY 1, 2, 3"
);

const PG_SITE_DAY: &str =
    "SELECT CASE $2 WHEN 'day' THEN to_char(day, 'YYYY-MM-DD') ELSE '' END AS g,
        name, SUM(samples)::int8 AS samples, SUM(weight) AS weight, SUM(good) AS good,
        SUM(needs_improvement) AS ni, SUM(poor) AS poor
     FROM metric_site_day
     WHERE site = $1 AND day >= $4 AND day < $5 AND ($3::text IS NULL OR name = $3)
     GROUP BY 1, 2";

const PG_SITE_DAY_HIST: &str =
    "SELECT CASE $2 WHEN 'day' THEN to_char(day, 'YYYY-MM-DD') ELSE '' END AS g,
        name, bucket, SUM(weight) AS weight
     FROM metric_site_day_hist
     WHERE site = $1 AND day >= $4 AND day < $5 AND ($3::text IS NULL OR name = $3)
     GROUP BY 1, 2, 3";

const PG_DIM_DAY: &str = "SELECT CASE $2 WHEN 'day' THEN to_char(day, 'YYYY-MM-DD') WHEN 'dim' THEN val ELSE '' END AS g,
        name, SUM(samples)::int8 AS samples, SUM(weight) AS weight, SUM(good) AS good,
        SUM(needs_improvement) AS ni, SUM(poor) AS poor
     FROM metric_dim_day
     WHERE site = $1 AND day >= $4 AND day < $5 AND ($3::text IS NULL OR name = $3)
       AND dim = $6 AND ($7::text IS NULL OR val = $7)
     GROUP BY 1, 2";

const PG_DIM_DAY_HIST: &str = "SELECT CASE $2 WHEN 'day' THEN to_char(day, 'YYYY-MM-DD') WHEN 'dim' THEN val ELSE '' END AS g,
        name, bucket, SUM(weight) AS weight
     FROM metric_dim_day_hist
     WHERE site = $1 AND day >= $4 AND day < $5 AND ($3::text IS NULL OR name = $3)
       AND dim = $6 AND ($7::text IS NULL OR val = $7)
     GROUP BY 1, 2, 3";

const SQ_DIM_DAY: &str = "SELECT CASE ?2 WHEN 'day' THEN strftime('%Y-%m-%d', day * 86400, 'unixepoch') WHEN 'dim' THEN val ELSE '' END AS g,
        name, SUM(samples) AS samples, CAST(SUM(weight) AS REAL) AS weight,
        CAST(SUM(good) AS REAL) AS good, CAST(SUM(needs_improvement) AS REAL) AS ni,
        CAST(SUM(poor) AS REAL) AS poor
     FROM metric_dim_day
     WHERE site = ?1 AND day >= ?4 AND day < ?5 AND (?3 IS NULL OR name = ?3)
       AND dim = ?6 AND (?7 IS NULL OR val = ?7)
     GROUP BY 1, 2";

const SQ_DIM_DAY_HIST: &str = "SELECT CASE ?2 WHEN 'day' THEN strftime('%Y-%m-%d', day * 86400, 'unixepoch') WHEN 'dim' THEN val ELSE '' END AS g,
        name, bucket, CAST(SUM(weight) AS REAL) AS weight
     FROM metric_dim_day_hist
     WHERE site = ?1 AND day >= ?4 AND day < ?5 AND (?3 IS NULL OR name = ?3)
       AND dim = ?6 AND (?7 IS NULL OR val = ?7)
     GROUP BY 1, 2, 3";

macro_rules! sq_group {
    () => {
        "SELECT CASE ?2 WHEN 'route' THEN route WHEN 'form_factor' THEN form_factor
            WHEN 'engine' THEN engine WHEN 'country' THEN country WHEN 'release' THEN release
            WHEN 'hour' THEN strftime('%Y-%m-%dT%H:00:00Z', hour * 3600, 'unixepoch')
            WHEN 'day' THEN strftime('%Y-%m-%d', hour * 3600, 'unixepoch') ELSE '' END AS g, name, "
    };
}

macro_rules! sq_where {
    () => {
        " WHERE site = ?1 AND hour >= ?4 AND hour < ?5 AND (?3 IS NULL OR name = ?3)
           AND (?6 IS NULL OR route = ?6) AND (?7 IS NULL OR form_factor = ?7)
           AND (?8 IS NULL OR engine = ?8) AND (?9 IS NULL OR country = ?9)
           AND (?10 IS NULL OR release = ?10)"
    };
}

const SQ_ROLLUP: &str = concat!(
    sq_group!(),
    "SUM(samples) AS samples, CAST(SUM(weight) AS REAL) AS weight, CAST(SUM(good) AS REAL) AS good,
     CAST(SUM(needs_improvement) AS REAL) AS ni, CAST(SUM(poor) AS REAL) AS poor FROM metric_rollup",
    sq_where!(),
    " GROUP BY 1, 2"
);

const SQ_SITE_HOUR_HIST: &str = "SELECT CASE ?2
            WHEN 'hour' THEN strftime('%Y-%m-%dT%H:00:00Z', hour * 3600, 'unixepoch')
            WHEN 'day' THEN strftime('%Y-%m-%d', hour * 3600, 'unixepoch') ELSE '' END AS g,
        name, bucket, CAST(SUM(weight) AS REAL) AS weight
     FROM metric_site_hour_hist
     WHERE site = ?1 AND hour >= ?4 AND hour < ?5 AND (?3 IS NULL OR name = ?3)
       AND COALESCE(?6, ?7, ?8, ?9, ?10) IS NULL
     GROUP BY 1, 2, 3";

/// Twin of `PG_RAW_HIST`; buckets from the `hist_bucket` lower bounds (SQLite
/// here has no ln(), see migration 0030), hours as epoch hours.
const SQ_RAW_HIST: &str = "SELECT CASE ?2 WHEN 'route' THEN route WHEN 'form_factor' THEN form_factor
            WHEN 'engine' THEN engine WHEN 'country' THEN COALESCE(country, '')
            WHEN 'release' THEN COALESCE(release, '')
            WHEN 'hour' THEN strftime('%Y-%m-%dT%H:00:00Z', (received_at_ms / 3600000) * 3600, 'unixepoch')
            WHEN 'day' THEN strftime('%Y-%m-%d', received_at_ms / 1000, 'unixepoch') ELSE '' END AS g,
        name,
        (SELECT bucket FROM hist_bucket
         WHERE lower <= value * (CASE WHEN name = 'CLS' THEN 10000.0 ELSE 1.0 END)
         ORDER BY lower DESC LIMIT 1) AS bucket,
        CAST(SUM(1.0 / sample_rate) AS REAL) AS weight
     FROM metric
     WHERE site = ?1 AND received_at_ms >= ?4 * 3600000 AND received_at_ms < ?5 * 3600000
       AND (?3 IS NULL OR name = ?3)
       AND (?6 IS NULL OR route = ?6) AND (?7 IS NULL OR form_factor = ?7)
       AND (?8 IS NULL OR engine = ?8) AND (?9 IS NULL OR COALESCE(country, '') = ?9)
       AND (?10 IS NULL OR COALESCE(release, '') = ?10)
     GROUP BY 1, 2, 3";

const SQ_SITE_DAY: &str = "SELECT CASE ?2 WHEN 'day' THEN strftime('%Y-%m-%d', day * 86400, 'unixepoch') ELSE '' END AS g,
        name, SUM(samples) AS samples, CAST(SUM(weight) AS REAL) AS weight,
        CAST(SUM(good) AS REAL) AS good, CAST(SUM(needs_improvement) AS REAL) AS ni,
        CAST(SUM(poor) AS REAL) AS poor
     FROM metric_site_day
     WHERE site = ?1 AND day >= ?4 AND day < ?5 AND (?3 IS NULL OR name = ?3)
     GROUP BY 1, 2";

const SQ_SITE_DAY_HIST: &str = "SELECT CASE ?2 WHEN 'day' THEN strftime('%Y-%m-%d', day * 86400, 'unixepoch') ELSE '' END AS g,
        name, bucket, CAST(SUM(weight) AS REAL) AS weight
     FROM metric_site_day_hist
     WHERE site = ?1 AND day >= ?4 AND day < ?5 AND (?3 IS NULL OR name = ?3)
     GROUP BY 1, 2, 3";

/// Midnight UTC of `t`'s day.
pub fn day_start(t: DateTime<Utc>) -> DateTime<Utc> {
    t.date_naive().and_time(NaiveTime::MIN).and_utc()
}

/// The last `days` whole UTC days up to and including today.
pub fn last_days(now: DateTime<Utc>, days: i64) -> (DateTime<Utc>, DateTime<Utc>) {
    let end = day_start(now) + Duration::days(1);
    (end - Duration::days(days), end)
}

/// The unit of a stored metric's values by its wire name: `ms`, `score`
/// (CLS) or `bytes` (WEIGHT).
pub fn unit_of(metric: &str) -> &'static str {
    vitals_core::MetricName::parse(metric).map_or("ms", |m| m.unit().as_str())
}
