"""Bring a database's schema and SQL functions up to this code's, under an advisory lock.

Two kinds of SQL ship in the package:

- **Numbered migrations** (``db/migrations/NNNN_name.sql``): tables, views, sequences,
  indexes and storage parameters. Forward-only: each runs once, in version order, in its
  own transaction, and is recorded in ``lb_schema_migration``. ``0001_baseline.sql`` is
  the whole schema; later changes are new files, never edits.
- **Function files** (``db/functions/<name>.sql``): each holds the current definition of
  the one SQL function it is named for (``CREATE OR REPLACE FUNCTION``), with any trigger
  that calls it (``CREATE OR REPLACE TRIGGER``). They are repeatable migrations: after the
  numbered ones, every file whose sha256 differs from the checksum recorded for its name
  in ``lb_schema_function``, or whose function is missing, is applied again, all of them
  in one transaction; an unchanged file is skipped. Files run with
  ``check_function_bodies`` off, so their order does not matter: a body is checked when
  it first runs, not when it is defined.

A changed file may change its function's signature, and migrate handles that, so a file
never drops anything itself: where ``CREATE OR REPLACE`` refuses (a new return type, OUT
parameters, parameter names or fewer defaults: SQLSTATE 42P13), every function of that
name is dropped and the file applied again; where the file created a function with new
argument types beside the old one, the old one is dropped. Drops never cascade, so an
object that depends on the old function (a trigger, say) stops the migration instead of
vanishing. Each file must define exactly the function it is named for; anything else
fails the migration. To remove a function, delete its file and drop the function in a
numbered migration.

Concurrent migrators (several Lambdas cold-starting, a deploy and a test) serialise on
the advisory lock, so each numbered file runs exactly once and each changed function is
applied once. A ledger that records a version this code ships under another name was
written by another chain of migrations (the numbered history that the baseline
replaced): migrating it is refused with :class:`MigrationError`. Versions above the
highest shipped are newer code's and are left alone, so that older code (a rolled-back
deploy) still migrates and applies its own functions.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Final

import asyncpg

MIGRATION_LOCK: Final = 19521  # pg_advisory_lock key shared by every migrator

CREATE_LEDGER: Final = """
CREATE TABLE IF NOT EXISTS lb_schema_migration (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)"""
CREATE_FUNCTION_LEDGER: Final = """
CREATE TABLE IF NOT EXISTS lb_schema_function (
    name        text PRIMARY KEY,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)"""
SELECT_APPLIED: Final = "SELECT version, name FROM lb_schema_migration ORDER BY version"
RECORD_APPLIED: Final = "INSERT INTO lb_schema_migration (version, name) VALUES ($1, $2)"
SELECT_CHECKSUMS: Final = "SELECT name, checksum FROM lb_schema_function"
RECORD_FUNCTION: Final = """
INSERT INTO lb_schema_function (name, checksum) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum, applied_at = now()"""
NO_BODY_CHECKS: Final = "SET LOCAL check_function_bodies = off"
# The functions in the schema migrations create objects in, each with the version of its
# catalog row: a row that a file created or replaced has a new xmin.
SELECT_FUNCTIONS: Final = """
SELECT p.oid, p.proname, p.xmin::text AS version
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = current_schema()"""
# A DROP statement for each given function, its signature quoted by PostgreSQL.
DROP_STATEMENTS: Final = """
SELECT format('DROP ROUTINE %s', p.oid::regprocedure) FROM pg_proc p WHERE p.oid = ANY($1)"""
LOCK: Final = "SELECT pg_advisory_lock($1)"
UNLOCK: Final = "SELECT pg_advisory_unlock($1)"

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_FUNCTION_FILE = re.compile(r"^([a-z_][a-z0-9_]*)\.sql$")


class MigrationError(RuntimeError):
    """The database cannot be migrated by this code; the message says what to do."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


@dataclass(frozen=True)
class FunctionFile:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Applied:
    """What one :func:`migrate` call applied: numbered versions, then function names."""

    versions: list[int]
    functions: list[str]


