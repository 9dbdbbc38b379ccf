"""One fixture module for a real PostgreSQL in every suite.

Where the server comes from, in order:
    1. ``LEADERBOARD_TEST_DSN`` (any PostgreSQL 15-18 we may create databases on),
    2. a testcontainers PostgreSQL when a Docker engine answers,
    3. the embedded PostgreSQL wheel, started once per test session in a temp dir.

Migrations run once into a template database; each test gets its own database cloned
from it (``CREATE DATABASE ... TEMPLATE``), which takes tens of milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from core.settings import Settings
from db.migrate import migrate
from db.store import Store


@dataclass(frozen=True)
class PgServer:
    admin_dsn: str
    origin: str

    def dsn_for(self, database: str) -> str:
        parts = urlsplit(self.admin_dsn)
        return urlunsplit(parts._replace(path=f"/{database}"))


def _docker_reachable() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A running PostgreSQL server for the whole session."""
    dsn = os.environ.get("LEADERBOARD_TEST_DSN")
    if dsn:
        yield PgServer(dsn, "environment")
        return
    if _docker_reachable():
        from testcontainers.postgres import PostgresContainer  # type: ignore[import-untyped]

        with PostgresContainer("postgres:17", driver=None) as container:
            yield PgServer(container.get_connection_url(), "testcontainers")
        return
    from runtime.postgres import EmbeddedCluster

    root = Path(tempfile.mkdtemp(prefix="lb-test-pg-"))
    cluster = EmbeddedCluster(root, fsync=False).start()
    try:
        yield PgServer(cluster.primary.admin_dsn, "embedded")
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
async def template_db(pg_server: PgServer) -> AsyncIterator[str]:
    """A migrated template database; its name."""
    name = f"lb_template_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(pg_server.admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        conn = await asyncpg.connect(pg_server.dsn_for(name))
        try:
            await migrate(conn)
        finally:
            await conn.close()
        yield name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def database_dsn(pg_server: PgServer, template_db: str) -> AsyncIterator[str]:
    """A fresh, migrated database for one test; its DSN."""
    name = f"lb_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_server.admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
        yield pg_server.dsn_for(name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
def settings() -> Settings:
    """Settings as a test passes them: explicit values, no environment."""
    return Settings(jwt_secret="test-secret-test-secret-test-secret!", db_pool_max=20)  # type: ignore[arg-type]


@pytest.fixture
async def store(database_dsn: str, settings: Settings) -> AsyncIterator[Store]:
    """A Store over a fresh database."""
    s = await Store.open(settings, dsn=database_dsn)
    try:
        yield s
    finally:
        await asyncio.wait_for(s.close(), 10)


@contextlib.asynccontextmanager
async def writer_in_flight(
    dsn: str, board: str, player: str, score: int
) -> AsyncIterator[asyncpg.transaction.Transaction]:
    """A submit inside a transaction left open: a writer of ``board`` still in flight.

    The caller commits or rolls back the yielded transaction; leaving the block closes the
    connection, which rolls back whatever is still open.
    """
    conn = await asyncpg.connect(dsn)
    try:
        tx = conn.transaction()
        await tx.start()
        await conn.fetch(
            "SELECT * FROM lb_submit($1, NULL, NULL, ARRAY[$2], ARRAY[$3::bigint], "
            "ARRAY[NULL::timestamptz], ARRAY[NULL::jsonb])",
            board, player, score,
        )  # fmt: skip
        yield tx
    finally:
        await conn.close()
