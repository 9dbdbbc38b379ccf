"""The compactor: folds rank deltas into bucket and block counts, splits and merges.

Writers only append ±1 rows to ``lb_rank_delta``, so they never contend on a counter.
``compact`` folds every visible delta of a ladder into the counts, in one REPEATABLE
READ transaction, so a reader sees either all of a fold or none of it, and the
invariant holds in every snapshot:

    #entries in a bucket's range = bucket.cnt + Σ visible deltas in that range

After a fold, ``cnt`` is exact for the compactor's snapshot, which lets it split an
oversized bucket at the right keys by walking only that bucket's index range, and
merge a nearly empty bucket into its predecessor. Blocks (runs of buckets) are split
the same way when they hold too many buckets. One compactor per ladder at a time: the
first statement of its transaction takes a transaction-scoped try-lock, which RDS Proxy
does not pin (a busy ladder is skipped, not waited for). Correctness never depends on
compaction running; only read cost does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from db.errors import translated

if TYPE_CHECKING:
    import asyncpg

BUCKET_MAX: Final = 256
BUCKET_TARGET: Final = 128
BUCKET_MIN: Final = 16
BLOCK_MAX: Final = 128
BLOCK_TARGET: Final = 64

COMPACT_LOCK: Final = 19523

Key = tuple[int, datetime, str]

TRY_LOCK: Final = "SELECT pg_try_advisory_xact_lock($1, $2)"

SEASONS_WITH_DELTAS: Final = "SELECT DISTINCT season_no FROM lb_rank_delta"

# Folded deltas are deleted rows until VACUUM removes them; readers walk their index
# entries (see 0001_baseline.sql). The statistics say how many there are, whoever folded them.
# A VACUUM within the last interval is left to finish its work: dead rows that an open
# snapshot still sees stay counted until a later VACUUM can remove them.
DELTAS_TO_VACUUM: Final = """
SELECT coalesce(n_dead_tup, 0) >= $1
       AND coalesce(greatest(last_vacuum, last_autovacuum), '-infinity')
           < now() - make_interval(secs => $2)
  FROM pg_stat_user_tables
 WHERE relid = 'lb_rank_delta'::regclass"""
VACUUM_DELTAS: Final = "VACUUM (SKIP_LOCKED, TRUNCATE false) lb_rank_delta"
DEAD_DELTAS_MAX: Final = 2000
VACUUM_INTERVAL_S: Final = 1.0

FOLD: Final = """
WITH d AS (
    DELETE FROM lb_rank_delta WHERE season_no = $1
    RETURNING sort_score, achieved_at, player_id, delta
),
per_bucket AS (
    SELECT k.lo_score, k.lo_at, k.lo_player, sum(d.delta) AS s
      FROM d CROSS JOIN LATERAL (
           SELECT b.lo_score, b.lo_at, b.lo_player FROM lb_rank_bucket b
            WHERE b.season_no = $1
              AND (b.lo_score, b.lo_at, b.lo_player) <= (d.sort_score, d.achieved_at, d.player_id)
            ORDER BY b.lo_score DESC, b.lo_at DESC, b.lo_player DESC LIMIT 1) k
     GROUP BY 1, 2, 3
),
per_block AS (
    SELECT k.lo_score, k.lo_at, k.lo_player, sum(d.delta) AS s
      FROM d CROSS JOIN LATERAL (
           SELECT b.lo_score, b.lo_at, b.lo_player FROM lb_rank_block b
            WHERE b.season_no = $1
              AND (b.lo_score, b.lo_at, b.lo_player) <= (d.sort_score, d.achieved_at, d.player_id)
            ORDER BY b.lo_score DESC, b.lo_at DESC, b.lo_player DESC LIMIT 1) k
     GROUP BY 1, 2, 3
),
blocks AS (
    UPDATE lb_rank_block r SET cnt = r.cnt + p.s
      FROM per_block p
     WHERE r.season_no = $1 AND r.lo_score = p.lo_score AND r.lo_at = p.lo_at
       AND r.lo_player = p.lo_player
)
UPDATE lb_rank_bucket r SET cnt = r.cnt + p.s
  FROM per_bucket p
 WHERE r.season_no = $1 AND r.lo_score = p.lo_score AND r.lo_at = p.lo_at
   AND r.lo_player = p.lo_player
