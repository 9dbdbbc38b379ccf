-- The board seq a committed write was numbered with, numbering it now if no one has yet.
--
-- Called by the submitter right after lb_submit committed (db/store.py), with the id of
-- the write's last change event, so the ack can say which seq the write is: every
-- snapshot and update of the board at that seq or later reflects it. If the event is
-- numbered already (a broadcaster, the maintenance job or a concurrent submitter's call
-- numbered it), that is one index probe and no write. Otherwise every committed pending
-- event of the board is numbered (lb_number_pending.sql, as lb_sequence_settled.sql does
-- it), but without lb_sequence_settled's try-lock on the writers' sequencing lock:
-- holding that lock exclusively, even briefly, would make new writers of the board wait.
-- The event is committed, so the numbering reaches it.
--
-- Concurrent submitters queue on an advisory lock of their own (19527) before they touch
-- the board row. An advisory lock takes no transaction id and writes no WAL, so a
-- submitter that finds its event numbered by the one before it commits nothing to disk;
-- waiting on the board row's lock instead would give every waiting submitter a row lock,
-- so a transaction id and a commit flushed to disk, one after another.
--
-- Without an event (the write moved no entry, or a replay whose record predates
-- last_event), the board's current seq: every state at it or later reflects the write.
-- An event pruned past its retention answers the same.
CREATE OR REPLACE FUNCTION lb_seq_of(p_board text, p_event bigint)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    s bigint;
BEGIN
    IF p_event IS NOT NULL THEN
        SELECT e.seq INTO s FROM lb_event e WHERE e.event_id = p_event;
        IF NOT FOUND THEN
            p_event := NULL;
        ELSIF s IS NOT NULL THEN
            RETURN s;
        END IF;
    END IF;
    IF p_event IS NULL THEN
        RETURN (SELECT b.seq FROM lb_board b WHERE b.board_id = p_board);
    END IF;
    -- One submitter numbers at a time; the others wait here and most find their event
    -- numbered by the one before (one numbering round, one commit to disk, per wave).
    PERFORM pg_advisory_xact_lock(19527, hashtext(p_board));
    SELECT e.seq INTO s FROM lb_event e WHERE e.event_id = p_event;
    IF s IS NOT NULL THEN
        RETURN s;
    END IF;
    PERFORM lb_number_pending(p_board);
    SELECT e.seq INTO s FROM lb_event e WHERE e.event_id = p_event;
    RETURN s;
END;
$$;
