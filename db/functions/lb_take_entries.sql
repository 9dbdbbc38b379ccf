-- Take a player's entries out of the given ladders, as removals: each leaves its key
-- with a sized -1 rank delta (the ladder shrinks by one and every entry behind it moves
-- up by one, exactly, in this transaction's snapshot) and a change event whose new key is
-- NULL, so live views and tickers are pushed as for any other move. ``p_hide`` keeps the
-- entries, unchanged, in lb_hidden_entry (a ban); otherwise they are gone.
--
-- The events name ``p_event_player`` when given (erasure: a pseudonym, so the feed never
-- names an erased player); the deltas keep the real key, which the rank structure needs
-- to stay exact until the compactor folds them.
--
-- The caller holds each board's sequencing lock (19522), shared or exclusive, as every
-- writer of events does. A concurrent submit of the same entry is ordered by the row
-- lock: the DELETE waits for it and removes the entry as that submit left it.
CREATE OR REPLACE FUNCTION lb_take_entries(
    p_player        text,
    p_seasons       integer[],
    p_hide          boolean,
    p_event_player  text DEFAULT NULL
)
RETURNS TABLE (board_id text, season text, season_no integer, score bigint, event_id bigint)
LANGUAGE sql AS $$
    WITH gone AS (
        DELETE FROM lb_entry e
         WHERE e.player_id = p_player AND e.season_no = ANY(p_seasons)
        RETURNING e.season_no, e.player_id, e.score, e.sort_score, e.achieved_at, e.updates,
                  e.metadata
    ), hidden AS (
        INSERT INTO lb_hidden_entry (season_no, player_id, score, sort_score, achieved_at,
                                     updates, metadata)
        SELECT g.season_no, g.player_id, g.score, g.sort_score, g.achieved_at, g.updates,
               g.metadata
          FROM gone g
         WHERE p_hide
    ), deltas AS (
        INSERT INTO lb_rank_delta (season_no, sort_score, achieved_at, player_id, delta, sized)
        SELECT g.season_no, g.sort_score, g.achieved_at, g.player_id, -1, true FROM gone g
    ), ev AS (
        INSERT INTO lb_event (board_id, season, season_no, player_id, old_score, new_score,
                              old_at, new_at)
        SELECT s.board_id, s.season, g.season_no, coalesce(p_event_player, g.player_id),
               g.score, NULL, g.achieved_at, NULL
          FROM gone g JOIN lb_season s ON s.season_no = g.season_no
         ORDER BY s.board_id, g.season_no
        RETURNING lb_event.board_id, lb_event.season, lb_event.season_no, lb_event.old_score,
                  lb_event.event_id
    )
    SELECT ev.board_id, ev.season, ev.season_no, ev.old_score, ev.event_id FROM ev
$$;
