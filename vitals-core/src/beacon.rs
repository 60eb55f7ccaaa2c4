//! Building beacon wire format v1 (see the collector's parser for the other side).
//!
//! Only the agent writes beacons; the helpers are here so the format, its limits
//! and its string clean-up are tested on the host.

use crate::MetricName;
use crate::json::{JsonWriter, write_u64};
use alloc::string::String;

/// Longest `url` sent (characters).
pub const MAX_URL_CHARS: usize = 2048;
/// Longest attribution string value sent (characters).
pub const MAX_ATTRIBUTION_CHARS: usize = 500;
/// Longest other string sent (site, release, route, ids: characters).
pub const MAX_FIELD_CHARS: usize = 256;
/// Most metrics in one beacon.
pub const MAX_METRICS: usize = 32;
/// Beacons stay below this many bytes (sendBeacon quota is 64 KiB per page).
pub const MAX_BEACON_BYTES: usize = 16 * 1024;

/// Cuts `s` to at most `max` characters (on a character boundary).
pub fn truncate_chars(s: &str, max: usize) -> &str {
    // Counts UTF-8 lead bytes (not continuation bytes 0b10xx_xxxx): the
    // byte where character `max` starts (smaller in wasm than `char_indices`).
    let mut n = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if b & 0xc0 != 0x80 {
            if n == max {
                return s.get(..i).unwrap_or(s);
            }
            n += 1;
        }
    }
    s
}

/// `location.href` as sent: without the `#fragment`, at most 2048 characters.
pub fn clean_url(href: &str) -> &str {
    // A byte search: '#' is ASCII, so its position is a character boundary.
    let end = href.bytes().position(|b| b == b'#').unwrap_or(href.len());
    let no_frag = href.get(..end).unwrap_or(href);
    truncate_chars(no_frag, MAX_URL_CHARS)
}

/// `"v1-" + now + "-" + r`, with `r` a 13-digit number from `random` in [0, 1).
pub fn metric_id(now_ms: f64, random: f64) -> String {
    // Not `String::from`: its copy routine is extra code in wasm.
    let mut s = String::new();
    s.push_str("v1-");
    write_u64(
        &mut s,
        if now_ms.is_finite() && now_ms > 0.0 {
            now_ms as u64
        } else {
            0
        },
    );
    s.push('-');
    let r = if random.is_finite() {
        random.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let n = 1_000_000_000_000u64 + (r * 8_999_999_999_999.0) as u64;
    write_u64(&mut s, n.min(9_999_999_999_999));
    s
}

/// A page-view id of 22 characters from `[A-Za-z0-9]`; `random` yields [0, 1).
pub fn page_view_id(mut random: impl FnMut() -> f64) -> String {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..22)
        .map(|_| {
            let r = random();
            let r = if r.is_finite() {
                r.clamp(0.0, 0.999_999)
            } else {
                0.0
            };
            char::from(ALPHABET[(r * 62.0) as usize % 62])
        })
        .collect()
}

/// One attribution value.
#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    Str(String),
    /// Milliseconds (or a CLS score for CLS `value`-like fields).
    Num(f64),
}

/// One metric entry of a beacon.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricReport<'a> {
    pub name: MetricName,
    pub id: &'a str,
    pub value: f64,
    pub delta: f64,
    pub attribution: &'a [(&'static str, AttrValue)],
}

/// The page-view-level fields of a beacon.
#[derive(Clone, Debug)]
pub struct BeaconHeader<'a> {
    pub site: &'a str,
    pub page_view_id: &'a str,
    pub seq: u32,
    pub url: &'a str,
    pub navigation_type: &'a str,
    pub sample_rate: f64,
    pub sent_at: f64,
    pub release: Option<&'a str>,
    pub route: Option<&'a str>,
    pub connection: Option<&'a str>,
}

/// Decimals sent for a metric: CLS is a small unitless score.
fn decimals(name: MetricName) -> u32 {
    if name.is_unitless() { 6 } else { 1 }
}

