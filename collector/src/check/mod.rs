//! The budget check behind the `check` CLI, `POST /v1/sites/{site}/check` and
//! the alert scheduler: every entry of a budget file that has timings or
//! page-weight budgets is evaluated over the samples its path pattern
//! matches, optionally with a regression comparison against a baseline
//! release or the previous window. A page-weight budget (`resources`) is
//! judged like a timing, on one quantity per page view taken from the WEIGHT
//! records (see `weight`).
//!
//! Exit status (CLI): 1 when any budget is breached (error or critical) or any
//! metric regressed; otherwise 2 when anything lacked data; otherwise 0. A
//! breach outranks missing data because it is a definite finding.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use vitals_core::MetricName;

use crate::budget::{Severity, classify, weighted_percentile};
use crate::budget_file::{BudgetEntry, BudgetFile, ResourceBudget, Unjudged};
use crate::storage::{Sample, SampleQuery, Store};

pub mod client;
pub mod render;
pub mod stats;
pub mod weight;

pub use stats::{Interval, Shares};

/// Confidence level of the percentile intervals.
pub const LEVEL: f64 = 0.95;
/// Default regression tolerance: 10 % worse than the baseline.
pub const DEFAULT_TOLERANCE: f64 = 0.10;
const MAX_LABEL: usize = 64;

/// What a caller asks for; the JSON body of `POST /v1/sites/{site}/check`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// A budget.json array; absent or null: the built-in default budget.
    #[serde(default)]
    pub budget: Option<serde_json::Value>,
    /// Window in hours when an entry does not set `strray.windowHours`.
    pub window_hours: Option<u32>,
    /// Minimum samples when an entry does not set `strray.minSamples`.
    pub min_samples: Option<u64>,
    /// Judge only page views that declared this release.
    pub release: Option<String>,
    /// Compare against page views of this release: in the same window, or,
    /// when the release was last seen before that window, in a window of the
    /// same length ending when it was last seen.
    pub baseline_release: Option<String>,
    /// Compare against all traffic of the N hours right before the current
    /// window except the judged release's.
    pub baseline_window_hours: Option<u32>,
    /// Regression tolerance as a fraction (0.1 = 10 %).
    pub tolerance: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Baseline {
    Release(String),
    PreviousWindow { hours: u32 },
}

/// A validated request.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    pub budget: BudgetFile,
    pub window_hours: u32,
    pub min_samples: u64,
    pub release: Option<String>,
    pub baseline: Option<Baseline>,
    pub tolerance: f64,
}

fn label(field: &str, v: Option<String>) -> Result<Option<String>, String> {
    match v {
        Some(s)
            if s.is_empty() || s.chars().count() > MAX_LABEL || s.contains(char::is_control) =>
        {
            Err(format!(
                "{field}: must be 1 to {MAX_LABEL} printable characters"
            ))
        }
        v => Ok(v),
    }
}

fn hours(field: &str, h: u32) -> Result<u32, String> {
    if h == 0 || h > 24 * 400 {
        return Err(format!("{field}: must be 1 to 9600"));
    }
    Ok(h)
}

