-- Put a player's hidden entries (lb_hidden_entry, kept by a ban) back into the given
-- ladders, unchanged: each arrives at its old key with a sized +1 rank delta and an
-- arrival event (old key NULL), so ranks behind it move down by one, exactly, and live
-- views are pushed. The caller holds each board's sequencing lock (19522) exclusively,
-- so no submit of the player is in flight.
CREATE OR REPLACE FUNCTION lb_restore_entries(p_player text, p_seasons integer[])
RETURNS TABLE (board_id text, season text, season_no integer, score bigint, event_id bigint)
LANGUAGE sql AS $$
    WITH back AS (
        DELETE FROM lb_hidden_entry h
         WHERE h.player_id = p_player AND h.season_no = ANY(p_seasons)
        RETURNING h.season_no, h.player_id, h.score, h.sort_score, h.achieved_at, h.updates,
                  h.metadata
    ), entries AS (
        INSERT INTO lb_entry (season_no, player_id, score, sort_score, achieved_at, updates,
                              metadata, prev_score, prev_at)
        SELECT b.season_no, b.player_id, b.score, b.sort_score, b.achieved_at, b.updates,
               b.metadata, NULL, NULL
          FROM back b
    ), deltas AS (
        INSERT INTO lb_rank_delta (season_no, sort_score, achieved_at, player_id, delta, sized)
        SELECT b.season_no, b.sort_score, b.achieved_at, b.player_id, 1, true FROM back b
    ), ev AS (
        INSERT INTO lb_event (board_id, season, season_no, player_id, old_score, new_score,
                              old_at, new_at)
        SELECT s.board_id, s.season, b.season_no, b.player_id, NULL, b.score, NULL,
               b.achieved_at
          FROM back b JOIN lb_season s ON s.season_no = b.season_no
         ORDER BY s.board_id, b.season_no
        RETURNING lb_event.board_id, lb_event.season, lb_event.season_no, lb_event.new_score,
                  lb_event.event_id
    )
    SELECT ev.board_id, ev.season, ev.season_no, ev.new_score, ev.event_id FROM ev
$$;
