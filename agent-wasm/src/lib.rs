//! StrRay Vitals browser agent.
//!
//! [`start`] (called by the bootstrap with a plain options object) observes
//! paint, LCP, layout-shift, event / first-input, longtask, resource and
//! navigation timing, computes FCP, LCP, CLS, FID, INP, TTFB, TTI and TBT (the
//! metric math lives in `vitals-core`, tested on the host) and sends the
//! `vitals_core::wire::Beacon` with `navigator.sendBeacon` (falling back to a
//! `keepalive` fetch) when the page is hidden or unloaded, and once TTI is
//! known. [`on_metric`] hands each report to the page as well.
//!
//! The agent must never throw into the page: page data is read through
//! `Reflect` (which catches JS exceptions), state is borrowed with
//! `try_borrow_mut` (a re-entrant call is dropped, not a panic) and no code
//! path indexes or unwraps page data.

// Not `no_std`: serde-wasm-bindgen links std (its panic handler included).
extern crate alloc;

mod agent;
mod dom;
mod net;
mod report;
mod sys;

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** Options of `start` (the npm package's `init` takes the same, plus `sampleRate` handling and `wasmUrl`). */
export interface StartOptions {
  /** The site key the collector knows. */
  site: string;
  /** Absolute ingest URL. */
  endpoint: string;
  /** The sample rate this page view was drawn with, (0, 1]. Default 1. */
  sampleRate?: number;
  release?: string;
  route?: string;
  softNavs?: boolean;
}
/** One report, shaped like web-vitals' `Metric`. */
export interface Metric {
  name: 'FCP' | 'LCP' | 'FID' | 'CLS' | 'TTI' | 'INP' | 'TTFB' | 'TBT';
  value: number;
  delta: number;
  id: string;
  rating: 'good' | 'needs-improvement' | 'poor';
  navigationType: string;
  attribution: Record<string, string | number>;
}
"#;

/// Starts the agent once per page; returns whether it runs (false: already
/// running, or `options` lack `site` / `endpoint`). Sampling and privacy
/// signals are the caller's decision (the bootstrap makes it before the wasm
/// is fetched).
#[wasm_bindgen]
pub fn start(#[wasm_bindgen(unchecked_param_type = "StartOptions")] options: JsValue) -> bool {
    agent::start(options)
}

/// Calls `callback(metric)` for every metric the agent reports from now on.
#[wasm_bindgen(js_name = onMetric)]
pub fn on_metric(
    #[wasm_bindgen(unchecked_param_type = "(metric: Metric) => void")] callback: JsValue,
) {
    report::on_metric(callback);
}

/// Not API: the entry point of the agent's JS callbacks (listeners,
/// observers, timers, the fetch / XHR proxy traps), called through the raw
/// wasm export (`sys::callback_fn`). A trap's `Err` (the page's own call
/// threw) is rethrown unchanged, after every argument was released.
#[doc(hidden)]
#[wasm_bindgen(js_name = "__strray_cb", skip_typescript)]
pub fn callback(code: u32, x: f64, a: JsValue, b: JsValue, c: JsValue) -> JsValue {
    let r = agent::callback(code, x, &a, &b, &c);
    drop((a, b, c));
    match r {
        Ok(v) => v,
        Err(e) => wasm_bindgen::throw_val(e),
    }
}

/// The selector the agent would report for `node` (test builds only: see the
/// `test-exports` feature).
#[cfg(feature = "test-exports")]
#[wasm_bindgen(js_name = selectorOf)]
pub fn selector_of(node: JsValue) -> String {
    dom::selector(&node)
}

/// wasm32 without threads: there is exactly one thread, so the allocator's
/// single-threaded assumption holds.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
#[allow(unsafe_code)]
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    // SAFETY: wasm32-unknown-unknown (built without the atomics feature) runs
    // this module on a single thread.
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };
