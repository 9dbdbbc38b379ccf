"""The compactor's housekeeping: folded deltas are vacuumed away, and ranks stay exact."""

from __future__ import annotations

import json
import random

from core.boards import BoardSpec, UpdatePolicy
from core.ranking import ScoreInput
from db.compaction import compact_all, vacuum_deltas
from db.store import Store


async def _churn(store: Store, board: str, *, players: int, rounds: int) -> dict[str, int]:
    """Rewrite every player's score ``rounds`` times and fold it all; the final scores."""
    rng = random.Random(7)
    scores: dict[str, int] = {}
    for _ in range(rounds):
        batch = [ScoreInput(f"p{i}", rng.randrange(1000)) for i in range(players)]
        await store.submit(board, batch, with_ranks=False)
        scores.update({s.player_id: s.score for s in batch})
        await compact_all(store.pool)
    return scores


async def _read_buffers(store: Store, board: str, reads: int) -> list[int]:
    """Shared buffers touched by ``reads`` rank probes above every key of the ladder
    (so every pending or dead delta is before it), one connection, one after another."""
    season_no = await store.pool.fetchval(
        "SELECT season_no FROM lb_season WHERE board_id = $1", board
    )
    probe = (
        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "
        "SELECT lb_count_before($1, 4611686018427387904, now(), 'zz')"
    )
    async with store.pool.acquire() as conn:
        return [
            json.loads(await conn.fetchval(probe, season_no))[0]["Plan"]["Shared Hit Blocks"]
            for _ in range(reads)
        ]


async def _first_read_buffers(store: Store, board: str) -> int:
    return (await _read_buffers(store, board, 1))[0]


async def test_folded_deltas_are_vacuumed_once_enough_are_dead(store: Store) -> None:
    """Folded deltas stay on disk (and in reads' way) until enough are dead; then the
    maintenance VACUUM removes them, so even the first rank read after it walks none of
    them, and every rank is still exact."""
    await store.create_board(BoardSpec(id="churn", policy=UpdatePolicy.LATEST))
    await _churn(store, "churn", players=400, rounds=8)
    assert not await vacuum_deltas(store.pool, dead_max=10**9, interval_s=0)
    unvacuumed = await _first_read_buffers(store, "churn")

    scores = await _churn(store, "churn", players=400, rounds=8)
    assert await store.pool.fetchval("SELECT count(*) FROM lb_rank_delta") == 0
    assert await vacuum_deltas(store.pool, dead_max=0, interval_s=0)
    assert not await vacuum_deltas(store.pool, dead_max=0, interval_s=3600)  # just did
    vacuumed = await _first_read_buffers(store, "churn")
    assert vacuumed * 4 < unvacuumed, (vacuumed, unvacuumed)

    page = await store.fetch_top("churn", limit=1000)
    assert page.total == len(scores)
    assert [e.score for e in page.entries] == sorted(scores.values(), reverse=True)
    assert [e.rank for e in page.entries] == list(range(1, len(scores) + 1))
    for e in page.entries[::37]:
        assert await store.fetch_rank("churn", e.player_id) == e.rank


async def test_rank_reads_skip_folded_deltas_after_the_first(store: Store) -> None:
    """Before any VACUUM, only the first rank read pays for the folded deltas: it marks
    their index entries dead, and the next read skips them (a bitmap scan would recheck
    every one of them on every read)."""
    await store.create_board(BoardSpec(id="hot", policy=UpdatePolicy.LATEST))
    await _churn(store, "hot", players=400, rounds=8)
    first, second = await _read_buffers(store, "hot", 2)
    assert second * 4 < first, (first, second)
