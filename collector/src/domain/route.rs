//! Route templates: `/product/12345/reviews` → `/product/:id/reviews`, so
//! per-route aggregates stay meaningful and cardinality stays bounded.

/// Longest route stored; longer paths are cut at a segment boundary.
pub const MAX_ROUTE_LEN: usize = 256;

/// Caps the number of distinct routes per site so one site with unbounded
/// URLs cannot explode dimension cardinality. Per process: with several
/// collectors each keeps its own set (the cap then holds per collector).
pub struct RouteRegistry {
    max_per_site: usize,
    seen: std::sync::Mutex<std::collections::HashMap<String, std::collections::HashSet<String>>>,
}

/// Stored in place of routes beyond the cap.
pub const OVERFLOW_ROUTE: &str = "/(other)";

impl RouteRegistry {
    pub fn new(max_per_site: usize) -> Self {
        RouteRegistry {
            max_per_site,
            seen: Default::default(),
        }
    }

    pub fn admit(&self, site: &str, route: String) -> String {
        let Ok(mut seen) = self.seen.lock() else {
            return route;
        };
        let set = seen.entry(site.to_string()).or_default();
        if set.contains(&route) {
            return route;
        }
        if set.len() >= self.max_per_site {
            return OVERFLOW_ROUTE.to_string();
        }
        set.insert(route.clone());
        route
    }
}

pub fn normalise_route(path: &str) -> String {
    let mut out = String::with_capacity(path.len().min(MAX_ROUTE_LEN));
    for seg in path.split('/').skip(1) {
        let piece = classify_segment(seg);
        if out.len() + 1 + piece.len() > MAX_ROUTE_LEN {
            break;
        }
        out.push('/');
        out.push_str(piece);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

fn classify_segment(seg: &str) -> &str {
    let len = seg.len();
    if len == 0 {
        return seg;
    }
    let digits = seg.bytes().filter(u8::is_ascii_digit).count();
    if digits == len {
        return ":id";
    }
    if is_uuid(seg) {
        return ":uuid";
    }
    if len >= 16 && seg.bytes().all(|b| b.is_ascii_hexdigit()) {
        return ":hash";
    }
    // Long opaque tokens (base64/slug ids) carry digits mixed with letters.
    if len >= 20
        && digits >= 2
        && seg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return ":token";
    }
    seg
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_uuids_and_hashes_become_placeholders() {
        let cases = [
            ("/", "/"),
            ("", "/"),
            ("/product/12345/reviews", "/product/:id/reviews"),
            ("/u/550e8400-e29b-41d4-a716-446655440000", "/u/:uuid"),
            ("/assets/d41d8cd98f00b204e9800998ecf8427e", "/assets/:hash"),
            ("/blog/my-first-post", "/blog/my-first-post"),
            ("/s/aZ3kLm9QpR2sT7uVwXyZ01", "/s/:token"),
            ("/docs/", "/docs/"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalise_route(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn routes_beyond_the_cap_collapse_into_one() {
        let r = RouteRegistry::new(2);
        assert_eq!(r.admit("s", "/a".into()), "/a");
        assert_eq!(r.admit("s", "/b".into()), "/b");
        assert_eq!(r.admit("s", "/c".into()), OVERFLOW_ROUTE);
        assert_eq!(r.admit("s", "/a".into()), "/a");
        assert_eq!(r.admit("t", "/c".into()), "/c");
    }

    #[test]
    fn very_long_paths_are_capped() {
        let path = "/segment".repeat(100);
        assert!(normalise_route(&path).len() <= MAX_ROUTE_LEN);
    }
}
