-- Lift a player's ban on one board (p_board) or their ban on every board (p_board NULL),
-- as an admin. Under the boards' sequencing locks, held exclusively (lb_lock_scope.sql),
-- the ban goes and the player's hidden entries come back, unchanged, on every board no
-- other ban of theirs still covers (lb_restore_entries: exact rank deltas and arrival
-- events). Lifting a ban that is not there changes nothing. The action is audited.
--
-- Returns whether a ban was lifted, how many entries came back, and the last event per
-- board (to number after the commit). Errors: LB404 unknown board.
CREATE OR REPLACE FUNCTION lb_unban(p_player text, p_board text, p_actor text, p_reason text)
RETURNS TABLE (lifted boolean, restored integer, board_id text, last_event bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    boards    text[];
    was       boolean;
    n         integer;
    t_boards  text[];
    t_events  bigint[];
BEGIN
    boards := lb_lock_scope(p_board);

    DELETE FROM lb_ban x WHERE x.player_id = p_player AND x.board_id IS NOT DISTINCT FROM p_board;
    was := FOUND;

    -- the boards of the scope that no remaining ban of the player covers
    IF NOT EXISTS (SELECT 1 FROM lb_ban x WHERE x.player_id = p_player AND x.board_id IS NULL)
    THEN
        boards := ARRAY(
            SELECT b FROM unnest(boards) AS b
             WHERE NOT EXISTS (SELECT 1 FROM lb_ban x
                                WHERE x.player_id = p_player AND x.board_id = b));
        SELECT array_agg(t.board_id), array_agg(t.event_id) INTO t_boards, t_events
          FROM lb_restore_entries(
                   p_player,
                   ARRAY(SELECT s.season_no FROM lb_season s WHERE s.board_id = ANY(boards))
               ) AS t;
    END IF;
    n := coalesce(cardinality(t_events), 0);

    INSERT INTO lb_audit (actor, action, board_id, player_id, reason, detail)
    VALUES (p_actor, 'unban', p_board, p_player, p_reason,
            jsonb_build_object('restored_entries', n, 'lifted', was));

    RETURN QUERY
        SELECT was, n, u.b, max(u.e)
          FROM unnest(t_boards, t_events) AS u(b, e) GROUP BY u.b
        UNION ALL
        SELECT was, n, NULL::text, NULL::bigint WHERE n = 0;
END;
$$;
