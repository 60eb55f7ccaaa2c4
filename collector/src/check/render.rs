//! Output formats of a check report: a table for people, JSON, JUnit XML for
//! CI test reporters, and GitHub Actions workflow commands (annotations).

use std::fmt::Write as _;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::{CheckReport, RegressionStatus, TimingResult};
use crate::budget::Severity;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Junit,
    Github,
}

pub fn render(r: &CheckReport, f: Format) -> String {
    match f {
        Format::Human => human(r),
        // A trailing newline, as every line-based tool expects.
        // Numbers as the HTTP API gives them; a trailing newline, as every
        // line-based tool expects.
        Format::Json => {
            let mut v = serde_json::to_value(r).unwrap_or_default();
            crate::wire::tidy(&mut v);
            serde_json::to_string_pretty(&v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
                + "\n"
        }
        Format::Junit => junit(r),
        Format::Github => github(r),
    }
}

fn num(unit: &str, x: f64) -> String {
    match unit {
        "score" => format!("{x:.3}"),
        "KiB" => format!("{x:.1} KiB"),
        "requests" => format!("{x:.0} req"),
        "bytes" => format!("{x:.0} B"),
        _ => format!("{x:.0} ms"),
    }
}

fn opt(unit: &str, x: Option<f64>) -> String {
    x.map(|v| num(unit, v)).unwrap_or_else(|| "-".into())
}

fn pct(x: Option<f64>) -> String {
    x.map(|v| format!("{:+.1}%", v * 100.0))
        .unwrap_or_else(|| "?".into())
}

fn interval(t: &TimingResult) -> String {
    match t.interval {
        Some(i) => format!(
            "[{}, {}]",
            i.low.map(|v| num(&t.unit, v)).unwrap_or_else(|| "?".into()),
            i.high
                .map(|v| num(&t.unit, v))
                .unwrap_or_else(|| "?".into())
        ),
        None => "-".into(),
    }
}

/// One sentence per finding: which budget, which metric, by how much.
fn sentence(path: &str, index: usize, t: &TimingResult) -> String {
    match t.severity {
        Severity::InsufficientData => format!(
            "{} on '{path}' (budget #{index}): insufficient data, {} of {} samples needed",
            t.label(),
            t.samples,
            t.min_samples
        ),
        s => format!(
            "{} p{} on '{path}' (budget #{index}) is {} against a budget of {} ({:.0}% of budget, 95% CI {}, {} samples): {}{}",
            t.label(),
            t.percentile,
            opt(&t.unit, t.value),
            num(&t.unit, t.budget),
            t.ratio.unwrap_or(0.0) * 100.0,
            interval(t),
            t.samples,
            s.as_str(),
            if s.is_breach() && !t.breach_is_solid {
                " (not statistically solid)"
            } else {
                ""
            }
        ),
    }
}

fn human(r: &CheckReport) -> String {
    let mut out = format!(
        "Budget check for site '{}'{}: {}\n",
        r.site,
        r.release
            .as_deref()
            .map(|x| format!(" release {x}"))
            .unwrap_or_default(),
        r.outcome.as_str().to_uppercase()
    );
    for e in &r.entries {
        let _ = writeln!(
            out,
            "\nbudget #{} path {} over {} h: {}",
            e.index,
            e.path,
            e.window_hours,
            e.status.as_str()
        );
        // Page-weight ids (`resourceSizes.third-party`) are wider than metrics.
        let w = e
            .judged()
            .map(|t| t.label().len())
            .max()
            .unwrap_or(0)
            .max(5);
        if e.judged().next().is_some() {
            let _ = writeln!(
                out,
                "  {:<w$} {:>10} {:>10} {:>6} {:>24} {:>9} {:>17}  severity",
                "metric", "value", "budget", "ratio", "95% CI", "samples", "good/ni/poor %"
            );
        }
        for t in e.judged() {
            let shares = t
                .shares
                .map(|s| {
                    format!(
                        "{:.0}/{:.0}/{:.0}",
                        s.good * 100.0,
                        s.needs_improvement * 100.0,
                        s.poor * 100.0
                    )
                })
                .unwrap_or_else(|| "-".into());
            let _ = writeln!(
                out,
                "  {:<w$} {:>10} {:>10} {:>6} {:>24} {:>9} {:>17}  {}{}",
                t.label(),
                opt(&t.unit, t.value),
                num(&t.unit, t.budget),
                t.ratio
                    .map(|x| format!("{x:.2}"))
                    .unwrap_or_else(|| "-".into()),
                interval(t),
                format!("{}/{}", t.samples, t.min_samples),
                shares,
                t.severity.as_str(),
                if t.severity.is_breach() && t.breach_is_solid {
                    " (solid)"
                } else {
                    ""
                }
            );
        }
        for u in &e.unjudged {
            let _ = writeln!(
                out,
                "  n/a   {} {} = {}: {}",
                u.kind, u.id, u.budget, u.reason
            );
        }
    }
    if let Some(reg) = &r.regression {
        let _ = writeln!(
            out,
            "\nregression: {} vs {} (tolerance {:.0}%)",
            reg.current,
            reg.baseline,
            reg.tolerance * 100.0
        );
        for m in &reg.metrics {
            let _ = writeln!(
                out,
                "  #{} {:<12} {:<5} baseline {:>10} ({}) current {:>10} ({}) change {} [{}, {}]  {}",
                m.index,
                m.path,
                m.metric,
                m.baseline
                    .map(|v| format!("{v:.3}"))
                    .unwrap_or_else(|| "-".into()),
                m.baseline_samples,
                m.current
                    .map(|v| format!("{v:.3}"))
                    .unwrap_or_else(|| "-".into()),
                m.current_samples,
                pct(m.change),
                pct(m.change_low),
                pct(m.change_high),
                match m.status {
                    RegressionStatus::Regressed => "REGRESSED",
                    other => other.as_str(),
                }
            );
        }
        for h in &reg.hints {
            let _ = writeln!(out, "hint: {h}");
        }
    }
    out
}

fn github(r: &CheckReport) -> String {
    // Workflow command values escape %, CR and LF; properties also ':' and ','.
    fn esc(s: &str) -> String {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    }
    fn esc_prop(s: &str) -> String {
        esc(s).replace(':', "%3A").replace(',', "%2C")
    }
    let mut out = String::new();
    for e in &r.entries {
        for t in e.judged() {
            let level = match t.severity {
                Severity::Error | Severity::Critical => "error",
                Severity::Warning => "warning",
                Severity::InsufficientData => "warning",
                Severity::Pass => "notice",
            };
            let title = format!("{} budget {}", t.label(), t.severity.as_str());
            let _ = writeln!(
                out,
                "::{level} title={}::{}",
                esc_prop(&title),
                esc(&sentence(&e.path, e.index, t))
            );
        }
    }
    if let Some(reg) = &r.regression {
        for m in &reg.metrics {
            let (level, what) = match m.status {
                RegressionStatus::Regressed => ("error", "regressed"),
                RegressionStatus::InsufficientData => ("warning", "insufficient data"),
                RegressionStatus::WithinNoise => {
                    ("notice", "above tolerance, but within sampling noise")
                }
                RegressionStatus::Ok => ("notice", "ok"),
            };
            let msg = format!(
                "{} p{} on '{}': {} vs {}: change {} (interval {} to {}), tolerance {:.0}%: {what}",
                m.metric,
                m.percentile,
                m.path,
                reg.current,
                reg.baseline,
                pct(m.change),
                pct(m.change_low),
                pct(m.change_high),
                reg.tolerance * 100.0
            );
            let title = format!("{} regression {what}", m.metric);
            let _ = writeln!(out, "::{level} title={}::{}", esc_prop(&title), esc(&msg));
        }
        for h in &reg.hints {
            let _ = writeln!(out, "::warning title=Not enough samples::{}", esc(h));
        }
    }
    let _ = writeln!(out, "strray check: {}", r.outcome.as_str());
    out
}

fn junit(r: &CheckReport) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing into a Vec cannot fail; the results are ignored for that reason.
    let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let mut root = BytesStart::new("testsuites");
    root.push_attribute(("name", format!("strray budget check {}", r.site).as_str()));
    let _ = w.write_event(Event::Start(root));
    for e in &r.entries {
        let failures = e.judged().filter(|t| t.severity.is_breach()).count();
        let skipped = e
            .judged()
            .filter(|t| t.severity == Severity::InsufficientData)
            .count()
            + e.unjudged.len();
        let mut s = BytesStart::new("testsuite");
        s.push_attribute(("name", format!("budget #{} {}", e.index, e.path).as_str()));
        s.push_attribute((
            "tests",
            (e.judged().count() + e.unjudged.len()).to_string().as_str(),
        ));
        s.push_attribute(("failures", failures.to_string().as_str()));
        s.push_attribute(("errors", "0"));
        s.push_attribute(("skipped", skipped.to_string().as_str()));
        let _ = w.write_event(Event::Start(s));
        for t in e.judged() {
            let mut c = BytesStart::new("testcase");
            c.push_attribute(("name", t.label()));
            c.push_attribute(("classname", format!("budget.{}", e.path).as_str()));
            let _ = w.write_event(Event::Start(c));
            let msg = sentence(&e.path, e.index, t);
            if t.severity.is_breach() {
                let mut f = BytesStart::new("failure");
                f.push_attribute(("message", msg.as_str()));
                f.push_attribute(("type", t.severity.as_str()));
                let _ = w.write_event(Event::Empty(f));
            } else if t.severity == Severity::InsufficientData {
                let mut f = BytesStart::new("skipped");
                f.push_attribute(("message", msg.as_str()));
                let _ = w.write_event(Event::Empty(f));
            } else {
                let _ = w.write_event(Event::Start(BytesStart::new("system-out")));
                let _ = w.write_event(Event::Text(BytesText::new(&msg)));
                let _ = w.write_event(Event::End(BytesEnd::new("system-out")));
            }
            let _ = w.write_event(Event::End(BytesEnd::new("testcase")));
        }
        for u in &e.unjudged {
            let mut c = BytesStart::new("testcase");
            c.push_attribute(("name", format!("{} {}", u.kind, u.id).as_str()));
            c.push_attribute(("classname", format!("budget.{}", e.path).as_str()));
            let _ = w.write_event(Event::Start(c));
            let mut f = BytesStart::new("skipped");
            f.push_attribute(("message", u.reason.as_str()));
            let _ = w.write_event(Event::Empty(f));
            let _ = w.write_event(Event::End(BytesEnd::new("testcase")));
        }
        let _ = w.write_event(Event::End(BytesEnd::new("testsuite")));
    }
    if let Some(reg) = &r.regression {
        let failures = reg
            .metrics
            .iter()
            .filter(|m| m.status == RegressionStatus::Regressed)
            .count();
        let skipped = reg
            .metrics
            .iter()
            .filter(|m| m.status == RegressionStatus::InsufficientData)
            .count();
        let mut s = BytesStart::new("testsuite");
        s.push_attribute(("name", format!("regression vs {}", reg.baseline).as_str()));
        s.push_attribute(("tests", reg.metrics.len().to_string().as_str()));
        s.push_attribute(("failures", failures.to_string().as_str()));
        s.push_attribute(("errors", "0"));
        s.push_attribute(("skipped", skipped.to_string().as_str()));
        let _ = w.write_event(Event::Start(s));
        for m in &reg.metrics {
            let mut c = BytesStart::new("testcase");
            c.push_attribute(("name", m.metric.as_str()));
            c.push_attribute(("classname", format!("regression.{}", m.path).as_str()));
            let _ = w.write_event(Event::Start(c));
            let msg = format!(
                "{} p{}: baseline {} ({} samples), current {} ({} samples), change {} [{}, {}]",
                m.metric,
                m.percentile,
                m.baseline
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "-".into()),
                m.baseline_samples,
                m.current
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "-".into()),
                m.current_samples,
                pct(m.change),
                pct(m.change_low),
                pct(m.change_high)
            );
            match m.status {
                RegressionStatus::Regressed => {
                    let mut f = BytesStart::new("failure");
                    f.push_attribute(("message", msg.as_str()));
                    f.push_attribute(("type", "regression"));
                    let _ = w.write_event(Event::Empty(f));
                }
                RegressionStatus::InsufficientData => {
                    let mut f = BytesStart::new("skipped");
                    f.push_attribute(("message", msg.as_str()));
                    let _ = w.write_event(Event::Empty(f));
                }
                RegressionStatus::Ok | RegressionStatus::WithinNoise => {}
            }
            let _ = w.write_event(Event::End(BytesEnd::new("testcase")));
        }
        let _ = w.write_event(Event::End(BytesEnd::new("testsuite")));
    }
    let _ = w.write_event(Event::End(BytesEnd::new("testsuites")));
    let mut s = String::from_utf8_lossy(&w.into_inner()).into_owned();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::budget_file::{BudgetFile, ResourceBudget, ResourceKind};
    use crate::check::{EntryResult, Outcome, judge, judge_resource};
    use crate::storage::Sample;
    use vitals_core::MetricName;

    /// An entry with a passing LCP and a critical script weight.
    fn report() -> CheckReport {
        let entry = BudgetFile::default_budget().entries.remove(0);
        let same = |v: f64| {
            vec![
                Sample {
                    value: v,
                    weight: 1.0
                };
                30
            ]
        };
        let lcp = judge(
            MetricName::Lcp,
            "largest-contentful-paint",
            2500.0,
            &entry,
            20,
            &same(1000.0),
        );
        let rb = ResourceBudget {
            kind: ResourceKind::Sizes,
            resource_type: "third-party".into(),
            budget: 100.0,
        };
        let weight = judge_resource(&rb, &entry, 20, &same(150.5));
        let now = chrono::Utc::now();
        CheckReport {
            site: "shop".into(),
            release: None,
            generated_at: now,
            outcome: Outcome::Fail,
            entries: vec![EntryResult {
                index: 0,
                path: "/".into(),
                from: now,
                to: now,
                window_hours: 24,
                status: Severity::Critical,
                timings: vec![lcp],
                resources: vec![weight],
                unjudged: Vec::new(),
            }],
            regression: None,
        }
    }

    #[test]
    fn page_weight_budgets_appear_in_every_format_by_their_id_and_unit() {
        let r = report();
        let human = render(&r, Format::Human);
        let line = human
            .lines()
            .find(|l| l.contains("resourceSizes.third-party"))
            .unwrap();
        assert!(
            line.contains("150.5 KiB") && line.contains("100.0 KiB") && line.contains("critical"),
            "{human}"
        );
        assert!(
            human.lines().any(|l| l.trim_start().starts_with("LCP ")),
            "{human}"
        );
        let json: serde_json::Value = serde_json::from_str(&render(&r, Format::Json)).unwrap();
        let w = &json["entries"][0]["resources"][0];
        assert_eq!(
            (w["metric"].as_str(), w["id"].as_str(), w["unit"].as_str()),
            (
                Some("WEIGHT"),
                Some("resourceSizes.third-party"),
                Some("KiB")
            )
        );
        assert_eq!(w["value"], 150.5);
        assert_eq!(w["severity"], "critical");
        assert!(w["shares"].is_null(), "rating bands are for the whole page");
        let junit = render(&r, Format::Junit);
        assert!(junit.contains(r#"tests="2" failures="1""#), "{junit}");
        assert!(
            junit.contains(r#"<testcase name="resourceSizes.third-party""#),
            "{junit}"
        );
        let gh = render(&r, Format::Github);
        assert!(gh.contains("::error title=resourceSizes.third-party budget critical::resourceSizes.third-party p75 on '/' (budget #0) is 150.5 KiB against a budget of 100.0 KiB"), "{gh}");
        assert!(gh.contains("::notice title=LCP budget pass::"), "{gh}");
    }
}
