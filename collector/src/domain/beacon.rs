//! The agent's beacon: wire DTO → validated domain type.
//!
//! Strict on required fields, lenient on optional ones (a bad optional field is
//! dropped and counted, not fatal), unknown fields ignored so that a newer agent
//! still works with an older collector.

use serde_json::{Map, Value};
use vitals_core::MetricName;

use super::SiteKey;

/// Longest page URL stored; longer URLs are refused (the agent caps at 2048).
pub const MAX_URL_LEN: usize = 2048;
const MAX_ID_LEN: usize = 64;
const MAX_LABEL_LEN: usize = 64;
const MAX_ROUTE_LEN: usize = 256;
const MAX_ATTRIBUTION_KEYS: usize = 16;
const MAX_ATTRIBUTION_STRING: usize = 512;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NavigationType {
    Navigate,
    Reload,
    BackForward,
    BackForwardCache,
    Prerender,
    Restore,
    SoftNavigation,
}

impl NavigationType {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "navigate" => Self::Navigate,
            "reload" => Self::Reload,
            "back-forward" => Self::BackForward,
            "back-forward-cache" => Self::BackForwardCache,
            "prerender" => Self::Prerender,
            "restore" => Self::Restore,
            "soft-navigation" => Self::SoftNavigation,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Navigate => "navigate",
            Self::Reload => "reload",
            Self::BackForward => "back-forward",
            Self::BackForwardCache => "back-forward-cache",
            Self::Prerender => "prerender",
            Self::Restore => "restore",
            Self::SoftNavigation => "soft-navigation",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    pub name: MetricName,
    pub id: String,
    pub value: f64,
    pub delta: f64,
    pub navigation_type: NavigationType,
    pub attribution: Option<Map<String, Value>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Beacon {
    pub site: SiteKey,
    pub page_view_id: String,
    /// Beacon sequence number within the page view; 0..=i64::MAX (stored as BIGINT).
    pub seq: u64,
    pub url: String,
    pub path: String,
    pub navigation_type: NavigationType,
    /// Share of page views the agent samples, in (0, 1]; aggregates weight by 1/rate.
    pub sample_rate: f64,
    pub release: Option<String>,
    pub route: Option<String>,
    pub connection: Option<String>,
    pub metrics: Vec<Metric>,
    /// Optional fields that were present but invalid, and so dropped.
    pub dropped_fields: u32,
}

/// Why a beacon was refused. `Malformed` is a syntax/type error (400);
/// `Invalid` is well-formed JSON with unacceptable content (422).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BeaconError {
    #[error("malformed JSON: {0}")]
    Malformed(String),
    #[error("{field}: {problem}")]
    Invalid { field: String, problem: String },
}

impl BeaconError {
    fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        BeaconError::Invalid {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

// The wire shape is defined once, in vitals-core (the agent serializes the same
// type). Loose fields are read as raw JSON values so one bad optional field is
// dropped, not fatal; the validation below turns them into domain types.
type BeaconDto = vitals_core::wire::Beacon<Value, Value>;

/// Parses and validates one beacon body. `max_metrics` bounds the metric list.
pub fn parse_beacon(body: &[u8], max_metrics: usize) -> Result<Beacon, BeaconError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| BeaconError::Malformed("body is not valid UTF-8".into()))?;
    let dto: BeaconDto = serde_json::from_str(text).map_err(|e| {
        // serde's message names the field and position; keep it, it is about the client's input.
        BeaconError::Malformed(e.to_string())
    })?;
    Beacon::try_from_dto(dto, max_metrics)
}

