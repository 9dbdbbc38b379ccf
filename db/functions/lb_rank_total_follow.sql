-- Keeps lb_rank_total.cnt equal to the sum of each ladder's block counts.
--
-- Each compactor statement that changes blocks sets the touched ladders' totals to the
-- sum of their blocks as that statement left them (the compactor's snapshot, consistent
-- with its own changes), creating a missing row. Recomputing rather than adding a
-- difference heals any drift; it costs one pass over a ladder's blocks per compactor
-- statement, never per read or write. A compactor whose REPEATABLE READ snapshot
-- predates a committed total row it cannot see gets a serialization failure from
-- ON CONFLICT and retries on its next pass. A ladder whose season is being deleted is
-- skipped (its total goes with it).
CREATE OR REPLACE FUNCTION lb_rank_total_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- "blocks": the rows inserted, or the rows as they were before an update or delete
    -- (a block never changes ladder, so either names every ladder the statement touched)
    INSERT INTO lb_rank_total AS t (season_no, cnt)
    SELECT l.season_no, (SELECT coalesce(sum(b.cnt), 0) FROM lb_rank_block b
                          WHERE b.season_no = l.season_no)
      FROM (SELECT DISTINCT season_no FROM blocks) l
     WHERE EXISTS (SELECT 1 FROM lb_season s WHERE s.season_no = l.season_no)
    ON CONFLICT (season_no) DO UPDATE SET cnt = excluded.cnt;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER lb_rank_block_inserted AFTER INSERT ON lb_rank_block
    REFERENCING NEW TABLE AS blocks
    FOR EACH STATEMENT EXECUTE FUNCTION lb_rank_total_follow();
CREATE OR REPLACE TRIGGER lb_rank_block_updated AFTER UPDATE ON lb_rank_block
    REFERENCING OLD TABLE AS blocks
    FOR EACH STATEMENT EXECUTE FUNCTION lb_rank_total_follow();
CREATE OR REPLACE TRIGGER lb_rank_block_deleted AFTER DELETE ON lb_rank_block
    REFERENCING OLD TABLE AS blocks
    FOR EACH STATEMENT EXECUTE FUNCTION lb_rank_total_follow();
