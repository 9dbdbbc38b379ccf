-- A ladder's entry count without summing its blocks.
--
-- lb_count_entries summed every block of the ladder (one row per ~8k entries: ~1,200 rows
-- at 10M), and every read that reports a total (rank, top, around, a submit's ack) paid
-- for it. lb_rank_total keeps the sum of each ladder's block counts, set by triggers on
-- lb_rank_block in the compactor's own statements, so for every snapshot
--     lb_rank_total.cnt = sum of the ladder's block counts
-- whatever version of the compactor runs, and the entry count is that row plus the
-- pending deltas, as before.

CREATE TABLE lb_rank_total (
    season_no  integer PRIMARY KEY REFERENCES lb_season ON DELETE CASCADE,
    cnt        bigint NOT NULL DEFAULT 0
);

-- Each compactor statement that changes blocks sets the touched ladders' totals to the
-- sum of their blocks as that statement left them (the compactor's snapshot, consistent
-- with its own changes), creating a missing row. Recomputing rather than adding a
-- difference heals any drift; it costs one pass over a ladder's blocks (~1,200 rows at
-- 10M) per compactor statement, never per read or write. A compactor whose REPEATABLE
-- READ snapshot predates a committed total row it cannot see gets a serialization
-- failure from ON CONFLICT and retries on its next pass. A ladder whose season is being
-- deleted is skipped (its total goes with it).
CREATE FUNCTION lb_rank_total_follow() RETURNS trigger
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

-- Existing ladders start from their blocks; SHARE mode keeps every compactor out until
-- the triggers below are in place and this transaction commits.
LOCK TABLE lb_rank_block IN SHARE MODE;
INSERT INTO lb_rank_total (season_no, cnt)
SELECT s.season_no, coalesce((SELECT sum(b.cnt) FROM lb_rank_block b
                               WHERE b.season_no = s.season_no), 0)
  FROM lb_season s;

CREATE TRIGGER lb_rank_block_inserted AFTER INSERT ON lb_rank_block
    REFERENCING NEW TABLE AS blocks
    FOR EACH STATEMENT EXECUTE FUNCTION lb_rank_total_follow();
CREATE TRIGGER lb_rank_block_updated AFTER UPDATE ON lb_rank_block
    REFERENCING OLD TABLE AS blocks
    FOR EACH STATEMENT EXECUTE FUNCTION lb_rank_total_follow();
CREATE TRIGGER lb_rank_block_deleted AFTER DELETE ON lb_rank_block
    REFERENCING OLD TABLE AS blocks
    FOR EACH STATEMENT EXECUTE FUNCTION lb_rank_total_follow();

-- A new ladder's total row comes before its first block.
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

CREATE OR REPLACE FUNCTION lb_count_entries(n integer)
RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((SELECT cnt FROM lb_rank_total WHERE season_no = n), 0)
         + (SELECT coalesce(sum(delta), 0) FROM lb_rank_delta WHERE season_no = n);
$$;
