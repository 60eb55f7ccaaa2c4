//! CSS selector of a DOM node, walking up to the document (metrics-spec §1.12).

use alloc::string::String;

use vitals_core::selector::{SelectorBuilder, step};
use wasm_bindgen::JsValue;

use crate::sys::{call, get, num, string};

/// Selector of `node`, empty for `null` / removed nodes.
pub fn selector(node: &JsValue) -> String {
    let mut b = SelectorBuilder::new();
    let mut n = node.clone();
    // Bounded walk: the 100-character limit stops it long before this.
    for _ in 0..100 {
        let ty = num(&n, "nodeType");
        if ty.is_nan() || ty == 9.0 {
            break;
        }
        let is_el = ty == 1.0;
        let name = string(&n, "nodeName").unwrap_or_default();
        let (id, class) = if is_el {
            (
                string(&n, "id").unwrap_or_default(),
                call(&n, "getAttribute", &[&JsValue::from_str("class")])
                    .as_string()
                    .unwrap_or_default(),
            )
        } else {
            (String::new(), String::new())
        };
        if !b.push(&step(&name, is_el, &id, &class)) {
            break;
        }
        n = get(&n, "parentNode");
    }
    b.finish()
}
