-- Ban a player on one board (p_board) or on every board (p_board NULL), as an admin.
--
-- Under the boards' sequencing locks, held exclusively (lb_lock_scope.sql), the ban is
-- recorded and the player's entries of every season of the covered boards move to
-- lb_hidden_entry as removals (lb_take_entries: exact rank deltas and removal events),
-- so from this commit on no read, rank or total counts them, and lb_submit refuses the
-- player's scores there (player_banned). Banning a banned player again changes nothing
-- but the reason. The action is audited.
--
-- Returns whether the ban is new, how many entries it hid, and the last event per board
-- (to number after the commit). Errors: LB404 unknown board.
CREATE OR REPLACE FUNCTION lb_ban(p_player text, p_board text, p_actor text, p_reason text)
RETURNS TABLE (created boolean, hidden integer, board_id text, last_event bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    boards   text[];
    is_new   boolean;
    n        integer;
    t_boards text[];
    t_events bigint[];
BEGIN
    boards := lb_lock_scope(p_board);

    INSERT INTO lb_ban AS x (player_id, board_id, reason, actor)
    VALUES (p_player, p_board, p_reason, p_actor)
    ON CONFLICT (player_id, board_id) DO UPDATE SET reason = coalesce(excluded.reason, x.reason)
    RETURNING x.xmax = 0 INTO is_new;

    SELECT array_agg(t.board_id), array_agg(t.event_id) INTO t_boards, t_events
      FROM lb_take_entries(
               p_player,
               ARRAY(SELECT s.season_no FROM lb_season s WHERE s.board_id = ANY(boards)),
               true) AS t;
    n := coalesce(cardinality(t_events), 0);

    INSERT INTO lb_audit (actor, action, board_id, player_id, reason, detail)
    VALUES (p_actor, 'ban', p_board, p_player, p_reason,
            jsonb_build_object('hidden_entries', n, 'new', is_new));

    RETURN QUERY
        SELECT is_new, n, u.b, max(u.e)
          FROM unnest(t_boards, t_events) AS u(b, e) GROUP BY u.b
        UNION ALL
        SELECT is_new, n, NULL::text, NULL::bigint WHERE n = 0;
END;
$$;
