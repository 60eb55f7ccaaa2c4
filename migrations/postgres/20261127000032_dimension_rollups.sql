-- One-dimension daily rollups: per site, UTC day, metric and ONE dimension
-- value (dim = route | form_factor | engine | country | release). Breakdowns
-- ("worst routes", "by device", "by browser engine") and single-filter reports
-- over whole days read these instead of the hourly all-dimension rollup, whose
-- size grows with the product of the dimensions. Same histogram, same trigger
-- scheme as 20261127000030_rollups.sql (re-sent metrics subtract, then add).

CREATE TABLE metric_dim_day (
    site              TEXT NOT NULL,
    day               DATE NOT NULL,
    name              TEXT NOT NULL,
    dim               TEXT NOT NULL,
    val               TEXT NOT NULL,
    samples           BIGINT NOT NULL,
    weight            DOUBLE PRECISION NOT NULL,
    good              DOUBLE PRECISION NOT NULL DEFAULT 0,
    needs_improvement DOUBLE PRECISION NOT NULL DEFAULT 0,
    poor              DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (site, day, name, dim, val)
);

CREATE TABLE metric_dim_day_hist (
    site    TEXT NOT NULL,
    day     DATE NOT NULL,
    name    TEXT NOT NULL,
    dim     TEXT NOT NULL,
    val     TEXT NOT NULL,
    bucket  INTEGER NOT NULL,
    samples BIGINT NOT NULL,
    weight  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (site, day, name, dim, val, bucket)
);

