use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use collector::budget::{Budget, Severity};
use collector::configuration::Settings;
use collector::startup::Application;
use collector::storage::Store;

#[derive(Parser)]
#[command(name = "strray-collector", version, about = "StrRay Vitals collector")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    settings: Settings,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the agent, ingest beacons and the dashboard (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Probe a running collector's `/healthz`; exit 0 when it answers 200, 1
    /// otherwise. For container HEALTHCHECKs: the runtime image has no curl.
    Healthcheck {
        /// URL to probe. Default: `/healthz` on the port of `STRRAY_BIND`, via loopback.
        #[arg(long)]
        url: Option<String>,
    },
    /// Print the budget verdict for a site; exit 0 pass/warning, 1 breach, 2 insufficient data or error.
    Verdict {
        /// Site key, as in the script tag's `data-site` (e.g. `demo`).
        #[arg(long)]
        site: String,
        /// Only pages whose path starts with this prefix.
        #[arg(long)]
        path: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// CI gate: judge a budget.json (Lighthouse format + `strray` extension) and
    /// optionally a regression against a baseline. Exit 0 pass, 1 budget breached
    /// or regression, 2 insufficient data or bad input.
    Check(CheckArgs),
    /// Fill the database with realistic synthetic traffic (demo and benchmarks).
    SeedDemo {
        /// Metric rows to write (about 7 per page view).
        #[arg(long, default_value_t = 200_000)]
        rows: u64,
        /// Days of history, ending now.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Comma-separated site keys.
        #[arg(long, default_value = "demo,shop,news,docs")]
        sites: String,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Do nothing when the database already holds metrics.
        #[arg(long)]
        if_empty: bool,
    },
    /// Time p75 per metric for one site from rollups vs percentile_cont over raw rows (PostgreSQL).
    BenchReports {
        #[arg(long, default_value = "shop")]
        site: String,
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Timed repetitions of each query (the median is reported).
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Budget file; absent: the built-in budget (FCP 2000, LCP 2500, INP 200, CLS 0.1, TTI 5000).
    #[arg(long)]
    budget: Option<std::path::PathBuf>,
    /// Site key, as in the script tag's `data-site` (e.g. `shop`).
    #[arg(long)]
    site: String,
    /// Judge only page views of this release (the judged window is --window-hours).
    #[arg(long)]
    release: Option<String>,
    /// Baseline: this release, in the judged window or, if it ended before, its own last window.
    #[arg(long, conflicts_with = "baseline_window_hours")]
    baseline_release: Option<String>,
    /// Baseline: all other releases' page views in the N hours before the judged window.
    #[arg(long)]
    baseline_window_hours: Option<u32>,
    /// Regression tolerance as a fraction (default 0.1 = 10 %).
    #[arg(long)]
    tolerance: Option<f64>,
    #[arg(long, value_enum, default_value = "human")]
    format: collector::check::render::Format,
    /// Ask a running collector (`http://host:port`, sends STRRAY_READ_TOKEN) instead of the database.
    #[arg(long)]
    collector: Option<String>,
}

/// The database of a read-only command: opened only if it exists, so a
/// mistyped or missing DATABASE_URL is an error naming what was read instead
/// of a new empty database and a misleading "insufficient data".
async fn open_existing(settings: &Settings, site: &str) -> anyhow::Result<Store> {
    let url = settings.database_url();
    let shown = shown_url(&url);
    let how = "point at another with DATABASE_URL or --database-url \
               (the demo's is sqlite://target/demo/strray.db)";
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let path = rest.trim_start_matches("//");
        let path = path.split('?').next().unwrap_or(path);
        if path != ":memory:" && !std::path::Path::new(path).exists() {
            anyhow::bail!("no database at {shown} (file {path} does not exist); {how}");
        }
    }
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    let sites = store.sites().await?;
    if !sites.iter().any(|s| s == site) {
        let known = if sites.is_empty() {
            "it holds no data".to_string()
        } else {
            format!("sites with data: {}", sites.join(", "))
        };
        anyhow::bail!("site '{site}' has no data in {shown} ({known}); {how}");
    }
    Ok(store)
}

/// A database URL fit for messages: without its password.
fn shown_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// `--config FILE`, `--config=FILE` or `STRRAY_CONFIG`, looked up before clap
/// parses, because the file provides defaults for that parse.
fn settings_file() -> Option<std::path::PathBuf> {
    let mut args = std::env::args_os();
    while let Some(a) = args.next() {
        if a == "--config" {
            return args.next().map(Into::into);
        }
        if let Some(p) = a.to_str().and_then(|s| s.strip_prefix("--config=")) {
            return Some(p.into());
        }
    }
    std::env::var_os("STRRAY_CONFIG").map(Into::into)
}

