"""A real outage of one test database: it refuses new connections and its open ones are
terminated by the server, as a crashed or restarting PostgreSQL does to its clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg


def _admin(dsn: str) -> tuple[str, str]:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


async def _allow(dsn: str, allowed: bool) -> None:
    admin_dsn, name = _admin(dsn)
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(
            f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {"true" if allowed else "false"}'
        )
        if not allowed:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                name,
            )
    finally:
        await admin.close()


@asynccontextmanager
async def database_outage(dsn: str) -> AsyncIterator[None]:
    """While inside: ``dsn``'s database refuses connections and every open one is gone."""
    await _allow(dsn, False)
    try:
        yield
    finally:
        await _allow(dsn, True)
