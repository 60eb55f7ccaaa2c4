//! Lighthouse `budget.json`, read unmodified, plus a namespaced extension for
//! what field data needs.
//!
//! # Format
//! A JSON array of budget entries. Lighthouse keys: `path`, `timings`,
//! `resourceSizes`, `resourceCounts`, `options.firstPartyHostnames`; any other
//! key is an error naming the entry index and the key.
//!
//! Extension (optional, per entry, ignored by nothing but rejected by
//! Lighthouse itself, so keep it out of files Lighthouse also reads if you
//! need that; see README):
//! ```json
//! "strray": {
//!   "percentile": 75, "minSamples": 20, "windowHours": 168,
//!   "thresholds": {"warning": 0.9, "error": 1.0, "critical": 1.1},
//!   "timings": [{"metric": "interaction-to-next-paint", "budget": 200}],
//!   "transferSizes": [{"resourceType": "script", "budget": 300}],
//!   "decodedSizes": [{"resourceType": "script", "budget": 2048}]
//! }
//! ```
//! Field-only metric ids (`interaction-to-next-paint`, `first-input-delay`,
//! `time-to-first-byte`) are accepted in `timings` too; `strray.timings`
//! exists so that a file shared with Lighthouse stays valid for Lighthouse.
//!
//! # Resource budgets
//! `resourceSizes` and `resourceCounts` are judged on the page views' `WEIGHT`
//! records (see [`ResourceKind`]): sizes in KiB of compressed bytes
//! (`encodedBodySize`), counts in requests. `strray.transferSizes` judges bytes
//! over the network and `strray.decodedSizes` uncompressed bytes, both in KiB.
//!
//! # Path matching
//! Exactly Lighthouse's robots.txt-style rule on the page path (no query):
//! no `*`/`$` → prefix; only a trailing `$` → exact; `*` → starts with the part
//! before and the rest contains the part after (ends with it when `$` follows).
//!
//! # Several matching entries
//! Every matching entry applies (the Lighthouse CI rule, not Lighthouse's
//! "last match wins"): a page under `/checkout` is judged by the `/` entry and
//! the `/checkout` entry, and fails if either is breached. Each entry is
//! evaluated over all samples its pattern matches.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use vitals_core::MetricName;

use crate::budget::Thresholds;

/// Longest accepted path pattern, in bytes.
const MAX_PATH_LEN: usize = 512;
/// Most entries in one file: a bound on work per check request.
pub const MAX_ENTRIES: usize = 100;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BudgetFileError {
    #[error("budget file is not valid JSON: {0}")]
    Json(String),
    #[error("budget file must be a JSON array of budget objects")]
    NotArray,
    #[error("budget file has {0} entries; at most {MAX_ENTRIES}")]
    TooMany(usize),
    #[error("budget entry {index}: {problem}")]
    Entry { index: usize, problem: String },
}

/// A robots.txt-style path pattern as Lighthouse defines it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PathPattern {
    raw: String,
}

impl TryFrom<String> for PathPattern {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        PathPattern::parse(&s)
    }
}

impl From<PathPattern> for String {
    fn from(p: PathPattern) -> String {
        p.raw
    }
}

impl PathPattern {
    pub fn all() -> PathPattern {
        PathPattern { raw: "/".into() }
    }

    pub fn parse(s: &str) -> Result<PathPattern, String> {
        if !s.starts_with('/') {
            return Err(format!("path {s:?} must start with '/'"));
        }
        if s.len() > MAX_PATH_LEN {
            return Err(format!("path is longer than {MAX_PATH_LEN} bytes"));
        }
        if s.matches('*').count() > 1 {
            return Err(format!("path {s:?} may contain at most one '*'"));
        }
        if let Some(i) = s.find('$')
            && i != s.len() - 1
        {
            return Err(format!("path {s:?} may contain '$' only at the end"));
        }
        if s.contains(char::is_control) {
            return Err("path must not contain control characters".into());
        }
        Ok(PathPattern { raw: s.to_string() })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The literal text every matching path starts with: lets storage narrow
    /// the rows before `matches` decides exactly.
    pub fn literal_prefix(&self) -> &str {
        let end = self.raw.find(['*', '$']).unwrap_or(self.raw.len());
        &self.raw[..end]
    }

    pub fn matches(&self, path: &str) -> bool {
        let p = self.raw.as_str();
        let (body, anchored) = match p.strip_suffix('$') {
            Some(b) => (b, true),
            None => (p, false),
        };
        match body.split_once('*') {
            None if anchored => path == body,
            None => path.starts_with(body),
            Some((before, after)) => {
                let Some(rest) = path.strip_prefix(before) else {
                    return false;
                };
                if anchored {
                    rest.ends_with(after)
                } else {
                    rest.contains(after)
                }
            }
        }
    }
}

/// One measurable timing budget.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// The id as written in the file, e.g. `largest-contentful-paint`.
    pub id: String,
    pub metric: String,
    pub budget: f64,
}

