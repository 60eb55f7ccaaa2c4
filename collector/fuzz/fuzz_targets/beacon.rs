//! Coverage-guided fuzzing of the untrusted-input boundary: the beacon parser
//! and validator must return Ok or a typed error for any bytes, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = collector::domain::parse_beacon(data, 32) {
        // Whatever is accepted satisfies the invariants storage relies on.
        assert!(!b.metrics.is_empty() && b.metrics.len() <= 32);
        assert!(b.sample_rate > 0.0 && b.sample_rate <= 1.0);
        for m in &b.metrics {
            assert!(m.value.is_finite() && m.value >= 0.0);
            assert!(m.delta.is_finite());
        }
        let route = collector::domain::normalise_route(&b.path);
        assert!(route.starts_with('/'));
    }
});
