//! Pure web-vitals logic shared by the wasm agent and the collector.
//!
//! No browser or server dependencies live here, so every rule (CLS session
//! windows, INP selection, the TTI search, ratings, metric names) is tested on
//! the host and agent and collector agree on it. The agent's wasm kernel
//! (`agent-wasm`) runs the metric math; its JS half (`agent-wasm/js`) observes
//! the page and writes the beacon.
//!
//! `no_std` (with `alloc`) unless the default `std` feature is on: the wasm agent
//! builds it without std to stay small. Collector-only code that needs std must
//! sit behind `#[cfg(feature = "std")]`.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod cls;
pub mod inp;
pub mod metric;
pub mod tti;

pub use metric::{MetricName, Rating};

/// Version of the beacon wire format (`"v"` field). Bumped only on breaking changes.
pub const WIRE_VERSION: u32 = 1;
