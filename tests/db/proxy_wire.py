"""A TCP relay in front of PostgreSQL that reads what a client sends, as RDS Proxy does,
and records every message that would pin the client's session.

The conditions are RDS Proxy's documented ones for PostgreSQL: a named prepared statement
(extended protocol ``Parse`` with a name, or ``PREPARE``/``DEALLOCATE``/``DISCARD``),
``SET``/``RESET`` and ``set_config`` at session level, ``LISTEN``, ``LOAD``, temporary
tables, sequences and views, ``DECLARE ... CURSOR``, session-level advisory locks
(``pg_advisory_xact_lock`` and its siblings do not pin), and the sequence functions
``nextval``/``setval``/``currval``/``lastval``. The relay judges the statement text the
client sends, as the proxy does: what a SQL function does inside the server is not seen.

Plain TCP only (the client must not ask for TLS); every byte is passed on unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import struct
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit, urlunsplit

PINNING_TEXT: Final = (
    (re.compile(r"^\s*(SET|RESET)\s+(?!LOCAL\b|TRANSACTION\b|SESSION\s+CHARACTERISTICS)", re.I),
     "SET/RESET of a session parameter"),
    (re.compile(r"\bset_config\s*\([^)]*,\s*(false|'f')\s*\)", re.I), "set_config at session level"),
    (re.compile(r"^\s*(PREPARE|DEALLOCATE|DISCARD|LISTEN|LOAD)\b", re.I),
     "PREPARE/DEALLOCATE/DISCARD/LISTEN/LOAD"),
    (re.compile(r"\bCREATE\s+(TEMP|TEMPORARY)\b", re.I), "a temporary table, sequence or view"),
    (re.compile(r"\bDECLARE\s+\w+.*\bCURSOR\b", re.I | re.S), "a cursor"),
    (re.compile(r"\bpg_(try_)?advisory_(un)?lock(_shared)?\s*\(", re.I),
     "a session-level advisory lock"),
    (re.compile(r"\b(nextval|setval|currval|lastval)\s*\(", re.I), "a sequence function"),
)  # fmt: skip


def pin_reasons(text: str) -> list[str]:
    """Why RDS Proxy would pin a session that sends ``text`` (none: an empty list)."""
    return [reason for pattern, reason in PINNING_TEXT if pattern.search(text)]


@dataclass
class Pin:
    reason: str
    statement: str


@dataclass
class WireAudit:
    """What the relay saw: every statement text, and the pins."""

    statements: list[str] = field(default_factory=list)
    pins: list[Pin] = field(default_factory=list)
    sessions: int = 0

    def see(self, text: str, *, named: str = "") -> None:
        self.statements.append(text)
        if named:
            self.pins.append(Pin(f"named prepared statement {named!r}", text))
        for reason in pin_reasons(text):
            self.pins.append(Pin(reason, text))


def _cstring(data: bytes, start: int) -> tuple[str, int]:
    end = data.index(b"\0", start)
    return data[start:end].decode(), end + 1


class PinningRelay:
    """``async with PinningRelay(dsn) as relay``: ``relay.dsn`` reaches the same database
    through the relay; ``relay.audit`` is what it saw."""

    def __init__(self, dsn: str) -> None:
        self.target = urlsplit(dsn)
        self.audit = WireAudit()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def dsn(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        auth = self.target.netloc.rpartition("@")[0]
        netloc = f"{auth}@127.0.0.1:{port}" if auth else f"127.0.0.1:{port}"
        return urlunsplit(self.target._replace(netloc=netloc, query="sslmode=disable"))

    async def __aenter__(self) -> PinningRelay:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.audit.sessions += 1
        up_r, up_w = await asyncio.open_connection(self.target.hostname, self.target.port or 5432)
        back = asyncio.create_task(self._pipe(up_r, writer))
        try:
            await self._client_to_server(reader, up_w)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            back.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await back
            for w in (up_w, writer):
                w.close()
            self._tasks.discard(task)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    async def _client_to_server(
        self, reader: asyncio.StreamReader, up: asyncio.StreamWriter
    ) -> None:
        (length,) = struct.unpack("!i", await reader.readexactly(4))
        startup = await reader.readexactly(length - 4)
        up.write(struct.pack("!i", length) + startup)
        await up.drain()
        while True:
            kind = await reader.readexactly(1)
            (length,) = struct.unpack("!i", await reader.readexactly(4))
            body = await reader.readexactly(length - 4)
            self._inspect(kind, body)
            up.write(kind + struct.pack("!i", length) + body)
            await up.drain()

    def _inspect(self, kind: bytes, body: bytes) -> None:
        if kind == b"Q":
            text, _ = _cstring(body, 0)
            for statement in text.split(";"):
                if statement.strip():
                    self.audit.see(statement)
        elif kind == b"P":
            name, at = _cstring(body, 0)
            text, _ = _cstring(body, at)
            self.audit.see(text, named=name)
