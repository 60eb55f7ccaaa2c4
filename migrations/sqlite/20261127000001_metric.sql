-- Embedded equivalent of migrations/postgres; times are Unix epoch milliseconds.
CREATE TABLE metric (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    site             TEXT NOT NULL,
    page_view_id     TEXT NOT NULL,
    metric_id        TEXT NOT NULL,
    name             TEXT NOT NULL,
    value            REAL NOT NULL,
    delta            REAL NOT NULL,
    rating           TEXT NOT NULL,
    navigation_type  TEXT NOT NULL,
    url              TEXT NOT NULL,
    path             TEXT NOT NULL,
    route            TEXT NOT NULL,
    sample_rate      REAL NOT NULL,
    release          TEXT,
    connection       TEXT,
    form_factor      TEXT NOT NULL,
    browser          TEXT NOT NULL,
    engine           TEXT NOT NULL,
    country          TEXT,
    attribution      TEXT,               -- JSON text
    seq              INTEGER NOT NULL,
    received_at_ms   INTEGER NOT NULL,
    CONSTRAINT metric_instance UNIQUE (site, page_view_id, metric_id)
);

CREATE INDEX metric_site_name_time ON metric (site, name, received_at_ms);
