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

use crate::sys::{bind_value, call, global, now, set};

struct Global<T>(T);

// SAFETY: wasm32-unknown-unknown (built without the atomics feature) runs this
// module on a single thread, so the statics are never shared across threads.
#[allow(unsafe_code)]
unsafe impl<T> Sync for Global<T> {}

/// Start times of requests in flight (bounded: a page that never lets its
/// requests finish cannot grow it without limit).
static IN_FLIGHT: Global<RefCell<Vec<f64>>> = Global(RefCell::new(Vec::new()));
const MAX_IN_FLIGHT: usize = 1000;
/// The page's `fetch` before the wrap, and the request-done callback.
static ORIGINAL_FETCH: Global<OnceCell<JsValue>> = Global(OnceCell::new());
static DONE: Global<OnceCell<JsValue>> = Global(OnceCell::new());

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

fn untrack(t: f64) {
    if let Ok(mut v) = IN_FLIGHT.0.try_borrow_mut()
        && let Some(i) = v.iter().position(|&x| x == t)
    {
        v.swap_remove(i);
    }
}

/// `done.bind(null, t)`: untracks `t` when called.
fn done_for(t: f64) -> JsValue {
    DONE.0
        .get()
        .map_or(JsValue::UNDEFINED, |d| bind_value(d, &JsValue::from_f64(t)))
}

/// The page's own `fetch(...args)` (not counted as in flight).
pub fn fetch(args: &[&JsValue]) -> JsValue {
    match ORIGINAL_FETCH.0.get() {
        Some(f) => {
            let a = Array::new();
            for v in args {
                a.push(v);
            }
            f.dyn_ref::<Function>()
                .and_then(|f| Reflect::apply(f, &global(), &a).ok())
                .unwrap_or(JsValue::UNDEFINED)
        }
        None => call(&global(), "fetch", args),
    }
}

type Trap = dyn FnMut(JsValue, JsValue, JsValue) -> Result<JsValue, JsValue>;

/// `new Proxy(f, { apply: trap })`.
fn proxy(f: &JsValue, trap: Closure<Trap>) -> Option<JsValue> {
    let handler = Object::new();
    set(&handler, "apply", &trap.into_js_value());
    let f = f.dyn_ref::<Object>()?;
    Some(Proxy::new(f, &handler).into())
}

/// Wraps `fetch` and `XMLHttpRequest.prototype.send` (once per page: the
/// agent starts once). The wrappers live as long as the page.
pub fn wrap() {
    let _ = DONE
        .0
        .set(Closure::<dyn FnMut(f64)>::new(|t: f64| untrack(t)).into_js_value());
    let w = global();
    let f = crate::sys::get(&w, "fetch");
    if f.is_function() {
        let _ = ORIGINAL_FETCH.0.set(f.clone());
        let trap = Closure::<Trap>::new(|target: JsValue, this: JsValue, args: JsValue| {
            let t = now();
            let p = apply(&target, &this, &args)?;
            // A page's polyfill may return no promise: nothing in flight then.
            if crate::sys::get(&p, "then").is_function() {
                track(t);
                let d = done_for(t);
                call(&p, "then", &[&d, &d]);
            }
            Ok(p)
        });
        if let Some(p) = proxy(&f, trap) {
            set(&w, "fetch", &p);
        }
    }
    let proto = crate::sys::get(&crate::sys::get(&w, "XMLHttpRequest"), "prototype");
    let send = crate::sys::get(&proto, "send");
    if send.is_function() {
        let trap = Closure::<Trap>::new(|target: JsValue, this: JsValue, args: JsValue| {
            let t = now();
            let d = done_for(t);
            // Listen first: a synchronous request ends inside `send`.
            call(
                &this,
                "addEventListener",
                &[&JsValue::from_str("loadend"), &d],
            );
            track(t);
            match apply(&target, &this, &args) {
                Ok(v) => Ok(v),
                Err(e) => {
                    // Not sent (e.g. not opened): not in flight.
                    untrack(t);
                    call(
                        &this,
                        "removeEventListener",
                        &[&JsValue::from_str("loadend"), &d],
                    );
                    Err(e)
                }
            }
        });
        if let Some(p) = proxy(&send, trap) {
            set(&proto, "send", &p);
        }
    }
}

/// `Reflect.apply(target, this, args)`, its exception as `Err`.
fn apply(target: &JsValue, this: &JsValue, args: &JsValue) -> Result<JsValue, JsValue> {
    let f = target.dyn_ref::<Function>().ok_or(JsValue::UNDEFINED)?;
    let args = args.dyn_ref::<Array>().cloned().unwrap_or_default();
    Reflect::apply(f, this, &args)
}
