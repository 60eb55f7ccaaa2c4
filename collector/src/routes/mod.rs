//! HTTP routes, one module per URL family. The route table is in `startup.rs`.

pub mod agent;
pub mod check;
pub mod dashboard;
pub mod health;
pub mod ingest;
pub mod reports;
pub mod sites;
pub mod web_vitals;