RETURNING r.lo_score, r.lo_at, r.lo_player, r.cnt"""

NEXT_BUCKET: Final = """
SELECT lo_score, lo_at, lo_player FROM lb_rank_bucket
 WHERE season_no = $1 AND (lo_score, lo_at, lo_player) > ($2, $3, $4::text COLLATE "C")
 ORDER BY lo_score, lo_at, lo_player LIMIT 1"""

PREV_BUCKET: Final = """
SELECT lo_score, lo_at, lo_player, cnt FROM lb_rank_bucket
 WHERE season_no = $1 AND (lo_score, lo_at, lo_player) < ($2, $3, $4::text COLLATE "C")
 ORDER BY lo_score DESC, lo_at DESC, lo_player DESC LIMIT 1"""

BLOCK_OF: Final = """
SELECT lo_score, lo_at, lo_player FROM lb_rank_block
 WHERE season_no = $1 AND (lo_score, lo_at, lo_player) <= ($2, $3, $4::text COLLATE "C")
 ORDER BY lo_score DESC, lo_at DESC, lo_player DESC LIMIT 1"""

NEXT_BLOCK: Final = """
SELECT lo_score, lo_at, lo_player FROM lb_rank_block
 WHERE season_no = $1 AND (lo_score, lo_at, lo_player) > ($2, $3, $4::text COLLATE "C")
 ORDER BY lo_score, lo_at, lo_player LIMIT 1"""

# Every target-th entry key of a bucket's range: the lower bounds of the new buckets.
SPLIT_KEYS: Final = """
SELECT x.sort_score, x.achieved_at, x.player_id, x.i FROM (
    SELECT e.sort_score, e.achieved_at, e.player_id,
           row_number() OVER (ORDER BY e.sort_score, e.achieved_at, e.player_id) - 1 AS i
      FROM lb_entry e
     WHERE e.season_no = $1
       AND (e.sort_score, e.achieved_at, e.player_id) >= ($2, $3, $4::text COLLATE "C")
       AND (e.sort_score, e.achieved_at, e.player_id) < ($5, $6, $7::text COLLATE "C")
) x
WHERE x.i > 0 AND x.i % $8 = 0
ORDER BY x.i"""

SET_BUCKET_COUNT: Final = """
UPDATE lb_rank_bucket SET cnt = $5
 WHERE season_no = $1 AND lo_score = $2 AND lo_at = $3 AND lo_player = $4"""
INSERT_BUCKET: Final = """
INSERT INTO lb_rank_bucket (season_no, lo_score, lo_at, lo_player, cnt)
VALUES ($1, $2, $3, $4, $5)"""
DELETE_BUCKET: Final = """
DELETE FROM lb_rank_bucket
 WHERE season_no = $1 AND lo_score = $2 AND lo_at = $3 AND lo_player = $4"""

BUCKETS_IN: Final = """
SELECT lo_score, lo_at, lo_player, cnt FROM lb_rank_bucket
 WHERE season_no = $1
   AND (lo_score, lo_at, lo_player) >= ($2, $3, $4::text COLLATE "C")
   AND (lo_score, lo_at, lo_player) < ($5, $6, $7::text COLLATE "C")
 ORDER BY lo_score, lo_at, lo_player"""
SET_BLOCK_COUNT: Final = """
UPDATE lb_rank_block SET cnt = $5
 WHERE season_no = $1 AND lo_score = $2 AND lo_at = $3 AND lo_player = $4"""
INSERT_BLOCK: Final = """
INSERT INTO lb_rank_block (season_no, lo_score, lo_at, lo_player, cnt)
VALUES ($1, $2, $3, $4, $5)"""

# Above every real key: scores are at most 2^63-1 and achieved_at is never infinite.
KEY_MAX: Final[Key] = (2**63 - 1, datetime.max.replace(tzinfo=UTC), "")


@dataclass(frozen=True)
class CompactionReport:
    season_no: int
    folded_buckets: int
    splits: int
    merges: int
    block_splits: int
    skipped: bool = False


async def compact_all(pool: asyncpg.Pool) -> list[CompactionReport]:
    """Compact every ladder that has pending deltas."""
    async with translated():
        seasons = [r[0] for r in await pool.fetch(SEASONS_WITH_DELTAS)]
    return [await compact(pool, n) for n in seasons]


async def vacuum_deltas(
    pool: asyncpg.Pool,
    *,
    dead_max: int = DEAD_DELTAS_MAX,
    interval_s: float = VACUUM_INTERVAL_S,
) -> bool:
    """VACUUM the delta table once ``dead_max`` folded deltas await removal, at most
    once per ``interval_s``.

    Every compactor's caller runs this after a compaction that folded deltas, so reads
    never walk more than about a second of dead delta entries, instead of up to a minute
    of them between autovacuum runs. The table is tiny by design (only unfolded deltas
    live in it), so the VACUUM takes milliseconds; one already running elsewhere is
    skipped, not waited for. Returns whether it vacuumed.
    """
    async with translated(), pool.acquire() as conn:
        if not await conn.fetchval(DELTAS_TO_VACUUM, dead_max, interval_s):
            return False
        await conn.execute(VACUUM_DELTAS)
        return True


async def compact(pool: asyncpg.Pool, season_no: int) -> CompactionReport:
    """Fold one ladder's deltas and rebalance the buckets it touched.

    The per-ladder lock is the first statement of the REPEATABLE READ transaction, so the
    snapshot is taken just before the lock: a compactor that committed in between leaves
    this one a snapshot older than its fold. Every compactor that did anything deleted
    deltas this snapshot still sees, so this one's fold then fails to serialize, and the
    ladder is reported skipped: the other compactor has just done the work.
    """
    import asyncpg

    skipped = CompactionReport(season_no, 0, 0, 0, 0, skipped=True)
    async with translated(), pool.acquire() as conn:
        try:
            async with conn.transaction(isolation="repeatable_read"):
                if not await conn.fetchval(TRY_LOCK, COMPACT_LOCK, season_no):
                    return skipped
                return await _compact_locked(conn, season_no)
        except asyncpg.SerializationError:
            return skipped


async def _compact_locked(conn: asyncpg.Connection, season_no: int) -> CompactionReport:
    touched = await conn.fetch(FOLD, season_no)
    splits = merges = 0
    blocks_to_check: set[Key] = set()
    for row in touched:
        lo: Key = (row["lo_score"], row["lo_at"], row["lo_player"])
        if row["cnt"] > BUCKET_MAX:
            splits += await _split_bucket(conn, season_no, lo, row["cnt"])
            blocks_to_check.add(await _block_of(conn, season_no, lo))
        elif row["cnt"] < BUCKET_MIN:
            merges += await _merge_bucket(conn, season_no, lo, row["cnt"])
    block_splits = 0
    for blk in sorted(blocks_to_check):
        block_splits += await _split_block(conn, season_no, blk)
    return CompactionReport(season_no, len(touched), splits, merges, block_splits)


async def _block_of(conn: asyncpg.Connection, n: int, key: Key) -> Key:
    row = await conn.fetchrow(BLOCK_OF, n, *key)
    return (row[0], row[1], row[2])


async def _next(conn: asyncpg.Connection, query: str, n: int, key: Key) -> Key:
    row = await conn.fetchrow(query, n, *key)
    return KEY_MAX if row is None else (row[0], row[1], row[2])


async def _split_bucket(conn: asyncpg.Connection, n: int, lo: Key, cnt: int) -> int:
    """Cut an oversized bucket into buckets of BUCKET_TARGET entries."""
    hi = await _next(conn, NEXT_BUCKET, n, lo)
    cuts = await conn.fetch(SPLIT_KEYS, n, *lo, *hi, BUCKET_TARGET)
    if not cuts:
        return 0
    bounds = [0] + [c["i"] for c in cuts] + [cnt]
    await conn.execute(SET_BUCKET_COUNT, n, *lo, bounds[1] - bounds[0])
    await conn.executemany(
        INSERT_BUCKET,
        [
            (n, c["sort_score"], c["achieved_at"], c["player_id"], bounds[i + 2] - bounds[i + 1])
            for i, c in enumerate(cuts)
        ],
    )
    return len(cuts)


async def _merge_bucket(conn: asyncpg.Connection, n: int, lo: Key, cnt: int) -> int:
    """Fold a nearly empty bucket into its predecessor, within the same block."""
    if await _block_of(conn, n, lo) == lo:
        return 0  # a block's first bucket stays: it anchors the block
    prev = await conn.fetchrow(PREV_BUCKET, n, *lo)
    if prev is None or prev["cnt"] + cnt > BUCKET_MAX:
        return 0
    await conn.execute(DELETE_BUCKET, n, *lo)
    await conn.execute(
        SET_BUCKET_COUNT, n, prev["lo_score"], prev["lo_at"], prev["lo_player"], prev["cnt"] + cnt
    )
    return 1


async def _split_block(conn: asyncpg.Connection, n: int, blk: Key) -> int:
    """Cut a block holding too many buckets into blocks of BLOCK_TARGET buckets."""
    hi = await _next(conn, NEXT_BLOCK, n, blk)
    buckets = await conn.fetch(BUCKETS_IN, n, *blk, *hi)
    if len(buckets) <= BLOCK_MAX:
        return 0
    chunks = [buckets[i : i + BLOCK_TARGET] for i in range(0, len(buckets), BLOCK_TARGET)]
    first = chunks[0]
    await conn.execute(SET_BLOCK_COUNT, n, *blk, sum(b["cnt"] for b in first))
    await conn.executemany(
        INSERT_BLOCK,
        [
            (n, c[0]["lo_score"], c[0]["lo_at"], c[0]["lo_player"], sum(b["cnt"] for b in c))
            for c in chunks[1:]
        ],
    )
    return len(chunks) - 1
