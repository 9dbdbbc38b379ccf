-- Wake local listeners at commit (NOTIFY is delivered at commit).
--
-- NOTIFY serialises the commits of notifying transactions (PostgreSQL queues
-- notifications in commit order under one lock), so only one in-flight writer per
-- board notifies: the one holding the try-lock 19524. A writer that skips was in flight
-- while the notifier was, and the listener keeps sequencing after that wake-up until no
-- writer of the board is in flight (lb_sequence_settled), so its events are numbered in
-- the same round or the next.
CREATE OR REPLACE FUNCTION lb_notify_events() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE b text;
BEGIN
    FOR b IN SELECT DISTINCT board_id FROM new_events LOOP
        IF pg_try_advisory_xact_lock(19524, hashtext(b)) THEN
            PERFORM pg_notify('lb_events', b);
        END IF;
    END LOOP;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER lb_event_notify AFTER INSERT ON lb_event
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION lb_notify_events();
