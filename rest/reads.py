"""Snapshot reads on the read replica, failing over to the primary.

Every read first goes to the store's reader pool (the replica: the Aurora reader or
RDS Proxy read-only endpoint on AWS, the streaming replica locally). Each read is one
statement, so its ``as_of_seq`` comes from the same snapshot as its data and never
claims more than the replica has applied. Writes never come here.

Failover: when a replica read fails with :class:`~core.errors.Unavailable` (connection
refused or lost, the replica shutting down, a recovery conflict, a broken connection) or
has not answered within ``timeout_s``, the read is retried once on the primary. A read
over its timeout is not cancelled politely: cancelling a query on a frozen server waits
for that server. Its connection is terminated (the socket closed, nothing awaited), so the
failover starts at ``timeout_s``; and every other read waiting on the replica at that
moment fails over at once too. The replica is then left alone for ``cooldown_s`` (reads
go straight to the primary); after it, the next read alone is a probe of the replica
while the others keep reading the primary; the probe's success brings the replica back,
its failure starts another cooldown. So a sick replica costs one failed attempt per
cooldown, never a stall of all traffic. One warning is logged per failure of the replica.
Client errors (unknown board, bad season) are answers, not failures, and never fail over.

Safe to share between concurrent requests: the state is the cooldown deadline, whether a
probe is out, and the replica attempts in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from core.boards import Board
from core.errors import Unavailable
from core.ranking import EntryKey, Page, Standing
from db.errors import unreachable, unreachable_errors
from db.store import Store

log = logging.getLogger("leaderboard.rest.reads")

T = TypeVar("T")

COOLDOWN_S: Final = 5.0
TIMEOUT_S: Final = 2.0

Read = Callable[[Store, bool], Awaitable[T]]
"""A read against a store: ``(store, replica) -> answer``."""


@dataclass(eq=False)
class _Attempt:
    """One read on the replica: its task, and the connection it holds once it has one."""

    task: asyncio.Task[Any]
    abandon: asyncio.Future[None]
    conn: Any = None


def _drop(task: asyncio.Task[Any]) -> None:
    """Done-callback of an abandoned attempt: its outcome is nobody's any more."""
    if not task.cancelled():
        task.exception()


@dataclass
class ReplicaState:
    """What the reads know of the replica (served by the health check)."""

    state: str = "ok"
    """``ok``, ``cooling`` (reads go to the primary), ``probing``, or ``none`` (no replica)."""
    last_error: str | None = None
    failovers: int = 0
    attempts: set[_Attempt] = field(default_factory=set)


class SnapshotReads:
    """The store's reads, replica first (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        *,
        cooldown_s: float = COOLDOWN_S,
        timeout_s: float = TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.cooldown_s = cooldown_s
        self.timeout_s = timeout_s
        self._clock = clock
        self._replica_down_until = float("-inf")
        self._probing = False
        self.replica = ReplicaState(state="ok" if self.has_replica else "none")

    @property
    def has_replica(self) -> bool:
        return self.store.read_pool is not self.store.pool

    def replica_usable(self) -> bool:
        """Whether the next read tries the replica (there is one, it is not cooling down,
        and no probe of it is out)."""
        return self.has_replica and not self._probing and self._clock() >= self._replica_down_until

    def _down(self, what: str, exc: BaseException) -> None:
        """The replica failed a read: cool down, and fail over every read waiting on it."""
        self._replica_down_until = self._clock() + self.cooldown_s
        self.replica.state, self.replica.last_error = "cooling", f"{type(exc).__name__}: {exc}"
        self.replica.failovers += 1
        for attempt in list(self.replica.attempts):
            if not attempt.abandon.done():
                attempt.abandon.set_result(None)
        log.warning(
            "replica read %s failed (%s: %s); reading from the primary for %.1f s",
            what, type(exc).__name__, exc or f"no answer within {self.timeout_s} s",
            self.cooldown_s,
        )  # fmt: skip

    async def _on_replica(self, read: Read[T]) -> T:
        """``read`` on one replica connection, given up (the connection terminated) at the
        timeout or when another read finds the replica down."""
        loop = asyncio.get_running_loop()

        async def run() -> T:
            async with self.store.read_pool.acquire() as conn:
                attempt.conn = conn
                view = Store(self.store.pool, settings=self.store.settings, read_pool=conn)
                return await read(view, True)

        attempt = _Attempt(task=asyncio.ensure_future(run()), abandon=loop.create_future())
        self.replica.attempts.add(attempt)
        try:
            await asyncio.wait(
                {attempt.task, attempt.abandon},
                timeout=self.timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            self.replica.attempts.discard(attempt)
        if attempt.task.done():
            try:
                answer: T = attempt.task.result()
                return answer
            except unreachable_errors() as exc:
                raise unreachable(exc) from exc
        if attempt.conn is not None:
            with contextlib.suppress(Exception):
                attempt.conn.terminate()
        attempt.task.cancel()
        attempt.task.add_done_callback(_drop)
        if attempt.abandon.done():
            raise Unavailable("the replica failed another read", code="database_unreachable")
        raise TimeoutError()

    async def _read(self, what: str, read: Read[T]) -> T:
        import asyncpg

        if self.replica_usable():
            probe = self._clock() >= self._replica_down_until > float("-inf")
            if probe:
                self._probing, self.replica.state = True, "probing"
            try:
                answer = await self._on_replica(read)
            except (Unavailable, TimeoutError, asyncpg.PostgresConnectionError) as exc:
                if self.replica.state != "cooling" or probe:
                    self._down(what, exc)
            else:
                if probe or self.replica.state != "ok":
                    self._replica_down_until = float("-inf")
                    self.replica.state = "ok"
                return answer
            finally:
                if probe:
                    self._probing = False
        return await read(self.store, False)

    async def list_boards(self) -> list[Board]:
        return await self._read("list_boards", lambda s, r: s.list_boards(replica=r))

    async def get_board(self, board: str) -> Board:
        return await self._read("get_board", lambda s, r: s.get_board(board, replica=r))

    async def list_seasons(self, board: str) -> list[dict[str, Any]]:
        return await self._read("list_seasons", lambda s, r: s.list_seasons(board, replica=r))

    async def fetch_top(
        self, board: str, *, season: str | None, limit: int, after: EntryKey | None = None
    ) -> Page:
        return await self._read(
            "fetch_top",
            lambda s, r: s.fetch_top(board, season=season, limit=limit, after=after, replica=r),
        )

    async def fetch_standing(self, board: str, player: str, *, season: str | None) -> Standing:
        return await self._read(
            "fetch_standing",
            lambda s, r: s.fetch_standing(board, player, season=season, replica=r),
        )

    async def fetch_around(self, board: str, player: str, *, k: int, season: str | None) -> Page:
        return await self._read(
            "fetch_around",
            lambda s, r: s.fetch_around(board, player, k=k, season=season, replica=r),
        )

    async def fetch_window(
        self, board: str, *, season: str, key: EntryKey, before: bool, limit: int, as_of: int
    ) -> Page:
        return await self._read(
            "fetch_window",
            lambda s, r: s.fetch_window(
                board, season=season, key=key, before=before, limit=limit, as_of=as_of, replica=r
            ),
        )

    async def fetch_players(
        self, board: str, players: Sequence[str], *, season: str | None
    ) -> Page:
        return await self._read(
            "fetch_players",
            lambda s, r: s.fetch_players(board, players, season=season, replica=r),
        )


__all__ = ["COOLDOWN_S", "TIMEOUT_S", "ReplicaState", "SnapshotReads"]
