-- Ranks of many keys at once, for batch submits and broadcaster rounds: for each key
-- (ss[i], aa[i], pp[i]) of ladder n, the number of entries strictly before it.
--
-- lb_count_before per key re-sums the pending deltas each time; for a batch of hundreds
-- (whose own deltas are pending too) that is quadratic. Here the buckets, the pending
-- deltas and the probes (each key at its bucket's lower bound) are one stream, ordered by
-- key, and one running sum over it gives each probe the entries before its bucket: the
-- buckets' counts plus the pending deltas before it. Only the entries of the key's own
-- bucket before it are counted per key.
--
-- The pass has no join on purpose: a join here would be planned from estimates that are
-- wrong by design (an unnest of an array parameter is 10 rows to the planner whatever the
-- batch size, and lb_rank_delta is nearly empty whenever the compactor has just run), and
-- with the plan cached per connection, a nested loop planned at such a moment re-reads
-- the whole running sum once per probe.
--
-- A bucket's count is summed as an integer (a bucket holds a few hundred entries, never
-- near 2^31), so the running sum is a bigint rather than a numeric. Bitmap scans are off
-- for the reason given in lb_count_before.sql (dead folded deltas).
CREATE OR REPLACE FUNCTION lb_count_before_many(n integer, ss bigint[], aa timestamptz[], pp text[])
RETURNS TABLE (i bigint, before bigint)
LANGUAGE sql STABLE PARALLEL SAFE
SET enable_bitmapscan = off AS $$
    WITH probe AS (
        SELECT k.i, k.s, k.a, k.p, b.lo_score, b.lo_at, b.lo_player
          FROM unnest(ss, aa, pp) WITH ORDINALITY AS k(s, a, p, i)
          CROSS JOIN LATERAL (
               SELECT lo_score, lo_at, lo_player FROM lb_rank_bucket
                WHERE season_no = n
                  AND (lo_score, lo_at, lo_player) <= (k.s, k.a, k.p COLLATE "C")
                ORDER BY lo_score DESC, lo_at DESC, lo_player DESC LIMIT 1) b
    ),
    stream AS (
        -- kind 0 (a probe) sorts before kind 1 (a bucket or a delta) at the same key, so
        -- a probe's running sum holds only what lies strictly before its bucket
        SELECT pr.lo_score AS s, pr.lo_at AS a, pr.lo_player AS p, 0 AS kind, 0 AS c,
               pr.i, pr.s AS ks, pr.a AS ka, pr.p AS kp
          FROM probe pr
        UNION ALL
        SELECT b.lo_score, b.lo_at, b.lo_player, 1, b.cnt::integer, NULL, NULL, NULL, NULL
          FROM lb_rank_bucket b WHERE b.season_no = n
        UNION ALL
        SELECT d.sort_score, d.achieved_at, d.player_id, 1, d.delta, NULL, NULL, NULL, NULL
          FROM lb_rank_delta d WHERE d.season_no = n
    ),
    running AS (
        SELECT t.*, sum(t.c) OVER (ORDER BY t.s, t.a, t.p COLLATE "C", t.kind
                                   ROWS UNBOUNDED PRECEDING) AS counted
          FROM stream t
    )
    SELECT r.i,
           r.counted + (
               SELECT count(*) FROM lb_entry e
                WHERE e.season_no = n
                  AND (e.sort_score, e.achieved_at, e.player_id) >= (r.s, r.a, r.p COLLATE "C")
                  AND (e.sort_score, e.achieved_at, e.player_id) < (r.ks, r.ka, r.kp COLLATE "C"))
      FROM running r
     WHERE r.kind = 0
$$;
