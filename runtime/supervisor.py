"""Keeps the embedded PostgreSQL primary and replica running.

:class:`ClusterSupervisor` checks each server of an
:class:`~runtime.postgres.EmbeddedCluster` every ``interval_s``. A server whose
postmaster is gone (crashed, killed) is started again on the same data directory and
port, in a worker thread, with backoff between failed attempts (``min_backoff_s``
doubling to ``max_backoff_s``). Meanwhile its state is ``restarting``, which readiness
reports (``GET /health/ready``): a primary that is not ``up`` makes the runtime not ready;
a replica that is not ``up`` makes it degraded (reads fail over to the primary).

If a server cannot be started ``max_attempts`` times in a row, its state becomes
``failed`` and :attr:`ClusterSupervisor.failed` is set: ``leaderboard up`` then stops
and exits non-zero, so whatever supervises the process (systemd, a container runtime)
takes over, instead of the process serving errors for ever.

A stopped (SIGSTOP) server is not restarted: its process is there, and reads stuck on a
frozen replica are failed over by :mod:`rest.reads`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from runtime.postgres import EmbeddedCluster, PostgresServer

log = logging.getLogger("leaderboard.runtime.postgres")

UP: Final = "up"
RESTARTING: Final = "restarting"
FAILED: Final = "failed"


def postmaster_alive(server: PostgresServer) -> bool:
    """Whether the server's postmaster process is there (see ``PostgresServer.is_running``)."""
    return server.is_running


@dataclass
class ServerHealth:
    """One server's state as the supervisor sees it."""

    state: str = UP
    restarts: int = 0
    """Successful restarts since the supervisor started."""
    attempts: int = 0
    """Failed start attempts in a row (reset by a success)."""
    last_error: str | None = None


@dataclass
class ClusterSupervisor:
    """Restarts the cluster's servers when they die (see the module docstring)."""

    cluster: EmbeddedCluster
    interval_s: float = 0.5
    min_backoff_s: float = 0.5
    max_backoff_s: float = 4.0
    max_attempts: int = 15
    """With the backoff, about 50 s of failed starts before giving up."""
    alive: Callable[[PostgresServer], bool] = postmaster_alive
    servers: dict[str, ServerHealth] = field(default_factory=dict)
    failed: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.servers["primary"] = ServerHealth()
        if self.cluster.replica is not None:
            self.servers["replica"] = ServerHealth()

    def _server(self, name: str) -> PostgresServer:
        if name == "primary":
            return self.cluster.primary
        assert self.cluster.replica is not None
        return self.cluster.replica

    def state(self, name: str) -> str:
        """``up``, ``restarting`` or ``failed`` (``none`` for a server the cluster lacks)."""
        health = self.servers.get(name)
        return health.state if health is not None else "none"

    def report(self) -> dict[str, dict[str, object]]:
        return {
            name: {"state": h.state, "restarts": h.restarts, "last_error": h.last_error}
            for name, h in self.servers.items()
        }

    async def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="postgres-supervisor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _watch(self) -> None:
        while True:
            for name in list(self.servers):
                if self.servers[name].state == UP and not self.alive(self._server(name)):
                    await self._restart(name)
            await asyncio.sleep(self.interval_s)

    async def _restart(self, name: str) -> None:
        health, server = self.servers[name], self._server(name)
        health.state = RESTARTING
        log.error("PostgreSQL %s (port %d) is down: restarting it", name, server.port)
        delay = self.min_backoff_s
        while True:
            try:
                await asyncio.to_thread(server.start)
            except Exception as exc:
                health.attempts += 1
                health.last_error = (
                    str(exc).strip().splitlines()[-1][:300] if str(exc) else repr(exc)
                )
                if health.attempts >= self.max_attempts:
                    health.state = FAILED
                    log.critical(
                        "PostgreSQL %s could not be restarted (%d attempts, last: %s): giving up",
                        name, health.attempts, health.last_error,
                    )  # fmt: skip
                    self.failed.set()
                    return
                log.warning(
                    "restarting PostgreSQL %s failed (attempt %d): %s; again in %.1f s",
                    name, health.attempts, health.last_error, delay,
                )  # fmt: skip
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff_s)
                continue
            health.state, health.attempts = UP, 0
            health.restarts += 1
            log.warning("PostgreSQL %s is back (restart %d)", name, health.restarts)
            return


__all__ = ["FAILED", "RESTARTING", "UP", "ClusterSupervisor", "ServerHealth", "postmaster_alive"]
