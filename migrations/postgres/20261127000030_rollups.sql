-- Rollups for reporting: per (site, metric, hour, route, form factor, engine,
-- country, release) the sample count, the weight (sum of 1/sample_rate), the
-- weighted good / needs-improvement / poor split and a mergeable histogram of
-- log-spaced buckets (collector/src/histogram.rs has the definition and the
-- error bound: p-th percentile within 0.995 % of exact). A second, site-wide
-- daily level answers unsliced questions (dashboard, summaries) from far fewer rows.
--
-- Maintained by statement-level triggers on `metric` with transition tables, so
-- the ingest code need not know about them: an insert adds its rows; an update
-- (a re-sent metric with a newer seq) subtracts the old row and adds the new
-- one, so re-sent metrics never double count. Set-based (one GROUP BY per
-- statement) rather than per row, which keeps bulk inserts fast. Country and
-- release are '' when unknown: key columns of a primary key cannot be NULL.

CREATE FUNCTION strray_hist_scale(metric TEXT) RETURNS DOUBLE PRECISION
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN metric = 'CLS' THEN 10000.0 ELSE 1.0 END;

CREATE FUNCTION strray_hist_bucket(metric TEXT, value DOUBLE PRECISION) RETURNS INTEGER
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE
        WHEN value IS NULL OR value = 'NaN'::float8 OR value * strray_hist_scale(metric) < 1 THEN 0
        WHEN value = 'Infinity'::float8 THEN 1000
        ELSE LEAST(1000, 1 + floor(ln(value * strray_hist_scale(metric)) / ln(1.02)))::int
    END;

CREATE FUNCTION strray_hist_value(metric TEXT, bucket INTEGER) RETURNS DOUBLE PRECISION
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN bucket <= 0 THEN 0.0
                ELSE power(1.02::float8, bucket - 0.5) / strray_hist_scale(metric) END;

COMMENT ON FUNCTION strray_hist_bucket(TEXT, DOUBLE PRECISION) IS
    'Histogram bucket of a metric value: 0 below 1 ms (CLS: 0.0001), else 1 + floor(log_1.02(value × scale)).';
COMMENT ON FUNCTION strray_hist_value(TEXT, INTEGER) IS
    'Value a histogram bucket stands for (geometric midpoint; within 0.995 % of any value in it).';

CREATE TABLE metric_rollup (
    site              TEXT NOT NULL,
    name              TEXT NOT NULL,
    hour              TIMESTAMPTZ NOT NULL,
    route             TEXT NOT NULL,
    form_factor       TEXT NOT NULL,
    engine            TEXT NOT NULL,
    country           TEXT NOT NULL,
    release           TEXT NOT NULL,
    samples           BIGINT NOT NULL,
    weight            DOUBLE PRECISION NOT NULL,
    good              DOUBLE PRECISION NOT NULL DEFAULT 0,
    needs_improvement DOUBLE PRECISION NOT NULL DEFAULT 0,
    poor              DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (site, hour, name, route, form_factor, engine, country, release)
);

CREATE TABLE metric_rollup_hist (
    site        TEXT NOT NULL,
    name        TEXT NOT NULL,
    hour        TIMESTAMPTZ NOT NULL,
    route       TEXT NOT NULL,
    form_factor TEXT NOT NULL,
    engine      TEXT NOT NULL,
    country     TEXT NOT NULL,
    release     TEXT NOT NULL,
    bucket      INTEGER NOT NULL,
    samples     BIGINT NOT NULL,
    weight      DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (site, hour, name, route, form_factor, engine, country, release, bucket)
);

CREATE TABLE metric_site_day (
    site              TEXT NOT NULL,
    day               DATE NOT NULL,
    name              TEXT NOT NULL,
    samples           BIGINT NOT NULL,
    weight            DOUBLE PRECISION NOT NULL,
    good              DOUBLE PRECISION NOT NULL DEFAULT 0,
    needs_improvement DOUBLE PRECISION NOT NULL DEFAULT 0,
    poor              DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (site, day, name)
);

CREATE TABLE metric_site_day_hist (
    site    TEXT NOT NULL,
    day     DATE NOT NULL,
    name    TEXT NOT NULL,
    bucket  INTEGER NOT NULL,
    samples BIGINT NOT NULL,
    weight  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (site, day, name, bucket)
);

