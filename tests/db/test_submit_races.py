"""Acks under concurrent arrivals: a rank and a total from one view, so rank <= total."""

from __future__ import annotations

import asyncio
import random

from core.boards import BoardSpec
from core.ranking import ScoreInput, SubmitResult
from db.compaction import compact_all
from db.store import Store

ROUNDS_TIME_S = 20.0
"""How long the race runs at most; rounds keep starting until enough acks were checked."""
ACKS_WANTED = 3000
"""Acks checked per kind of submit: well over the ~1 in 300 acks the race used to break."""
WRITERS = 12


def _broken(results: list[SubmitResult]) -> list[tuple[str, int | None, int | None]]:
    return [
        (r.player_id, r.rank, r.total)
        for r in results
        if r.rank is None or r.total is None or not 1 <= r.rank <= r.total
    ]


async def _race(
    store: Store, *, batch: int
) -> tuple[int, list[tuple[str, int | None, int | None]]]:
    """Rounds of WRITERS concurrent submits of new players (``batch`` players each) on fresh
    boards, with a compactor folding meanwhile; the acks checked and those out of bounds."""
    rng = random.Random(17)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ROUNDS_TIME_S
    checked, broken = 0, []
    board_no = 0
    while checked < ACKS_WANTED and loop.time() < deadline:
        board_no += 1
        board = f"race-{batch}-{board_no}"
        await store.create_board(BoardSpec(id=board))
        stop = asyncio.Event()

        async def compactor(stop: asyncio.Event = stop) -> None:
            while not stop.is_set():
                await compact_all(store.pool)
                await asyncio.sleep(0.005)

        async def writer(w: int, board: str = board) -> list[SubmitResult]:
            acks: list[SubmitResult] = []
            for i in range(4):
                players = [f"w{w}-{i}-{j}" for j in range(batch)]
                scores = [ScoreInput(p, rng.randrange(0, 1000)) for p in players]
                acks.extend(await store.submit(board, scores))
            return acks

        task = asyncio.create_task(compactor())
        try:
            rounds = await asyncio.gather(*(writer(w) for w in range(WRITERS)))
        finally:
            stop.set()
            await task
        for acks in rounds:
            checked += len(acks)
            broken.extend(_broken(acks))
    return checked, broken


async def test_single_submit_acks_never_rank_past_the_total(store: Store) -> None:
    """Under concurrent arrivals of new players, every one-score ack's rank is within its total."""
    checked, broken = await _race(store, batch=1)
    assert checked >= 1000, f"only {checked} acks in {ROUNDS_TIME_S} s"
    assert not broken, f"{len(broken)} of {checked} acks out of bounds: {broken[:5]}"


async def test_batch_acks_never_rank_past_the_total(store: Store) -> None:
    """Under concurrent arrivals, every rank of a batch ack (per-key and merged-pass ranks)
    is within the ack's total."""
    for batch in (3, 20):
        checked, broken = await _race(store, batch=batch)
        assert checked >= 1000, f"only {checked} acks in {ROUNDS_TIME_S} s"
        assert not broken, f"{len(broken)} of {checked} acks out of bounds: {broken[:5]}"
