//! Parsed, validated types. Handlers turn untrusted JSON into these through
//! `TryFrom`; past that line nothing sees a raw string from a beacon.

mod beacon;
mod route;
mod site_key;
mod user_agent;
mod weight;

pub use beacon::{Beacon, BeaconError, Metric, NavigationType, parse_beacon};
pub use route::{OVERFLOW_ROUTE, RouteRegistry, normalise_route};
pub use site_key::SiteKey;
pub use user_agent::{ClientInfo, FormFactor, classify_user_agent};

/// The fuzz target's checks (`collector/fuzz`), here so that the corpus is
/// replayed by an ordinary test too (`tests/fuzz_corpus.rs`). Panics when an
/// accepted beacon breaks an invariant storage relies on; any bytes may come in.
pub fn fuzz_check(data: &[u8]) {
    let Ok(b) = parse_beacon(data, 32) else {
        return;
    };
    assert!(!b.metrics.is_empty() && b.metrics.len() <= 32);
    assert!(b.sample_rate > 0.0 && b.sample_rate <= 1.0);
    assert!(i64::try_from(b.seq).is_ok(), "seq fits BIGINT");
    // Storable on both backends: no U+0000 in any string that is stored.
    let mut strings: Vec<&str> = vec![b.site.as_str(), &b.page_view_id, &b.url, &b.path];
    strings.extend(b.release.as_deref());
    strings.extend(b.route.as_deref());
    strings.extend(b.connection.as_deref());
    for m in &b.metrics {
        assert!(m.value.is_finite() && m.value >= 0.0);
        assert!(m.delta.is_finite());
        strings.push(&m.id);
        for (k, v) in m.attribution.iter().flatten() {
            strings.push(k);
            strings.extend(v.as_str());
        }
    }
    for s in strings {
        assert!(!s.contains('\0'), "accepted a string with NUL: {s:?}");
    }
    let route = normalise_route(&b.path);
    assert!(route.starts_with('/'));
}
