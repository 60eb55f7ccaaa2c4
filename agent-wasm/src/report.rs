//! `onMetric(callback)`: every metric the agent reports, handed to the page as
//! a web-vitals-shaped object `{name, value, delta, id, rating,
//! navigationType, attribution}`: the beacon's own metric objects (as
//! serde-wasm-bindgen built them, so the page sees exactly what was sent)
//! plus `navigationType`.

use alloc::vec::Vec;
use core::cell::RefCell;

use js_sys::Function;
use wasm_bindgen::prelude::*;

use crate::sys::{apply, get, items, object, set};

struct Global<T>(T);

// SAFETY: wasm32-unknown-unknown (built without the atomics feature) runs this
// module on a single thread, so the static is never shared across threads.
#[allow(unsafe_code)]
unsafe impl<T> Sync for Global<T> {}

/// Most callbacks kept (a page registering one per render cannot grow it forever).
const MAX_CALLBACKS: usize = 32;
static CALLBACKS: Global<RefCell<Vec<Function>>> = Global(RefCell::new(Vec::new()));

/// Registers `f` (ignored if it is not a function).
pub fn on_metric(f: JsValue) {
    if let Ok(f) = f.dyn_into::<Function>()
        && let Ok(mut v) = CALLBACKS.0.try_borrow_mut()
        && v.len() < MAX_CALLBACKS
    {
        v.push(f);
    }
}

/// Calls every callback with every metric object of a beacon just sent. A
/// callback that throws is ignored (caught, not thrown into the page).
pub fn metrics(records: &JsValue, navigation_type: &str) {
    // A copy: a callback may register another one.
    let callbacks = match CALLBACKS.0.try_borrow() {
        Ok(v) if !v.is_empty() => v.clone(),
        _ => return,
    };
    let nav = JsValue::from_str(navigation_type);
    for m in items(records) {
        set(&m, "navigationType", &nav);
        // A beacon cut to its size limit carries no attribution.
        if !get(&m, "attribution").is_object() {
            set(&m, "attribution", &object());
        }
        for f in &callbacks {
            let _ = apply(f, &JsValue::UNDEFINED, &[&m]);
        }
    }
}
