-- Raw metric rows partitioned by day, so that retention drops whole partitions
-- (no bulk DELETE, no vacuum debt) and time-window queries touch only the days
-- they ask for.
--
-- The partition key `day` must be the same for every re-send of a metric, or a
-- re-send arriving after midnight would land in another partition and be
-- counted twice (a unique constraint on a partitioned table can only hold per
-- partition). So it is not the receive day but the day the metric was created:
-- the agent's and the web-vitals library's metric ids carry the creation time
-- in ms ("v1-1764201600000-…"). The client clock is trusted only within
-- [received - 48 h, received + 24 h]; otherwise (bad clock, foreign id format)
-- the receive day is used. Consequence, documented in the README: a re-send
-- that crosses that window's edge (a metric updated more than 48 h after it was
-- created) is stored as a second row.
--
-- Partitions are created ahead by strray_metric_partitions_ensure() (called by
-- the collector at start and hourly); rows for a day without a partition go to
-- metric_default and are moved when that day's partition is created.

CREATE FUNCTION strray_metric_day(metric_id TEXT, received_at TIMESTAMPTZ) RETURNS DATE
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN (CASE
        WHEN split_part(metric_id, '-', 2) !~ '^[0-9]{1,15}$' THEN received_at
        ELSE (SELECT CASE
                WHEN c BETWEEN received_at - interval '48 hours' AND received_at + interval '24 hours'
                THEN c ELSE received_at END
              FROM (SELECT to_timestamp(split_part(metric_id, '-', 2)::bigint / 1000.0) AS c) t)
    END AT TIME ZONE 'UTC')::date;

COMMENT ON FUNCTION strray_metric_day(TEXT, TIMESTAMPTZ) IS
    'Partition day of a metric row: the UTC day of the creation time in its id when plausible, else of received_at.';

-- The old table keeps its data until it is copied; its names move aside.
ALTER TABLE metric RENAME TO metric_unpartitioned;
ALTER TABLE metric_unpartitioned RENAME CONSTRAINT metric_instance TO metric_unpartitioned_instance;
ALTER INDEX metric_site_name_time RENAME TO metric_unpartitioned_site_name_time;
ALTER TABLE metric_unpartitioned RENAME CONSTRAINT metric_pkey TO metric_unpartitioned_pkey;
ALTER SEQUENCE metric_id_seq OWNED BY NONE;

CREATE TABLE metric (
    id               BIGINT NOT NULL DEFAULT nextval('metric_id_seq'),
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
    day              DATE NOT NULL,             -- partition key: strray_metric_day(metric_id, received_at)
    CONSTRAINT metric_instance PRIMARY KEY (site, page_view_id, metric_id, day)
) PARTITION BY RANGE (day);

-- Serves the budget verdict and reports: one site, one metric, a time window.
CREATE INDEX metric_site_name_time ON metric (site, name, received_at);

CREATE TABLE metric_default PARTITION OF metric DEFAULT;

COMMENT ON TABLE metric IS
    'One row per metric instance of a page view (latest value sent); partitioned by day (strray_metric_day).';

-- Creates the partition for one day if it is missing, moving any rows for that
-- day out of metric_default first (ATTACH refuses while they are there).
-- Moving rows between partitions directly does not fire the statement triggers
-- on `metric`, so the rollups are untouched. Serialised by an advisory lock:
-- several collectors may run this at the same moment.
CREATE FUNCTION strray_metric_partition_ensure(d DATE) RETURNS BOOLEAN
    LANGUAGE plpgsql AS $fn$
DECLARE
    part TEXT := 'metric_' || to_char(d, 'YYYYMMDD');
BEGIN
    IF to_regclass(part) IS NOT NULL THEN
        RETURN FALSE;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('strray_metric_partitions'));
    IF to_regclass(part) IS NOT NULL THEN
        RETURN FALSE;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE metric INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
    EXECUTE format('WITH moved AS (DELETE FROM metric_default WHERE day = %L RETURNING *)
                    INSERT INTO %I SELECT * FROM moved', d, part);
    EXECUTE format('ALTER TABLE metric ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   part, d, d + 1);
    RETURN TRUE;
END
$fn$;

-- Partitions for every day in [from_day, to_day]; returns how many were created.
CREATE FUNCTION strray_metric_partitions_ensure(from_day DATE, to_day DATE) RETURNS INTEGER
    LANGUAGE sql AS $fn$
    SELECT COUNT(*) FILTER (WHERE strray_metric_partition_ensure(d::date))::int
    FROM generate_series(from_day, to_day, interval '1 day') AS d
$fn$;

-- Drops the partitions of days before `cutoff` (whole days only) and deletes
-- rows of those days that sit in metric_default. Returns the dropped
-- partitions' names. Rollups are kept: retention applies to raw rows only.
CREATE FUNCTION strray_metric_partitions_drop_before(cutoff DATE) RETURNS SETOF TEXT
    LANGUAGE plpgsql AS $fn$
DECLARE
    part TEXT;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('strray_metric_partitions'));
    FOR part IN
        SELECT c.relname FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'metric'::regclass
          AND c.relname ~ '^metric_[0-9]{8}$'
          AND to_date(substr(c.relname, 8), 'YYYYMMDD') < cutoff
        ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE %I', part);
        RETURN NEXT part;
    END LOOP;
END
$fn$;

-- Copy the existing rows into their partitions (no triggers on the new table
-- yet, so the rollups, already counting these rows, are not touched).
SELECT COUNT(*) FILTER (WHERE strray_metric_partition_ensure(d))
FROM (SELECT DISTINCT strray_metric_day(metric_id, received_at) AS d FROM metric_unpartitioned
      UNION SELECT (now() AT TIME ZONE 'UTC')::date + k FROM generate_series(-2, 7) AS k) days;

INSERT INTO metric (id, site, page_view_id, metric_id, name, value, delta, rating, navigation_type,
                    url, path, route, sample_rate, release, connection, form_factor, browser,
                    engine, country, attribution, seq, received_at, day)
SELECT id, site, page_view_id, metric_id, name, value, delta, rating, navigation_type,
       url, path, route, sample_rate, release, connection, form_factor, browser,
       engine, country, attribution, seq, received_at, strray_metric_day(metric_id, received_at)
FROM metric_unpartitioned;

DROP TABLE metric_unpartitioned;
ALTER SEQUENCE metric_id_seq OWNED BY metric.id;

-- The rollup triggers (functions unchanged, see 0030 and 0032). On a
-- partitioned table the transition tables hold the rows of all partitions.
CREATE TRIGGER metric_rollup_insert AFTER INSERT ON metric
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION strray_rollup_insert();
CREATE TRIGGER metric_rollup_update AFTER UPDATE ON metric
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION strray_rollup_update();
CREATE TRIGGER metric_dim_rollup_insert AFTER INSERT ON metric
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION strray_dim_rollup_insert();
CREATE TRIGGER metric_dim_rollup_update AFTER UPDATE ON metric
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION strray_dim_rollup_update();
