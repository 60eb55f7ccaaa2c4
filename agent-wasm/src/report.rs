//! `onMetric(callback)`: every metric the agent reports, handed to the page as
//! a web-vitals-shaped object `{name, value, delta, id, rating,
//! navigationType, attribution}` with the values the beacon carried.

use alloc::vec::Vec;
use core::cell::RefCell;

use js_sys::Function;
use serde::Serialize;
use vitals_core::wire::{Attribution, Field, MetricRecord};
use wasm_bindgen::prelude::*;

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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Metric<'a> {
    name: &'a str,
    value: f64,
    delta: f64,
    id: &'a str,
    rating: &'a str,
    navigation_type: &'a str,
    attribution: &'a Attribution,
}

/// Calls every callback with every metric of a beacon just sent. A callback
/// that throws is ignored (its exception is caught, not thrown into the page).
pub fn metrics(records: &[MetricRecord], navigation_type: &str) {
    // A copy: a callback may register another one.
    let callbacks = match CALLBACKS.0.try_borrow() {
        Ok(v) if !v.is_empty() => v.clone(),
        _ => return,
    };
    let empty = Attribution::default();
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    for r in records {
        let num = |f: &Option<Field>| match f {
            Some(Field::Num(x)) => *x,
            _ => r.value,
        };
        let m = Metric {
            name: &r.name,
            value: r.value,
            delta: num(&r.delta),
            id: &r.id,
            rating: match &r.rating {
                Some(Field::Str(s)) => s,
                _ => "",
            },
            navigation_type,
            attribution: match &r.attribution {
                Some(Field::Map(m)) => m,
                _ => &empty,
            },
        };
        let Ok(obj) = m.serialize(&ser) else {
            continue;
        };
        for f in &callbacks {
            let _ = f.call1(&JsValue::UNDEFINED, &obj);
        }
    }
}
