-- The blocking form of lb_sequence_settled: waits for every in-flight writer of the board
-- (each holds the sequencing lock 19522 shared until it commits), then numbers its
-- committed pending events; returns the board's new seq. While it waits, PostgreSQL
-- queues every new writer of the board behind it, so the feed (db/feed.py) calls
-- lb_sequence_settled instead; the numbering itself is in one place, there.
CREATE OR REPLACE FUNCTION lb_sequence(p_board text) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(19522, hashtext(p_board));  -- waits for every writer
    RETURN (lb_sequence_settled(p_board)).seq;
END;
$$;
