-- Embedded twin of migrations/postgres/20261127000030_rollups.sql: the same
-- tables with `hour` = epoch hours and `day` = epoch days (UTC), maintained by
-- row triggers: an insert adds the row; an update (re-sent metric) subtracts
-- the old row and adds the new one, so re-sent metrics never double count.
--
-- This SQLite build has no ln(), so buckets come from a lookup table of lower
-- bounds (bucket b ≥ 1 starts at 1.02^(b-1) in scaled units; bucket 0 holds
-- everything below 1), the same definition as collector/src/histogram.rs.
-- Rows stored before this migration are not backfilled (the embedded store is
-- for small and new installations).

CREATE TABLE hist_bucket (
    bucket INTEGER PRIMARY KEY,
    lower  REAL NOT NULL
);
CREATE UNIQUE INDEX hist_bucket_lower ON hist_bucket (lower);
INSERT INTO hist_bucket (bucket, lower) VALUES (0, -1e300);
INSERT INTO hist_bucket (bucket, lower)
    WITH RECURSIVE b(bucket, lower) AS (
        SELECT 1, 1.0
        UNION ALL SELECT bucket + 1, lower * 1.02 FROM b WHERE bucket < 1000
    )
    SELECT bucket, lower FROM b;

CREATE TABLE metric_rollup (
    site              TEXT NOT NULL,
    name              TEXT NOT NULL,
    hour              INTEGER NOT NULL,
    route             TEXT NOT NULL,
    form_factor       TEXT NOT NULL,
    engine            TEXT NOT NULL,
    country           TEXT NOT NULL,
    release           TEXT NOT NULL,
    samples           INTEGER NOT NULL,
    weight            REAL NOT NULL,
    good              REAL NOT NULL DEFAULT 0,
    needs_improvement REAL NOT NULL DEFAULT 0,
    poor              REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (site, hour, name, route, form_factor, engine, country, release)
) WITHOUT ROWID;

CREATE TABLE metric_rollup_hist (
    site        TEXT NOT NULL,
    name        TEXT NOT NULL,
    hour        INTEGER NOT NULL,
    route       TEXT NOT NULL,
    form_factor TEXT NOT NULL,
    engine      TEXT NOT NULL,
    country     TEXT NOT NULL,
    release     TEXT NOT NULL,
    bucket      INTEGER NOT NULL,
    samples     INTEGER NOT NULL,
    weight      REAL NOT NULL,
    PRIMARY KEY (site, hour, name, route, form_factor, engine, country, release, bucket)
) WITHOUT ROWID;

CREATE TABLE metric_site_day (
    site              TEXT NOT NULL,
    day               INTEGER NOT NULL,
    name              TEXT NOT NULL,
    samples           INTEGER NOT NULL,
    weight            REAL NOT NULL,
    good              REAL NOT NULL DEFAULT 0,
    needs_improvement REAL NOT NULL DEFAULT 0,
    poor              REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (site, day, name)
) WITHOUT ROWID;

CREATE TABLE metric_site_day_hist (
    site    TEXT NOT NULL,
    day     INTEGER NOT NULL,
    name    TEXT NOT NULL,
    bucket  INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    weight  REAL NOT NULL,
    PRIMARY KEY (site, day, name, bucket)
) WITHOUT ROWID;

