//! The pure half of web-vitals' `getSelector` (metrics-spec §1.12); the agent
//! walks the DOM and feeds each node here, from the target up to the root.

use alloc::string::String;
use alloc::vec::Vec;

/// Longest selector produced (web-vitals' limit).
pub const MAX_SELECTOR_LEN: usize = 100;

/// One step of a selector: `#id`, or the lower-cased tag followed by the
/// element's classes sorted and joined with `.`; for non-element nodes the
/// upper-cased node name without a leading `#` (e.g. `TEXT`).
pub fn step(node_name: &str, is_element: bool, id: &str, classes: &str) -> String {
    if is_element && !id.is_empty() {
        let mut s = String::with_capacity(id.len() + 1);
        s.push('#');
        s.push_str(id);
        return s;
    }
    if !is_element {
        return node_name.trim_start_matches('#').to_ascii_uppercase();
    }
    // A byte loop rather than `split_ascii_whitespace` (its iterator is ~0.2 KB
    // of wasm); splitting at ASCII bytes keeps every part on char boundaries.
    let mut parts: Vec<&str> = Vec::new();
    let mut start = 0;
    for (i, b) in classes.bytes().chain([b' ']).enumerate() {
        if b.is_ascii_whitespace() {
            if let Some(p) = classes.get(start..i).filter(|p| !p.is_empty()) {
                parts.push(p);
            }
            start = i + 1;
        }
    }
    // Insertion sort: classes are few, and this keeps `slice::sort` out of wasm.
    for i in 1..parts.len() {
        let mut j = i;
        while j > 0 && parts[j - 1] > parts[j] {
            parts.swap(j - 1, j);
            j -= 1;
        }
    }
    let mut s = node_name.to_ascii_lowercase();
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
        if self.sel.len() + step.len() > MAX_SELECTOR_LEN - 1 {
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
    use super::*;

    fn build(steps: &[&str]) -> String {
        let mut b = SelectorBuilder::new();
        for s in steps {
            if !b.push(s) {
                break;
            }
        }
        b.finish()
    }

    #[test]
    fn steps_follow_web_vitals() {
        assert_eq!(step("IMG", true, "", "foo bar"), "img.bar.foo");
        assert_eq!(step("DIV", true, "main", "x"), "#main");
        assert_eq!(step("#text", false, "", ""), "TEXT");
        assert_eq!(step("P", true, "", "  "), "p");
        assert_eq!(step("DIV", true, "", "\tb\n  a\x0cc\r"), "div.a.b.c");
        assert_eq!(step("I", true, "", "é\u{a0}x ü"), "i.é\u{a0}x.ü");
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
    fn selectors_stop_before_one_hundred_characters() {
        let long = "d".repeat(60);
        let s = build(&["span", &long, &long, "html"]);
        assert_eq!(s, format!("{long}>span"));
        assert!(s.len() < MAX_SELECTOR_LEN);
        let huge = "x".repeat(150);
        assert_eq!(build(&[&huge, "body"]), huge);
    }
}
