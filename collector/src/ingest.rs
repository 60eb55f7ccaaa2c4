//! The ingest pipeline: a bounded in-memory queue and one batch writer.
//!
//! A 2xx from the ingest endpoint means *queued*: the beacon's rows are in this
//! queue and will be written (or, if the database refuses a row for its
//! content, kept in `metric_dead_letter`) unless the process is killed without
//! a chance to drain (SIGKILL, power loss) or the shutdown grace runs out —
//! then the loss is counted, logged and turned into a non-zero exit code.
//! While the database is unreachable the writer keeps the batch and retries
//! with backoff; the queue then fills and the endpoint sheds new beacons with
//! 503. A batch the database refuses for another reason is split until the
//! refused rows are found: the rest is stored, the refused rows dead-lettered,
//! so one bad row can never stall ingest. On SIGTERM the server stops
//! accepting, then the writer drains everything queued before the process
//! exits (bounded by the grace period).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::storage::{MetricRow, Store, dedupe, is_transient};

/// Outcome counters, exported on `/metrics`. Invariant:
/// rows_accepted = rows_stored + rows_refused + rows_dropped + rows queued.
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
    /// Rows the database refused for their content, kept in `metric_dead_letter`.
    pub rows_refused: AtomicU64,
    /// Rows given up on at shutdown after the grace period. Must stay 0.
    pub rows_dropped: AtomicU64,
    pub batches_written: AtomicU64,
    pub write_errors: AtomicU64,
    pub last_batch_rows: AtomicU64,
    pub last_flush_micros: AtomicU64,
    /// When the writer last finished (stored or refused) part of a batch, or
    /// last found the queue empty: ms since the Unix epoch.
    pub last_progress_ms: AtomicU64,
    /// Receive (2xx) to commit, per stored row. Rollups are updated in the
    /// commit that stores the row, so this is also each rollup's freshness.
    pub rollup_lag: LagHistogram,
}

/// Upper bounds (ms) of the freshness histogram's buckets; one more counts the rest.
pub const LAG_BOUNDS_MS: [u64; 12] = [
    10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000,
];

/// A Prometheus-style histogram of lags, lock-free (one counter per bucket).
#[derive(Default, Debug)]
pub struct LagHistogram {
    counts: [AtomicU64; LAG_BOUNDS_MS.len() + 1],
    sum_ms: AtomicU64,
}

impl LagHistogram {
    pub fn record(&self, lag_ms: u64) {
        let i = LAG_BOUNDS_MS.partition_point(|&b| b < lag_ms);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ms.fetch_add(lag_ms, Ordering::Relaxed);
    }

    /// (upper bound in ms, None for +Inf; cumulative count), then the sum in ms.
    pub fn cumulative(&self) -> (Vec<(Option<u64>, u64)>, u64) {
        let mut total = 0;
        let buckets = self
            .counts
            .iter()
            .enumerate()
            .map(|(i, c)| {
                total += c.load(Ordering::Relaxed);
                (LAG_BOUNDS_MS.get(i).copied(), total)
            })
            .collect();
        (buckets, self.sum_ms.load(Ordering::Relaxed))
    }
}

impl IngestStats {
    pub fn rows_queued(&self) -> u64 {
        let accepted = self.rows_accepted.load(Ordering::Relaxed);
        let done = self.rows_stored.load(Ordering::Relaxed)
            + self.rows_refused.load(Ordering::Relaxed)
            + self.rows_dropped.load(Ordering::Relaxed);
        accepted.saturating_sub(done)
    }

    /// Counts rows just committed (stored, or superseded by a newer send in
    /// the same write) given their receive times, as one written batch.
    pub(crate) fn record_stored(
        &self,
        received: impl ExactSizeIterator<Item = chrono::DateTime<chrono::Utc>>,
        started: Instant,
    ) {
        let k = received.len() as u64;
        self.rows_stored.fetch_add(k, Ordering::SeqCst);
        self.batches_written.fetch_add(1, Ordering::Relaxed);
        self.last_batch_rows.store(k, Ordering::Relaxed);
        self.last_flush_micros
            .store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        let now = chrono::Utc::now();
        for at in received {
            let lag = (now - at).num_milliseconds().max(0) as u64;
            self.rollup_lag.record(lag);
        }
        self.touch_progress();
    }

