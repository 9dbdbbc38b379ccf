-- Number of distinct scores strictly better than sort score s in ladder n (the dense
-- display rank minus one), in the caller's snapshot.
--
-- A skip scan of lb_entry_order: one backward index probe per distinct better score, each
-- jumping over every tie of the score it lands on, so the cost grows with the distinct
-- scores ahead (the answer itself), never with the entries tied at them. Exact by
-- construction: it reads the entries, not a kept count.
CREATE OR REPLACE FUNCTION lb_count_scores_before(n integer, s bigint)
RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
SET enable_bitmapscan = off AS $$
    WITH RECURSIVE better(v) AS (
        (SELECT e.sort_score FROM lb_entry e
          WHERE e.season_no = n AND e.sort_score < s
          ORDER BY e.sort_score DESC LIMIT 1)
        UNION ALL
        SELECT (SELECT e.sort_score FROM lb_entry e
                 WHERE e.season_no = n AND e.sort_score < b.v
                 ORDER BY e.sort_score DESC LIMIT 1)
          FROM better b
         WHERE b.v IS NOT NULL
    )
    SELECT count(v) FROM better;
$$;
