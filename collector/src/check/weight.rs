//! Page-weight budgets (`resourceSizes`, `resourceCounts` and the strray
//! extensions): the quantity one page view's WEIGHT record gives a budget.
//! Pure; `check::run` reads the rows and judges the samples like timings.

use serde_json::Value;
use vitals_core::weight::{OTHER_HOSTS, QUANTITIES, ResourceType};

use crate::budget_file::ResourceBudget;
use crate::storage::{Sample, WeightRow};

/// Most WEIGHT rows one entry reads per window (past that, a sample spread
/// over it: `Store::weight_rows`): bounds the memory (a row's breakdown is up
/// to ~2.5 KB of JSON) and time of a check, which the alert scheduler runs for
/// every site; the percentile of 20 000 page views is far tighter than any
/// budget's margin.
pub const MAX_ROWS: i64 = 20_000;

/// The five quantities of a type or host entry, in [`QUANTITIES`] order.
type Quantities = [f64; 5];

/// A WEIGHT row ready to be judged: its breakdown read once, for all of an
/// entry's budgets, into numbers (the JSON is not kept).
pub struct PageWeight {
    /// Indexed by `ResourceType as usize`; absent types are zeros.
    types: [Quantities; 7],
    hosts: Vec<(String, Quantities)>,
    page_host: Option<String>,
    weight: f64,
}

fn quantities(entry: &Value) -> Quantities {
    QUANTITIES.map(|q| entry.get(q).and_then(Value::as_f64).unwrap_or(0.0))
}

