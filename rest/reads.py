"""Snapshot reads on the read replica, failing over to the primary.

Every read first goes to the store's reader pool (the replica: the Aurora reader or
RDS Proxy read-only endpoint on AWS, the streaming replica locally). Each read is one
statement, so its ``as_of_seq`` comes from the same snapshot as its data and never
claims more than the replica has applied. Writes never come here.

Failover: when a replica read fails with :class:`~core.errors.Unavailable` (connection
refused or lost, the replica shutting down, a recovery conflict) or takes longer than
``timeout_s``, a warning is logged and the read is retried once on the primary. The
replica is then left alone for ``cooldown_s`` (reads go straight to the primary), so a
dead replica costs one failed attempt per cooldown, not one per request. Client errors
(unknown board, bad season) are answers, not failures, and never fail over.

Safe to share between concurrent requests: the only state is the cooldown deadline.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, TypeVar

from core.boards import Board
from core.errors import Unavailable
from core.ranking import EntryKey, Page, Standing
from db.store import Store

log = logging.getLogger("leaderboard.rest.reads")

T = TypeVar("T")

COOLDOWN_S: Final = 5.0
TIMEOUT_S: Final = 2.0


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

    @property
    def has_replica(self) -> bool:
        return self.store.read_pool is not self.store.pool

    def replica_usable(self) -> bool:
        """Whether the next read tries the replica (there is one, and not cooling down)."""
        return self.has_replica and self._clock() >= self._replica_down_until

    async def _read(self, what: str, read: Callable[[bool], Awaitable[T]]) -> T:
        if self.replica_usable():
            try:
                return await asyncio.wait_for(read(True), self.timeout_s)
            except (Unavailable, TimeoutError) as exc:
                self._replica_down_until = self._clock() + self.cooldown_s
                log.warning(
                    "replica read %s failed (%s: %s); reading from the primary for %.1f s",
                    what, type(exc).__name__, exc, self.cooldown_s,
                )  # fmt: skip
        return await read(False)

    async def list_boards(self) -> list[Board]:
        return await self._read("list_boards", lambda r: self.store.list_boards(replica=r))

    async def get_board(self, board: str) -> Board:
        return await self._read("get_board", lambda r: self.store.get_board(board, replica=r))

    async def list_seasons(self, board: str) -> list[dict[str, Any]]:
        return await self._read("list_seasons", lambda r: self.store.list_seasons(board, replica=r))

    async def fetch_top(
        self, board: str, *, season: str | None, limit: int, after: EntryKey | None = None
    ) -> Page:
        return await self._read(
            "fetch_top",
            lambda r: self.store.fetch_top(
                board, season=season, limit=limit, after=after, replica=r
            ),
        )

    async def fetch_standing(self, board: str, player: str, *, season: str | None) -> Standing:
        return await self._read(
            "fetch_standing",
            lambda r: self.store.fetch_standing(board, player, season=season, replica=r),
        )

    async def fetch_around(self, board: str, player: str, *, k: int, season: str | None) -> Page:
        return await self._read(
            "fetch_around",
            lambda r: self.store.fetch_around(board, player, k=k, season=season, replica=r),
        )

    async def fetch_players(
        self, board: str, players: Sequence[str], *, season: str | None
    ) -> Page:
        return await self._read(
            "fetch_players",
            lambda r: self.store.fetch_players(board, players, season=season, replica=r),
        )


__all__ = ["SnapshotReads"]
