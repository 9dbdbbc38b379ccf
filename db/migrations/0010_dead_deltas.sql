-- Folded rank deltas must not tax reads.
--
-- The compactor deletes every delta it folds, about two per submit. Until VACUUM
-- removes them, their entries stay in lb_rank_delta_key, and every read that sums the
-- pending deltas before a key walks them. A bitmap heap scan rechecks each dead entry on
-- every read and never marks it; an index(-only) scan marks it dead (the kill bit) the
-- first time it finds the row gone for everybody, so later reads skip it. Measured on
-- PostgreSQL 15 with 9,132 folded deltas, the pending term of one rank took 1.1 ms as a
-- bitmap scan on every read, and 0.035 ms as an index-only scan after the first read.
--
-- So the rank functions plan without bitmap scans (their lookups are ordered index
-- probes; nothing in them wants a bitmap), and lb_rank_delta is vacuumed eagerly: by the
-- compactor's callers (db/compaction.py vacuum_deltas) and, as a fallback, by autovacuum
-- after a fixed number of dead rows rather than a fraction of a table that is nearly
-- empty by design. Neither truncates the table: truncating takes an ACCESS EXCLUSIVE
-- lock, which stalls writers here and, replayed on the read replica, stalls or cancels
-- the REST reads there; the emptied pages are reused instead.

ALTER FUNCTION lb_count_before(integer, bigint, timestamptz, text) SET enable_bitmapscan = off;
ALTER FUNCTION lb_count_entries(integer) SET enable_bitmapscan = off;
ALTER FUNCTION lb_count_before_many(integer, bigint[], timestamptz[], text[])
    SET enable_bitmapscan = off;

ALTER TABLE lb_rank_delta SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 5000,
    autovacuum_vacuum_cost_delay = 0,
    vacuum_truncate = false
);
