"""The in-process adapter of the send-to-connection port, for the local runtime.

:class:`InProcessSender` is the registry of live WebSocket connections (connection id ->
:class:`LiveConnection`: the aiohttp ``WebSocketResponse`` and what the Management API
reports about it) and the :class:`~connect.sender.Sender` the routes reply through. It
writes frames directly to the socket; an unknown, closing or closed connection raises
:class:`~core.errors.ConnectionGone`, as a 410 from ``@connections`` does on AWS.

Concurrency: all methods run on the server's event loop. ``send_many`` writes to every
connection at once (``gather``), never one client after another, and collects the
connections found gone; any other failure is re-raised after every send finished.
Frames to one connection are written in call order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web

from core.errors import ConnectionGone
from core.ids import ConnectionId

log = logging.getLogger("leaderboard.runtime")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(eq=False)
class LiveConnection:
    """One open WebSocket and its metadata (the Management API's GetConnection answer)."""

    connection_id: ConnectionId
    ws: web.WebSocketResponse
    source_ip: str
    user_agent: str
    connected_at: datetime = field(default_factory=_now)
    last_active_at: datetime = field(default_factory=_now)
    """The last frame either way: a client message or a frame written to the client."""
    close_code: int | None = None
    """The code this side closed with (None while open or when the client closed)."""
    close_reason: str = ""
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the connection's ``$disconnect`` route has run."""

    def touch(self) -> None:
        self.last_active_at = _now()

    @property
    def is_open(self) -> bool:
        return not self.ws.closed and self.close_code is None


class InProcessSender:
    """Live connections by id, and the Sender port over them."""

    def __init__(self) -> None:
        self._live: dict[ConnectionId, LiveConnection] = {}

    # --- registry -----------------------------------------------------------------

    def register(self, conn: LiveConnection) -> None:
        self._live[conn.connection_id] = conn

    def unregister(self, connection_id: ConnectionId) -> LiveConnection | None:
        return self._live.pop(connection_id, None)

    def get(self, connection_id: str) -> LiveConnection:
        """The open connection ``connection_id``; ConnectionGone if unknown or closing."""
        conn = self._live.get(ConnectionId(connection_id))
        if conn is None or not conn.is_open:
            raise ConnectionGone(f"connection {connection_id!r} is gone", code="gone")
        return conn

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, connection_id: object) -> bool:
        return connection_id in self._live

    def __iter__(self) -> Iterator[LiveConnection]:
        return iter(list(self._live.values()))

    # --- the Sender port ------------------------------------------------------------

    async def send(self, connection_id: ConnectionId, data: str) -> None:
        """Write one text frame; ConnectionGone if the connection is unknown or closed."""
        await self.post(connection_id, data)

    async def post(self, connection_id: str, data: str | bytes) -> None:
        """Write one frame: text for ``str``, binary for ``bytes``."""
        conn = self.get(connection_id)
        try:
            if isinstance(data, str):
                await conn.ws.send_str(data)
            else:
                await conn.ws.send_bytes(data)
        except (ConnectionError, RuntimeError) as exc:
            raise ConnectionGone(f"connection {connection_id!r} is gone: {exc}") from exc
        conn.touch()

    async def send_many(self, frames: Sequence[tuple[ConnectionId, str]]) -> list[ConnectionId]:
        """Write every frame concurrently; the connections found gone, in input order."""
        results = await asyncio.gather(
            *(self.send(cid, data) for cid, data in frames), return_exceptions=True
        )
        gone: list[ConnectionId] = []
        failure: BaseException | None = None
        for (cid, _), result in zip(frames, results, strict=True):
            if isinstance(result, ConnectionGone):
                gone.append(cid)
            elif isinstance(result, BaseException) and failure is None:
                failure = result
        if failure is not None:
            raise failure
        return gone

    async def close(
        self, connection_id: str, *, code: int = 1000, reason: str = ""
    ) -> LiveConnection:
        """Close a connection with ``code``; ConnectionGone if it is unknown or closing.

        Returns at once after the close handshake; the connection's ``$disconnect``
        runs afterwards (await ``conn.finished`` to wait for it).
        """
        conn = self.get(connection_id)
        conn.close_code, conn.close_reason = code, reason
        await conn.ws.close(code=code, message=reason.encode())
        return conn
