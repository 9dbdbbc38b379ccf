"""Around-me in both directions: cursors pinned to one as_of_seq page up and down from a
player's position without a gap or a repeat, while submits keep arriving."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime
from typing import Any, Final

from core.boards import BoardSpec, UpdatePolicy
from core.ranking import ScoreInput
from core.settings import Settings
from runtime.app import LocalRuntime
from tests.rest.support import Client, settle

FEED: Final = """
SELECT seq, player_id, new_score, new_at FROM lb_event WHERE board_id = $1 AND seq <= $2
 ORDER BY seq"""


async def _ladder_at(runtime: LocalRuntime, board: str, seq: int) -> list[tuple[str, int]]:
    """The brute-force ladder after event ``seq``: the feed replayed, then sorted."""
    state: dict[str, tuple[int, datetime]] = {}
    for e in await runtime.store.pool.fetch(FEED, board, seq):
        state[e["player_id"]] = (e["new_score"], e["new_at"])
    order = sorted(state, key=lambda p: (-state[p][0], state[p][1], p))
    return [(p, state[p][0]) for p in order]


async def _walk(client: Client, board: str, player: str, cursor: str | None, key: str,
                k: int, seq: int) -> list[dict[str, Any]]:  # fmt: skip
    """Every entry reached by following ``key`` (prev_cursor or next_cursor) to its end."""
    out: list[dict[str, Any]] = []
    while cursor is not None:
        status, _, page = await client.get(
            f"/v1/boards/{board}/players/{player}/around", cursor=cursor, k=k
        )
        assert status == 200, page
        assert page["as_of_seq"] == seq
        out = page["entries"] + out if key == "prev_cursor" else out + page["entries"]
        cursor = page[key]
    return out


async def test_paging_up_and_down_from_a_player_sees_one_seq(
    client: Client, settings_rest: Settings, runtime: LocalRuntime
) -> None:
    """From a player's window, prev and next cursors walk to the top and the bottom of the
    ladder exactly as it was at the window's seq (ranks 1..n, each entry once, the
    brute-force order), while a writer moves and adds players throughout."""
    board = "feat-pages"
    store = runtime.store
    await store.create_board(BoardSpec(id=board, policy=UpdatePolicy.LATEST))
    rng = random.Random(4)
    players = [f"q{i:03d}" for i in range(80)]
    await store.submit(board, [ScoreInput(p, rng.randrange(0, 25)) for p in players])
    await settle(store)
    status, _, first = await client.get(f"/v1/boards/{board}/players/q040/around", k=3)
    assert status == 200 and first["prev_cursor"] and first["next_cursor"]
    seq = first["as_of_seq"]
    stop = asyncio.Event()

    async def writer() -> None:
        n = 0
        while not stop.is_set():
            who = rng.choice(players) if n % 3 else f"new{n:04d}"
            await store.submit(board, [ScoreInput(who, rng.randrange(0, 25))])
            n += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(writer())
    try:
        await asyncio.sleep(0.3)
        up = await _walk(client, board, "q040", first["prev_cursor"], "prev_cursor", 4, seq)
        down = await _walk(client, board, "q040", first["next_cursor"], "next_cursor", 7, seq)
    finally:
        stop.set()
        await task
    await settle(store)
    assert (await store.get_board(board)).seq > seq + 20  # the ladder moved on meanwhile
    shown = up + first["entries"] + down
    truth = await _ladder_at(runtime, board, seq)
    assert [(e["player_id"], e["score"]) for e in shown] == truth
    assert [e["rank"] for e in shown] == list(range(1, len(truth) + 1))


async def test_a_cursor_of_another_board_or_a_top_cursor_is_refused(
    client: Client, settings_rest: Settings, runtime: LocalRuntime
) -> None:
    """An around cursor used for another board, or a top page's cursor used to page around,
    is a 400 cursor_mismatch; a tampered one is a 400 invalid_cursor."""
    for board in ("feat-cur-a", "feat-cur-b"):
        await runtime.store.create_board(BoardSpec(id=board))
        await runtime.store.submit(board, [ScoreInput(f"c{i}", i) for i in range(10)])
    await settle(runtime.store)
    _, _, page = await client.get("/v1/boards/feat-cur-a/players/c5/around", k=1)
    status, _, problem = await client.get(
        "/v1/boards/feat-cur-b/players/c5/around", cursor=page["next_cursor"]
    )
    assert status == 400 and problem["code"] == "cursor_mismatch"
    _, _, top = await client.get("/v1/boards/feat-cur-a/top", limit=2)
    status, _, problem = await client.get(
        "/v1/boards/feat-cur-a/players/c5/around", cursor=top["next_cursor"]
    )
    assert status == 400 and problem["code"] == "cursor_mismatch"
    status, _, problem = await client.get(
        "/v1/boards/feat-cur-a/players/c5/around", cursor=page["next_cursor"][:-2] + "AA"
    )
    assert status == 400 and problem["code"] == "invalid_cursor"
