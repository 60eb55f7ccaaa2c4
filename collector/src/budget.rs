//! Budget evaluation at a percentile of field data. Pure code: the storage layer
//! hands in samples, this decides severities.

use serde::{Deserialize, Serialize};
use vitals_core::MetricName;

use crate::storage::Sample;

/// Fractions of the budget at which each severity starts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub warning: f64,
    pub error: f64,
    pub critical: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            warning: 0.9,
            error: 1.0,
            critical: 1.1,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Budget {
    pub percentile: f64,
    pub min_samples: u64,
    pub thresholds: Thresholds,
    pub limits: Vec<(MetricName, f64)>,
}

impl Budget {
    /// FCP 2000 ms, LCP 2500 ms, INP 200 ms (Google's "good"), FID 100 ms,
    /// CLS 0.1, TTI 5000 ms at p75.
    pub fn default_with_min_samples(min_samples: u64) -> Budget {
        Budget {
            percentile: 75.0,
            min_samples,
            thresholds: Thresholds::default(),
            limits: vec![
                (MetricName::Fcp, 2000.0),
                (MetricName::Lcp, 2500.0),
                (MetricName::Inp, 200.0),
                (MetricName::Fid, 100.0),
                (MetricName::Cls, 0.1),
                (MetricName::Tti, 5000.0),
            ],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Pass,
    InsufficientData,
    Warning,
    Error,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Pass => "pass",
            Severity::InsufficientData => "insufficient-data",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }

    /// A breach is an error or worse: what fails a release.
    pub fn is_breach(self) -> bool {
        self >= Severity::Error
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct MetricVerdict {
    pub metric: &'static str,
    pub unit: &'static str,
    pub budget: f64,
    /// None when there are no samples at all.
    pub value: Option<f64>,
    pub percentile: f64,
    /// value / budget.
    pub ratio: Option<f64>,
    pub samples: u64,
    pub min_samples: u64,
    pub severity: Severity,
}

/// The worst severity across metrics. Insufficient data ranks above pass and
/// below warning: it never reads as a pass, and never hides a real breach.
pub fn overall(verdicts: &[MetricVerdict]) -> Severity {
    verdicts
        .iter()
        .map(|v| v.severity)
        .max()
        .unwrap_or(Severity::InsufficientData)
}

pub fn evaluate_metric(
    budget: &Budget,
    metric: MetricName,
    limit: f64,
    samples: &[Sample],
) -> MetricVerdict {
    let n = samples.len() as u64;
    let value = weighted_percentile(samples, budget.percentile);
    let ratio = value.map(|v| v / limit);
    let severity = match value {
        _ if n < budget.min_samples => Severity::InsufficientData,
        None => Severity::InsufficientData,
        Some(v) => classify(v, limit, &budget.thresholds),
    };
    MetricVerdict {
        metric: metric.as_str(),
        unit: metric.unit().as_str(),
        budget: limit,
        value,
        percentile: budget.percentile,
        ratio,
        samples: n,
        min_samples: budget.min_samples,
        severity,
    }
}

/// Severity of `value` against `limit`. Comparisons are on `value` vs
/// `fraction × limit` with a relative tolerance of 1e-9, so that a value of
/// exactly 0.9 × budget (e.g. CLS 0.09 of 0.1, not representable in binary) is
/// a warning, as a person reading the numbers expects.
pub fn classify(value: f64, limit: f64, t: &Thresholds) -> Severity {
    let at_least = |fraction: f64| value >= fraction * limit * (1.0 - 1e-9);
    if at_least(t.critical) {
        Severity::Critical
    } else if at_least(t.error) {
        Severity::Error
    } else if at_least(t.warning) {
        Severity::Warning
    } else {
        Severity::Pass
    }
}

/// Weighted nearest-rank percentile: the smallest value whose cumulative weight
/// reaches `p`% of the total weight. With equal weights this is the classic
/// nearest-rank percentile (ceil(p/100 × n)-th smallest value).
pub fn weighted_percentile(samples: &[Sample], p: f64) -> Option<f64> {
    let mut s: Vec<Sample> = samples
        .iter()
        .copied()
        .filter(|s| s.value.is_finite() && s.weight.is_finite() && s.weight > 0.0)
        .collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(|a, b| a.value.total_cmp(&b.value));
    let total: f64 = s.iter().map(|x| x.weight).sum();
    let target = total * (p / 100.0).clamp(0.0, 1.0);
    let mut acc = 0.0;
    for x in &s {
        acc += x.weight;
        // Tolerance absorbs float summation error so equal weights hit exact ranks.
        if acc >= target * (1.0 - 1e-12) {
            return Some(x.value);
        }
    }
    s.last().map(|x| x.value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn equal(values: &[f64]) -> Vec<Sample> {
        values
            .iter()
            .map(|&value| Sample { value, weight: 1.0 })
            .collect()
    }

    #[test]
    fn nearest_rank_percentile_on_equal_weights() {
        let s = equal(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(weighted_percentile(&s, 75.0), Some(3.0));
        let s = equal(&(1..=100).map(f64::from).collect::<Vec<_>>());
        assert_eq!(weighted_percentile(&s, 75.0), Some(75.0));
        assert_eq!(weighted_percentile(&[], 75.0), None);
    }

    #[test]
    fn weights_count_sampled_rows_as_many_page_views() {
        // One row sampled at 10 % stands for ten page views.
        let s = vec![
            Sample {
                value: 100.0,
                weight: 1.0,
            },
            Sample {
                value: 100.0,
                weight: 1.0,
            },
            Sample {
                value: 900.0,
                weight: 10.0,
            },
        ];
        assert_eq!(weighted_percentile(&s, 75.0), Some(900.0));
    }

    #[test]
    fn severity_boundaries_are_inclusive() {
        let t = Thresholds::default();
        assert_eq!(classify(2249.9, 2500.0, &t), Severity::Pass);
        assert_eq!(classify(2250.0, 2500.0, &t), Severity::Warning);
        assert_eq!(classify(2500.0, 2500.0, &t), Severity::Error);
        assert_eq!(classify(2750.0, 2500.0, &t), Severity::Critical);
        assert_eq!(classify(0.09, 0.1, &t), Severity::Warning);
        assert_eq!(classify(0.1, 0.1, &t), Severity::Error);
        assert_eq!(classify(0.11, 0.1, &t), Severity::Critical);
        assert_eq!(classify(0.0899, 0.1, &t), Severity::Pass);
    }

    #[test]
    fn too_few_samples_is_never_a_pass() {
        let b = Budget::default_with_min_samples(5);
        let v = evaluate_metric(&b, MetricName::Lcp, 2500.0, &equal(&[100.0; 4]));
        assert_eq!(v.severity, Severity::InsufficientData);
        assert_eq!(v.samples, 4);
        let v = evaluate_metric(&b, MetricName::Lcp, 2500.0, &equal(&[100.0; 5]));
        assert_eq!(v.severity, Severity::Pass);
        assert_eq!(overall(&[]), Severity::InsufficientData);
    }

    #[test]
    fn units_follow_the_metric() {
        let b = Budget::default_with_min_samples(1);
        let unit = |m: MetricName| evaluate_metric(&b, m, 1.0, &equal(&[1.0])).unit;
        assert_eq!(unit(MetricName::Lcp), "ms");
        assert_eq!(unit(MetricName::Cls), "score");
        assert_eq!(unit(MetricName::Weight), "bytes");
        // The default verdict judges timings and CLS only, never bytes by a timing limit.
        assert!(
            b.limits
                .iter()
                .all(|(m, _)| m.unit() != vitals_core::Unit::Bytes)
        );
    }

    proptest! {
        #[test]
        fn equal_weight_percentile_matches_sorted_rank(mut values in prop::collection::vec(0.0f64..1e6, 1..200), p in 1.0f64..100.0) {
            let got = weighted_percentile(&equal(&values), p).unwrap();
            values.sort_by(f64::total_cmp);
            let rank = ((p / 100.0) * values.len() as f64 * (1.0 - 1e-12)).ceil().max(1.0) as usize;
            prop_assert_eq!(got, values[rank - 1]);
        }
    }
}
