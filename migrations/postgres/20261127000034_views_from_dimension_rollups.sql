-- Per-route views read the one-dimension daily rollup (dim = 'route'), which is
-- far smaller than the hourly all-dimension rollup: same columns, same answers
-- for whole UTC days, ~10× faster on large data.

CREATE OR REPLACE VIEW daily_metric_summary AS
WITH c AS (
    SELECT site, val AS route, name, day, bucket,
           SUM(weight) OVER (PARTITION BY site, val, name, day ORDER BY bucket) AS cum,
           SUM(weight) OVER (PARTITION BY site, val, name, day) AS total
    FROM metric_dim_day_hist WHERE dim = 'route' AND weight > 1e-9
), p AS (
    SELECT DISTINCT ON (site, route, name, day) site, route, name, day,
           strray_hist_value(name, bucket) AS p75
    FROM c WHERE cum >= 0.75 * total * (1 - 1e-12)
    ORDER BY site, route, name, day, bucket
)
SELECT r.site, r.val AS route, r.name AS metric, r.day, r.samples::bigint AS samples,
       r.weight AS page_views, p.p75,
       r.good / NULLIF(r.weight, 0) AS good_share,
       r.needs_improvement / NULLIF(r.weight, 0) AS needs_improvement_share,
       r.poor / NULLIF(r.weight, 0) AS poor_share
FROM metric_dim_day r
JOIN p ON p.site = r.site AND p.route = r.val AND p.name = r.name AND p.day = r.day
WHERE r.dim = 'route' AND r.samples > 0;
COMMENT ON VIEW daily_metric_summary IS
    'Per site, route, metric (FCP, LCP, CLS, INP, …) and UTC day: stored samples, page views (samples weighted by 1/sample_rate), p75 from the rollup histograms (within 1 % of exact; CLS unitless, others ms) and the weighted good / needs-improvement / poor shares (0–1). Filter on site and day for speed.';

CREATE OR REPLACE VIEW route_budget_status AS
WITH h AS (
    SELECT site, val AS route, name, bucket, SUM(weight) AS w, SUM(samples) AS n
    FROM metric_dim_day_hist
    WHERE dim = 'route' AND day >= (now() AT TIME ZONE 'UTC')::date - 6
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
    'Per site, route and budgeted metric over the last 7 UTC days (today and the 6 before): samples, p75 (from histograms, within 1 %), the default budget, p75/budget and the severity (pass < 90 % ≤ warning < 100 % ≤ error < 110 % ≤ critical). Severity ignores the minimum sample count; check samples.';
