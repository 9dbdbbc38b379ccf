"""The local front door: API Gateway's WebSocket API, emulated on one aiohttp app.

:class:`Gateway` serves the WebSocket endpoint at ``/``, ``/ws`` and ``/{stage}`` and,
through :class:`~runtime.management.ManagementApi`, ``@connections``; ``GET /health/live``
answers while the process serves, ``GET /health/ready`` (and ``GET /health``) whether it
can take writes (the primary answers), with the reader's state reported as degraded, not
as a failure. :meth:`Gateway.install` adds these routes to an ``aiohttp`` application,
next to whatever else is mounted there (the REST adapter).

Connecting, as API Gateway does it:

1. Without the identity source (a non-empty ``token`` query parameter) -> 401, and the
   authorizer never runs.
2. The REQUEST authorizer event goes to the authorizer (in a worker thread: a JWKS
   fetch blocks). :class:`~core.errors.Unauthorized` -> 401; a policy that does not
   allow ``$connect`` -> 403; any other failure, or an answer that is no policy -> 500.
3. The ``$connect`` route runs with ``requestContext.authorizer`` as AWS fills it; an
   exception -> 500, a non-2xx ``statusCode`` -> that status.
4. Only then is the upgrade completed.

Refusals are plain HTTP answers with API Gateway's ``{"message": ...}`` body.

Messages: each text frame is routed by its ``action`` (``submit``, ``subscribe``,
``unsubscribe``), everything else (not JSON, no or unknown action, binary frames,
which arrive base64-encoded with ``isBase64Encoded``) goes to ``$default``. Messages of
one connection are dispatched one at a time, in arrival order (one of the orders API
Gateway may produce), by a worker of the connection, while its reader goes on reading.
A route that raises gets API Gateway's ``{"message": "Internal server error",
"connectionId", "requestId"}`` frame (the shared routes never raise: they answer typed
error frames); the connection stays open. When the connection ends, for any reason,
the messages it admitted are still dispatched (as API Gateway invokes the routes of the
messages it received), then ``$disconnect`` runs once with
``disconnectStatusCode``/``disconnectReason``.

Admission, as each message is read, before any work (answers carry the message's
``request_id``):

- ``message_rate``/``message_burst``: a connection's token bucket; a message beyond it
  gets ``rate_limited`` (429) with ``retry_after_ms`` until the next token.
- ``max_inflight``: messages admitted by this process and not yet answered; one beyond
  it gets ``overloaded`` (503) with ``retry_after_ms`` at once, instead of queueing
  behind the others, so the admitted ones are acked at close to their unloaded latency.
- ``handshake_concurrency``: upgrades whose authorizer and ``$connect`` (and
  ``$disconnect``) run at once; the others wait their turn, so a wave of connections
  never holds every database connection that submits need.

Limits (from the injected :class:`~core.settings.Settings`):

- ``max_frame_bytes``: a data frame whose declared payload is larger closes the
  connection with 1009 as soon as its header arrives; messages wholly received before
  it are still dispatched. A message may span several frames within the limit.
- ``max_message_bytes``: a message (all its fragments) larger than this closes the
  connection with 1009 (aiohttp's ``max_msg_size``). Exactly the limit is accepted.
- ``idle_timeout_s``: no client data message for that long -> close 1001 "Going away"
  (pings and pongs do not count, nor do frames sent to the client).
- ``max_connection_s``: this long after the upgrade -> close 1001 "Going away".

Compression (permessage-deflate) is not negotiated, as on API Gateway, so frame and
message sizes are the bytes on the wire. aiohttp has no per-frame limit, so
:class:`GatewayWebSocket` puts a header scanner (:class:`~runtime.limits.FrameSizeGuard`)
in front of aiohttp's parser (``protocol._payload_parser``, set in ``_post_start``); on an
aiohttp without that hook it logs a warning and only the message limit applies.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.http_websocket import WebSocketError

from connect.events import WebSocketEvent
from connect.routes import dispatch
from core.errors import ConnectionGone, LeaderboardError, Overloaded, RateLimited
from core.ids import ConnectionId
from core.protocol import ErrorFrame, request_id_of
from core.throttle import FailureLog, TokenBucket
from db.health import ping
from db.services import Services
from runtime.events import (
    ApiStage,
    Handshake,
    authorizer_event,
    connect_event,
    disconnect_event,
    message_event,
    new_connection_id,
    new_id,
    now_ms,
    route_key_for,
)
from runtime.inprocess import InProcessSender, LiveConnection
from runtime.limits import ConnectionClock, FrameSizeGuard, OversizeFrame
from runtime.management import ManagementApi
from runtime.policy import run_authorizer

log = logging.getLogger("leaderboard.runtime")
failures = FailureLog(log)

Authorizer = Callable[[dict[str, Any]], dict[str, Any]]
"""The authorizer Lambda as a function: event -> policy; raises Unauthorized for 401."""
RouteHandler = Callable[[dict[str, Any], Services], Awaitable[dict[str, Any]]]
"""A WebSocket route Lambda as a function: the raw event dict -> the route's response."""

