//! Coverage-guided fuzzing of the untrusted-input boundary: the beacon parser
//! and validator must return Ok or a typed error for any bytes, never panic,
//! and whatever they accept must be storable (checks in `domain::fuzz_check`,
//! which `collector/tests/fuzz_corpus.rs` also runs over the corpus in CI).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    collector::domain::fuzz_check(data);
});
