"""The async client: one WebSocket, request/reply by ``request_id``, live views with resync.

Reconnects with exponential backoff when the connection drops; after a reconnect every
view is resubscribed and its next state comes from the new snapshot (rule 5 in
``client.tracking``). ``submit`` always carries a submission id (generated if not given)
and retries on a dropped connection, so a retry never counts twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from client.tracking import Outcome, ViewState, ViewTracker

log = logging.getLogger("leaderboard.client")


class ServerError(Exception):
    """An ``error`` frame: ``code`` is stable, ``status`` mirrors HTTP, ``message`` explains."""

    def __init__(self, code: str, status: int, message: str, details: Any = None) -> None:
        super().__init__(f"{code} ({status}): {message}")
        self.code, self.status, self.message, self.details = code, status, message, details


class BadRequestError(ServerError): ...


class UnauthorizedError(ServerError): ...


class ForbiddenError(ServerError): ...


class NotFoundError(ServerError): ...


class ConflictError(ServerError): ...


class UnavailableError(ServerError): ...


_BY_STATUS: dict[int, type[ServerError]] = {
    400: BadRequestError, 413: BadRequestError, 401: UnauthorizedError, 403: ForbiddenError,
    404: NotFoundError, 409: ConflictError, 503: UnavailableError,
}  # fmt: skip


def error_from(frame: dict[str, Any]) -> ServerError:
    err = frame.get("error") or {}
    status = int(err.get("status", 500))
    kind = _BY_STATUS.get(status, ServerError)
    return kind(str(err.get("code", "internal")), status, str(err.get("message", "")),
                err.get("details"))  # fmt: skip


@dataclass
class _View:
    request: dict[str, Any]
    tracker: ViewTracker | None
    queue: asyncio.Queue[ViewState]


class LeaderboardClient:
    """A connection to the service. Use ``async with LeaderboardClient.connect(url, token)``."""

    def __init__(self, url: str, token: str, *, max_backoff_s: float = 5.0) -> None:
        sep = "&" if "?" in url else "?"
        self.url = f"{url}{sep}token={token}"
        self.max_backoff_s = max_backoff_s
        self._ws: ClientConnection | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._views: dict[str, _View] = {}
        self._ids = itertools.count(1)
        self._reader: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._closed = False
        self.reconnects = 0

    @classmethod
    def connect(cls, url: str, token: str, **kwargs: Any) -> LeaderboardClient:
        return cls(url, token, **kwargs)

    async def __aenter__(self) -> LeaderboardClient:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:
        self._ws = await websockets.connect(self.url, max_size=2**20)
        self._connected.set()
        self._reader = asyncio.create_task(self._read_forever())

    async def close(self) -> None:
        self._closed = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._ws is not None:
            await self._ws.close()

    # --- requests ---------------------------------------------------------------

    async def request(self, message: dict[str, Any], *, timeout: float = 10.0) -> dict[str, Any]:
        """Send one message and wait for its reply frame; error frames raise ServerError."""
        rid = f"r{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = future
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
            assert self._ws is not None
            await self._ws.send(json.dumps({**message, "request_id": rid}))
            reply = await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(rid, None)
        if reply.get("type") == "error":
            raise error_from(reply)
        return reply

    async def submit(
        self,
        board: str,
        score: int,
        *,
        player: str | None = None,
        metadata: dict[str, Any] | None = None,
        submission_id: str | None = None,
        retries: int = 3,
    ) -> dict[str, Any]:
        """Submit one score; acked after commit. Retries reuse the submission id."""
        message: dict[str, Any] = {"action": "submit", "board": board, "score": score,
                                   "submission_id": submission_id or uuid.uuid4().hex}  # fmt: skip
        if player is not None:
            message["player"] = player
        if metadata is not None:
            message["metadata"] = metadata
        return await self._with_retry(message, retries)

    async def submit_batch(
        self,
        board: str,
        scores: Sequence[tuple[str, int]],
        *,
        submission_id: str | None = None,
        retries: int = 3,
    ) -> dict[str, Any]:
        """Submit a batch (server role): all or nothing, acked after commit."""
        message = {"action": "submit", "board": board,
                   "scores": [{"player": p, "score": s} for p, s in scores],
                   "submission_id": submission_id or uuid.uuid4().hex}  # fmt: skip
        return await self._with_retry(message, retries)

    async def _with_retry(self, message: dict[str, Any], retries: int) -> dict[str, Any]:
        for attempt in range(retries + 1):
            try:
                return await self.request(message)
            except (ConnectionClosed, TimeoutError):
                if attempt == retries:
                    raise
                await asyncio.sleep(min(self.max_backoff_s, 0.1 * 2**attempt))
        raise AssertionError("unreachable")

    # --- views --------------------------------------------------------------------

    async def subscribe(
        self,
        board: str,
        *,
        view: str = "top",
        n: int = 10,
        player: str | None = None,
        k: int = 5,
        season: str | None = None,
    ) -> AsyncIterator[ViewState]:
        """Follow a view: yields its state after the snapshot and after every change."""
        message: dict[str, Any] = {"action": "subscribe", "board": board, "view": view}
        if view == "top":
            message["n"] = n
        if view == "around":
            message["k"] = k
        if player is not None:
            message["player"] = player
        if season is not None:
            message["season"] = season
        snapshot = await self.request(message)
        view_id = snapshot["view_id"]
        entry = _View(message, ViewTracker(view_id), asyncio.Queue())
        self._views[view_id] = entry
        self._apply(entry, snapshot)
        return self._stream(view_id)

    async def _stream(self, view_id: str) -> AsyncIterator[ViewState]:
        entry = self._views[view_id]
        try:
            while True:
                yield await entry.queue.get()
        finally:
            self._views.pop(view_id, None)

    def _apply(self, entry: _View, frame: dict[str, Any]) -> None:
        assert entry.tracker is not None
        outcome = entry.tracker.apply(frame)
        if outcome is Outcome.APPLIED and entry.tracker.state is not None:
            entry.queue.put_nowait(entry.tracker.state)
        elif outcome is Outcome.GAP:
            asyncio.get_running_loop().create_task(self._resync(entry))

    async def _resync(self, entry: _View) -> None:
        """Resubscribe a view; its fresh snapshot replaces whatever was missed."""
        with contextlib.suppress(ServerError, ConnectionClosed, TimeoutError):
            snapshot = await self.request(entry.request)
            self._apply(entry, snapshot)

    # --- the socket ---------------------------------------------------------------

    async def _read_forever(self) -> None:
        backoff = 0.1
        while not self._closed:
            try:
                assert self._ws is not None
                async for raw in self._ws:
                    self._dispatch(json.loads(raw))
                    backoff = 0.1
            except ConnectionClosed:
                pass
            if self._closed:
                return
            self._connected.clear()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionClosed(None, None))
            while not self._closed:
                await asyncio.sleep(backoff * (0.5 + random.random()))
                backoff = min(self.max_backoff_s, backoff * 2)
                try:
                    self._ws = await websockets.connect(self.url, max_size=2**20)
                    break
                except (OSError, websockets.InvalidHandshake, TimeoutError) as exc:
                    log.info("reconnect failed: %s", exc)
            self.reconnects += 1
            self._connected.set()
            for entry in list(self._views.values()):
                asyncio.get_running_loop().create_task(self._resync(entry))

    def _dispatch(self, frame: dict[str, Any]) -> None:
        rid = frame.get("request_id")
        if rid and rid in self._pending:
            if not self._pending[rid].done():
                self._pending[rid].set_result(frame)
            return
        if frame.get("type") in ("update", "snapshot"):
            entry = self._views.get(frame.get("view_id", ""))
            if entry is not None:
                self._apply(entry, frame)