CREATE TRIGGER metric_rollup_insert AFTER INSERT ON metric
BEGIN

    INSERT INTO metric_rollup (site, name, hour, route, form_factor, engine, country, release, samples, weight, good, needs_improvement, poor)
    VALUES (NEW.site, NEW.name, NEW.received_at_ms / 3600000, NEW.route, NEW.form_factor, NEW.engine, COALESCE(NEW.country, ''), COALESCE(NEW.release, ''), 1, 1 / NEW.sample_rate, CASE WHEN NEW.rating = 'good' THEN 1 / NEW.sample_rate ELSE 0.0 END, CASE WHEN NEW.rating = 'needs-improvement' THEN 1 / NEW.sample_rate ELSE 0.0 END, CASE WHEN NEW.rating = 'poor' THEN 1 / NEW.sample_rate ELSE 0.0 END)
    ON CONFLICT (site, name, hour, route, form_factor, engine, country, release) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight,
        good = good + excluded.good, needs_improvement = needs_improvement + excluded.needs_improvement,
        poor = poor + excluded.poor;
    INSERT INTO metric_rollup_hist (site, name, hour, route, form_factor, engine, country, release, bucket, samples, weight)
    VALUES (NEW.site, NEW.name, NEW.received_at_ms / 3600000, NEW.route, NEW.form_factor, NEW.engine, COALESCE(NEW.country, ''), COALESCE(NEW.release, ''), (SELECT bucket FROM hist_bucket WHERE lower <= NEW.value * (CASE WHEN NEW.name = 'CLS' THEN 10000.0 ELSE 1.0 END) ORDER BY lower DESC LIMIT 1), 1, 1 / NEW.sample_rate)
    ON CONFLICT (site, name, hour, route, form_factor, engine, country, release, bucket) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight;
    INSERT INTO metric_site_day (site, day, name, samples, weight, good, needs_improvement, poor)
    VALUES (NEW.site, NEW.received_at_ms / 86400000, NEW.name, 1, 1 / NEW.sample_rate, CASE WHEN NEW.rating = 'good' THEN 1 / NEW.sample_rate ELSE 0.0 END, CASE WHEN NEW.rating = 'needs-improvement' THEN 1 / NEW.sample_rate ELSE 0.0 END, CASE WHEN NEW.rating = 'poor' THEN 1 / NEW.sample_rate ELSE 0.0 END)
    ON CONFLICT (site, day, name) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight,
        good = good + excluded.good, needs_improvement = needs_improvement + excluded.needs_improvement,
        poor = poor + excluded.poor;
    INSERT INTO metric_site_day_hist (site, day, name, bucket, samples, weight)
    VALUES (NEW.site, NEW.received_at_ms / 86400000, NEW.name, (SELECT bucket FROM hist_bucket WHERE lower <= NEW.value * (CASE WHEN NEW.name = 'CLS' THEN 10000.0 ELSE 1.0 END) ORDER BY lower DESC LIMIT 1), 1, 1 / NEW.sample_rate)
    ON CONFLICT (site, day, name, bucket) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight;
END;