impl PageWeight {
    /// None for a row without a readable breakdown (ingest refuses those, so
    /// only a row written by other means); it is left out, not counted as 0.
    pub fn from_row(r: &WeightRow) -> Option<PageWeight> {
        let attribution: Value = serde_json::from_str(r.attribution.as_deref()?).ok()?;
        let mut types = [[0.0; 5]; 7];
        for (name, entry) in attribution.get("types")?.as_object()? {
            if let Some(slot) = ResourceType::parse(name).and_then(|t| types.get_mut(t as usize)) {
                *slot = quantities(entry);
            }
        }
        let hosts = attribution
            .get("hosts")
            .and_then(Value::as_object)
            .map(|h| h.iter().map(|(k, v)| (k.clone(), quantities(v))).collect())
            .unwrap_or_default();
        let page_host = url::Url::parse(&r.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
        Some(PageWeight {
            types,
            hosts,
            page_host,
            weight: r.weight,
        })
    }
}

/// The name part of a WEIGHT hosts key (`cdn.example:8443` → `cdn.example`,
/// `[::1]:8080` → `[::1]`), lower-cased.
fn host_name(key: &str) -> String {
    let name = if key.starts_with('[') {
        key.find(']').map_or(key, |i| &key[..=i])
    } else {
        key.split(':').next().unwrap_or(key)
    };
    name.to_ascii_lowercase()
}

/// `host` is `domain` or one of its subdomains.
fn within(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// Whether a WEIGHT hosts key is first party. With `listed`
/// (`options.firstPartyHostnames`), Lighthouse's rule: an exact host name, or
/// `*.example.com` for example.com and all its subdomains. Without, the
/// page's own host and its subdomains, a leading `www.` of the page's host
/// ignored (`static.shop.example` serves `www.shop.example`). The overflow key
/// `*` sums hosts that are no longer told apart, so it is always third party.
pub fn is_first_party(key: &str, listed: &[String], page_host: Option<&str>) -> bool {
    if key == OTHER_HOSTS {
        return false;
    }
    let host = host_name(key);
    if listed.is_empty() {
        return page_host.is_some_and(|p| within(&host, p.strip_prefix("www.").unwrap_or(p)));
    }
    listed.iter().any(|l| {
        let l = l.to_ascii_lowercase();
        match l.strip_prefix("*.") {
            Some(domain) => within(&host, domain),
            None => host == l,
        }
    })
}

/// The budget's quantity for one page view, in the budget's unit (KiB or
/// requests): one type's entry, the sum over types (`total`), or the sum over
/// hosts that are not first party (`third-party`). A type without requests
/// is absent from the record: 0.
pub fn quantity(r: &ResourceBudget, page: &PageWeight, listed: &[String]) -> f64 {
    let q = r.kind.quantity();
    let i = QUANTITIES.iter().position(|x| *x == q).unwrap_or(0);
    let of = |e: &Quantities| e.get(i).copied().unwrap_or(0.0);
    let sum: f64 = match r.resource_type.as_str() {
        "total" => page.types.iter().map(of).sum(),
        "third-party" => page
            .hosts
            .iter()
            .filter(|(k, _)| !is_first_party(k, listed, page.page_host.as_deref()))
            .map(|(_, e)| of(e))
            .sum(),
        t => ResourceType::parse(t)
            .and_then(|t| page.types.get(t as usize))
            .map_or(0.0, of),
    };
    r.kind.scale(sum)
}

/// The samples of one budget over an entry's page views.
pub fn samples(r: &ResourceBudget, pages: &[PageWeight], listed: &[String]) -> Vec<Sample> {
    pages
        .iter()
        .map(|p| Sample {
            value: quantity(r, p, listed),
            weight: p.weight,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::budget_file::ResourceKind;
    use serde_json::json;

    fn sizes(encoded: f64, requests: f64) -> Value {
        json!({"transfer": encoded / 4.0, "encoded": encoded, "decoded": encoded * 3.0,
               "requests": requests, "unknown": 0})
    }

    fn page(url: &str) -> PageWeight {
        let attribution = json!({
            "types": {"document": sizes(10_240.0, 1.0), "script": sizes(512_000.0, 9.0),
                      "image": sizes(102_400.0, 4.0)},
            "hosts": {"www.shop.example": sizes(307_200.0, 6.0),
                      "static.shop.example:8443": sizes(102_400.0, 3.0),
                      "shop.example.evil.net": sizes(51_200.0, 1.0),
                      "cdn.net": sizes(102_400.0, 2.0),
                      "*": sizes(61_440.0, 2.0)},
        });
        PageWeight::from_row(&WeightRow {
            path: "/".into(),
            url: url.into(),
            weight: 2.0,
            attribution: Some(attribution.to_string()),
        })
        .unwrap()
    }

    fn budget(kind: ResourceKind, t: &str) -> ResourceBudget {
        ResourceBudget {
            kind,
            resource_type: t.into(),
            budget: 1.0,
        }
    }

    #[test]
    fn types_total_and_units() {
        let p = page("https://www.shop.example/");
        let q = |k, t| quantity(&budget(k, t), &p, &[]);
        assert_eq!(q(ResourceKind::Sizes, "script"), 500.0);
        assert_eq!(q(ResourceKind::DecodedSizes, "script"), 1500.0);
        assert_eq!(q(ResourceKind::TransferSizes, "script"), 125.0);
        assert_eq!(q(ResourceKind::Counts, "script"), 9.0);
        assert_eq!(q(ResourceKind::Sizes, "font"), 0.0, "absent type: none");
        assert_eq!(q(ResourceKind::Sizes, "total"), 610.0);
        assert_eq!(q(ResourceKind::Counts, "total"), 14.0);
        let s = samples(&budget(ResourceKind::Counts, "image"), &[p], &[]);
        assert_eq!(
            s,
            [Sample {
                value: 4.0,
                weight: 2.0
            }]
        );
    }

    #[test]
    fn third_party_by_the_page_host_or_the_listed_hostnames() {
        let kib = |url: &str, listed: &[String]| {
            quantity(
                &budget(ResourceKind::Sizes, "third-party"),
                &page(url),
                listed,
            )
        };
        // Page shop.example: it and its subdomains, whatever the port; not a
        // host that merely contains the name.
        assert_eq!(kib("https://shop.example/", &[]), 50.0 + 100.0 + 60.0);
        // Page www.shop.example: the same (a leading www. is ignored), so
        // static.shop.example is first party there too.
        assert_eq!(kib("https://www.shop.example/", &[]), 50.0 + 100.0 + 60.0);
        assert_eq!(
            kib("https://m.shop.example/", &[]),
            300.0 + 100.0 + 50.0 + 100.0 + 60.0
        );
        let listed = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // Listed: exact names, or *.domain for the domain and its subdomains;
        // the page's host no longer counts by itself.
        assert_eq!(
            kib(
                "https://www.shop.example/",
                &listed(&["*.shop.example", "CDN.net"])
            ),
            50.0 + 60.0
        );
        assert_eq!(
            kib(
                "https://www.shop.example/",
                &listed(&["static.shop.example"])
            ),
            300.0 + 50.0 + 100.0 + 60.0
        );
        assert!(!is_first_party(
            "*",
            &listed(&["*.shop.example"]),
            Some("shop.example")
        ));
        assert!(is_first_party("[::1]:8080", &listed(&["[::1]"]), None));
        assert_eq!(
            quantity(
                &budget(ResourceKind::Counts, "third-party"),
                &page("https://shop.example/"),
                &[]
            ),
            5.0
        );
    }

    #[test]
    fn rows_without_a_breakdown_are_left_out() {
        let row = |a: Option<&str>| WeightRow {
            path: "/".into(),
            url: "https://a.example/".into(),
            weight: 1.0,
            attribution: a.map(str::to_string),
        };
        assert!(PageWeight::from_row(&row(None)).is_none());
        assert!(PageWeight::from_row(&row(Some("{"))).is_none());
        assert!(PageWeight::from_row(&row(Some(r#"{"target": "x"}"#))).is_none());
        assert!(PageWeight::from_row(&row(Some(r#"{"types": {}, "hosts": {}}"#))).is_some());
    }
}
