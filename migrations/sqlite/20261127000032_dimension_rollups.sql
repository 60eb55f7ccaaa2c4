-- Embedded twin of migrations/postgres/20261127000032_dimension_rollups.sql
-- (day = epoch days, UTC): per site, day, metric and one dimension value.

CREATE TABLE metric_dim_day (
    site              TEXT NOT NULL,
    day               INTEGER NOT NULL,
    name              TEXT NOT NULL,
    dim               TEXT NOT NULL,
    val               TEXT NOT NULL,
    samples           INTEGER NOT NULL,
    weight            REAL NOT NULL,
    good              REAL NOT NULL DEFAULT 0,
    needs_improvement REAL NOT NULL DEFAULT 0,
    poor              REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (site, day, name, dim, val)
) WITHOUT ROWID;

CREATE TABLE metric_dim_day_hist (
    site    TEXT NOT NULL,
    day     INTEGER NOT NULL,
    name    TEXT NOT NULL,
    dim     TEXT NOT NULL,
    val     TEXT NOT NULL,
    bucket  INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    weight  REAL NOT NULL,
    PRIMARY KEY (site, day, name, dim, val, bucket)
) WITHOUT ROWID;

CREATE TRIGGER metric_dim_rollup_insert AFTER INSERT ON metric
BEGIN

    INSERT INTO metric_dim_day (site, day, name, dim, val, samples, weight, good, needs_improvement, poor)
    SELECT NEW.site, NEW.received_at_ms / 86400000, NEW.name, x.dim, x.val, 1, 1 / NEW.sample_rate,
           CASE WHEN NEW.rating = 'good' THEN 1 / NEW.sample_rate ELSE 0.0 END, CASE WHEN NEW.rating = 'needs-improvement' THEN 1 / NEW.sample_rate ELSE 0.0 END, CASE WHEN NEW.rating = 'poor' THEN 1 / NEW.sample_rate ELSE 0.0 END
    FROM (SELECT 'route' AS dim, NEW.route AS val UNION ALL SELECT 'form_factor', NEW.form_factor
          UNION ALL SELECT 'engine', NEW.engine UNION ALL SELECT 'country', COALESCE(NEW.country, '')
          UNION ALL SELECT 'release', COALESCE(NEW.release, '')) AS x WHERE true
    ON CONFLICT (site, day, name, dim, val) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight,
        good = good + excluded.good, needs_improvement = needs_improvement + excluded.needs_improvement,
        poor = poor + excluded.poor;
    INSERT INTO metric_dim_day_hist (site, day, name, dim, val, bucket, samples, weight)
    SELECT NEW.site, NEW.received_at_ms / 86400000, NEW.name, x.dim, x.val, (SELECT bucket FROM hist_bucket WHERE lower <= NEW.value * (CASE WHEN NEW.name = 'CLS' THEN 10000.0 ELSE 1.0 END) ORDER BY lower DESC LIMIT 1), 1, 1 / NEW.sample_rate
    FROM (SELECT 'route' AS dim, NEW.route AS val UNION ALL SELECT 'form_factor', NEW.form_factor
          UNION ALL SELECT 'engine', NEW.engine UNION ALL SELECT 'country', COALESCE(NEW.country, '')
          UNION ALL SELECT 'release', COALESCE(NEW.release, '')) AS x WHERE true
    ON CONFLICT (site, day, name, dim, val, bucket) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight;
END;

