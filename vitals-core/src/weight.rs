//! Page weight from the field: Lighthouse's resource types, how one Resource
//! Timing entry is classified and counted, and the shape of the `WEIGHT`
//! record the agent sends once per page view.
//!
//! # Wire shape
//! A metric record named `WEIGHT` whose `value` is the page view's compressed
//! weight in bytes (the sum of `encodedBodySize` over the document and every
//! resource up to the first hide) and whose `attribution` is
//! ```json
//! {"types": {"script": {"transfer": 0, "encoded": 0, "decoded": 0, "requests": 0, "unknown": 0}, …},
//!  "hosts": {"cdn.example": {…same five…}, "*": {…hosts past the first 16…}},
//!  "heap": 123456, "memory": 234567, "incomplete": 1}
//! ```
//! `types` has an entry for each type with at least one request, `hosts` one
//! per host (first come; after [`MAX_HOSTS`], all others are summed under
//! [`OTHER_HOSTS`]). `unknown` counts requests whose sizes the browser hides
//! (cross-origin without `Timing-Allow-Origin`): they add to `requests` but
//! not to the byte sums, which therefore never count them as 0 bytes.
//! `heap` (optional) is Chromium's `performance.memory.usedJSHeapSize` at the
//! first hide; `memory` (optional) is `performance.measureUserAgentSpecificMemory()`'s
//! `bytes` on a cross-origin isolated page, if it resolved by then; `incomplete` (optional) says the browser's resource buffer was
//! full before the agent started, so entries may be missing.

/// Lighthouse's resource types that a request can have (`total` and
/// `third-party` are derived from these and the hosts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceType {
    Document,
    Script,
    Stylesheet,
    Image,
    Media,
    Font,
    Other,
}

/// Hosts listed one by one in a `WEIGHT` record; the rest are summed as [`OTHER_HOSTS`].
pub const MAX_HOSTS: usize = 16;
/// The host key under which hosts past [`MAX_HOSTS`] are summed.
pub const OTHER_HOSTS: &str = "*";
/// The quantities of each type and host entry, in wire order.
/// The agent adds a request's three sizes to the first three, in this order.
pub const QUANTITIES: [&str; 5] = ["transfer", "encoded", "decoded", "requests", "unknown"];

