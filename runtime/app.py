"""``leaderboard up``: the whole service in one process, behind the emulated API Gateway.

:class:`LocalRuntime` wires the pieces and owns their lifecycle:

- the database: the given DSNs, or else the embedded PostgreSQL primary and its
  streaming replica under ``data_dir`` (persistent across runs), kept running by a
  :class:`~runtime.supervisor.ClusterSupervisor` (a crashed server is restarted with
  backoff; one that cannot be sets :attr:`LocalRuntime.failed`, and ``leaderboard up``
  exits non-zero); migrations run either way (idempotent, under an advisory lock);
- its connection rows: every connection id this runtime mints starts with its
  ``runtime_id`` (kept in ``data_dir/runtime-id`` when it runs the embedded cluster, so
  a restart on the same data directory has the same one), and on start the rows of ids
  with that prefix are deleted: a previous process of this runtime that was killed
  left them behind, and none of them is open any more (this runtime is the only writer
  of its connection rows);
- the shared route handlers (``connect.routes``) over :class:`~db.store.Store`,
  :class:`~db.connections.ConnectionStore` and the in-process sender;
- one aiohttp server: the WebSocket endpoint, ``@connections`` and ``/health``
  (:class:`~runtime.gateway.Gateway`), the Lambda Invoke API
  (:class:`~runtime.lambda_api.LambdaApi`, serving the broadcaster as
  ``broadcast_function_name``, default ``leaderboard-local-broadcaster``), ``GET /metrics``
  (connections and the broadcaster's counters; an admin token only), plus any
  :data:`Mount` (the REST adapter);
- the broadcaster, woken by LISTEN (:class:`~runtime.broadcasting.BroadcastLoop`), on a
  pool of its own (``BACKGROUND_POOL`` connections), as the broadcaster Lambda has its
  own connections on AWS: background work never queues behind a burst of submits;
- periodic jobs (:class:`PeriodicJob`), each in its own task: by default the
  maintenance loop (compact rank deltas, sequence pending change events, every
  ``maintenance_interval_s``, on the background pool), the expired-connection sweep and
  the broadcaster's sweep; more with :meth:`LocalRuntime.add_job` before start.

``stop`` undoes ``start`` in reverse: jobs, then every WebSocket (closed with 1001, each
one's ``$disconnect`` run), then the server, the pools and the cluster if it started one.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aiohttp import web

from authorizer.handler import authorize
from broadcast.worker import Broadcaster
from core.errors import Unavailable
from core.settings import Settings
from core.throttle import FailureLog
from db.compaction import compact_all, vacuum_deltas
from db.feed import boards_with_pending, prune, sequence
from db.migrate import migrate
from db.services import Services, open_services
from db.store import Store
from runtime.broadcasting import BroadcastLoop
from runtime.events import LOCAL_API_ID, ApiStage
from runtime.gateway import Authorizer, Gateway, RouteHandler, route_event
from runtime.httplog import ServerLog
from runtime.inprocess import InProcessSender
from runtime.lambda_api import LambdaApi
from runtime.supervisor import ClusterSupervisor

if TYPE_CHECKING:
    from runtime.postgres import EmbeddedCluster

log = logging.getLogger("leaderboard.runtime")
failures = FailureLog(log)

LOCAL_BROADCASTER: Final = "leaderboard-local-broadcaster"
"""The broadcaster's name on the Invoke API when ``broadcast_function_name`` is unset."""
BROADCAST_CONCURRENCY: Final = 3
"""Boards whose broadcaster rounds may run at once (each holds up to two connections)."""
BACKGROUND_POOL: Final = 2 * BROADCAST_CONCURRENCY + 2
RUNTIME_ID_FILE: Final = "runtime-id"
RUNTIME_ID: Final = re.compile(r"[A-Za-z0-9_-]{4}")
"""Connections of the broadcaster and maintenance pool (separate from the routes' pool):
enough for every concurrent round's two plus the maintenance job, so they never wait on
each other for a connection."""

REST_PAYLOAD_MAX_BYTES: Final = 10 * 1024 * 1024
"""The largest HTTP request body the front door reads (API Gateway REST's 10 MB)."""

Mount = Callable[[web.Application, Services], None]
"""Adds routes to the app before it starts (e.g. the REST proxy-event adapter)."""


@dataclass(frozen=True)
class PeriodicJob:
    """An async job run every ``interval_s`` (measured from the end of the previous run).

    A failing run is logged and the job keeps its schedule.
    """

    name: str
    interval_s: float
    run: Callable[[], Awaitable[object]]


