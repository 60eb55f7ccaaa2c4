//! Exception-safe access to browser APIs.
//!
//! Page data (entries, events, nodes) is read through `Reflect` (whose bindings
//! catch JS exceptions), so a missing API, a throwing getter or a page that
//! monkey-patched a global yields `undefined` instead of an exception thrown
//! into the page; web-sys lacks the LCP / layout-shift / event-timing entry
//! types anyway (toolchain.md pitfall 4). Observers and listeners are web-sys
//! values owned by the agent ([`Observer`], [`Listener`]).

use alloc::string::String;
use alloc::vec::Vec;

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// `o[k]`, or `undefined` if `o` is not an object or the getter throws.
#[inline(never)]
pub fn get(o: &JsValue, k: &str) -> JsValue {
    if !o.is_object() && !o.is_function() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(o, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
}

/// `o[k]` as a number, NaN if absent or not a number.
#[inline(never)]
pub fn num(o: &JsValue, k: &str) -> f64 {
    get(o, k).as_f64().unwrap_or(f64::NAN)
}

/// `o[k]` as a number, 0 if absent, not a number or not finite.
pub fn num0(o: &JsValue, k: &str) -> f64 {
    let v = num(o, k);
    if v.is_finite() { v } else { 0.0 }
}

/// `o[k]` if it is a string.
#[inline(never)]
pub fn string(o: &JsValue, k: &str) -> Option<String> {
    get(o, k).as_string()
}

/// `o[k] === true`.
#[inline(never)]
pub fn is_true(o: &JsValue, k: &str) -> bool {
    get(o, k).as_bool() == Some(true)
}

/// `o[k] === want` for a string `want` (one shared copy of the compare).
#[inline(never)]
pub fn str_is(o: &JsValue, k: &str, want: &str) -> bool {
    string(o, k).as_deref() == Some(want)
}

/// Sets `o[k] = v`, ignoring failures.
#[inline(never)]
pub fn set(o: &JsValue, k: &str, v: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(k), v);
}

/// A fresh plain object.
pub fn object() -> JsValue {
    Object::new().into()
}

/// `o[method](...args)`, or `undefined` if it is not a function or throws.
#[inline(never)]
pub fn call(o: &JsValue, method: &str, args: &[&JsValue]) -> JsValue {
    try_call(o, method, args).unwrap_or(JsValue::UNDEFINED)
}

/// `o[method](...args)`; `Err` if it is not a function or throws.
#[inline(never)]
pub fn try_call(o: &JsValue, method: &str, args: &[&JsValue]) -> Result<JsValue, JsValue> {
    let f = get(o, method)
        .dyn_into::<Function>()
        .map_err(|_| JsValue::UNDEFINED)?;
    apply(&f, o, args)
}

/// `f.apply(this, args)` through `Reflect.apply` (its exception as `Err`;
/// one import for every call the agent makes).
#[inline(never)]
pub fn apply(f: &Function, this: &JsValue, args: &[&JsValue]) -> Result<JsValue, JsValue> {
    let a = Array::new();
    for v in args {
        a.push(v);
    }
    Reflect::apply(f, this, &a)
}

/// `new globalThis[class](arg)` through `Reflect.construct` (no import of its
/// own); `undefined` if that throws.
pub fn construct(class: &str, arg: &JsValue) -> JsValue {
    let args = Array::new();
    args.push(arg);
    call(&g("Reflect"), "construct", &[&g(class), &args])
}

#[wasm_bindgen]
extern "C" {
    /// `globalThis`: every browser the agent supports has it, so js-sys's
    /// `global()` fallbacks (self / window / global: three more imports) are
    /// not needed.
    #[wasm_bindgen(thread_local_v2, js_name = globalThis)]
    static GLOBAL_THIS: JsValue;
}

/// The global object (`window`).
pub fn global() -> JsValue {
    GLOBAL_THIS.with(JsValue::clone)
}

/// `globalThis[k]`.
#[inline(never)]
pub fn g(k: &str) -> JsValue {
    get(&global(), k)
}

/// `performance.now()`, NaN without it.
pub fn now() -> f64 {
    call(&g("performance"), "now", &[])
        .as_f64()
        .unwrap_or(f64::NAN)
}

