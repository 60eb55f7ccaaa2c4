//! `cargo xtask bench-agent [loads]`: the agent's main-thread cost in headless
//! Chromium (a benchmark that prints numbers, not a test). Builds the agent and
//! runs `tests/browser/bench-agent.mjs`, which serves the built files itself
//! (no collector or database needed).

use std::process::Command;

use anyhow::Result;

pub fn run(loads: u32) -> Result<()> {
    let root = crate::root();
    let dist = crate::agent::build()?;
    crate::agent::print_sizes(&dist)?;
    crate::run(
        Command::new("node")
            .current_dir(&root)
            .arg("tests/browser/bench-agent.mjs")
            .arg(loads.to_string())
            .env("STRRAY_AGENT_DIR", &dist.dir),
    )
}
