-- The ladder size without walking every pending delta.
--
-- Every ack and every read reports the ladder's size: lb_rank_total plus the sum of the
-- pending deltas, and that sum walked every pending delta of the ladder (hundreds under
-- load, since the compactor folds every ~100 ms). But a score change writes a -1/+1
-- pair, which nets to zero; only a new entry's +1 changes the size. Writers now mark the
-- deltas that can ("sized": true for a new entry's +1, false for a pair), and the size
-- sums only the sized ones through a partial index: at steady state, when players
-- improve rather than arrive, that is nearly nothing. Pairs are written by one
-- transaction and folded by another, each atomically, so in every snapshot the unmarked
-- sum is zero and
--     size = lb_rank_total.cnt + sum of visible deltas that are not sized = false
-- Rows written before this migration (sized NULL) are summed as before.

ALTER TABLE lb_rank_delta ADD COLUMN sized boolean;
CREATE INDEX lb_rank_delta_sized ON lb_rank_delta (season_no) INCLUDE (delta)
    WHERE sized IS NOT FALSE;

CREATE OR REPLACE FUNCTION lb_count_entries(n integer)
RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
SET enable_bitmapscan = off AS $$
    SELECT coalesce((SELECT cnt FROM lb_rank_total WHERE season_no = n), 0)
         + (SELECT coalesce(sum(delta), 0) FROM lb_rank_delta
             WHERE season_no = n AND sized IS NOT FALSE);
$$;

CREATE OR REPLACE FUNCTION lb_submit(
    p_board       text,
    p_submission  text,
    p_hash        text,
    p_players     text[],
    p_scores      bigint[],
    p_ats         timestamptz[],
    p_metas       jsonb[],
    p_with_ranks  boolean DEFAULT true
)
RETURNS TABLE (
    player_id    text,
    score        bigint,
    achieved_at  timestamptz,
    updates      integer,
    improved     boolean,
    rank         bigint,
    total        bigint,
    replayed     boolean
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
BEGIN
    SELECT lb.board_id, lb.sort_order, lb.policy, lb.min_score, lb.max_score, s.season_no, s.season
      INTO b
      FROM lb_board lb
      JOIN lb_season s ON s.board_id = lb.board_id AND s.season = lb.season
     WHERE lb.board_id = p_board;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown board %', quote_literal(p_board) USING ERRCODE = 'LB404';
    END IF;

    IF p_submission IS NOT NULL THEN
        SELECT sub.request_hash, sub.result INTO prior
          FROM lb_submission sub
         WHERE sub.board_id = p_board AND sub.submission_id = p_submission;
        IF FOUND THEN
            IF prior.request_hash <> p_hash THEN
                RAISE EXCEPTION 'submission id % was already used with a different payload',
                    quote_literal(p_submission) USING ERRCODE = 'LB409';
            END IF;
            RETURN QUERY
                SELECT r.player_id, r.score, r.achieved_at, r.updates, r.improved, r.rank,
                       r.total, true
                  FROM jsonb_to_recordset(prior.result) AS r(
                       player_id text, score bigint, achieved_at timestamptz, updates integer,
                       improved boolean, rank bigint, total bigint);
            RETURN;
        END IF;
    END IF;

    -- Writers share the board's sequencing lock; lb_sequence() takes it exclusively.
    PERFORM pg_advisory_xact_lock_shared(19522, hashtext(p_board));
    sign := CASE WHEN b.sort_order = 'desc' THEN -1 ELSE 1 END;

    WITH input AS (
        SELECT i.player_id, i.score, coalesce(i.at, now()) AS at, i.meta
          FROM unnest(p_players, p_scores, p_ats, p_metas) AS i(player_id, score, at, meta)
         ORDER BY i.player_id
    ),
    up AS (
        INSERT INTO lb_entry AS e (season_no, player_id, score, sort_score, achieved_at,
                                   updates, metadata, prev_score, prev_at)
        SELECT b.season_no, input.player_id, input.score, sign * input.score, input.at, 1,
               input.meta, NULL, NULL
          FROM input
        ON CONFLICT (season_no, player_id) DO UPDATE SET
            prev_score = e.score,
            prev_at = e.achieved_at,
            score = CASE
                WHEN b.policy = 'increment' THEN e.score + excluded.score
                WHEN b.policy = 'latest' THEN excluded.score
                WHEN sign * excluded.score < sign * e.score THEN excluded.score
                ELSE e.score END,
            sort_score = sign * CASE
                WHEN b.policy = 'increment' THEN e.score + excluded.score
                WHEN b.policy = 'latest' THEN excluded.score
                WHEN sign * excluded.score < sign * e.score THEN excluded.score
                ELSE e.score END,
            achieved_at = CASE
                WHEN b.policy = 'latest' THEN excluded.achieved_at
                WHEN b.policy = 'increment' AND excluded.score <> 0 THEN excluded.achieved_at
                WHEN b.policy = 'best' AND sign * excluded.score < sign * e.score
                    THEN excluded.achieved_at
                ELSE e.achieved_at END,
            updates = e.updates + 1,
            metadata = coalesce(excluded.metadata, e.metadata)
        RETURNING e.player_id, e.score, e.sort_score, e.achieved_at, e.updates,
                  e.prev_score, e.prev_at
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
    )
    INSERT INTO lb_event (board_id, season, season_no, player_id, old_score, new_score,
                          old_at, new_at)
    SELECT b.board_id, b.season, b.season_no, o.player_id, o.prev_score, o.score,
           o.prev_at, o.at
      FROM o;

    IF p_with_ranks AND cardinality(o_players) > 16 THEN
        -- many keys: one merged pass (db/migrations/0007_batch_ranks.sql)
        n_total := lb_count_entries(b.season_no);
        SELECT array_agg(m.before + 1 ORDER BY m.i)
          INTO o_ranks
          FROM lb_count_before_many(
                   b.season_no,
                   ARRAY(SELECT sign * x FROM unnest(o_scores) WITH ORDINALITY AS u(x, k) ORDER BY k),
                   o_ats, o_players) AS m;
    ELSIF p_with_ranks THEN
        n_total := lb_count_entries(b.season_no);
        SELECT array_agg(lb_count_before(b.season_no, sign * r.score, r.at, r.player_id) + 1
                         ORDER BY r.ord)
          INTO o_ranks
          FROM unnest(o_players, o_scores, o_ats) WITH ORDINALITY AS r(player_id, score, at, ord);
    ELSE
        o_ranks := array_fill(NULL::bigint, ARRAY[cardinality(o_players)]);
    END IF;

    IF p_submission IS NOT NULL THEN
        SELECT jsonb_agg(jsonb_build_object(
                   'player_id', r.player_id, 'score', r.score, 'achieved_at', r.at,
                   'updates', r.updates, 'improved', r.improved, 'rank', r.rank,
                   'total', n_total))
          INTO result
          FROM unnest(o_players, o_scores, o_ats, o_updates, o_ranks,
                      ARRAY(SELECT x.prev_at IS NULL OR sign * x.score < sign * x.prev_score
                              FROM unnest(o_scores, o_prev_scores, o_prev_ats)
                                   WITH ORDINALITY AS x(score, prev_score, prev_at, ord)
                             ORDER BY x.ord))
               AS r(player_id, score, at, updates, rank, improved);
        INSERT INTO lb_submission (board_id, submission_id, request_hash, result)
        VALUES (p_board, p_submission, p_hash, result);
    END IF;

    RETURN QUERY
        SELECT r.player_id, r.score, r.at, r.updates,
               r.prev_at IS NULL OR sign * r.score < sign * r.prev_score,
               r.rank, n_total, false
          FROM unnest(o_players, o_scores, o_ats, o_updates, o_prev_scores, o_prev_ats, o_ranks)
               AS r(player_id, score, at, updates, prev_score, prev_at, rank);
END;
$$;
