-- Rollups maintained per batch (issue 16): the collector's batch write updates
-- every rollup with one grouped statement each, in the batch's transaction
-- (collector/src/storage/sqlite.rs), instead of these per-row triggers. Rows
-- changed by hand in SQL are no longer counted into the rollups on SQLite.
DROP TRIGGER metric_rollup_insert;
DROP TRIGGER metric_rollup_update;
DROP TRIGGER metric_dim_rollup_insert;
DROP TRIGGER metric_dim_rollup_update;
