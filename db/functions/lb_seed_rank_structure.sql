-- A new ladder starts with its size row, then one block and one bucket covering the
-- whole key space (from the sentinel below every real key). The size row comes first:
-- inserting the block fires lb_rank_total_follow, which sets it.
CREATE OR REPLACE FUNCTION lb_seed_rank_structure() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lb_rank_total (season_no) VALUES (NEW.season_no);
    INSERT INTO lb_rank_block (season_no, lo_score, lo_at, lo_player)
    VALUES (NEW.season_no, -9223372036854775808, '-infinity', '');
    INSERT INTO lb_rank_bucket (season_no, lo_score, lo_at, lo_player)
    VALUES (NEW.season_no, -9223372036854775808, '-infinity', '');
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER lb_season_seed AFTER INSERT ON lb_season
    FOR EACH ROW EXECUTE FUNCTION lb_seed_rank_structure();