COMMENT ON TABLE metric_rollup IS 'Hourly rollup of metric per site/metric/route/form factor/engine/country/release; maintained by triggers on metric.';
COMMENT ON TABLE metric_rollup_hist IS 'Histogram (bucket → weight) per metric_rollup key; buckets per strray_hist_bucket().';
COMMENT ON TABLE metric_site_day IS 'Daily rollup per site and metric (all routes and devices); maintained by triggers on metric.';
COMMENT ON TABLE metric_site_day_hist IS 'Histogram per metric_site_day key.';

CREATE FUNCTION strray_rollup_insert() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN

    INSERT INTO metric_rollup (site, name, hour, route, form_factor, engine, country, release, samples, weight, good, needs_improvement, poor)
    SELECT site, name, hour, route, form_factor, engine, country, release, SUM(n), SUM(w),
           COALESCE(SUM(w) FILTER (WHERE rating = 'good'), 0), COALESCE(SUM(w) FILTER (WHERE rating = 'needs-improvement'), 0),
           COALESCE(SUM(w) FILTER (WHERE rating = 'poor'), 0)
    FROM (SELECT site, name, date_trunc('hour', received_at) AS hour, route, form_factor, engine,
                COALESCE(country, '') AS country, COALESCE(release, '') AS release,
                (received_at AT TIME ZONE 'UTC')::date AS day,
                strray_hist_bucket(name, value) AS bucket, 1 AS n, 1 / sample_rate AS w, rating
         FROM new_rows) d
    GROUP BY site, name, hour, route, form_factor, engine, country, release ORDER BY site, name, hour, route, form_factor, engine, country, release
    ON CONFLICT (site, hour, name, route, form_factor, engine, country, release) DO UPDATE SET
        samples = metric_rollup.samples + EXCLUDED.samples,
        weight = metric_rollup.weight + EXCLUDED.weight,
        good = metric_rollup.good + EXCLUDED.good,
        needs_improvement = metric_rollup.needs_improvement + EXCLUDED.needs_improvement,
        poor = metric_rollup.poor + EXCLUDED.poor;

    INSERT INTO metric_rollup_hist (site, name, hour, route, form_factor, engine, country, release, bucket, samples, weight)
    SELECT site, name, hour, route, form_factor, engine, country, release, bucket, SUM(n), SUM(w)
    FROM (SELECT site, name, date_trunc('hour', received_at) AS hour, route, form_factor, engine,
                COALESCE(country, '') AS country, COALESCE(release, '') AS release,
                (received_at AT TIME ZONE 'UTC')::date AS day,
                strray_hist_bucket(name, value) AS bucket, 1 AS n, 1 / sample_rate AS w, rating
         FROM new_rows) d
    GROUP BY site, name, hour, route, form_factor, engine, country, release, bucket ORDER BY site, name, hour, route, form_factor, engine, country, release, bucket
    ON CONFLICT (site, hour, name, route, form_factor, engine, country, release, bucket) DO UPDATE SET
        samples = metric_rollup_hist.samples + EXCLUDED.samples,
        weight = metric_rollup_hist.weight + EXCLUDED.weight;

    INSERT INTO metric_site_day (site, day, name, samples, weight, good, needs_improvement, poor)
    SELECT site, day, name, SUM(n), SUM(w),
           COALESCE(SUM(w) FILTER (WHERE rating = 'good'), 0), COALESCE(SUM(w) FILTER (WHERE rating = 'needs-improvement'), 0),
           COALESCE(SUM(w) FILTER (WHERE rating = 'poor'), 0)
    FROM (SELECT site, name, date_trunc('hour', received_at) AS hour, route, form_factor, engine,
                COALESCE(country, '') AS country, COALESCE(release, '') AS release,
                (received_at AT TIME ZONE 'UTC')::date AS day,
                strray_hist_bucket(name, value) AS bucket, 1 AS n, 1 / sample_rate AS w, rating
         FROM new_rows) d
    GROUP BY site, day, name ORDER BY site, day, name
    ON CONFLICT (site, day, name) DO UPDATE SET
        samples = metric_site_day.samples + EXCLUDED.samples,
        weight = metric_site_day.weight + EXCLUDED.weight,
        good = metric_site_day.good + EXCLUDED.good,
        needs_improvement = metric_site_day.needs_improvement + EXCLUDED.needs_improvement,
        poor = metric_site_day.poor + EXCLUDED.poor;

    INSERT INTO metric_site_day_hist (site, day, name, bucket, samples, weight)
    SELECT site, day, name, bucket, SUM(n), SUM(w)
    FROM (SELECT site, name, date_trunc('hour', received_at) AS hour, route, form_factor, engine,
                COALESCE(country, '') AS country, COALESCE(release, '') AS release,
                (received_at AT TIME ZONE 'UTC')::date AS day,
                strray_hist_bucket(name, value) AS bucket, 1 AS n, 1 / sample_rate AS w, rating
         FROM new_rows) d
    GROUP BY site, day, name, bucket ORDER BY site, day, name, bucket
    ON CONFLICT (site, day, name, bucket) DO UPDATE SET
        samples = metric_site_day_hist.samples + EXCLUDED.samples,
        weight = metric_site_day_hist.weight + EXCLUDED.weight;

    RETURN NULL;
