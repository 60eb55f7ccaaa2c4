-- Twin of migrations/postgres/20261127000034_views_from_dimension_rollups.sql:
-- the reporting views are PostgreSQL-only (for BI tools); nothing to do here.
SELECT 1;
