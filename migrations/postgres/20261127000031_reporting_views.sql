-- Views for analysts and BI tools (Grafana, Metabase): plain SQL over the
-- rollups, percentiles read from merged histograms (within 1 % of exact).

-- The default budgets of collector/src/budget.rs, queryable.
CREATE VIEW default_budget (metric, budget, unit) AS
VALUES ('FCP', 2000.0::float8, 'ms'), ('LCP', 2500.0, 'ms'), ('FID', 100.0, 'ms'),
       ('CLS', 0.1, 'score'), ('TTI', 5000.0, 'ms');
COMMENT ON VIEW default_budget IS
    'Default p75 budget per metric (as the collector applies them): warning from 90 %, error from 100 %, critical from 110 % of the budget.';

-- Per site, route, metric and UTC day: samples, weighted p75 and rating shares.
CREATE VIEW daily_metric_summary AS
WITH h AS (
    SELECT site, route, name, (hour AT TIME ZONE 'UTC')::date AS day, bucket, SUM(weight) AS w
    FROM metric_rollup_hist
    GROUP BY 1, 2, 3, 4, 5
), c AS (
    SELECT *, SUM(w) OVER (PARTITION BY site, route, name, day ORDER BY bucket) AS cum,
              SUM(w) OVER (PARTITION BY site, route, name, day) AS total
    FROM h WHERE w > 1e-9
), p AS (
    SELECT DISTINCT ON (site, route, name, day) site, route, name, day,
           strray_hist_value(name, bucket) AS p75
    FROM c WHERE cum >= 0.75 * total * (1 - 1e-12)
    ORDER BY site, route, name, day, bucket
), r AS (
    SELECT site, route, name, (hour AT TIME ZONE 'UTC')::date AS day,
           SUM(samples) AS samples, SUM(weight) AS weight, SUM(good) AS good,
           SUM(needs_improvement) AS needs_improvement, SUM(poor) AS poor
    FROM metric_rollup GROUP BY 1, 2, 3, 4
)
SELECT r.site, r.route, r.name AS metric, r.day, r.samples::bigint AS samples,
       r.weight AS page_views, p.p75,
       r.good / NULLIF(r.weight, 0) AS good_share,
       r.needs_improvement / NULLIF(r.weight, 0) AS needs_improvement_share,
       r.poor / NULLIF(r.weight, 0) AS poor_share
FROM r JOIN p USING (site, route, name, day)
WHERE r.samples > 0;
COMMENT ON VIEW daily_metric_summary IS
    'Per site, route, metric (FCP, LCP, CLS, INP, …) and UTC day: stored samples, page views (samples weighted by 1/sample_rate), p75 from the rollup histograms (within 1 % of exact; CLS unitless, others ms) and the weighted good / needs-improvement / poor shares (0–1). Filter on site and day for speed.';

-- Same, for a whole site (every route and device): reads the small site-day rollup.
CREATE VIEW site_daily_summary AS
WITH c AS (
    SELECT site, day, name, bucket,
           SUM(weight) OVER (PARTITION BY site, day, name ORDER BY bucket) AS cum,
           SUM(weight) OVER (PARTITION BY site, day, name) AS total
    FROM metric_site_day_hist WHERE weight > 1e-9
), p AS (
    SELECT DISTINCT ON (site, day, name) site, day, name, strray_hist_value(name, bucket) AS p75
    FROM c WHERE cum >= 0.75 * total * (1 - 1e-12)
    ORDER BY site, day, name, bucket
)
SELECT d.site, d.name AS metric, d.day, d.samples, d.weight AS page_views, p.p75,
       d.good / NULLIF(d.weight, 0) AS good_share,
       d.needs_improvement / NULLIF(d.weight, 0) AS needs_improvement_share,
       d.poor / NULLIF(d.weight, 0) AS poor_share
FROM metric_site_day d JOIN p USING (site, day, name)
WHERE d.samples > 0;
COMMENT ON VIEW site_daily_summary IS
    'Per site, metric and UTC day (all routes and devices): samples, page views, p75 from histograms (within 1 %) and good / needs-improvement / poor shares. Fast: one small rollup row per site, day and metric.';

-- Budget status of every route over the last 7 days.
CREATE VIEW route_budget_status AS
WITH h AS (
    SELECT site, route, name, bucket, SUM(weight) AS w, SUM(samples) AS n
    FROM metric_rollup_hist
    WHERE hour >= date_trunc('hour', now()) - interval '7 days'
    GROUP BY 1, 2, 3, 4
), c AS (
    SELECT *, SUM(w) OVER (PARTITION BY site, route, name ORDER BY bucket) AS cum,
              SUM(w) OVER (PARTITION BY site, route, name) AS total,
              SUM(n) OVER (PARTITION BY site, route, name) AS samples
    FROM h WHERE w > 1e-9
), p AS (
    SELECT DISTINCT ON (site, route, name) site, route, name, samples,
           strray_hist_value(name, bucket) AS p75
    FROM c WHERE cum >= 0.75 * total * (1 - 1e-12)
    ORDER BY site, route, name, bucket
)
SELECT p.site, p.route, p.name AS metric, p.samples::bigint AS samples, p.p75, b.budget,
       p.p75 / b.budget AS ratio,
       CASE WHEN p.p75 >= 1.1 * b.budget * (1 - 1e-9) THEN 'critical'
            WHEN p.p75 >= 1.0 * b.budget * (1 - 1e-9) THEN 'error'
            WHEN p.p75 >= 0.9 * b.budget * (1 - 1e-9) THEN 'warning'
            ELSE 'pass' END AS severity
FROM p JOIN default_budget b ON b.metric = p.name;
COMMENT ON VIEW route_budget_status IS
    'Per site, route and budgeted metric over the last 7 days: samples, p75 (from histograms, within 1 %), the default budget, p75/budget and the severity (pass < 90 % ≤ warning < 100 % ≤ error < 110 % ≤ critical). Severity ignores the minimum sample count; check samples.';
