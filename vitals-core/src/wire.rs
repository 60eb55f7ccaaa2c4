//! Beacon wire format v1: the one definition of what the agent sends and the
//! collector reads. The agent serializes [`Beacon`] with serde-wasm-bindgen
//! (then `JSON.stringify`); the collector deserializes the same type and
//! validates it into its domain types.
//!
//! The optional, loosely checked fields are generic (`L`): the collector reads
//! them as raw JSON values (so one bad optional field is dropped, not fatal),
//! the agent writes [`Field`]s. `S` is the type of `seq` (the agent: `u64`).

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

/// Longest `url` sent (characters).
pub const MAX_URL_CHARS: usize = 2048;
/// Longest attribution string value sent (characters).
pub const MAX_ATTRIBUTION_CHARS: usize = 500;
/// Longest other string sent (site, release, route: characters).
pub const MAX_FIELD_CHARS: usize = 256;
/// Beacons stay below this many UTF-8 bytes (the sendBeacon quota is 64 KiB per page).
pub const MAX_BEACON_BYTES: usize = 16 * 1024;

/// One beacon: the page-view-level fields and the metrics being reported.
/// `Serialize` is written out below (as a map, not serde's struct form).
#[derive(Deserialize, Clone, Debug, PartialEq)]
pub struct Beacon<L = Field, S = u64> {
    /// Wire format version ([`crate::WIRE_VERSION`]).
    pub v: u32,
    pub site: String,
    pub page_view_id: String,
    pub url: String,
    pub navigation_type: String,
    pub metrics: Vec<MetricRecord<L>>,
    /// Beacon number within the page view, from 0.
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub seq: Option<S>,
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<L>,
    /// Send time, ms since the epoch (informational).
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<L>,
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub release: Option<L>,
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub route: Option<L>,
    /// `navigator.connection.effectiveType`.
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub connection: Option<L>,
}

/// One metric of a beacon (`Serialize` below, as for [`Beacon`]).
#[derive(Deserialize, Clone, Debug, PartialEq)]
pub struct MetricRecord<L = Field> {
    /// `FCP`, `LCP`, ... ([`crate::MetricName`]).
    pub name: String,
    /// Stable per metric instance (web-vitals' `id`).
    pub id: String,
    pub value: f64,
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub delta: Option<L>,
    /// `good` / `needs-improvement` / `poor` (the collector re-rates).
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub rating: Option<L>,
    /// Per-metric navigation type, when it differs from the beacon's.
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub navigation_type: Option<L>,
    /// Flat object of strings and numbers (target, phases, ...).
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub attribution: Option<L>,
}

// `Serialize` by hand, as a map: serde-wasm-bindgen turns a derived struct's
// field names into JS strings through a hash-map cache whose code (hashbrown,
// RefCell panics and their formatting) cost the agent ~0.6 KB brotli; map keys
// are plain strings. The output is the same JSON object, with absent options
// omitted as the derived `skip_serializing_if` did; the round-trip tests below
// fail if a field is forgotten here.
impl<L: Serialize, S: Serialize> Serialize for Beacon<L, S> {
    fn serialize<Z: serde::Serializer>(&self, z: Z) -> Result<Z::Ok, Z::Error> {
        use serde::ser::SerializeMap;
        let mut m = z.serialize_map(None)?;
        m.serialize_entry("v", &self.v)?;
        m.serialize_entry("site", &self.site)?;
        m.serialize_entry("page_view_id", &self.page_view_id)?;
        m.serialize_entry("url", &self.url)?;
        m.serialize_entry("navigation_type", &self.navigation_type)?;
        m.serialize_entry("metrics", &self.metrics)?;
        if let Some(x) = &self.seq {
            m.serialize_entry("seq", x)?;
        }
        optional(&mut m, "sample_rate", &self.sample_rate)?;
        optional(&mut m, "sent_at", &self.sent_at)?;
        optional(&mut m, "release", &self.release)?;
        optional(&mut m, "route", &self.route)?;
        optional(&mut m, "connection", &self.connection)?;
        m.end()
    }
}

