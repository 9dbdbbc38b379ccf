"""Where a benchmark runs: a given DSN or a fresh embedded PostgreSQL with fsync on, the
service itself (``leaderboard up``) in a subprocess, and the Redis beside them."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg

from db.migrate import migrate


@contextlib.asynccontextmanager
async def bench_database(dsn: str | None, *, keep: bool = False) -> AsyncIterator[str]:
    """A migrated, empty database for one benchmark run; its DSN."""
    if dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        yield dsn
        return
    from runtime.postgres import EmbeddedCluster

    root = Path(tempfile.mkdtemp(prefix="lb-bench-"))
    cluster = EmbeddedCluster(root, fsync=True).start()
    try:
        conn = await asyncpg.connect(cluster.primary.dsn)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        yield cluster.primary.dsn
    finally:
        cluster.stop()
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


async def redis_client() -> object | None:
    """An asyncio Redis client on 127.0.0.1:6379, or None when nothing answers there."""
    try:
        import redis.asyncio as redis
    except ImportError:
        return None
    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1)
    try:
        await client.ping()
    except Exception:
        await client.aclose()
        return None
    return client


def start_service(
    argv: list[str],
    *,
    ready: str,
    timeout_s: float,
    env: dict[str, str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.Popen[str]:
    """Start a service the benchmark runs beside itself, and return once it has printed
    ``ready`` (or ``timeout_s`` has passed at its next line).

    What it prints afterwards is read and dropped: a pipe nobody reads fills at 64 KB,
    and the service's next line would then block its event loop mid-benchmark.
    """
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=preexec_fn,
    )  # fmt: skip
    stream = proc.stdout
    assert stream is not None
    deadline = time.time() + timeout_s
    for line in stream:
        if ready in line or time.time() > deadline:
            break

    def drain() -> None:
        with contextlib.suppress(ValueError, OSError):
            for _line in stream:
                pass

    threading.Thread(target=drain, daemon=True).start()
    return proc


def stop_service(proc: subprocess.Popen[str], *, timeout_s: float) -> None:
    """Stop a service the benchmark started as Ctrl-C would, killing it after ``timeout_s``."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()


def raise_fd_limit() -> None:
    """Let this process (and a service started with it as ``preexec_fn``) open as many
    sockets as the hard limit allows: the fan-out phases hold 10,000 at once."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Server:
    """``leaderboard up`` in a subprocess over a temporary data directory (an embedded
    primary and streaming replica, fsync on), as the service runs for a user."""

    def __init__(self, *, port: int, secret: str, conflation_ms: int) -> None:
        self.port, self.secret = port, secret
        self.dir = Path(tempfile.mkdtemp(prefix="lb-bench-up-"))
        env = {**os.environ, "LEADERBOARD_JWT_SECRET": secret,
               "LEADERBOARD_CONFLATION_MS": str(conflation_ms), "LEADERBOARD_DB_POOL_MAX": "20"}  # fmt: skip
        self.proc = start_service(
            [sys.executable, "-m", "runtime.cli", "--data-dir", str(self.dir), "up", "--port", str(port)],
            ready="leaderboard is up", timeout_s=120, env=env, preexec_fn=raise_fd_limit,
        )  # fmt: skip

    @property
    def dsn(self) -> str:
        port = (self.dir / "primary.port").read_text().strip()
        return f"postgresql://postgres@127.0.0.1:{port}/leaderboard"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/prod"

    def rss_kb(self) -> int:
        import psutil

        return int(psutil.Process(self.proc.pid).memory_info().rss // 1024)

    async def metrics(self) -> dict[str, Any]:
        """The broadcaster's counters from ``GET /metrics``."""
        import aiohttp

        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"http://127.0.0.1:{self.port}/metrics",
                headers={"Authorization": f"Bearer {self.token(None, 'admin')}"},
            ) as response,
        ):
            body: dict[str, Any] = await response.json()
        return dict(body["broadcast"])

    def token(self, player: str | None, role: str) -> str:
        from authorizer.tokens import mint_token

        return mint_token(secret=self.secret, player_id=player, role=role, issuer="leaderboard-local",
                          audience="leaderboard", ttl_s=3600, subject=player or f"{role}-bench")  # fmt: skip

    def stop(self) -> None:
        stop_service(self.proc, timeout_s=60)
        shutil.rmtree(self.dir, ignore_errors=True)


async def create_board(dsn: str, board: str, policy: str = "latest") -> None:
    """Create a benchmark board through the store (no-op if it exists)."""
    from core.boards import BoardSpec, UpdatePolicy
    from core.errors import Conflict
    from core.settings import Settings
    from db.store import Store

    store = await Store.open(Settings(), dsn=dsn)
    try:
        with contextlib.suppress(Conflict):
            await store.create_board(BoardSpec(id=board, policy=UpdatePolicy(policy)))
    finally:
        await store.close()


async def postgres_version(dsn: str) -> str:
    """The server version of the PostgreSQL at ``dsn`` (``SHOW server_version``)."""
    conn = await asyncpg.connect(dsn)
    try:
        return str(await conn.fetchval("SHOW server_version")).split(" ")[0]
    finally:
        await conn.close()


async def redis_version() -> str | None:
    """The version of the Redis on 127.0.0.1:6379, or None when nothing answers there."""
    client: Any = await redis_client()
    if client is None:
        return None
    try:
        info = await client.info("server")
        return str(info.get("redis_version"))
    finally:
        await client.aclose()