END
$fn$;

CREATE FUNCTION strray_rollup_update() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN

    INSERT INTO metric_rollup (site, name, hour, route, form_factor, engine, country, release, samples, weight, good, needs_improvement, poor)
    SELECT site, name, hour, route, form_factor, engine, country, release, SUM(n), SUM(w),
           COALESCE(SUM(w) FILTER (WHERE rating = 'good'), 0), COALESCE(SUM(w) FILTER (WHERE rating = 'needs-improvement'), 0),
           COALESCE(SUM(w) FILTER (WHERE rating = 'poor'), 0)
    FROM (SELECT site, name, date_trunc('hour', received_at) AS hour, route, form_factor, engine,
                COALESCE(country, '') AS country, COALESCE(release, '') AS release,
                (received_at AT TIME ZONE 'UTC')::date AS day,
                strray_hist_bucket(name, value) AS bucket, 1 AS n, 1 / sample_rate AS w, rating
         FROM new_rows
         UNION ALL
         SELECT site, name, date_trunc('hour', received_at) AS hour, route, form_factor, engine,
                COALESCE(country, '') AS country, COALESCE(release, '') AS release,
                (received_at AT TIME ZONE 'UTC')::date AS day,
                strray_hist_bucket(name, value) AS bucket, -1 AS n, -1 / sample_rate AS w, rating
         FROM old_rows) d
    GROUP BY site, name, hour, route, form_factor, engine, country, release ORDER BY site, name, hour, route, form_factor, engine, country, release
    ON CONFLICT (site, hour, name, route, form_factor, engine, country, release) DO UPDATE SET
        samples = metric_rollup.samples + EXCLUDED.samples,
        weight = metric_rollup.weight + EXCLUDED.weight,
        good = metric_rollup.good + EXCLUDED.good,
        needs_improvement = metric_rollup.needs_improvement + EXCLUDED.needs_improvement,
        poor = metric_rollup.poor + EXCLUDED.poor;

    INSERT INTO metric_rollup_hist (site, name, hour, route, form_factor, engine, country, release, bucket, samples, weight)
    SELECT site, name, hour, route, form_factor, engine, country, release, bucket, SUM(n), SUM(w)
    FROM (SELECT site, name, date_trunc('hour', received_at) AS hour, route, form_factor, engine,
                COALESCE(country, '') AS country, COALESCE(release, '') AS release,
                (received_at AT TIME ZONE 'UTC')::date AS day,
                strray_hist_bucket(name, value) AS bucket, 1 AS n, 1 / sample_rate AS w, rating
         FROM new_rows
         UNION ALL
         SELECT site, name, date_trunc('hour', received_at) AS hour, route, form_factor, engine,
                COALESCE(country, '') AS country, COALESCE(release, '') AS release,
                (received_at AT TIME ZONE 'UTC')::date AS day,
                strray_hist_bucket(name, value) AS bucket, -1 AS n, -1 / sample_rate AS w, rating
         FROM old_rows) d
    GROUP BY site, name, hour, route, form_factor, engine, country, release, bucket ORDER BY site, name, hour, route, form_factor, engine, country, release, bucket
    ON CONFLICT (site, hour, name, route, form_factor, engine, country, release, bucket) DO UPDATE SET
        samples = metric_rollup_hist.samples + EXCLUDED.samples,
        weight = metric_rollup_hist.weight + EXCLUDED.weight;

    INSERT INTO metric_site_day (site, day, name, samples, weight, good, needs_improvement, poor)
    SELECT site, day, name, SUM(n), SUM(w),
           COALESCE(SUM(w) FILTER (WHERE rating = 'good'), 0), COALESCE(SUM(w) FILTER (WHERE rating = 'needs-improvement'), 0),
           COALESCE(SUM(w) FILTER (WHERE rating = 'poor'), 0)
    FROM (SELECT site, name, date_trunc('hour', received_at) AS hour, route, form_factor, engine,
                COALESCE(country, '') AS country, COALESCE(release, '') AS release,
                (received_at AT TIME ZONE 'UTC')::date AS day,
                strray_hist_bucket(name, value) AS bucket, 1 AS n, 1 / sample_rate AS w, rating
         FROM new_rows
         UNION ALL
         SELECT site, name, date_trunc('hour', received_at) AS hour, route, form_factor, engine,
                COALESCE(country, '') AS country, COALESCE(release, '') AS release,
                (received_at AT TIME ZONE 'UTC')::date AS day,
                strray_hist_bucket(name, value) AS bucket, -1 AS n, -1 / sample_rate AS w, rating
         FROM old_rows) d
    GROUP BY site, day, name ORDER BY site, day, name
    ON CONFLICT (site, day, name) DO UPDATE SET
        samples = metric_site_day.samples + EXCLUDED.samples,
        weight = metric_site_day.weight + EXCLUDED.weight,
        good = metric_site_day.good + EXCLUDED.good,
        needs_improvement = metric_site_day.needs_improvement + EXCLUDED.needs_improvement,
        poor = metric_site_day.poor + EXCLUDED.poor;

    INSERT INTO metric_site_day_hist (site, day, name, bucket, samples, weight)
    SELECT site, day, name, bucket, SUM(n), SUM(w)
    FROM (SELECT site, name, date_trunc('hour', received_at) AS hour, route, form_factor, engine,
                COALESCE(country, '') AS country, COALESCE(release, '') AS release,
                (received_at AT TIME ZONE 'UTC')::date AS day,
                strray_hist_bucket(name, value) AS bucket, 1 AS n, 1 / sample_rate AS w, rating
         FROM new_rows
         UNION ALL
         SELECT site, name, date_trunc('hour', received_at) AS hour, route, form_factor, engine,
                COALESCE(country, '') AS country, COALESCE(release, '') AS release,
                (received_at AT TIME ZONE 'UTC')::date AS day,
                strray_hist_bucket(name, value) AS bucket, -1 AS n, -1 / sample_rate AS w, rating
         FROM old_rows) d
    GROUP BY site, day, name, bucket ORDER BY site, day, name, bucket
    ON CONFLICT (site, day, name, bucket) DO UPDATE SET
        samples = metric_site_day_hist.samples + EXCLUDED.samples,
        weight = metric_site_day_hist.weight + EXCLUDED.weight;

    RETURN NULL;
