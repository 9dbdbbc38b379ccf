-- The Aurora wake-up: invoke the broadcaster Lambda when events are written, at most once
-- per lease per board, and never at the cost of the write.
--
-- Defined everywhere, but its trigger (lb_event_wake_broadcaster) is created only by
-- db.wakeup.install_aurora_wakeup (from the migration custom resource), and only where
-- aws_lambda.invoke exists (the aws_lambda extension on Aurora).
--
-- Debounce: of a board's writers in flight, one at a time looks at the board's lease
-- (try-lock 19526: the others never wait, and go on without a wake-up). It invokes only
-- if the lease has expired, and takes it for lb_wake_lease(); a broadcaster working on the
-- board keeps the lease ahead of the clock and, when its drain is done, lets it go and
-- looks for events once more (db/lease.py). So a busy board costs its writers no invoke
-- at all while a broadcaster drains it, and an idle one one invoke per lease at most.
--
-- Failure: the invoke runs in a subtransaction; if it raises (IAM, network, throttling),
-- the failure is recorded in lb_wakeup_failure and the write goes on to commit. The
-- lease stays taken, so an outage costs each board one failed invoke per lease, not one
-- per write; the minute sweep pushes what was not pushed and counts the failures.
--
-- The invoke is not transactional: it runs before commit and fires even if the write
-- rolls back. The broadcaster treats it as a hint: it sequences and reads only committed
-- events. SECURITY DEFINER: the service's role needs no right on aws_lambda, nor on the
-- lease and failure tables beyond what this function does.
CREATE OR REPLACE FUNCTION lb_wake_broadcaster() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    b text;
    arn text := (SELECT value FROM lb_setting WHERE key = 'broadcaster_arn');
    region text := (SELECT value FROM lb_setting WHERE key = 'aws_region');
    lease interval := lb_wake_lease();
BEGIN
    IF arn IS NULL THEN
        RETURN NULL;
    END IF;
    FOR b IN SELECT DISTINCT board_id FROM new_events LOOP
        CONTINUE WHEN NOT pg_try_advisory_xact_lock(19526, hashtext(b));
        UPDATE lb_broadcaster_lease SET until = clock_timestamp() + lease
         WHERE board_id = b AND until <= clock_timestamp();
        IF NOT FOUND THEN
            INSERT INTO lb_broadcaster_lease (board_id, until)
            VALUES (b, clock_timestamp() + lease)
            ON CONFLICT (board_id) DO NOTHING;
            CONTINUE WHEN NOT FOUND;  -- the lease is held: a broadcaster is on it
        END IF;
        BEGIN
            PERFORM aws_lambda.invoke(
                aws_commons.create_lambda_function_arn(arn, region),
                json_build_object('source', 'postgres', 'board', b),
                'Event');
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO lb_wakeup_failure (board_id, error)
            VALUES (b, SQLSTATE || ': ' || SQLERRM);
        END;
    END LOOP;
    RETURN NULL;
END;
$$;
