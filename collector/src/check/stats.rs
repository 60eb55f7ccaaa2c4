//! Distribution-free statistics for field percentiles: shares per rating bin
//! and an order-statistic confidence interval (the binomial method).

use serde::{Deserialize, Serialize};
use vitals_core::{MetricName, Rating};

use crate::budget::weighted_percentile;
use crate::storage::Sample;

/// Share of (weighted) page views per rating bin, as CrUX reports them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shares {
    pub good: f64,
    pub needs_improvement: f64,
    pub poor: f64,
}

pub fn shares(metric: MetricName, samples: &[Sample]) -> Option<Shares> {
    let (mut g, mut ni, mut p) = (0.0, 0.0, 0.0);
    for s in samples
        .iter()
        .filter(|s| s.weight.is_finite() && s.weight > 0.0)
    {
        match metric.rate(s.value) {
            Rating::Good => g += s.weight,
            Rating::NeedsImprovement => ni += s.weight,
            Rating::Poor => p += s.weight,
        }
    }
    let total = g + ni + p;
    (total > 0.0).then(|| Shares {
        good: g / total,
        needs_improvement: ni / total,
        poor: p / total,
    })
}

/// A confidence interval for a percentile. `None` bounds are unbounded: too
/// few samples to bracket the percentile from that side.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub level: f64,
}

/// 1-based ranks `(l, u)` of the order statistics with
/// P(X₍ₗ₎ ≤ ξₚ < X₍ᵤ₎) ≥ `level` for the `p`-quantile (p in (0, 1)) of `n`
/// independent samples. The number of samples below ξₚ is Binomial(n, p), so
/// the coverage is F(u−1) − F(l−1); each tail gets at most (1 − level)/2.
pub fn quantile_rank_interval(n: u64, p: f64, level: f64) -> (Option<u64>, Option<u64>) {
    if n == 0 {
        return (None, None);
    }
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let tail = (1.0 - level) / 2.0;
    // CDF by accumulating the pmf in log space: (1-p)^n underflows for large n.
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    let mut log_pmf = n as f64 * lq;
    let mut cdf = 0.0;
    let mut low = None;
    let mut high = None;
    for k in 0..n {
        // Here F(k) = P(B ≤ k), which decides rank k + 1.
        cdf += log_pmf.exp();
        let rank = k + 1;
        if cdf <= tail {
            low = Some(rank);
        }
        if high.is_none() && cdf >= 1.0 - tail {
            high = Some(rank);
            break;
        }
        log_pmf += ((n - k) as f64).ln() - ((k + 1) as f64).ln() + lp - lq;
    }
    (low, high)
}

/// The interval for the weighted `percentile` (0–100] of `samples`: ranks come
/// from the unweighted count; each rank r maps to the value where the
/// cumulative weight reaches r/n of the total. Exact for equal weights; with
/// sampling weights it is an approximation that keeps the same coverage idea.
pub fn percentile_interval(samples: &[Sample], percentile: f64, level: f64) -> Interval {
    let n = samples.len() as u64;
    let (l, u) = quantile_rank_interval(n, percentile / 100.0, level);
    let at = |r: u64| weighted_percentile(samples, 100.0 * r as f64 / n as f64);
    Interval {
        low: l.and_then(at),
        high: u.and_then(at),
        level,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn median_of_100_has_the_textbook_ranks() {
        // The classic table value: ranks 40 and 61 for n = 100, 95 %.
        assert_eq!(quantile_rank_interval(100, 0.5, 0.95), (Some(40), Some(61)));
    }

    #[test]
    fn coverage_is_at_least_the_level() {
        for n in [20u64, 57, 200, 1000] {
            let (l, u) = quantile_rank_interval(n, 0.75, 0.95);
            let (l, u) = (l.unwrap(), u.unwrap());
            assert!(l < u && u <= n, "n={n}: {l}..{u}");
            // Recompute coverage directly from the pmf.
            let pmf = |k: u64| {
                let mut lg = 0.0;
                for i in 0..k {
                    lg += ((n - i) as f64).ln() - ((i + 1) as f64).ln();
                }
                (lg + k as f64 * 0.75f64.ln() + (n - k) as f64 * 0.25f64.ln()).exp()
            };
            let cover: f64 = (l..u).map(pmf).sum();
            assert!(cover >= 0.95 - 1e-9, "n={n}: coverage {cover}");
        }
    }

    #[test]
    fn few_samples_leave_a_side_unbounded() {
        // 3 samples cannot bracket p75 from above at 95 %: P(all 3 below p75)
        // = 0.42. From below the minimum works: P(none below) = 0.016 ≤ 0.025.
        assert_eq!(quantile_rank_interval(3, 0.75, 0.95), (Some(1), None));
        // 1 sample: P(it is below p75) = 0.75, no bound either side.
        assert_eq!(quantile_rank_interval(1, 0.75, 0.95), (None, None));
        let s: Vec<Sample> = (1..=3)
            .map(|v| Sample {
                value: v as f64,
                weight: 1.0,
            })
            .collect();
        let i = percentile_interval(&s, 75.0, 0.95);
        assert_eq!((i.low, i.high), (Some(1.0), None));
    }

    #[test]
    fn interval_brackets_the_percentile_on_equal_weights() {
        let s: Vec<Sample> = (1..=100)
            .map(|v| Sample {
                value: v as f64,
                weight: 1.0,
            })
            .collect();
        let i = percentile_interval(&s, 50.0, 0.95);
        assert_eq!((i.low, i.high), (Some(40.0), Some(61.0)));
    }

    #[test]
    fn shares_are_weighted() {
        let s = [
            Sample {
                value: 1000.0,
                weight: 1.0,
            },
            Sample {
                value: 3000.0,
                weight: 1.0,
            },
            Sample {
                value: 5000.0,
                weight: 2.0,
            },
        ];
        let sh = shares(MetricName::Lcp, &s).unwrap();
        assert_eq!((sh.good, sh.needs_improvement, sh.poor), (0.25, 0.25, 0.5));
        assert_eq!(shares(MetricName::Lcp, &[]), None);
    }
}
