//! The budget verdict for a site (and optional path prefix) over a time window,
//! shared by the JSON endpoint and the `verdict` CLI subcommand.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::budget::{self, Budget, MetricVerdict, Severity};
use crate::storage::{SampleQuery, Store};

#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub site: String,
    pub path: Option<String>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub window_hours: u32,
    pub status: Severity,
    pub metrics: Vec<MetricVerdict>,
}

pub async fn compute(
    store: &Store,
    budget: &Budget,
    site: &str,
    path: Option<&str>,
    window_hours: u32,
    now: DateTime<Utc>,
) -> Result<Verdict, sqlx::Error> {
    let from = now - Duration::hours(i64::from(window_hours));
    let mut metrics = Vec::with_capacity(budget.limits.len());
    for &(metric, limit) in &budget.limits {
        let samples = store
            .samples(&SampleQuery {
                site,
                metric: metric.as_str(),
                path_prefix: path,
                since: Some(from),
                until: Some(now),
                release: None,
                exclude_release: None,
            })
            .await?;
        metrics.push(budget::evaluate_metric(budget, metric, limit, &samples));
    }
    Ok(Verdict {
        site: site.to_string(),
        path: path.map(str::to_string),
        from,
        to: now,
        window_hours,
        status: budget::overall(&metrics),
        metrics,
    })
}

/// Plain-text table for terminals and CI logs.
pub fn render_table(v: &Verdict) -> String {
    let mut out = format!(
        "Budget verdict for site '{}'{} over the last {} h: {}\n",
        v.site,
        v.path
            .as_deref()
            .map(|p| format!(" path {p}"))
            .unwrap_or_default(),
        v.window_hours,
        v.status.as_str().to_uppercase()
    );
    out.push_str(&format!(
        "{:<6} {:>10} {:>10} {:>7} {:>9}  {}\n",
        "metric", "p75", "budget", "ratio", "samples", "severity"
    ));
    for m in &v.metrics {
        let fmt = |x: f64| {
            if m.unit == "score" {
                format!("{x:.3}")
            } else {
                format!("{x:.0} ms")
            }
        };
        out.push_str(&format!(
            "{:<6} {:>10} {:>10} {:>7} {:>9}  {}\n",
            m.metric,
            m.value.map(fmt).unwrap_or_else(|| "-".into()),
            fmt(m.budget),
            m.ratio
                .map(|r| format!("{r:.2}"))
                .unwrap_or_else(|| "-".into()),
            format!("{}/{}", m.samples, m.min_samples),
            m.severity.as_str()
        ));
    }
    out
}
