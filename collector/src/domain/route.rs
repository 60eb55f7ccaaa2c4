//! Route templates: `/product/12345/reviews` → `/product/:id/reviews`, so
//! per-route aggregates stay meaningful and cardinality stays bounded.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

/// Longest route stored; longer paths are cut at a segment boundary.
pub const MAX_ROUTE_LEN: usize = 256;

/// Caps the number of distinct routes per site so one site with unbounded
/// URLs cannot explode dimension cardinality. Per process: with several
/// collectors each keeps its own set (the cap then holds per collector).
///
/// The registry itself is bounded too: at most `max_sites` sites and
/// `max_routes` routes in all are tracked, least recently seen site forgotten
/// first. Without that, open mode (any site key accepted) let any visitor grow
/// memory without end by inventing site keys. A forgotten site starts afresh
/// when it is seen again (its cap counts from zero again).
pub struct RouteRegistry {
    max_per_site: usize,
    max_sites: usize,
    max_routes: usize,
    tracked: std::sync::Mutex<Tracked>,
    evicted: AtomicU64,
}

struct Tracked {
    // hashlink (already in the tree through sqlx) keeps recency order for us.
    sites: hashlink::LruCache<String, HashSet<String>>,
    routes: usize,
}

/// Stored in place of routes beyond the cap.
pub const OVERFLOW_ROUTE: &str = "/(other)";

/// What the registry holds now, for `/metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegistrySize {
    pub sites: usize,
    pub routes: usize,
    pub max_sites: usize,
    pub max_routes: usize,
    pub evicted_sites: u64,
}

impl RouteRegistry {
    pub fn new(max_per_site: usize) -> Self {
        Self::bounded(max_per_site, usize::MAX, usize::MAX)
    }

    pub fn bounded(max_per_site: usize, max_sites: usize, max_routes: usize) -> Self {
        RouteRegistry {
            max_per_site,
            max_sites: max_sites.max(1),
            max_routes: max_routes.max(1),
            tracked: std::sync::Mutex::new(Tracked {
                sites: hashlink::LruCache::new_unbounded(),
                routes: 0,
            }),
            evicted: AtomicU64::new(0),
        }
    }

    pub fn admit(&self, site: &str, route: String) -> String {
        let Ok(mut t) = self.tracked.lock() else {
            return route;
        };
        match t.sites.get_mut(site) {
            Some(set) if set.contains(&route) => return route,
            Some(set) if set.len() >= self.max_per_site => return OVERFLOW_ROUTE.to_string(),
            Some(set) => {
                set.insert(route.clone());
            }
            None => {
                t.sites
                    .insert(site.to_string(), HashSet::from([route.clone()]));
            }
        }
        t.routes += 1;
        // Forget the least recently seen sites until both bounds hold; the
        // site just admitted is the most recent, so it stays.
        while (t.sites.len() > self.max_sites || t.routes > self.max_routes) && t.sites.len() > 1 {
            if let Some((_, set)) = t.sites.remove_lru() {
                t.routes -= set.len();
                self.evicted.fetch_add(1, Ordering::Relaxed);
            }
        }
        route
    }

    pub fn size(&self) -> RegistrySize {
        let (sites, routes) = self
            .tracked
            .lock()
            .map(|t| (t.sites.len(), t.routes))
            .unwrap_or((0, 0));
        RegistrySize {
            sites,
            routes,
            max_sites: self.max_sites,
            max_routes: self.max_routes,
            evicted_sites: self.evicted.load(Ordering::Relaxed),
        }
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
    fn the_registry_forgets_least_recent_sites_beyond_its_bounds() {
        let r = RouteRegistry::bounded(3, 2, 4);
        r.admit("a", "/1".into());
        r.admit("b", "/1".into());
        r.admit("a", "/2".into()); // a is now the most recent
        r.admit("c", "/1".into()); // three sites: b (least recent) goes
        let s = r.size();
        assert_eq!((s.sites, s.routes, s.evicted_sites), (2, 3, 1));
        r.admit("c", "/2".into());
        r.admit("c", "/3".into()); // five routes: a goes
        let s = r.size();
        assert_eq!((s.sites, s.routes, s.evicted_sites), (1, 3, 2));
        // The per-site cap still holds for the tracked site.
        assert_eq!(r.admit("c", "/4".into()), OVERFLOW_ROUTE);
        for i in 0..10_000 {
            r.admit(&format!("s{i}"), format!("/r{i}"));
        }
        let s = r.size();
        assert!(s.sites <= 2 && s.routes <= 4, "{s:?}");
    }

    #[test]
    fn very_long_paths_are_capped() {
        let path = "/segment".repeat(100);
        assert!(normalise_route(&path).len() <= MAX_ROUTE_LEN);
    }
}
