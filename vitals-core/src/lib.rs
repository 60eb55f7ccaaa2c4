//! Pure web-vitals logic shared by the wasm agent and the collector.
//!
//! No browser or server dependencies live here, so every rule (CLS session
//! windows, INP selection, the TTI search, ratings, metric names) is tested on
//! the host and agent and collector agree on it. The wasm agent (`agent-wasm`)
//! calls it directly; `wire` is the beacon type both sides (de)serialize.
//!
//! `no_std` (with `alloc`) unless the default `std` feature is on: the wasm agent
//! builds it without std to stay small. Collector-only code that needs std must
//! sit behind `#[cfg(feature = "std")]`.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod cls;
pub mod inp;
pub mod metric;
pub mod selector;
pub mod tti;
pub mod weight;
pub mod wire;

pub use metric::{MetricName, Rating, Unit};

/// Version of the beacon wire format (`"v"` field). Bumped only on breaking changes.
pub const WIRE_VERSION: u32 = 1;
