//! Page weight report (issue 17): from the WEIGHT rows of a slice, the p75 per
//! Lighthouse resource type (compressed, uncompressed, requests), the heaviest
//! routes (p75 compressed) and the heaviest hosts (summed compressed bytes).
//!
//! Read from raw rows, not the rollups: the per-type sizes live in each row's
//! nested attribution (see `vitals_core::weight`). Percentiles are exact
//! weighted nearest-rank (`budget::weighted_percentile`, weight 1/sample_rate),
//! so they can differ by < 1 % from the rollup p75 of WEIGHT in `/summary`.
//! At most [`MAX_ROWS`] rows (the newest) are read; `truncated` says so.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use vitals_core::weight::{OTHER_HOSTS, ResourceType};

use crate::budget::weighted_percentile;
use crate::reports::Slice;
use crate::storage::{Sample, Store};

/// Rows read per report: bounds memory and time on a busy site's long window.
pub const MAX_ROWS: i64 = 100_000;

/// Default script budget (Lighthouse `resourceSizes` style, KiB = 1024 bytes):
/// the dashboard draws it while no resource budget is configurable there.
pub const DEFAULT_SCRIPT_COMPRESSED_BUDGET: f64 = 700.0 * 1024.0;
pub const DEFAULT_SCRIPT_UNCOMPRESSED_BUDGET: f64 = 2048.0 * 1024.0;

/// The label shown for [`OTHER_HOSTS`] (hosts past the agent's first 16).
pub const OTHER_HOSTS_LABEL: &str = "other hosts";

