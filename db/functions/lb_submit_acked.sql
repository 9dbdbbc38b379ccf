-- One score submitted, committed and numbered in one call, so in one round trip: what an
-- ack needs (the result and the write's seq).
--
-- A procedure, called on its own (never inside a transaction block): lb_submit applies
-- the score in a transaction of its own, the COMMIT ends it, and lb_seq_of numbers the
-- committed write in the next, exactly as Store.submit did in a second round trip.
-- Everything before the COMMIT is one transaction: an error there (a racing duplicate
-- submission id, a deadlock) leaves nothing behind and reaches the caller, who may retry.
-- An error after it (numbering) must not reach the caller as a failed submit, since the
-- score is in: seq comes back NULL, and the caller numbers the write itself.
CREATE OR REPLACE PROCEDURE lb_submit_acked(
    p_board       text,
    p_submission  text,
    p_hash        text,
    p_player      text,
    p_score       bigint,
    p_at          timestamptz,
    p_meta        jsonb,
    p_with_ranks  boolean,
    p_submitter   text,
    INOUT player_id    text DEFAULT NULL,
    INOUT score        bigint DEFAULT NULL,
    INOUT achieved_at  timestamptz DEFAULT NULL,
    INOUT updates      integer DEFAULT NULL,
    INOUT improved     boolean DEFAULT NULL,
    INOUT rank         bigint DEFAULT NULL,
    INOUT total        bigint DEFAULT NULL,
    INOUT replayed     boolean DEFAULT NULL,
    INOUT last_event   bigint DEFAULT NULL,
    INOUT seq          bigint DEFAULT NULL
)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r
      FROM lb_submit(p_board, p_submission, p_hash, ARRAY[p_player], ARRAY[p_score],
                     ARRAY[p_at], ARRAY[p_meta], p_with_ranks, p_submitter);
    COMMIT;
    player_id := r.player_id;
    score := r.score;
    achieved_at := r.achieved_at;
    updates := r.updates;
    improved := r.improved;
    rank := r.rank;
    total := r.total;
    replayed := r.replayed;
    last_event := r.last_event;
    BEGIN
        seq := lb_seq_of(p_board, r.last_event);
    EXCEPTION WHEN OTHERS THEN
        seq := NULL;
    END;
END;
$$;
