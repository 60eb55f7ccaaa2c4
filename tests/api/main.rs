//! API tests: a live collector on port 0 over a fresh database, for each backend.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod access;
mod agent_assets;
mod alerts;
mod bad_input;
mod check;
mod claims;
mod faults;
mod ingest;
mod partitions;
mod reports;
mod rollups;
mod tidy;
mod verdict;
mod web_vitals;
mod weight;
mod weight_budgets;
mod weight_ingest;