CREATE TRIGGER metric_rollup_update AFTER UPDATE ON metric
BEGIN

    INSERT INTO metric_rollup (site, name, hour, route, form_factor, engine, country, release, samples, weight, good, needs_improvement, poor)
    VALUES (OLD.site, OLD.name, OLD.received_at_ms / 3600000, OLD.route, OLD.form_factor, OLD.engine, COALESCE(OLD.country, ''), COALESCE(OLD.release, ''), -1, -1 / OLD.sample_rate, CASE WHEN OLD.rating = 'good' THEN -1 / OLD.sample_rate ELSE 0.0 END, CASE WHEN OLD.rating = 'needs-improvement' THEN -1 / OLD.sample_rate ELSE 0.0 END, CASE WHEN OLD.rating = 'poor' THEN -1 / OLD.sample_rate ELSE 0.0 END)
    ON CONFLICT (site, name, hour, route, form_factor, engine, country, release) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight,
        good = good + excluded.good, needs_improvement = needs_improvement + excluded.needs_improvement,
        poor = poor + excluded.poor;
    INSERT INTO metric_rollup_hist (site, name, hour, route, form_factor, engine, country, release, bucket, samples, weight)
    VALUES (OLD.site, OLD.name, OLD.received_at_ms / 3600000, OLD.route, OLD.form_factor, OLD.engine, COALESCE(OLD.country, ''), COALESCE(OLD.release, ''), (SELECT bucket FROM hist_bucket WHERE lower <= OLD.value * (CASE WHEN OLD.name = 'CLS' THEN 10000.0 ELSE 1.0 END) ORDER BY lower DESC LIMIT 1), -1, -1 / OLD.sample_rate)
    ON CONFLICT (site, name, hour, route, form_factor, engine, country, release, bucket) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight;
    INSERT INTO metric_site_day (site, day, name, samples, weight, good, needs_improvement, poor)
    VALUES (OLD.site, OLD.received_at_ms / 86400000, OLD.name, -1, -1 / OLD.sample_rate, CASE WHEN OLD.rating = 'good' THEN -1 / OLD.sample_rate ELSE 0.0 END, CASE WHEN OLD.rating = 'needs-improvement' THEN -1 / OLD.sample_rate ELSE 0.0 END, CASE WHEN OLD.rating = 'poor' THEN -1 / OLD.sample_rate ELSE 0.0 END)
    ON CONFLICT (site, day, name) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight,
        good = good + excluded.good, needs_improvement = needs_improvement + excluded.needs_improvement,
        poor = poor + excluded.poor;
    INSERT INTO metric_site_day_hist (site, day, name, bucket, samples, weight)
    VALUES (OLD.site, OLD.received_at_ms / 86400000, OLD.name, (SELECT bucket FROM hist_bucket WHERE lower <= OLD.value * (CASE WHEN OLD.name = 'CLS' THEN 10000.0 ELSE 1.0 END) ORDER BY lower DESC LIMIT 1), -1, -1 / OLD.sample_rate)
    ON CONFLICT (site, day, name, bucket) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight;
    INSERT INTO metric_rollup (site, name, hour, route, form_factor, engine, country, release, samples, weight, good, needs_improvement, poor)
    VALUES (NEW.site, NEW.name, NEW.received_at_ms / 3600000, NEW.route, NEW.form_factor, NEW.engine, COALESCE(NEW.country, ''), COALESCE(NEW.release, ''), 1, 1 / NEW.sample_rate, CASE WHEN NEW.rating = 'good' THEN 1 / NEW.sample_rate ELSE 0.0 END, CASE WHEN NEW.rating = 'needs-improvement' THEN 1 / NEW.sample_rate ELSE 0.0 END, CASE WHEN NEW.rating = 'poor' THEN 1 / NEW.sample_rate ELSE 0.0 END)
    ON CONFLICT (site, name, hour, route, form_factor, engine, country, release) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight,
        good = good + excluded.good, needs_improvement = needs_improvement + excluded.needs_improvement,
        poor = poor + excluded.poor;
    INSERT INTO metric_rollup_hist (site, name, hour, route, form_factor, engine, country, release, bucket, samples, weight)
    VALUES (NEW.site, NEW.name, NEW.received_at_ms / 3600000, NEW.route, NEW.form_factor, NEW.engine, COALESCE(NEW.country, ''), COALESCE(NEW.release, ''), (SELECT bucket FROM hist_bucket WHERE lower <= NEW.value * (CASE WHEN NEW.name = 'CLS' THEN 10000.0 ELSE 1.0 END) ORDER BY lower DESC LIMIT 1), 1, 1 / NEW.sample_rate)
    ON CONFLICT (site, name, hour, route, form_factor, engine, country, release, bucket) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight;
    INSERT INTO metric_site_day (site, day, name, samples, weight, good, needs_improvement, poor)
    VALUES (NEW.site, NEW.received_at_ms / 86400000, NEW.name, 1, 1 / NEW.sample_rate, CASE WHEN NEW.rating = 'good' THEN 1 / NEW.sample_rate ELSE 0.0 END, CASE WHEN NEW.rating = 'needs-improvement' THEN 1 / NEW.sample_rate ELSE 0.0 END, CASE WHEN NEW.rating = 'poor' THEN 1 / NEW.sample_rate ELSE 0.0 END)
    ON CONFLICT (site, day, name) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight,
        good = good + excluded.good, needs_improvement = needs_improvement + excluded.needs_improvement,
        poor = poor + excluded.poor;
    INSERT INTO metric_site_day_hist (site, day, name, bucket, samples, weight)
    VALUES (NEW.site, NEW.received_at_ms / 86400000, NEW.name, (SELECT bucket FROM hist_bucket WHERE lower <= NEW.value * (CASE WHEN NEW.name = 'CLS' THEN 10000.0 ELSE 1.0 END) ORDER BY lower DESC LIMIT 1), 1, 1 / NEW.sample_rate)
    ON CONFLICT (site, day, name, bucket) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight;
END;

CREATE INDEX metric_site_received ON metric (site, received_at_ms);

