-- The Aurora wake-up: invoke the broadcaster Lambda when events are written.
--
-- Defined everywhere, but its trigger (lb_event_wake_broadcaster) is created only by
-- db.wakeup.install_aurora_wakeup (from the migration custom resource), and only where
-- aws_lambda.invoke exists (the aws_lambda extension on Aurora). The invoke is not
-- transactional: it runs before commit and fires even if the transaction rolls back.
-- The broadcaster therefore treats it as a hint: it sequences, reads only committed
-- events, and a scheduled sweep catches anything missed. Like NOTIFY, only one in-flight
-- writer per board invokes (try-lock 19526); the others are covered by the round that
-- invocation triggers.
CREATE OR REPLACE FUNCTION lb_wake_broadcaster() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    b text;
    arn text := (SELECT value FROM lb_setting WHERE key = 'broadcaster_arn');
    region text := (SELECT value FROM lb_setting WHERE key = 'aws_region');
BEGIN
    IF arn IS NULL THEN
        RETURN NULL;
    END IF;
    FOR b IN SELECT DISTINCT board_id FROM new_events LOOP
        IF pg_try_advisory_xact_lock(19526, hashtext(b)) THEN
            PERFORM aws_lambda.invoke(
                aws_commons.create_lambda_function_arn(arn, region),
                json_build_object('source', 'postgres', 'board', b),
                'Event');
        END IF;
    END LOOP;
    RETURN NULL;
END;
$$;