/// Writes the beacon JSON. Metrics with a negative or non-finite value are
/// skipped; at most 32 metrics are written, and attribution is dropped from
/// metrics once the body would exceed [`MAX_BEACON_BYTES`]. Returns `None` if
/// no metric is left to send.
pub fn write_beacon(h: &BeaconHeader<'_>, metrics: &[MetricReport<'_>]) -> Option<String> {
    let mut w = JsonWriter::new();
    w.begin_object();
    w.number_field("v", f64::from(crate::WIRE_VERSION), 0);
    w.string_field("site", truncate_chars(h.site, MAX_FIELD_CHARS));
    w.string_field("page_view_id", h.page_view_id);
    w.number_field("seq", f64::from(h.seq), 0);
    w.string_field("url", clean_url(h.url));
    w.string_field("navigation_type", h.navigation_type);
    w.number_field("sample_rate", h.sample_rate, 6);
    w.number_field("sent_at", h.sent_at, 0);
    // Three calls rather than a loop over an array literal (built on the
    // stack by code in wasm).
    let mut optional = |k: &str, v: Option<&str>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            w.string_field(k, truncate_chars(v, MAX_FIELD_CHARS));
        }
    };
    optional("release", h.release);
    optional("route", h.route);
    optional("connection", h.connection);
    w.begin_array_field("metrics");
    let mut n = 0;
    for m in metrics {
        if n == MAX_METRICS || !m.value.is_finite() || m.value < 0.0 {
            continue;
        }
        n += 1;
        let d = decimals(m.name);
        w.begin_object();
        w.string_field("name", m.name.as_str());
        w.string_field("id", truncate_chars(m.id, MAX_FIELD_CHARS));
        w.number_field("value", m.value, d);
        w.number_field(
            "delta",
            if m.delta.is_finite() {
                m.delta
            } else {
                m.value
            },
            d,
        );
        w.string_field("rating", m.name.rate(m.value).as_str());
        // Reserve room for the rest of the metrics without attribution (~150 B each).
        if !m.attribution.is_empty() && w.len() + 2048 < MAX_BEACON_BYTES {
            w.begin_object_field("attribution");
            for (k, v) in m.attribution {
                match v {
                    AttrValue::Str(s) => {
                        w.string_field(k, truncate_chars(s, MAX_ATTRIBUTION_CHARS))
                    }
                    AttrValue::Num(x) => w.finite_field(k, *x, d),
                }
            }
            w.end_object();
        }
        w.end_object();
    }
    w.end_array();
    w.end_object();
    (n > 0).then(|| w.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> BeaconHeader<'static> {
        BeaconHeader {
            site: "demo",
            page_view_id: "abcDEF123",
            seq: 2,
            url: "https://h.example/p?q=1#frag",
            navigation_type: "navigate",
            sample_rate: 1.0,
            sent_at: 1_732_680_000_000.0,
            release: Some("v1.2.3"),
            route: None,
            connection: Some(""),
        }
    }

    #[test]
    fn a_beacon_matches_wire_format_v1() {
        let attr = [
            ("target", AttrValue::Str("html>body>img.hero".into())),
            ("load_delay", AttrValue::Num(12.34)),
        ];
        let metrics = [
            MetricReport {
                name: MetricName::Lcp,
                id: "v1-1-1",
                value: 1234.5,
                delta: 1234.5,
                attribution: &attr,
            },
            MetricReport {
                name: MetricName::Cls,
                id: "v1-1-2",
                value: 0.1234567,
                delta: 0.1,
                attribution: &[],
            },
            MetricReport {
                name: MetricName::Inp,
                id: "v1-1-3",
                value: -1.0,
                delta: 0.0,
                attribution: &[],
            },
        ];
        let body = write_beacon(&header(), &metrics);
        assert_eq!(
            body.as_deref(),
            Some(concat!(
                r#"{"v":1,"site":"demo","page_view_id":"abcDEF123","seq":2,"url":"https://h.example/p?q=1","#,
                r#""navigation_type":"navigate","sample_rate":1,"sent_at":1732680000000,"release":"v1.2.3","#,
                r#""metrics":[{"name":"LCP","id":"v1-1-1","value":1234.5,"delta":1234.5,"rating":"good","#,
                r#""attribution":{"target":"html>body>img.hero","load_delay":12.3}},"#,
                r#"{"name":"CLS","id":"v1-1-2","value":0.123457,"delta":0.1,"rating":"needs-improvement"}]}"#
            ))
        );
    }

    #[test]
    fn a_beacon_without_reportable_metrics_is_not_written() {
        assert_eq!(write_beacon(&header(), &[]), None);
    }

    #[test]
    fn huge_attribution_stays_under_the_size_limit() {
        let big = "x".repeat(100_000);
        let attr = [("target", AttrValue::Str(big))];
        let metrics: Vec<MetricReport<'_>> = (0..40)
            .map(|_| MetricReport {
                name: MetricName::Lcp,
                id: "v1-1-1",
                value: 1.0,
                delta: 1.0,
                attribution: &attr,
            })
            .collect();
        let body = write_beacon(&header(), &metrics).unwrap_or_default();
        assert!(body.len() < MAX_BEACON_BYTES, "{}", body.len());
        assert_eq!(body.matches("\"name\"").count(), MAX_METRICS);
    }

    #[test]
    fn urls_lose_their_fragment_and_are_capped() {
        assert_eq!(clean_url("https://a/b#c#d"), "https://a/b");
        let long = format!("https://a/{}", "é".repeat(5000));
        assert_eq!(clean_url(&long).chars().count(), MAX_URL_CHARS);
        for (max, want) in [(0, ""), (2, "aé"), (3, "aé😀"), (4, "aé😀b"), (9, "aé😀b")] {
            assert_eq!(truncate_chars("aé😀b", max), want);
        }
    }

    #[test]
    fn ids_have_the_documented_shape() {
        assert_eq!(
            metric_id(1_732_680_000_000.0, 0.0),
            "v1-1732680000000-1000000000000"
        );
        assert_eq!(metric_id(1.0, 0.999_999_999_999_9), "v1-1-9999999999998");
        let id = metric_id(1_732_680_000_123.0, 0.5);
        let r = id.rsplit('-').next().unwrap_or_default();
        assert_eq!(r.len(), 13);
        let mut x = 0.0;
        let pv = page_view_id(|| {
            x += 0.013;
            x
        });
        assert_eq!(pv.len(), 22);
        assert!(pv.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}
