//! CSS selector of a DOM node, walking up to the document (metrics-spec §1.12).

use alloc::string::String;
use alloc::vec::Vec;

use js_sys::Function;
use vitals_core::selector::{SelectorBuilder, step};
use wasm_bindgen::{JsCast, JsValue};

use crate::sys::{apply, call, g, get, items, num, string};

/// Selector of `node`, empty for `null` / removed nodes; never throws (every
/// read goes through `Reflect`) and stops after 100 steps (a hostile cyclic
/// `parentNode` cannot hang the page).
pub fn selector(node: &JsValue) -> String {
    let mut b = SelectorBuilder::new();
    let mut n = node.clone();
    for _ in 0..100 {
        let ty = num(&n, "nodeType");
        if ty.is_nan() || ty == 9.0 {
            break;
        }
        let is_el = ty == 1.0;
        // JS case conversion, as web-vitals (and no Unicode tables in the wasm),
        // called through `String.prototype` (two imports fewer than js-sys's).
        let name = get(&n, "nodeName");
        let case = if is_el { "toLowerCase" } else { "toUpperCase" };
        let name = if name.is_string() {
            let f = get(&get(&g("String"), "prototype"), case);
            f.dyn_ref::<Function>()
                .and_then(|f| apply(f, &name, &[]).ok())
                .and_then(|v| v.as_string())
                .unwrap_or_default()
        } else {
            String::new()
        };
        let id = if is_el {
            string(&n, "id").unwrap_or_default()
        } else {
            String::new()
        };
        let mut classes = Vec::new();
        if is_el && id.is_empty() {
            // The element's classList, as web-vitals reads it (unique tokens).
            let list = call(&g("Array"), "from", &[&get(&n, "classList")]);
            for c in items(&list) {
                if let Some(c) = c.as_string() {
                    classes.push(c);
                }
            }
        }
        if !b.push(&step(&name, is_el, &id, &classes)) {
            break;
        }
        n = get(&n, "parentNode");
    }
    b.finish()
}
