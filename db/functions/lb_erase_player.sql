-- Erase a player (the right to erasure), as an admin, in one transaction under every
-- board's sequencing lock held exclusively (lb_lock_boards.sql), so no submit of theirs
-- is in flight anywhere:
--
--   entries          every entry of every board and season, archived ones too, leaves
--                    as a removal (lb_take_entries: exact rank deltas, so ranks close up,
--                    and removal events that name a pseudonym, never the player)
--   hidden_entries   entries a ban kept aside
--   bans             the player's bans
--   submissions      idempotency records: the player's own (submission scope
--                    "player:<id>") go; a server's batch record loses the player's result
--                    (and goes when nothing else is left in it)
--   connections      connection rows of the player (their subscriptions go with them)
--   subscriptions    other connections' views of the player (``me`` and ``around``)
--   events           change-feed events that named the player now name the pseudonym
--   audit_records    earlier audit records of the player now name the pseudonym
--
-- The erasure itself is audited under the pseudonym, which the reply carries, so the
-- record proves the erasure without naming whom it erased. Returns the report (counts
-- per kind, jsonb), the pseudonym, and the last event per board (to number after the
-- commit).
CREATE OR REPLACE FUNCTION lb_erase_player(p_player text, p_actor text, p_reason text)
RETURNS TABLE (report jsonb, pseudonym text, board_id text, last_event bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    alias      text := '~erased-' || replace(gen_random_uuid()::text, '-', '');
    t_boards   text[];
    t_events   bigint[];
    n_entries  integer;
    n_hidden   integer;
    n_bans     integer;
    n_own      integer;
    n_scrubbed integer;
    n_conns    integer;
    n_subs     integer;
    n_events   integer;
    n_audit    integer;
    r          jsonb;
BEGIN
    PERFORM lb_lock_scope(NULL);

    SELECT array_agg(t.board_id), array_agg(t.event_id) INTO t_boards, t_events
      FROM lb_take_entries(
               p_player,
               ARRAY(SELECT e.season_no FROM lb_entry e WHERE e.player_id = p_player),
               false, alias) AS t;
    n_entries := coalesce(cardinality(t_events), 0);

    DELETE FROM lb_hidden_entry h WHERE h.player_id = p_player;
    GET DIAGNOSTICS n_hidden = ROW_COUNT;
    DELETE FROM lb_ban x WHERE x.player_id = p_player;
    GET DIAGNOSTICS n_bans = ROW_COUNT;

    DELETE FROM lb_submission s WHERE s.submitter = 'player:' || p_player;
    GET DIAGNOSTICS n_own = ROW_COUNT;
    WITH named AS (
        SELECT s.board_id, s.submitter, s.submission_id,
               (SELECT jsonb_agg(x) FROM jsonb_array_elements(s.result) AS x
                 WHERE x->>'player_id' IS DISTINCT FROM p_player) AS rest
          FROM lb_submission s
         WHERE s.result @> jsonb_build_array(jsonb_build_object('player_id', p_player))
    ), dropped AS (
        DELETE FROM lb_submission s USING named
         WHERE named.rest IS NULL AND s.board_id = named.board_id
           AND s.submitter = named.submitter AND s.submission_id = named.submission_id
        RETURNING 1
    ), kept AS (
        UPDATE lb_submission s SET result = named.rest FROM named
         WHERE named.rest IS NOT NULL AND s.board_id = named.board_id
           AND s.submitter = named.submitter AND s.submission_id = named.submission_id
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM dropped) + (SELECT count(*) FROM kept) INTO n_scrubbed;

    DELETE FROM lb_connection c WHERE c.player_id = p_player OR c.subject = p_player;
    GET DIAGNOSTICS n_conns = ROW_COUNT;
    DELETE FROM lb_subscription s WHERE s.player_id = p_player;
    GET DIAGNOSTICS n_subs = ROW_COUNT;

    UPDATE lb_event e SET player_id = alias WHERE e.player_id = p_player;
    GET DIAGNOSTICS n_events = ROW_COUNT;
    UPDATE lb_audit a SET player_id = alias WHERE a.player_id = p_player;
    GET DIAGNOSTICS n_audit = ROW_COUNT;

    r := jsonb_build_object(
        'entries', n_entries, 'hidden_entries', n_hidden, 'bans', n_bans,
        'submissions', n_own + n_scrubbed, 'connections', n_conns,
        'subscriptions', n_subs, 'events', n_events, 'audit_records', n_audit);
    INSERT INTO lb_audit (actor, action, board_id, player_id, reason, detail)
    VALUES (p_actor, 'erase_player', NULL, alias, p_reason, r);

    RETURN QUERY
        SELECT r, alias, u.b, max(u.e)
          FROM unnest(t_boards, t_events) AS u(b, e) GROUP BY u.b
        UNION ALL
        SELECT r, alias, NULL::text, NULL::bigint WHERE n_entries = 0;
END;
$$;
