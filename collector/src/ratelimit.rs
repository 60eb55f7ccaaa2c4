//! Per-site and per-client rate limits on ingest (429 + Retry-After).
//!
//! The client key is the peer IP (or the first address of a configured,
//! trusted proxy header); it lives only in this in-memory limiter, never in
//! the database or logs.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct IngestLimiter {
    // Keyed by a hash of the site key: in open mode anyone can invent site
    // keys, so the key space is folded into `site_buckets` buckets there
    // (sites sharing a bucket share its quota) and memory stays bounded
    // however many keys are invented; with listed sites the full hash is used.
    per_site: Option<DefaultKeyedRateLimiter<u64>>,
    site_hasher: std::hash::RandomState,
    site_mask: u64,
    per_client: Option<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
}

/// Which limit refused the request, and when to retry.
#[derive(Debug)]
pub struct Limited {
    pub scope: &'static str,
    pub retry_after: Duration,
}

fn keyed<K: std::hash::Hash + Eq + Clone>(
    per_sec: u32,
    burst: u32,
) -> Option<DefaultKeyedRateLimiter<K>> {
    let rate = NonZeroU32::new(per_sec)?;
    let burst = NonZeroU32::new(burst.max(per_sec)).unwrap_or(rate);
    Some(RateLimiter::keyed(
        Quota::per_second(rate).allow_burst(burst),
    ))
}

impl IngestLimiter {
    /// A rate of 0 disables that limit.
    pub fn new(site_per_sec: u32, client_per_sec: u32) -> IngestLimiter {
        Self::with_site_buckets(site_per_sec, client_per_sec, None)
    }

    /// `site_buckets` (a power of two): fold site keys into that many
    /// per-site quotas (open mode); `None`: one quota per site.
    pub fn with_site_buckets(
        site_per_sec: u32,
        client_per_sec: u32,
        site_buckets: Option<u64>,
    ) -> IngestLimiter {
        IngestLimiter {
            site_hasher: std::hash::RandomState::new(),
            site_mask: site_buckets.map_or(u64::MAX, |n| n.next_power_of_two() - 1),
            per_site: keyed(site_per_sec, site_per_sec.saturating_mul(2)),
            per_client: keyed(client_per_sec, client_per_sec.saturating_mul(2)),
            clock: DefaultClock::default(),
        }
    }

    pub fn check(&self, site: &str, client: Option<IpAddr>) -> Result<(), Limited> {
        if let (Some(l), Some(ip)) = (&self.per_client, client)
            && let Err(not_until) = l.check_key(&ip)
        {
            return Err(Limited {
                scope: "client",
                retry_after: not_until.wait_time_from(self.clock.now()),
            });
        }
        if let Some(l) = &self.per_site
            && let Err(not_until) = l.check_key(&self.site_key(site))
        {
            return Err(Limited {
                scope: "site",
                retry_after: not_until.wait_time_from(self.clock.now()),
            });
        }
        Ok(())
    }

    fn site_key(&self, site: &str) -> u64 {
        use std::hash::BuildHasher;
        self.site_hasher.hash_one(site) & self.site_mask
    }

    /// Forgets idle keys and gives their memory back, so memory stays bounded
    /// under many distinct clients — and, in open mode, invented site keys
    /// (bench-open-mode: without the shrink the map kept its high-water size).
    pub fn prune(&self) {
        if let Some(l) = &self.per_site {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some(l) = &self.per_client {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_over_its_burst_is_limited_and_others_are_not() {
        let l = IngestLimiter::new(0, 2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        // Burst is twice the rate.
        for _ in 0..4 {
            assert!(l.check("s", Some(a)).is_ok());
        }
        let e = l.check("s", Some(a)).unwrap_err();
        assert_eq!(e.scope, "client");
        assert!(e.retry_after > Duration::ZERO);
        assert!(l.check("s", Some(b)).is_ok());
    }

    #[test]
    fn a_site_over_its_burst_is_limited_and_others_are_not() {
        let l = IngestLimiter::new(2, 0);
        for _ in 0..4 {
            assert!(l.check("a", None).is_ok());
        }
        assert_eq!(l.check("a", None).unwrap_err().scope, "site");
        assert!(l.check("b", None).is_ok());
    }

    #[test]
    fn open_mode_folds_site_keys_into_bounded_buckets() {
        let l = IngestLimiter::with_site_buckets(1_000, 0, Some(16));
        for i in 0..10_000 {
            let _ = l.check(&format!("s{i}"), None);
        }
        assert!(l.per_site.as_ref().unwrap().len() <= 16);
    }

    #[test]
    fn zero_disables_a_limit() {
        let l = IngestLimiter::new(0, 0);
        for _ in 0..1000 {
            assert!(l.check("s", None).is_ok());
        }
    }
}
