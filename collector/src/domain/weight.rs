//! Strict validation of a `WEIGHT` record's attribution (the wire shape is
//! documented in `vitals_core::weight`). Unlike other attributions, which are
//! hints and dropped when odd, this one *is* the measurement budgets judge, so
//! anything off-contract refuses the beacon with the field's path.

use serde_json::{Map, Value};
use vitals_core::weight::{MAX_HOSTS, OTHER_HOSTS, QUANTITIES, ResourceType};

use super::BeaconError;
use super::beacon::storable;

/// Largest byte sum accepted for one type or host (10 GB, as for the value).
const MAX_BYTES: f64 = 1e10;
/// Largest request count accepted for one type or host.
const MAX_REQUESTS: f64 = 100_000.0;
/// Longest host name (DNS limit).
const MAX_HOST_LEN: usize = 253;

/// Checks `attribution` of a WEIGHT metric whose `value` is `value`; `field`
/// is the metric's path prefix (`metrics[3]`). Returns the object to store.
pub(super) fn validate_weight(
    attribution: Option<Value>,
    value: f64,
    field: &str,
) -> Result<Map<String, Value>, BeaconError> {
    let at = |f: &str| format!("{field}.attribution{f}");
    let invalid = |f: &str, p: &str| BeaconError::Invalid {
        field: at(f),
        problem: p.to_string(),
    };
    let Some(Value::Object(map)) = attribution else {
        return Err(invalid(
            "",
            "a WEIGHT metric needs an object attribution with `types` and `hosts`",
        ));
    };
    for key in map.keys() {
        if !matches!(
            key.as_str(),
            "types" | "hosts" | "heap" | "memory" | "incomplete"
        ) {
            return Err(invalid(&format!(".{}", shown(key)), "unknown key"));
        }
    }
    let Some(Value::Object(types)) = map.get("types") else {
        return Err(invalid(".types", "must be an object"));
    };
    let mut encoded_sum = 0.0;
    for (name, sizes) in types {
        if ResourceType::parse(name).is_none() {
            return Err(invalid(
                &format!(".types.{}", shown(name)),
                "unknown resource type",
            ));
        }
        encoded_sum += check_sizes(sizes, &at(&format!(".types.{name}")))?;
    }
    let Some(Value::Object(hosts)) = map.get("hosts") else {
        return Err(invalid(".hosts", "must be an object"));
    };
    let listed = hosts.keys().filter(|h| *h != OTHER_HOSTS).count();
    if listed > MAX_HOSTS {
        return Err(invalid(
            ".hosts",
            &format!("at most {MAX_HOSTS} hosts plus \"{OTHER_HOSTS}\""),
        ));
    }
    for (host, sizes) in hosts {
        storable(host, &at(".hosts"))?;
        if !valid_host(host) {
            return Err(invalid(
                &format!(".hosts.{}", shown(host)),
                "host must be 1 to 253 printable ASCII characters, none of # / < > ? @ \\ ^ | % \"",
            ));
        }
        check_sizes(sizes, &at(&format!(".hosts.{host}")))?;
    }
    for key in ["heap", "memory"] {
        if let Some(bytes) = map.get(key) {
            quantity(bytes, MAX_BYTES, false).map_err(|p| invalid(&format!(".{key}"), &p))?;
        }
    }
    if let Some(flag) = map.get("incomplete")
        && !matches!(flag.as_f64(), Some(f) if f == 0.0 || f == 1.0)
    {
        return Err(invalid(".incomplete", "must be 1 (or 0)"));
    }
    // The value is the sum the agent computed; more than rounding apart means
    // the breakdown and the headline number disagree, and one of them is wrong.
    if (value - encoded_sum).abs() > 1.0 {
        return Err(BeaconError::Invalid {
            field: format!("{field}.value"),
            problem: format!(
                "must equal the sum of attribution.types.*.encoded ({encoded_sum}) within 1 byte"
            ),
        });
    }
    Ok(map)
}

