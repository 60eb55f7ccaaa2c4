//! TTI (tti-polyfill) needs the start times of the page's fetch / XHR requests
//! still in flight, which resource timing only shows once they finish: the
//! agent puts a `Proxy` around `fetch` and `XMLHttpRequest.prototype.send`
//! whose `apply` trap calls the original with the same `this` and arguments
//! and returns its result, or rethrows its exception unchanged (a call that
//! throws was not sent and is not counted).

use alloc::vec::Vec;
use core::cell::{OnceCell, RefCell};

use js_sys::{Array, Function, Object, Proxy, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::sys::{call, global, now, set};

struct Global<T>(T);

// SAFETY: wasm32-unknown-unknown (built without the atomics feature) runs this
// module on a single thread, so the statics are never shared across threads.
#[allow(unsafe_code)]
unsafe impl<T> Sync for Global<T> {}

/// Start times of requests in flight (bounded: a page that never lets its
/// requests finish cannot grow it without limit).
static IN_FLIGHT: Global<RefCell<Vec<f64>>> = Global(RefCell::new(Vec::new()));
const MAX_IN_FLIGHT: usize = 1000;
/// The page's `fetch` before the wrap.
static ORIGINAL_FETCH: Global<OnceCell<JsValue>> = Global(OnceCell::new());

/// Start times of the requests in flight now.
pub fn in_flight() -> Vec<f64> {
    IN_FLIGHT
        .0
        .try_borrow()
        .map(|v| v.clone())
        .unwrap_or_default()
}

fn track(t: f64) {
    if let Ok(mut v) = IN_FLIGHT.0.try_borrow_mut()
        && v.len() < MAX_IN_FLIGHT
    {
        v.push(t);
    }
}

/// A request started at `t` ended (the agent's `Cb::Untrack` callback).
pub fn untrack(t: f64) {
    if let Ok(mut v) = IN_FLIGHT.0.try_borrow_mut()
        && let Some(i) = v.iter().position(|&x| x == t)
    {
        v.swap_remove(i);
    }
}

/// A JS function that untracks `t` when called: the agent's one callback
/// bound to `Cb::Untrack` (no closure type of its own).
fn done_for(t: f64) -> JsValue {
    crate::agent::untrack_cb(t)
}

/// The page's own `fetch(...args)` (not counted as in flight).
pub fn fetch(args: &[&JsValue]) -> JsValue {
    match ORIGINAL_FETCH.0.get() {
        Some(f) => f
            .dyn_ref::<Function>()
            .and_then(|f| crate::sys::apply(f, &global(), args).ok())
            .unwrap_or(JsValue::UNDEFINED),
        None => call(&global(), "fetch", args),
    }
}

/// `new Proxy(f, { apply: trap })`.
fn proxy(f: &JsValue, trap: &JsValue) -> Option<JsValue> {
    let handler = Object::new();
    set(&handler, "apply", trap);
    // Callers checked `is_function()`: no `instanceof Object` import needed.
    Some(Proxy::new(f.unchecked_ref::<Object>(), &handler).into())
}

/// Wraps `fetch` and `XMLHttpRequest.prototype.send` (once per page: the
/// agent starts once). The wrappers live as long as the page. Their traps are
/// the agent's one callback bound to `Cb::FetchTrap` / `Cb::SendTrap`.
pub fn wrap(fetch_trap: &JsValue, send_trap: &JsValue) {
    let w = global();
    let f = crate::sys::get(&w, "fetch");
    if f.is_function() {
        let _ = ORIGINAL_FETCH.0.set(f.clone());
        if let Some(p) = proxy(&f, fetch_trap) {
            set(&w, "fetch", &p);
        }
    }
    let proto = crate::sys::get(&crate::sys::get(&w, "XMLHttpRequest"), "prototype");
    let send = crate::sys::get(&proto, "send");
    if send.is_function()
        && let Some(p) = proxy(&send, send_trap)
    {
        set(&proto, "send", &p);
    }
}

/// The fetch proxy's `apply` trap: the page's call, counted while in flight.
pub fn fetch_trap(target: &JsValue, this: &JsValue, args: &JsValue) -> Result<JsValue, JsValue> {
    let t = now();
    let p = apply(target, this, args)?;
    // A page's polyfill may return no promise: nothing in flight then.
    if crate::sys::get(&p, "then").is_function() {
        track(t);
        let d = done_for(t);
        call(&p, "then", &[&d, &d]);
    }
    Ok(p)
}

/// The XHR `send` proxy's `apply` trap.
pub fn send_trap(target: &JsValue, this: &JsValue, args: &JsValue) -> Result<JsValue, JsValue> {
    let t = now();
    let d = done_for(t);
    // Listen first: a synchronous request ends inside `send`.
    call(
        this,
        "addEventListener",
        &[&JsValue::from_str("loadend"), &d],
    );
    track(t);
    apply(target, this, args).inspect_err(|_| {
        // Not sent (e.g. not opened): not in flight.
        untrack(t);
        call(
            this,
            "removeEventListener",
            &[&JsValue::from_str("loadend"), &d],
        );
    })
}

/// `Reflect.apply(target, this, args)`, its exception as `Err`.
fn apply(target: &JsValue, this: &JsValue, args: &JsValue) -> Result<JsValue, JsValue> {
    let f = target.dyn_ref::<Function>().ok_or(JsValue::UNDEFINED)?;
    let args = args.dyn_ref::<Array>().cloned().unwrap_or_default();
    Reflect::apply(f, this, &args)
}
