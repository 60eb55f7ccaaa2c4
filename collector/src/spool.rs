//! The durable spool: accepted beacons on local disk (a SQLite file) before
//! the 2xx, drained into the database oldest first.
//!
//! With `STRRAY_SPOOL_PATH` set, a 2xx means the beacon's rows are committed
//! to the spool file (WAL, `synchronous = FULL`: fsynced). Appends are
//! group-committed: one task takes every append waiting, writes them in one
//! transaction and answers them all, so one fsync serves many requests under
//! load. The spool is bounded by `STRRAY_SPOOL_MAX_BYTES`; when full the
//! endpoint answers 503 with `Retry-After`. The drainer writes the oldest
//! entries to the database with the batch writer's rules (retry while
//! unreachable, dead-letter refused rows) and deletes them only after that
//! commit. A crash between the two replays the entries at the next start; the
//! upsert keeps the first of equal sequence numbers, so a replay changes
//! nothing: every 2xx'd beacon is stored exactly once. SQLite is chosen over
//! a home-made log for its crash safety (the same reason Sentry Relay spools
//! envelopes into SQLite); sqlx's SQLite driver is already a dependency.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::ingest::{IngestStats, write_batch};
use crate::storage::{Merge, MetricRow, Store, is_transient};

/// Why an append was not accepted.
#[derive(Debug)]
pub enum SpoolError {
    /// The spool holds `STRRAY_SPOOL_MAX_BYTES`: the caller answers 503.
    Full,
    /// The spool file could not be written (disk full, I/O error): also 503,
    /// nothing was acknowledged.
    Io(sqlx::Error),
}

/// Gauges and counters the spool keeps for `/metrics`.
#[derive(Default, Debug)]
pub struct SpoolStats {
    pub bytes: AtomicU64,
    pub entries: AtomicU64,
    /// Receive time (ms since the epoch) of the oldest entry; 0 when empty.
    pub oldest_ms: AtomicI64,
    pub rows_drained: AtomicU64,
    pub max_bytes: u64,
    /// An append was refused for room and nothing was drained since: full
    /// even when the bytes are a little under the bound.
    refused: AtomicBool,
}

struct Append {
    body: Vec<u8>,
    rows: i64,
    received_ms: i64,
    done: oneshot::Sender<Result<(), sqlx::Error>>,
}

#[derive(Clone)]
pub struct Spool {
    tx: mpsc::Sender<Append>,
    pub stats: Arc<SpoolStats>,
}

/// Appends waiting beyond this are refused with 503 rather than queued in memory.
const APPEND_QUEUE: usize = 4096;
/// Most appends committed in one transaction.
const GROUP_MAX: usize = 1024;