/// Checks one `{transfer, encoded, decoded, requests, unknown}` object at
/// `path`; returns its `encoded`.
fn check_sizes(v: &Value, path: &str) -> Result<f64, BeaconError> {
    let invalid = |f: &str, p: String| BeaconError::Invalid {
        field: format!("{path}{f}"),
        problem: p,
    };
    let Value::Object(o) = v else {
        return Err(invalid("", "must be an object".into()));
    };
    for key in o.keys() {
        if !QUANTITIES.contains(&key.as_str()) {
            return Err(invalid(&format!(".{}", shown(key)), "unknown key".into()));
        }
    }
    let mut got = [0.0; 5];
    for (slot, q) in got.iter_mut().zip(QUANTITIES) {
        let is_count = matches!(q, "requests" | "unknown");
        let max = if is_count { MAX_REQUESTS } else { MAX_BYTES };
        let Some(x) = o.get(q) else {
            return Err(invalid(&format!(".{q}"), "missing".into()));
        };
        *slot = quantity(x, max, is_count).map_err(|p| invalid(&format!(".{q}"), p))?;
    }
    let [_, encoded, _, requests, unknown] = got;
    if unknown > requests {
        return Err(invalid(".unknown", "must not exceed requests".into()));
    }
    Ok(encoded)
}

/// A finite number in [0, max], an integer if `integer`.
fn quantity(v: &Value, max: f64, integer: bool) -> Result<f64, String> {
    let Some(x) = v.as_f64().filter(|x| x.is_finite() && *x >= 0.0) else {
        return Err("must be a finite, non-negative number".into());
    };
    if x > max {
        return Err(format!("larger than the plausible maximum {max}"));
    }
    if integer && x.fract() != 0.0 {
        return Err("must be a whole number".into());
    }
    Ok(x)
}

/// What a browser can put in an http(s) URL's host (ASCII after IDNA):
/// printable ASCII but the URL standard's forbidden host code points. Wider
/// than DNS names on purpose: `a_b.example` is a URL host a page can load
/// from, and one refused host would refuse the page view's every metric.
fn valid_host(h: &str) -> bool {
    h == OTHER_HOSTS
        || (!h.is_empty()
            && h.len() <= MAX_HOST_LEN
            && h.bytes().all(|b| {
                b.is_ascii_graphic()
                    && !matches!(
                        b,
                        b'#' | b'/' | b'<' | b'>' | b'?' | b'@' | b'\\' | b'^' | b'|' | b'%' | b'"'
                    )
            }))
}

