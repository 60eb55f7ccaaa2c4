-- One row per metric instance of a page view: the latest value the agent sent.
-- Re-sent metrics (same site, page view and metric id) update the row in place,
-- so counting rows never double counts (see storage: ON CONFLICT … WHERE seq is newer).
CREATE TABLE metric (
    id               BIGSERIAL PRIMARY KEY,
    site             TEXT NOT NULL,
    page_view_id     TEXT NOT NULL,
    metric_id        TEXT NOT NULL,
    name             TEXT NOT NULL,             -- FCP, LCP, FID, CLS, TTI, INP, TTFB, TBT
    value            DOUBLE PRECISION NOT NULL, -- ms, except CLS (unitless)
    delta            DOUBLE PRECISION NOT NULL,
    rating           TEXT NOT NULL,             -- good | needs-improvement | poor
    navigation_type  TEXT NOT NULL,
    url              TEXT NOT NULL,             -- page URL without fragment
    path             TEXT NOT NULL,
    route            TEXT NOT NULL,             -- declared route or normalised path
    sample_rate      DOUBLE PRECISION NOT NULL, -- weight each row by 1 / sample_rate
    release          TEXT,
    connection       TEXT,                      -- effective connection type
    form_factor      TEXT NOT NULL,             -- desktop | phone | tablet | other
    browser          TEXT NOT NULL,
    engine           TEXT NOT NULL,
    country          TEXT,
    attribution      JSONB,
    seq              INTEGER NOT NULL,          -- beacon sequence number within the page view
    received_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT metric_instance UNIQUE (site, page_view_id, metric_id)
);

-- Serves the budget verdict and reports: one site, one metric, a time window.
CREATE INDEX metric_site_name_time ON metric (site, name, received_at);
