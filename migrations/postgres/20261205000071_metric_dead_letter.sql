-- Rows the database refused for a reason other than connectivity (a value the
-- column type or a constraint rejects). The batch writer splits a failing batch
-- until it has the refused rows, stores the rest, and keeps each refused row
-- here with the database's error, so nothing 2xx'd is silently lost and no row
-- can block the queue. `row_json` is text, not jsonb: the row may hold exactly
-- what jsonb refuses (U+0000), which JSON text carries as the escape \u0000.
CREATE TABLE metric_dead_letter (
    id          BIGSERIAL PRIMARY KEY,
    refused_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    error       TEXT NOT NULL,
    row_json    TEXT NOT NULL
);
