//! Page weight report (issue 17): from the WEIGHT rows of a slice, the p75 per
//! Lighthouse resource type (compressed, uncompressed, requests), the heaviest
//! routes (p75 compressed) and the heaviest hosts (summed compressed bytes).
//!
//! Read from raw rows, not the rollups: the per-type sizes live in each row's
//! nested attribution (see `vitals_core::weight`), which SQL spreads into
//! numbers (as the `page_weight` view does) and sums per host, so no JSON
//! travels to or is parsed by the collector. Percentiles are exact
//! weighted nearest-rank (`budget::weighted_percentile`, weight 1/sample_rate),
//! so they can differ by < 1 % from the rollup p75 of WEIGHT in `/summary`.
//! At most [`MAX_ROWS`] rows (the newest) are read, for the hosts too;
//! `truncated` says so.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Serialize;
use sqlx::Row;
use vitals_core::weight::{OTHER_HOSTS, ResourceType};

use crate::budget::weighted_percentile;
use crate::reports::Slice;
use crate::storage::{Sample, Store};

/// Rows read per report (the newest): bounds the time on a busy site's long
/// window (about 1 s per 25 000 rows on PostgreSQL on a small machine); the
/// p75 of 25 000 page views is within a fraction of a percent in rank.
pub const MAX_ROWS: i64 = 25_000;

/// The label shown for [`OTHER_HOSTS`] (hosts past the agent's first 16).
pub const OTHER_HOSTS_LABEL: &str = "other hosts";

/// One WEIGHT row as read for the report.
#[derive(Clone, Debug, Default)]
pub struct WeightRow {
    pub route: String,
    pub sample_rate: f64,
    /// Compressed bytes of the page view (the metric value).
    pub value: f64,
    /// Per type in `ResourceType::ALL` order: encoded, decoded, requests (0 when absent).
    pub types: [[f64; 3]; 7],
}

/// One host summed over the rows of one page host (weighted by 1/sample_rate).
#[derive(Clone, Debug, Default)]
pub struct HostRow {
    pub host: String,
    /// The host of the pages that loaded from `host` ('' when unknown).
    pub page_host: String,
    pub compressed: f64,
    pub uncompressed: f64,
    pub requests: f64,
    pub unknown: f64,
    pub page_views: f64,
}

/// p75 of one resource type (or `total`) over the page views; a page view
/// that loaded nothing of the type counts as 0.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TypeWeight {
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// p75 of encoded body bytes.
    pub compressed_p75: Option<f64>,
    /// p75 of decoded body bytes.
    pub uncompressed_p75: Option<f64>,
    pub requests_p75: Option<f64>,
    /// Page views (weighted) that loaded at least one request of the type.
    pub page_views_with: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RouteWeight {
    pub route: String,
    pub samples: i64,
    pub page_views: f64,
    pub compressed_p75: Option<f64>,
}

/// A host's bytes summed over the page views, each weighted by 1/sample_rate
/// (an estimate for all page views, sampled or not).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct HostWeight {
    /// As sent; `*` for the hosts past the agent's first 16.
    pub host: String,
    /// `host`, or "other hosts" for `*`.
    pub label: String,
    /// The page's own host or a subdomain of it (a leading `www.` ignored).
    pub first_party: bool,
    pub compressed: f64,
    pub uncompressed: f64,
    pub requests: f64,
    /// Requests whose sizes the browser hid (counted in `requests`, not in bytes).
    pub unknown_requests: f64,
    pub page_views: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct WeightReport {
    pub samples: i64,
    pub page_views: f64,
    /// More than [`MAX_ROWS`] rows matched; the newest were used.
    pub truncated: bool,
    pub total: TypeWeight,
    /// Every Lighthouse type, in Lighthouse's order.
    pub types: Vec<TypeWeight>,
    /// Heaviest p75 first.
    pub routes: Vec<RouteWeight>,
    /// Most compressed bytes first.
    pub hosts: Vec<HostWeight>,
}

fn weight_of(sample_rate: f64) -> f64 {
    if sample_rate.is_finite() && sample_rate > 0.0 {
        1.0 / sample_rate
    } else {
        0.0
    }
}

fn p75(samples: &[Sample]) -> Option<f64> {
    weighted_percentile(samples, 75.0)
}

