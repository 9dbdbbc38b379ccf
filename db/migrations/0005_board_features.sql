-- Board features: display ranks for ties, tiers, and an all-time ladder.
--
-- tie_mode picks how a ladder shows equal scores (display_rank; rank stays the exact
-- position in the total order): 'ordinal' (1 2 3 4), 'competition' (1 2 2 4: one plus
-- the entries with a strictly better score) or 'dense' (1 2 2 3: one plus the distinct
-- strictly better scores). Both are counted in the reader's snapshot
-- (db/functions/lb_display_before.sql); nothing is kept per tie.
--
-- tiers is the board's ordered list of cut-offs ([{"name": ..., "top_percent": ...}]),
-- validated by core.boards.check_tiers; NULL when the board has none.
--
-- all_time: the board keeps an all-time ladder, an lb_season row named 'all-time' that no
-- roll ever ends and every submit of the board also writes (lb_record_all_time.sql).
-- Fixed at creation.
ALTER TABLE lb_board
    ADD COLUMN tie_mode text NOT NULL DEFAULT 'ordinal'
        CHECK (tie_mode IN ('ordinal', 'competition', 'dense')),
    ADD COLUMN tiers jsonb CHECK (tiers IS NULL OR jsonb_typeof(tiers) = 'array'),
    ADD COLUMN all_time boolean NOT NULL DEFAULT false;

-- Appended columns only (CREATE OR REPLACE VIEW keeps the existing ones in place): the
-- tie mode and tiers every read decorates its entries with, the all-time ladder a submit
-- writes beside the current season, and the schedule a read reports the next reset of.
CREATE OR REPLACE VIEW lb_ladder AS
SELECT b.board_id, s.season_no, s.season, b.season AS current_season, b.seq, b.sort_order,
       b.policy, b.min_score, b.max_score, b.tie_mode, b.tiers, b.all_time,
       b.reset_schedule
  FROM lb_board b
  JOIN lb_season s ON s.board_id = b.board_id;