    fn touch_progress(&self) {
        self.last_progress_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// True when rows are queued and the writer has finished nothing for
    /// `limit`: it is stuck (the database hangs or keeps failing).
    pub fn writer_stalled(&self, limit: Duration) -> bool {
        let idle = now_ms().saturating_sub(self.last_progress_ms.load(Ordering::Relaxed));
        self.rows_queued() > 0 && idle > limit.as_millis() as u64
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
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
    /// the remaining rows to be written. Returns the rows that could not be
    /// (also added to `rows_dropped`).
    pub async fn drain(self, grace: Duration) -> u64 {
        let _ = self.shutdown.send(true);
        let deadline = tokio::time::sleep(grace);
        tokio::pin!(deadline);
        let mut task = self.task;
        tokio::select! {
            _ = &mut task => {}
            _ = &mut deadline => {
                task.abort();
                // Wait for the abort: a write in flight either committed (and
                // was counted) or rolls back; then the count below is exact.
                let _ = (&mut task).await;
            }
        }
        // Whatever is still accepted-but-not-done is lost now.
        let lost = self.stats.rows_queued();
        if lost > 0 {
            self.stats.rows_dropped.fetch_add(lost, Ordering::SeqCst);
            tracing::error!(
                rows = lost,
                "shutdown grace period over; queued rows were not written"
            );
        }
        lost
    }
}

pub fn spawn_writer(
    store: Store,
    cfg: WriterConfig,
    stats: Arc<IngestStats>,
) -> (IngestQueue, WriterHandle) {
    let (tx, rx) = mpsc::channel(cfg.capacity.max(1));
    stats.touch_progress();
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
                Some(rows) => {
                    // With no write in flight the writer was idle until now,
                    // not stuck: the stall clock starts here.
                    while writes.try_join_next().is_some() {}
                    if writes.is_empty() {
                        stats.touch_progress();
                    }
                    batch.extend(rows)
                }
                None => break, // closed and empty: drained
            },
            _ = shutdown.changed(), if !closing => {
                closing = true;
                // Refuse new sends; recv() still yields what is queued, then None.
                rx.close();
                continue;
            }
        }
        // Fill the batch until it is full or the interval has passed. Shutdown
        // is watched here too: an interval longer than the grace would
        // otherwise hold this batch until the grace had run out.
        let deadline = tokio::time::Instant::now() + cfg.batch_interval;
        while batch.len() < cfg.batch_rows {
            tokio::select! {
                item = rx.recv() => match item {
                    Some(rows) => batch.extend(rows),
                    None => break,
                },
                _ = shutdown.changed(), if !closing => {
                    closing = true;
                    // What is queued still comes through recv(), then None.
                    rx.close();
                }
                _ = tokio::time::sleep_until(deadline), if !closing => break,
            }
        }
        // Bounded concurrency: wait for a free slot, then write in the background.
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let (store, stats) = (store.clone(), stats.clone());
        writes.spawn(async move {
            write_batch(&store, batch, &stats).await;
            drop(permit);
        });
        // Reap finished writes so the set stays small.
        while writes.try_join_next().is_some() {}
    }
    while writes.join_next().await.is_some() {}
}

/// Writes one batch. Connectivity errors are retried with capped exponential
/// backoff for as long as it takes (only the shutdown grace stops that). Any
/// other error means the database refuses some row's content: the part is
/// split in halves until each refused row stands alone; that row goes to the
/// dead-letter table and everything else is stored.
pub(crate) async fn write_batch(store: &Store, mut batch: Vec<MetricRow>, stats: &IngestStats) {
    let n = batch.len() as u64;
    dedupe(&mut batch); // also sorts by key: concurrent batches lock rows in one order
    // Rows superseded inside the batch are done: their newer row stands for them.
    let superseded = n - batch.len() as u64;
    stats.rows_stored.fetch_add(superseded, Ordering::SeqCst);
    let mut parts = vec![batch];
    let mut backoff = Duration::from_millis(50);
    while let Some(mut part) = parts.pop() {
        let started = Instant::now();
        let err = match store.insert_metrics(&part).await {
            Ok(()) => {
                stats.record_stored(part.iter().map(|r| r.received_at), started);
                backoff = Duration::from_millis(50);
                continue;
            }
            Err(e) => e,
        };
        stats.write_errors.fetch_add(1, Ordering::Relaxed);
        if is_transient(&err) {
            tracing::warn!(error = %err, rows = part.len(), retry_in_ms = backoff.as_millis() as u64, "batch write failed; retrying");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
            parts.push(part);
        } else if part.len() > 1 {
            tracing::warn!(error = %err, rows = part.len(), "database refused a batch; splitting it to find the refused rows");
            let right = part.split_off(part.len() / 2);
            parts.push(right);
            parts.push(part);
        } else {
            let row = &part[0];
            dead_letter(store, row, &err.to_string(), &mut backoff).await;
            stats.rows_refused.fetch_add(1, Ordering::SeqCst);
            stats.touch_progress();
        }
    }
}

/// Keeps a refused row in the dead-letter table, retrying while the database
/// is unreachable. If the table refuses it too, the row is logged in full
/// (as JSON) so an operator still has it.
async fn dead_letter(store: &Store, row: &MetricRow, error: &str, backoff: &mut Duration) {
    loop {
        match store.dead_letter(row, error).await {
            Ok(()) => {
                tracing::error!(error, site = %row.site, page_view_id = %row.page_view_id, metric_id = %row.metric_id, "database refused a row; kept in metric_dead_letter");
                return;
            }
            Err(e) if is_transient(&e) => {
                tokio::time::sleep(*backoff).await;
                *backoff = (*backoff * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                let json = serde_json::to_string(row).unwrap_or_default();
                tracing::error!(error, dead_letter_error = %e, row = %json, "database refused a row and its dead-letter entry; the row is only in this log line");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_histogram_counts_each_lag_in_the_first_bucket_that_holds_it() {
        let h = LagHistogram::default();
        for ms in [0, 10, 11, 60_000, 60_001] {
            h.record(ms);
        }
        let (buckets, sum) = h.cumulative();
        assert_eq!(buckets[0], (Some(10), 2), "0 and 10 ms are within 10 ms");
        assert_eq!(buckets[1], (Some(25), 3));
        assert_eq!(buckets[11], (Some(60_000), 4));
        assert_eq!(buckets[12], (None, 5), "+Inf counts everything");
        assert_eq!(sum, 120_022);
    }
}
