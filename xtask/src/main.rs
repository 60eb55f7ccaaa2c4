//! `cargo xtask <task>`: every build, test and demo step, in Rust, so a fresh
//! machine needs nothing beyond cargo, npm and the Debian packages `.ci/run` installs.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

mod agent;
mod bench;
mod bench_agent;
mod bench_open;
mod bench_reports;
mod demo;
mod deploy;
mod pg;
mod test;

#[derive(Parser)]
#[command(name = "xtask", about = "StrRay Vitals build orchestration")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Build the wasm agent and its loader into target/agent-dist.
    BuildAgent,
    /// Run every test: unit, API (PostgreSQL + SQLite) and browser (headless Chromium).
    Test {
        /// Skip the headless-Chromium suite.
        #[arg(long)]
        no_browser: bool,
    },
    /// Build everything and run the demo: collector on SQLite, demo page, dashboard.
    Demo {
        /// Port of the collector (agent, ingest, dashboard).
        #[arg(long, default_value_t = 8787)]
        collector_port: u16,
        /// Port of the demo web site (a different origin, like a real customer site).
        #[arg(long, default_value_t = 8080)]
        site_port: u16,
    },
    /// Measure the agent's size (raw, gzip, brotli) and what the bytes are.
    BenchSize,
    /// Ingest throughput/latency/RSS on PostgreSQL vs an nginx-204 ceiling (needs wrk, nginx).
    BenchIngest {
        #[arg(long, default_value_t = 10)]
        secs: u32,
        #[arg(long, default_value_t = 32)]
        connections: u32,
    },
    /// Open mode (no STRRAY_SITES) fed beacons that each invent a site key and
    /// a route: RSS of the release collector and its route registry (needs wrk).
    BenchOpenMode {
        /// Beacons to have accepted, each with a new site key and route.
        #[arg(long, default_value_t = 1_000_000)]
        beacons: u64,
    },
    /// A short coverage-guided fuzz run of the beacon parser (installs
    /// cargo-fuzz first if it is missing); prints libFuzzer's summary.
    BenchFuzz {
        #[arg(long, default_value_t = 60)]
        secs: u32,
    },
    /// Measure the agent's main-thread cost in headless Chromium (≥ 10 loads).
    BenchAgent {
        /// Page loads with the agent (and as many without).
        #[arg(default_value_t = 15)]
        loads: u32,
    },
    /// Check deploy/ (hadolint, kubernetes-validate per overlay, compose config,
    /// systemd-analyze), build the image with podman and run it against PostgreSQL,
    /// headless Chromium and a SIGTERM under load.
    DeployTest {
        /// Only the file checks (no image build, no container).
        #[arg(long)]
        static_only: bool,
        /// Run the container test on the image a previous run built (iterating
        /// on the test); without it the image is built anew.
        #[arg(long)]
        reuse_image: bool,
    },
    /// Make deploy-test's two base images from Debian packages (mmdebstrap |
    /// podman import) unless they exist; `.ci/run` runs it in the background.
    DeployBases,
    /// Container image size and cold start (podman run → /healthz answers).
    BenchImage {
        #[arg(long, default_value_t = 5)]
        runs: u32,
    },
    /// Reports benchmark: rollups vs raw percentile_cont on 10 M rows, dashboard load time.
    BenchReports {
        /// Metric rows to generate (once) into database strray_bench.
        #[arg(long, default_value_t = 10_000_000)]
        rows: u64,
        #[arg(long, default_value = "shop")]
        site: String,
    },
}

fn main() -> Result<()> {
    match Cli::parse().task {
        Task::BuildAgent => {
            let dist = agent::build()?;
            agent::print_sizes(&dist)?;
            Ok(())
        }
        Task::Test { no_browser } => test::run(!no_browser),
        Task::Demo {
            collector_port,
            site_port,
        } => demo::run(collector_port, site_port),
        Task::BenchIngest { secs, connections } => bench::ingest(secs, connections),
        Task::BenchReports { rows, site } => bench_reports::run(rows, &site),
        Task::BenchSize => {
            let dist = agent::build()?;
            agent::print_sizes(&dist)?;
            agent::print_breakdown(&dist)
        }
        Task::DeployTest {
            static_only,
            reuse_image,
        } => deploy::test(static_only, reuse_image),
        Task::DeployBases => deploy::base_images().map(drop),
        Task::BenchImage { runs } => deploy::bench(runs.max(1)),
        Task::BenchAgent { loads } => bench_agent::run(loads.max(10)),
        Task::BenchOpenMode { beacons } => bench_open::run(beacons),
        Task::BenchFuzz { secs } => {
            // No machine has cargo-fuzz preinstalled: installed (pinned) on first use.
            let installed = cargo()
                .args(["fuzz", "--version"])
                .output()
                .is_ok_and(|o| o.status.success());
            if !installed {
                eprintln!("xtask: installing cargo-fuzz {CARGO_FUZZ_VERSION}");
                run(cargo().args([
                    "install",
                    "cargo-fuzz",
                    "--locked",
                    "--version",
                    CARGO_FUZZ_VERSION,
                ]))?;
            }
            // cargo-fuzz passes nightly-only flags; RUSTC_BOOTSTRAP unlocks them on stable.
            let fuzz = root().join("collector/fuzz");
            run(cargo()
                .current_dir(&fuzz)
                .env("RUSTC_BOOTSTRAP", "1")
                .args(["fuzz", "run", "beacon", "corpus/beacon", "--"])
                .arg(format!("-max_total_time={secs}")))
        }
    }
}

/// The cargo-fuzz `bench-fuzz` installs when it is missing.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Runs a command to completion, failing with its command line when it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    let desc = format!("{cmd:?}");
    let status = cmd.status().with_context(|| format!("starting {desc}"))?;
    if !status.success() {
        bail!("{desc} failed with {status}");
    }
    Ok(())
}

/// Builds the release collector (the benchmarks' and the demo's).
pub fn build_release_collector() -> Result<()> {
    run(cargo().current_dir(root()).args([
        "build",
        "--release",
        "-p",
        "collector",
        "--bin",
        "strray-collector",
    ]))
}

pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}
