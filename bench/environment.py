"""Where a benchmark runs: a given DSN, or a fresh embedded PostgreSQL with fsync on."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

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
