//! Cumulative Layout Shift with session windows (metrics-spec §6).
//!
//! A session window groups shifts that are less than 1000 ms apart and span less
//! than 5000 ms from the window's first shift (both bounds strict, comparing
//! entry `startTime`s). CLS is the largest window sum seen so far.
//!
//! Two ways to feed entries: [`Cls::add`] compares the window with the maximum
//! after *every* entry (the true maximum window), while [`Cls::add_to_window`] +
//! [`Cls::end_batch`] compare once per *observer batch*, exactly as web-vitals
//! does — a batch holding several windows (the buffered replay of a late-loaded
//! script) then only offers its last window. The agent uses the batch form for
//! parity with web-vitals; on pages where each batch holds one window — the
//! usual case — the two agree.

/// The largest single shift of a window, for attribution.
#[derive(Clone, Debug, PartialEq)]
pub struct LargestShift {
    /// The shift's `value`.
    pub value: f64,
    /// The shift's `startTime`.
    pub time: f64,
    /// The caller's handle for the shift's target (its selector stays in JS).
    pub target: u32,
}

#[derive(Clone, Debug, Default)]
struct Window {
    sum: f64,
    first: f64,
    last: f64,
    largest: Option<LargestShift>,
}

/// Running CLS state for one page view.
#[derive(Clone, Debug, Default)]
pub struct Cls {
    current: Option<Window>,
    value: f64,
    worst_largest: Option<LargestShift>,
}

/// Gap after the previous shift that starts a new window (ms).
pub const SESSION_GAP_MS: f64 = 1000.0;
/// Maximum span of one window from its first shift (ms).
pub const SESSION_CAP_MS: f64 = 5000.0;

impl Cls {
    pub fn new() -> Cls {
        Cls::default()
    }

    /// Current CLS: the largest window sum (0 before any shift). Never negative.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// The largest shift of the worst window, if there was any shift.
    pub fn largest_shift(&self) -> Option<&LargestShift> {
        self.worst_largest.as_ref()
    }

    /// Adds one `layout-shift` entry. Entries with `had_recent_input` and
    /// non-finite or negative values are ignored. `target` is only called when
    /// the entry becomes the largest shift of its window, so the (DOM-walking)
    /// selector is computed at most once per such entry. Returns true when the
    /// CLS value changed.
    pub fn add(
        &mut self,
        start: f64,
        value: f64,
        had_recent_input: bool,
        target: impl FnOnce() -> u32,
    ) -> bool {
        self.add_to_window(start, value, had_recent_input, target) && self.end_batch()
    }

    /// Like [`Cls::add`] but without comparing the window with the maximum:
    /// call [`Cls::end_batch`] after the last entry of an observer batch.
    /// Returns whether the entry was counted.
    pub fn add_to_window(
        &mut self,
        start: f64,
        value: f64,
        had_recent_input: bool,
        target: impl FnOnce() -> u32,
    ) -> bool {
        if had_recent_input || !start.is_finite() || !value.is_finite() || value < 0.0 {
            return false;
        }
        let window = match &mut self.current {
            Some(w) if start - w.last < SESSION_GAP_MS && start - w.first < SESSION_CAP_MS => {
                w.sum += value;
                w.last = start;
                w
            }
            _ => self.current.insert(Window {
                sum: value,
                first: start,
                last: start,
                largest: None,
            }),
        };
        // Ties go to the later entry (web-vitals attribution rule).
        if window.largest.as_ref().is_none_or(|l| value >= l.value) {
            window.largest = Some(LargestShift {
                value,
                time: start,
                target: target(),
            });
        }
        true
    }

