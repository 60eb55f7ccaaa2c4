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
//!  "heap": 123456, "incomplete": 1}
//! ```
//! `types` has an entry for each type with at least one request, `hosts` one
//! per host (first come; after [`MAX_HOSTS`], all others are summed under
//! [`OTHER_HOSTS`]). `unknown` counts requests whose sizes the browser hides
//! (cross-origin without `Timing-Allow-Origin`): they add to `requests` but
//! not to the byte sums, which therefore never count them as 0 bytes.
//! `heap` (optional) is Chromium's `performance.memory.usedJSHeapSize` at the
//! first hide; `incomplete` (optional) says the browser's resource buffer was
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
    /// the URL path's extension.
    pub fn classify(initiator: &str, content_type: &str, url: &str) -> ResourceType {
        use ResourceType::*;
        match initiator {
            "navigation" | "iframe" | "frame" => return Document,
            "fetch" | "xmlhttprequest" | "beacon" | "ping" => return Other,
            _ => {}
        }
        if let Some(t) = by_mime(content_type) {
            return t;
        }
        match initiator {
            "script" => return Script,
            "img" | "image" | "imageset" | "input" => return Image,
            "video" | "audio" | "track" => return Media,
            _ => {}
        }
        by_extension(url)
    }
}

fn by_mime(m: &str) -> Option<ResourceType> {
    use ResourceType::*;
    Some(if m.contains("javascript") || m.contains("ecmascript") {
        Script
    } else if m == "text/css" {
        Stylesheet
    } else if m.starts_with("image/") {
        Image
    } else if m.starts_with("font/") || m.contains("font-") {
        Font
    } else if m.starts_with("video/") || m.starts_with("audio/") {
        Media
    } else if m == "text/html" || m == "application/xhtml+xml" {
        Document
    } else if m.is_empty() || m == "application/octet-stream" || m == "text/plain" {
        // Says nothing about what the bytes are for.
        return None;
    } else {
        Other
    })
}

fn by_extension(url: &str) -> ResourceType {
    use ResourceType::*;
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let path = url.get(..end).unwrap_or(url);
    // The last path segment's extension (none if the last segment has no dot).
    let last = path.rsplit('/').next().unwrap_or(path);
    let ext = match last.rsplit_once('.') {
        Some((_, e)) => e,
        None => return Other,
    };
    let is = |list: &[&str]| list.iter().any(|x| x.eq_ignore_ascii_case(ext));
    if is(&["js", "mjs", "cjs"]) {
        Script
    } else if is(&["css"]) {
        Stylesheet
    } else if is(&[
        "png", "jpg", "jpeg", "gif", "webp", "avif", "svg", "ico", "bmp", "apng",
    ]) {
        Image
    } else if is(&["woff2", "woff", "ttf", "otf", "eot"]) {
        Font
    } else if is(&[
        "mp4", "webm", "mp3", "ogg", "ogv", "oga", "m4a", "m4v", "wav", "mov", "m3u8",
    ]) {
        Media
    } else if is(&["html", "htm"]) {
        Document
    } else {
        Other
    }
}

/// The five quantities of one type or host, summed over requests.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sizes {
    /// `transferSize`: bytes over the network (0 for a cache hit).
    pub transfer: f64,
    /// `encodedBodySize`: compressed weight, cached or not.
    pub encoded: f64,
    /// `decodedBodySize`: uncompressed weight.
    pub decoded: f64,
    pub requests: f64,
    /// Requests whose sizes the browser does not expose.
    pub unknown: f64,
}

