-- The upsert of a submit, shared by lb_submit's single-score and batch branches: the
-- board's update policy applied in one INSERT ... ON CONFLICT, in player-id order (so
-- concurrent batches lock entries in the same order and never deadlock), stashing each
-- entry's previous key in prev_score and prev_at. Metadata goes with the score that
-- stands: a submit's metadata replaces the entry's when its score is taken (absent, the
-- entry keeps its metadata), and a worse score on a best board changes neither.
CREATE OR REPLACE FUNCTION lb_upsert_entries(
    p_season   integer,
    p_policy   text,
    p_sign     integer,
    p_players  text[],
    p_scores   bigint[],
    p_ats      timestamptz[],
    p_metas    jsonb[]
)
RETURNS TABLE (player_id text, score bigint, sort_score bigint, achieved_at timestamptz,
               updates integer, prev_score bigint, prev_at timestamptz)
LANGUAGE sql AS $$
    INSERT INTO lb_entry AS e (season_no, player_id, score, sort_score, achieved_at,
                               updates, metadata, prev_score, prev_at)
    SELECT p_season, i.player_id, i.score, p_sign * i.score, coalesce(i.at, now()), 1,
           i.meta, NULL, NULL
      FROM unnest(p_players, p_scores, p_ats, p_metas) AS i(player_id, score, at, meta)
     ORDER BY i.player_id
    ON CONFLICT (season_no, player_id) DO UPDATE SET
        prev_score = e.score,
        prev_at = e.achieved_at,
        score = CASE
            WHEN p_policy = 'increment' THEN e.score + excluded.score
            WHEN p_policy = 'latest' THEN excluded.score
            WHEN p_sign * excluded.score < p_sign * e.score THEN excluded.score
            ELSE e.score END,
        sort_score = p_sign * CASE
            WHEN p_policy = 'increment' THEN e.score + excluded.score
            WHEN p_policy = 'latest' THEN excluded.score
            WHEN p_sign * excluded.score < p_sign * e.score THEN excluded.score
            ELSE e.score END,
        achieved_at = CASE
            WHEN p_policy = 'latest' THEN excluded.achieved_at
            WHEN p_policy = 'increment' AND excluded.score <> 0 THEN excluded.achieved_at
            WHEN p_policy = 'best' AND p_sign * excluded.score < p_sign * e.score
                THEN excluded.achieved_at
            ELSE e.achieved_at END,
        updates = e.updates + 1,
        -- metadata belongs to the score that stands: a submit that leaves the score as
        -- it was (a worse score on a best board) leaves its metadata too
        metadata = CASE
            WHEN p_policy = 'best' AND NOT p_sign * excluded.score < p_sign * e.score
                THEN e.metadata
            ELSE coalesce(excluded.metadata, e.metadata) END
    RETURNING e.player_id, e.score, e.sort_score, e.achieved_at, e.updates, e.prev_score,
              e.prev_at
$$;