impl Spool {
    /// Opens (or creates) the spool file; entries left by an earlier process
    /// are drained first.
    pub async fn open(path: &Path, max_bytes: u64) -> anyhow::Result<(Spool, SpoolReader)> {
        let opts = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: each commit fsyncs the WAL, so a committed append survives
            // power loss, not only a process crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(opts)
            .await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS spool (
                id          INTEGER PRIMARY KEY,
                received_ms INTEGER NOT NULL,
                rows        INTEGER NOT NULL,
                body        BLOB NOT NULL)",
        )
        .execute(&pool)
        .await?;
        // Entries that could not be read back, kept for an operator.
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS spool_unreadable (
                id          INTEGER PRIMARY KEY,
                received_ms INTEGER NOT NULL,
                rows        INTEGER NOT NULL,
                body        BLOB NOT NULL)",
        )
        .execute(&pool)
        .await?;
        let row = sqlx::query(
            "SELECT COALESCE(SUM(length(body)), 0), COUNT(*), COALESCE(MIN(received_ms), 0) FROM spool",
        )
        .fetch_one(&pool)
        .await?;
        let stats = Arc::new(SpoolStats {
            bytes: AtomicU64::new(row.try_get::<i64, _>(0)?.max(0) as u64),
            entries: AtomicU64::new(row.try_get::<i64, _>(1)?.max(0) as u64),
            oldest_ms: AtomicI64::new(row.try_get::<i64, _>(2)?),
            rows_drained: AtomicU64::new(0),
            max_bytes,
            refused: AtomicBool::new(false),
        });
        let (tx, rx) = mpsc::channel(APPEND_QUEUE);
        let appended = Arc::new(Notify::new());
        tokio::spawn(appender(pool.clone(), rx, stats.clone(), appended.clone()));
        Ok((
            Spool {
                tx,
                stats: stats.clone(),
            },
            SpoolReader {
                pool,
                stats,
                appended,
            },
        ))
    }

    /// True when the spool has no room: lets the endpoint refuse before
    /// reading the body, and `/readyz` say not ready.
    pub fn is_full(&self) -> bool {
        self.stats.refused.load(Ordering::Relaxed)
            || self.stats.bytes.load(Ordering::Relaxed) >= self.stats.max_bytes
    }

    /// Appends one beacon's rows; returns once they are fsynced.
    pub async fn append(&self, rows: &[MetricRow]) -> Result<(), SpoolError> {
        let body =
            serde_json::to_vec(rows).map_err(|e| SpoolError::Io(sqlx::Error::Encode(e.into())))?;
        if self.stats.bytes.load(Ordering::Relaxed) + body.len() as u64 > self.stats.max_bytes {
            self.stats.refused.store(true, Ordering::Relaxed);
            return Err(SpoolError::Full);
        }
        let received_ms = rows.first().map_or_else(
            || chrono::Utc::now().timestamp_millis(),
            |r| r.received_at.timestamp_millis(),
        );
        let (done, wait) = oneshot::channel();
        self.tx
            .try_send(Append {
                body,
                rows: rows.len() as i64,
                received_ms,
                done,
            })
            .map_err(|_| SpoolError::Full)?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(SpoolError::Io(e)),
            Err(_) => Err(SpoolError::Io(sqlx::Error::PoolClosed)),
        }
    }
}

/// Group commit: every append waiting goes into one transaction.
async fn appender(
    pool: SqlitePool,
    mut rx: mpsc::Receiver<Append>,
    stats: Arc<SpoolStats>,
    appended: Arc<Notify>,
) {
    let mut group = Vec::with_capacity(GROUP_MAX);
    while rx.recv_many(&mut group, GROUP_MAX).await > 0 {
        let result = commit_group(&pool, &group).await;
        if result.is_ok() {
            let bytes: u64 = group.iter().map(|a| a.body.len() as u64).sum();
            stats.bytes.fetch_add(bytes, Ordering::SeqCst);
            stats
                .entries
                .fetch_add(group.len() as u64, Ordering::SeqCst);
            if let Some(first) = group.first() {
                let _ = stats.oldest_ms.compare_exchange(
                    0,
                    first.received_ms,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                );
            }
            appended.notify_one();
        } else if let Err(e) = &result {
            tracing::error!(error = %e, beacons = group.len(), "spool append failed; answering 503");
        }
        for a in group.drain(..) {
            let _ = a.done.send(match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(sqlx::Error::Protocol(e.to_string())),
            });
        }
    }
}

/// Appends in one multi-row INSERT at most (a whole group): 3 parameters
/// each, well under SQLite's 32 766.
const APPENDS_PER_STATEMENT: usize = GROUP_MAX;

async fn commit_group(pool: &SqlitePool, group: &[Append]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    // One statement per group, not one per append: each statement is a round
    // trip to sqlx's SQLite worker thread, and those thread switches were a
    // third of the collector's CPU under load (perf, issue 16).
    for part in group.chunks(APPENDS_PER_STATEMENT) {
        let mut insert = sqlx::QueryBuilder::new("INSERT INTO spool (received_ms, rows, body) ");
        insert.push_values(part, |mut row, a| {
            row.push_bind(a.received_ms)
                .push_bind(a.rows)
                .push_bind(a.body.as_slice());
        });
        // Group sizes vary: not worth a cached prepared statement each.
        insert.build().persistent(false).execute(&mut *tx).await?;
    }
    tx.commit().await
}

/// Spool entries read together: (first id, last id, their rows, their bytes).
type Chunk = (i64, i64, Vec<MetricRow>, u64);

/// What a drain step did; Err: it failed (logged), so back off.
type Step = Result<Drained, ()>;

enum Drained {
    Nothing,
    Some,
}

