-- Embedded equivalent of migrations/postgres/…071: rows the database refused,
-- with the error (see the PostgreSQL file). Times are Unix epoch milliseconds.
CREATE TABLE metric_dead_letter (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    refused_at_ms INTEGER NOT NULL,
    error         TEXT NOT NULL,
    row_json      TEXT NOT NULL
);
