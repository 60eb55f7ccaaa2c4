//! The fixed, mergeable histogram behind the rollups. Pure code.
//!
//! Buckets are log-spaced with ratio [`GAMMA`] = 1.02: bucket `b ≥ 1` holds
//! scaled values in `[GAMMA^(b-1), GAMMA^b)`, bucket 0 everything below 1.
//! Values are scaled first: milliseconds as they are (1 ms resolution floor),
//! CLS × 10 000 (0.0001 floor). A bucket is reported as its geometric midpoint,
//! so a percentile read from a histogram is within `sqrt(1.02) - 1 ≈ 0.995 %`
//! of the exact weighted nearest-rank percentile (values in bucket 0 read as 0).
//!
//! The same definition lives in SQL: `strray_hist_bucket()` in
//! migrations/postgres and the `hist_bucket` lookup table in migrations/sqlite
//! (SQLite is built without `ln()`). Only SQL assigns buckets to stored rows;
//! Rust maps bucket indices back to values and merges histograms.

/// Ratio between consecutive bucket bounds.
pub const GAMMA: f64 = 1.02;
/// Highest bucket index; larger values are clamped into it (3.6e6 ms is bucket 758).
pub const MAX_BUCKET: i32 = 1000;
/// Worst-case relative error of a percentile read from a histogram:
/// sqrt(GAMMA) - 1 = 0.0099504…, reached by a value on a bucket's lower bound
/// (rounded up: 0.00995 was below it and failed for a value of exactly 1 ms).
pub const MAX_RELATIVE_ERROR: f64 = 0.009_951;

/// Multiplier applied before bucketing: CLS is unitless and small.
pub fn scale(metric: &str) -> f64 {
    if metric == "CLS" { 10_000.0 } else { 1.0 }
}

/// Bucket of `value` for `metric` (the Rust twin of `strray_hist_bucket`).
pub fn bucket_index(metric: &str, value: f64) -> i32 {
    let x = value * scale(metric);
    if !x.is_finite() && x > 0.0 {
        return MAX_BUCKET;
    }
    if x.is_nan() || x < 1.0 {
        return 0;
    }
    let b = 1.0 + (x.ln() / GAMMA.ln()).floor();
    (b as i32).min(MAX_BUCKET)
}

/// Lower and upper bound of a bucket, in the metric's unit.
pub fn bucket_bounds(metric: &str, bucket: i32) -> (f64, f64) {
    let s = scale(metric);
    if bucket <= 0 {
        return (0.0, 1.0 / s);
    }
    let b = f64::from(bucket);
    (GAMMA.powf(b - 1.0) / s, GAMMA.powf(b) / s)
}

/// The value a bucket stands for: its geometric midpoint (0 for bucket 0).
pub fn bucket_value(metric: &str, bucket: i32) -> f64 {
    if bucket <= 0 {
        return 0.0;
    }
    GAMMA.powf(f64::from(bucket) - 0.5) / scale(metric)
}

/// Weighted nearest-rank percentile `p` (0–100) of a histogram given as
/// `(bucket, weight)` pairs in any order, duplicates allowed (merged here).
/// Returns the bucket index holding the percentile, None when empty.
pub fn percentile_bucket(buckets: &[(i32, f64)], p: f64) -> Option<i32> {
    let mut merged: Vec<(i32, f64)> = buckets
        .iter()
        .copied()
        .filter(|(_, w)| w.is_finite())
        .collect();
    merged.sort_unstable_by_key(|(b, _)| *b);
    merged.dedup_by(|next, kept| {
        if next.0 == kept.0 {
            kept.1 += next.1;
            true
        } else {
            false
        }
    });
    // Rollups subtract re-sent rows; tiny float residues are not data.
    merged.retain(|(_, w)| *w > 1e-9);
    let total: f64 = merged.iter().map(|(_, w)| w).sum();
    if total <= 0.0 {
        return None;
    }
    let target = total * (p / 100.0).clamp(0.0, 1.0);
    let mut acc = 0.0;
    for (b, w) in &merged {
        acc += w;
        // Same tolerance as budget::weighted_percentile, so equal weights hit exact ranks.
        if acc >= target * (1.0 - 1e-12) {
            return Some(*b);
        }
    }
    merged.last().map(|(b, _)| *b)
}

