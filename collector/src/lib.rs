//! StrRay Vitals collector.
//!
//! Request path of a beacon: `routes::ingest` (size → content type → site and
//! origin → parse into `domain::Beacon`) → `ingest::IngestQueue` (bounded) →
//! batch writer → `storage::Store` (PostgreSQL or SQLite). The verdict reads
//! samples back through `storage` and judges them with pure code in `budget`.

pub mod alerts;
pub mod auth;
pub mod bench;
pub mod budget;
pub mod budget_file;
pub mod check;
pub mod configuration;
pub mod domain;
pub mod error;
pub mod histogram;
pub mod ingest;
pub mod ratelimit;
pub mod reports;
pub mod routes;
pub mod seed;
pub mod spool;
pub mod startup;
pub mod storage;
pub mod telemetry;
pub mod verdict;
pub mod weight_report;
pub mod wire;
