-- Number every committed pending event of one board, without ever making a writer wait;
-- returns the board's new seq and whether the round is complete ("settled").
--
-- Numbers are handed out only to events committed when the numbering statement starts,
-- from the board's counter, under the board row's lock, so they stay dense and
-- increasing, and an event committed later gets a later number. Two events of one player
-- are ordered by the entry's row lock (the second writer upserts, and so writes its
-- event, only after the first committed), so a player's events are never numbered out of
-- order.
--
-- Whether the round is complete (no writer in flight, so no event written so far is left
-- unnumbered) is asked with a try-lock on the board's sequencing lock (19522, which every
-- writer holds shared until it commits). Waiting for that lock instead would queue every
-- new writer of the board behind the wait; a broadcaster that gets settled = false comes
-- back for the rest a round later (broadcast/worker.py).
--
-- The board row is locked FOR NO KEY UPDATE, not FOR UPDATE: numbering changes only the
-- non-key column seq, and FOR UPDATE conflicts with the FOR KEY SHARE lock that every
-- idempotent submit's foreign-key check (lb_submission -> lb_board) takes on the same row.
CREATE OR REPLACE FUNCTION lb_sequence_settled(p_board text, OUT seq bigint, OUT settled boolean)
LANGUAGE plpgsql AS $$
DECLARE
    base bigint;
    n bigint;
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
    SELECT b.seq INTO base FROM lb_board b WHERE b.board_id = p_board FOR NO KEY UPDATE;
    WITH numbered AS (
        SELECT e.event_id, base + row_number() OVER (ORDER BY e.event_id) AS s
          FROM lb_event e
         WHERE e.board_id = p_board AND e.seq IS NULL
    )
    UPDATE lb_event e SET seq = numbered.s FROM numbered WHERE e.event_id = numbered.event_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        UPDATE lb_board b SET seq = base + n WHERE b.board_id = p_board;
    END IF;
    seq := base + n;
END;
$$;