impl<L: Serialize> Serialize for MetricRecord<L> {
    fn serialize<Z: serde::Serializer>(&self, z: Z) -> Result<Z::Ok, Z::Error> {
        use serde::ser::SerializeMap;
        let mut m = z.serialize_map(None)?;
        m.serialize_entry("name", &self.name)?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("value", &self.value)?;
        optional(&mut m, "delta", &self.delta)?;
        optional(&mut m, "rating", &self.rating)?;
        optional(&mut m, "navigation_type", &self.navigation_type)?;
        optional(&mut m, "attribution", &self.attribution)?;
        m.end()
    }
}

/// `k: v` if `v` is present (one copy of the skip rule).
fn optional<M: serde::ser::SerializeMap, L: Serialize>(
    m: &mut M,
    k: &str,
    v: &Option<L>,
) -> Result<(), M::Error> {
    match v {
        Some(v) => m.serialize_entry(k, v),
        None => Ok(()),
    }
}

// A function, not `#[serde(default)]`: that would require `L: Default`.
fn none<T>() -> Option<T> {
    None
}

/// What the agent writes in a loosely typed field.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(untagged)]
pub enum Field {
    Num(f64),
    Str(String),
    /// An attribution object.
    Map(Attribution),
}

/// An attribution object's entries, in the order written. A list rather than
/// a `BTreeMap`: the agent never looks a key up, and the B-tree's code was
/// ~3 KB of the wasm.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attribution(pub Vec<(String, Field)>);

impl Serialize for Attribution {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Attribution {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = Attribution;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("an attribution object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Attribution, A::Error> {
                let mut v = Vec::new();
                while let Some(e) = a.next_entry()? {
                    v.push(e);
                }
                Ok(Attribution(v))
            }
        }
        d.deserialize_map(Entries)
    }
}

/// Cuts `s` to at most `max` characters (on a character boundary).
pub fn truncate_chars(s: &str, max: usize) -> &str {
    // Counted over bytes (a character starts at every byte that is not a UTF-8
    // continuation byte): `char_indices` decodes each character, code the agent
    // need not carry.
    let mut n = 0;
    for (i, b) in s.bytes().enumerate() {
        if b & 0xC0 != 0x80 {
            if n == max {
                return s.get(..i).unwrap_or(s);
            }
            n += 1;
        }
    }
    s
}

/// `href` as sent: without the `#fragment`, at most [`MAX_URL_CHARS`] characters.
pub fn clean_url(href: &str) -> &str {
    // A byte scan, not `find('#')`: that pulls `memchr` (~370 B) into the agent.
    let end = href.bytes().position(|b| b == b'#').unwrap_or(href.len());
    truncate_chars(href.get(..end).unwrap_or(href), MAX_URL_CHARS)
}