REFUSAL_MESSAGES: Final = {
    401: "Unauthorized",
    403: "Forbidden",
    426: "Upgrade Required",
    500: "Internal server error",
    503: "Service Unavailable",
}
GOING_AWAY: Final = (int(WSCloseCode.GOING_AWAY), "Going away")
HEALTH_TIMEOUT_S: Final = 1.0


async def route_event(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """What each WebSocket route Lambda does (``connect.handler``): parse, then dispatch."""
    return await dispatch(WebSocketEvent.parse(event), services)


def refuse(status: int) -> web.Response:
    """An upgrade refused with ``status``, as API Gateway answers it."""
    return web.json_response({"message": REFUSAL_MESSAGES.get(status, "Error")}, status=status)


class _FrameTap:
    """Stands between aiohttp's protocol and its WebSocket parser to enforce the frame limit.

    On an oversized frame it hands the parser the bytes before that frame, then fails
    the message queue with 1009, exactly as aiohttp fails it for ``max_msg_size``.
    """

    def __init__(
        self, parser: Any, queue: Any, guard: FrameSizeGuard, idle: asyncio.Event | None = None
    ) -> None:
        self.parser, self.queue, self.guard, self.idle = parser, queue, guard, idle

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if self.guard.tripped is not None:
            return True, b""
        found = self.guard.feed(bytes(data))
        if found is None:
            result: tuple[bool, bytes] = self.parser.feed_data(data)
            return result
        if found.offset:
            self.parser.feed_data(bytes(data[: found.offset]))
        self.trip(found)
        return True, b""

    def trip(self, found: OversizeFrame) -> None:
        """Fail the connection with 1009, once the messages read before it were answered
        (``idle``): they were wholly received, so they are still dispatched."""
        error = WebSocketError(WSCloseCode.MESSAGE_TOO_BIG, found.describe())
        if self.idle is None or self.idle.is_set():
            self.queue.set_exception(error)
            return

        async def later(idle: asyncio.Event) -> None:
            await idle.wait()
            self.queue.set_exception(error)

        self.later = asyncio.ensure_future(later(self.idle))

    def feed_eof(self) -> None:
        self.parser.feed_eof()


class GatewayWebSocket(web.WebSocketResponse):
    """aiohttp's WebSocket with API Gateway's frame-size limit on the client's frames."""

    def __init__(self, *, max_frame_bytes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.frame_guard = FrameSizeGuard(max_frame_bytes)
        self.idle = asyncio.Event()
        """Set while no message read from the client waits for its route."""
        self.idle.set()

    def _post_start(self, request: Any, *args: Any, **kwargs: Any) -> None:
        protocol = request.protocol
        tail = bytes(getattr(protocol, "_message_tail", b"") or b"")
        super()._post_start(request, *args, **kwargs)
        parser, queue = getattr(protocol, "_payload_parser", None), self._reader
        if parser is None or queue is None or not hasattr(parser, "feed_data"):
            log.warning("cannot enforce the frame limit on this aiohttp version")
            return
        tap = _FrameTap(parser, queue, self.frame_guard, self.idle)
        if tail and (found := self.frame_guard.feed(tail)) is not None:
            tap.trip(found)
        protocol._payload_parser = tap


class Gateway:
    """API Gateway's WebSocket API in front of the shared route handlers.

    ``services.sender`` should be (or wrap) ``sender``: the routes reply through it.
    """

    def __init__(
        self,
        services: Services,
        *,
        sender: InProcessSender,
        authorizer: Authorizer,
        api: ApiStage,
        handler: RouteHandler = route_event,
        connection_prefix: str = "",
        servers: Callable[[], Mapping[str, str]] | None = None,
    ) -> None:
        self.services = services
        self.settings = services.settings
        self.sender = sender
        self.authorizer = authorizer
        self.api = api
        self.handler = handler
        self.connection_prefix = connection_prefix
        self.servers = servers
        """The supervised database servers' states (``up``, ``restarting``...), if any."""
        self.management = ManagementApi(sender, max_payload_bytes=self.settings.max_message_bytes)
        self._handlers: set[asyncio.Task[Any]] = set()
        self._accepting = True
        self.inflight = 0
        """Messages admitted and not yet answered (see ``max_inflight``)."""
        self.refused = {"overloaded": 0, "rate_limited": 0}
        self._handshakes = asyncio.Semaphore(self.settings.handshake_concurrency)

    # --- wiring -------------------------------------------------------------------

    def install(self, app: web.Application) -> None:
        """Add the health check, ``@connections`` and the WebSocket endpoint to ``app``."""
        app.router.add_get("/health", self.ready)
        app.router.add_get("/health/ready", self.ready)
        app.router.add_get("/health/live", self.live)
        self.management.install(app, stage=self.api.stage)
        for path in ("/", "/ws", f"/{self.api.stage}"):
            app.router.add_get(path, self.websocket)

    # --- the WebSocket endpoint -----------------------------------------------------

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        """One WebSocket connection, from upgrade request to ``$disconnect``."""
        if not self._accepting:
            return refuse(503)
        ws = GatewayWebSocket(
            max_frame_bytes=self.settings.max_frame_bytes,
            max_msg_size=self.settings.max_message_bytes + 1,  # aiohttp refuses >= max
            compress=False,
            autoping=True,
            timeout=5.0,
        )
        if not ws.can_prepare(request).ok:
            return refuse(426)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            return await self._connection(request, ws)
        finally:
            if task is not None:
                self._handlers.discard(task)

    def _handshake(self, request: web.Request) -> Handshake:
        peer = request.remote or "127.0.0.1"
        port = request.url.port or 80
        forwarded = [
            ("X-Amzn-Trace-Id", f"Root=1-{int(time.time()):08x}-{new_id()[:12]}"),
            ("X-Forwarded-For", peer),
            ("X-Forwarded-Port", str(port)),
            ("X-Forwarded-Proto", request.scheme),
        ]
        return Handshake(
            connection_id=new_connection_id(self.connection_prefix),
            domain_name=request.host,
            source_ip=peer,
            user_agent=request.headers.get("User-Agent", ""),
            headers=[*request.headers.items(), *forwarded],
            query=list(request.query.items()),
            connected_at=now_ms(),
        )

    async def _authorize(self, hs: Handshake) -> int | dict[str, Any]:
        """The refusal status, or ``requestContext.authorizer`` for the connection."""
        if hs.token is None:
            return 401
        event = authorizer_event(self.api, hs, at=now_ms())
        return await run_authorizer(
            lambda: asyncio.to_thread(self.authorizer, event), event["methodArn"], what="connect"
        )

    async def _route(self, event: dict[str, Any]) -> dict[str, Any]:
        return await self.handler(event, self.services)

    async def _connection(self, request: web.Request, ws: GatewayWebSocket) -> web.StreamResponse:
        hs = self._handshake(request)
        async with self._handshakes:
            auth = await self._authorize(hs)
            if isinstance(auth, int):
                return refuse(auth)
            try:
                event = connect_event(self.api, hs, authorizer=auth, at=now_ms())
                result = await self._route(event)
            except Exception as exc:
                failures.failed("$connect route (refused with 500)", exc, expected=False)
                return refuse(500)
        status = int(result.get("statusCode", 200)) if isinstance(result, Mapping) else 200
        if not 200 <= status < 300:
            return refuse(status)
        if not self._accepting:  # the gateway began shutting down while $connect ran
            await self._disconnect(hs, auth, *GOING_AWAY)
            return refuse(503)
        opened = datetime.fromtimestamp(hs.connected_at / 1000, UTC)
        live = LiveConnection(
            ConnectionId(hs.connection_id), ws, hs.source_ip, hs.user_agent,
            connected_at=opened, last_active_at=opened,
        )  # fmt: skip
        code, reason = int(WSCloseCode.ABNORMAL_CLOSURE), "Connection lost"
        try:
            await ws.prepare(request)
            live.transport = request.transport
            self.sender.register(live)
            code, reason = await self._serve(ws, live, hs, auth)
        finally:
            self.sender.unregister(live.connection_id)
            if not ws.closed:
                with contextlib.suppress(Exception):
                    await ws.close(code=code, message=reason.encode())
            await self._disconnect(hs, auth, code, reason)
            live.finished.set()
        return ws

    async def _serve(
        self, ws: GatewayWebSocket, live: LiveConnection, hs: Handshake, auth: dict[str, Any]
    ) -> tuple[int, str]:
        """Read and dispatch messages until the connection ends; its close code and reason."""
        loop = asyncio.get_running_loop()
        clock = ConnectionClock(
            loop.time(), self.settings.idle_timeout_s, self.settings.max_connection_s
        )
        bucket = TokenBucket(self.settings.message_rate, self.settings.message_burst)
        queue: asyncio.Queue[tuple[str, bool] | None] = asyncio.Queue()
        worker = asyncio.create_task(self._work(ws, live, hs, auth, queue))
        try:
            return await self._read(ws, live, clock, bucket, queue)
        finally:
            queue.put_nowait(None)  # the worker's stop sign, after every admitted message
            await asyncio.shield(worker)

    async def _work(
        self,
        ws: GatewayWebSocket,
        live: LiveConnection,
        hs: Handshake,
        auth: dict[str, Any],
        queue: asyncio.Queue[tuple[str, bool] | None],
    ) -> None:
        """Dispatch a connection's admitted messages one at a time, in arrival order."""
        while True:
            item = await queue.get()
            if item is None:
                return
            body, is_base64 = item
            try:
                await self._message(live, hs, auth, body, is_base64)
            finally:
                self.inflight -= 1
                if queue.empty():
                    ws.idle.set()

    def _admit(self, bucket: TokenBucket, now: float) -> LeaderboardError | None:
        """The refusal of a message read at ``now``, or None when it is admitted."""
        wait_s = bucket.take(now)
        if wait_s > 0:
            self.refused["rate_limited"] += 1
            return RateLimited(
                f"this connection may send {self.settings.message_rate:g} messages per second "
                f"(bursts of {self.settings.message_burst}): retry after the pause",
                code="rate_limited", retry_after_ms=max(1, int(wait_s * 1000) + 1),
            )  # fmt: skip
        if self.inflight >= self.settings.max_inflight:
            self.refused["overloaded"] += 1
            return Overloaded(
                f"the service holds {self.inflight} messages, its limit: nothing was done",
                code="overloaded",
            )
        self.inflight += 1
        return None

    async def _refuse(self, live: LiveConnection, body: str, error: LeaderboardError) -> None:
        frame = ErrorFrame.of(error, request_id_of(body)).dump()
        with contextlib.suppress(ConnectionGone):
            await self.sender.send(live.connection_id, frame)

    async def _read(
        self,
        ws: GatewayWebSocket,
        live: LiveConnection,
        clock: ConnectionClock,
        bucket: TokenBucket,
        queue: asyncio.Queue[tuple[str, bool] | None],
    ) -> tuple[int, str]:
        loop = asyncio.get_running_loop()
        while True:
            deadline, why = clock.deadline()
            if ws.frame_guard.tripped is not None:
                await ws.idle.wait()  # answer what came before the oversized frame first
            try:
                async with asyncio.timeout_at(deadline):
                    msg = await ws.receive()
            except TimeoutError:
                log.info("closing %s: %s limit reached", live.connection_id, why.value)
                live.close_code, live.close_reason = GOING_AWAY
                await ws.close(code=GOING_AWAY[0], message=GOING_AWAY[1].encode())
                return GOING_AWAY
            if msg.type is WSMsgType.TEXT:
                body, is_base64 = msg.data, False
            elif msg.type is WSMsgType.BINARY:
                body, is_base64 = base64.b64encode(msg.data).decode(), True
            elif msg.type is WSMsgType.CLOSE:
                return int(msg.data), str(msg.extra or "")
            elif msg.type is WSMsgType.ERROR:
                return int(ws.close_code or WSCloseCode.ABNORMAL_CLOSURE), str(msg.data)
            else:  # CLOSING / CLOSED: this side closed it (DELETE, shutdown)
                if live.close_code is not None:
                    return live.close_code, live.close_reason
                return int(ws.close_code or WSCloseCode.ABNORMAL_CLOSURE), "Connection lost"
            clock.touch(loop.time())
            live.touch()
            refusal = self._admit(bucket, loop.time())
            if refusal is not None:
                await self._refuse(live, body if not is_base64 else "", refusal)
                continue
            ws.idle.clear()
            queue.put_nowait((body, is_base64))

    async def _message(
        self, live: LiveConnection, hs: Handshake, auth: dict[str, Any], body: str, is_base64: bool
    ) -> None:
        route_key = "$default" if is_base64 else route_key_for(body)
        event = message_event(
            self.api, hs, authorizer=auth, route_key=route_key, body=body,
            is_base64=is_base64, at=now_ms(),
        )  # fmt: skip
        try:
            await self._route(event)
        except Exception as exc:
            failures.failed(f"route {route_key}", exc, expected=False)
            frame = {
                "message": "Internal server error",
                "connectionId": live.connection_id,
                "requestId": event["requestContext"]["requestId"],
            }
            with contextlib.suppress(ConnectionGone):
                await self.sender.send(live.connection_id, json.dumps(frame))

    async def _disconnect(
        self, hs: Handshake, auth: dict[str, Any], code: int, reason: str
    ) -> None:
        event = disconnect_event(
            self.api, hs, authorizer=auth, status_code=code, reason=reason, at=now_ms()
        )
        try:
            async with self._handshakes:
                await self._route(event)
        except Exception as exc:
            failures.failed("$disconnect route", exc, expected=False)

    # --- lifecycle ----------------------------------------------------------------

    async def close_all(
        self, *, code: int = GOING_AWAY[0], reason: str = GOING_AWAY[1], wait_s: float = 10.0
    ) -> None:
        """Close every open connection and wait (at most ``wait_s``) for each ``$disconnect``."""
        conns = list(self.sender)
        await asyncio.gather(
            *(self.sender.close(c.connection_id, code=code, reason=reason) for c in conns),
            return_exceptions=True,
        )
        if conns:
            waits = [asyncio.ensure_future(c.finished.wait()) for c in conns]
            _, pending = await asyncio.wait(waits, timeout=wait_s)
            for task in pending:
                task.cancel()

    async def shutdown(self, *, wait_s: float = 10.0) -> None:
        """Refuse new connections, close the open ones (1001) and wait for their handlers."""
        self._accepting = False
        await self.close_all(wait_s=wait_s)
        pending = [t for t in self._handlers if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=wait_s)

    # --- health ---------------------------------------------------------------------

    async def live(self, request: web.Request) -> web.Response:
        """``GET /health/live``: 200 while the process serves (its event loop answers)."""
        return web.json_response({"status": "ok"})

    async def ready(self, request: web.Request) -> web.Response:
        """``GET /health/ready`` (and ``/health``): 200 when writes can be served (the
        primary answers, and is not being restarted), else 503. The reader's trouble
        (down, frozen, being restarted) makes the answer ``degraded``, still 200: reads
        fail over to the primary."""
        store = self.services.store
        servers = dict(self.servers()) if self.servers is not None else {}
        primary, reader = await asyncio.gather(
            ping(store.pool, timeout_s=HEALTH_TIMEOUT_S),
            ping(store.read_pool, timeout_s=HEALTH_TIMEOUT_S)
            if store.read_pool is not store.pool
            else _same(),
        )
        if servers.get("primary", "up") != "up":
            primary = servers["primary"]
        if servers.get("replica", "up") != "up":
            reader = servers["replica"]
        ready = primary == "ok"
        status = "unavailable" if not ready else "ok" if reader in ("ok", "primary") else "degraded"
        body = {
            "status": status,
            "database": "ok" if ready else "unreachable",
            "databases": {"primary": primary, "reader": reader},
            "servers": servers,
            "connections": len(self.sender),
            "inflight": self.inflight,
            "refused": dict(self.refused),
        }
        return web.json_response(body, status=200 if ready else 503)


async def _same() -> str:
    return "primary"
