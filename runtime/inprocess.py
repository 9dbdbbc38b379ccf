"""The in-process adapter of the send-to-connection port, for the local runtime.

:class:`InProcessSender` is the registry of live WebSocket connections (connection id ->
:class:`LiveConnection`: the aiohttp ``WebSocketResponse`` and what the Management API
reports about it) and the :class:`~core.ports.Sender` the routes reply through. It
writes frames directly to the socket; an unknown, closing or closed connection raises
:class:`~core.errors.ConnectionGone`, as a 410 from ``@connections`` does on AWS.

Concurrency: all methods run on the server's event loop. ``send_many`` writes each shared
body's bytes once framed, straight into every socket with room, and waits on no client:
a connection with a backed-up socket gets its frames queued in its outbox, drained by a
task of its own, and is dropped if the outbox overflows or stays stuck. Frames to one
connection are written in call order.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import WSMsgType, web
from websockets.frames import Frame, Opcode

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
    transport: asyncio.Transport | None = None
    """The socket under ``ws`` (set once the upgrade is done)."""
    outbox: deque[bytes] = field(default_factory=deque)
    """Frames waiting for a backed-up socket, in order (see ``InProcessSender.send_many``)."""
    outbox_bytes: int = 0
    drainer: asyncio.Task[None] | None = None

    def touch(self) -> None:
        self.last_active_at = _now()

    @property
    def is_open(self) -> bool:
        return not self.ws.closed and self.close_code is None

    @property
    def has_room(self) -> bool:
        """Whether a write goes straight to the socket buffer, without waiting to drain."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return False
        low, _high = transport.get_write_buffer_limits()
        return bool(transport.get_write_buffer_size() <= low)


class InProcessSender:
    """Live connections by id, and the Sender port over them."""

    def __init__(
        self, *, slow_write_timeout_s: float = 5.0, outbox_limit_bytes: int = 1 << 20
    ) -> None:
        self.slow_write_timeout_s = slow_write_timeout_s
        self.outbox_limit_bytes = outbox_limit_bytes
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
        """Write every frame without waiting on any client; the connections found gone
        (unknown, closed, or dropped for a full outbox), in input order.

        A frame body shared by many connections (a top-10 going to every spectator) is
        framed once (``websockets``' frame serializer: an unmasked text frame, as a
        server sends it; no compression is ever negotiated) and the same bytes are
        written to every socket with room, in one pass, without a task each: one
        ``send()`` per connection is all the work left. A connection whose socket is
        backed up gets its frames queued, in order, in its outbox, which a task of its
        own drains; the caller (a broadcaster round holding its board's lock) never
        waits for it. A client that lets its outbox pass ``outbox_limit_bytes``, or
        leaves it stuck for ``slow_write_timeout_s``, is dropped.
        """
        gone: set[ConnectionId] = set()
        encoded: dict[str, bytes] = {}
        framed: dict[bytes, bytes] = {}
        now = _now()
        for cid, data in frames:
            conn = self._live.get(cid)
            if conn is None or not conn.is_open:
                gone.add(cid)
                continue
            payload = encoded.get(data)
            if payload is None:
                payload = encoded[data] = data.encode()
            transport = conn.transport
            if conn.outbox or transport is None or not conn.has_room:
                if not self._enqueue(conn, payload):
                    gone.add(cid)
                continue
            wire = framed.get(payload)
            if wire is None:
                wire = framed[payload] = Frame(Opcode.TEXT, payload).serialize(
                    mask=False, extensions=[]
                )
            transport.write(wire)  # the whole frame, as aiohttp's writer writes one
            conn.last_active_at = now
        return [cid for cid in dict.fromkeys(cid for cid, _ in frames) if cid in gone]

    def _enqueue(self, conn: LiveConnection, payload: bytes) -> bool:
        """Queue a frame behind the connection's backlog; False if that dropped it."""
        if conn.outbox_bytes + len(payload) > self.outbox_limit_bytes:
            self._drop(conn, "its outbox overflowed")
            return False
        conn.outbox.append(payload)
        conn.outbox_bytes += len(payload)
        if conn.drainer is None or conn.drainer.done():
            conn.drainer = asyncio.create_task(
                self._drain(conn), name=f"outbox:{conn.connection_id}"
            )
        return True

    async def _drain(self, conn: LiveConnection) -> None:
        """Write a backed-up connection's outbox in order, as its socket accepts it."""
        try:
            while conn.outbox and conn.is_open:
                payload = conn.outbox[0]
                async with asyncio.timeout(self.slow_write_timeout_s):
                    await conn.ws.send_frame(payload, WSMsgType.TEXT)
                conn.outbox.popleft()
                conn.outbox_bytes -= len(payload)
                conn.touch()
        except TimeoutError:
            self._drop(conn, "it did not read its frames in time")
        except (ConnectionError, RuntimeError):
            self._drop(conn, "its socket failed")

    def _drop(self, conn: LiveConnection, why: str) -> None:
        """Drop a connection that stopped reading (a close handshake would wait on the same
        full buffer); the gateway then runs its ``$disconnect``."""
        log.warning("dropping %s: %s", conn.connection_id, why)
        conn.outbox.clear()
        conn.outbox_bytes = 0
        conn.close_code, conn.close_reason = 1006, "stopped reading"
        if conn.transport is not None:
            conn.transport.abort()

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
