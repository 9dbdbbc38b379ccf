-- The boards a moderation action covers, locked: p_board alone (LB404 when there is no
-- such board) or every board when p_board is NULL, each board's sequencing lock held
-- exclusively until the transaction ends (lb_lock_boards.sql). Returns their ids.
CREATE OR REPLACE FUNCTION lb_lock_scope(p_board text) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    boards text[];
BEGIN
    IF p_board IS NULL THEN
        boards := ARRAY(SELECT b.board_id FROM lb_board b ORDER BY b.board_id);
    ELSIF EXISTS (SELECT 1 FROM lb_board b WHERE b.board_id = p_board) THEN
        boards := ARRAY[p_board];
    ELSE
        RAISE EXCEPTION 'unknown board %', quote_literal(p_board) USING ERRCODE = 'LB404';
    END IF;
    PERFORM lb_lock_boards(boards);
    RETURN boards;
END;
$$;