COMMENT ON TABLE metric_dim_day IS 'Daily rollup per site, metric and one dimension (dim: route, form_factor, engine, country, release; val: its value, '''' when unknown).';
COMMENT ON TABLE metric_dim_day_hist IS 'Histogram per metric_dim_day key; buckets per strray_hist_bucket().';

CREATE FUNCTION strray_dim_rollup_insert() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN

    INSERT INTO metric_dim_day (site, day, name, dim, val, samples, weight, good, needs_improvement, poor)
    SELECT site, day, name, dim, val, SUM(n), SUM(w),
           COALESCE(SUM(w) FILTER (WHERE rating = 'good'), 0),
           COALESCE(SUM(w) FILTER (WHERE rating = 'needs-improvement'), 0),
           COALESCE(SUM(w) FILTER (WHERE rating = 'poor'), 0)
    FROM (SELECT site, name, (received_at AT TIME ZONE 'UTC')::date AS day, x.dim, x.val,
                strray_hist_bucket(name, value) AS bucket, 1 AS n, 1 / sample_rate AS w, rating
         FROM new_rows
         CROSS JOIN LATERAL (VALUES ('route', route), ('form_factor', form_factor), ('engine', engine),
                                    ('country', COALESCE(country, '')), ('release', COALESCE(release, ''))) AS x(dim, val)) d
    GROUP BY site, day, name, dim, val ORDER BY site, day, name, dim, val
    ON CONFLICT (site, day, name, dim, val) DO UPDATE SET
        samples = metric_dim_day.samples + EXCLUDED.samples,
        weight = metric_dim_day.weight + EXCLUDED.weight,
        good = metric_dim_day.good + EXCLUDED.good,
        needs_improvement = metric_dim_day.needs_improvement + EXCLUDED.needs_improvement,
        poor = metric_dim_day.poor + EXCLUDED.poor;

    INSERT INTO metric_dim_day_hist (site, day, name, dim, val, bucket, samples, weight)
    SELECT site, day, name, dim, val, bucket, SUM(n), SUM(w)
    FROM (SELECT site, name, (received_at AT TIME ZONE 'UTC')::date AS day, x.dim, x.val,
                strray_hist_bucket(name, value) AS bucket, 1 AS n, 1 / sample_rate AS w, rating
         FROM new_rows
         CROSS JOIN LATERAL (VALUES ('route', route), ('form_factor', form_factor), ('engine', engine),
                                    ('country', COALESCE(country, '')), ('release', COALESCE(release, ''))) AS x(dim, val)) d
    GROUP BY site, day, name, dim, val, bucket ORDER BY site, day, name, dim, val, bucket
    ON CONFLICT (site, day, name, dim, val, bucket) DO UPDATE SET
        samples = metric_dim_day_hist.samples + EXCLUDED.samples,
        weight = metric_dim_day_hist.weight + EXCLUDED.weight;

    RETURN NULL;
END
$fn$;

CREATE FUNCTION strray_dim_rollup_update() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN

    INSERT INTO metric_dim_day (site, day, name, dim, val, samples, weight, good, needs_improvement, poor)
    SELECT site, day, name, dim, val, SUM(n), SUM(w),
           COALESCE(SUM(w) FILTER (WHERE rating = 'good'), 0),
           COALESCE(SUM(w) FILTER (WHERE rating = 'needs-improvement'), 0),
           COALESCE(SUM(w) FILTER (WHERE rating = 'poor'), 0)
    FROM (SELECT site, name, (received_at AT TIME ZONE 'UTC')::date AS day, x.dim, x.val,
                strray_hist_bucket(name, value) AS bucket, 1 AS n, 1 / sample_rate AS w, rating
         FROM new_rows
         CROSS JOIN LATERAL (VALUES ('route', route), ('form_factor', form_factor), ('engine', engine),
                                    ('country', COALESCE(country, '')), ('release', COALESCE(release, ''))) AS x(dim, val)
         UNION ALL
         SELECT site, name, (received_at AT TIME ZONE 'UTC')::date AS day, x.dim, x.val,
                strray_hist_bucket(name, value) AS bucket, -1 AS n, -1 / sample_rate AS w, rating
         FROM old_rows
         CROSS JOIN LATERAL (VALUES ('route', route), ('form_factor', form_factor), ('engine', engine),
                                    ('country', COALESCE(country, '')), ('release', COALESCE(release, ''))) AS x(dim, val)) d
    GROUP BY site, day, name, dim, val ORDER BY site, day, name, dim, val
    ON CONFLICT (site, day, name, dim, val) DO UPDATE SET
        samples = metric_dim_day.samples + EXCLUDED.samples,
        weight = metric_dim_day.weight + EXCLUDED.weight,
        good = metric_dim_day.good + EXCLUDED.good,
        needs_improvement = metric_dim_day.needs_improvement + EXCLUDED.needs_improvement,
        poor = metric_dim_day.poor + EXCLUDED.poor;

    INSERT INTO metric_dim_day_hist (site, day, name, dim, val, bucket, samples, weight)
    SELECT site, day, name, dim, val, bucket, SUM(n), SUM(w)
    FROM (SELECT site, name, (received_at AT TIME ZONE 'UTC')::date AS day, x.dim, x.val,
                strray_hist_bucket(name, value) AS bucket, 1 AS n, 1 / sample_rate AS w, rating
         FROM new_rows
         CROSS JOIN LATERAL (VALUES ('route', route), ('form_factor', form_factor), ('engine', engine),
                                    ('country', COALESCE(country, '')), ('release', COALESCE(release, ''))) AS x(dim, val)
         UNION ALL
         SELECT site, name, (received_at AT TIME ZONE 'UTC')::date AS day, x.dim, x.val,
                strray_hist_bucket(name, value) AS bucket, -1 AS n, -1 / sample_rate AS w, rating
         FROM old_rows
         CROSS JOIN LATERAL (VALUES ('route', route), ('form_factor', form_factor), ('engine', engine),
                                    ('country', COALESCE(country, '')), ('release', COALESCE(release, ''))) AS x(dim, val)) d
    GROUP BY site, day, name, dim, val, bucket ORDER BY site, day, name, dim, val, bucket
    ON CONFLICT (site, day, name, dim, val, bucket) DO UPDATE SET
        samples = metric_dim_day_hist.samples + EXCLUDED.samples,
        weight = metric_dim_day_hist.weight + EXCLUDED.weight;

    RETURN NULL;
END
$fn$;

CREATE TRIGGER metric_dim_rollup_insert AFTER INSERT ON metric
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION strray_dim_rollup_insert();
CREATE TRIGGER metric_dim_rollup_update AFTER UPDATE ON metric
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION strray_dim_rollup_update();

-- Rows stored before this migration.

    INSERT INTO metric_dim_day (site, day, name, dim, val, samples, weight, good, needs_improvement, poor)
    SELECT site, day, name, dim, val, SUM(n), SUM(w),
           COALESCE(SUM(w) FILTER (WHERE rating = 'good'), 0),
           COALESCE(SUM(w) FILTER (WHERE rating = 'needs-improvement'), 0),
           COALESCE(SUM(w) FILTER (WHERE rating = 'poor'), 0)
    FROM (SELECT site, name, (received_at AT TIME ZONE 'UTC')::date AS day, x.dim, x.val,
                strray_hist_bucket(name, value) AS bucket, 1 AS n, 1 / sample_rate AS w, rating
         FROM metric
         CROSS JOIN LATERAL (VALUES ('route', route), ('form_factor', form_factor), ('engine', engine),
                                    ('country', COALESCE(country, '')), ('release', COALESCE(release, ''))) AS x(dim, val)) d
    GROUP BY site, day, name, dim, val ORDER BY site, day, name, dim, val
    ON CONFLICT (site, day, name, dim, val) DO UPDATE SET
        samples = metric_dim_day.samples + EXCLUDED.samples,
        weight = metric_dim_day.weight + EXCLUDED.weight,
        good = metric_dim_day.good + EXCLUDED.good,
        needs_improvement = metric_dim_day.needs_improvement + EXCLUDED.needs_improvement,
        poor = metric_dim_day.poor + EXCLUDED.poor;

    INSERT INTO metric_dim_day_hist (site, day, name, dim, val, bucket, samples, weight)
    SELECT site, day, name, dim, val, bucket, SUM(n), SUM(w)
    FROM (SELECT site, name, (received_at AT TIME ZONE 'UTC')::date AS day, x.dim, x.val,
                strray_hist_bucket(name, value) AS bucket, 1 AS n, 1 / sample_rate AS w, rating
         FROM metric
         CROSS JOIN LATERAL (VALUES ('route', route), ('form_factor', form_factor), ('engine', engine),
                                    ('country', COALESCE(country, '')), ('release', COALESCE(release, ''))) AS x(dim, val)) d
    GROUP BY site, day, name, dim, val, bucket ORDER BY site, day, name, dim, val, bucket
    ON CONFLICT (site, day, name, dim, val, bucket) DO UPDATE SET
        samples = metric_dim_day_hist.samples + EXCLUDED.samples,
        weight = metric_dim_day_hist.weight + EXCLUDED.weight;