/// Rounded as the wire format wants: ms to 0.1, a CLS score to 1e-6.
pub fn round(x: f64, unitless: bool) -> f64 {
    let unit = if unitless { 1e6 } else { 10.0 };
    // `f64::round` is not in core: half away from zero by hand.
    let y = x * unit;
    let r = if y >= 0.0 {
        (y + 0.5) as i64 as f64
    } else {
        -((-y + 0.5) as i64 as f64)
    };
    if y.abs() < 9e15 { r / unit } else { x }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn agent_beacon() -> Beacon {
        let attr = Attribution(vec![
            (
                "target".to_string(),
                Field::Str("html>body>img.hero".into()),
            ),
            ("load_delay".to_string(), Field::Num(12.3)),
        ]);
        Beacon {
            v: 1,
            site: "demo".into(),
            page_view_id: "abcDEF123".into(),
            url: "https://h.example/p?q=1".into(),
            navigation_type: "navigate".into(),
            metrics: vec![
                MetricRecord {
                    name: "LCP".into(),
                    id: "v1-1-1".into(),
                    value: 1234.5,
                    delta: Some(Field::Num(1234.5)),
                    rating: Some(Field::Str("good".into())),
                    navigation_type: None,
                    attribution: Some(Field::Map(attr)),
                },
                MetricRecord {
                    name: "CLS".into(),
                    id: "v1-1-2".into(),
                    value: 0.123457,
                    delta: Some(Field::Num(0.1)),
                    rating: Some(Field::Str("needs-improvement".into())),
                    navigation_type: None,
                    attribution: None,
                },
            ],
            seq: Some(u64::from(u32::MAX) + 7),
            sample_rate: Some(Field::Num(1.0)),
            sent_at: Some(Field::Num(1_732_680_000_000.0)),
            release: Some(Field::Str("v1.2.3".into())),
            route: None,
            connection: None,
        }
    }

    #[test]
    fn a_beacon_round_trips_through_json_for_both_sides() {
        let b = agent_beacon();
        let json = serde_json::to_string(&b).expect("serializes");
        // The agent's own type reads it back unchanged.
        let back: Beacon = serde_json::from_str(&json).expect("agent type");
        assert_eq!(back, b);
        // The collector's reading (loose fields as raw JSON values) sees the same.
        let c: Beacon<serde_json::Value, serde_json::Value> =
            serde_json::from_str(&json).expect("collector type");
        assert_eq!(c.seq, Some(serde_json::json!(4_294_967_302u64)));
        assert_eq!(c.metrics.len(), 2);
        assert_eq!(
            c.metrics[0].attribution,
            Some(serde_json::json!({"target": "html>body>img.hero", "load_delay": 12.3}))
        );
        assert_eq!(c.release, Some(serde_json::json!("v1.2.3")));
        assert_eq!(c.route, None);
        // Absent optional fields are omitted, not null.
        assert!(!json.contains("null"), "{json}");
    }

    #[test]
    fn every_field_is_written_and_read_back() {
        let mut b = agent_beacon();
        b.route = Some(Field::Str("/p/:id".into()));
        b.connection = Some(Field::Str("4g".into()));
        b.metrics[1].navigation_type = Some(Field::Str("back-forward-cache".into()));
        let json = serde_json::to_string(&b).expect("serializes");
        let back: Beacon = serde_json::from_str(&json).expect("reads back");
        assert_eq!(back, b);
        let keys = |v: &serde_json::Value| {
            let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
            k.sort();
            k
        };
        let v: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(
            keys(&v),
            [
                "connection",
                "metrics",
                "navigation_type",
                "page_view_id",
                "release",
                "route",
                "sample_rate",
                "sent_at",
                "seq",
                "site",
                "url",
                "v"
            ]
        );
        assert_eq!(
            keys(&v["metrics"][1]),
            ["delta", "id", "name", "navigation_type", "rating", "value"]
        );
    }

    #[test]
    fn strings_are_cut_on_character_boundaries() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("abc", 5), "abc");
        assert_eq!(truncate_chars("a😀€b", 3), "a😀€");
        assert_eq!(truncate_chars("😀😀", 1), "😀");
        assert_eq!(truncate_chars("abc", 0), "");
        assert_eq!(truncate_chars("", 3), "");
        // The same cut as counting `char`s, on every prefix length.
        let s = "aé€😀b\u{10FFFF}c";
        for max in 0..10 {
            let by_chars: String = s.chars().take(max).collect();
            assert_eq!(truncate_chars(s, max), by_chars);
        }
        assert_eq!(clean_url("https://a.example/p#x"), "https://a.example/p");
        assert_eq!(clean_url(&"é".repeat(3000)).chars().count(), MAX_URL_CHARS);
    }

    #[test]
    fn rounding_keeps_tenths_of_ms_and_micro_cls() {
        assert_eq!(round(1234.5678, false), 1234.6);
        assert_eq!(round(0.12345678, true), 0.123457);
        assert_eq!(round(3.0, false), 3.0);
        assert_eq!(round(-2.25, false), -2.3);
    }
}