CREATE TRIGGER metric_dim_rollup_update AFTER UPDATE ON metric
BEGIN

    INSERT INTO metric_dim_day (site, day, name, dim, val, samples, weight, good, needs_improvement, poor)
    SELECT OLD.site, OLD.received_at_ms / 86400000, OLD.name, x.dim, x.val, -1, -1 / OLD.sample_rate,
           CASE WHEN OLD.rating = 'good' THEN -1 / OLD.sample_rate ELSE 0.0 END, CASE WHEN OLD.rating = 'needs-improvement' THEN -1 / OLD.sample_rate ELSE 0.0 END, CASE WHEN OLD.rating = 'poor' THEN -1 / OLD.sample_rate ELSE 0.0 END
    FROM (SELECT 'route' AS dim, OLD.route AS val UNION ALL SELECT 'form_factor', OLD.form_factor
          UNION ALL SELECT 'engine', OLD.engine UNION ALL SELECT 'country', COALESCE(OLD.country, '')
          UNION ALL SELECT 'release', COALESCE(OLD.release, '')) AS x WHERE true
    ON CONFLICT (site, day, name, dim, val) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight,
        good = good + excluded.good, needs_improvement = needs_improvement + excluded.needs_improvement,
        poor = poor + excluded.poor;
    INSERT INTO metric_dim_day_hist (site, day, name, dim, val, bucket, samples, weight)
    SELECT OLD.site, OLD.received_at_ms / 86400000, OLD.name, x.dim, x.val, (SELECT bucket FROM hist_bucket WHERE lower <= OLD.value * (CASE WHEN OLD.name = 'CLS' THEN 10000.0 ELSE 1.0 END) ORDER BY lower DESC LIMIT 1), -1, -1 / OLD.sample_rate
    FROM (SELECT 'route' AS dim, OLD.route AS val UNION ALL SELECT 'form_factor', OLD.form_factor
          UNION ALL SELECT 'engine', OLD.engine UNION ALL SELECT 'country', COALESCE(OLD.country, '')
          UNION ALL SELECT 'release', COALESCE(OLD.release, '')) AS x WHERE true
    ON CONFLICT (site, day, name, dim, val, bucket) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight;
    INSERT INTO metric_dim_day (site, day, name, dim, val, samples, weight, good, needs_improvement, poor)
    SELECT NEW.site, NEW.received_at_ms / 86400000, NEW.name, x.dim, x.val, 1, 1 / NEW.sample_rate,
           CASE WHEN NEW.rating = 'good' THEN 1 / NEW.sample_rate ELSE 0.0 END, CASE WHEN NEW.rating = 'needs-improvement' THEN 1 / NEW.sample_rate ELSE 0.0 END, CASE WHEN NEW.rating = 'poor' THEN 1 / NEW.sample_rate ELSE 0.0 END
    FROM (SELECT 'route' AS dim, NEW.route AS val UNION ALL SELECT 'form_factor', NEW.form_factor
          UNION ALL SELECT 'engine', NEW.engine UNION ALL SELECT 'country', COALESCE(NEW.country, '')
          UNION ALL SELECT 'release', COALESCE(NEW.release, '')) AS x WHERE true
    ON CONFLICT (site, day, name, dim, val) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight,
        good = good + excluded.good, needs_improvement = needs_improvement + excluded.needs_improvement,
        poor = poor + excluded.poor;
    INSERT INTO metric_dim_day_hist (site, day, name, dim, val, bucket, samples, weight)
    SELECT NEW.site, NEW.received_at_ms / 86400000, NEW.name, x.dim, x.val, (SELECT bucket FROM hist_bucket WHERE lower <= NEW.value * (CASE WHEN NEW.name = 'CLS' THEN 10000.0 ELSE 1.0 END) ORDER BY lower DESC LIMIT 1), 1, 1 / NEW.sample_rate
    FROM (SELECT 'route' AS dim, NEW.route AS val UNION ALL SELECT 'form_factor', NEW.form_factor
          UNION ALL SELECT 'engine', NEW.engine UNION ALL SELECT 'country', COALESCE(NEW.country, '')
          UNION ALL SELECT 'release', COALESCE(NEW.release, '')) AS x WHERE true
    ON CONFLICT (site, day, name, dim, val, bucket) DO UPDATE SET
        samples = samples + excluded.samples, weight = weight + excluded.weight;
END;
