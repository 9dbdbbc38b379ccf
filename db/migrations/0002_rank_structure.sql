-- The counted rank structure (see db/RANKING.md).
--
-- Buckets partition a ladder's key space (sort_score, achieved_at, player_id) into
-- ranges of a few hundred entries; blocks partition it into runs of buckets. Each
-- range is named by its inclusive lower bound; the first range of every ladder starts
-- at the sentinel (-2^63, -infinity, '') below every real key.
--
-- Writers never update a counter. They append +1/-1 rows to lb_rank_delta at the
-- keys an entry entered and left; the compactor folds deltas into bucket and block
-- counts in one REPEATABLE READ transaction. For any snapshot:
--     #entries in a range = range count + sum of visible deltas whose key is in it.

CREATE TABLE lb_rank_block (
    season_no  integer NOT NULL REFERENCES lb_season ON DELETE CASCADE,
    lo_score   bigint NOT NULL,
    lo_at      timestamptz NOT NULL,
    lo_player  text COLLATE "C" NOT NULL,
    cnt        bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (season_no, lo_score, lo_at, lo_player)
);

CREATE TABLE lb_rank_bucket (
    season_no  integer NOT NULL REFERENCES lb_season ON DELETE CASCADE,
    lo_score   bigint NOT NULL,
    lo_at      timestamptz NOT NULL,
    lo_player  text COLLATE "C" NOT NULL,
    cnt        bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (season_no, lo_score, lo_at, lo_player)
);

CREATE TABLE lb_rank_delta (
    season_no    integer NOT NULL,
    sort_score   bigint NOT NULL,
    achieved_at  timestamptz NOT NULL,
    player_id    text COLLATE "C" NOT NULL,
    delta        smallint NOT NULL CHECK (delta IN (-1, 1))
);
CREATE INDEX lb_rank_delta_key ON lb_rank_delta (season_no, sort_score, achieved_at, player_id)
    INCLUDE (delta);

-- A new ladder starts with one block and one bucket covering the whole key space.
CREATE FUNCTION lb_seed_rank_structure() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lb_rank_block (season_no, lo_score, lo_at, lo_player)
    VALUES (NEW.season_no, -9223372036854775808, '-infinity', '');
    INSERT INTO lb_rank_bucket (season_no, lo_score, lo_at, lo_player)
    VALUES (NEW.season_no, -9223372036854775808, '-infinity', '');
    RETURN NEW;
END;
$$;

CREATE TRIGGER lb_season_seed AFTER INSERT ON lb_season
    FOR EACH ROW EXECUTE FUNCTION lb_seed_rank_structure();

-- Number of entries strictly before key (s, a, p) in ladder n, in the caller's snapshot.
-- Cost: the blocks before the key's block, the buckets of that block before the key's
-- bucket, the entries of that bucket before the key, and the pending deltas. One
-- statement (its lookups are LATERAL backward index probes), so plpgsql caches one plan.
CREATE FUNCTION lb_count_before(n integer, s bigint, a timestamptz, p text)
RETURNS bigint
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (
        SELECT (SELECT coalesce(sum(b.cnt), 0) FROM lb_rank_block b
                 WHERE b.season_no = n
                   AND (b.lo_score, b.lo_at, b.lo_player) < (blk.lo_score, blk.lo_at, blk.lo_player))
             + (SELECT coalesce(sum(b.cnt), 0) FROM lb_rank_bucket b
                 WHERE b.season_no = n
                   AND (b.lo_score, b.lo_at, b.lo_player) >= (blk.lo_score, blk.lo_at, blk.lo_player)
                   AND (b.lo_score, b.lo_at, b.lo_player) < (bkt.lo_score, bkt.lo_at, bkt.lo_player))
             + (SELECT count(*) FROM lb_entry e
                 WHERE e.season_no = n
                   AND (e.sort_score, e.achieved_at, e.player_id) >= (bkt.lo_score, bkt.lo_at, bkt.lo_player)
                   AND (e.sort_score, e.achieved_at, e.player_id) < (s, a, p COLLATE "C"))
             + (SELECT coalesce(sum(d.delta), 0) FROM lb_rank_delta d
                 WHERE d.season_no = n
                   AND (d.sort_score, d.achieved_at, d.player_id) < (bkt.lo_score, bkt.lo_at, bkt.lo_player))
          FROM (SELECT b.lo_score, b.lo_at, b.lo_player FROM lb_rank_block b
                 WHERE b.season_no = n AND (b.lo_score, b.lo_at, b.lo_player) <= (s, a, p COLLATE "C")
                 ORDER BY b.lo_score DESC, b.lo_at DESC, b.lo_player DESC LIMIT 1) blk,
               (SELECT b.lo_score, b.lo_at, b.lo_player FROM lb_rank_bucket b
                 WHERE b.season_no = n AND (b.lo_score, b.lo_at, b.lo_player) <= (s, a, p COLLATE "C")
                 ORDER BY b.lo_score DESC, b.lo_at DESC, b.lo_player DESC LIMIT 1) bkt);
END;
$$;

-- Number of entries in ladder n, in the caller's snapshot.
CREATE FUNCTION lb_count_entries(n integer)
RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT (SELECT coalesce(sum(cnt), 0) FROM lb_rank_block WHERE season_no = n)
         + (SELECT coalesce(sum(delta), 0) FROM lb_rank_delta WHERE season_no = n);
$$;
