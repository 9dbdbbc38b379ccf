-- Remove one player's entry from one ladder (the board's current season, or p_season),
-- as an admin: the entry leaves with a sized -1 rank delta and a removal event in this
-- one transaction (lb_take_entries), so every entry behind it moves up by one exactly
-- and live views are pushed. A banned player's hidden entry of that ladder is removed
-- too (it will not come back on unban). The action is audited.
--
-- Returns the removed entry's score (NULL when only a hidden one was removed) and the
-- id of the removal event, which the caller numbers after the commit (lb_seq_of.sql).
-- Errors: LB404 unknown board, LB4S4 unknown season, LB4P4 no entry.
CREATE OR REPLACE FUNCTION lb_remove_entry(
    p_board   text,
    p_season  text,
    p_player  text,
    p_actor   text,
    p_reason  text
)
RETURNS TABLE (season text, score bigint, hidden boolean, last_event bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    l       record;
    taken   record;
    n       integer;
BEGIN
    SELECT x.season_no, x.season INTO l
      FROM lb_ladder x
     WHERE x.board_id = p_board AND x.season = coalesce(p_season, x.current_season);
    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM lb_board b WHERE b.board_id = p_board) THEN
            RAISE EXCEPTION 'board % has no season %', quote_literal(p_board),
                quote_literal(p_season) USING ERRCODE = 'LB4S4';
        END IF;
        RAISE EXCEPTION 'unknown board %', quote_literal(p_board) USING ERRCODE = 'LB404';
    END IF;

    PERFORM pg_advisory_xact_lock_shared(19522, hashtext(p_board));
    SELECT t.score, t.event_id INTO taken
      FROM lb_take_entries(p_player, ARRAY[l.season_no], false) AS t;
    DELETE FROM lb_hidden_entry h WHERE h.season_no = l.season_no AND h.player_id = p_player;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF taken.event_id IS NULL AND n = 0 THEN
        RAISE EXCEPTION 'player % has no entry on board % season %', quote_literal(p_player),
            quote_literal(p_board), quote_literal(l.season) USING ERRCODE = 'LB4P4';
    END IF;

    INSERT INTO lb_audit (actor, action, board_id, player_id, season, reason, detail)
    VALUES (p_actor, 'remove_entry', p_board, p_player, l.season, p_reason,
            jsonb_build_object('score', taken.score, 'hidden', n > 0));

    season := l.season;
    score := taken.score;
    hidden := n > 0;
    last_event := taken.event_id;
    RETURN NEXT;
END;
$$;
