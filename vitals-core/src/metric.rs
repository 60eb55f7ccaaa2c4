//! Metric names, units and the web-vitals rating thresholds.

/// Every metric the agent reports. The wire name is the upper-case abbreviation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MetricName {
    Fcp,
    Lcp,
    Fid,
    Cls,
    Tti,
    Inp,
    Ttfb,
    /// Total blocking time between FCP and TTI (field heuristic, like TTI).
    Tbt,
    /// The page view's compressed weight in bytes, with the breakdown by
    /// resource type and host in its attribution (see [`crate::weight`]).
    Weight,
}

/// What a metric's values measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Ms,
    /// CLS: a unitless score.
    Score,
    Bytes,
}

impl Unit {
    pub const fn as_str(self) -> &'static str {
        match self {
            Unit::Ms => "ms",
            Unit::Score => "score",
            Unit::Bytes => "bytes",
        }
    }
}

/// A page view's rating for one metric, as web-vitals computes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rating {
    Good,
    NeedsImprovement,
    Poor,
}

impl Rating {
    pub const fn as_str(self) -> &'static str {
        match self {
            Rating::Good => "good",
            Rating::NeedsImprovement => "needs-improvement",
            Rating::Poor => "poor",
        }
    }
}

impl MetricName {
    pub const ALL: [MetricName; 9] = [
        MetricName::Fcp,
        MetricName::Lcp,
        MetricName::Fid,
        MetricName::Cls,
        MetricName::Tti,
        MetricName::Inp,
        MetricName::Ttfb,
        MetricName::Tbt,
        MetricName::Weight,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            MetricName::Fcp => "FCP",
            MetricName::Lcp => "LCP",
            MetricName::Fid => "FID",
            MetricName::Cls => "CLS",
            MetricName::Tti => "TTI",
            MetricName::Inp => "INP",
            MetricName::Ttfb => "TTFB",
            MetricName::Tbt => "TBT",
            MetricName::Weight => "WEIGHT",
        }
    }

    /// Parses the wire name; exact, case-sensitive match as web-vitals sends it.
    pub fn parse(s: &str) -> Option<MetricName> {
        MetricName::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// CLS is a unitless score (rounded to 1e-6 on the wire); WEIGHT is
    /// bytes; everything else is milliseconds.
    pub const fn is_unitless(self) -> bool {
        matches!(self, MetricName::Cls)
    }

    pub const fn unit(self) -> Unit {
        match self {
            MetricName::Cls => Unit::Score,
            MetricName::Weight => Unit::Bytes,
            _ => Unit::Ms,
        }
    }

    /// A timing (everything but CLS and WEIGHT): what `timings` budgets judge.
    pub const fn is_timing(self) -> bool {
        matches!(self.unit(), Unit::Ms)
    }

    /// (good ≤, poor >) thresholds. FCP..TTFB follow web-vitals; TTI uses
    /// Lighthouse's colour bands (3.8 s / 7.3 s); TBT uses Lighthouse's mobile
    /// bands (200 ms / 600 ms); WEIGHT uses the control points of
    /// Lighthouse's total-byte-weight score (2 667 KiB / 4 000 KiB).
    pub const fn thresholds(self) -> (f64, f64) {
        match self {
            MetricName::Fcp => (1800.0, 3000.0),
            MetricName::Lcp => (2500.0, 4000.0),
            MetricName::Fid => (100.0, 300.0),
            MetricName::Cls => (0.1, 0.25),
            MetricName::Tti => (3800.0, 7300.0),
            MetricName::Inp => (200.0, 500.0),
            MetricName::Ttfb => (800.0, 1800.0),
            MetricName::Tbt => (200.0, 600.0),
            MetricName::Weight => (2667.0 * 1024.0, 4000.0 * 1024.0),
        }
    }

    /// A value exactly on a threshold falls in the better bucket (web-vitals rule).
    pub fn rate(self, value: f64) -> Rating {
        let (good, poor) = self.thresholds();
        if value > poor {
            Rating::Poor
        } else if value > good {
            Rating::NeedsImprovement
        } else {
            Rating::Good
        }
    }

    /// Largest value accepted from the field; anything above is a broken clock
    /// or a background tab, not a user experience (product.md, item 9).
    pub const fn max_plausible(self) -> f64 {
        match self {
            MetricName::Cls => 100.0,
            // 10 GB: a page view that loaded more is a measuring error.
            MetricName::Weight => 1e10,
            _ => 3_600_000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in MetricName::ALL {
            assert_eq!(MetricName::parse(m.as_str()), Some(m));
        }
        assert_eq!(MetricName::parse("lcp"), None);
        assert_eq!(MetricName::parse(""), None);
    }

    #[test]
    fn threshold_values_fall_in_the_better_bucket() {
        assert_eq!(MetricName::Lcp.rate(2500.0), Rating::Good);
        assert_eq!(MetricName::Lcp.rate(2500.1), Rating::NeedsImprovement);
        assert_eq!(MetricName::Lcp.rate(4000.0), Rating::NeedsImprovement);
        assert_eq!(MetricName::Lcp.rate(4000.1), Rating::Poor);
        assert_eq!(MetricName::Cls.rate(0.1), Rating::Good);
        assert_eq!(MetricName::Cls.rate(0.25), Rating::NeedsImprovement);
        assert_eq!(MetricName::Cls.rate(0.26), Rating::Poor);
        assert_eq!(MetricName::Inp.rate(200.0), Rating::Good);
        assert_eq!(MetricName::Fid.rate(300.0), Rating::NeedsImprovement);
    }
}
