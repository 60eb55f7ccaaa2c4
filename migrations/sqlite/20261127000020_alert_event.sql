-- Alert history: one row per announced transition of a (site, path, metric)
-- budget state (fired, escalated, recovered), with the webhook delivery results.
CREATE TABLE alert_event (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    site              TEXT NOT NULL,
    path              TEXT NOT NULL,
    metric            TEXT NOT NULL,
    kind              TEXT NOT NULL,
    severity          TEXT NOT NULL,
    previous_severity TEXT,
    value             REAL,
    budget            REAL NOT NULL,
    samples           INTEGER NOT NULL,
    message           TEXT NOT NULL,
    deliveries        TEXT NOT NULL,             -- JSON array
    created_at_ms     INTEGER NOT NULL
);

CREATE INDEX alert_event_site_time ON alert_event (site, created_at_ms);
