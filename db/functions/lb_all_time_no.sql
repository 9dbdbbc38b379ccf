-- The season_no of board p_board's all-time ladder (its season 'all-time'), NULL when the
-- board keeps none: one probe of lb_season's (board_id, season) key.
CREATE OR REPLACE FUNCTION lb_all_time_no(p_board text)
RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT s.season_no FROM lb_season s WHERE s.board_id = p_board AND s.season = 'all-time';
$$;
