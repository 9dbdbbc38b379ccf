-- The one numbering of a board's change feed: every committed pending event of the board
-- gets the next seq, in event_id order, from the board's counter, under the board row's
-- lock; returns the board's new seq (NULL for an unknown board).
--
-- Numbers go only to events committed when the numbering statement starts (READ
-- COMMITTED: each statement here takes its own snapshot, after the row lock is held), so
-- they stay dense and increasing, and an event committed later gets a later number. Two
-- events of one player are ordered by the entry's row lock (the second writer upserts,
-- and so writes its event, only after the first committed), so a player's events are
-- never numbered out of order.
--
-- The board row is locked FOR NO KEY UPDATE, not FOR UPDATE: numbering changes only the
-- non-key column seq, and FOR UPDATE conflicts with the FOR KEY SHARE lock that every
-- idempotent submit's foreign-key check (lb_submission -> lb_board) takes on the same row.
--
-- Its callers decide when to number: lb_sequence_settled.sql (broadcasters and the
-- maintenance loop, which must never make a writer wait) and lb_seq_of.sql (a submitter
-- numbering its own committed write for its ack).
CREATE OR REPLACE FUNCTION lb_number_pending(p_board text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    base bigint;
    n bigint;
BEGIN
    SELECT b.seq INTO base FROM lb_board b WHERE b.board_id = p_board FOR NO KEY UPDATE;
    IF base IS NULL THEN
        RETURN NULL;
    END IF;
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
    RETURN base + n;
END;
$$;