impl Beacon {
    fn try_from_dto(dto: BeaconDto, max_metrics: usize) -> Result<Beacon, BeaconError> {
        if dto.v != vitals_core::WIRE_VERSION {
            return Err(BeaconError::invalid(
                "v",
                format!("unsupported wire version {}", dto.v),
            ));
        }
        let site = SiteKey::parse(storable(&dto.site, "site")?)
            .map_err(|e| BeaconError::invalid("site", e))?;
        let page_view_id = parse_token(&dto.page_view_id, "page_view_id")?;
        let (url, path) = parse_page_url(storable(&dto.url, "url")?)?;
        let navigation_type =
            NavigationType::parse(storable(&dto.navigation_type, "navigation_type")?).ok_or_else(
                || BeaconError::invalid("navigation_type", "unknown navigation type"),
            )?;
        if dto.metrics.is_empty() {
            return Err(BeaconError::invalid("metrics", "must not be empty"));
        }
        if dto.metrics.len() > max_metrics {
            return Err(BeaconError::invalid(
                "metrics",
                format!("at most {max_metrics} metrics per beacon"),
            ));
        }

        let mut dropped = 0u32;
        let mut drop_field = |v: Option<Value>| -> Option<Value> {
            if v.is_some() {
                dropped += 1;
            }
            None
        };

        let seq = match dto.seq {
            None => 0,
            // Up to i64::MAX: stored as BIGINT, never clamped (two large seqs must stay distinct).
            Some(v) => match v.as_u64().filter(|n| i64::try_from(*n).is_ok()) {
                Some(n) => n,
                None => {
                    drop_field(Some(v));
                    0
                }
            },
        };
        let sample_rate = match dto.sample_rate {
            None => 1.0,
            Some(v) => match v
                .as_f64()
                .filter(|r| r.is_finite() && *r > 0.0 && *r <= 1.0)
            {
                Some(r) => r,
                // An unusable rate would skew weighting; fall back to "all sampled".
                None => {
                    drop_field(Some(v));
                    1.0
                }
            },
        };
        let mut label = |v: Option<Value>, max: usize| -> Option<String> {
            let v = v?;
            match v.as_str() {
                Some(s)
                    if !s.is_empty()
                        && s.chars().count() <= max
                        && !s.contains(char::is_control) =>
                {
                    Some(s.to_string())
                }
                _ => {
                    dropped += 1;
                    None
                }
            }
        };
        // NUL refuses the whole beacon, even in an optional field: the rule is
        // the same in every field (see `storable`).
        for (name, v) in [
            ("release", &dto.release),
            ("route", &dto.route),
            ("connection", &dto.connection),
        ] {
            if let Some(Value::String(s)) = v {
                storable(s, name)?;
            }
        }
        let release = label(dto.release, MAX_LABEL_LEN);
        let route = label(dto.route, MAX_ROUTE_LEN).filter(|r| r.starts_with('/'));
        let connection = label(dto.connection, 16);

        let mut metrics = Vec::with_capacity(dto.metrics.len());
        // Metric ids key the stored rows, so they must be unique within a page view.
        let mut seen: Vec<String> = Vec::new();
        for (i, m) in dto.metrics.into_iter().enumerate() {
            let field = |f: &str| format!("metrics[{i}].{f}");
            let name = MetricName::parse(storable(&m.name, &field("name"))?)
                .ok_or_else(|| BeaconError::invalid(field("name"), "unknown metric name"))?;
            let id = parse_token(&m.id, &field("id"))?;
            if !m.value.is_finite() || m.value < 0.0 {
                return Err(BeaconError::invalid(
                    field("value"),
                    "must be a finite, non-negative number",
                ));
            }
            if m.value > name.max_plausible() {
                return Err(BeaconError::invalid(
                    field("value"),
                    format!("larger than the plausible maximum {}", name.max_plausible()),
                ));
            }
            if seen.contains(&id) {
                return Err(BeaconError::invalid(
                    field("id"),
                    "duplicate metric in beacon",
                ));
            }
            seen.push(id.clone());
            let delta = match m.delta {
                None => m.value,
                Some(v) => match v.as_f64().filter(|d| d.is_finite()) {
                    Some(d) => d,
                    None => {
                        dropped += 1;
                        m.value
                    }
                },
            };
            if let Some(Value::String(s)) = &m.navigation_type {
                storable(s, &field("navigation_type"))?;
            }
            let nav = match m.navigation_type {
                None => navigation_type,
                Some(v) => match v.as_str().and_then(NavigationType::parse) {
                    Some(n) => n,
                    None => {
                        dropped += 1;
                        navigation_type
                    }
                },
            };
            if let Some(Value::Object(a)) = &m.attribution {
                for (k, v) in a {
                    storable(k, &field("attribution"))?;
                    if let Value::String(s) = v {
                        storable(s, &field(&format!("attribution.{k}")))?;
                    }
                }
            }
            let attribution = match m.attribution {
                None => None,
                // Stop-gap until strict WEIGHT validation lands: nested, kept as sent.
                Some(Value::Object(a)) if name == MetricName::Weight => Some(a),
                Some(v) => match clean_attribution(v) {
                    Some(a) => Some(a),
                    None => {
                        dropped += 1;
                        None
                    }
                },
            };
            metrics.push(Metric {
                name,
                id,
                value: m.value,
                delta,
                navigation_type: nav,
                attribution,
            });
        }

        Ok(Beacon {
            site,
            page_view_id,
            seq,
            url,
            path,
            navigation_type,
            sample_rate,
            release,
            route,
            connection,
            metrics,
            dropped_fields: dropped,
        })
    }
}

