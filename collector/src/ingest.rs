//! The ingest pipeline: a bounded in-memory queue and one batch writer.
//!
//! A 2xx from the ingest endpoint means *queued*: the beacon's rows are in this
//! queue and will be written unless the process is killed without a chance to
//! drain (SIGKILL, power loss). While the database is down the writer keeps the
//! batch and retries with backoff; the queue then fills and the endpoint sheds
//! new beacons with 503. On SIGTERM the server stops accepting, then the writer
//! drains everything queued before the process exits (bounded by the grace period).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::storage::{MetricRow, Store, dedupe};

/// Outcome counters, exported on `/metrics`. Invariant:
/// rows_accepted = rows_stored + rows_dropped + rows queued.
#[derive(Default, Debug)]
pub struct IngestStats {
    pub beacons_accepted: AtomicU64,
    pub beacons_invalid_malformed: AtomicU64,
    pub beacons_invalid_content: AtomicU64,
    pub beacons_too_large: AtomicU64,
    pub beacons_bad_content_type: AtomicU64,
    pub beacons_forbidden: AtomicU64,
    pub beacons_shed: AtomicU64,
    pub beacons_rate_limited: AtomicU64,
    pub optional_fields_dropped: AtomicU64,
    pub rows_accepted: AtomicU64,
    pub rows_stored: AtomicU64,
    /// Rows given up on at shutdown after the grace period. Must stay 0.
    pub rows_dropped: AtomicU64,
    pub batches_written: AtomicU64,
    pub write_errors: AtomicU64,
    pub last_batch_rows: AtomicU64,
    pub last_flush_micros: AtomicU64,
}

impl IngestStats {
    pub fn rows_queued(&self) -> u64 {
        let accepted = self.rows_accepted.load(Ordering::Relaxed);
        let done =
            self.rows_stored.load(Ordering::Relaxed) + self.rows_dropped.load(Ordering::Relaxed);
        accepted.saturating_sub(done)
    }
}

/// The sending half, shared by all HTTP workers.
#[derive(Clone)]
pub struct IngestQueue {
    tx: mpsc::Sender<Vec<MetricRow>>,
    pub stats: Arc<IngestStats>,
}

#[derive(Debug)]
pub struct QueueFull;

impl IngestQueue {
    /// True when a beacon would be shed now: lets the endpoint refuse before
    /// reading and parsing the body, so overload costs little CPU (CPU the
    /// database needs to catch up).
    pub fn shed_early(&self) -> bool {
        if self.tx.capacity() == 0 {
            self.stats.beacons_shed.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// Queues one beacon's rows without waiting; a full queue is the caller's 503.
    pub fn try_enqueue(&self, rows: Vec<MetricRow>) -> Result<(), QueueFull> {
        let n = rows.len() as u64;
        // Count before sending so the writer can never store more than was accepted.
        self.stats.rows_accepted.fetch_add(n, Ordering::SeqCst);
        match self.tx.try_send(rows) {
            Ok(()) => {
                self.stats.beacons_accepted.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(_) => {
                self.stats.rows_accepted.fetch_sub(n, Ordering::SeqCst);
                self.stats.beacons_shed.fetch_add(1, Ordering::Relaxed);
                Err(QueueFull)
            }
        }
    }
}

pub struct WriterConfig {
    pub capacity: usize,
    pub batch_rows: usize,
    pub batch_interval: Duration,
    /// Batches written concurrently (each on its own connection).
    pub concurrency: usize,
}

/// Handle to stop the writer and wait for it to drain.
pub struct WriterHandle {
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    stats: Arc<IngestStats>,
}

impl WriterHandle {
    /// Stops accepting from the queue once it is empty; waits up to `grace` for
    /// the remaining rows to be written. Returns the rows that could not be.
    pub async fn drain(self, grace: Duration) -> u64 {
        let _ = self.shutdown.send(true);
        let deadline = tokio::time::sleep(grace);
        tokio::pin!(deadline);
        let mut task = self.task;
        tokio::select! {
            _ = &mut task => {}
            _ = &mut deadline => {
                task.abort();
                let lost = self.stats.rows_queued();
                self.stats.rows_dropped.fetch_add(lost, Ordering::SeqCst);
                tracing::error!(rows = lost, "shutdown grace period over; queued rows were not written");
            }
        }
        self.stats.rows_queued()
    }
}

pub fn spawn_writer(
    store: Store,
    cfg: WriterConfig,
    stats: Arc<IngestStats>,
) -> (IngestQueue, WriterHandle) {
    let (tx, rx) = mpsc::channel(cfg.capacity.max(1));
    let (shutdown, shutdown_rx) = watch::channel(false);
    let task = tokio::spawn(writer_loop(store, rx, shutdown_rx, cfg, stats.clone()));
    (
        IngestQueue {
            tx,
            stats: stats.clone(),
        },
        WriterHandle {
            shutdown,
            task,
            stats,
        },
    )
}

async fn writer_loop(
    store: Store,
    mut rx: mpsc::Receiver<Vec<MetricRow>>,
    mut shutdown: watch::Receiver<bool>,
    cfg: WriterConfig,
    stats: Arc<IngestStats>,
) {
    let mut closing = false;
    let permits = Arc::new(tokio::sync::Semaphore::new(cfg.concurrency.max(1)));
    let mut writes = tokio::task::JoinSet::new();
    loop {
        let mut batch: Vec<MetricRow> = Vec::new();
        // Wait for the first beacon of a batch (or for shutdown).
        tokio::select! {
            item = rx.recv() => match item {
                Some(rows) => batch.extend(rows),
                None => break, // closed and empty: drained
            },
            _ = shutdown.changed(), if !closing => {
                closing = true;
                // Refuse new sends; recv() still yields what is queued, then None.
                rx.close();
                continue;
            }
        }
        // Fill the batch until it is full or the interval has passed.
        let deadline = tokio::time::Instant::now() + cfg.batch_interval;
        while batch.len() < cfg.batch_rows {
            tokio::select! {
                item = rx.recv() => match item {
                    Some(rows) => batch.extend(rows),
                    None => break,
                },
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        // Bounded concurrency: wait for a free slot, then write in the background.
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let (store, stats) = (store.clone(), stats.clone());
        writes.spawn(async move {
            write_with_retry(&store, batch, &stats).await;
            drop(permit);
        });
        // Reap finished writes so the set stays small.
        while writes.try_join_next().is_some() {}
    }
    while writes.join_next().await.is_some() {}
}

/// Writes one batch, retrying with capped exponential backoff until it lands.
/// Never gives up on its own: only the shutdown grace period can stop it.
async fn write_with_retry(store: &Store, mut batch: Vec<MetricRow>, stats: &IngestStats) {
    let n = batch.len() as u64;
    dedupe(&mut batch); // also sorts by key: concurrent batches lock rows in one order
    let mut backoff = Duration::from_millis(50);
    loop {
        let started = Instant::now();
        match store.insert_metrics(&batch).await {
            Ok(()) => {
                stats.rows_stored.fetch_add(n, Ordering::SeqCst);
                stats.batches_written.fetch_add(1, Ordering::Relaxed);
                stats.last_batch_rows.store(n, Ordering::Relaxed);
                stats
                    .last_flush_micros
                    .store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                return;
            }
            Err(e) => {
                stats.write_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, rows = n, retry_in_ms = backoff.as_millis() as u64, "batch write failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}