impl Timing {
    pub fn metric_name(&self) -> Option<MetricName> {
        MetricName::parse(&self.metric)
    }
}

/// Which quantity of a `WEIGHT` record a resource budget judges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResourceKind {
    /// `resourceSizes`: compressed bytes (`encodedBodySize`), cached or not.
    Sizes,
    /// `resourceCounts`: requests.
    Counts,
    /// `strray.transferSizes`: bytes over the network (`transferSize`).
    TransferSizes,
    /// `strray.decodedSizes`: uncompressed bytes (`decodedBodySize`).
    DecodedSizes,
}

impl ResourceKind {
    /// The key in the budget file.
    pub const fn key(self) -> &'static str {
        match self {
            ResourceKind::Sizes => "resourceSizes",
            ResourceKind::Counts => "resourceCounts",
            ResourceKind::TransferSizes => "transferSizes",
            ResourceKind::DecodedSizes => "decodedSizes",
        }
    }

    /// The quantity of each type/host entry in the WEIGHT attribution.
    pub const fn quantity(self) -> &'static str {
        match self {
            ResourceKind::Sizes => "encoded",
            ResourceKind::Counts => "requests",
            ResourceKind::TransferSizes => "transfer",
            ResourceKind::DecodedSizes => "decoded",
        }
    }

    /// Budgets are written in KiB (as Lighthouse's) or in requests.
    pub const fn unit(self) -> &'static str {
        match self {
            ResourceKind::Counts => "requests",
            _ => "KiB",
        }
    }

    /// Wire quantity → budget unit.
    pub fn scale(self, x: f64) -> f64 {
        match self {
            ResourceKind::Counts => x,
            _ => x / 1024.0,
        }
    }
}

/// A page-weight budget: one quantity of one resource type (or `total`, or
/// `third-party`) per page view, judged at the entry's percentile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceBudget {
    pub kind: ResourceKind,
    /// A Lighthouse resource type, `total` or `third-party`.
    pub resource_type: String,
    pub budget: f64,
}

impl ResourceBudget {
    /// How reports and alerts name it, e.g. `resourceSizes.script`.
    pub fn id(&self) -> String {
        format!("{}.{}", self.kind.key(), self.resource_type)
    }
}

/// A budget item that cannot be judged on field data, with the reason.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unjudged {
    pub kind: String,
    pub id: String,
    pub budget: f64,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BudgetEntry {
    pub index: usize,
    pub path: PathPattern,
    pub timings: Vec<Timing>,
    /// Page-weight budgets, judged on WEIGHT records.
    #[serde(default)]
    pub resources: Vec<ResourceBudget>,
    /// Lab-only timings: reported, never judged.
    pub unjudged: Vec<Unjudged>,
    pub first_party_hostnames: Vec<String>,
    pub percentile: f64,
    /// None: the caller's default (STRRAY_MIN_SAMPLES).
    pub min_samples: Option<u64>,
    /// None: the caller's default window.
    pub window_hours: Option<u32>,
    pub thresholds: Thresholds,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BudgetFile {
    pub entries: Vec<BudgetEntry>,
}

/// Lighthouse id → our metric, or why it cannot be measured in the field.
pub fn map_timing_id(id: &str) -> Result<MetricName, Option<&'static str>> {
    Ok(match id {
        "first-contentful-paint" => MetricName::Fcp,
        "largest-contentful-paint" => MetricName::Lcp,
        "cumulative-layout-shift" => MetricName::Cls,
        "interactive" => MetricName::Tti,
        "total-blocking-time" => MetricName::Tbt,
        "interaction-to-next-paint" => MetricName::Inp,
        "first-input-delay" => MetricName::Fid,
        "time-to-first-byte" => MetricName::Ttfb,
        "max-potential-fid" => {
            return Err(Some(
                "lab metric (longest task after FCP in a simulated load); not measurable in the field, use first-input-delay or interaction-to-next-paint",
            ));
        }
        "speed-index" => {
            return Err(Some(
                "needs a filmstrip of the page load; not measurable in the field",
            ));
        }
        "first-meaningful-paint" => {
            return Err(Some(
                "deprecated lab heuristic; not measurable in the field, use largest-contentful-paint",
            ));
        }
        _ => return Err(None),
    })
}