/// Whether `host` belongs to the page at `page_host`: `check`'s rule without
/// `firstPartyHostnames`, so the dashboard and the verdict agree.
pub fn is_first_party(host: &str, page_host: &str) -> bool {
    !page_host.is_empty() && crate::check::weight::is_first_party(host, &[], Some(page_host))
}

#[derive(Default)]
struct HostAcc {
    compressed: f64,
    uncompressed: f64,
    requests: f64,
    unknown: f64,
    page_views: f64,
    first_party: bool,
}

/// The report of `rows` and `host_rows` (pure: tested without a database).
/// `truncated` is passed through; routes and hosts are sorted, not cut.
pub fn aggregate(rows: &[WeightRow], host_rows: &[HostRow], truncated: bool) -> WeightReport {
    // Per type: compressed, uncompressed and request samples.
    let mut per_type: Vec<[Vec<Sample>; 3]> = ResourceType::ALL
        .iter()
        .map(|_| [Vec::new(), Vec::new(), Vec::new()])
        .collect();
    let mut with = [0.0f64; 7];
    let mut totals: [Vec<Sample>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    let mut routes: BTreeMap<&str, Vec<Sample>> = BTreeMap::new();
    let mut page_views = 0.0;
    let mut samples = 0;
    for r in rows {
        let w = weight_of(r.sample_rate);
        if w <= 0.0 {
            continue;
        }
        samples += 1;
        page_views += w;
        let (mut decoded, mut requests) = (0.0, 0.0);
        for (i, q) in r.types.iter().enumerate() {
            let q = q.map(|x| if x.is_finite() { x } else { 0.0 });
            decoded += q[1];
            requests += q[2];
            if q[2] > 0.0 {
                with[i] += w;
            }
            for (k, value) in q.into_iter().enumerate() {
                per_type[i][k].push(Sample { value, weight: w });
            }
        }
        for (k, value) in [r.value, decoded, requests].into_iter().enumerate() {
            totals[k].push(Sample { value, weight: w });
        }
        routes.entry(&r.route).or_default().push(Sample {
            value: r.value,
            weight: w,
        });
    }
    let mut hosts: BTreeMap<&str, HostAcc> = BTreeMap::new();
    for h in host_rows {
        let acc = hosts.entry(&h.host).or_default();
        acc.compressed += h.compressed;
        acc.uncompressed += h.uncompressed;
        acc.requests += h.requests;
        acc.unknown += h.unknown;
        acc.page_views += h.page_views;
        acc.first_party |= h.host != OTHER_HOSTS && is_first_party(&h.host, &h.page_host);
    }
    let type_weight = |kind, s: &[Vec<Sample>; 3], with: f64| TypeWeight {
        kind,
        compressed_p75: p75(&s[0]),
        uncompressed_p75: p75(&s[1]),
        requests_p75: p75(&s[2]),
        page_views_with: with,
    };
    let types = ResourceType::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| type_weight(t.as_str(), &per_type[i], with[i]))
        .collect();
    let mut routes: Vec<RouteWeight> = routes
        .into_iter()
        .map(|(route, s)| RouteWeight {
            route: route.to_string(),
            samples: s.len() as i64,
            page_views: s.iter().map(|x| x.weight).sum(),
            compressed_p75: p75(&s),
        })
        .collect();
    routes.sort_by(|a, b| {
        b.compressed_p75
            .unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&a.compressed_p75.unwrap_or(f64::NEG_INFINITY))
            .then_with(|| a.route.cmp(&b.route))
    });
    let mut hosts: Vec<HostWeight> = hosts
        .into_iter()
        .map(|(host, a)| HostWeight {
            host: host.to_string(),
            label: if host == OTHER_HOSTS {
                OTHER_HOSTS_LABEL.to_string()
            } else {
                host.to_string()
            },
            first_party: a.first_party,
            compressed: a.compressed,
            uncompressed: a.uncompressed,
            requests: a.requests,
            unknown_requests: a.unknown,
            page_views: a.page_views,
        })
        .collect();
    hosts.sort_by(|a, b| {
        b.compressed
            .total_cmp(&a.compressed)
            .then_with(|| a.host.cmp(&b.host))
    });
    WeightReport {
        samples,
        page_views,
        truncated,
        total: type_weight("total", &totals, page_views),
        types,
        routes,
        hosts,
    }
}

