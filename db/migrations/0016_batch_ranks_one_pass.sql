-- A batch's ranks in one ordered pass, with no join whose plan depends on estimates.
--
-- 0007 computed the ranks of a batch from three row sets: the probes (each key and the
-- bucket it falls in), the running count of every bucket, and the running sum of the
-- pending deltas merged with the probes. It then joined the three back together by
-- probe. Those joins were planned from estimates that are wrong by design: an unnest of
-- an array parameter is estimated at 10 rows whatever the batch size, and lb_rank_delta
-- is nearly empty whenever the compactor has just run. On PostgreSQL 18 the function's
-- plan is cached per connection, so a connection that first planned it at such a moment
-- kept a nested loop that re-read the whole running-sum window once per probe: for a
-- 500-score batch, 746,500 rows removed by its join filter and 280 ms of a 437 ms submit
-- (auto_explain, under `bench submit`'s batch phase). That was the bimodal batch rate
-- seen from run to run: 2,968-4,351 scores/s on the connections with that plan,
-- 6,521-6,815 without it.
--
-- Now the buckets, the pending deltas and the probes (at their bucket's lower bound) are
-- one stream, ordered by key with a probe before a bucket or delta at the same key, and
-- one running sum over it gives each probe the entries before its bucket: the buckets'
-- counts plus the pending deltas before it, as before. The probes are then read off the
-- same pass; only the in-bucket count remains per probe, as before. No join, so no join
-- plan to get wrong. On a 1M ladder, ten batches of 500 keys took 178 ms against 958 ms
-- with 0007's function, with identical results.
--
-- A bucket's count is summed as an integer (a bucket holds a few hundred entries, and
-- never near 2^31), so the running sum is a bigint rather than a numeric.

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