/// The draining half: reads the oldest entries, deletes them once stored.
pub struct SpoolReader {
    pool: SqlitePool,
    stats: Arc<SpoolStats>,
    appended: Arc<Notify>,
}

impl SpoolReader {
    /// The oldest entries after id `after`, about `max_rows` rows: (first
    /// id, last id, rows, bytes).
    async fn oldest(&self, after: i64, max_rows: usize) -> Result<Option<Chunk>, sqlx::Error> {
        let entries = sqlx::query("SELECT id, body FROM spool WHERE id > ? ORDER BY id LIMIT ?")
            .bind(after)
            // Beacons carry ~4 metrics: about `max_rows` rows.
            .bind((max_rows / 4).clamp(1, 25_000) as i64)
            .fetch_all(&self.pool)
            .await?;
        let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
            return Ok(None);
        };
        let (first, last): (i64, i64) = (first.try_get("id")?, last.try_get("id")?);
        let mut bodies = Vec::with_capacity(entries.len());
        let mut bytes = 0;
        for e in &entries {
            let body: Vec<u8> = e.try_get("body")?;
            bytes += body.len() as u64;
            bodies.push((e.try_get::<i64, _>("id")?, body));
        }
        drop(entries);
        // Parsed off the runtime's worker threads: a merge reads chunk after
        // chunk, and parsing each (thousands of rows) on a worker delayed the
        // spool's group commit on it (issue 16: paced p99 latency).
        let parsed = tokio::task::spawn_blocking(move || {
            bodies
                .into_iter()
                .map(|(id, body)| (id, serde_json::from_slice::<Vec<MetricRow>>(&body)))
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "parsing spool entries failed");
            sqlx::Error::WorkerCrashed
        })?;
        let mut rows = Vec::new();
        for (id, entry) in parsed {
            match entry {
                Ok(r) => rows.extend(r),
                // Unreadable only if the file was damaged or written by
                // another version: it must neither block the rest nor vanish
                // with the range deleted after this batch, so it moves aside.
                Err(err) => {
                    sqlx::query(
                        "INSERT OR REPLACE INTO spool_unreadable
                         SELECT id, received_ms, rows, body FROM spool WHERE id = ?",
                    )
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                    tracing::error!(error = %err, id, "unreadable spool entry kept in spool_unreadable");
                }
            }
        }
        Ok(Some((first, last, rows, bytes)))
    }

    async fn remove(&self, first: i64, last: i64, bytes: u64) -> Result<(), sqlx::Error> {
        let n = sqlx::query("DELETE FROM spool WHERE id BETWEEN ? AND ?")
            .bind(first)
            .bind(last)
            .execute(&self.pool)
            .await?
            .rows_affected();
        self.stats.bytes.fetch_sub(
            bytes.min(self.stats.bytes.load(Ordering::SeqCst)),
            Ordering::SeqCst,
        );
        self.stats.entries.fetch_sub(
            n.min(self.stats.entries.load(Ordering::SeqCst)),
            Ordering::SeqCst,
        );
        // Ids grow with arrival: the first by id is the oldest, read through
        // the primary key rather than a scan of the spool.
        let oldest: Option<i64> =
            sqlx::query_scalar("SELECT received_ms FROM spool ORDER BY id LIMIT 1")
                .fetch_optional(&self.pool)
                .await?;
        self.stats
            .oldest_ms
            .store(oldest.unwrap_or(0), Ordering::SeqCst);
        // Room again: the endpoint and /readyz stop refusing.
        self.stats.refused.store(false, Ordering::Relaxed);
        Ok(())
    }

    /// Drains until `stop` is set and the spool is empty, or forever. On
    /// PostgreSQL about `merge_rows` rows go into one `Merge` (0: batch by
    /// batch, as on SQLite).
    pub async fn drain(
        self,
        store: Store,
        ingest: Arc<IngestStats>,
        batch_rows: usize,
        merge_rows: usize,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut backoff = Duration::from_millis(50);
        // Entries up to this id go batch by batch: their merge was refused,
        // and the batch writer finds and dead-letters the refused rows.
        let mut batch_by_batch = 0;
        loop {
            let step = match self.oldest(0, batch_rows).await {
                Ok(Some(chunk)) if merge_rows > 0 && chunk.0 > batch_by_batch => {
                    match store.begin_merge().await {
                        Some(merge) => {
                            let limits = (batch_rows, merge_rows);
                            self.merge(merge, &ingest, chunk, limits, &mut batch_by_batch)
                                .await
                        }
                        None => self.write(&store, &ingest, chunk).await,
                    }
                }
                Ok(Some(chunk)) => self.write(&store, &ingest, chunk).await,
                Ok(None) => Ok(Drained::Nothing),
                Err(e) => {
                    tracing::error!(error = %e, "reading the spool failed; retrying");
                    Err(())
                }
            };
            match step {
                Ok(Drained::Some) => backoff = Duration::from_millis(50),
                Ok(Drained::Nothing) => {
                    if *stop.borrow() {
                        return;
                    }
                    tokio::select! {
                        _ = self.appended.notified() => {}
                        _ = stop.changed() => {}
                        _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                    }
                }
                Err(()) => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// Stores one chunk with the batch writer (which retries while the
    /// database is unreachable and dead-letters refused rows), then removes it.
    async fn write(&self, store: &Store, ingest: &IngestStats, chunk: Chunk) -> Step {
        let (first, last, rows, bytes) = chunk;
        let n = rows.len() as u64;
        write_batch(store, rows, ingest).await;
        self.stats.rows_drained.fetch_add(n, Ordering::Relaxed);
        self.removed(first, last, bytes).await
    }

    /// Stages `chunk` and the entries after it, up to about `merge_rows` rows
    /// (or what the spool holds), and stores them in one transaction. A merge
    /// the database refuses for a row's content is rolled back and its entries
    /// go batch by batch (`batch_by_batch`); a connectivity error retries it.
    async fn merge(
        &self,
        merge: Result<Merge, sqlx::Error>,
        ingest: &IngestStats,
        chunk: Chunk,
        (batch_rows, merge_rows): (usize, usize),
        batch_by_batch: &mut i64,
    ) -> Step {
        enum Failure {
            Spool(sqlx::Error),
            Db(sqlx::Error),
        }
        let started = Instant::now();
        let (first, mut last, mut rows, mut bytes) = chunk;
        let mut received = Vec::new();
        let stored = async {
            let mut merge = merge.map_err(Failure::Db)?;
            loop {
                merge.stage(&rows).await.map_err(Failure::Db)?;
                received.extend(rows.iter().map(|r| r.received_at));
                if merge.rows() >= merge_rows {
                    break;
                }
                // Staged: its rows need not stay in memory while the next are read.
                rows = Vec::new();
                match self.oldest(last, batch_rows).await {
                    Ok(Some((_, next_last, next_rows, next_bytes))) => {
                        // Set before staging: a refusal covers this chunk too.
                        last = next_last;
                        rows = next_rows;
                        bytes += next_bytes;
                    }
                    Ok(None) => break,
                    Err(e) => return Err(Failure::Spool(e)),
                }
            }
            merge.commit().await.map_err(Failure::Db)
        }
        .await;
        match stored {
            Ok(()) => {
                let n = received.len() as u64;
                ingest.record_stored(received.into_iter(), started);
                self.stats.rows_drained.fetch_add(n, Ordering::Relaxed);
                self.removed(first, last, bytes).await
            }
            Err(Failure::Spool(e)) => {
                tracing::error!(error = %e, "reading the spool failed; retrying");
                Err(())
            }
            Err(Failure::Db(e)) => {
                ingest.write_errors.fetch_add(1, Ordering::Relaxed);
                if is_transient(&e) {
                    tracing::warn!(error = %e, "merge failed; retrying");
                    Err(())
                } else {
                    tracing::warn!(error = %e, first, last, "database refused a merge; writing its entries batch by batch to find the refused rows");
                    *batch_by_batch = last;
                    Ok(Drained::Some)
                }
            }
        }
    }

    /// Removes stored entries; on failure they stay and are replayed later,
    /// which changes nothing (the upsert keeps the first of equal seqs).
    async fn removed(&self, first: i64, last: i64, bytes: u64) -> Step {
        match self.remove(first, last, bytes).await {
            Ok(()) => Ok(Drained::Some),
            Err(e) => {
                tracing::error!(error = %e, "could not remove drained spool entries");
                Err(())
            }
        }
    }
}
