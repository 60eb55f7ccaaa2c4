use std::process::ExitCode;

use clap::{Parser, Subcommand};
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
    /// Print the budget verdict for a site; exit 0 pass/warning, 1 breach, 2 insufficient data or error.
    Verdict {
        #[arg(long)]
        site: String,
        /// Only pages whose path starts with this prefix.
        #[arg(long)]
        path: Option<String>,
        /// Window in hours (default: STRRAY_WINDOW_HOURS).
        #[arg(long)]
        window_hours: Option<u32>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
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

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = cli.settings;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings).await?;
            tracing::info!(port = app.port(), "collector listening");
            app.run_until_stopped().await?;
            Ok(ExitCode::SUCCESS)
        }
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
        Command::Verdict {
            site,
            path,
            window_hours,
            json,
        } => {
            collector::domain::SiteKey::parse(&site).map_err(anyhow::Error::msg)?;
            let store = Store::connect(&settings.database_url()).await?;
            store.migrate().await?;
            let budget = Budget::default_with_min_samples(settings.min_samples);
            let v = collector::verdict::compute(
                &store,
                &budget,
                &site,
                path.as_deref(),
                window_hours.unwrap_or(settings.window_hours),
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
    }
}