def safe_dsn(dsn: str) -> str:
    """A DSN as it may be printed: any password replaced by ``***``."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


async def maintain(pool: asyncpg.Pool) -> None:
    """One maintenance pass: fold rank deltas (vacuuming the folded ones when enough are
    dead), then sequence every board with pending events."""
    if any(r.folded_buckets for r in await compact_all(pool)):
        await vacuum_deltas(pool)
    for board in await boards_with_pending(pool):
        await sequence(pool, board)


async def _every(job: PeriodicJob) -> None:
    while True:
        try:
            await job.run()
        except Exception as exc:
            # once per cause per interval: a database outage fails every run
            failures.failed(f"periodic job {job.name}", exc, expected=isinstance(exc, Unavailable))
        await asyncio.sleep(job.interval_s)


class LocalRuntime:
    """The local service: ``async with LocalRuntime(settings) as rt: ...``."""

    def __init__(
        self,
        settings: Settings,
        *,
        dsn: str | None = None,
        reader_dsn: str | None = None,
        data_dir: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        mounts: Sequence[Mount] = (),
        authorizer: Authorizer | None = None,
        handler: RouteHandler = route_event,
        maintenance_interval_s: float = 0.1,
        sweep_interval_s: float = 60.0,
        broadcast: bool = True,
        broadcast_sweep_s: float = 1.0,
        runtime_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.runtime_id = runtime_id
        """The prefix of this runtime's connection ids (see the module docstring)."""
        self.supervisor: ClusterSupervisor | None = None
        self.cluster: EmbeddedCluster | None = None
        self.failed = asyncio.Event()
        """Set when the runtime cannot go on (its database could not be restarted)."""
        self._dsn, self._reader_dsn = dsn, reader_dsn
        self.data_dir = Path(data_dir or settings.data_dir)
        self.host, self._port = host, port
        self._mounts = list(mounts)
        self._authorizer = authorizer
        self._handler = handler
        self.api = ApiStage(
            api_id=settings.ws_api_id or LOCAL_API_ID, region=settings.aws_region,
            stage=settings.ws_stage,
        )  # fmt: skip
        self.sender = InProcessSender()
        self.lambda_api = LambdaApi()
        self.jobs: list[PeriodicJob] = []
        self._maintenance_interval_s = maintenance_interval_s
        self._sweep_interval_s = sweep_interval_s
        self._broadcast = broadcast
        self._broadcast_sweep_s = broadcast_sweep_s
        self.broadcasts: BroadcastLoop | None = None
        self._background: Store | None = None
        self._stack: AsyncExitStack | None = None
        self._services: Services | None = None
        self._gateway: Gateway | None = None
        self._bound_port: int | None = None
        self._verifier: Any = None  # authorizer.tokens.TokenVerifier, built on first use
        self.embedded = False
        """Whether the runtime started the embedded cluster (no DSN was given)."""
        self.primary_dsn: str | None = None
        """The database it writes to (and migrated), once started."""
        self.reader_dsn: str | None = None
        """The replica it reads snapshots from, once started; None: the primary."""

    # --- what a started runtime exposes --------------------------------------------

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("the runtime is not started: expected `await runtime.start()`")
        return self._services

    @property
    def gateway(self) -> Gateway:
        if self._gateway is None:
            raise RuntimeError("the runtime is not started: expected `await runtime.start()`")
        return self._gateway

    @property
    def store(self) -> Store:
        return self.services.store

    @property
    def port(self) -> int:
        if self._bound_port is None:
            raise RuntimeError("the runtime is not started: expected `await runtime.start()`")
        return self._bound_port

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """The WebSocket URL, shaped like API Gateway's ``wss://{api}.../{stage}``."""
        return f"ws://{self.host}:{self.port}/{self.api.stage}"

    @property
    def lambda_url(self) -> str:
        """``endpoint_url`` for boto3's ``lambda`` client (``LEADERBOARD_LAMBDA_ENDPOINT``)."""
        return self.http_url

    @property
    def management_url(self) -> str:
        """``endpoint_url`` for boto3's ``apigatewaymanagementapi`` client."""
        return f"{self.http_url}/{self.api.stage}"

    # --- lifecycle ------------------------------------------------------------------

    def add_job(self, job: PeriodicJob) -> None:
        """Run ``job`` periodically once started (add jobs before ``start``)."""
        if self._stack is not None:
            raise RuntimeError(f"add job {job.name!r} before the runtime starts")
        self.jobs.append(job)

    async def __aenter__(self) -> LocalRuntime:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> LocalRuntime:
        if self._stack is not None:
            raise RuntimeError("the runtime is already started")
        stack = AsyncExitStack()
        self._stack = stack
        try:
            await self._start(stack)
        except BaseException:
            self._stack = None
            await stack.aclose()
            raise
        return self

    async def _start(self, stack: AsyncExitStack) -> None:
        dsn, reader_dsn = self._dsn, self._reader_dsn
        self.embedded = dsn is None
        if dsn is None:
            dsn, reader_dsn = await self._start_cluster(stack)
            if self.runtime_id is None:
                self.runtime_id = self._remembered_runtime_id()
        if self.runtime_id is None:
            self.runtime_id = secrets.token_urlsafe(3)
        self.primary_dsn, self.reader_dsn = dsn, reader_dsn or None
        conn = await asyncpg.connect(dsn)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        services = await open_services(
            self.settings, dsn=dsn, reader_dsn=reader_dsn, sender=self.sender
        )
        stack.push_async_callback(services.close)
        left = await services.connections.remove_prefixed(self.runtime_id)
        if left:
            log.warning("removed %d connection rows left by a previous process", left)
        supervisor = self.supervisor
        gateway = Gateway(
            services, sender=self.sender, authorizer=self._authorizer or self._default_authorizer(),
            api=self.api, handler=self._handler, connection_prefix=self.runtime_id,
            servers=(lambda: {n: supervisor.state(n) for n in supervisor.servers})
            if supervisor is not None else None,
        )  # fmt: skip
        # Background work (the broadcaster, compaction, sequencing) has connections of its
        # own, as the broadcaster Lambda has on AWS: it never queues behind submits.
        background = await open_services(
            self.settings.model_copy(update={"db_pool_min": 1, "db_pool_max": BACKGROUND_POOL}),
            dsn=dsn, sender=self.sender,
        )  # fmt: skip
        stack.push_async_callback(background.close)
        self._background = background.store
        # API Gateway's REST payload limit; each route keeps its own lower one (rest.api)
        app = web.Application(client_max_size=REST_PAYLOAD_MAX_BYTES)
        if self._broadcast:
            broadcaster = Broadcaster(background)
            self.broadcasts = BroadcastLoop(broadcaster, dsn=dsn, concurrency=BROADCAST_CONCURRENCY)
            name = self.settings.broadcast_function_name or LOCAL_BROADCASTER
            self.lambda_api.register(name, broadcaster.handle)
        self.lambda_api.install(app)
        stack.push_async_callback(self.lambda_api.close)
        gateway.install(app)
        app.router.add_get("/metrics", self._metrics)
        for mount in self._mounts:
            mount(app, services)
        runner = web.AppRunner(app, shutdown_timeout=5.0, access_log=None, logger=ServerLog())
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, self.host, self._port)
        await site.start()
        stack.push_async_callback(gateway.shutdown)
        self._bound_port = int(runner.addresses[0][1])
        self._services, self._gateway = services, gateway
        extra: list[PeriodicJob] = []
        if self.broadcasts is not None:
            await self.broadcasts.start()
            stack.push_async_callback(self.broadcasts.stop)
            extra.append(PeriodicJob("broadcast-sweep", self._broadcast_sweep_s,
                                     self.broadcasts.sweep))  # fmt: skip
        self._start_jobs(stack, services, extra)
        log.info("local runtime up: %s (WebSocket %s); database: %s", self.http_url,
                 self.ws_url, self.describe_databases())  # fmt: skip

    def describe_databases(self) -> str:
        """Which databases the started runtime uses, for people (no passwords)."""
        if self.primary_dsn is None:
            raise RuntimeError("the runtime is not started: expected `await runtime.start()`")
        where = "embedded PostgreSQL under " + str(self.data_dir) if self.embedded else "yours"
        reads = safe_dsn(self.reader_dsn) if self.reader_dsn else "the primary (no reader URL)"
        return f"primary {safe_dsn(self.primary_dsn)} ({where}, migrated); reads: {reads}"

    async def _start_cluster(self, stack: AsyncExitStack) -> tuple[str, str | None]:
        from runtime.postgres import EmbeddedCluster

        cluster = EmbeddedCluster(self.data_dir)
        await asyncio.to_thread(cluster.start)
        stack.push_async_callback(asyncio.to_thread, cluster.stop)
        replica = await asyncio.to_thread(cluster.start_replica)
        self.cluster = cluster
        supervisor = ClusterSupervisor(cluster)
        await supervisor.start()
        stack.push_async_callback(supervisor.stop)
        self.supervisor = supervisor

        async def fail() -> None:
            await supervisor.failed.wait()
            self.failed.set()

        watch = asyncio.create_task(fail(), name="runtime-failure")
        stack.callback(watch.cancel)
        return cluster.primary.dsn, replica.dsn

    def _remembered_runtime_id(self) -> str:
        """This data directory's runtime id, made on its first run."""
        path = self.data_dir / RUNTIME_ID_FILE
        if path.exists():
            text = path.read_text().strip()
            if RUNTIME_ID.fullmatch(text):
                return text
        runtime_id = secrets.token_urlsafe(3)
        path.write_text(runtime_id)
        return runtime_id

    async def _prune(self, pool: asyncpg.Pool) -> None:
        """Drop change events and idempotency records past their retention windows."""
        await prune(
            pool,
            events_older_than=timedelta(seconds=self.settings.outbox_retention_s),
            submissions_older_than=timedelta(seconds=self.settings.submission_retention_s),
        )

    def _default_authorizer(self) -> Authorizer:
        from authorizer.tokens import TokenVerifier

        return partial(authorize, verifier=TokenVerifier(settings=self.settings))

    async def _metrics(self, request: web.Request) -> web.Response:
        """``GET /metrics``: the runtime's counters (connections, broadcaster rounds), for an
        admin token only (``Authorization: Bearer <token>``): 401 without a valid token,
        403 for any other role, as problem+json."""
        refusal = await self._admin_only(request)
        if refusal is not None:
            return refusal
        body: dict[str, Any] = {"connections": len(self.sender)}
        if self._gateway is not None:
            body["inflight"] = self._gateway.inflight
            body["refused"] = dict(self._gateway.refused)
        if self.supervisor is not None:
            body["servers"] = self.supervisor.report()
        if self.broadcasts is not None:
            body["broadcast"] = self.broadcasts.stats.as_dict()
        return web.json_response(body)

    async def _admin_only(self, request: web.Request) -> web.Response | None:
        """None for a request bearing a valid admin token, else its problem response."""
        from authorizer.tokens import TokenVerifier
        from core.auth import Role, require_role
        from core.errors import LeaderboardError, Unauthorized
        from rest.api import problem_response
        from runtime.rest_gateway import web_response

        header = request.headers.get("Authorization", "")
        scheme, _, tok = header.partition(" ")
        try:
            if scheme.lower() != "bearer" or not tok.strip():
                raise Unauthorized(
                    "missing bearer token: expected 'Authorization: Bearer <admin JWT>'",
                    code="missing_token",
                )
            if self._verifier is None:
                self._verifier = TokenVerifier(settings=self.settings)
            principal = await asyncio.to_thread(self._verifier.verify, tok.strip())
            require_role(principal, Role.ADMIN)
        except LeaderboardError as exc:
            return web_response(problem_response(exc, instance=request.path).to_proxy())
        return None

    def _start_jobs(
        self, stack: AsyncExitStack, services: Services, extra: Sequence[PeriodicJob]
    ) -> None:
        pool = self._background.pool if self._background is not None else services.store.pool
        jobs = [
            PeriodicJob("maintenance", self._maintenance_interval_s, partial(maintain, pool)),
            PeriodicJob("expire-connections", self._sweep_interval_s, services.connections.expire),
            PeriodicJob("prune-feed", self._sweep_interval_s, partial(self._prune, pool)),
            *self.jobs,
            *extra,
        ]
        tasks = [asyncio.create_task(_every(job), name=f"job:{job.name}") for job in jobs]

        async def cancel() -> None:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        stack.push_async_callback(cancel)

    async def restart_websockets(self) -> None:
        """Drop every WebSocket connection (1001, each ``$disconnect`` run), as a redeploy
        of the API would; new connections are accepted at once."""
        await self.gateway.close_all()

    async def stop(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()
        self._services = self._gateway = None
        self._background, self.broadcasts = None, None
        self._bound_port = None
        self.supervisor = None


__all__ = ["LOCAL_BROADCASTER", "LocalRuntime", "Mount", "PeriodicJob", "maintain", "safe_dsn"]
