-- Alert history: one row per announced transition of a (site, path, metric)
-- budget state (fired, escalated, recovered), with the webhook delivery results.
CREATE TABLE alert_event (
    id                BIGSERIAL PRIMARY KEY,
    site              TEXT NOT NULL,
    path              TEXT NOT NULL,             -- budget path pattern
    metric            TEXT NOT NULL,
    kind              TEXT NOT NULL,             -- fired | escalated | recovered
    severity          TEXT NOT NULL,
    previous_severity TEXT,
    value             DOUBLE PRECISION,
    budget            DOUBLE PRECISION NOT NULL,
    samples           BIGINT NOT NULL,
    message           TEXT NOT NULL,
    deliveries        JSONB NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL
);

CREATE INDEX alert_event_site_time ON alert_event (site, created_at);
