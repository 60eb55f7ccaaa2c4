-- Lighter rollups (issue 16): the all-dimension hourly histogram
-- `metric_rollup_hist` (hour x route x form factor x engine x country x
-- release x bucket) got nearly one new cell per raw row under varied traffic:
-- a second copy of the raw table, upserted row by row inside every batch's
-- statement trigger, and the costliest part of it. It goes; a site-level hourly
-- histogram (a few hundred cells per site and hour) takes its place for
-- sub-day windows, and the rare report that needs a histogram over several
-- dimensions at once, or over part of a day by a dimension, reads raw rows
-- (collector/src/reports.rs, `Source::Hourly`). The hourly all-dimension
-- counts (`metric_rollup`: no bucket, so few cells) and every daily rollup stay.
-- The trigger stays per statement (one per batch, transition tables), which
-- keeps re-sends and an analyst's direct UPDATE exact under concurrent writers.

CREATE TABLE metric_site_hour_hist (
    site    TEXT NOT NULL,
    hour    TIMESTAMPTZ NOT NULL,
    name    TEXT NOT NULL,
    bucket  INTEGER NOT NULL,
    samples BIGINT NOT NULL,
    weight  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (site, hour, name, bucket) INCLUDE (weight)
);
COMMENT ON TABLE metric_site_hour_hist IS
    'Histogram (bucket -> weight) per site, hour and metric; buckets per strray_hist_bucket().';

-- Exact: the old table's cells summed over the dimensions.
INSERT INTO metric_site_hour_hist (site, hour, name, bucket, samples, weight)
SELECT site, hour, name, bucket, SUM(samples), SUM(weight)
FROM metric_rollup_hist GROUP BY 1, 2, 3, 4;