END
$fn$;

CREATE TRIGGER metric_rollup_insert AFTER INSERT ON metric
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION strray_rollup_insert();
CREATE TRIGGER metric_rollup_update AFTER UPDATE ON metric
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION strray_rollup_update();

-- Rows stored before this migration.

    INSERT INTO metric_rollup (site, name, hour, route, form_factor, engine, country, release, samples, weight, good, needs_improvement, poor)
    SELECT site, name, hour, route, form_factor, engine, country, release, SUM(n), SUM(w),
           COALESCE(SUM(w) FILTER (WHERE rating = 'good'), 0), COALESCE(SUM(w) FILTER (WHERE rating = 'needs-improvement'), 0),
           COALESCE(SUM(w) FILTER (WHERE rating = 'poor'), 0)
    FROM (SELECT site, name, date_trunc('hour', received_at) AS hour, route, form_factor, engine,
                COALESCE(country, '') AS country, COALESCE(release, '') AS release,
                (received_at AT TIME ZONE 'UTC')::date AS day,
                strray_hist_bucket(name, value) AS bucket, 1 AS n, 1 / sample_rate AS w, rating
         FROM metric) d
    GROUP BY site, name, hour, route, form_factor, engine, country, release ORDER BY site, name, hour, route, form_factor, engine, country, release
    ON CONFLICT (site, hour, name, route, form_factor, engine, country, release) DO UPDATE SET
        samples = metric_rollup.samples + EXCLUDED.samples,
        weight = metric_rollup.weight + EXCLUDED.weight,
        good = metric_rollup.good + EXCLUDED.good,
        needs_improvement = metric_rollup.needs_improvement + EXCLUDED.needs_improvement,
        poor = metric_rollup.poor + EXCLUDED.poor;

    INSERT INTO metric_rollup_hist (site, name, hour, route, form_factor, engine, country, release, bucket, samples, weight)
    SELECT site, name, hour, route, form_factor, engine, country, release, bucket, SUM(n), SUM(w)
    FROM (SELECT site, name, date_trunc('hour', received_at) AS hour, route, form_factor, engine,
                COALESCE(country, '') AS country, COALESCE(release, '') AS release,
                (received_at AT TIME ZONE 'UTC')::date AS day,
                strray_hist_bucket(name, value) AS bucket, 1 AS n, 1 / sample_rate AS w, rating
         FROM metric) d
    GROUP BY site, name, hour, route, form_factor, engine, country, release, bucket ORDER BY site, name, hour, route, form_factor, engine, country, release, bucket
    ON CONFLICT (site, hour, name, route, form_factor, engine, country, release, bucket) DO UPDATE SET
        samples = metric_rollup_hist.samples + EXCLUDED.samples,
        weight = metric_rollup_hist.weight + EXCLUDED.weight;

    INSERT INTO metric_site_day (site, day, name, samples, weight, good, needs_improvement, poor)
    SELECT site, day, name, SUM(n), SUM(w),
           COALESCE(SUM(w) FILTER (WHERE rating = 'good'), 0), COALESCE(SUM(w) FILTER (WHERE rating = 'needs-improvement'), 0),
           COALESCE(SUM(w) FILTER (WHERE rating = 'poor'), 0)
    FROM (SELECT site, name, date_trunc('hour', received_at) AS hour, route, form_factor, engine,
                COALESCE(country, '') AS country, COALESCE(release, '') AS release,
                (received_at AT TIME ZONE 'UTC')::date AS day,
                strray_hist_bucket(name, value) AS bucket, 1 AS n, 1 / sample_rate AS w, rating
         FROM metric) d
    GROUP BY site, day, name ORDER BY site, day, name
    ON CONFLICT (site, day, name) DO UPDATE SET
        samples = metric_site_day.samples + EXCLUDED.samples,
        weight = metric_site_day.weight + EXCLUDED.weight,
        good = metric_site_day.good + EXCLUDED.good,
        needs_improvement = metric_site_day.needs_improvement + EXCLUDED.needs_improvement,
        poor = metric_site_day.poor + EXCLUDED.poor;

    INSERT INTO metric_site_day_hist (site, day, name, bucket, samples, weight)
    SELECT site, day, name, bucket, SUM(n), SUM(w)
    FROM (SELECT site, name, date_trunc('hour', received_at) AS hour, route, form_factor, engine,
                COALESCE(country, '') AS country, COALESCE(release, '') AS release,
                (received_at AT TIME ZONE 'UTC')::date AS day,
                strray_hist_bucket(name, value) AS bucket, 1 AS n, 1 / sample_rate AS w, rating
         FROM metric) d
    GROUP BY site, day, name, bucket ORDER BY site, day, name, bucket
    ON CONFLICT (site, day, name, bucket) DO UPDATE SET
        samples = metric_site_day_hist.samples + EXCLUDED.samples,
        weight = metric_site_day_hist.weight + EXCLUDED.weight;


-- The dashboard's "latest metrics" of one site, newest first.
CREATE INDEX IF NOT EXISTS metric_site_received ON metric (site, received_at);

