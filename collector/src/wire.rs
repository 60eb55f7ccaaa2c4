//! Numbers in JSON answers as the beacon wire format has them: metric values
//! in milliseconds to 0.1 ms, CLS (a score) to 1e-6. Percentiles interpolated
//! from histograms and ratios otherwise show float noise
//! (`2237.519872921078`, `1.0459999999999998`) that no measurement has.

use serde_json::{Map, Value};

/// Fields that hold a metric value (in the metric's unit).
const VALUE_KEYS: &[&str] = &[
    "value", "delta", "budget", "p50", "p75", "p90", "p95", "p99", "baseline", "current", "low",
    "high", "mean",
];

/// Rounds a metric value the way the agent does before sending it.
pub fn round_value(score: bool, v: f64) -> f64 {
    if score {
        (v * 1e6).round() / 1e6
    } else {
        (v * 10.0).round() / 10.0
    }
}

/// Whether an object describes a unitless metric (CLS); `None` when it says nothing.
fn is_score(obj: &Map<String, Value>) -> Option<bool> {
    if let Some(u) = obj.get("unit").and_then(Value::as_str) {
        return Some(u == "score");
    }
    obj.get("metric")
        .or_else(|| obj.get("name"))
        .and_then(Value::as_str)
        .and_then(vitals_core::MetricName::parse)
        .map(|m| m.unit() == vitals_core::Unit::Score)
}

/// Rounds every float in `v`: metric values by their metric's unit (taken
/// from the nearest enclosing object naming one), other fractions to 1e-6.
pub fn tidy(v: &mut Value) {
    walk(v, None, false);
}

fn walk(v: &mut Value, score: Option<bool>, value_field: bool) {
    match v {
        Value::Object(obj) => {
            let score = is_score(obj).or(score);
            for (k, child) in obj.iter_mut() {
                // `interval: {low, high}` and attribution fields inherit the unit.
                let is_value = VALUE_KEYS.contains(&k.as_str()) || (value_field && k != "level");
                walk(
                    child,
                    score,
                    is_value || k == "interval" || k == "attribution",
                );
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| walk(i, score, false)),
        Value::Number(n) if n.is_f64() => {
            if let Some(x) = n.as_f64() {
                let r = if value_field {
                    round_value(score.unwrap_or(false), x)
                } else {
                    (x * 1e6).round() / 1e6
                };
                if let Some(num) = serde_json::Number::from_f64(r) {
                    *n = num;
                }
            }
        }
        _ => {}
    }
}

/// A 200 JSON answer with tidy numbers.
pub fn ok_json<T: serde::Serialize>(body: &T) -> actix_web::HttpResponse {
    match serde_json::to_value(body) {
        Ok(mut v) => {
            tidy(&mut v);
            actix_web::HttpResponse::Ok().json(v)
        }
        Err(e) => {
            use actix_web::ResponseError;
            crate::error::ApiError::Unexpected(e.into()).error_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_rounded_by_their_metric_and_fractions_to_a_millionth() {
        let mut v = json!({
            "rows": [
                {"name": "LCP", "value": 2237.519872921078, "delta": 0.04999, "sample_rate": 1.0},
                {"name": "CLS", "value": 0.10459999999999998, "delta": 0.0000004}
            ],
            "metric": "LCP", "ratio": 1.0459999999999998, "count": 3,
            "interval": {"low": 1999.96, "high": 2100.04, "level": 0.95}
        });
        tidy(&mut v);
        assert_eq!(v["rows"][0]["value"], 2237.5);
        assert_eq!(v["rows"][0]["delta"], 0.0);
        assert_eq!(v["rows"][1]["value"], 0.1046);
        assert_eq!(v["rows"][1]["delta"], 0.0);
        assert_eq!(v["ratio"], 1.046);
        assert_eq!(v["count"], 3);
        assert_eq!(v["interval"]["low"], 2000.0);
        assert_eq!(v["interval"]["high"], 2100.0);
        assert_eq!(v["interval"]["level"], 0.95);
    }

    #[test]
    fn page_weight_is_not_a_score() {
        // Bytes keep the value rounding (0.1), not a score's 1e-6, nested
        // attribution included.
        let mut v = json!({"name": "WEIGHT", "value": 370000.04,
                           "attribution": {"types": {"script": {"encoded": 1000.44}}}});
        tidy(&mut v);
        assert_eq!(v["value"], 370000.0);
        assert_eq!(v["attribution"]["types"]["script"]["encoded"], 1000.4);
    }
}