impl ResourceType {
    pub const ALL: [ResourceType; 7] = [
        ResourceType::Document,
        ResourceType::Script,
        ResourceType::Stylesheet,
        ResourceType::Image,
        ResourceType::Media,
        ResourceType::Font,
        ResourceType::Other,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ResourceType::Document => "document",
            ResourceType::Script => "script",
            ResourceType::Stylesheet => "stylesheet",
            ResourceType::Image => "image",
            ResourceType::Media => "media",
            ResourceType::Font => "font",
            ResourceType::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<ResourceType> {
        ResourceType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The type of a Resource Timing entry, as Lighthouse would file the
    /// request: navigations and frames are documents, fetch/XHR are "other"
    /// (Lighthouse's summary does the same), then the response's MIME type
    /// (`contentType`, Chromium 129+) when it says, then the initiator, then
    /// the URL path's extension: the first of [`RULES`] that matches.
    pub fn classify(initiator: &str, content_type: &str, url: &str) -> ResourceType {
        let path = url.get(..until(url, b"?#")).unwrap_or(url);
        // The last path segment's extension (none if that segment has no dot).
        let b = path.as_bytes();
        let ext = match b.iter().rposition(|&c| c == b'.' || c == b'/') {
            Some(i) if b.get(i) == Some(&b'.') => b.get(i + 1..).unwrap_or(&[]),
            _ => &[],
        };
        for rule in RULES.as_bytes().split(|&c| c == b' ') {
            let (Some(&kind), Some(&ty), Some(p)) = (rule.first(), rule.get(1), rule.get(2..))
            else {
                continue;
            };
            let hit = match kind {
                b'I' => p == initiator.as_bytes(),
                b'M' => content_type.as_bytes().starts_with(p),
                _ => !ext.is_empty() && p.eq_ignore_ascii_case(ext),
            };
            if let Some(&t) = hit
                .then(|| Self::ALL.get(usize::from(ty.wrapping_sub(b'0'))))
                .flatten()
            {
                return t;
            }
        }
        ResourceType::Other
    }
}

/// How a request's type is found: rules in order, the first match wins. Each
/// rule is `<kind><type><pattern>`: kind `I` = the initiator is the pattern,
/// `M` = the MIME type starts with it, `E` = the URL's extension is it (ASCII
/// case ignored); type = an index into [`ResourceType::ALL`] (0 document,
/// 1 script, 2 stylesheet, 3 image, 4 media, 5 font, 6 other). One packed
/// string and one loop rather than tables of `(&str, type)`: the agent is
/// built from this, and each table entry's pointer, length and padding took
/// 12 bytes of wasm data besides the text (agent-wasm/METRICS.md).
/// `application/octet-stream`, `text/plain` and an empty type say nothing, so
/// no MIME rule matches them and the next rules decide.
pub const RULES: &str = concat!(
    // Initiators that decide the type whatever the response is.
    "I0navigation I0iframe I0frame I6fetch I6xmlhttprequest I6beacon I6ping ",
    // MIME type prefixes.
    "M1text/javascript M1application/javascript M1application/x-javascript ",
    "M1text/ecmascript M1application/ecmascript M2text/css M3image/ M5font/ ",
    "M5application/font- M5application/x-font- M4video/ M4audio/ M0text/html ",
    "M0application/xhtml+xml M6application/json M6application/wasm ",
    // Initiators, when the MIME type said nothing.
    "I1script I3img I3image I3imageset I3input I4video I4audio I4track ",
    // The URL path's extension.
    "E1js E1mjs E1cjs E2css E3png E3jpg E3jpeg E3gif E3webp E3avif E3svg E3ico ",
    "E5woff2 E5woff E5ttf E5otf E4mp4 E4webm E4mp3 E4m3u8 E0html E0htm",
);

/// First index of a byte of `set` in `s`, or `s.len()` (byte positions: the
/// agent is built from this file, and char-pattern searches and their slicing
/// panics cost it ~1 KB).
fn until(s: &str, set: &[u8]) -> usize {
    s.bytes().position(|b| set.contains(&b)).unwrap_or(s.len())
}

/// Whether a request's sizes are hidden from the page: `[transfer,
/// encoded, decoded]` all 0 and no `responseStart`, as for a cross-origin
/// response without `Timing-Allow-Origin`. Such a request is counted as
/// unknown, never as 0 bytes (a cache hit has `encoded` > 0, an empty 204 a
/// `responseStart`).
pub fn is_hidden(sizes: [f64; 3], response_start: f64) -> bool {
    sizes.iter().all(|x| !(x.is_finite() && *x > 0.0))
        && !(response_start.is_finite() && response_start > 0.0)
}

#[cfg(test)]
mod tests {
    use super::ResourceType::{Document, Font, Image, Media, Other, Script, Stylesheet};
    use super::*;

    #[test]
    fn every_rule_is_well_formed() {
        for rule in RULES.split(' ') {
            let b = rule.as_bytes();
            assert!(b.len() > 2, "{rule:?}");
            assert!(matches!(b[0], b'I' | b'M' | b'E'), "{rule:?}");
            assert!((b'0'..=b'6').contains(&b[1]), "{rule:?}");
        }
        // The index order the rules' type digits rely on.
        assert_eq!(ResourceType::ALL[0], Document);
        assert_eq!(ResourceType::ALL[6], Other);
    }

    #[test]
    fn classifies_like_lighthouse() {
        assert_eq!(
            ResourceType::classify("navigation", "text/html", "https://a/"),
            Document
        );
        assert_eq!(
            ResourceType::classify("iframe", "", "https://a/f"),
            Document
        );
        assert_eq!(
            ResourceType::classify("fetch", "text/javascript", "https://a/x.js"),
            Other
        );
        assert_eq!(
            ResourceType::classify("xmlhttprequest", "", "https://a/x.png"),
            Other
        );
        assert_eq!(
            ResourceType::classify("link", "text/javascript", "https://a/x"),
            Script
        );
        assert_eq!(
            ResourceType::classify("link", "", "https://a/app.MJS?v=1#x"),
            Script
        );
        assert_eq!(
            ResourceType::classify("link", "text/css", "https://a/x.js"),
            Stylesheet
        );
        assert_eq!(ResourceType::classify("css", "", "https://a/f.woff2"), Font);
        assert_eq!(
            ResourceType::classify("css", "font/woff2", "https://a/f"),
            Font
        );
        assert_eq!(
            ResourceType::classify("css", "", "https://a/bg.webp"),
            Image
        );
        assert_eq!(ResourceType::classify("img", "", "https://a/pixel"), Image);
        assert_eq!(
            ResourceType::classify("script", "", "https://a/loader"),
            Script
        );
        assert_eq!(
            ResourceType::classify("script", "application/json", "https://a/x.js"),
            Other
        );
        assert_eq!(ResourceType::classify("video", "", "https://a/v"), Media);
        assert_eq!(
            ResourceType::classify("other", "audio/mpeg", "https://a/v"),
            Media
        );
        assert_eq!(
            ResourceType::classify("other", "", "https://a/v.m3u8"),
            Media
        );
        assert_eq!(
            ResourceType::classify("other", "", "https://a/dir.js/file"),
            Other
        );
        assert_eq!(
            ResourceType::classify("other", "text/plain", "https://a/x.css"),
            Stylesheet
        );
        assert_eq!(ResourceType::classify("other", "", ""), Other);
    }

    #[test]
    fn hidden_sizes_are_unknown_not_zero() {
        assert!(!is_hidden([1300.0, 1000.0, 4000.0], 12.0));
        assert!(is_hidden([0.0, 0.0, 0.0], 0.0)); // cross-origin, no Timing-Allow-Origin
        assert!(!is_hidden([0.0, 500.0, 900.0], 3.0)); // from the HTTP cache
        assert!(!is_hidden([300.0, 0.0, 0.0], 5.0)); // an empty 204
        assert!(!is_hidden([0.0, 0.0, 0.0], 5.0)); // an empty 204 from the cache
        assert!(is_hidden([f64::NAN, -1.0, f64::INFINITY], f64::NAN)); // nonsense
    }

    #[test]
    fn type_names_round_trip() {
        for t in ResourceType::ALL {
            assert_eq!(ResourceType::parse(t.as_str()), Some(t));
        }
        assert_eq!(ResourceType::parse("total"), None);
    }
}
