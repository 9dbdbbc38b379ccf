-- Hold the sequencing lock (19522) of every given board exclusively, in board id order
-- (so two moderators never deadlock), until the transaction ends: submits of those
-- boards in flight finish first, and new ones wait until this transaction commits, so a
-- ban, unban or erasure takes effect at one point in each board's order of writes.
-- Writers hold the same lock shared (lb_submit.sql); lb_sequence_settled only tries it.
CREATE OR REPLACE FUNCTION lb_lock_boards(p_boards text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    b text;
BEGIN
    FOR b IN SELECT DISTINCT x FROM unnest(p_boards) AS x ORDER BY 1 LOOP
        PERFORM pg_advisory_xact_lock(19522, hashtext(b));
    END LOOP;
END;
$$;
