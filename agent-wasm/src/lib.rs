//! StrRay Vitals browser agent: the wasm metric kernel.
//!
//! The agent is split where each side is smallest: `agent-wasm/js/core.js`
//! observes the page (performance observers, listeners, DOM selectors) and
//! sends beacons; this module does the metric math on plain numbers — CLS
//! session windows and their largest shift, INP's interaction grouping,
//! ~p98 selection and input-delay / processing / presentation split, the
//! tti-polyfill search and TBT, and the web-vitals ratings — all from
//! `vitals-core`, where they are unit- and property-tested on the host.
//!
//! The interface is raw wasm exports of numbers (no wasm-bindgen: no JS glue,
//! no externref table, no string passing). Strings stay in JS; the kernel
//! holds an INP entry's name and target as the caller's `u32` handles (0: none). Results beyond the
//! return value are read with `o(slot)` (see [`Out`]). Nothing here can trap
//! on page data: values are plain `f64`s, lists are bounded, and a re-entrant
//! call finds the state borrowed and does nothing.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::vec::Vec;
use core::cell::RefCell;

use vitals_core::MetricName;
use vitals_core::cls::Cls;
use vitals_core::inp::{EventEntry, InteractionCounter, InteractionManager};
use vitals_core::tti;

/// Most long-task / resource intervals kept for TTI.
const MAX_INTERVALS: usize = 1000;

/// Secondary results, read with `o(Out::X as u32)` after the call that sets them.
#[derive(Clone, Copy)]
enum Out {
    /// `C`: start time of the worst window's largest shift.
    ShiftTime,
    /// `i`: INP split.
    InputDelay,
    Processing,
    Presentation,
    /// `i`: handles of the interaction's target and first event name.
    InpTarget,
    InpName,
    /// `t`: TBT once TTI is found, else ms until the next check is worth it.
    TbtOrNext,
}

#[derive(Default)]
struct Kernel {
    cls: Cls,
    inp: InteractionManager,
    counter: InteractionCounter,
    long_tasks: Vec<(f64, f64)>,
    requests: Vec<(f64, f64)>,
    in_flight: Vec<f64>,
    out: [f64; 7],
}

/// The kernel's one instance.
struct Global<T>(T);

// SAFETY: wasm32-unknown-unknown (built without the atomics feature) runs this
// module on a single thread, so the static is never shared across threads.
#[allow(unsafe_code)]
unsafe impl<T> Sync for Global<T> {}

static STATE: Global<RefCell<Option<Kernel>>> = Global(RefCell::new(None));

/// Runs `f` on the kernel; a re-entrant call gets `R::default()`.
fn with<R: Default>(f: impl FnOnce(&mut Kernel) -> R) -> R {
    match STATE.0.try_borrow_mut() {
        Ok(mut k) => f(k.get_or_insert_with(Kernel::default)),
        Err(_) => R::default(),
    }
}

fn interaction_id(id: f64) -> u64 {
    if id >= 1.0 { id as u64 } else { 0 }
}

/// Exports: one letter each (their names are bytes in both files), a wrapper
/// per `vitals-core` call. `#[unsafe(export_name)]` is the attribute that
/// makes a function a wasm export; the functions themselves are safe.
#[allow(unsafe_code)]
mod exports {
    use super::*;

    /// New set of metrics (bfcache restore, soft navigation): CLS and INP
    /// restart; long tasks and requests stay (TTI belongs to the page load).
    #[unsafe(export_name = "r")]
    pub extern "C" fn reset() {
        with(|k| {
            k.cls = Cls::new();
            k.inp.clear();
            k.counter.clear();
        });
    }

    /// A `layout-shift` entry. Returns 1 when it became the largest shift of
    /// the current window: the caller then keeps its target's selector, which
    /// names the worst window's largest shift whenever `C` reports a new CLS.
    #[unsafe(export_name = "c")]
    pub extern "C" fn shift(start: f64, value: f64, recent_input: u32) -> u32 {
        with(|k| {
            let mut largest = 0;
            k.cls.add_to_window(start, value, recent_input != 0, || {
                largest = 1;
                0
            });
            largest
        })
    }

    /// End of an observer batch of shifts: the new CLS, or -1 if unchanged
    /// (`ShiftTime` is then the time of the current window's largest shift).
    #[unsafe(export_name = "C")]
    pub extern "C" fn shift_batch_end() -> f64 {
        with(|k| {
            if !k.cls.end_batch() {
                return -1.0;
            }
            if let Some(l) = k.cls.largest_shift() {
                k.out[Out::ShiftTime as usize] = l.time;
            }
            k.cls.value()
        })
    }