def load_migrations(*, source: Traversable | None = None) -> list[Migration]:
    """Every numbered migration in ``source`` (the package's by default), in version order."""
    found = []
    for item in (source or resources.files("db.migrations")).iterdir():
        match = _NAME.match(item.name)
        if match:
            found.append(Migration(int(match[1]), match[2], item.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration versions: {versions}")
    return found


def load_functions(*, source: Traversable | None = None) -> list[FunctionFile]:
    """Every function file in ``source`` (the package's by default), by name."""
    found = []
    for item in (source or resources.files("db.functions")).iterdir():
        match = _FUNCTION_FILE.match(item.name)
        if match:
            found.append(FunctionFile(match[1], item.read_text(encoding="utf-8")))
    return sorted(found, key=lambda f: f.name)


async def migrate(
    conn: asyncpg.Connection,
    *,
    migrations: Traversable | None = None,
    functions: Traversable | None = None,
) -> list[int]:
    """Apply pending migrations on ``conn``; returns the numbered versions applied now.

    ``migrations`` and ``functions`` replace the package's folders (tests)."""
    return (await migrate_all(conn, migrations=migrations, functions=functions)).versions


async def migrate_all(
    conn: asyncpg.Connection,
    *,
    migrations: Traversable | None = None,
    functions: Traversable | None = None,
) -> Applied:
    """Apply pending numbered migrations, then changed function files, on ``conn``."""
    shipped = load_migrations(source=migrations)
    files = load_functions(source=functions)
    await conn.execute(LOCK, MIGRATION_LOCK)
    try:
        await conn.execute(CREATE_LEDGER)
        recorded = {r["version"]: r["name"] for r in await conn.fetch(SELECT_APPLIED)}
        _check_ledger(recorded, shipped)
        await conn.execute(CREATE_FUNCTION_LEDGER)
        versions = []
        for migration in shipped:
            if migration.version in recorded:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(RECORD_APPLIED, migration.version, migration.name)
            versions.append(migration.version)
        names = await _apply_functions(conn, files)
    finally:
        await conn.execute(UNLOCK, MIGRATION_LOCK)
    return Applied(versions, names)


def _check_ledger(recorded: dict[int, str], shipped: list[Migration]) -> None:
    names = {m.version: m.name for m in shipped}
    top = max(names, default=0)
    foreign = sorted(f"{v:04d}_{n}" for v, n in recorded.items() if v <= top and names.get(v) != n)
    if foreign:
        raise MigrationError(
            "this database's lb_schema_migration records migrations this code does not ship "
            f"({', '.join(foreign)}): it was built by the numbered migrations that "
            "db/migrations/0001_baseline.sql and db/functions/ replaced, or by another "
            "branch. Recreate the database and migrate again (development data only: for "
            "the local runtime, delete its data directory, --data-dir or "
            "LEADERBOARD_DATA_DIR, ./var by default)."
        )


async def _apply_functions(conn: asyncpg.Connection, files: Iterable[FunctionFile]) -> list[str]:
    applied: list[str] = []
    async with conn.transaction():
        await conn.execute(NO_BODY_CHECKS)
        recorded = {r["name"]: r["checksum"] for r in await conn.fetch(SELECT_CHECKSUMS)}
        present = {name for name, _ in (await _functions(conn)).values()}
        for file in files:
            if recorded.get(file.name) == file.checksum and file.name in present:
                continue
            await _apply_function(conn, file)
            await conn.execute(RECORD_FUNCTION, file.name, file.checksum)
            applied.append(file.name)
    return applied


async def _apply_function(conn: asyncpg.Connection, file: FunctionFile) -> None:
    """Run ``file`` so that exactly one function of its name remains: the one it defines."""
    before = await _functions(conn)
    try:
        async with conn.transaction():  # a savepoint: a refusal leaves nothing behind
            await conn.execute(file.sql)
    except asyncpg.InvalidFunctionDefinitionError:
        # CREATE OR REPLACE cannot change the return type, OUT parameters, parameter names
        # or defaults of an existing function: drop every function of this name, then create
        await _drop(conn, [oid for oid, (name, _) in before.items() if name == file.name])
        await conn.execute(file.sql)
    after = await _functions(conn)
    written = {
        oid: name for oid, (name, version) in after.items() if before.get(oid) != (name, version)
    }
    if list(written.values()) != [file.name]:
        raise MigrationError(
            f"db/functions/{file.name}.sql must define exactly the function {file.name}; "
            f"it defined {sorted(written.values()) or 'none'}"
        )
    # a new signature was created beside the old one: the old one goes
    await _drop(
        conn, [oid for oid, (name, _) in after.items() if name == file.name and oid not in written]
    )


async def _functions(conn: asyncpg.Connection) -> dict[int, tuple[str, str]]:
    return {r["oid"]: (r["proname"], r["version"]) for r in await conn.fetch(SELECT_FUNCTIONS)}


async def _drop(conn: asyncpg.Connection, oids: list[int]) -> None:
    for statement in await conn.fetch(DROP_STATEMENTS, oids):
        await conn.execute(statement[0])
