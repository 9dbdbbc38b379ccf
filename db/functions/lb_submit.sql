-- Submitting scores: one call, one transaction, one round trip.
--
-- lb_submit applies a single score or a batch (all-or-nothing) under the board's
-- update policy, appends rank deltas and change events, and returns each player's new
-- score, rank and whether the entry improved. With a submission id the first result is
-- stored, and a retry with the same id and payload replays it (an increment counts
-- once); the same id with another payload is a conflict. Ids are the submitter's own
-- (p_submitter, the principal's scope: migrations/0003_submission_scope.sql): another
-- submitter's record under the same id is neither replayed nor a conflict.
--
-- A submit of exactly one score, the common case, takes a scalar branch: the upsert
-- (lb_upsert_entries, which both branches call) into variables, the deltas and the event
-- as VALUES, the rank through lb_count_before, the idempotency record, and the reply from
-- the function's OUT variables, without the batch's unnest, array_agg and jsonb_agg
-- round trips through one-row sorts and aggregates. The steps, their order, the locks
-- they take and every row they write are the same as the batch's: the same policies and
-- bounds check, the same deltas (a -1/+1 pair for a move, a sized +1 for a new entry),
-- one event when the key moved, and an idempotency record of the same shape, so a replay
-- answers the same whichever branch wrote it.
--
-- The ranks and the total an ack reports are read in ONE statement, so from one snapshot
-- (READ COMMITTED takes a new one per statement): it holds this writer's own uncommitted
-- arrival and every writer committed before it, so each rank is exact in it and never
-- above the total. Read in two statements, writers committing in between made acks of
-- "rank 9 of total 8" (tests/db/test_submit_races.py).
--
-- A board with an all-time ladder also writes it, in the same transaction, after the
-- season (lb_record_all_time.sql); its events come last, so last_event covers both.
--
-- last_event is the id of the write's last change event (NULL when it moved no entry),
-- the same on every row: the caller numbers it after the commit (lb_seq_of.sql) to tell
-- the client which board seq the write is, and a replay answers the first write's.
--
-- Errors use SQLSTATEs of class LB, mapped to client errors by db/errors.py:
--   LB404 unknown board   LB422 score out of bounds   LB409 submission id reused
--   LB403 a player is banned on the board (lb_ban.sql)
CREATE OR REPLACE FUNCTION lb_submit(
    p_board       text,
    p_submission  text,
    p_hash        text,
    p_players     text[],
    p_scores      bigint[],
    p_ats         timestamptz[],
    p_metas       jsonb[],
    p_with_ranks  boolean DEFAULT true,
    p_submitter   text DEFAULT ''
)
RETURNS TABLE (
    player_id    text,
    score        bigint,
    achieved_at  timestamptz,
    updates      integer,
    improved     boolean,
    rank         bigint,
    total        bigint,
    replayed     boolean,
    last_event   bigint
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    b              record;
    prior          record;
    n_total        bigint;
    sign           integer;
    result         jsonb;
    hi             bigint;
    lo             bigint;
    o_players      text[];
    o_scores       bigint[];
    o_ats          timestamptz[];
    o_updates      integer[];
    o_prev_scores  bigint[];
    o_prev_ats     timestamptz[];
    o_ranks        bigint[];
    s_player       text;
    s_score        bigint;
    s_at           timestamptz;
    s_updates      integer;
    s_prev_score   bigint;
    s_prev_at      timestamptz;
    s_rank         bigint;
    s_improved     boolean;
    s_event        bigint;
BEGIN
    SELECT l.board_id, l.sort_order, l.policy, l.min_score, l.max_score, l.season_no, l.season,
           l.all_time
      INTO b
      FROM lb_ladder l
     WHERE l.board_id = p_board AND l.season = l.current_season;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown board %', quote_literal(p_board) USING ERRCODE = 'LB404';
    END IF;

    IF p_submission IS NOT NULL THEN
        -- the submitter's own record, else one carried over from before ids were scoped
        -- (submitter ''), which only replays the same payload and never conflicts
        SELECT sub.request_hash, sub.result INTO prior
          FROM lb_submission sub
         WHERE sub.board_id = p_board AND sub.submitter = p_submitter
           AND sub.submission_id = p_submission;
        IF NOT FOUND AND p_submitter <> '' THEN
            SELECT sub.request_hash, sub.result INTO prior
              FROM lb_submission sub
             WHERE sub.board_id = p_board AND sub.submitter = ''
               AND sub.submission_id = p_submission AND sub.request_hash = p_hash;
        END IF;
        IF FOUND THEN
            IF prior.request_hash <> p_hash THEN
                RAISE EXCEPTION 'submission id % was already used with a different payload',
                    quote_literal(p_submission) USING ERRCODE = 'LB409';
            END IF;
            RETURN QUERY
                SELECT r.player_id, r.score, r.achieved_at, r.updates, r.improved, r.rank,
                       r.total, true, r.last_event
                  FROM jsonb_to_recordset(prior.result) AS r(
                       player_id text, score bigint, achieved_at timestamptz, updates integer,
                       improved boolean, rank bigint, total bigint, last_event bigint);
            RETURN;
        END IF;
    END IF;

    -- Bounds apply to what was submitted, for every player alike: a best or latest score
    -- outside them is refused even where the entry's standing score would not change.
    -- An increment is a change, not a score: its result is checked after the upsert.
    IF b.policy <> 'increment' THEN
        IF cardinality(p_scores) = 1 THEN
            hi := p_scores[1];
            lo := hi;
        ELSE
            SELECT max(x), min(x) INTO hi, lo FROM unnest(p_scores) AS x;
        END IF;
        IF hi > b.max_score OR lo < b.min_score THEN
            RAISE EXCEPTION 'a submitted score (% .. %) is outside the board''s bounds [%, %]',
                lo, hi, b.min_score, b.max_score USING ERRCODE = 'LB422';
        END IF;
    END IF;

    -- Writers hold the board's sequencing lock shared until they commit;
    -- lb_sequence_settled() tries it exclusively to learn that none is in flight.
    PERFORM pg_advisory_xact_lock_shared(19522, hashtext(p_board));
    -- after the lock: a ban holds it exclusively (lb_ban.sql), so this sees every ban
    -- committed before this write and none commits while it is in flight
    IF EXISTS (SELECT 1 FROM lb_ban x
                WHERE x.player_id = ANY(p_players)
                  AND (x.board_id = p_board OR x.board_id IS NULL)) THEN
        RAISE EXCEPTION 'a player of this submit is banned on board %', quote_literal(p_board)
            USING ERRCODE = 'LB403';
    END IF;
    sign := CASE WHEN b.sort_order = 'desc' THEN -1 ELSE 1 END;

    IF cardinality(p_players) = 1 THEN
        -- One score: the same steps as the batch below, as scalar statements.
        s_player := p_players[1];
        SELECT u.score, u.achieved_at, u.updates, u.prev_score, u.prev_at
          INTO s_score, s_at, s_updates, s_prev_score, s_prev_at
          FROM lb_upsert_entries(b.season_no, b.policy, sign, p_players, p_scores, p_ats,
                                 p_metas) AS u;

        IF s_score > b.max_score OR s_score < b.min_score THEN
            RAISE EXCEPTION 'a resulting score (% .. %) is outside the board''s bounds [%, %]',
                s_score, s_score, b.min_score, b.max_score USING ERRCODE = 'LB422';
        END IF;

        IF (s_prev_score, s_prev_at) IS DISTINCT FROM (s_score, s_at) THEN
            IF s_prev_at IS NULL THEN
                INSERT INTO lb_rank_delta (season_no, sort_score, achieved_at, player_id, delta,
                                           sized)
                VALUES (b.season_no, sign * s_score, s_at, s_player, 1, true);
            ELSE
                INSERT INTO lb_rank_delta (season_no, sort_score, achieved_at, player_id, delta,
                                           sized)
                VALUES (b.season_no, sign * s_prev_score, s_prev_at, s_player, -1, false),
                       (b.season_no, sign * s_score, s_at, s_player, 1, false);
            END IF;
            INSERT INTO lb_event (board_id, season, season_no, player_id, old_score, new_score,
                                  old_at, new_at)
            VALUES (b.board_id, b.season, b.season_no, s_player, s_prev_score, s_score,
                    s_prev_at, s_at)
            RETURNING lb_event.event_id INTO s_event;
        END IF;
        IF b.all_time THEN
            s_event := coalesce(lb_record_all_time(b.board_id, lb_all_time_no(p_board), b.policy,
                                                   sign, p_players, p_scores, p_ats, p_metas),
                                s_event);
        END IF;

        IF p_with_ranks THEN
            -- one statement, so one snapshot: the rank and the total (see the header)
            SELECT lb_count_entries(b.season_no),
                   lb_count_before(b.season_no, sign * s_score, s_at, s_player) + 1
              INTO n_total, s_rank;
        END IF;
        s_improved := s_prev_at IS NULL OR sign * s_score < sign * s_prev_score;

        IF p_submission IS NOT NULL THEN
            INSERT INTO lb_submission (board_id, submitter, submission_id, request_hash, result)
            VALUES (p_board, p_submitter, p_submission, p_hash, jsonb_build_array(jsonb_build_object(
                'player_id', s_player, 'score', s_score, 'achieved_at', s_at,
                'updates', s_updates, 'improved', s_improved, 'rank', s_rank,
                'total', n_total, 'last_event', s_event)));
        END IF;

        player_id := s_player;
        score := s_score;
        achieved_at := s_at;
        updates := s_updates;
        improved := s_improved;
        rank := s_rank;
        total := n_total;
        replayed := false;
        last_event := s_event;
        RETURN NEXT;
        RETURN;
    END IF;

    WITH up AS (
        SELECT * FROM lb_upsert_entries(b.season_no, b.policy, sign, p_players, p_scores,
                                        p_ats, p_metas)
    )
    SELECT array_agg(up.player_id ORDER BY up.sort_score, up.achieved_at, up.player_id),
           array_agg(up.score ORDER BY up.sort_score, up.achieved_at, up.player_id),
           array_agg(up.achieved_at ORDER BY up.sort_score, up.achieved_at, up.player_id),
           array_agg(up.updates ORDER BY up.sort_score, up.achieved_at, up.player_id),
           array_agg(up.prev_score ORDER BY up.sort_score, up.achieved_at, up.player_id),
           array_agg(up.prev_at ORDER BY up.sort_score, up.achieved_at, up.player_id),
           max(up.score), min(up.score)
      INTO o_players, o_scores, o_ats, o_updates, o_prev_scores, o_prev_ats, hi, lo
      FROM up;

    IF hi > b.max_score OR lo < b.min_score THEN
        RAISE EXCEPTION 'a resulting score (% .. %) is outside the board''s bounds [%, %]',
            lo, hi, b.min_score, b.max_score USING ERRCODE = 'LB422';
    END IF;

    -- Rank deltas: -1 where an entry left its key, +1 where it arrived (sized: a new
    -- entry, the only kind that changes the ladder's size). Events for every entry whose
    -- key moved, in the new order of the batch.
    WITH o AS (
        SELECT * FROM unnest(o_players, o_scores, o_ats, o_prev_scores, o_prev_ats)
            AS o(player_id, score, at, prev_score, prev_at)
         WHERE (o.prev_score, o.prev_at) IS DISTINCT FROM (o.score, o.at)
    ),
    deltas AS (
        INSERT INTO lb_rank_delta (season_no, sort_score, achieved_at, player_id, delta, sized)
        SELECT b.season_no, sign * o.prev_score, o.prev_at, o.player_id, -1, false
          FROM o WHERE o.prev_at IS NOT NULL
        UNION ALL
        SELECT b.season_no, sign * o.score, o.at, o.player_id, 1, o.prev_at IS NULL FROM o
    )    , ev AS (
        INSERT INTO lb_event (board_id, season, season_no, player_id, old_score, new_score,
                              old_at, new_at)
        SELECT b.board_id, b.season, b.season_no, o.player_id, o.prev_score, o.score,
               o.prev_at, o.at
          FROM o
        RETURNING lb_event.event_id AS id
    )
    SELECT max(ev.id) INTO s_event FROM ev;
    IF b.all_time THEN
        s_event := coalesce(lb_record_all_time(b.board_id, lb_all_time_no(p_board), b.policy,
                                               sign, p_players, p_scores, p_ats, p_metas),
                            s_event);
    END IF;

    IF p_with_ranks AND cardinality(o_players) > 16 THEN
        -- many keys: one merged pass (lb_count_before_many.sql); the total in the same
        -- statement, so from the same snapshot as the ranks
        SELECT lb_count_entries(b.season_no), array_agg(m.before + 1 ORDER BY m.i)
          INTO n_total, o_ranks
          FROM lb_count_before_many(
                   b.season_no,
                   ARRAY(SELECT sign * x FROM unnest(o_scores) WITH ORDINALITY AS u(x, k) ORDER BY k),
                   o_ats, o_players) AS m;
    ELSIF p_with_ranks THEN
        SELECT lb_count_entries(b.season_no),
               array_agg(lb_count_before(b.season_no, sign * r.score, r.at, r.player_id) + 1
                         ORDER BY r.ord)
          INTO n_total, o_ranks
          FROM unnest(o_players, o_scores, o_ats) WITH ORDINALITY AS r(player_id, score, at, ord);
    ELSE
        o_ranks := array_fill(NULL::bigint, ARRAY[cardinality(o_players)]);
    END IF;

    IF p_submission IS NOT NULL THEN
        SELECT jsonb_agg(jsonb_build_object(
                   'player_id', r.player_id, 'score', r.score, 'achieved_at', r.at,
                   'updates', r.updates, 'improved', r.improved, 'rank', r.rank,
                   'total', n_total, 'last_event', s_event))
          INTO result
          FROM unnest(o_players, o_scores, o_ats, o_updates, o_ranks,
                      ARRAY(SELECT x.prev_at IS NULL OR sign * x.score < sign * x.prev_score
                              FROM unnest(o_scores, o_prev_scores, o_prev_ats)
                                   WITH ORDINALITY AS x(score, prev_score, prev_at, ord)
                             ORDER BY x.ord))
               AS r(player_id, score, at, updates, rank, improved);
        INSERT INTO lb_submission (board_id, submitter, submission_id, request_hash, result)
        VALUES (p_board, p_submitter, p_submission, p_hash, result);
    END IF;

    RETURN QUERY
        SELECT r.player_id, r.score, r.at, r.updates,
               r.prev_at IS NULL OR sign * r.score < sign * r.prev_score,
               r.rank, n_total, false, s_event
          FROM unnest(o_players, o_scores, o_ats, o_updates, o_prev_scores, o_prev_ats, o_ranks)
               AS r(player_id, score, at, updates, prev_score, prev_at, rank);
END;
$$;
