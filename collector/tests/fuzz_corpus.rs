//! The fuzz corpus (`collector/fuzz/corpus/beacon`) replayed as an ordinary
//! test, with the fuzz target's own checks: every CI run covers the inputs the
//! fuzzer kept, without a nightly toolchain or cargo-fuzz.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

#[test]
fn the_fuzz_corpus_replays_without_a_failed_invariant() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/beacon");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        collector::domain::fuzz_check(&data);
        n += 1;
    }
    assert!(n > 0, "the corpus at {} is empty", dir.display());
}