fn main() -> ExitCode {
    if let Some(path) = settings_file() {
        let known: Vec<String> = <Cli as clap::CommandFactory>::command()
            .get_arguments()
            .filter_map(|a| a.get_env())
            .filter_map(|e| e.to_str().map(str::to_string))
            .chain(
                collector::configuration::EXTRA_ENV
                    .iter()
                    .map(|s| s.to_string()),
            )
            .collect();
        if let Err(e) = collector::configuration::load_settings_file(&path, &known) {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    // Settings are global: accepted before or after the subcommand.
    let matches = Cli::command().mut_args(|a| a.global(true)).get_matches();
    // `--window-hours` given on purpose (not the default) is sent to a
    // remote collector; otherwise that collector's own default applies.
    let window_explicit = !matches!(
        matches.value_source("window_hours"),
        Some(ValueSource::DefaultValue) | None
    );
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let json_logs = std::env::var("STRRAY_LOG_FORMAT")
        .map(|v| v == "json")
        .unwrap_or(false);
    collector::telemetry::init(json_logs);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(cli, window_explicit)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli, window_explicit: bool) -> anyhow::Result<ExitCode> {
    let settings = cli.settings;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings).await?;
            tracing::info!(addr = %app.addr(), "collector listening");
            // On stdout whatever RUST_LOG says: a supervisor or test that bound
            // port 0 reads the real address from this line.
            println!("strray-collector listening on http://{}", app.addr());
            // Type=notify units: ready once migrated and bound. A no-op
            // without NOTIFY_SOCKET; a failure to tell is not a reason to stop.
            if let Err(e) = sd_notify::notify(&[sd_notify::NotifyState::Ready]) {
                tracing::warn!(error = %e, "could not notify systemd of readiness");
            }
            let lost = app.run_until_stopped().await?;
            // The last line, whatever RUST_LOG says: a shutdown that lost
            // accepted rows must not look like a clean one (exit 3).
            eprintln!("strray-collector stopped: rows_not_written={lost}");
            Ok(if lost > 0 {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Healthcheck { url } => healthcheck(url, &settings.bind).await,
        Command::Migrate => {
            let store = Store::connect(&settings.database_url()).await?;
            store.migrate().await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::SeedDemo {
            rows,
            days,
            sites,
            seed,
            if_empty,
        } => {
            let store = Store::connect(&settings.database_url()).await?;
            store.migrate().await?;
            if if_empty && !store.sites().await?.is_empty() {
                eprintln!("database already holds metrics; not seeding");
                return Ok(ExitCode::SUCCESS);
            }
            let opts = collector::seed::SeedOptions {
                rows,
                days,
                sites: sites.split(',').map(|s| s.trim().to_string()).collect(),
                seed,
                end: chrono::Utc::now(),
                chunk: 5_000,
            };
            let started = std::time::Instant::now();
            let n = collector::seed::seed(&store, &opts).await?;
            eprintln!(
                "wrote {n} metric rows in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::BenchReports { site, days, runs } => {
            let store = Store::connect(&settings.database_url()).await?;
            store.migrate().await?;
            let table = collector::bench::run(&store, &site, days, runs.max(1)).await?;
            #[allow(clippy::print_stdout)] // the benchmark's table is its output
            {
                println!("{table}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Verdict { site, path, json } => {
            collector::domain::SiteKey::parse(&site).map_err(anyhow::Error::msg)?;
            let store = open_existing(&settings, &site).await?;
            let budget = Budget::default_with_min_samples(settings.min_samples);
            let v = collector::verdict::compute(
                &store,
                &budget,
                &site,
                path.as_deref(),
                settings.window_hours,
                chrono::Utc::now(),
            )
            .await?;
            let out = if json {
                serde_json::to_string_pretty(&v)?
            } else {
                collector::verdict::render_table(&v)
            };
            #[allow(clippy::print_stdout)] // the CLI's output is its purpose
            {
                println!("{out}");
            }
            Ok(match v.status {
                Severity::Pass | Severity::Warning => ExitCode::SUCCESS,
                s if s.is_breach() => ExitCode::from(1),
                _ => ExitCode::from(2),
            })
        }
        Command::Check(args) => check(args, &settings, window_explicit).await,
    }
}

async fn healthcheck(url: Option<String>, bind: &str) -> anyhow::Result<ExitCode> {
    let url = match url {
        Some(u) => u,
        None => {
            let addr: std::net::SocketAddr = bind
                .parse()
                .map_err(|e| anyhow::anyhow!("STRRAY_BIND {bind:?}: {e}"))?;
            // A wildcard bind (0.0.0.0 inside a container) is reached via loopback.
            let ip = match addr.ip() {
                std::net::IpAddr::V4(v4) if v4.is_unspecified() => {
                    std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
                }
                std::net::IpAddr::V6(v6) if v6.is_unspecified() => {
                    std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
                }
                ip => ip,
            };
            format!(
                "http://{}/healthz",
                std::net::SocketAddr::new(ip, addr.port())
            )
        }
    };
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()?;
    match client.get(&url).send().await {
        Ok(r) if r.status().is_success() => Ok(ExitCode::SUCCESS),
        Ok(r) => {
            eprintln!("{url}: {}", r.status());
            Ok(ExitCode::from(1))
        }
        Err(e) => {
            eprintln!("{url}: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

async fn check(
    a: CheckArgs,
    settings: &Settings,
    window_explicit: bool,
) -> anyhow::Result<ExitCode> {
    use collector::check::{self, CheckRequest};
    collector::domain::SiteKey::parse(&a.site).map_err(anyhow::Error::msg)?;
    let budget = match &a.budget {
        None => None,
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))?;
            // Validate locally first so a bad file fails the same way in both modes.
            collector::budget_file::BudgetFile::parse_str(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            Some(serde_json::from_str(&text)?)
        }
    };
    let req = CheckRequest {
        budget,
        window_hours: window_explicit.then_some(settings.window_hours),
        min_samples: None,
        release: a.release,
        baseline_release: a.baseline_release,
        baseline_window_hours: a.baseline_window_hours,
        tolerance: a.tolerance,
    };
    let report = match &a.collector {
        Some(url) => {
            check::client::remote(url, &a.site, &req, settings.read_token.as_deref()).await?
        }
        None => {
            let opts = req
                .into_options(settings.window_hours, settings.min_samples)
                .map_err(anyhow::Error::msg)?;
            let store = open_existing(settings, &a.site).await?;
            let r = check::run(&store, &a.site, &opts, chrono::Utc::now()).await?;
            store.close().await;
            r
        }
    };
    #[allow(clippy::print_stdout)] // the CLI's output is its purpose
    {
        print!("{}", check::render::render(&report, a.format));
    }
    Ok(ExitCode::from(report.outcome.exit_code()))
}
