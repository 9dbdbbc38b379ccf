-- Number every committed pending event of one board, without ever making a writer wait;
-- returns the board's new seq and whether the round is complete ("settled").
--
-- The numbering itself is lb_number_pending.sql. Whether the round is complete (no
-- writer in flight, so no event written so far is left unnumbered) is asked with a
-- try-lock on the board's sequencing lock (19522, which every writer holds shared until
-- it commits). Waiting for that lock instead would queue every new writer of the board
-- behind the wait; a broadcaster that gets settled = false comes back for the rest a
-- round later (broadcast/worker.py).
CREATE OR REPLACE FUNCTION lb_sequence_settled(p_board text, OUT seq bigint, OUT settled boolean)
LANGUAGE plpgsql AS $$
DECLARE
    base bigint;
BEGIN
    -- Succeeds only while no writer of the board holds the lock shared, and then holds
    -- it for this short transaction; fails at once otherwise.
    settled := pg_try_advisory_xact_lock(19522, hashtext(p_board));
    SELECT b.seq INTO base FROM lb_board b WHERE b.board_id = p_board;
    IF base IS NULL THEN
        settled := true;  -- no such board: nothing to wait for
        RETURN;
    END IF;
    -- Nothing committed to number: no lock, no write (a broadcaster polls this while a
    -- writer is in flight).
    IF NOT EXISTS (SELECT 1 FROM lb_event e WHERE e.board_id = p_board AND e.seq IS NULL) THEN
        seq := base;
        RETURN;
    END IF;
    seq := lb_number_pending(p_board);
END;
$$;