/// Percentile value of a merged histogram (see [`percentile_bucket`]).
pub fn percentile(metric: &str, buckets: &[(i32, f64)], p: f64) -> Option<f64> {
    percentile_bucket(buckets, p).map(|b| bucket_value(metric, b))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::budget::weighted_percentile;
    use crate::storage::Sample;
    use proptest::prelude::*;

    #[test]
    fn bucket_bounds_contain_their_values() {
        for &(m, v) in &[
            ("LCP", 1.0),
            ("LCP", 2500.0),
            ("LCP", 1_234_567.0),
            ("CLS", 0.1),
            ("CLS", 0.0001),
            ("INP", 199.99),
        ] {
            let b = bucket_index(m, v);
            let (lo, hi) = bucket_bounds(m, b);
            assert!(
                lo <= v * (1.0 + 1e-12) && v < hi * (1.0 + 1e-12),
                "{m} {v} in {b}"
            );
        }
        assert_eq!(bucket_index("FID", 0.0), 0);
        assert_eq!(bucket_index("FID", 0.4), 0);
        assert_eq!(bucket_index("CLS", 0.00005), 0);
        assert_eq!(bucket_index("LCP", f64::NAN), 0);
        assert_eq!(bucket_index("LCP", f64::INFINITY), MAX_BUCKET);
        assert!(bucket_index("TTI", 3_600_000.0) < MAX_BUCKET);
        assert!(bucket_index("CLS", 100.0) < MAX_BUCKET);
    }

    #[test]
    fn percentile_merges_duplicates_and_ignores_order() {
        let h = [(10, 1.0), (5, 1.0), (10, 1.0), (7, 1.0)];
        // Sorted weights: 5:1, 7:1, 10:2 → p75 target 3 falls in bucket 10.
        assert_eq!(percentile_bucket(&h, 75.0), Some(10));
        assert_eq!(percentile_bucket(&h, 25.0), Some(5));
        assert_eq!(percentile_bucket(&[], 75.0), None);
        // A bucket emptied by re-sent rows (weight 1 − 1) does not count.
        assert_eq!(
            percentile_bucket(&[(3, 1.0), (3, -1.0), (9, 2.0)], 1.0),
            Some(9)
        );
    }

    #[test]
    fn a_value_on_a_bucket_lower_bound_is_within_the_stated_error() {
        // The worst case: 1 ms is bucket 1's lower bound, read as its midpoint.
        let approx = percentile("LCP", &[(bucket_index("LCP", 1.0), 1.0)], 75.0).unwrap();
        assert!((approx - 1.0).abs() <= MAX_RELATIVE_ERROR, "{approx}");
        assert!((GAMMA.sqrt() - 1.0) <= MAX_RELATIVE_ERROR);
    }

    proptest! {
        /// The histogram percentile is the bucket of the exact weighted
        /// nearest-rank percentile, hence within MAX_RELATIVE_ERROR of it.
        #[test]
        fn histogram_percentile_is_within_one_percent(
            values in prop::collection::vec((1.0f64..200_000.0, 1u32..20), 1..300),
            p in 1.0f64..99.0,
            cls in any::<bool>(),
        ) {
            let metric = if cls { "CLS" } else { "LCP" };
            let div = if cls { 10_000.0 } else { 1.0 };
            let samples: Vec<Sample> = values.iter().map(|&(v, inv)| Sample { value: v / div, weight: f64::from(inv) }).collect();
            let exact = weighted_percentile(&samples, p).unwrap();
            let hist: Vec<(i32, f64)> = samples.iter().map(|s| (bucket_index(metric, s.value), s.weight)).collect();
            let approx = percentile(metric, &hist, p).unwrap();
            prop_assert!((approx - exact).abs() <= exact * MAX_RELATIVE_ERROR + 1e-12, "{approx} vs {exact}");
        }

        #[test]
        fn bucket_value_maps_back_into_its_bucket(b in 1i32..MAX_BUCKET, cls in any::<bool>()) {
            let metric = if cls { "CLS" } else { "TTFB" };
            prop_assert_eq!(bucket_index(metric, bucket_value(metric, b)), b);
        }
    }
}
