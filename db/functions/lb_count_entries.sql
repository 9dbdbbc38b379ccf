-- Number of entries in ladder n (its size), in the caller's snapshot.
--
-- The kept sum of the ladder's block counts (lb_rank_total) plus the pending deltas that
-- change the size: a score change writes a -1/+1 pair that nets to zero, so only the
-- arrivals (sized, or NULL) are summed, through the partial index lb_rank_delta_sized.
-- At steady state, when players improve rather than arrive, that is nearly nothing.
-- Bitmap scans are off for the reason given in lb_count_before.sql (dead folded deltas).
CREATE OR REPLACE FUNCTION lb_count_entries(n integer)
RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
SET enable_bitmapscan = off AS $$
    SELECT coalesce((SELECT cnt FROM lb_rank_total WHERE season_no = n), 0)
         + (SELECT coalesce(sum(delta), 0) FROM lb_rank_delta
             WHERE season_no = n AND sized IS NOT FALSE);
$$;
