-- Twin of migrations/postgres/20261205000080_lighter_rollups.sql: the
-- all-dimension hourly histogram gives way to a site-level hourly one. The
-- embedded store's rollups are not backfilled (see 20261127000030), so the new
-- table starts from the old one's cells summed over the dimensions.

CREATE TABLE metric_site_hour_hist (
    site    TEXT NOT NULL,
    hour    INTEGER NOT NULL,
    name    TEXT NOT NULL,
    bucket  INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    weight  REAL NOT NULL,
    PRIMARY KEY (site, hour, name, bucket)
) WITHOUT ROWID;

INSERT INTO metric_site_hour_hist (site, hour, name, bucket, samples, weight)
SELECT site, hour, name, bucket, SUM(samples), SUM(weight)
FROM metric_rollup_hist GROUP BY 1, 2, 3, 4;

DROP TRIGGER metric_rollup_insert;
DROP TRIGGER metric_rollup_update;
DROP TABLE metric_rollup_hist;

CREATE TRIGGER metric_rollup_insert AFTER INSERT ON metric
BEGIN

    INSERT INTO metric_rollup (site, name, hour, route, form_factor, engine, country, release, samples, weight, good, needs_improvement, poor)
    VALUES (NEW.site, NEW.name, NEW.received_at_ms / 3600000, NEW.route, NEW.form_factor, NEW.engine, COALESCE(NEW.country, ''), COALESCE(NEW.release, ''), 1, 1 / NEW.sample_rate, CASE WHEN NEW.rating = 'good' THEN 1 / NEW.sample_rate ELSE 0.0 END, CASE WHEN NEW.rating = 'needs-improvement' THEN 1 / NEW.sample_rate ELSE 0.0 END, CASE WHEN NEW.rating = 'poor' THEN 1 / NEW.sample_rate ELSE 0.0 END)
    ON CONFLICT (site, name, hour, route, form_factor, engine, country, release) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight,
        good = good + excluded.good, needs_improvement = needs_improvement + excluded.needs_improvement,
        poor = poor + excluded.poor;
    INSERT INTO metric_site_hour_hist (site, hour, name, bucket, samples, weight)
    VALUES (NEW.site, NEW.received_at_ms / 3600000, NEW.name, (SELECT bucket FROM hist_bucket WHERE lower <= NEW.value * (CASE WHEN NEW.name = 'CLS' THEN 10000.0 ELSE 1.0 END) ORDER BY lower DESC LIMIT 1), 1, 1 / NEW.sample_rate)
    ON CONFLICT (site, hour, name, bucket) DO UPDATE SET
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
    INSERT INTO metric_site_hour_hist (site, hour, name, bucket, samples, weight)
    VALUES (OLD.site, OLD.received_at_ms / 3600000, OLD.name, (SELECT bucket FROM hist_bucket WHERE lower <= OLD.value * (CASE WHEN OLD.name = 'CLS' THEN 10000.0 ELSE 1.0 END) ORDER BY lower DESC LIMIT 1), -1, -1 / OLD.sample_rate)
    ON CONFLICT (site, hour, name, bucket) DO UPDATE SET
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
    INSERT INTO metric_site_hour_hist (site, hour, name, bucket, samples, weight)
    VALUES (NEW.site, NEW.received_at_ms / 3600000, NEW.name, (SELECT bucket FROM hist_bucket WHERE lower <= NEW.value * (CASE WHEN NEW.name = 'CLS' THEN 10000.0 ELSE 1.0 END) ORDER BY lower DESC LIMIT 1), 1, 1 / NEW.sample_rate)
    ON CONFLICT (site, hour, name, bucket) DO UPDATE SET
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

