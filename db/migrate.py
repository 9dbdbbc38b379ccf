"""Apply the numbered, forward-only SQL migrations under an advisory lock.

Each file in ``db/migrations`` named ``NNNN_name.sql`` runs once, in order, in its own
transaction, and is recorded in ``lb_schema_migration``. Concurrent migrators (several
Lambdas cold-starting, a deploy and a test) serialise on the advisory lock, so each file
runs exactly once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Final

import asyncpg

MIGRATION_LOCK: Final = 19521  # pg_advisory_lock key shared by every migrator

CREATE_LEDGER: Final = """
CREATE TABLE IF NOT EXISTS lb_schema_migration (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)"""
SELECT_APPLIED: Final = "SELECT version FROM lb_schema_migration"
RECORD_APPLIED: Final = "INSERT INTO lb_schema_migration (version, name) VALUES ($1, $2)"
LOCK: Final = "SELECT pg_advisory_lock($1)"
UNLOCK: Final = "SELECT pg_advisory_unlock($1)"

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    """Every migration shipped in the package, in version order."""
    found = []
    for item in resources.files("db.migrations").iterdir():
        match = _NAME.match(item.name)
        if match:
            found.append(Migration(int(match[1]), match[2], item.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration versions: {versions}")
    return found


async def migrate(conn: asyncpg.Connection) -> list[int]:
    """Apply pending migrations on ``conn``; returns the versions applied now."""
    applied_now: list[int] = []
    await conn.execute(LOCK, MIGRATION_LOCK)
    try:
        await conn.execute(CREATE_LEDGER)
        done = {r["version"] for r in await conn.fetch(SELECT_APPLIED)}
        for migration in load_migrations():
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(RECORD_APPLIED, migration.version, migration.name)
            applied_now.append(migration.version)
    finally:
        await conn.execute(UNLOCK, MIGRATION_LOCK)
    return applied_now