    /// End of an observer batch: the current window becomes the CLS value if
    /// it is larger. Returns true when the value changed.
    pub fn end_batch(&mut self) -> bool {
        match &self.current {
            Some(w) if w.sum > self.value => {
                self.value = w.sum;
                self.worst_largest = w.largest.clone();
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cls_of(entries: &[(f64, f64)]) -> f64 {
        let mut c = Cls::new();
        for &(t, v) in entries {
            c.add(t, v, false, || 0);
        }
        c.value()
    }

    #[test]
    fn per_batch_comparison_only_offers_the_last_window_like_web_vitals() {
        // One batch holding a large window and, 2 s later, a small one.
        let mut c = Cls::new();
        c.add_to_window(100.0, 0.3, false, || 0);
        c.add_to_window(2100.0, 0.1, false, || 0);
        assert!(c.end_batch());
        assert!((c.value() - 0.1).abs() < 1e-12, "{}", c.value());
        // Per-entry comparison finds the true maximum.
        let v = cls_of(&[(100.0, 0.3), (2100.0, 0.1)]);
        assert!((v - 0.3).abs() < 1e-12, "{v}");
    }

    #[test]
    fn an_empty_batch_changes_nothing() {
        let mut c = Cls::new();
        assert!(!c.end_batch());
        assert_eq!(c.value(), 0.0);
    }

    #[test]
    fn no_shifts_is_zero() {
        assert_eq!(Cls::new().value(), 0.0);
        assert!(Cls::new().largest_shift().is_none());
    }

    #[test]
    fn shifts_within_one_second_share_a_window() {
        let v = cls_of(&[(100.0, 0.1), (1099.0, 0.05)]);
        assert!((v - 0.15).abs() < 1e-12, "{v}");
    }

    #[test]
    fn a_gap_of_exactly_one_second_starts_a_new_window() {
        let v = cls_of(&[(100.0, 0.1), (1100.0, 0.05)]);
        assert!((v - 0.1).abs() < 1e-12, "{v}");
    }

    #[test]
    fn a_window_is_capped_at_five_seconds() {
        // 0, 900, ..., 4500 are in one window; 5400 starts a new one.
        let entries: Vec<(f64, f64)> = (0..7).map(|i| (f64::from(i) * 900.0, 0.1)).collect();
        let v = cls_of(&entries);
        assert!((v - 0.6).abs() < 1e-9, "{v}");
    }

    #[test]
    fn shifts_after_recent_input_are_ignored() {
        let mut c = Cls::new();
        assert!(!c.add(10.0, 0.5, true, || 9));
        assert_eq!(c.value(), 0.0);
    }

    #[test]
    fn the_maximum_window_wins_even_if_it_is_not_the_last() {
        let v = cls_of(&[(0.0, 0.3), (2000.0, 0.1), (2500.0, 0.1)]);
        assert!((v - 0.3).abs() < 1e-12, "{v}");
    }

    #[test]
    fn attribution_names_the_largest_shift_of_the_worst_window() {
        let mut c = Cls::new();
        c.add(0.0, 0.05, false, || 1);
        c.add(3000.0, 0.2, false, || 2);
        c.add(3100.0, 0.1, false, || 3);
        let l = c.largest_shift().cloned();
        assert_eq!(
            l,
            Some(LargestShift {
                value: 0.2,
                time: 3000.0,
                target: 2
            })
        );
    }

    #[test]
    fn the_target_closure_is_only_called_for_a_new_largest_shift() {
        let mut c = Cls::new();
        c.add(0.0, 0.2, false, || 1);
        c.add(10.0, 0.1, false, || panic!("must not be computed"));
        assert_eq!(c.largest_shift().map(|l| l.target), Some(1));
    }

    #[test]
    fn non_finite_and_negative_values_are_ignored() {
        assert_eq!(
            cls_of(&[(0.0, f64::NAN), (1.0, -1.0), (f64::INFINITY, 0.2)]),
            0.0
        );
    }

    /// Brute force: every entry starts a candidate window that extends while
    /// the gap and cap rules hold; windows as the browser forms them are among
    /// these, and every prefix of a real window is dominated by the window.
    fn brute_force(entries: &[(f64, f64)]) -> f64 {
        // Form windows the simple way, then take the max sum.
        let mut best = 0.0f64;
        let mut i = 0;
        while i < entries.len() {
            let (first, v0) = entries[i];
            let mut sum = v0;
            let mut last = first;
            let mut j = i + 1;
            while j < entries.len()
                && entries[j].0 - last < SESSION_GAP_MS
                && entries[j].0 - first < SESSION_CAP_MS
            {
                sum += entries[j].1;
                last = entries[j].0;
                j += 1;
            }
            best = best.max(sum);
            i = j;
        }
        best
    }

    fn sorted_entries() -> impl Strategy<Value = Vec<(f64, f64)>> {
        proptest::collection::vec((0u32..1500, 0u32..1000), 0..60).prop_map(|gaps| {
            let mut t = 0.0;
            gaps.into_iter()
                .map(|(gap, v)| {
                    t += f64::from(gap);
                    (t, f64::from(v) / 1000.0)
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn value_equals_the_brute_force_maximum_window(entries in sorted_entries()) {
            let v = cls_of(&entries);
            let b = brute_force(&entries);
            prop_assert!((v - b).abs() < 1e-9, "{} vs {}", v, b);
        }

        #[test]
        fn value_is_never_negative_and_never_decreases(entries in sorted_entries()) {
            let mut c = Cls::new();
            let mut prev = 0.0;
            for (t, v) in entries {
                c.add(t, v, false, || 0);
                prop_assert!(c.value() >= prev);
                prev = c.value();
            }
            prop_assert!(c.value() >= 0.0);
        }

        #[test]
        fn the_worst_window_largest_shift_is_at_most_the_value(entries in sorted_entries()) {
            let mut c = Cls::new();
            for (t, v) in entries {
                c.add(t, v, false, || 0);
            }
            if let Some(l) = c.largest_shift() {
                prop_assert!(l.value <= c.value() + 1e-12);
            }
        }
    }
}