    /// Whether an event entry would be kept (so its target's selector is needed).
    #[unsafe(export_name = "w")]
    pub extern "C" fn would_consider(id: f64, duration: f64) -> u32 {
        with(|k| u32::from(k.inp.would_consider(interaction_id(id), duration)))
    }

    /// An `event` / `first-input` entry, with handles for its name and target.
    #[unsafe(export_name = "e")]
    pub extern "C" fn event(
        id: f64,
        start: f64,
        duration: f64,
        processing_start: f64,
        processing_end: f64,
        name: u32,
        target: u32,
    ) {
        with(|k| {
            let interaction_id = interaction_id(id);
            k.counter.observe(interaction_id);
            k.inp.add(EventEntry {
                interaction_id,
                start,
                duration,
                processing_start,
                processing_end,
                name,
                target,
            });
        });
    }

    /// INP for `count` interactions (NaN: the kernel's own count of distinct
    /// ids): the latency, or -1 with no candidate (`-2` then if interactions
    /// were counted at all); the split in the `Out` slots.
    #[unsafe(export_name = "i")]
    pub extern "C" fn inp(count: f64) -> f64 {
        with(|k| {
            let n = if count.is_finite() {
                count.max(0.0) as u64
            } else {
                k.counter.count()
            };
            let Some(c) = k.inp.candidate(n) else {
                return if n > 0 { -2.0 } else { -1.0 };
            };
            let b = k.inp.breakdown(c);
            k.out[Out::InputDelay as usize] = b.input_delay;
            k.out[Out::Processing as usize] = b.processing;
            k.out[Out::Presentation as usize] = b.presentation;
            k.out[Out::InpTarget as usize] = f64::from(b.target);
            k.out[Out::InpName as usize] = f64::from(b.event_type);
            c.latency
        })
    }

    /// A long task (`kind` 0) or a finished request (`kind` 1), `[start, end]`.
    #[unsafe(export_name = "l")]
    pub extern "C" fn interval(kind: u32, start: f64, end: f64) {
        with(|k| {
            let v = if kind == 0 {
                &mut k.long_tasks
            } else {
                &mut k.requests
            };
            if v.len() < MAX_INTERVALS {
                v.push((start, end));
            }
        });
    }

    /// The start time of a request still in flight, for the next `t` call only.
    #[unsafe(export_name = "f")]
    pub extern "C" fn in_flight(start: f64) {
        with(|k| k.in_flight.push(start));
    }

    /// tti-polyfill's decision at `now` (metrics-spec §10.2): TTI, with TBT in
    /// `TbtOrNext`; or -1 with the delay before the next check worth making.
    /// `nav_end`: the navigation response end (> 0), a finished request.
    #[unsafe(export_name = "t")]
    pub extern "C" fn tti(fcp: f64, min_value: f64, now: f64, nav_end: f64) -> f64 {
        with(|k| {
            let with_nav = nav_end > 0.0;
            if with_nav {
                k.requests.push((0.0, nav_end));
            }
            let busy = tti::last_known_network_busy(&k.in_flight, &k.requests, now);
            if with_nav {
                k.requests.pop();
            }
            k.in_flight.clear();
            match tti::decide(fcp, min_value, busy, now, &k.long_tasks) {
                Some(t) => {
                    k.out[Out::TbtOrNext as usize] =
                        tti::total_blocking_time(&k.long_tasks, fcp, t);
                    t
                }
                None => {
                    let last = k.long_tasks.iter().map(|t| t.1).fold(fcp, f64::max);
                    k.out[Out::TbtOrNext as usize] =
                        (busy.max(last) + tti::QUIET_WINDOW_MS - now).clamp(1000.0, 10_000.0);
                    -1.0
                }
            }
        })
    }

    /// Rating of `value` for metric `m` (`MetricName::ALL` order): 0 good,
    /// 1 needs improvement, 2 poor (web-vitals thresholds, shared with the
    /// collector through `vitals-core`).
    #[unsafe(export_name = "g")]
    pub extern "C" fn rating(m: u32, value: f64) -> u32 {
        MetricName::ALL
            .get(m as usize)
            .map_or(0, |m| m.rate(value) as u32)
    }

    /// A secondary result (see `Out`).
    #[unsafe(export_name = "o")]
    pub extern "C" fn out(slot: u32) -> f64 {
        with(|k| k.out.get(slot as usize).copied().unwrap_or(0.0))
    }
}

/// Panics never happen on page data (nothing indexes or unwraps it); should one
/// happen anyway, trap without pulling in `core::fmt` (the JS side's `try`
/// contains the trap).
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