impl Sizes {
    /// Counts one request. Sizes are hidden (all three 0 and no
    /// `responseStart`) for a cross-origin response without
    /// `Timing-Allow-Origin`: such a request is counted as unknown, not as 0 bytes.
    pub fn add(&mut self, transfer: f64, encoded: f64, decoded: f64, response_start: f64) {
        let ok = |x: f64| if x.is_finite() && x > 0.0 { x } else { 0.0 };
        let (t, e, d) = (ok(transfer), ok(encoded), ok(decoded));
        self.requests += 1.0;
        // NaN counts as "no response seen".
        let responded = response_start > 0.0;
        if t == 0.0 && e == 0.0 && d == 0.0 && !responded {
            self.unknown += 1.0;
        } else {
            self.transfer += t;
            self.encoded += e;
            self.decoded += d;
        }
    }

    pub fn values(&self) -> [f64; 5] {
        [
            self.transfer,
            self.encoded,
            self.decoded,
            self.requests,
            self.unknown,
        ]
    }
}

/// A page view's weight while it is being summed (the agent's accumulator).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Weight {
    /// Indexed by `ResourceType as usize`.
    pub types: [Sizes; 7],
    /// First [`MAX_HOSTS`] hosts in the order seen, then [`OTHER_HOSTS`].
    pub hosts: alloc::vec::Vec<(alloc::string::String, Sizes)>,
}

impl Weight {
    /// Counts one request of type `ty` from `host`.
    pub fn add(
        &mut self,
        ty: ResourceType,
        host: &str,
        transfer: f64,
        encoded: f64,
        decoded: f64,
        response_start: f64,
    ) {
        if let Some(s) = self.types.get_mut(ty as usize) {
            s.add(transfer, encoded, decoded, response_start);
        }
        let key = if self.hosts.iter().any(|h| h.0 == host) || self.hosts.len() < MAX_HOSTS {
            host
        } else {
            OTHER_HOSTS
        };
        match self.hosts.iter_mut().find(|h| h.0 == key) {
            Some(h) => h.1.add(transfer, encoded, decoded, response_start),
            None => {
                let mut s = Sizes::default();
                s.add(transfer, encoded, decoded, response_start);
                self.hosts.push((key.into(), s));
            }
        }
    }

    /// The compressed weight of everything counted (the record's `value`).
    pub fn total_encoded(&self) -> f64 {
        self.types.iter().map(|s| s.encoded).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.types.iter().all(|s| s.requests == 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ResourceType::*;

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
        let mut s = Sizes::default();
        s.add(1300.0, 1000.0, 4000.0, 12.0);
        s.add(0.0, 0.0, 0.0, 0.0); // cross-origin, no Timing-Allow-Origin
        s.add(0.0, 500.0, 900.0, 3.0); // from the HTTP cache
        s.add(300.0, 0.0, 0.0, 5.0); // an empty 204
        s.add(f64::NAN, -1.0, f64::INFINITY, f64::NAN); // nonsense counts as hidden
        assert_eq!(s.values(), [1600.0, 1500.0, 4900.0, 5.0, 2.0]);
    }

    #[test]
    fn hosts_past_the_limit_are_summed_under_a_star() {
        let mut w = Weight::default();
        for i in 0..MAX_HOSTS + 3 {
            let host = alloc::format!("h{i}.example");
            w.add(Script, &host, 10.0, 10.0, 20.0, 1.0);
        }
        w.add(Image, "h0.example", 5.0, 5.0, 5.0, 1.0);
        assert_eq!(w.hosts.len(), MAX_HOSTS + 1);
        assert_eq!(w.hosts[0].1.requests, 2.0);
        assert_eq!(w.hosts[MAX_HOSTS].0, OTHER_HOSTS);
        assert_eq!(w.hosts[MAX_HOSTS].1.requests, 3.0);
        assert_eq!(w.total_encoded(), 10.0 * (MAX_HOSTS + 3) as f64 + 5.0);
        assert!(!w.is_empty() && Weight::default().is_empty());
    }

    #[test]
    fn type_names_round_trip() {
        for t in ResourceType::ALL {
            assert_eq!(ResourceType::parse(t.as_str()), Some(t));
        }
        assert_eq!(ResourceType::parse("total"), None);
    }
}
