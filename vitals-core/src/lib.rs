//! Pure web-vitals logic shared by the wasm agent and the collector.
//!
//! No browser or server dependencies live here, so every rule (ratings, metric
//! names, the wire format's limits) is tested on the host and both sides agree on it.
//!
//! `no_std` (with `alloc`) unless the default `std` feature is on: the wasm agent
//! builds it without std to stay small. Collector-only code that needs std must
//! sit behind `#[cfg(feature = "std")]`.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod beacon;
pub mod cls;
pub mod inp;
pub mod json;
pub mod metric;
pub mod selector;
pub mod tti;

pub use metric::{MetricName, Rating};

/// Version of the beacon wire format (`"v"` field). Bumped only on breaking changes.
pub const WIRE_VERSION: u32 = 1;