/// The WEIGHT rows of `slice` (its `metric` is ignored), newest first, at
/// most [`MAX_ROWS`], and the hosts of those rows summed; true when more
/// rows matched.
pub async fn load(
    store: &Store,
    s: &Slice,
) -> Result<(Vec<WeightRow>, Vec<HostRow>, bool), sqlx::Error> {
    let mut rows = Vec::new();
    let mut hosts = Vec::new();
    match store {
        Store::Postgres(pool) => {
            let q = |sql| {
                sqlx::query(sql)
                    .bind(s.site.as_str())
                    .bind(s.from)
                    .bind(s.to)
                    .bind(s.route.as_deref())
                    .bind(s.form_factor.as_deref())
                    .bind(s.engine.as_deref())
                    .bind(s.country.as_deref())
                    .bind(s.release.as_deref())
                    .bind(MAX_ROWS + 1)
            };
            // JIT compiling these JSON expressions costs more than it saves:
            // 16.7 s with it, 2.7 s without for the hosts of 97 000 rows
            // (PostgreSQL 15, default jit settings). SET LOCAL needs a transaction.
            let mut tx = pool.begin().await?;
            sqlx::query("SET LOCAL jit = off").execute(&mut *tx).await?;
            for r in &q(PG_ROWS.as_str()).fetch_all(&mut *tx).await? {
                rows.push(weight_row(r)?);
            }
            for r in &q(PG_HOSTS.as_str()).fetch_all(&mut *tx).await? {
                hosts.push(host_row(r)?);
            }
            tx.commit().await?;
        }
        Store::Sqlite(pool) => {
            let q = |sql| {
                sqlx::query(sql)
                    .bind(s.site.as_str())
                    .bind(s.from.timestamp_millis())
                    .bind(s.to.timestamp_millis())
                    .bind(s.route.as_deref())
                    .bind(s.form_factor.as_deref())
                    .bind(s.engine.as_deref())
                    .bind(s.country.as_deref())
                    .bind(s.release.as_deref())
                    .bind(MAX_ROWS + 1)
            };
            for r in &q(SQ_ROWS.as_str()).fetch_all(pool).await? {
                rows.push(weight_row(r)?);
            }
            for r in &q(SQ_HOSTS.as_str()).fetch_all(pool).await? {
                hosts.push(host_row(r)?);
            }
        }
    }
    let truncated = rows.len() as i64 > MAX_ROWS;
    rows.truncate(MAX_ROWS as usize);
    Ok((rows, hosts, truncated))
}

/// The report of a slice.
pub async fn report(store: &Store, s: &Slice) -> Result<WeightReport, sqlx::Error> {
    let (rows, hosts, truncated) = load(store, s).await?;
    Ok(aggregate(&rows, &hosts, truncated))
}

fn weight_row<R: Row>(r: &R) -> Result<WeightRow, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> f64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let mut row = WeightRow {
        route: r.try_get(0)?,
        sample_rate: r.try_get(1)?,
        value: r.try_get(2)?,
        types: [[0.0; 3]; 7],
    };
    for (i, t) in row.types.iter_mut().enumerate() {
        for (k, q) in t.iter_mut().enumerate() {
            *q = r.try_get(3 + 3 * i + k)?;
        }
    }
    Ok(row)
}

fn host_row<R: Row>(r: &R) -> Result<HostRow, sqlx::Error>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> f64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(HostRow {
        host: r.try_get("host")?,
        page_host: r
            .try_get::<Option<String>, _>("page_host")?
            .unwrap_or_default(),
        compressed: r.try_get("compressed")?,
        uncompressed: r.try_get("uncompressed")?,
        requests: r.try_get("requests")?,
        unknown: r.try_get("unknown")?,
        page_views: r.try_get("page_views")?,
    })
}

/// The quantities read per type, in `WeightRow::types` order.
const TYPE_QUANTITIES: [&str; 3] = ["encoded", "decoded", "requests"];

/// ", <expr> AS <type>_<quantity>" for every type and quantity, in row order.
fn type_columns(expr: impl Fn(&str, &str) -> String) -> String {
    let mut out = String::new();
    for t in ResourceType::ALL {
        for q in TYPE_QUANTITIES {
            out.push_str(&format!(", {} AS {}_{q}", expr(t.as_str(), q), t.as_str()));
        }
    }
    out
}

