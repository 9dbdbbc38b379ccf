"""The compactor's housekeeping: folded deltas are vacuumed away, ladder sizes follow the
folds, and ranks stay exact."""

from __future__ import annotations

import json
import random

from core.boards import BoardSpec, UpdatePolicy
from core.ranking import ScoreInput
from db.compaction import compact, compact_all, vacuum_deltas
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


async def _season_no(store: Store, board: str) -> int:
    n: int = await store.pool.fetchval("SELECT season_no FROM lb_season WHERE board_id = $1", board)
    return n


async def _kept_total(store: Store, n: int) -> int | None:
    total: int | None = await store.pool.fetchval(
        "SELECT cnt FROM lb_rank_total WHERE season_no = $1", n
    )
    return total


async def test_a_ladders_kept_total_follows_its_blocks_and_heals(store: Store) -> None:
    """A ladder's kept total equals the sum of its blocks after every fold and split, the
    size counts the deltas still pending beside it, and a lost total comes back at the next
    fold that touches the ladder's blocks."""
    await store.create_board(BoardSpec(id="sized"))
    n = await _season_no(store, "sized")
    for start in range(0, 3000, 500):
        batch = [ScoreInput(f"p{i}", i % 97) for i in range(start, start + 500)]
        await store.submit("sized", batch, with_ranks=False)
        await compact(store.pool, n)
    blocks = await store.pool.fetchval("SELECT sum(cnt) FROM lb_rank_block WHERE season_no = $1", n)
    assert await _kept_total(store, n) == blocks == 3000
    await store.submit("sized", [ScoreInput(f"late{i}", 5) for i in range(50)])  # pending
    assert (await store.fetch_top("sized", limit=1)).total == 3050
    await compact(store.pool, n)
    assert await _kept_total(store, n) == 3050
    await store.pool.execute("DELETE FROM lb_rank_total WHERE season_no = $1", n)
    await store.submit("sized", [ScoreInput("later", 50)])
    await compact(store.pool, n)
    assert await _kept_total(store, n) == 3051


async def test_sizes_count_arrivals_and_not_moves_while_deltas_are_pending(store: Store) -> None:
    """Only a new entry's +1 is marked as changing the size; with arrivals and moves pending
    at once, and with deltas written unmarked (sized NULL, counted like arrivals), every
    size and rank is exact, before and after the fold."""
    await store.create_board(BoardSpec(id="moves", policy=UpdatePolicy.LATEST))
    n = await _season_no(store, "moves")
    await store.submit("moves", [ScoreInput(f"p{i}", i) for i in range(300)], with_ranks=False)
    await compact(store.pool, n)
    await store.submit("moves", [ScoreInput(f"new{i}", 7) for i in range(40)])
    await store.submit("moves", [ScoreInput(f"p{i}", 1000 + i) for i in range(60)])
    await store.pool.execute("UPDATE lb_rank_delta SET sized = NULL WHERE season_no = $1", n)
    assert (await store.fetch_top("moves", limit=1)).total == 340
    await store.submit("moves", [ScoreInput(f"newer{i}", 9) for i in range(25)])
    moved = await store.submit("moves", [ScoreInput(f"p{i}", 5000 + i) for i in range(80)])
    assert {r.total for r in moved} == {365}
    assert moved[0].rank == 1 and moved[-1].rank == 80
    assert await store.pool.fetchval("SELECT count(*) FROM lb_rank_delta WHERE sized") == 25
    assert (await store.fetch_top("moves", limit=1)).total == 365
    await compact(store.pool, n)
    assert await store.pool.fetchval("SELECT count(*) FROM lb_rank_delta") == 0
    page = await store.fetch_top("moves", limit=400)
    assert page.total == 365 and [e.rank for e in page.entries] == list(range(1, 366))
