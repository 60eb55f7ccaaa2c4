//! CSS selector of a DOM node, walking up to the document (metrics-spec §1.12).

use alloc::string::String;
use alloc::vec::Vec;

use vitals_core::selector::{SelectorBuilder, step};
use wasm_bindgen::{JsCast, JsValue};

use crate::sys::{call, g, get, items, num, string};

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
        // JS case conversion, as web-vitals (and no Unicode tables in the wasm).
        let name = match get(&n, "nodeName").dyn_into::<js_sys::JsString>() {
            Ok(s) if is_el => String::from(s.to_lower_case()),
            Ok(s) => String::from(s.to_upper_case()),
            Err(_) => String::new(),
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
