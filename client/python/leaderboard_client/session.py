"""The async client: one WebSocket, request/reply by ``request_id``, live views with resync.

Concurrency and ordering:

- One reader task owns the socket's incoming side. It dispatches every frame in
  arrival order and never awaits a consumer: replies resolve their request's future,
  view frames go through the view's :class:`~client.tracking.ViewTracker` and the
  resulting states are queued to each :class:`Subscription` (bounded; when a consumer
  lags, the oldest states are dropped, which is safe because every state is complete).
- A subscribe's snapshot is applied in the reader, before any later frame of its view,
  so no update can slip between a snapshot and the stream that continues it.
- When the connection drops, every pending request fails with :class:`ConnectionLost`
  and the reader redials with jittered exponential backoff (``min_backoff_s`` doubling
  to ``max_backoff_s``). After the redial every view is resubscribed; its fresh snapshot
  is the next state, marked ``resynced`` (rule 5 of ``client.tracking``). A refused
  redial with 401/403 is final: the error ends every subscription and request.
- ``submit`` always carries a submission id (generated if not given) and retries the
  very same message on :class:`ConnectionLost`, :class:`RequestTimeout` and retryable
  server errors (5xx, 429), across reconnects, with jittered backoff (at least the
  error's ``retry_after_ms``), until its time budget (``submit_budget_s``, 120 s by
  default) is spent, so a retry never counts twice and an outage shorter than the budget
  loses nothing. Replies and error frames are matched to their request by
  ``request_id``, so concurrent requests on one connection each get their own answer.
- With an ``outbox`` (a SQLite file, :mod:`leaderboard_client.outbox`) each submit is on
  disk before it is first sent and removed once acked or refused for good; on open, the
  messages a previous process left there are sent again with their original ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
from collections import deque
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from leaderboard_client.errors import (
    ConnectionLost,
    ForbiddenError,
    LeaderboardError,
    RequestTimeout,
    ServerError,
    UnauthorizedError,
    error_from_frame,
    error_from_gateway,
    error_from_handshake,
    is_gateway_error,
)
from leaderboard_client.outbox import Outbox
from leaderboard_client.submissions import (
    Ack,
    batch_messages,
    merge_acks,
    new_submission_id,
    submit_message,
)
from leaderboard_client.tracking import Outcome, ViewState, ViewTracker

log = logging.getLogger("leaderboard.client")

MAX_MESSAGE_BYTES = 2**20
SUBMIT_BUDGET_S = 120.0
"""How long a submit keeps retrying by default: longer than an Aurora failover."""


class Subscription:
    """One consumer of a live view: ``async for state in sub`` yields :class:`ViewState`.

    The first state is the snapshot; then one state per applied update, and a
    ``resynced`` state after every resync or reconnect. Iteration ends when the
    subscription or the client is closed, and raises the error that ended the view
    (e.g. :class:`~client.errors.UnauthorizedError` when a redial is refused).
    """

    def __init__(self, client: LeaderboardClient, view: _View, *, max_pending: int) -> None:
        self._client, self._view = client, view
        self._states: deque[ViewState] = deque()
        self._max_pending = max_pending
        self._wake = asyncio.Event()
        self._error: BaseException | None = None
        self._ended = False

    @property
    def view_id(self) -> str:
        return self._view.view_id

    @property
    def state(self) -> ViewState | None:
        """The newest state of the view (whether or not it was consumed yet)."""
        return self._view.tracker.state

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> ViewState:
        while not self._states:
            if self._error is not None:
                raise self._error
            if self._ended:
                raise StopAsyncIteration
            self._wake.clear()
            await self._wake.wait()
        return self._states.popleft()

    async def aclose(self) -> None:
        """Stop following the view (unsubscribes when no other consumer follows it);
        states not consumed yet are discarded and iteration ends."""
        if not self._ended:
            self._end()
            self._states.clear()
            await self._client._release(self._view, self)

    def _push(self, state: ViewState) -> None:
        if len(self._states) >= self._max_pending:
            dropped = self._states.popleft()
            if dropped.resynced and self._states:
                self._states[0] = replace(self._states[0], resynced=True)
            elif dropped.resynced:
                state = replace(state, resynced=True)
        self._states.append(state)
        self._wake.set()

    def _fail(self, exc: BaseException) -> None:
        self._error = exc
        self._wake.set()

    def _end(self) -> None:
        self._ended = True
        self._wake.set()


@dataclass(eq=False)
class _View:
    """A view subscribed on the server, shared by every consumer of it on this client."""

    view_id: str
    request: dict[str, Any]
    tracker: ViewTracker
    consumers: set[Subscription] = field(default_factory=set)
    resync: asyncio.Task[None] | None = None


@dataclass(eq=False)
class _Pending:
    future: asyncio.Future[dict[str, Any]]
    on_reply: Callable[[dict[str, Any]], None] | None = None


class LeaderboardClient:
    """A connection to the service.

    ``async with LeaderboardClient.connect(url, token) as lb:`` (or ``lb = await
    LeaderboardClient.connect(url, token)`` and later ``await lb.close()``). ``url`` is
    the WebSocket URL (``ws://127.0.0.1:8080/local``, ``wss://{api}.execute-api...``);
    the token travels as the ``token`` query parameter, the API's identity source.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        request_timeout_s: float = 10.0,
        open_timeout_s: float = 10.0,
        min_backoff_s: float = 0.1,
        max_backoff_s: float = 5.0,
        max_pending_states: int = 1024,
        submit_budget_s: float = SUBMIT_BUDGET_S,
        outbox: str | Path | Outbox | None = None,
    ) -> None:
        self.url = url
        sep = "&" if "?" in url else "?"
        self._dial_url = f"{url}{sep}token={quote(token, safe='')}"
        self.request_timeout_s = request_timeout_s
        self.open_timeout_s = open_timeout_s
        self.min_backoff_s, self.max_backoff_s = min_backoff_s, max_backoff_s
        self.max_pending_states = max_pending_states
        self.submit_budget_s = submit_budget_s
        self.outbox = Outbox(outbox) if isinstance(outbox, str | Path) else outbox
        self._replay: asyncio.Task[list[Ack]] | None = None
        self.reconnects = 0
        self._ws: ClientConnection | None = None
        self._ready = asyncio.Event()  # set while connected, and once failed or closed
        self._pending: dict[str, _Pending] = {}
        self._views: dict[str, _View] = {}
        self._ids = itertools.count(1)
        self._reader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        self._failure: ServerError | None = None

    @classmethod
    def connect(cls, url: str, token: str, **options: Any) -> LeaderboardClient:
        """A client to use as ``async with`` (or to ``await``); it connects on entry."""
        return cls(url, token, **options)

    def __await__(self) -> Generator[Any, None, LeaderboardClient]:
        return self.__aenter__().__await__()

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

    @property
    def connected(self) -> bool:
        return self._ws is not None and self._ready.is_set() and self._failure is None

    # --- lifecycle --------------------------------------------------------------

    async def open(self) -> None:
        """Connect; a refused upgrade raises its :class:`ServerError` (401, 403, ...)."""
        if self._reader is not None:
            raise RuntimeError("the client is already open")
        self._ws = await self._dial()
        self._ready.set()
        self._reader = asyncio.create_task(self._read_forever(), name="leaderboard-client")
        if self.outbox is not None:
            self._replay = self._spawn(self._replay_outbox())

    async def close(self) -> None:
        """Close the socket; pending requests fail with ConnectionLost, iterations end."""
        self._closing = True
        tasks = [t for t in (self._reader, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        self._fail_pending(ConnectionLost("the client was closed"))
        for view in self._views.values():
            for sub in view.consumers:
                sub._end()
        self._views.clear()
        self._ready.set()
        if self.outbox is not None:
            self.outbox.close()

    async def _dial(self) -> ClientConnection:
        try:
            return await websockets.connect(
                self._dial_url, max_size=MAX_MESSAGE_BYTES, open_timeout=self.open_timeout_s,
                proxy=None, user_agent_header="leaderboard-client",
            )  # fmt: skip
        except InvalidStatus as exc:
            body = exc.response.body.decode(errors="replace") if exc.response.body else ""
            with contextlib.suppress(ValueError, AttributeError):
                body = str(json.loads(body).get("message", body))
            raise error_from_handshake(exc.response.status_code, body) from None

    # --- requests ---------------------------------------------------------------

    async def request(
        self, message: Mapping[str, Any], *, timeout: float | None = None
    ) -> dict[str, Any]:
        """Send one message and wait for its reply frame; error frames raise ServerError."""
        return await self._request(message, timeout=timeout)

    async def _request(
        self,
        message: Mapping[str, Any],
        *,
        timeout: float | None = None,
        on_reply: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        if self._reader is None and not self._closing:
            raise RuntimeError("the client is not open: use `async with` or `await` it")
        rid = f"r{next(self._ids)}"
        pending = _Pending(asyncio.get_running_loop().create_future(), on_reply)
        try:
            async with asyncio.timeout(timeout or self.request_timeout_s):
                await self._ready.wait()
                self._check_usable()
                assert self._ws is not None
                self._pending[rid] = pending
                try:
                    await self._ws.send(json.dumps({**message, "request_id": rid}))
                except ConnectionClosed:
                    raise ConnectionLost("the connection dropped while sending") from None
                reply = await pending.future
        except TimeoutError:
            waited = timeout or self.request_timeout_s
            raise RequestTimeout(f"no reply to {message.get('action')!r} in {waited}s") from None
        finally:
            self._pending.pop(rid, None)
        if reply.get("type") == "error":
            raise error_from_frame(reply)
        return reply

    def _check_usable(self) -> None:
        if self._failure is not None:
            raise self._failure
        if self._closing:
            raise ConnectionLost("the client is closed")

    async def submit(
        self,
        board: str,
        score: int,
        *,
        player: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        submission_id: str | None = None,
        retries: int | None = None,
        budget_s: float | None = None,
    ) -> Ack:
        """Submit one score (for the token's player, or ``player`` with the server role).

        Acked after commit. Retries resend the same submission id, so the service applies
        the score once; the ack of a retry that hit an applied submission has
        ``replayed=True``. Retries go on for ``budget_s`` (default: the client's
        ``submit_budget_s``), or at most ``retries`` times when given; then the last error
        is raised (the submit stays in the outbox, if there is one).
        """
        message = submit_message(
            board, score, submission_id=submission_id or new_submission_id(), player=player,
            metadata=metadata,
        )  # fmt: skip
        return await self._submit(message, retries, budget_s)

    async def submit_batch(
        self,
        board: str,
        scores: Sequence[tuple[str, int]],
        *,
        submission_id: str | None = None,
        retries: int | None = None,
        budget_s: float | None = None,
    ) -> Ack:
        """Submit ``(player, score)`` pairs (server role), acked after commit: all or nothing
        when it fits one frame (32 KB) and 1,000 scores, else in parts that do, each all or
        nothing under its own id derived from ``submission_id`` (see ``submissions``)."""
        sid = submission_id or new_submission_id()
        parts = batch_messages(board, scores, submission_id=sid)
        acks = [await self._submit(message, retries, budget_s) for message in parts]
        return merge_acks(acks, submission_id=sid)

    async def _submit(
        self, message: dict[str, Any], retries: int | None, budget_s: float | None
    ) -> Ack:
        if self.outbox is not None:
            await self.outbox.put(message)
        try:
            ack = Ack.of(await self._with_retry(message, retries, budget_s))
        except ServerError as exc:
            if self.outbox is not None and not exc.retryable:
                await self.outbox.done(message["submission_id"])  # it would never succeed
            raise
        if self.outbox is not None:
            await self.outbox.done(message["submission_id"])
        return ack

    async def _with_retry(
        self, message: dict[str, Any], retries: int | None, budget_s: float | None
    ) -> dict[str, Any]:
        """The reply to ``message``, sent again on every retryable failure until the budget
        (or ``retries``) is spent."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.submit_budget_s if budget_s is None else budget_s)
        attempt = 0
        while True:
            left = deadline - loop.time()
            try:
                return await self._request(
                    message, timeout=max(0.01, min(self.request_timeout_s, left))
                )
            except (ConnectionLost, RequestTimeout, ServerError) as exc:
                retryable = not isinstance(exc, ServerError) or exc.retryable
                if not retryable or self._closing or self._failure:
                    raise
                delay = self._backoff(attempt)
                if isinstance(exc, ServerError) and exc.retry_after_ms:
                    delay = max(delay, exc.retry_after_ms / 1000 * (1 + random.random() / 4))
                attempt += 1
                if (retries is not None and attempt > retries) or loop.time() + delay >= deadline:
                    raise
                log.info("%s %s: retrying in %.2f s after %r", message.get("action"),
                         message.get("submission_id", ""), delay, exc)  # fmt: skip
                await asyncio.sleep(delay)

    def _backoff(self, attempt: int) -> float:
        base = min(self.max_backoff_s, self.min_backoff_s * 2.0**attempt)
        return base * (0.5 + random.random() / 2)

    async def _replay_outbox(self) -> list[Ack]:
        """Send again what a previous process left in the outbox, with the original ids."""
        assert self.outbox is not None
        acks: list[Ack] = []
        for message in await self.outbox.pending():
            try:
                acks.append(await self._submit(message, None, None))
            except LeaderboardError as exc:
                log.warning("outbox submit %s not acked: %r", message.get("submission_id"), exc)
        return acks

    async def flush_outbox(self) -> list[Ack]:
        """Wait for the replay of the outbox that :meth:`open` started (the acks of the
        submits a previous process left unacked), then send again anything still pending
        (submits that ran out of their budget); their acks, oldest first."""
        if self.outbox is None:
            return []
        acks = await self._replay if self._replay is not None else []
        self._replay = None
        return [*acks, *await self._replay_outbox()]

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
    ) -> Subscription:
        """Follow a view: ``top`` (``n`` rows), ``around`` (``player`` ± ``k``) or ``me``.

        Returns once the snapshot arrived; iterate the subscription for its states.
        """
        message: dict[str, Any] = {"action": "subscribe", "board": board, "view": view}
        if view == "top":
            message["n"] = n
        if view == "around":
            message["k"] = k
        if player is not None:
            message["player"] = player
        if season is not None:
            message["season"] = season
        adopted: list[Subscription] = []

        def adopt(snapshot: dict[str, Any]) -> None:
            entry = self._views.get(snapshot["view_id"])
            if entry is None:
                entry = _View(snapshot["view_id"], message, ViewTracker(snapshot["view_id"]))
                self._views[entry.view_id] = entry
            sub = Subscription(self, entry, max_pending=self.max_pending_states)
            entry.consumers.add(sub)
            adopted.append(sub)
            shown = entry.tracker.seq
            applied = entry.tracker.apply(snapshot) is Outcome.APPLIED
            state = entry.tracker.state
            if applied and state is not None and state.seq > shown:
                self._publish(entry, state)  # news for every consumer of the view
            elif state is not None:
                sub._push(state)  # the view's current state, for the new consumer only

        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.request_timeout_s
        attempt = 0
        while True:
            try:
                await self._request(message, on_reply=adopt)
                return adopted[0]
            except ServerError as exc:  # overloaded, rate limited, the database down
                delay = max(self._backoff(attempt), (exc.retry_after_ms or 0) / 1000)
                if not exc.retryable or self._failure or loop.time() + delay >= deadline:
                    raise
                attempt += 1
                await asyncio.sleep(delay)

    async def _release(self, view: _View, sub: Subscription) -> None:
        view.consumers.discard(sub)
        if view.consumers or self._views.get(view.view_id) is not view:
            return
        del self._views[view.view_id]
        if view.resync is not None:
            view.resync.cancel()
        with contextlib.suppress(LeaderboardError):
            await self._request({"action": "unsubscribe", "view_id": view.view_id})

    def _publish(self, view: _View, state: ViewState) -> None:
        for sub in view.consumers:
            sub._push(state)

    def _apply(self, view: _View, frame: dict[str, Any]) -> None:
        outcome = view.tracker.apply(frame)
        if outcome is Outcome.APPLIED and view.tracker.state is not None:
            self._publish(view, view.tracker.state)
        elif outcome is Outcome.GAP:
            self._resync(view)

    def _resync(self, view: _View, *, restart: bool = False) -> None:
        """Resubscribe a view (once at a time); its fresh snapshot replaces what was missed.

        ``restart`` (after a redial) replaces a resync still running on the old socket.
        """
        if view.resync is not None and not view.resync.done():
            if not restart:
                return
            view.resync.cancel()
        view.resync = self._spawn(self._resubscribe(view))

    async def _resubscribe(self, view: _View) -> None:
        attempt = 0
        while not self._closing and self._views.get(view.view_id) is view:
            try:
                await self._request(view.request, on_reply=lambda f: self._apply(view, f))
                return
            except ConnectionLost:
                return  # the redial resubscribes every view
            except ServerError as exc:
                if exc.retryable and self._failure is None:
                    await asyncio.sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                for sub in view.consumers:
                    sub._fail(exc)
                return
            except RequestTimeout:
                await asyncio.sleep(self._backoff(attempt))
                attempt += 1

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- the socket ---------------------------------------------------------------

    async def _read_forever(self) -> None:
        while True:
            ws = self._ws
            assert ws is not None
            with contextlib.suppress(ConnectionClosed):
                async for raw in ws:
                    self._dispatch(raw)
            if self._closing:
                return
            log.info("connection lost (%s); reconnecting", ws.close_code)
            self._ready.clear()
            self._fail_pending(ConnectionLost(f"the connection dropped ({ws.close_code})"))
            for view in self._views.values():
                view.tracker.lost_connection()
            try:
                self._ws = await self._redial()
            except (UnauthorizedError, ForbiddenError) as exc:
                self._fail(exc)
                return
            self.reconnects += 1
            self._ready.set()
            for view in list(self._views.values()):
                self._resync(view, restart=True)

    async def _redial(self) -> ClientConnection:
        attempt = 0
        while True:
            await asyncio.sleep(self._backoff(attempt))
            attempt += 1
            try:
                return await self._dial()
            except (UnauthorizedError, ForbiddenError):
                raise
            except (OSError, TimeoutError, ServerError, websockets.InvalidHandshake) as exc:
                log.info("reconnect attempt %d failed: %r", attempt, exc)

    def _fail(self, exc: ServerError) -> None:
        """The connection cannot come back (the token was refused): end everything."""
        log.warning("giving up reconnecting: %s", exc)
        self._failure = exc
        self._fail_pending(exc)
        for view in self._views.values():
            for sub in view.consumers:
                sub._fail(exc)
        self._ready.set()

    def _fail_pending(self, exc: LeaderboardError) -> None:
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(exc)

    def _dispatch(self, raw: str | bytes) -> None:
        try:
            frame = json.loads(raw)
        except ValueError:
            log.warning("ignoring a frame that is not JSON: %.80r", raw)
            return
        if not isinstance(frame, dict):
            return
        pending = self._pending.get(str(frame.get("request_id")))
        if pending is not None:
            if not pending.future.done():
                if pending.on_reply is not None and frame.get("type") != "error":
                    pending.on_reply(frame)
                pending.future.set_result(frame)
            return
        kind = frame.get("type")
        if kind in ("update", "snapshot"):
            view = self._views.get(str(frame.get("view_id")))
            if view is not None:
                self._apply(view, frame)
        elif is_gateway_error(frame):
            # API Gateway's answer to a crashed route carries no request_id: it can only be
            # attributed when one request is waiting; otherwise the requests time out.
            waiting = [p for p in self._pending.values() if not p.future.done()]
            if len(waiting) == 1:
                waiting[0].future.set_exception(error_from_gateway(frame))
            else:
                log.warning("unattributed gateway error: %s", frame.get("message"))
        elif kind == "error":
            log.warning("error frame without a request: %s", error_from_frame(frame))


__all__ = ["LeaderboardClient", "Subscription"]