CREATE OR REPLACE FUNCTION strray_rollups_on_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    EXECUTE format($q$
        WITH f AS MATERIALIZED (
            -- The day is kept beside the hour, not derived from it: date_trunc('hour')
            -- works in the session's time zone, whose hours need not start on UTC hours.
            SELECT site, name, date_trunc('hour', received_at) AS hour,
                   (received_at AT TIME ZONE 'UTC')::date AS day, route, form_factor, engine,
                   COALESCE(country, '') AS country, COALESCE(release, '') AS release,
                   strray_hist_bucket(name, value) AS bucket, rating,
                   SUM(sign) AS samples, SUM(sign / sample_rate) AS weight
            FROM (%s) r
            GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11),
        hourly AS (
            INSERT INTO metric_rollup (site, name, hour, route, form_factor, engine, country, release, samples, weight, good, needs_improvement, poor)
            SELECT site, name, hour, route, form_factor, engine, country, release, SUM(samples), SUM(weight),
                   COALESCE(SUM(weight) FILTER (WHERE rating = 'good'), 0),
                   COALESCE(SUM(weight) FILTER (WHERE rating = 'needs-improvement'), 0),
                   COALESCE(SUM(weight) FILTER (WHERE rating = 'poor'), 0)
            FROM f
            GROUP BY site, name, hour, route, form_factor, engine, country, release
            ORDER BY site, name, hour, route, form_factor, engine, country, release
            ON CONFLICT (site, hour, name, route, form_factor, engine, country, release) DO UPDATE SET
                samples = metric_rollup.samples + EXCLUDED.samples,
                weight = metric_rollup.weight + EXCLUDED.weight,
                good = metric_rollup.good + EXCLUDED.good,
                needs_improvement = metric_rollup.needs_improvement + EXCLUDED.needs_improvement,
                poor = metric_rollup.poor + EXCLUDED.poor),
        site_hour_hist AS (
            INSERT INTO metric_site_hour_hist (site, hour, name, bucket, samples, weight)
            SELECT site, hour, name, bucket, SUM(samples), SUM(weight)
            FROM f
            GROUP BY site, hour, name, bucket ORDER BY site, hour, name, bucket
            ON CONFLICT (site, hour, name, bucket) DO UPDATE SET
                samples = metric_site_hour_hist.samples + EXCLUDED.samples,
                weight = metric_site_hour_hist.weight + EXCLUDED.weight),
        site_day AS (
            INSERT INTO metric_site_day (site, day, name, samples, weight, good, needs_improvement, poor)
            SELECT site, day, name, SUM(samples), SUM(weight),
                   COALESCE(SUM(weight) FILTER (WHERE rating = 'good'), 0),
                   COALESCE(SUM(weight) FILTER (WHERE rating = 'needs-improvement'), 0),
                   COALESCE(SUM(weight) FILTER (WHERE rating = 'poor'), 0)
            FROM f
            GROUP BY site, day, name ORDER BY site, day, name
            ON CONFLICT (site, day, name) DO UPDATE SET
                samples = metric_site_day.samples + EXCLUDED.samples,
                weight = metric_site_day.weight + EXCLUDED.weight,
                good = metric_site_day.good + EXCLUDED.good,
                needs_improvement = metric_site_day.needs_improvement + EXCLUDED.needs_improvement,
                poor = metric_site_day.poor + EXCLUDED.poor),
        site_day_hist AS (
            INSERT INTO metric_site_day_hist (site, day, name, bucket, samples, weight)
            SELECT site, day, name, bucket, SUM(samples), SUM(weight)
            FROM f
            GROUP BY site, day, name, bucket ORDER BY site, day, name, bucket
            ON CONFLICT (site, day, name, bucket) DO UPDATE SET
                samples = metric_site_day_hist.samples + EXCLUDED.samples,
                weight = metric_site_day_hist.weight + EXCLUDED.weight),
        dims AS MATERIALIZED (
            SELECT f.site, f.day, f.name, x.dim, x.val, f.bucket, f.rating, f.samples, f.weight
            FROM f CROSS JOIN LATERAL (VALUES ('route', f.route), ('form_factor', f.form_factor),
                                              ('engine', f.engine), ('country', f.country),
                                              ('release', f.release)) AS x(dim, val)),
        dim_day AS (
            INSERT INTO metric_dim_day (site, day, name, dim, val, samples, weight, good, needs_improvement, poor)
            SELECT site, day, name, dim, val, SUM(samples), SUM(weight),
                   COALESCE(SUM(weight) FILTER (WHERE rating = 'good'), 0),
                   COALESCE(SUM(weight) FILTER (WHERE rating = 'needs-improvement'), 0),
                   COALESCE(SUM(weight) FILTER (WHERE rating = 'poor'), 0)
            FROM dims
            GROUP BY site, day, name, dim, val ORDER BY site, day, name, dim, val
            ON CONFLICT (site, day, name, dim, val) DO UPDATE SET
                samples = metric_dim_day.samples + EXCLUDED.samples,
                weight = metric_dim_day.weight + EXCLUDED.weight,
                good = metric_dim_day.good + EXCLUDED.good,
                needs_improvement = metric_dim_day.needs_improvement + EXCLUDED.needs_improvement,
                poor = metric_dim_day.poor + EXCLUDED.poor)
            INSERT INTO metric_dim_day_hist (site, day, name, dim, val, bucket, samples, weight)
            SELECT site, day, name, dim, val, bucket, SUM(samples), SUM(weight)
            FROM dims
            GROUP BY site, day, name, dim, val, bucket ORDER BY site, day, name, dim, val, bucket
            ON CONFLICT (site, day, name, dim, val, bucket) DO UPDATE SET
                samples = metric_dim_day_hist.samples + EXCLUDED.samples,
                weight = metric_dim_day_hist.weight + EXCLUDED.weight$q$,
        CASE TG_OP
            WHEN 'INSERT' THEN 'SELECT *, 1 AS sign FROM new_rows'
            ELSE 'SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 FROM old_rows'
        END);
    RETURN NULL;
END
$fn$;


DROP TABLE metric_rollup_hist;