impl CheckRequest {
    /// Validates against the caller's defaults; the error names the field.
    pub fn into_options(
        self,
        default_window_hours: u32,
        default_min_samples: u64,
    ) -> Result<CheckOptions, String> {
        let budget = match self.budget {
            None | Some(serde_json::Value::Null) => BudgetFile::default_budget(),
            Some(v) => BudgetFile::from_value(v).map_err(|e| format!("budget: {e}"))?,
        };
        let window_hours = hours(
            "window_hours",
            self.window_hours.unwrap_or(default_window_hours),
        )?;
        let min_samples = self.min_samples.unwrap_or(default_min_samples).max(1);
        let release = label("release", self.release)?;
        let baseline = match (
            label("baseline_release", self.baseline_release)?,
            self.baseline_window_hours,
        ) {
            (Some(_), Some(_)) => {
                return Err(
                    "baseline_release and baseline_window_hours: give at most one baseline".into(),
                );
            }
            (Some(r), None) => Some(Baseline::Release(r)),
            (None, Some(h)) => Some(Baseline::PreviousWindow {
                hours: hours("baseline_window_hours", h)?,
            }),
            (None, None) => None,
        };
        let tolerance = self.tolerance.unwrap_or(DEFAULT_TOLERANCE);
        if !(tolerance.is_finite() && (0.0..=10.0).contains(&tolerance)) {
            return Err("tolerance: must be a fraction between 0 and 10".into());
        }
        Ok(CheckOptions {
            budget,
            window_hours,
            min_samples,
            release,
            baseline,
            tolerance,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimingResult {
    pub metric: String,
    /// The id in the budget file.
    pub id: String,
    pub unit: String,
    pub budget: f64,
    pub percentile: f64,
    pub value: Option<f64>,
    /// value / budget.
    pub ratio: Option<f64>,
    pub interval: Option<Interval>,
    pub samples: u64,
    pub min_samples: u64,
    pub shares: Option<Shares>,
    pub severity: Severity,
    /// The breach holds at the interval's lower bound: not sampling noise.
    pub breach_is_solid: bool,
}

impl TimingResult {
    /// How reports and alerts name it: the metric of a timing (`LCP`), the
    /// budget id of a page-weight budget (`resourceSizes.script`).
    pub fn label(&self) -> &str {
        if self.metric == MetricName::Weight.as_str() {
            &self.id
        } else {
            &self.metric
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EntryResult {
    pub index: usize,
    pub path: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub window_hours: u32,
    pub status: Severity,
    pub timings: Vec<TimingResult>,
    /// Page-weight budgets: metric `WEIGHT`, id e.g. `resourceSizes.script`,
    /// unit `KiB` or `requests`.
    #[serde(default)]
    pub resources: Vec<TimingResult>,
    pub unjudged: Vec<Unjudged>,
}

impl EntryResult {
    /// Timings and page-weight budgets: everything judged.
    pub fn judged(&self) -> impl Iterator<Item = &TimingResult> + Clone {
        self.timings.iter().chain(&self.resources)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegressionStatus {
    Ok,
    Regressed,
    /// Worse than the tolerance by the point estimates, but the two
    /// percentile intervals overlap: not shown to be more than sampling noise.
    /// Reported, never a failure.
    WithinNoise,
    InsufficientData,
}

impl RegressionStatus {
    /// The JSON name (kebab-case), also used by the text formats and the dashboard.
    pub fn as_str(self) -> &'static str {
        match self {
            RegressionStatus::Ok => "ok",
            RegressionStatus::Regressed => "regressed",
            RegressionStatus::WithinNoise => "within-noise",
            RegressionStatus::InsufficientData => "insufficient-data",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegressionResult {
    pub index: usize,
    pub path: String,
    /// The metric of a timing; the budget id of a page-weight budget.
    pub metric: String,
    /// The values' unit (`ms`, `score`, `KiB`, `requests`).
    #[serde(default)]
    pub unit: String,
    pub percentile: f64,
    /// The baseline's time range (the current one is the entry's).
    pub baseline_from: DateTime<Utc>,
    pub baseline_to: DateTime<Utc>,
    pub baseline: Option<f64>,
    pub current: Option<f64>,
    pub baseline_samples: u64,
    pub current_samples: u64,
    pub min_samples: u64,
    /// current / baseline − 1 (0.12 = 12 % worse).
    pub change: Option<f64>,
    /// Conservative bounds of the change from both percentile intervals.
    pub change_low: Option<f64>,
    pub change_high: Option<f64>,
    pub status: RegressionStatus,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegressionReport {
    pub baseline: String,
    pub current: String,
    pub tolerance: f64,
    pub metrics: Vec<RegressionResult>,
    /// What would give a metric without enough samples a verdict (flags to change).
    #[serde(default)]
    pub hints: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Pass,
    Fail,
    InsufficientData,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Pass => 0,
            Outcome::Fail => 1,
            Outcome::InsufficientData => 2,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::InsufficientData => "insufficient-data",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    pub site: String,
    pub release: Option<String>,
    pub generated_at: DateTime<Utc>,
    pub outcome: Outcome,
    pub entries: Vec<EntryResult>,
    pub regression: Option<RegressionReport>,
}

/// Judges one metric's samples against one timing budget. Pure.
pub fn judge(
    metric: MetricName,
    id: &str,
    budget: f64,
    entry: &BudgetEntry,
    min_samples: u64,
    samples: &[Sample],
) -> TimingResult {
    let n = samples.len() as u64;
    let value = weighted_percentile(samples, entry.percentile);
    let interval = (n > 0).then(|| stats::percentile_interval(samples, entry.percentile, LEVEL));
    let severity = match value {
        Some(v) if n >= min_samples => classify(v, budget, &entry.thresholds),
        _ => Severity::InsufficientData,
    };
    let breach_is_solid = severity.is_breach()
        && interval
            .and_then(|i| i.low)
            .is_some_and(|low| classify(low, budget, &entry.thresholds).is_breach());
    TimingResult {
        metric: metric.as_str().into(),
        id: id.into(),
        unit: metric.unit().as_str().into(),
        budget,
        percentile: entry.percentile,
        value,
        ratio: value
            .map(|v| {
                if budget > 0.0 {
                    v / budget
                } else {
                    f64::INFINITY
                }
            })
            .filter(|r| r.is_finite()),
        interval,
        samples: n,
        min_samples,
        shares: stats::shares(metric, samples),
        severity,
        breach_is_solid,
    }
}

/// Judges one page-weight budget's samples (one per page view). Pure.
pub fn judge_resource(
    r: &ResourceBudget,
    entry: &BudgetEntry,
    min_samples: u64,
    samples: &[Sample],
) -> TimingResult {
    let mut t = judge(
        MetricName::Weight,
        &r.id(),
        r.budget,
        entry,
        min_samples,
        samples,
    );
    t.unit = r.kind.unit().into();
    // The rating bands are on the whole page's bytes, not on this quantity.
    t.shares = None;
    t
}

/// Which page views a sample set takes by release.
#[derive(Clone, Copy)]
enum Releases<'a> {
    All,
    Only(&'a str),
    Except(&'a str),
}

/// The query for an entry's rows of `metric`: SQL narrows by the pattern's
/// literal prefix, the caller matches the pattern exactly.
fn entry_query<'a>(
    site: &'a str,
    entry: &'a BudgetEntry,
    metric: MetricName,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    releases: Releases<'a>,
) -> SampleQuery<'a> {
    let prefix = entry.path.literal_prefix();
    let (release, exclude_release) = match releases {
        Releases::All => (None, None),
        Releases::Only(r) => (Some(r), None),
        Releases::Except(r) => (None, Some(r)),
    };
    SampleQuery {
        site,
        metric: metric.as_str(),
        path_prefix: (prefix != "/").then_some(prefix),
        since: Some(since),
        until: Some(until),
        release,
        exclude_release,
    }
}

#[allow(clippy::too_many_arguments)] // one query's filters, named at each call
async fn entry_samples(
    store: &Store,
    site: &str,
    entry: &BudgetEntry,
    metric: MetricName,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    releases: Releases<'_>,
) -> Result<Vec<Sample>, sqlx::Error> {
    let rows = store
        .path_samples(&entry_query(site, entry, metric, since, until, releases))
        .await?;
    // SQL narrowed by the literal prefix (and SQLite's LIKE ignores ASCII
    // case); the pattern decides exactly here.
    Ok(rows
        .into_iter()
        .filter(|r| entry.path.matches(&r.path))
        .map(|r| r.sample)
        .collect())
}

/// The WEIGHT records of an entry's page views, breakdowns parsed.
async fn entry_weights(
    store: &Store,
    site: &str,
    entry: &BudgetEntry,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    releases: Releases<'_>,
) -> Result<Vec<weight::PageWeight>, sqlx::Error> {
    let q = entry_query(site, entry, MetricName::Weight, since, until, releases);
    let rows = store.weight_rows(&q, weight::MAX_ROWS).await?;
    Ok(rows
        .iter()
        .filter(|r| entry.path.matches(&r.path))
        .filter_map(weight::PageWeight::from_row)
        .collect())
}

/// Runs the whole check at `now`.
pub async fn run(
    store: &Store,
    site: &str,
    opts: &CheckOptions,
    now: DateTime<Utc>,
) -> Result<CheckReport, sqlx::Error> {
    let mut entries = Vec::new();
    let mut regressions = Vec::new();
    let current_releases = match opts.release.as_deref() {
        Some(r) => Releases::Only(r),
        None => Releases::All,
    };
    // A baseline release that is no longer served is judged over a window of
    // the same length ending where its traffic ended, not over a window where
    // it has no page views.
    let baseline_last_seen = match &opts.baseline {
        Some(Baseline::Release(r)) => store.release_last_seen(site, r).await?,
        _ => None,
    };
    for entry in &opts.budget.entries {
        let window = entry.window_hours.unwrap_or(opts.window_hours);
        let from = now - Duration::hours(i64::from(window));
        let min_samples = entry.min_samples.unwrap_or(opts.min_samples);
        let baseline_range = opts.baseline.as_ref().map(|b| match b {
            Baseline::Release(r) => {
                let to = match baseline_last_seen {
                    // Exclusive upper bound just past its newest row.
                    Some(t) if t < from => t + Duration::milliseconds(1),
                    _ => now,
                };
                (to - (now - from), to, Releases::Only(r.as_str()))
            }
            Baseline::PreviousWindow { hours } => {
                let others = match opts.release.as_deref() {
                    Some(r) => Releases::Except(r),
                    None => Releases::All,
                };
                (from - Duration::hours(i64::from(*hours)), from, others)
            }
        });
        let mut timings = Vec::new();
        for t in &entry.timings {
            let Some(metric) = t.metric_name() else {
                continue;
            };
            let current =
                entry_samples(store, site, entry, metric, from, now, current_releases).await?;
            let result = judge(metric, &t.id, t.budget, entry, min_samples, &current);
            if let Some((bfrom, bto, releases)) = baseline_range {
                let base = entry_samples(store, site, entry, metric, bfrom, bto, releases).await?;
                let mut r = compare(
                    entry,
                    metric.as_str(),
                    metric.unit().as_str(),
                    min_samples,
                    opts.tolerance,
                    &base,
                    &current,
                );
                r.baseline_from = bfrom;
                r.baseline_to = bto;
                regressions.push(r);
            }
            timings.push(result);
        }
        let mut resources = Vec::new();
        if !entry.resources.is_empty() {
            // One read per window serves all of the entry's weight budgets.
            let listed = &entry.first_party_hostnames;
            let current = entry_weights(store, site, entry, from, now, current_releases).await?;
            let base = match baseline_range {
                Some((bfrom, bto, releases)) => {
                    Some(entry_weights(store, site, entry, bfrom, bto, releases).await?)
                }
                None => None,
            };
            for rb in &entry.resources {
                let cur = weight::samples(rb, &current, listed);
                if let (Some((bfrom, bto, _)), Some(base)) = (baseline_range, &base) {
                    let mut r = compare(
                        entry,
                        &rb.id(),
                        rb.kind.unit(),
                        min_samples,
                        opts.tolerance,
                        &weight::samples(rb, base, listed),
                        &cur,
                    );
                    r.baseline_from = bfrom;
                    r.baseline_to = bto;
                    regressions.push(r);
                }
                resources.push(judge_resource(rb, entry, min_samples, &cur));
            }
        }
        let status = timings
            .iter()
            .chain(&resources)
            .map(|t| t.severity)
            .max()
            .unwrap_or(Severity::Pass);
        entries.push(EntryResult {
            index: entry.index,
            path: entry.path.as_str().into(),
            from,
            to: now,
            window_hours: window,
            status,
            timings,
            resources,
            unjudged: entry.unjudged.clone(),
        });
    }
    let regression = opts.baseline.as_ref().map(|b| RegressionReport {
        baseline: match (b, &opts.release) {
            (Baseline::Release(r), _) => format!("release {r}"),
            (Baseline::PreviousWindow { hours }, Some(r)) => {
                format!("other releases than {r}, the {hours} h before the current window")
            }
            (Baseline::PreviousWindow { hours }, None) => {
                format!("the {hours} h before the current window")
            }
        },
        current: match &opts.release {
            Some(r) => format!("release {r}"),
            None => "current window".into(),
        },
        tolerance: opts.tolerance,
        hints: hints(b, opts, &regressions),
        metrics: regressions,
    });
    let outcome = outcome(&entries, regression.as_ref());
    Ok(CheckReport {
        site: site.into(),
        release: opts.release.clone(),
        generated_at: now,
        outcome,
        entries,
        regression,
    })
}

/// For metrics without enough samples on one side, the flag that fixes it.
fn hints(b: &Baseline, opts: &CheckOptions, regs: &[RegressionResult]) -> Vec<String> {
    let mut out = Vec::new();
    let short = |n: u64, m: &RegressionResult| n < m.min_samples;
    if let Some(m) = regs.iter().find(|m| short(m.baseline_samples, m)) {
        out.push(match b {
            Baseline::PreviousWindow { hours } => format!(
                "the baseline has {} of {} samples needed ({} on '{}', the {hours} h before the window): \
                 widen it with --baseline-window-hours, or compare with a known release using --baseline-release",
                m.baseline_samples, m.min_samples, m.metric, m.path
            ),
            Baseline::Release(r) => format!(
                "release {r} has {} of {} samples needed ({} on '{}') in its window of {} h: \
                 widen it with --window-hours, or lower --min-samples",
                m.baseline_samples,
                m.min_samples,
                m.metric,
                m.path,
                (m.baseline_to - m.baseline_from).num_hours()
            ),
        });
    }
    if let Some(m) = regs.iter().find(|m| short(m.current_samples, m)) {
        out.push(format!(
            "{} has {} of {} samples needed ({} on '{}') in the last {} h: \
             wait for more traffic, widen --window-hours, or lower --min-samples",
            opts.release
                .as_deref()
                .map(|r| format!("release {r}"))
                .unwrap_or_else(|| "the current window".into()),
            m.current_samples,
            m.min_samples,
            m.metric,
            m.path,
            opts.window_hours
        ));
    }
    out
}

/// Baseline vs current percentile of one metric (or page-weight budget,
/// named by `label`, values in `unit`). Pure.
pub fn compare(
    entry: &BudgetEntry,
    label: &str,
    unit: &str,
    min_samples: u64,
    tolerance: f64,
    baseline: &[Sample],
    current: &[Sample],
) -> RegressionResult {
    let p = entry.percentile;
    let b = weighted_percentile(baseline, p);
    let c = weighted_percentile(current, p);
    let bi = stats::percentile_interval(baseline, p, LEVEL);
    let ci = stats::percentile_interval(current, p, LEVEL);
    let ratio = |num: Option<f64>, den: Option<f64>| match (num, den) {
        (Some(n), Some(d)) if d > 0.0 => Some(n / d - 1.0),
        (Some(n), Some(d)) if d == 0.0 && n == 0.0 => Some(0.0),
        _ => None,
    };
    let change = ratio(c, b);
    let enough = baseline.len() as u64 >= min_samples && current.len() as u64 >= min_samples;
    // A CI gate must not fail a release on sampling noise: a change above the
    // tolerance counts only when the current percentile's interval lies wholly
    // above the baseline's (the worsening holds at both conservative bounds).
    let beyond_noise = matches!((ci.low, bi.high), (Some(lo), Some(hi)) if lo > hi);
    let judged = |worse: bool| match (worse, beyond_noise) {
        (false, _) => RegressionStatus::Ok,
        (true, true) => RegressionStatus::Regressed,
        (true, false) => RegressionStatus::WithinNoise,
    };
    let status = match change {
        Some(ch) if enough => judged(ch > tolerance * (1.0 + 1e-9)),
        // Zero baseline, nonzero current: worse by any ratio.
        None if enough && b == Some(0.0) && c.is_some_and(|c| c > 0.0) => judged(true),
        _ => RegressionStatus::InsufficientData,
    };
    RegressionResult {
        index: entry.index,
        path: entry.path.as_str().into(),
        metric: label.into(),
        unit: unit.into(),
        percentile: p,
        // The caller sets the range it took the baseline from.
        baseline_from: DateTime::<Utc>::MIN_UTC,
        baseline_to: DateTime::<Utc>::MIN_UTC,
        baseline: b,
        current: c,
        baseline_samples: baseline.len() as u64,
        current_samples: current.len() as u64,
        min_samples,
        change,
        change_low: ratio(ci.low, bi.high),
        change_high: ratio(ci.high, bi.low),
        status,
    }
}

fn outcome(entries: &[EntryResult], regression: Option<&RegressionReport>) -> Outcome {
    let timings = entries.iter().flat_map(EntryResult::judged);
    let regs = regression.map(|r| r.metrics.as_slice()).unwrap_or(&[]);
    if timings.clone().any(|t| t.severity.is_breach())
        || regs.iter().any(|r| r.status == RegressionStatus::Regressed)
    {
        return Outcome::Fail;
    }
    let nothing_judged = timings.clone().next().is_none();
    if nothing_judged
        || timings
            .clone()
            .any(|t| t.severity == Severity::InsufficientData)
        || regs
            .iter()
            .any(|r| r.status == RegressionStatus::InsufficientData)
    {
        return Outcome::InsufficientData;
    }
    Outcome::Pass
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn equal(v: &[f64]) -> Vec<Sample> {
        v.iter()
            .map(|&value| Sample { value, weight: 1.0 })
            .collect()
    }

    fn entry() -> BudgetEntry {
        BudgetFile::default_budget().entries.remove(0)
    }

    #[test]
    fn regression_needs_more_than_the_tolerance_and_enough_samples() {
        let e = entry();
        let base = equal(&[1000.0; 20]);
        let r = compare(&e, "LCP", "ms", 10, 0.1, &base, &equal(&[1100.0; 20]));
        assert_eq!(
            r.status,
            RegressionStatus::Ok,
            "exactly +10 % is within tolerance"
        );
        let r = compare(&e, "LCP", "ms", 10, 0.1, &base, &equal(&[1101.0; 20]));
        assert_eq!(r.status, RegressionStatus::Regressed);
        assert!((r.change.unwrap() - 0.101).abs() < 1e-12);
        let r = compare(&e, "LCP", "ms", 30, 0.1, &base, &equal(&[2000.0; 20]));
        assert_eq!(r.status, RegressionStatus::InsufficientData);
    }

    #[test]
    fn a_change_within_sampling_noise_is_reported_but_not_a_regression() {
        let e = entry();
        // Both spread over 500..1500; the current p75 is +12 % by the point
        // estimates, but with 40 samples each the intervals overlap widely.
        let spread = |shift: f64| -> Vec<Sample> {
            equal(
                &(0..40)
                    .map(|i| 500.0 + 25.0 * f64::from(i) + shift)
                    .collect::<Vec<_>>(),
            )
        };
        let base = spread(0.0);
        let cur: Vec<Sample> = base
            .iter()
            .map(|s| Sample {
                value: s.value * 1.12,
                weight: 1.0,
            })
            .collect();
        let r = compare(&e, "LCP", "ms", 10, 0.1, &base, &cur);
        assert!(r.change.unwrap() > 0.1, "{r:?}");
        assert!(r.change_low.unwrap() < 0.0, "the intervals overlap: {r:?}");
        assert_eq!(r.status, RegressionStatus::WithinNoise);
        // The same +12 % on 4 000 samples each is beyond noise.
        let many = |v: &[Sample]| -> Vec<Sample> { v.iter().cycle().take(4000).copied().collect() };
        let r = compare(&e, "LCP", "ms", 10, 0.1, &many(&base), &many(&cur));
        assert_eq!(r.status, RegressionStatus::Regressed, "{r:?}");
        // Reported, never failing the gate (a regression does).
        let gate = |m: RegressionResult| {
            let reg = RegressionReport {
                baseline: "b".into(),
                current: "c".into(),
                tolerance: 0.1,
                hints: Vec::new(),
                metrics: vec![m],
            };
            outcome(&[], Some(&reg))
        };
        assert_ne!(
            gate(compare(&e, "LCP", "ms", 10, 0.1, &base, &cur)),
            Outcome::Fail
        );
        assert_eq!(gate(r), Outcome::Fail);
    }

    #[test]
    fn a_solid_breach_holds_at_the_lower_bound() {
        let e = entry();
        let all_slow = equal(&[3000.0; 100]);
        let r = judge(
            MetricName::Lcp,
            "largest-contentful-paint",
            2500.0,
            &e,
            5,
            &all_slow,
        );
        assert_eq!(r.severity, Severity::Critical);
        assert!(r.breach_is_solid);
        // p75 over budget but the lower bound is not: 30 % slow of 100.
        let mut mixed = equal(&[1000.0; 70]);
        mixed.extend(equal(&[3000.0; 30]));
        let r = judge(
            MetricName::Lcp,
            "largest-contentful-paint",
            2500.0,
            &e,
            5,
            &mixed,
        );
        assert!(r.severity.is_breach());
        assert!(!r.breach_is_solid);
    }

    #[test]
    fn page_weight_budgets_decide_the_outcome_like_timings() {
        let e = entry();
        let now = Utc::now();
        let entry_with = |resources: Vec<TimingResult>| EntryResult {
            index: 0,
            path: "/".into(),
            from: now,
            to: now,
            window_hours: 24,
            status: Severity::Pass,
            timings: Vec::new(),
            resources,
            unjudged: Vec::new(),
        };
        let script = &e.resources[0];
        let judged = |kib: f64| judge_resource(script, &e, 5, &equal(&[kib; 10]));
        assert_eq!(judged(600.0).severity, Severity::Pass);
        assert_eq!(judged(630.0).severity, Severity::Warning);
        assert_eq!(judged(700.0).severity, Severity::Error);
        assert_eq!(judged(770.0).severity, Severity::Critical);
        assert_eq!(judged(700.0).unit, "KiB");
        assert_eq!(judged(700.0).label(), "resourceSizes.script");
        assert_eq!(
            judge_resource(script, &e, 20, &equal(&[1.0; 10])).severity,
            Severity::InsufficientData
        );
        // Judged alone (no timings), a weight budget decides the outcome.
        assert_eq!(
            outcome(&[entry_with(vec![judged(100.0)])], None),
            Outcome::Pass
        );
        assert_eq!(
            outcome(&[entry_with(vec![judged(700.0)])], None),
            Outcome::Fail
        );
        assert_eq!(
            outcome(&[entry_with(vec![])], None),
            Outcome::InsufficientData
        );
    }

    #[test]
    fn requests_are_validated_field_by_field() {
        let bad = [
            (
                CheckRequest {
                    window_hours: Some(0),
                    ..Default::default()
                },
                "window_hours",
            ),
            (
                CheckRequest {
                    tolerance: Some(-0.1),
                    ..Default::default()
                },
                "tolerance",
            ),
            (
                CheckRequest {
                    release: Some(String::new()),
                    ..Default::default()
                },
                "release",
            ),
            (
                CheckRequest {
                    baseline_release: Some("a".into()),
                    baseline_window_hours: Some(1),
                    ..Default::default()
                },
                "at most one baseline",
            ),
            (
                CheckRequest {
                    budget: Some(serde_json::json!({})),
                    ..Default::default()
                },
                "budget: ",
            ),
        ];
        for (req, want) in bad {
            let e = req.into_options(24, 5).unwrap_err();
            assert!(e.contains(want), "{e}");
        }
        let ok = CheckRequest::default().into_options(24, 5).unwrap();
        assert_eq!(ok.budget, BudgetFile::default_budget());
        assert_eq!(ok.tolerance, 0.1);
    }
}
