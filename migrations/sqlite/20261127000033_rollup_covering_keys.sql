-- Twin of migrations/postgres/20261127000033_rollup_covering_keys.sql. Nothing
-- to do: the SQLite rollup tables are WITHOUT ROWID, stored in key order with
-- their columns, which already makes range reads index-only.
SELECT 1;
