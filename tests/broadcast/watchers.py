"""Real WebSocket subscribers that record every frame, and the brute-force truth."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection

from runtime.app import LocalRuntime
from tests.runtime.gateway_support import open_ws, token

TRUTH = """
SELECT e.player_id, e.score FROM lb_entry e
  JOIN lb_season s ON s.season_no = e.season_no
  JOIN lb_board b ON b.board_id = s.board_id AND b.season = s.season
 WHERE b.board_id = $1
 ORDER BY e.sort_score, e.achieved_at, e.player_id"""


@dataclass
class Watcher:
    """One connection: its subscriptions' snapshots and every update frame, in order."""

    ws: ClientConnection
    frames: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    task: asyncio.Task[None] | None = None

    async def subscribe(self, message: dict[str, Any]) -> str:
        """Subscribe; updates of earlier views that arrive before the snapshot are kept."""
        await self.ws.send(json.dumps({"action": "subscribe", **message}))
        while True:
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
            if frame.get("type") != "update":
                break
            self.frames[frame["view_id"]].append(frame)
        assert frame["type"] == "snapshot", frame
        self.frames[frame["view_id"]].append(frame)
        return str(frame["view_id"])

    def listen(self) -> None:
        async def read() -> None:
            with contextlib.suppress(Exception):
                async for raw in self.ws:
                    frame = json.loads(raw)
                    if frame.get("type") in ("update", "snapshot"):
                        self.frames[frame["view_id"]].append(frame)

        self.task = asyncio.create_task(read())

    def last(self, view_id: str) -> dict[str, Any]:
        return self.frames[view_id][-1]

    def assert_ordered(self) -> None:
        """Per view: seqs strictly increase, and each update chains to the frame before."""
        for view_id, frames in self.frames.items():
            seqs = [f["seq"] for f in frames]
            assert seqs == sorted(set(seqs)), (view_id, seqs)
            for before, after in itertools.pairwise(frames):
                assert after["prev_seq"] == before["seq"], (view_id, before, after)


@contextlib.asynccontextmanager
async def watcher(rt: LocalRuntime, player: str | None, role: str = "player") -> Any:
    extra = {} if player else {"subject": f"{role}-watcher"}
    async with open_ws(rt.ws_url, token(rt.settings, player, role=role, **extra)) as ws:
        w = Watcher(ws)
        yield w
        if w.task is not None:
            w.task.cancel()


async def truth(rt: LocalRuntime, board: str) -> list[tuple[str, int]]:
    return [(r[0], r[1]) for r in await rt.store.pool.fetch(TRUTH, board)]


async def quiesce(
    rt: LocalRuntime, board: str, *, settle_s: float = 0.4, within_s: float = 20
) -> None:
    """Wait until every event of the board is sequenced and broadcast, and frames settle."""
    pool = rt.store.pool
    deadline = asyncio.get_running_loop().time() + within_s
    while asyncio.get_running_loop().time() < deadline:
        row = await pool.fetchrow(
            "SELECT b.seq, coalesce(c.seq, 0) AS cursor, "
            "(SELECT count(*) FROM lb_event WHERE board_id = $1 AND seq IS NULL) AS pending "
            "FROM lb_board b LEFT JOIN lb_feed_cursor c ON c.board_id = b.board_id "
            "AND c.consumer = 'broadcaster' WHERE b.board_id = $1", board)  # fmt: skip
        if row["pending"] == 0 and row["seq"] == row["cursor"]:
            await asyncio.sleep(settle_s)
            again = await pool.fetchval("SELECT seq FROM lb_board WHERE board_id = $1", board)
            if again == row["seq"]:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"board {board} did not quiesce")
