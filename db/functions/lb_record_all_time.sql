-- A submit's write to its board's all-time ladder (ladder n, boards created with
-- all_time): the same upsert as the season's (lb_upsert_entries), with the lifetime
-- policy: 'increment' adds to the lifetime total, 'best' and 'latest' keep the lifetime
-- best. The same rank deltas and change events as lb_submit writes for a season, so the
-- all-time ladder is ranked, numbered and pushed like any other. Called by lb_submit in
-- its own transaction, after the season's writes; returns the id of the last change event
-- it wrote (NULL when no all-time entry moved).
--
-- The season's bounds are not applied: a lifetime total may outgrow a season's maximum.
CREATE OR REPLACE FUNCTION lb_record_all_time(
    p_board    text,
    n          integer,
    p_policy   text,
    p_sign     integer,
    p_players  text[],
    p_scores   bigint[],
    p_ats      timestamptz[],
    p_metas    jsonb[]
)
RETURNS bigint
LANGUAGE sql AS $$
    WITH up AS (
        SELECT * FROM lb_upsert_entries(n, CASE WHEN p_policy = 'increment' THEN 'increment'
                                                ELSE 'best' END,
                                        p_sign, p_players, p_scores, p_ats, p_metas)
    ),
    o AS (
        SELECT * FROM up WHERE (up.prev_score, up.prev_at) IS DISTINCT FROM (up.score, up.achieved_at)
    ),
    deltas AS (
        INSERT INTO lb_rank_delta (season_no, sort_score, achieved_at, player_id, delta, sized)
        SELECT n, p_sign * o.prev_score, o.prev_at, o.player_id, -1, false
          FROM o WHERE o.prev_at IS NOT NULL
        UNION ALL
        SELECT n, o.sort_score, o.achieved_at, o.player_id, 1, o.prev_at IS NULL FROM o
    ),
    ev AS (
        INSERT INTO lb_event (board_id, season, season_no, player_id, old_score, new_score,
                              old_at, new_at)
        SELECT p_board, 'all-time', n, o.player_id, o.prev_score, o.score, o.prev_at,
               o.achieved_at
          FROM o ORDER BY o.sort_score, o.achieved_at, o.player_id
        RETURNING lb_event.event_id AS id
    )
    SELECT max(ev.id) FROM ev;
$$;
