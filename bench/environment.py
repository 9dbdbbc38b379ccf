"""Where a benchmark runs: a given DSN, or a fresh embedded PostgreSQL with fsync on."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator
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


def stop_service(proc: subprocess.Popen[str], *, timeout_s: float) -> None:
    """Stop a service the benchmark started as Ctrl-C would, killing it after ``timeout_s``."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