/// One WEIGHT row as read for the report.
#[derive(Clone, Debug)]
pub struct WeightRow {
    pub route: String,
    pub url: String,
    pub sample_rate: f64,
    /// Compressed bytes of the page view (the metric value).
    pub value: f64,
    pub attribution: Option<Value>,
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

/// A number in a JSON object, 0 when missing or not a finite number.
fn num(v: Option<&Value>, key: &str) -> f64 {
    v.and_then(|o| o.get(key))
        .and_then(Value::as_f64)
        .filter(|x| x.is_finite())
        .unwrap_or(0.0)
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

/// Whether `host` belongs to the page at `page_host`.
pub fn is_first_party(host: &str, page_host: &str) -> bool {
    let base = page_host.strip_prefix("www.").unwrap_or(page_host);
    !base.is_empty()
        && (host == page_host
            || host == base
            || host.strip_suffix(base).is_some_and(|h| h.ends_with('.')))
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

/// The report of `rows` (pure: tested without a database). `truncated` is
/// passed through; routes and hosts are sorted, not cut.
pub fn aggregate(rows: &[WeightRow], truncated: bool) -> WeightReport {
    // Per type: compressed, uncompressed and request samples, page views with it.
    let mut per_type: Vec<[Vec<Sample>; 3]> = ResourceType::ALL
        .iter()
        .map(|_| [Vec::new(), Vec::new(), Vec::new()])
        .collect();
    let mut with = [0.0f64; 7];
    let mut totals: [Vec<Sample>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    let mut routes: BTreeMap<&str, Vec<Sample>> = BTreeMap::new();
    let mut hosts: BTreeMap<String, HostAcc> = BTreeMap::new();
    let mut page_views = 0.0;
    for r in rows {
        let w = weight_of(r.sample_rate);
        if w <= 0.0 {
            continue;
        }
        page_views += w;
        let types = r.attribution.as_ref().and_then(|a| a.get("types"));
        let (mut decoded, mut requests) = (0.0, 0.0);
        for (i, t) in ResourceType::ALL.iter().enumerate() {
            let entry = types.and_then(|o| o.get(t.as_str()));
            let q = [
                num(entry, "encoded"),
                num(entry, "decoded"),
                num(entry, "requests"),
            ];
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
        let page_host = url::Url::parse(&r.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        if let Some(Value::Object(hs)) = r.attribution.as_ref().and_then(|a| a.get("hosts")) {
            for (host, s) in hs {
                let s = Some(s);
                let acc = hosts.entry(host.clone()).or_default();
                acc.compressed += w * num(s, "encoded");
                acc.uncompressed += w * num(s, "decoded");
                acc.requests += w * num(s, "requests");
                acc.unknown += w * num(s, "unknown");
                acc.page_views += w;
                acc.first_party |= host != OTHER_HOSTS && is_first_party(host, &page_host);
            }
        }
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
            label: if host == OTHER_HOSTS {
                OTHER_HOSTS_LABEL.to_string()
            } else {
                host.clone()
            },
            host,
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
        samples: rows
            .iter()
            .filter(|r| weight_of(r.sample_rate) > 0.0)
            .count() as i64,
        page_views,
        truncated,
        total: type_weight("total", &totals, page_views),
        types,
        routes,
        hosts,
    }
}

/// The WEIGHT rows of `slice` (its `metric` is ignored), newest first, at
/// most [`MAX_ROWS`]; true when more matched.
pub async fn load(store: &Store, s: &Slice) -> Result<(Vec<WeightRow>, bool), sqlx::Error> {
    let mut rows = Vec::new();
    match store {
        Store::Postgres(pool) => {
            let found = sqlx::query(PG_ROWS)
                .bind(s.site.as_str())
                .bind(s.from)
                .bind(s.to)
                .bind(s.route.as_deref())
                .bind(s.form_factor.as_deref())
                .bind(s.engine.as_deref())
                .bind(s.country.as_deref())
                .bind(s.release.as_deref())
                .bind(MAX_ROWS + 1)
                .fetch_all(pool)
                .await?;
            for r in found {
                rows.push(weight_row(&r)?);
            }
        }
        Store::Sqlite(pool) => {
            let found = sqlx::query(SQ_ROWS)
                .bind(s.site.as_str())
                .bind(s.from.timestamp_millis())
                .bind(s.to.timestamp_millis())
                .bind(s.route.as_deref())
                .bind(s.form_factor.as_deref())
                .bind(s.engine.as_deref())
                .bind(s.country.as_deref())
                .bind(s.release.as_deref())
                .bind(MAX_ROWS + 1)
                .fetch_all(pool)
                .await?;
            for r in found {
                rows.push(weight_row(&r)?);
            }
        }
    }
    let truncated = rows.len() as i64 > MAX_ROWS;
    rows.truncate(MAX_ROWS as usize);
    Ok((rows, truncated))
}

/// The report of a slice.
pub async fn report(store: &Store, s: &Slice) -> Result<WeightReport, sqlx::Error> {
    let (rows, truncated) = load(store, s).await?;
    Ok(aggregate(&rows, truncated))
}

fn weight_row<R: Row>(r: &R) -> Result<WeightRow, sqlx::Error>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> f64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let attribution: Option<String> = r.try_get("attribution")?;
    Ok(WeightRow {
        route: r.try_get("route")?,
        url: r.try_get("url")?,
        sample_rate: r.try_get("sample_rate")?,
        value: r.try_get("value")?,
        // Not JSON (a hand-edited row): no attribution rather than no report.
        attribution: attribution.and_then(|a| serde_json::from_str(&a).ok()),
    })
}

/// Filters as in `reports::PG_RAW_HIST`; the day range lets PostgreSQL read
/// only those days' partitions.
const PG_ROWS: &str = "SELECT route, url, sample_rate, value, attribution::text AS attribution
     FROM metric
     WHERE site = $1 AND name = 'WEIGHT' AND received_at >= $2 AND received_at < $3
       AND day >= ($2::timestamptz AT TIME ZONE 'UTC')::date - 2
       AND day <= ($3::timestamptz AT TIME ZONE 'UTC')::date + 1
       AND ($4::text IS NULL OR route = $4) AND ($5::text IS NULL OR form_factor = $5)
       AND ($6::text IS NULL OR engine = $6) AND ($7::text IS NULL OR COALESCE(country, '') = $7)
       AND ($8::text IS NULL OR COALESCE(release, '') = $8)
     ORDER BY received_at DESC
     LIMIT $9";

const SQ_ROWS: &str = "SELECT route, url, sample_rate, value, attribution
     FROM metric
     WHERE site = ?1 AND name = 'WEIGHT' AND received_at_ms >= ?2 AND received_at_ms < ?3
       AND (?4 IS NULL OR route = ?4) AND (?5 IS NULL OR form_factor = ?5)
       AND (?6 IS NULL OR engine = ?6) AND (?7 IS NULL OR COALESCE(country, '') = ?7)
       AND (?8 IS NULL OR COALESCE(release, '') = ?8)
     ORDER BY received_at_ms DESC
     LIMIT ?9";

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
    use serde_json::json;

    fn row(route: &str, rate: f64, value: f64, attribution: Value) -> WeightRow {
        WeightRow {
            route: route.into(),
            url: format!("https://www.shop.example{route}"),
            sample_rate: rate,
            value,
            attribution: Some(attribution),
        }
    }

    fn sizes(encoded: f64, decoded: f64, requests: f64) -> Value {
        json!({"transfer": encoded, "encoded": encoded, "decoded": decoded,
               "requests": requests, "unknown": 0})
    }

    #[test]
    fn absent_types_count_as_zero_and_rows_are_weighted() {
        let rows = [
            row(
                "/a",
                1.0,
                100.0,
                json!({"types": {"script": sizes(100.0, 300.0, 2.0)},
                       "hosts": {"www.shop.example": sizes(60.0, 200.0, 1.0),
                                 "cdn.other": sizes(40.0, 100.0, 1.0)}}),
            ),
            // Stands for 3 page views without scripts.
            row(
                "/b",
                1.0 / 3.0,
                50.0,
                json!({"types": {"image": sizes(50.0, 50.0, 1.0)},
                       "hosts": {"static.shop.example": sizes(50.0, 50.0, 1.0),
                                 "*": sizes(0.0, 0.0, 1.0)}}),
            ),
        ];
        let r = aggregate(&rows, false);
        assert_eq!(r.samples, 2);
        assert!((r.page_views - 4.0).abs() < 1e-9);
        let script = &r.types[1];
        assert_eq!(script.kind, "script");
        // 3 of 4 weighted page views had no script: p75 is 0.
        assert_eq!(script.compressed_p75, Some(0.0));
        assert!((script.page_views_with - 1.0).abs() < 1e-9);
        assert_eq!(r.total.compressed_p75, Some(50.0));
        assert_eq!(r.routes[0].route, "/a");
        let hosts: Vec<_> = r
            .hosts
            .iter()
            .map(|h| (h.label.as_str(), h.first_party, h.compressed.round()))
            .collect();
        assert_eq!(
            hosts,
            [
                ("static.shop.example", true, 150.0),
                ("www.shop.example", true, 60.0),
                ("cdn.other", false, 40.0),
                ("other hosts", false, 0.0),
            ]
        );
    }

    #[test]
    fn malformed_attribution_is_zero_not_an_error() {
        let rows = [row("/", 1.0, 10.0, json!({"types": "x", "hosts": [1]}))];
        let r = aggregate(&rows, false);
        assert_eq!(r.types[0].compressed_p75, Some(0.0));
        assert!(r.hosts.is_empty());
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
