//! The pure half of web-vitals' `getSelector` (metrics-spec §1.12); the agent
//! walks the DOM and feeds each node here, from the target up to the root.
//! Lengths count JS string units (UTF-16), and classes sort as JS sorts
//! strings, so the result equals web-vitals' own on every DOM.

use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;

/// Longest selector produced (web-vitals' limit, in UTF-16 units).
pub const MAX_SELECTOR_LEN: usize = 100;

/// Length in JS string units.
pub fn js_len(s: &str) -> usize {
    // One unit per character, two for one outside the BMP (a 4-byte UTF-8
    // sequence, lead byte 0xF0..): counted over bytes, without decoding.
    s.bytes()
        .map(|b| usize::from(b & 0xC0 != 0x80) + usize::from(b >= 0xF0))
        .sum()
}

/// JS `Array.prototype.sort` order for strings: by UTF-16 code units.
fn js_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// One step of a selector: `#id`, or the tag followed by the element's
/// classes (its classList: unique tokens) sorted and joined with `.`; for
/// non-element nodes the node name without a leading `#`. `node_name` comes
/// in web-vitals' case (JS `toLowerCase()` for elements, `toUpperCase()`
/// otherwise): the agent lets JS convert it, which spares the wasm Rust's
/// Unicode case tables.
pub fn step(node_name: &str, is_element: bool, id: &str, classes: &[String]) -> String {
    if is_element && !id.is_empty() {
        let mut s = String::with_capacity(id.len() + 1);
        s.push('#');
        s.push_str(id);
        return s;
    }
    if !is_element {
        return node_name.trim_start_matches('#').into();
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in classes {
        // A DOMTokenList has no empty or duplicate tokens; a hostile one might.
        if !c.is_empty() && !parts.contains(&c.as_str()) {
            parts.push(c);
        }
    }
    // Insertion sort: classes are few, and this keeps `slice::sort` out of wasm.
    // `get_mut` rather than indexing: no bounds-check panic in the wasm agent.
    for i in 1..parts.len() {
        let mut j = i;
        while j > 0 {
            match parts.get_mut(j - 1..=j) {
                Some([a, b]) if js_cmp(a, b) == Ordering::Greater => {
                    core::mem::swap(a, b);
                    j -= 1;
                }
                _ => break,
            }
        }
    }
    let mut s = String::from(node_name);
    for p in parts {
        s.push('.');
        s.push_str(p);
    }
    s
}

/// Accumulates steps from the target towards the root.
#[derive(Debug, Default)]
pub struct SelectorBuilder {
    sel: String,
    done: bool,
}

impl SelectorBuilder {
    pub fn new() -> SelectorBuilder {
        SelectorBuilder::default()
    }

    /// Prepends the next ancestor's step. Returns false when the walk should
    /// stop: the step was an `#id`, or adding it would reach the length limit
    /// (in which case it is not added, unless it is the very first step).
    pub fn push(&mut self, step: &str) -> bool {
        if self.done {
            return false;
        }
        let n = js_len(step);
        // web-vitals: `if (sel.length + part.length > 99) return sel || part`,
        // where `sel` holds the joined steps so far (with their `>`s).
        if js_len(&self.sel) + n > MAX_SELECTOR_LEN - 1 {
            if self.sel.is_empty() {
                self.sel.push_str(step);
            }
            self.done = true;
            return false;
        }
        if self.sel.is_empty() {
            self.sel.push_str(step);
        } else {
            let mut s = String::with_capacity(step.len() + 1 + self.sel.len());
            s.push_str(step);
            s.push('>');
            s.push_str(&self.sel);
            self.sel = s;
        }
        if step.starts_with('#') {
            self.done = true;
            return false;
        }
        true
    }

    pub fn finish(self) -> String {
        self.sel
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn js_len_counts_utf16_units() {
        for t in ["", "abc", "é", "€", "😀", "a😀€b\u{10FFFF}", "日本語"] {
            assert_eq!(js_len(t), t.encode_utf16().count(), "{t:?}");
        }
    }

    use super::*;
    use alloc::string::ToString;

    fn build(steps: &[&str]) -> String {
        let mut b = SelectorBuilder::new();
        for s in steps {
            if !b.push(s) {
                break;
            }
        }
        b.finish()
    }

    fn cls(s: &str) -> Vec<String> {
        s.split([' ', '\t', '\n', '\x0c', '\r'])
            .filter(|p| !p.is_empty())
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn steps_follow_web_vitals() {
        assert_eq!(step("img", true, "", &cls("foo bar")), "img.bar.foo");
        assert_eq!(step("div", true, "main", &cls("x")), "#main");
        assert_eq!(step("#TEXT", false, "", &[]), "TEXT");
        assert_eq!(step("p", true, "", &cls("  ")), "p");
        assert_eq!(step("div", true, "", &cls("b a b")), "div.a.b");
        assert_eq!(step("i", true, "", &cls("é\u{a0}x ü")), "i.é\u{a0}x.ü");
        // JS sorts by UTF-16 units: an astral character sorts before U+FF21.
        assert_eq!(
            step("b", true, "", &["\u{ff21}".into(), "\u{1f600}".into()]),
            "b.\u{1f600}.\u{ff21}"
        );
    }

    #[test]
    fn selectors_join_from_ancestor_to_descendant() {
        assert_eq!(
            build(&["img.bar.foo", "p", "main", "body", "html"]),
            "html>body>main>p>img.bar.foo"
        );
        assert_eq!(build(&["h1", "#content", "body", "html"]), "#content>h1");
    }

    #[test]
    fn selectors_stop_before_one_hundred_units() {
        let long = "d".repeat(60);
        let s = build(&["span", &long, &long, "html"]);
        assert_eq!(s, alloc::format!("{long}>span"));
        let huge = "x".repeat(150);
        assert_eq!(build(&[&huge, "body"]), huge);
        // Astral characters count two units each, as in JS.
        let wide = "😀".repeat(30);
        assert_eq!(build(&["a", &wide, &wide]), alloc::format!("{wide}>a"));
    }
}
