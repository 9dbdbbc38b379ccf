"""The local wake-up of the broadcaster: LISTEN, then call the Lambda's handler logic.

On AWS the database invokes the broadcaster Lambda (``aws_lambda.invoke``) with
``{"source": "postgres", "board": id}``. Locally the feed trigger's NOTIFY carries the
board id, and this loop calls :meth:`Broadcaster.handle` in-process with that very payload.
Wake-ups for a board that is already being worked are coalesced into one more run.
A periodic sweep (what the AWS schedule's ``{"source": "sweep"}`` does) backs up lost
wake-ups, including a LISTEN connection that dropped and is being re-opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import asdict, dataclass
from typing import Any

import asyncpg

from broadcast.worker import Broadcaster, RoundReport
from core.errors import Unavailable
from core.throttle import FailureLog

log = logging.getLogger("leaderboard.runtime.broadcast")
failures = FailureLog(log)

CHANNEL = "lb_events"


@dataclass
class BroadcastStats:
    """Counters over every broadcaster round run here (served at ``GET /metrics``)."""

    runs: int = 0
    rounds: int = 0
    events: int = 0
    frames: int = 0
    send_s: float = 0.0
    """Wall time spent handing frames to the sender."""
    peak_frames: int = 0
    """The largest fan-out of one round so far, and how long handing it over took."""
    peak_send_s: float = 0.0
    failures: int = 0

    def add(self, report: RoundReport) -> None:
        self.rounds += 1
        self.events += report.events
        self.frames += report.frames
        self.send_s += report.send_s
        if report.frames > self.peak_frames:
            self.peak_frames, self.peak_send_s = report.frames, report.send_s

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["peak_frames_per_s"] = (
            round(self.peak_frames / self.peak_send_s) if self.peak_send_s > 0 else None
        )
        return out


class BroadcastLoop:
    """Runs the broadcaster per board on wake-ups: one run at a time per board, at most
    ``concurrency`` boards at once (a round holds its transaction's connection and reads
    on a second one, so the pool must have room for all of them)."""

    def __init__(self, broadcaster: Broadcaster, *, dsn: str, concurrency: int = 2) -> None:
        self.broadcaster = broadcaster
        self.dsn = dsn
        self._slots = asyncio.Semaphore(concurrency)
        self._conn: asyncpg.Connection | None = None
        self._running: dict[str, asyncio.Task[None]] = {}
        self._dirty: set[str] = set()
        self.stats = BroadcastStats()
        broadcaster.on_round = self.stats.add

    @property
    def rounds(self) -> int:
        """Wake-ups handled (each may run several rounds)."""
        return self.stats.runs

    async def start(self) -> None:
        await self._listen()

    async def _listen(self) -> None:
        self._conn = await asyncpg.connect(self.dsn)
        await self._conn.add_listener(CHANNEL, self._notified)
        self._conn.add_termination_listener(lambda _conn: setattr(self, "_conn", None))

    def _notified(self, _conn: Any, _pid: int, _channel: str, board: str) -> None:
        self.wake(board)

    def wake(self, board: str) -> None:
        """Run the broadcaster for ``board`` now, or once more after the current run."""
        if board in self._running:
            self._dirty.add(board)
            return
        self._running[board] = asyncio.create_task(self._run(board), name=f"broadcast:{board}")

    async def _run(self, board: str) -> None:
        try:
            while True:
                self._dirty.discard(board)
                try:
                    async with self._slots:
                        await self.broadcaster.handle({"source": "postgres", "board": board})
                    self.stats.runs += 1
                except Exception as exc:
                    self.stats.failures += 1
                    failures.failed(
                        f"broadcast round for {board}", exc, expected=isinstance(exc, Unavailable)
                    )
                    await asyncio.sleep(0.5)
                if board not in self._dirty:
                    return
        finally:
            self._running.pop(board, None)

    async def sweep(self) -> None:
        """The scheduled backstop: re-listen if needed, then wake every board with work.

        Boards go through :meth:`wake`, so a board already being worked gets one more run
        rather than a second, concurrent drain. (Pruning the feed is the runtime's own
        periodic job.)
        """
        if self._conn is None or self._conn.is_closed():
            with contextlib.suppress(OSError, asyncpg.PostgresError):
                await self._listen()
        for board in await self.broadcaster.due_boards():
            self.wake(board)

    async def stop(self) -> None:
        for task in list(self._running.values()):
            task.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()