/// A client's key as shown in an error path: bounded, so a refused 1 MB key
/// does not come back in the response, and without control characters (NUL
/// included), which would only garble a log line.
fn shown(key: &str) -> String {
    key.chars()
        .take(64)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sizes(encoded: f64) -> Value {
        json!({"transfer": encoded + 300.0, "encoded": encoded, "decoded": encoded * 3.0, "requests": 2, "unknown": 1})
    }

    fn good() -> Value {
        json!({
            "types": {"document": sizes(1000.0), "script": sizes(5000.5)},
            "hosts": {"shop.example": sizes(5000.0), "[::1]:8080": sizes(1000.5), "*": sizes(0.0)},
            "heap": 123456, "incomplete": 1
        })
    }

    fn check(a: Value, value: f64) -> Result<Map<String, Value>, BeaconError> {
        validate_weight(Some(a), value, "metrics[3]")
    }

    fn field_of(r: Result<Map<String, Value>, BeaconError>) -> String {
        match r {
            Err(BeaconError::Invalid { field, .. }) => field,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn the_documented_shape_is_accepted_and_kept_whole() {
        let a = check(good(), 6000.0).unwrap();
        assert_eq!(Value::Object(a), good());
        // Rounding: the value may be the rounded sum.
        assert!(check(good(), 6001.0).is_ok());
        assert!(check(good(), 5999.5).is_ok());
        // Optional fields may be absent, and an empty breakdown is a zero weight.
        assert!(check(json!({"types": {}, "hosts": {}}), 0.0).is_ok());
        let max_hosts: Map<String, Value> = (0..MAX_HOSTS)
            .map(|i| (format!("h{i}.example"), sizes(0.0)))
            .chain([("*".to_string(), sizes(0.0))])
            .collect();
        assert!(check(json!({"types": {}, "hosts": max_hosts}), 0.0).is_ok());
    }

    #[test]
    fn url_hosts_beyond_dns_names_are_accepted() {
        for h in [
            "a_b.example",
            "xn--bcher-kva.example",
            "[::1]",
            "127.0.0.2",
            "*",
        ] {
            assert!(valid_host(h), "{h}");
        }
        for h in ["", "a b", "a/b", "a@b", "a?b", "a#b", "a%20b", "ä.example"] {
            assert!(!valid_host(h), "{h}");
        }
        assert!(!valid_host(&"a".repeat(MAX_HOST_LEN + 1)));
    }

    #[test]
    fn every_violation_names_its_field() {
        type Mutation = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(&str, Mutation)> = vec![
            ("metrics[3].attribution", Box::new(|a| *a = json!([1]))),
            (
                "metrics[3].attribution.extra",
                Box::new(|a| a["extra"] = json!(1)),
            ),
            (
                "metrics[3].attribution.types",
                Box::new(|a| {
                    a.as_object_mut().unwrap().remove("types");
                }),
            ),
            (
                "metrics[3].attribution.hosts",
                Box::new(|a| a["hosts"] = json!([])),
            ),
            (
                "metrics[3].attribution.types.total",
                Box::new(|a| a["types"]["total"] = sizes(0.0)),
            ),
            (
                "metrics[3].attribution.types.script.encoded",
                Box::new(|a| a["types"]["script"]["encoded"] = json!(-1)),
            ),
            (
                "metrics[3].attribution.types.script.encoded",
                Box::new(|a| a["types"]["script"]["encoded"] = json!("5000.5")),
            ),
            (
                "metrics[3].attribution.types.script.decoded",
                Box::new(|a| a["types"]["script"]["decoded"] = json!(2e10)),
            ),
            (
                "metrics[3].attribution.types.script.transfer",
                Box::new(|a| a["types"]["script"]["transfer"] = json!(null)),
            ),
            (
                "metrics[3].attribution.types.script.requests",
                Box::new(|a| a["types"]["script"]["requests"] = json!(1.5)),
            ),
            (
                "metrics[3].attribution.types.script.requests",
                Box::new(|a| a["types"]["script"]["requests"] = json!(100_001)),
            ),
            (
                "metrics[3].attribution.types.script.unknown",
                Box::new(|a| a["types"]["script"]["unknown"] = json!(3)),
            ),
            (
                "metrics[3].attribution.types.script.unknown",
                Box::new(|a| {
                    a["types"]["script"]
                        .as_object_mut()
                        .unwrap()
                        .remove("unknown");
                }),
            ),
            (
                "metrics[3].attribution.types.script.gzip",
                Box::new(|a| a["types"]["script"]["gzip"] = json!(1)),
            ),
            (
                "metrics[3].attribution.types.image",
                Box::new(|a| a["types"]["image"] = json!(5)),
            ),
            (
                "metrics[3].attribution.hosts.shop.example.requests",
                Box::new(|a| a["hosts"]["shop.example"]["requests"] = json!(-2)),
            ),
            (
                "metrics[3].attribution.hosts.bad host",
                Box::new(|a| a["hosts"]["bad host"] = sizes(0.0)),
            ),
            (
                "metrics[3].attribution.hosts.",
                Box::new(|a| a["hosts"][""] = sizes(0.0)),
            ),
            (
                "metrics[3].attribution.hosts",
                Box::new(|a| {
                    for i in 0..MAX_HOSTS {
                        a["hosts"][format!("x{i}.example")] = sizes(0.0);
                    }
                }),
            ),
            (
                "metrics[3].attribution.heap",
                Box::new(|a| a["heap"] = json!(-5)),
            ),
            (
                "metrics[3].attribution.incomplete",
                Box::new(|a| a["incomplete"] = json!(true)),
            ),
            (
                "metrics[3].value",
                Box::new(|a| a["types"]["script"]["encoded"] = json!(5002)),
            ),
        ];
        for (want, mutate) in cases {
            let mut a = good();
            mutate(&mut a);
            assert_eq!(field_of(check(a, 6000.0)), want);
        }
        let mut a = good();
        a["types"]["scr\u{0}ipt"] = sizes(0.0);
        assert_eq!(
            field_of(check(a, 6000.0)),
            "metrics[3].attribution.types.scr?ipt"
        );
        let long_host = "a".repeat(254);
        let mut a = good();
        a["hosts"][long_host.as_str()] = sizes(0.0);
        assert!(field_of(check(a, 6000.0)).starts_with("metrics[3].attribution.hosts.aaa"));
        assert_eq!(
            field_of(validate_weight(None, 0.0, "metrics[0]")),
            "metrics[0].attribution"
        );
    }
}
