"""Migrations: numbered, forward-only, applied once even by concurrent migrators."""

from __future__ import annotations

import asyncio

import asyncpg

from db.migrate import load_migrations, migrate
from tests.postgres_fixtures import PgServer


def test_migrations_are_numbered_without_gaps() -> None:
    """Shipped migrations are numbered 1..N in order."""
    versions = [m.version for m in load_migrations()]
    assert versions == list(range(1, len(versions) + 1))


async def test_concurrent_migrators_apply_each_file_once(pg_server: PgServer) -> None:
    """Four migrators racing on an empty database apply every file exactly once."""
    admin = await asyncpg.connect(pg_server.admin_dsn)
    await admin.execute('DROP DATABASE IF EXISTS "lb_migrate_race" WITH (FORCE)')
    await admin.execute('CREATE DATABASE "lb_migrate_race"')
    try:
        conns = [await asyncpg.connect(pg_server.dsn_for("lb_migrate_race")) for _ in range(4)]
        applied = await asyncio.gather(*(migrate(c) for c in conns))
        assert sorted(v for a in applied for v in a) == [m.version for m in load_migrations()]
        assert await migrate(conns[0]) == []
        for c in conns:
            await c.close()
    finally:
        await admin.execute('DROP DATABASE IF EXISTS "lb_migrate_race" WITH (FORCE)')
        await admin.close()
