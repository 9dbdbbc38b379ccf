"""One event loop per Lambda container, and the services built on it on first use.

A Lambda container runs one invocation at a time. Its pools and clients are opened on
the first invocation (cold start), never at import, on the container's one event loop,
and reused by every later invocation: a handler module holds one :class:`Container`
and its entry point is one line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

S = TypeVar("S")
T = TypeVar("T")


class Container(Generic[S]):
    """The container's event loop and its services (``build`` runs once, on first use)."""

    def __init__(self, build: Callable[[], Awaitable[S]]) -> None:
        self._build = build
        self._services: S | None = None
        self.loop = asyncio.new_event_loop()

    async def services(self) -> S:
        """The services, built on the first call (a failed build is retried next time)."""
        if self._services is None:
            self._services = await self._build()
        return self._services

    def run(self, work: Callable[[S], Awaitable[T]]) -> T:
        """Run ``work(services)`` to completion on the container's loop."""

        async def invocation() -> T:
            return await work(await self.services())

        return self.complete(invocation())

    def complete(self, work: Awaitable[T]) -> T:
        """Run ``work`` to completion on the container's loop; for work that opens the
        services only when it needs them (it awaits :meth:`services` itself)."""
        return self.loop.run_until_complete(work)


__all__ = ["Container"]