/// Refuses text the database cannot store. U+0000 is the one code point
/// PostgreSQL's `text` and `jsonb` refuse (a UTF-8 database takes every other
/// scalar value; lone surrogates cannot reach here, since serde_json refuses
/// them while parsing into `String`). The same rule applies on SQLite, so both
/// backends accept exactly the same beacons. Refused (422), not stripped: a
/// changed string would silently become another selector, URL or release.
fn storable<'a>(s: &'a str, field: &str) -> Result<&'a str, BeaconError> {
    if s.contains('\0') {
        return Err(BeaconError::invalid(
            field,
            "contains U+0000 (NUL), which cannot be stored",
        ));
    }
    Ok(s)
}

/// Ids: 1–64 characters of `[A-Za-z0-9_.-]`.
fn parse_token(s: &str, field: &str) -> Result<String, BeaconError> {
    storable(s, field)?;
    if s.is_empty() || s.len() > MAX_ID_LEN {
        return Err(BeaconError::invalid(
            field,
            format!("must be 1 to {MAX_ID_LEN} characters"),
        ));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(BeaconError::invalid(
            field,
            "may contain only letters, digits, '-', '_' and '.'",
        ));
    }
    Ok(s.to_string())
}

/// Returns (url without fragment, path). Only http(s) pages are measured.
fn parse_page_url(s: &str) -> Result<(String, String), BeaconError> {
    if s.len() > MAX_URL_LEN {
        return Err(BeaconError::invalid(
            "url",
            format!("longer than {MAX_URL_LEN} bytes"),
        ));
    }
    let mut url = url::Url::parse(s).map_err(|e| BeaconError::invalid("url", e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(BeaconError::invalid("url", "must be an http(s) URL"));
    }
    url.set_fragment(None);
    let path = url.path().to_string();
    Ok((url.into(), path))
}

/// Keeps a flat object of at most 16 string/number fields, strings capped.
fn clean_attribution(v: Value) -> Option<Map<String, Value>> {
    let Value::Object(map) = v else { return None };
    if map.len() > MAX_ATTRIBUTION_KEYS {
        return None;
    }
    let mut out = Map::new();
    for (k, v) in map {
        if k.len() > 32 {
            return None;
        }
        match v {
            Value::String(s) => {
                let s: String = s.chars().take(MAX_ATTRIBUTION_STRING).collect();
                out.insert(k, Value::String(s));
            }
            Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => {
                out.insert(k, Value::Number(n));
            }
            Value::Null => {}
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> serde_json::Value {
        serde_json::json!({
            "v": 1, "site": "demo", "page_view_id": "abc123DEF456ghi7", "seq": 2,
            "url": "https://shop.example/p/42?x=1#frag", "navigation_type": "navigate",
            "sample_rate": 0.5, "release": "v1.2", "connection": "4g", "future_field": [1,2],
            "metrics": [
                {"name": "LCP", "id": "v1-1-2", "value": 1234.5, "delta": 1234.5, "rating": "good",
                 "attribution": {"target": "html>body>img.hero", "url": "https://shop.example/h.jpg"}},
                {"name": "CLS", "id": "v1-1-3", "value": 0.05}
            ]
        })
    }

    fn parse(v: &serde_json::Value) -> Result<Beacon, BeaconError> {
        parse_beacon(v.to_string().as_bytes(), 32)
    }

    #[test]
    fn a_valid_beacon_parses_into_domain_types() {
        let b = parse(&good()).unwrap();
        assert_eq!(b.site.as_str(), "demo");
        assert_eq!(b.url, "https://shop.example/p/42?x=1");
        assert_eq!(b.path, "/p/42");
        assert_eq!(b.seq, 2);
        assert_eq!(b.sample_rate, 0.5);
        assert_eq!(b.metrics.len(), 2);
        assert_eq!(b.metrics[1].delta, 0.05);
        assert_eq!(b.dropped_fields, 0);
    }

    #[test]
    fn every_agent_navigation_type_is_accepted() {
        // The agent sends these (web-vitals' set, incl. opt-in soft navigations);
        // the route is taken from the soft navigation's own URL.
        for nav in [
            "navigate",
            "reload",
            "back-forward",
            "back-forward-cache",
            "prerender",
            "restore",
            "soft-navigation",
        ] {
            let mut v = good();
            v["navigation_type"] = serde_json::json!(nav);
            v["url"] = serde_json::json!("https://shop.example/cart/7?step=2");
            let b = parse(&v).unwrap();
            assert_eq!(b.navigation_type.as_str(), nav);
            assert_eq!(b.path, "/cart/7");
        }
        assert_eq!(
            parse(&good()).unwrap().metrics[0].navigation_type,
            NavigationType::Navigate
        );
    }

    #[test]
    fn bad_optional_fields_are_dropped_and_counted() {
        let mut v = good();
        v["sample_rate"] = serde_json::json!(7);
        v["release"] = serde_json::json!({"x": 1});
        v["metrics"][0]["attribution"] = serde_json::json!([1]);
        let b = parse(&v).unwrap();
        assert_eq!(b.sample_rate, 1.0);
        assert_eq!(b.release, None);
        assert_eq!(b.metrics[0].attribution, None);
        assert_eq!(b.dropped_fields, 3);
    }

    #[test]
    fn bad_required_fields_are_refused() {
        type Mutation = Box<dyn Fn(&mut serde_json::Value)>;
        let cases: Vec<(&str, Mutation)> = vec![
            (
                "negative value",
                Box::new(|v| v["metrics"][0]["value"] = serde_json::json!(-1)),
            ),
            (
                "huge value",
                Box::new(|v| v["metrics"][0]["value"] = serde_json::json!(1e308)),
            ),
            (
                "unknown metric",
                Box::new(|v| v["metrics"][0]["name"] = serde_json::json!("XYZ")),
            ),
            (
                "bad site",
                Box::new(|v| v["site"] = serde_json::json!("a b")),
            ),
            (
                "no metrics",
                Box::new(|v| v["metrics"] = serde_json::json!([])),
            ),
            (
                "ftp url",
                Box::new(|v| v["url"] = serde_json::json!("ftp://x/y")),
            ),
            (
                "bad nav",
                Box::new(|v| v["navigation_type"] = serde_json::json!("teleport")),
            ),
            ("version", Box::new(|v| v["v"] = serde_json::json!(9))),
        ];
        for (desc, mutate) in cases {
            let mut v = good();
            mutate(&mut v);
            assert!(
                matches!(parse(&v), Err(BeaconError::Invalid { .. })),
                "{desc} should be invalid"
            );
        }
    }

    #[test]
    fn syntax_errors_and_duplicate_keys_are_malformed() {
        for body in [
            &b"{"[..],
            b"not json",
            b"\xff\xfe",
            br#"{"v":1,"v":1,"site":"d","page_view_id":"x","url":"https://a/","navigation_type":"navigate","metrics":[]}"#,
            br#"{"v":1,"site":"demo","page_view_id":"x","url":"https://a/","navigation_type":"navigate","metrics":[{"name":"LCP","id":"a","value":NaN}]}"#,
        ] {
            assert!(matches!(
                parse_beacon(body, 32),
                Err(BeaconError::Malformed(_))
            ));
        }
    }

    /// Every string field that reaches the database, with a NUL in it.
    #[test]
    fn nul_is_refused_in_every_field() {
        let nul = "a\u{0}b";
        type Mutation = Box<dyn Fn(&mut serde_json::Value)>;
        let cases: Vec<(&str, Mutation)> = vec![
            ("site", Box::new(move |v| v["site"] = nul.into())),
            (
                "page_view_id",
                Box::new(move |v| v["page_view_id"] = nul.into()),
            ),
            (
                "url",
                Box::new(move |v| v["url"] = format!("https://shop.example/{nul}").into()),
            ),
            (
                "navigation_type",
                Box::new(move |v| v["navigation_type"] = nul.into()),
            ),
            ("release", Box::new(move |v| v["release"] = nul.into())),
            (
                "route",
                Box::new(move |v| v["route"] = format!("/{nul}").into()),
            ),
            (
                "connection",
                Box::new(move |v| v["connection"] = nul.into()),
            ),
            (
                "metrics[0].name",
                Box::new(move |v| v["metrics"][0]["name"] = nul.into()),
            ),
            (
                "metrics[0].id",
                Box::new(move |v| v["metrics"][0]["id"] = nul.into()),
            ),
            (
                "metrics[0].navigation_type",
                Box::new(move |v| v["metrics"][0]["navigation_type"] = nul.into()),
            ),
            (
                "metrics[0].attribution.target",
                Box::new(move |v| v["metrics"][0]["attribution"]["target"] = nul.into()),
            ),
            (
                "metrics[0].attribution",
                Box::new(move |v| v["metrics"][0]["attribution"][nul] = "x".into()),
            ),
        ];
        for (field, mutate) in cases {
            let mut v = good();
            mutate(&mut v);
            // The wire form carries the escape `\u0000`, as a browser's JSON.stringify writes it.
            assert!(
                v.to_string().contains("\\u0000"),
                "{field}: test input has the escape"
            );
            match parse(&v) {
                Err(BeaconError::Invalid { field: f, problem }) => {
                    assert_eq!(f, field);
                    assert!(problem.contains("U+0000"), "{field}: {problem}");
                }
                other => panic!("{field}: NUL must be refused, got {other:?}"),
            }
        }
    }

    #[test]
    fn lone_surrogate_escapes_are_malformed() {
        // serde_json refuses an unpaired surrogate when it builds a String; a
        // pair is one scalar value and fine.
        let body = good().to_string().replace("html>body>img.hero", "\\ud800x");
        assert!(matches!(
            parse_beacon(body.as_bytes(), 32),
            Err(BeaconError::Malformed(_))
        ));
        let body = good().to_string().replace("html>body>img.hero", "\\udc00");
        assert!(matches!(
            parse_beacon(body.as_bytes(), 32),
            Err(BeaconError::Malformed(_))
        ));
        let body = good()
            .to_string()
            .replace("html>body>img.hero", "\\ud83d\\ude00");
        let b = parse_beacon(body.as_bytes(), 32).unwrap();
        let a = b.metrics[0].attribution.as_ref().unwrap();
        assert_eq!(a["target"], "\u{1F600}");
    }

    #[test]
    fn seq_is_64_bit_and_never_clamped() {
        let mut v = good();
        v["seq"] = serde_json::json!(2_147_483_648u64);
        assert_eq!(parse(&v).unwrap().seq, 2_147_483_648);
        v["seq"] = serde_json::json!(i64::MAX as u64);
        assert_eq!(parse(&v).unwrap().seq, i64::MAX as u64);
        // Beyond BIGINT: dropped like any unusable optional field, not clamped.
        v["seq"] = serde_json::json!(u64::MAX);
        let b = parse(&v).unwrap();
        assert_eq!((b.seq, b.dropped_fields), (0, 1));
    }
}