const RESOURCE_TYPES: [&str; 9] = [
    "document",
    "font",
    "image",
    "media",
    "other",
    "script",
    "stylesheet",
    "third-party",
    "total",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryDto {
    path: Option<String>,
    timings: Option<Vec<TimingDto>>,
    #[serde(rename = "resourceSizes")]
    resource_sizes: Option<Vec<ResourceDto>>,
    #[serde(rename = "resourceCounts")]
    resource_counts: Option<Vec<ResourceDto>>,
    options: Option<OptionsDto>,
    strray: Option<ExtensionDto>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TimingDto {
    metric: String,
    budget: f64,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceDto {
    #[serde(rename = "resourceType")]
    resource_type: String,
    budget: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionsDto {
    #[serde(rename = "firstPartyHostnames")]
    first_party_hostnames: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtensionDto {
    percentile: Option<f64>,
    #[serde(rename = "minSamples")]
    min_samples: Option<u64>,
    #[serde(rename = "windowHours")]
    window_hours: Option<u32>,
    thresholds: Option<ThresholdsDto>,
    timings: Option<Vec<TimingDto>>,
    #[serde(rename = "transferSizes")]
    transfer_sizes: Option<Vec<ResourceDto>>,
    #[serde(rename = "decodedSizes")]
    decoded_sizes: Option<Vec<ResourceDto>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdsDto {
    warning: Option<f64>,
    error: Option<f64>,
    critical: Option<f64>,
}

impl BudgetFile {
    /// The built-in budget: FCP 2000 ms, LCP 2500 ms, INP 200 ms, FID 100 ms,
    /// CLS 0.1, TTI 5000 ms, and the page's script weight at most 700 KiB
    /// compressed and 2 MiB uncompressed, at p75 on every page.
    pub fn default_budget() -> BudgetFile {
        let t = |id: &str, m: MetricName, budget: f64| Timing {
            id: id.into(),
            metric: m.as_str().into(),
            budget,
        };
        BudgetFile {
            entries: vec![BudgetEntry {
                index: 0,
                path: PathPattern::all(),
                timings: vec![
                    t("first-contentful-paint", MetricName::Fcp, 2000.0),
                    t("largest-contentful-paint", MetricName::Lcp, 2500.0),
                    t("interaction-to-next-paint", MetricName::Inp, 200.0),
                    t("first-input-delay", MetricName::Fid, 100.0),
                    t("cumulative-layout-shift", MetricName::Cls, 0.1),
                    t("interactive", MetricName::Tti, 5000.0),
                ],
                resources: vec![
                    ResourceBudget {
                        kind: ResourceKind::Sizes,
                        resource_type: "script".into(),
                        budget: 700.0,
                    },
                    ResourceBudget {
                        kind: ResourceKind::DecodedSizes,
                        resource_type: "script".into(),
                        budget: 2048.0,
                    },
                ],
                unjudged: Vec::new(),
                first_party_hostnames: Vec::new(),
                percentile: 75.0,
                min_samples: None,
                window_hours: None,
                thresholds: Thresholds::default(),
            }],
        }
    }

    pub fn parse_str(text: &str) -> Result<BudgetFile, BudgetFileError> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| BudgetFileError::Json(e.to_string()))?;
        BudgetFile::from_value(v)
    }

    pub fn from_value(v: Value) -> Result<BudgetFile, BudgetFileError> {
        let Value::Array(items) = v else {
            return Err(BudgetFileError::NotArray);
        };
        if items.len() > MAX_ENTRIES {
            return Err(BudgetFileError::TooMany(items.len()));
        }
        let entries = items
            .into_iter()
            .enumerate()
            .map(|(index, item)| {
                parse_entry(item, index)
                    .map_err(|problem| BudgetFileError::Entry { index, problem })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BudgetFile { entries })
    }

    /// Entries whose path pattern matches `path` (all of them apply).
    pub fn matching<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a BudgetEntry> + 'a {
        self.entries.iter().filter(move |e| e.path.matches(path))
    }
}

fn parse_entry(item: Value, index: usize) -> Result<BudgetEntry, String> {
    if !item.is_object() {
        return Err("must be a JSON object".into());
    }
    // serde's messages name the unknown key and the expected ones, e.g.
    // "unknown field `timing`, expected one of `path`, `timings`, …".
    let dto: EntryDto = serde_json::from_value(item).map_err(|e| e.to_string())?;
    let path = match dto.path.as_deref() {
        None => PathPattern::all(),
        Some(p) => PathPattern::parse(p)?,
    };
    let mut timings = Vec::new();
    let mut unjudged = Vec::new();
    let ext = dto.strray;
    let lighthouse = dto.timings.unwrap_or_default().into_iter();
    let extra = ext
        .as_ref()
        .and_then(|x| x.timings.as_ref())
        .map(|t| {
            t.iter()
                .map(|t| (t.metric.clone(), t.budget))
                .collect::<Vec<(String, f64)>>()
        })
        .unwrap_or_default();
    for (field, id, budget) in lighthouse
        .map(|t| ("timings", t.metric, t.budget))
        .chain(extra.into_iter().map(|(m, b)| ("strray.timings", m, b)))
    {
        if !budget.is_finite() || budget < 0.0 {
            return Err(format!(
                "{field}: budget for {id:?} must be a non-negative number"
            ));
        }
        let seen = timings.iter().any(|t: &Timing| t.id == id)
            || unjudged.iter().any(|u: &Unjudged| u.id == id);
        if seen {
            return Err(format!("{field}: metric {id:?} appears more than once"));
        }
        match map_timing_id(&id) {
            Ok(m) => timings.push(Timing {
                id,
                metric: m.as_str().into(),
                budget,
            }),
            Err(Some(reason)) => unjudged.push(Unjudged {
                kind: "timing".into(),
                id,
                budget,
                reason: reason.into(),
            }),
            Err(None) => return Err(format!("{field}: unknown metric id {id:?}")),
        }
    }
    let mut resources = Vec::new();
    let (transfer_sizes, decoded_sizes) = match &ext {
        Some(x) => (x.transfer_sizes.clone(), x.decoded_sizes.clone()),
        None => (None, None),
    };
    for (kind, field, list) in [
        (ResourceKind::Sizes, "resourceSizes", dto.resource_sizes),
        (ResourceKind::Counts, "resourceCounts", dto.resource_counts),
        (
            ResourceKind::TransferSizes,
            "strray.transferSizes",
            transfer_sizes,
        ),
        (
            ResourceKind::DecodedSizes,
            "strray.decodedSizes",
            decoded_sizes,
        ),
    ] {
        let mut seen: Vec<String> = Vec::new();
        for r in list.unwrap_or_default() {
            if !RESOURCE_TYPES.contains(&r.resource_type.as_str()) {
                return Err(format!(
                    "{field}: unknown resourceType {:?}",
                    r.resource_type
                ));
            }
            if seen.contains(&r.resource_type) {
                return Err(format!(
                    "{field}: resourceType {:?} appears more than once",
                    r.resource_type
                ));
            }
            if !r.budget.is_finite() || r.budget < 0.0 {
                return Err(format!(
                    "{field}: budget for {:?} must be a non-negative number",
                    r.resource_type
                ));
            }
            seen.push(r.resource_type.clone());
            resources.push(ResourceBudget {
                kind,
                resource_type: r.resource_type,
                budget: r.budget,
            });
        }
    }
    let first_party_hostnames = dto
        .options
        .and_then(|o| o.first_party_hostnames)
        .unwrap_or_default();
    for h in &first_party_hostnames {
        let bare = h.strip_prefix("*.").unwrap_or(h);
        if bare.is_empty()
            || bare.len() > 253
            || !bare
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
        {
            return Err(format!(
                "options.firstPartyHostnames: invalid hostname {h:?}"
            ));
        }
    }
    let mut percentile = 75.0;
    let mut min_samples = None;
    let mut window_hours = None;
    let mut thresholds = Thresholds::default();
    if let Some(x) = ext {
        if let Some(p) = x.percentile {
            if !(p > 0.0 && p <= 100.0) {
                return Err("strray.percentile must be in (0, 100]".into());
            }
            percentile = p;
        }
        if let Some(n) = x.min_samples {
            if n == 0 {
                return Err("strray.minSamples must be at least 1".into());
            }
            min_samples = Some(n);
        }
        if let Some(w) = x.window_hours {
            if w == 0 || w > 24 * 400 {
                return Err("strray.windowHours must be 1 to 9600".into());
            }
            window_hours = Some(w);
        }
        if let Some(t) = x.thresholds {
            thresholds = Thresholds {
                warning: t.warning.unwrap_or(thresholds.warning),
                error: t.error.unwrap_or(thresholds.error),
                critical: t.critical.unwrap_or(thresholds.critical),
            };
            let ok = [thresholds.warning, thresholds.error, thresholds.critical]
                .iter()
                .all(|f| f.is_finite() && *f > 0.0)
                && thresholds.warning <= thresholds.error
                && thresholds.error <= thresholds.critical;
            if !ok {
                return Err(
                    "strray.thresholds must be positive with warning ≤ error ≤ critical".into(),
                );
            }
        }
    }
    Ok(BudgetEntry {
        index,
        path,
        timings,
        resources,
        unjudged,
        first_party_hostnames,
        percentile,
        min_samples,
        window_hours,
        thresholds,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The example from Lighthouse's budget documentation, unmodified in form.
    const LIGHTHOUSE: &str = r#"[
      {
        "path": "/*",
        "timings": [
          {"metric": "interactive", "budget": 5000},
          {"metric": "first-meaningful-paint", "budget": 2000}
        ],
        "resourceSizes": [
          {"resourceType": "script", "budget": 125},
          {"resourceType": "total", "budget": 300}
        ],
        "resourceCounts": [
          {"resourceType": "third-party", "budget": 10}
        ]
      },
      {
        "options": {"firstPartyHostnames": ["*.my-site.com", "my-site.cdn.com"]},
        "path": "/checkout",
        "timings": [
          {"metric": "first-contentful-paint", "budget": 1500},
          {"metric": "largest-contentful-paint", "budget": 2500},
          {"metric": "cumulative-layout-shift", "budget": 0.1},
          {"metric": "total-blocking-time", "budget": 300},
          {"metric": "max-potential-fid", "budget": 150},
          {"metric": "speed-index", "budget": 3000}
        ]
      }
    ]"#;

    #[test]
    fn an_unmodified_lighthouse_file_parses() {
        let f = BudgetFile::parse_str(LIGHTHOUSE).unwrap();
        assert_eq!(f.entries.len(), 2);
        let a = &f.entries[0];
        assert_eq!(a.path.as_str(), "/*");
        assert_eq!(a.timings.len(), 1);
        assert_eq!(a.timings[0].metric, "TTI");
        assert_eq!(a.percentile, 75.0);
        // FMP is reported, not judged; the 2 sizes and 1 count are judged on WEIGHT.
        assert_eq!(a.unjudged.len(), 1);
        let ids: Vec<String> = a.resources.iter().map(ResourceBudget::id).collect();
        assert_eq!(
            ids,
            [
                "resourceSizes.script",
                "resourceSizes.total",
                "resourceCounts.third-party"
            ]
        );
        assert_eq!(a.resources[0].budget, 125.0);
        assert_eq!(a.resources[0].kind.quantity(), "encoded");
        assert_eq!(a.resources[2].kind.unit(), "requests");
        let b = &f.entries[1];
        assert_eq!(b.index, 1);
        let ms: Vec<&str> = b.timings.iter().map(|t| t.metric.as_str()).collect();
        assert_eq!(ms, ["FCP", "LCP", "CLS", "TBT"]);
        assert_eq!(b.unjudged.len(), 2);
        assert!(
            b.unjudged
                .iter()
                .all(|u| u.reason.contains("not measurable"))
        );
        assert_eq!(
            b.first_party_hostnames,
            ["*.my-site.com", "my-site.cdn.com"]
        );
    }

    #[test]
    fn extension_fields_and_field_metrics() {
        let f = BudgetFile::parse_str(
            r#"[{"path": "/shop", "timings": [{"metric": "interaction-to-next-paint", "budget": 200}],
                "strray": {"percentile": 90, "minSamples": 50, "windowHours": 24,
                           "thresholds": {"warning": 0.8, "critical": 1.5},
                           "timings": [{"metric": "time-to-first-byte", "budget": 800},
                                       {"metric": "first-input-delay", "budget": 100}]}}]"#,
        )
        .unwrap();
        let e = &f.entries[0];
        assert_eq!(e.percentile, 90.0);
        assert_eq!(e.min_samples, Some(50));
        assert_eq!(e.window_hours, Some(24));
        assert_eq!(e.thresholds.warning, 0.8);
        assert_eq!(e.thresholds.error, 1.0);
        assert_eq!(e.thresholds.critical, 1.5);
        let ms: Vec<&str> = e.timings.iter().map(|t| t.metric.as_str()).collect();
        assert_eq!(ms, ["INP", "TTFB", "FID"]);
        let f = BudgetFile::parse_str(
            r#"[{"resourceSizes": [{"resourceType": "script", "budget": 300}],
                 "strray": {"transferSizes": [{"resourceType": "script", "budget": 100}],
                            "decodedSizes": [{"resourceType": "total", "budget": 4096}]}}]"#,
        )
        .unwrap();
        let r: Vec<(String, &str, f64)> = f.entries[0]
            .resources
            .iter()
            .map(|r| (r.id(), r.kind.quantity(), r.budget))
            .collect();
        assert_eq!(
            r,
            [
                ("resourceSizes.script".into(), "encoded", 300.0),
                ("transferSizes.script".into(), "transfer", 100.0),
                ("decodedSizes.total".into(), "decoded", 4096.0)
            ]
        );
        assert_eq!(ResourceKind::Sizes.scale(2048.0), 2.0);
    }

    #[test]
    fn invalid_files_name_the_entry_and_the_problem() {
        let cases: &[(&str, &str, &str)] = &[
            ("not json", "{", "not valid JSON"),
            ("object, not array", r#"{"path": "/"}"#, "JSON array"),
            (
                "entry not object",
                r#"[{}, 3]"#,
                "budget entry 1: must be a JSON object",
            ),
            (
                "unknown key",
                r#"[{}, {"timing": []}]"#,
                "budget entry 1: unknown field `timing`",
            ),
            (
                "unknown timing key",
                r#"[{"timings": [{"metric": "interactive", "budget": 1, "x": 1}]}]"#,
                "budget entry 0: unknown field `x`",
            ),
            (
                "unknown metric",
                r#"[{"timings": [{"metric": "lcp", "budget": 1}]}]"#,
                "budget entry 0: timings: unknown metric id \"lcp\"",
            ),
            (
                "page weight is not a timing",
                r#"[{"timings": [{"metric": "WEIGHT", "budget": 1}]}]"#,
                "unknown metric id \"WEIGHT\"",
            ),
            (
                "duplicate metric",
                r#"[{"timings": [{"metric": "interactive", "budget": 1}, {"metric": "interactive", "budget": 2}]}]"#,
                "appears more than once",
            ),
            (
                "duplicate across ext",
                r#"[{"timings": [{"metric": "interactive", "budget": 1}], "strray": {"timings": [{"metric": "interactive", "budget": 2}]}}]"#,
                "strray.timings: metric \"interactive\" appears more than once",
            ),
            (
                "budget not number",
                r#"[{"timings": [{"metric": "interactive", "budget": "5s"}]}]"#,
                "budget entry 0: invalid type",
            ),
            (
                "negative budget",
                r#"[{"timings": [{"metric": "interactive", "budget": -1}]}]"#,
                "non-negative",
            ),
            (
                "path without slash",
                r#"[{"path": "checkout"}]"#,
                "must start with '/'",
            ),
            ("two stars", r#"[{"path": "/a*b*"}]"#, "at most one '*'"),
            (
                "dollar inside",
                r#"[{"path": "/a$b"}]"#,
                "'$' only at the end",
            ),
            (
                "bad resource type",
                r#"[{"resourceSizes": [{"resourceType": "js", "budget": 1}]}]"#,
                "unknown resourceType \"js\"",
            ),
            (
                "bad extension resource type",
                r#"[{"strray": {"decodedSizes": [{"resourceType": "wasm", "budget": 1}]}}]"#,
                "strray.decodedSizes: unknown resourceType \"wasm\"",
            ),
            (
                "duplicate resource type",
                r#"[{"resourceCounts": [{"resourceType": "total", "budget": 1}, {"resourceType": "total", "budget": 2}]}]"#,
                "resourceCounts: resourceType \"total\" appears more than once",
            ),
            (
                "unknown option",
                r#"[{"options": {"foo": 1}}]"#,
                "unknown field `foo`",
            ),
            (
                "bad hostname",
                r#"[{"options": {"firstPartyHostnames": ["a b"]}}]"#,
                "invalid hostname",
            ),
            (
                "unknown ext key",
                r#"[{"strray": {"pct": 75}}]"#,
                "unknown field `pct`",
            ),
            (
                "percentile 0",
                r#"[{"strray": {"percentile": 0}}]"#,
                "percentile",
            ),
            (
                "min samples 0",
                r#"[{"strray": {"minSamples": 0}}]"#,
                "minSamples",
            ),
            (
                "thresholds unordered",
                r#"[{"strray": {"thresholds": {"warning": 1.2}}}]"#,
                "warning ≤ error",
            ),
        ];
        for (what, text, want) in cases {
            let err = BudgetFile::parse_str(text).unwrap_err().to_string();
            assert!(err.contains(want), "{what}: got {err:?}, want {want:?}");
        }
    }

    #[test]
    fn path_matching_follows_lighthouse() {
        let m = |p: &str, path: &str| PathPattern::parse(p).unwrap().matches(path);
        // No * or $: prefix.
        assert!(m("/", "/anything"));
        assert!(m("/shop", "/shop"));
        assert!(m("/shop", "/shopping/cart"));
        assert!(!m("/shop", "/sho"));
        // Only $: exact.
        assert!(m("/shop$", "/shop"));
        assert!(!m("/shop$", "/shop/"));
        assert!(m("/$", "/"));
        assert!(!m("/$", "/a"));
        // *: starts with the part before, rest contains the part after.
        assert!(m("/*", "/"));
        assert!(m("/*.html", "/a/b.html"));
        assert!(m("/*.html", "/a.html/more"));
        assert!(!m("/*.html", "/a/b.htm"));
        assert!(m("/blog/*/comments", "/blog/2024/x/comments/7"));
        assert!(!m("/blog/*/comments", "/news/2024/comments"));
        // The part after must be after the part before, not overlapping it.
        assert!(!m("/ab*b", "/ab"));
        // * and $: the rest ends with the part after.
        assert!(m("/*.html$", "/a/b.html"));
        assert!(!m("/*.html$", "/a.html/more"));
        assert!(m("/p/*$", "/p/"));
        // Literal prefix used to narrow storage queries.
        assert_eq!(
            PathPattern::parse("/blog/*/c$").unwrap().literal_prefix(),
            "/blog/"
        );
        assert_eq!(PathPattern::parse("/x$").unwrap().literal_prefix(), "/x");
        assert_eq!(PathPattern::parse("/x").unwrap().literal_prefix(), "/x");
    }

    #[test]
    fn every_matching_entry_applies() {
        let f = BudgetFile::parse_str(
            r#"[{"path": "/", "timings": []}, {"path": "/checkout", "timings": []}, {"path": "/checkout$", "timings": []}]"#,
        )
        .unwrap();
        let idx: Vec<usize> = f.matching("/checkout").map(|e| e.index).collect();
        assert_eq!(idx, [0, 1, 2]);
        let idx: Vec<usize> = f.matching("/checkout/pay").map(|e| e.index).collect();
        assert_eq!(idx, [0, 1]);
    }

    #[test]
    fn default_budget_is_the_seed_budget() {
        let f = BudgetFile::default_budget();
        let t: Vec<(&str, f64)> = f.entries[0]
            .timings
            .iter()
            .map(|t| (t.metric.as_str(), t.budget))
            .collect();
        assert_eq!(
            t,
            [
                ("FCP", 2000.0),
                ("LCP", 2500.0),
                ("INP", 200.0),
                ("FID", 100.0),
                ("CLS", 0.1),
                ("TTI", 5000.0)
            ]
        );
        let r: Vec<(String, f64)> = f.entries[0]
            .resources
            .iter()
            .map(|r| (r.id(), r.budget))
            .collect();
        assert_eq!(
            r,
            [
                ("resourceSizes.script".into(), 700.0),
                ("decodedSizes.script".into(), 2048.0)
            ]
        );
    }
}
