-- Number of entries strictly before key (s, a, p) in ladder n, in the caller's snapshot.
--
-- Cost: the blocks before the key's block, the buckets of that block before the key's
-- bucket, the entries of that bucket before the key, and the pending deltas. One
-- statement (its lookups are LATERAL backward index probes), so plpgsql caches one plan.
--
-- enable_bitmapscan = off: the compactor deletes the deltas it folds, and until VACUUM
-- removes them their index entries stay. A bitmap heap scan rechecks each dead entry on
-- every read and never marks it; an index(-only) scan marks it dead (the kill bit) the
-- first time it finds the row gone for everybody, so later reads skip it. Nothing here
-- wants a bitmap: every lookup is an ordered index probe.
--
-- plan_cache_mode = force_generic_plan: the plan cache would otherwise build a custom
-- plan for every call's key, because it estimates a range over a row comparison with
-- unknown bounds at a third of the index and so always prices the generic plan higher.
-- The custom plans are the generic one anyway (the bounds come from the probes, not from
-- statistics), and this runs for every rank of every submit of up to 16 scores.
CREATE OR REPLACE FUNCTION lb_count_before(n integer, s bigint, a timestamptz, p text)
RETURNS bigint
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET enable_bitmapscan = off
SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RETURN (
        SELECT (SELECT coalesce(sum(b.cnt), 0) FROM lb_rank_block b
                 WHERE b.season_no = n
                   AND (b.lo_score, b.lo_at, b.lo_player) < (blk.lo_score, blk.lo_at, blk.lo_player))
             + (SELECT coalesce(sum(b.cnt), 0) FROM lb_rank_bucket b
                 WHERE b.season_no = n
                   AND (b.lo_score, b.lo_at, b.lo_player) >= (blk.lo_score, blk.lo_at, blk.lo_player)
                   AND (b.lo_score, b.lo_at, b.lo_player) < (bkt.lo_score, bkt.lo_at, bkt.lo_player))
             + (SELECT count(*) FROM lb_entry e
                 WHERE e.season_no = n
                   AND (e.sort_score, e.achieved_at, e.player_id) >= (bkt.lo_score, bkt.lo_at, bkt.lo_player)
                   AND (e.sort_score, e.achieved_at, e.player_id) < (s, a, p COLLATE "C"))
             + (SELECT coalesce(sum(d.delta), 0) FROM lb_rank_delta d
                 WHERE d.season_no = n
                   AND (d.sort_score, d.achieved_at, d.player_id) < (bkt.lo_score, bkt.lo_at, bkt.lo_player))
          FROM (SELECT b.lo_score, b.lo_at, b.lo_player FROM lb_rank_block b
                 WHERE b.season_no = n AND (b.lo_score, b.lo_at, b.lo_player) <= (s, a, p COLLATE "C")
                 ORDER BY b.lo_score DESC, b.lo_at DESC, b.lo_player DESC LIMIT 1) blk,
               (SELECT b.lo_score, b.lo_at, b.lo_player FROM lb_rank_bucket b
                 WHERE b.season_no = n AND (b.lo_score, b.lo_at, b.lo_player) <= (s, a, p COLLATE "C")
                 ORDER BY b.lo_score DESC, b.lo_at DESC, b.lo_player DESC LIMIT 1) bkt);
END;
$$;
