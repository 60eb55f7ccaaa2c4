-- The alert state machine of each (site, budget path, metric), kept in the
-- database so that a restarted collector neither repeats an alert it already
-- sent nor forgets to announce the recovery (see the PostgreSQL migration).
CREATE TABLE alert_state (
    site          TEXT NOT NULL,
    path          TEXT NOT NULL,
    metric        TEXT NOT NULL,
    state         TEXT NOT NULL, -- JSON
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (site, path, metric)
);
