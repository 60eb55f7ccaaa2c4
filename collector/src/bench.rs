//! `strray-collector bench-reports`: p75 per metric for one site over N days,
//! from the rollups vs `percentile_cont` over the raw rows, in the same run.
//! Prints numbers; asserts nothing (timings depend on the machine).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use chrono::Utc;
use sqlx::Row;

use crate::reports::{self, GroupBy, Slice};
use crate::storage::Store;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub async fn run(store: &Store, site: &str, days: u32, runs: usize) -> anyhow::Result<String> {
    let Store::Postgres(pool) = store else {
        anyhow::bail!("bench-reports needs PostgreSQL (DATABASE_URL=postgres://…)");
    };
    let (from, to) = reports::last_days(Utc::now(), i64::from(days));
    let slice = Slice {
        site: site.to_string(),
        from,
        to,
        metric: None,
        route: None,
        form_factor: None,
        engine: None,
        country: None,
        release: None,
    };
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM metric")
        .fetch_one(pool)
        .await?;
    let site_rows: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM metric WHERE site = $1 AND received_at >= $2 AND received_at < $3",
    )
    .bind(site)
    .bind(from)
    .bind(to)
    .fetch_one(pool)
    .await?;

    // Warm-up once each (plans, caches), then timed runs.
    let mut rollup_rows = reports::report(store, &slice, GroupBy::Nothing).await?;
    let mut t_roll = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        rollup_rows = reports::report(store, &slice, GroupBy::Nothing).await?;
        t_roll.push(t.elapsed());
    }
    let raw_sql = "SELECT name, percentile_cont(0.75) WITHIN GROUP (ORDER BY value) AS p75,
                          COUNT(*) AS n
                   FROM metric WHERE site = $1 AND received_at >= $2 AND received_at < $3
                   GROUP BY name ORDER BY name";
    let mut raw = Vec::new();
    let mut t_raw = Vec::new();
    for _ in 0..runs.min(3) {
        let t = Instant::now();
        raw = sqlx::query(raw_sql)
            .bind(site)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
        t_raw.push(t.elapsed());
    }
    let (r, w) = (median(t_roll), median(t_raw));
    let mut out = String::new();
    writeln!(
        out,
        "bench-reports: site '{site}', {days} days ({from} .. {to}); {site_rows} of {total} metric rows"
    )?;
    writeln!(
        out,
        "{:<6} {:>10} {:>14} {:>14} {:>8}",
        "metric", "samples", "p75 raw", "p75 rollup", "diff"
    )?;
    for row in &raw {
        let name: String = row.try_get("name")?;
        let exact: f64 = row.try_get("p75")?;
        let n: i64 = row.try_get("n")?;
        let approx = rollup_rows
            .iter()
            .find(|x| x.metric == name)
            .and_then(|x| x.p75);
        let (a, d) = match approx {
            Some(a) if exact != 0.0 => (
                format!("{a:.4}"),
                format!("{:+.2}%", (a / exact - 1.0) * 100.0),
            ),
            Some(a) => (format!("{a:.4}"), "-".into()),
            None => ("-".into(), "-".into()),
        };
        writeln!(out, "{name:<6} {n:>10} {exact:>14.4} {a:>14} {d:>8}")?;
    }
    writeln!(out)?;
    writeln!(out, "{:<44} {:>12}", "query (median)", "time")?;
    writeln!(
        out,
        "{:<44} {:>9.2} ms",
        "p75 per metric from rollups (site-day hist)",
        ms(r)
    )?;
    writeln!(
        out,
        "{:<44} {:>9.2} ms",
        "p75 per metric, percentile_cont over raw",
        ms(w)
    )?;
    writeln!(
        out,
        "{:<44} {:>10.0} x",
        "speed-up",
        w.as_secs_f64() / r.as_secs_f64().max(1e-9)
    )?;
    Ok(out)
}
