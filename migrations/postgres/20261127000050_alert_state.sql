-- The alert state machine of each (site, budget path, metric): the announced
-- severity, the breach streak, the last fires (collector/src/alerts/machine.rs).
-- Kept in the database, not in one process, so that a restarted collector
-- neither repeats an alert it already sent nor forgets to announce the
-- recovery, and so that several collectors on one database alert once: the
-- evaluation runs under an advisory lock, with the state read and written here.
CREATE TABLE alert_state (
    site       TEXT NOT NULL,
    path       TEXT NOT NULL,
    metric     TEXT NOT NULL,
    state      JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (site, path, metric)
);
