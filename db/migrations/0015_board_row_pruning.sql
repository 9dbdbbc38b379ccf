-- Keep the board row's page short, so every submit's board lookup stays cheap.
--
-- Every submit reads its board's row (lb_board is a handful of rows: a sequential scan).
-- The sequencer updates that row (seq) on each round, and every idempotent submit holds a
-- KEY SHARE lock on it (lb_submission's foreign key) until it commits, so each update
-- leaves a dead version whose xmax is a multixact of the updater and the lockers. A reader
-- that meets such a version must look up the multixact's members to learn that it is
-- dead, in the multixact SLRU, which reads them from disk once they are out of its few
-- buffers. PostgreSQL prunes a page's dead versions only when the page is nearly full:
-- at the default fillfactor that was ~45 dead versions of one board row, and every
-- submit's lookup checked them all. Measured with perf under 16 pgbench clients
-- submitting single scores: multixact member lookups were 16% of all PostgreSQL CPU.
--
-- A fillfactor of 10 makes PostgreSQL prune the page whenever more than a tenth of it is
-- used, so a board row has a few dead versions at most, and the same load ran at 1,872
-- submits/s against 1,444 with ~45 versions (pgbench, sequencer running). The table is a
-- row per board; the space is nothing. Updates of seq stay HOT (it is not indexed), and
-- the free space keeps them on the row's page.

ALTER TABLE lb_board SET (fillfactor = 10);