/// `Date.now()`.
pub fn date_now() -> f64 {
    js_sys::Date::now()
}

/// `Math.random()`.
pub fn random() -> f64 {
    js_sys::Math::random()
}

/// Items of an array-like value (empty if it is not an array).
#[inline(never)]
pub fn items(v: &JsValue) -> Vec<JsValue> {
    let Some(a) = v.dyn_ref::<Array>() else {
        return Vec::new();
    };
    // An index loop: smaller in wasm than collecting `ArrayIter`.
    let n = a.length();
    // `push` without `with_capacity`: the reserve path is code of its own.
    let mut out = Vec::new();
    for i in 0..n {
        out.push(a.get_unchecked(i));
    }
    out
}

/// `performance.getEntriesByType(t)`.
pub fn entries_by_type(t: &str) -> Vec<JsValue> {
    items(&call(
        &g("performance"),
        "getEntriesByType",
        &[&JsValue::from_str(t)],
    ))
}

/// An event listener (capture phase) that is removed when dropped.
pub struct Listener {
    target: web_sys::EventTarget,
    ty: &'static str,
    f: Function,
}

impl Listener {
    /// Adds `f` as a capture listener for `ty` on `target`; None if that fails.
    pub fn new(target: &JsValue, ty: &'static str, f: JsValue) -> Option<Listener> {
        // Unchecked (no `instanceof` import): targets are window / document,
        // and on anything else `addEventListener` throws, which is caught.
        if !target.is_object() {
            return None;
        }
        let target = target.unchecked_ref::<web_sys::EventTarget>().clone();
        let f = f.dyn_into::<Function>().ok()?;
        target
            .add_event_listener_with_callback_and_bool(ty, &f, true)
            .ok()?;
        Some(Listener { target, ty, f })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback_and_bool(self.ty, &self.f, true);
    }
}

/// A `PerformanceObserver` that is disconnected when dropped.
pub struct Observer(web_sys::PerformanceObserver);

impl Observer {
    /// `new PerformanceObserver(f).observe(init)`; None if either throws.
    pub fn new(f: JsValue, init: &JsValue) -> Option<Observer> {
        let f = f.dyn_into::<Function>().ok()?;
        let o = web_sys::PerformanceObserver::new(&f).ok()?;
        // `observe({type, buffered, durationThreshold})`: web-sys's init
        // dictionary lacks those members (toolchain.md pitfall 4).
        try_call(&o, "observe", &[init]).ok()?;
        Some(Observer(o))
    }

    /// Pending entries (`takeRecords()`).
    pub fn take_records(&self) -> Vec<JsValue> {
        items(&self.0.take_records())
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.0.disconnect();
    }
}

/// The agent's one JS callback: the module's own export `__strray_cb` (see
/// `lib.rs`) as the raw wasm function, which calls `agent::callback(code, x,
/// ...its arguments)`; each listener / observer / timer / proxy trap is it
/// bound to its code (`bind`). An export rather than a wasm-bindgen
/// `Closure`: nothing is leaked or needs a destructor, it may be re-entered
/// (a synchronous XHR's `loadend` inside the `send` trap, a page's
/// `onMetric` callback that clicks or fetches), and the closure machinery
/// (glue, table shims, destructor registry) is not in the agent (measured in
/// agent-wasm/METRICS.md).
pub fn callback_fn() -> JsValue {
    get(&wasm_bindgen::exports(), "__strray_cb")
}

/// `f.bind(null, a, x)`: a JS function calling `f(a, x, ...its arguments)`.
pub fn bind(f: &JsValue, a: u32, x: f64) -> JsValue {
    call(
        f,
        "bind",
        &[&JsValue::NULL, &JsValue::from(a), &JsValue::from_f64(x)],
    )
}

/// `setTimeout(f, ms)` for an existing JS function.
pub fn timeout_fn(ms: f64, f: &JsValue) {
    call(&global(), "setTimeout", &[f, &JsValue::from_f64(ms)]);
}

/// `document.visibilityState === 'hidden'`.
pub fn is_hidden() -> bool {
    str_is(&g("document"), "visibilityState", "hidden")
}

/// `document.prerendering === true`.
pub fn is_prerendering() -> bool {
    is_true(&g("document"), "prerendering")
}
