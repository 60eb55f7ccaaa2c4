//! StrRay Vitals browser agent.
//!
//! One export, [`start`], called by the loader (`agent.js`) with a plain config
//! object. It observes paint, LCP, layout-shift, event / first-input, longtask,
//! resource and navigation timing, computes FCP, LCP, CLS, FID, INP, TTFB, TTI
//! and TBT (metric math lives in `vitals-core`, tested on the host) and sends
//! beacon wire format v1 with `navigator.sendBeacon` (falling back to a
//! `keepalive` fetch) when the page is hidden or unloaded, and once TTI is known.
//!
//! The agent must never throw into the page: every browser call goes through
//! `sys` (which catches JS exceptions), state is borrowed with `try_borrow_mut`
//! (a re-entrant call is dropped, not a panic) and no code path indexes or
//! unwraps page data.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod agent;
mod dom;
mod sys;

use wasm_bindgen::prelude::*;

/// Starts the agent. `config` fields: `site` (string, required), `endpoint`
/// (absolute URL, required), `sampleRate` (number in (0, 1], default 1),
/// `release`, `route` (strings, optional), `respectPrivacy`, `softNavs` (bool,
/// opt-in SPA soft navigations), `cb` (the exported [`callback`], always set
/// by the loader: every listener and observer is it, bound). Does
/// nothing when a required field is missing, the page view is not sampled, or
/// privacy signals are respected and present. Calling it twice is a no-op.
#[wasm_bindgen]
pub fn start(config: JsValue) {
    agent::start(&config);
}

/// Every JS callback of the agent: the loader passes this function to
/// [`start`] as `config.cb`, and the agent binds it to a callback `code` and
/// number `x` (`e` is the event, entry list or frame time). Not for pages.
#[wasm_bindgen(js_name = cb)]
pub fn callback(code: u32, x: f64, e: JsValue) {
    agent::callback(code, x, &e);
}

/// Panics never happen on page data (nothing indexes or unwraps it); should one
/// happen anyway, trap without pulling in `core::fmt` (the loader's `try`
/// around `start` and the browser's callback isolation contain the trap).
#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
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