/// The rows' filters, as in `reports::PG_RAW_HIST` (the day range lets
/// PostgreSQL read only those days' partitions), newest first.
const PG_FROM: &str = "FROM metric
     WHERE site = $1 AND name = 'WEIGHT' AND received_at >= $2 AND received_at < $3
       AND day >= ($2::timestamptz AT TIME ZONE 'UTC')::date - 2
       AND day <= ($3::timestamptz AT TIME ZONE 'UTC')::date + 1
       AND ($4::text IS NULL OR route = $4) AND ($5::text IS NULL OR form_factor = $5)
       AND ($6::text IS NULL OR engine = $6) AND ($7::text IS NULL OR COALESCE(country, '') = $7)
       AND ($8::text IS NULL OR COALESCE(release, '') = $8)
     ORDER BY received_at DESC
     LIMIT $9";

/// `route, sample_rate, value`, then a number per type and quantity (0 when
/// absent; `strray_weight_num` comes with the `page_weight` view's migration).
static PG_ROWS: LazyLock<String> = LazyLock::new(|| {
    let cols = type_columns(|t, q| format!("strray_weight_num(attribution, '{{types,{t},{q}}}')"));
    format!("SELECT route, sample_rate, value{cols} {PG_FROM}")
});

/// The hosts of the same rows, summed per host and page host (the page's
/// host decides what is first party).
static PG_HOSTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT h.key AS host,
                lower(substring(m.url from '^[A-Za-z][A-Za-z0-9+.-]*://([^/:?#]+)')) AS page_host,
                SUM(strray_weight_num(h.value, '{{encoded}}') / m.sample_rate) AS compressed,
                SUM(strray_weight_num(h.value, '{{decoded}}') / m.sample_rate) AS uncompressed,
                SUM(strray_weight_num(h.value, '{{requests}}') / m.sample_rate) AS requests,
                SUM(strray_weight_num(h.value, '{{unknown}}') / m.sample_rate) AS unknown,
                SUM(1.0 / m.sample_rate) AS page_views
         FROM (SELECT url, sample_rate, attribution -> 'hosts' AS hosts {PG_FROM}) m
         CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(m.hosts) = 'object'
                                            THEN m.hosts ELSE '{{}}'::jsonb END) h
         WHERE m.sample_rate > 0
         GROUP BY 1, 2"
    )
});

/// Twin of `PG_FROM`. json_extract raises on text that is not JSON: the
/// collector stores only JSON, so only a hand-edited row is left out.
const SQ_FROM: &str = "FROM metric
     WHERE site = ?1 AND name = 'WEIGHT' AND received_at_ms >= ?2 AND received_at_ms < ?3
       AND (?4 IS NULL OR route = ?4) AND (?5 IS NULL OR form_factor = ?5)
       AND (?6 IS NULL OR engine = ?6) AND (?7 IS NULL OR COALESCE(country, '') = ?7)
       AND (?8 IS NULL OR COALESCE(release, '') = ?8)
       AND (attribution IS NULL OR json_valid(attribution))
     ORDER BY received_at_ms DESC
     LIMIT ?9";

static SQ_ROWS: LazyLock<String> = LazyLock::new(|| {
    let cols = type_columns(|t, q| {
        format!("COALESCE(CAST(json_extract(attribution, '$.types.{t}.{q}') AS REAL), 0.0)")
    });
    format!("SELECT route, sample_rate, value{cols} {SQ_FROM}")
});

/// Twin of `PG_HOSTS`; SQLite has no regex, so the page host is cut out of
/// the URL by hand: after "://", up to the first '/', then up to a ':' (port).
static SQ_HOSTS: LazyLock<String> = LazyLock::new(|| {
    let n = |q: &str| format!("COALESCE(CAST(json_extract(h.value, '$.{q}') AS REAL), 0.0)");
    format!(
        "SELECT h.key AS host,
                lower(substr(hp, 1, instr(hp || ':', ':') - 1)) AS page_host,
                CAST(SUM({} / m.sample_rate) AS REAL) AS compressed,
                CAST(SUM({} / m.sample_rate) AS REAL) AS uncompressed,
                CAST(SUM({} / m.sample_rate) AS REAL) AS requests,
                CAST(SUM({} / m.sample_rate) AS REAL) AS unknown,
                CAST(SUM(1.0 / m.sample_rate) AS REAL) AS page_views
         FROM (SELECT sample_rate, attribution,
                      substr(rest, 1, instr(rest || '/', '/') - 1) AS hp
               FROM (SELECT sample_rate, attribution,
                            substr(url, instr(url, '://') + 3) AS rest
                     {SQ_FROM})) m,
              json_each(m.attribution, '$.hosts') h
         WHERE m.sample_rate > 0 AND json_type(m.attribution, '$.hosts') = 'object'
         GROUP BY 1, 2",
        n("encoded"),
        n("decoded"),
        n("requests"),
        n("unknown"),
    )
});

/// Bytes for people: B below 1 KiB, KiB below 1 MiB, else MiB (1024-based,
/// as Lighthouse budgets count).
pub fn format_bytes(b: f64) -> String {
    const KIB: f64 = 1024.0;
    if !b.is_finite() {
        return "–".into();
    }
    if b.abs() < KIB {
        format!("{b:.0} B")
    } else if b.abs() < KIB * KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{:.2} MiB", b / (KIB * KIB))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn row(route: &str, rate: f64, value: f64, script: [f64; 3], image: [f64; 3]) -> WeightRow {
        let mut types = [[0.0; 3]; 7];
        types[1] = script;
        types[3] = image;
        WeightRow {
            route: route.into(),
            sample_rate: rate,
            value,
            types,
        }
    }

    fn host(host: &str, page_host: &str, compressed: f64, page_views: f64) -> HostRow {
        HostRow {
            host: host.into(),
            page_host: page_host.into(),
            compressed,
            page_views,
            ..HostRow::default()
        }
    }

    #[test]
    fn absent_types_count_as_zero_and_rows_are_weighted() {
        let rows = [
            row("/a", 1.0, 100.0, [100.0, 300.0, 2.0], [0.0; 3]),
            // Stands for 3 page views without scripts.
            row("/b", 1.0 / 3.0, 50.0, [0.0; 3], [50.0, 50.0, 1.0]),
            // A sample rate of 0 stands for nothing.
            row("/c", 0.0, 1e9, [1e9, 1e9, 1.0], [0.0; 3]),
        ];
        let hosts = [
            host("www.shop.example", "www.shop.example", 60.0, 1.0),
            host("cdn.other", "www.shop.example", 40.0, 1.0),
            host("static.shop.example", "www.shop.example", 150.0, 3.0),
            // The same host under another page host is summed with it.
            host("cdn.other", "blog.example", 10.0, 1.0),
            host("*", "www.shop.example", 0.0, 3.0),
        ];
        let r = aggregate(&rows, &hosts, false);
        assert_eq!(r.samples, 2);
        assert!((r.page_views - 4.0).abs() < 1e-9);
        let script = &r.types[1];
        assert_eq!(script.kind, "script");
        // 3 of 4 weighted page views had no script: p75 is 0.
        assert_eq!(script.compressed_p75, Some(0.0));
        assert!((script.page_views_with - 1.0).abs() < 1e-9);
        assert_eq!(r.total.compressed_p75, Some(50.0));
        assert_eq!(r.total.uncompressed_p75, Some(50.0));
        let routes: Vec<_> = r.routes.iter().map(|x| x.route.as_str()).collect();
        assert_eq!(routes, ["/a", "/b"]);
        let hosts: Vec<_> = r
            .hosts
            .iter()
            .map(|h| (h.label.as_str(), h.first_party, h.compressed))
            .collect();
        assert_eq!(
            hosts,
            [
                ("static.shop.example", true, 150.0),
                ("www.shop.example", true, 60.0),
                ("cdn.other", false, 50.0),
                ("other hosts", false, 0.0),
            ]
        );
    }

    #[test]
    fn first_party_is_the_page_host_or_a_subdomain() {
        assert!(is_first_party("shop.example", "www.shop.example"));
        assert!(is_first_party("img.shop.example", "shop.example"));
        assert!(!is_first_party("evilshop.example", "shop.example"));
        assert!(!is_first_party("cdn.example", ""));
    }

    #[test]
    fn bytes_read_as_kib_and_mib() {
        assert_eq!(format_bytes(512.0), "512 B");
        assert_eq!(format_bytes(700.0 * 1024.0), "700.0 KiB");
        assert_eq!(format_bytes(3.5 * 1024.0 * 1024.0), "3.50 MiB");
    }
}
