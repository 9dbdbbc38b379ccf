-- The change feed: an outbox written in the same transaction as every rank move.
--
-- Writers insert events with seq NULL while holding a shared per-board advisory lock
-- (class 19522). lb_sequence() takes that lock exclusively, which waits for every
-- in-flight writer of the board, and then numbers all committed pending events in
-- event_id order. So per-board seq is dense, increasing, and assigned only to
-- committed events, and no later commit can slip in below an assigned seq.

CREATE TABLE lb_event (
    event_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    board_id    text COLLATE "C" NOT NULL,
    season      text COLLATE "C" NOT NULL,
    season_no   integer NOT NULL,
    seq         bigint,
    player_id   text COLLATE "C" NOT NULL,
    old_score   bigint,
    new_score   bigint NOT NULL,
    old_at      timestamptz,
    new_at      timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX lb_event_board_seq ON lb_event (board_id, seq) WHERE seq IS NOT NULL;
CREATE INDEX lb_event_pending ON lb_event (board_id, event_id) WHERE seq IS NULL;

-- Wake local listeners at commit (NOTIFY is delivered at commit).
--
-- NOTIFY serialises the commits of notifying transactions (PostgreSQL queues
-- notifications in commit order under one lock), so only one in-flight writer per
-- board notifies: the one holding the try-lock 19524. A writer that skips was in flight
-- while the notifier was, and the listener's lb_sequence() after that wake-up waits for
-- every in-flight writer of the board, so its events are sequenced in the same round.
CREATE FUNCTION lb_notify_events() RETURNS trigger
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

CREATE TRIGGER lb_event_notify AFTER INSERT ON lb_event
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION lb_notify_events();

-- Number every committed pending event of one board; returns the board's new seq.
CREATE FUNCTION lb_sequence(p_board text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    base bigint;
    n bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(19522, hashtext(p_board));
    SELECT seq INTO base FROM lb_board WHERE board_id = p_board FOR UPDATE;
    IF base IS NULL THEN
        RETURN NULL;
    END IF;
    WITH numbered AS (
        SELECT event_id, base + row_number() OVER (ORDER BY event_id) AS s
          FROM lb_event
         WHERE board_id = p_board AND seq IS NULL
    )
    UPDATE lb_event e SET seq = numbered.s FROM numbered WHERE e.event_id = numbered.event_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        UPDATE lb_board SET seq = base + n WHERE board_id = p_board;
    END IF;
    RETURN base + n;
END;
$$;

-- Consumers' cursors: the last seq each consumer has fully handled per board.
CREATE TABLE lb_feed_cursor (
    consumer    text COLLATE "C" NOT NULL,
    board_id    text COLLATE "C" NOT NULL REFERENCES lb_board ON DELETE CASCADE,
    seq         bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, board_id)
);
