-- Ranks of many keys at once, for batch submits.
--
-- lb_count_before per key re-sums the pending deltas each time; for a batch of hundreds
-- (whose own deltas are pending too) that is quadratic. Here the buckets' running counts
-- are computed in one ordered pass, the pending deltas are merged with the probes in
-- another (a probe sorts before a delta at the same key, so it sums only deltas strictly
-- before it), and each key adds only the entries of its own bucket before it.

CREATE FUNCTION lb_count_before_many(n integer, ss bigint[], aa timestamptz[], pp text[])
RETURNS TABLE (i bigint, before bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH probe AS (
        SELECT k.i, k.s, k.a, k.p, b.lo_score, b.lo_at, b.lo_player
          FROM unnest(ss, aa, pp) WITH ORDINALITY AS k(s, a, p, i)
          CROSS JOIN LATERAL (
               SELECT lo_score, lo_at, lo_player FROM lb_rank_bucket
                WHERE season_no = n
                  AND (lo_score, lo_at, lo_player) <= (k.s, k.a, k.p COLLATE "C")
                ORDER BY lo_score DESC, lo_at DESC, lo_player DESC LIMIT 1) b
    ),
    prefix AS (
        SELECT lo_score, lo_at, lo_player,
               sum(cnt) OVER (ORDER BY lo_score, lo_at, lo_player) - cnt AS counted
          FROM lb_rank_bucket WHERE season_no = n
    ),
    merged AS (
        SELECT pr.lo_score AS s, pr.lo_at AS a, pr.lo_player AS p, pr.i, 0 AS d FROM probe pr
        UNION ALL
        SELECT d.sort_score, d.achieved_at, d.player_id, NULL, d.delta
          FROM lb_rank_delta d WHERE d.season_no = n
    ),
    running AS (
        SELECT m.i, sum(m.d) OVER (ORDER BY m.s, m.a, m.p COLLATE "C", m.i IS NULL
                                   ROWS UNBOUNDED PRECEDING) AS pending
          FROM merged m
    )
    SELECT pr.i,
           px.counted + r.pending + (
               SELECT count(*) FROM lb_entry e
                WHERE e.season_no = n
                  AND (e.sort_score, e.achieved_at, e.player_id) >= (pr.lo_score, pr.lo_at, pr.lo_player)
                  AND (e.sort_score, e.achieved_at, e.player_id) < (pr.s, pr.a, pr.p COLLATE "C"))
      FROM probe pr
      JOIN prefix px ON px.lo_score = pr.lo_score AND px.lo_at = pr.lo_at AND px.lo_player = pr.lo_player
      JOIN running r ON r.i = pr.i
$$;
