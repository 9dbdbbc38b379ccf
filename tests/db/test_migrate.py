"""Migrations: numbered files applied once in order, function files applied when they change."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

import db.functions
import db.migrations
from core.ids import SubmissionId
from core.ranking import ScoreInput, request_hash
from core.settings import Settings
from db.migrate import (
    CREATE_LEDGER,
    RECORD_APPLIED,
    Applied,
    MigrationError,
    load_functions,
    load_migrations,
    migrate,
    migrate_all,
)
from db.store import Store
from tests.postgres_fixtures import PgServer

FUNCTIONS = Path(db.functions.__file__).parent
MIGRATIONS = Path(db.migrations.__file__).parent
FILE_NAMES = sorted(f.name for f in load_functions())

# The numbered chain that 0001_baseline.sql and db/functions/ replaced, as its ledger named it.
OLD_CHAIN = [
    "boards_entries", "rank_structure", "change_feed", "connections", "submit",
    "aurora_wakeup", "batch_ranks", "warm_broadcaster", "ladder_totals", "dead_deltas",
    "write_path", "sequencer_never_blocks", "rank_plan_once", "single_score_submit",
    "board_row_pruning", "batch_ranks_one_pass",
]  # fmt: skip

# A board with alice's increment of 3 applied under submission id m1, as the baseline
# schema recorded it (no submitter); $1 is the payload's request hash.
LEGACY_RECORD = """
WITH b AS (
    INSERT INTO lb_board (board_id, sort_order, policy, min_score, max_score, season)
    VALUES ('kills', 'desc', 'increment', 0, 1000, 's1') RETURNING board_id
), s AS (
    INSERT INTO lb_season (board_id, season) SELECT board_id, 's1' FROM b RETURNING season_no
), e AS (
    INSERT INTO lb_entry (season_no, player_id, score, sort_score, achieved_at)
    SELECT season_no, 'alice', 3, -3, now() FROM s
), d AS (
    INSERT INTO lb_rank_delta (season_no, sort_score, achieved_at, player_id, delta, sized)
    SELECT season_no, -3, now(), 'alice', 1, true FROM s
)
INSERT INTO lb_submission (board_id, submission_id, request_hash, result)
SELECT board_id, 'm1', $1, '[{"player_id": "alice", "score": 3, "achieved_at":
  "2026-01-01T00:00:00+00:00", "updates": 1, "improved": true, "rank": 1, "total": 1}]'
  FROM b"""

PROBE_FUNCTIONS = """
SELECT p.oid::regprocedure::text AS signature, p.prorettype::regtype::text AS returns
  FROM pg_proc p WHERE p.proname = 'lb_probe'"""


@contextlib.asynccontextmanager
async def _empty_database(pg_server: PgServer, name: str) -> AsyncIterator[asyncpg.Connection]:
    """A new, empty database for one test: a connection to it."""
    admin = await asyncpg.connect(pg_server.admin_dsn)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        conn = await asyncpg.connect(pg_server.dsn_for(name))
        try:
            yield conn
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _copy(source: Path, target: Path) -> Path:
    """A copy of a folder of SQL files that a test may change."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return target


def test_migrations_are_numbered_without_gaps() -> None:
    """Shipped migrations are numbered 1..N in order."""
    versions = [m.version for m in load_migrations()]
    assert versions == list(range(1, len(versions) + 1))


def test_each_function_file_defines_the_function_it_is_named_for() -> None:
    """Every function file creates exactly its own function (or procedure), replaceably
    (CREATE OR REPLACE), and any trigger in it replaceably too, so that it can be applied
    again."""
    assert FILE_NAMES
    for file in load_functions():
        created = re.findall(r"CREATE OR REPLACE (?:FUNCTION|PROCEDURE)\s+(\w+)\s*\(", file.sql)
        assert created == [file.name]
        assert not re.search(r"CREATE\s+(FUNCTION|PROCEDURE|TRIGGER)", file.sql), file.name


async def test_every_function_in_the_database_has_exactly_one_file(database_dsn: str) -> None:
    """The functions the migrations leave in the public schema are exactly the function
    files, one function per file and no overloads."""
    conn = await asyncpg.connect(database_dsn)
    try:
        names = await conn.fetch(
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' ORDER BY p.proname"
        )
    finally:
        await conn.close()
    assert [r["proname"] for r in names] == FILE_NAMES


async def test_concurrent_migrators_apply_each_file_once(pg_server: PgServer) -> None:
    """Four migrators racing on an empty database apply every numbered file and every
    function file exactly once; migrating again applies nothing."""
    async with _empty_database(pg_server, "lb_migrate_race") as first:
        others = [await asyncpg.connect(pg_server.dsn_for("lb_migrate_race")) for _ in range(3)]
        try:
            applied = await asyncio.gather(*(migrate_all(c) for c in [first, *others]))
        finally:
            for c in others:
                await c.close()
        assert sorted(v for a in applied for v in a.versions) == [
            m.version for m in load_migrations()
        ]
        assert sorted(f for a in applied for f in a.functions) == FILE_NAMES
        assert await migrate_all(first) == Applied([], [])
        assert await migrate(first) == []


async def test_a_changed_function_file_is_applied_again_and_an_unchanged_one_is_not(
    pg_server: PgServer, tmp_path: Path
) -> None:
    """After a function file's text changes, the next migrate applies that file and no
    other, and the database runs the new text; the one after applies nothing."""
    functions = _copy(FUNCTIONS, tmp_path / "functions")
    async with _empty_database(pg_server, "lb_migrate_changed") as conn:
        assert (await migrate_all(conn, functions=functions)).functions == FILE_NAMES
        path = functions / "lb_count_entries.sql"
        path.write_text(path.read_text().replace("SELECT coalesce(", "SELECT /* v2 */ coalesce("))
        assert await migrate_all(conn, functions=functions) == Applied([], ["lb_count_entries"])
        source = await conn.fetchval(
            "SELECT prosrc FROM pg_proc WHERE proname = 'lb_count_entries'"
        )
        assert "/* v2 */" in source
        assert await migrate_all(conn, functions=functions) == Applied([], [])
        # the package's own file differs from the changed copy: it is applied again
        assert await migrate_all(conn) == Applied([], ["lb_count_entries"])


async def test_a_function_whose_signature_changes_is_replaced_not_overloaded(
    pg_server: PgServer, tmp_path: Path
) -> None:
    """A file that changes its function's return type, argument types or parameter names
    is applied all the same, and leaves exactly one function of its name: the new one."""
    functions = _copy(FUNCTIONS, tmp_path / "functions")
    probe = functions / "lb_probe.sql"
    versions = [
        ("lb_probe(n integer) RETURNS bigint", "SELECT n::bigint", ("lb_probe(integer)", "bigint")),
        ("lb_probe(n integer) RETURNS text", "SELECT n::text", ("lb_probe(integer)", "text")),
        ("lb_probe(n integer, m integer) RETURNS text", "SELECT (n + m)::text",
         ("lb_probe(integer,integer)", "text")),
        ("lb_probe(a integer, b integer) RETURNS text", "SELECT (a - b)::text",
         ("lb_probe(integer,integer)", "text")),
    ]  # fmt: skip
    async with _empty_database(pg_server, "lb_migrate_signature") as conn:
        for head, body, expected in versions:
            probe.write_text(f"CREATE OR REPLACE FUNCTION {head}\nLANGUAGE sql AS $$ {body} $$;\n")
            assert "lb_probe" in (await migrate_all(conn, functions=functions)).functions
            assert [tuple(r) for r in await conn.fetch(PROBE_FUNCTIONS)] == [expected]
        assert await conn.fetchval("SELECT lb_probe(b => 2, a => 5)") == "3"


async def test_a_file_that_defines_another_function_is_refused(
    pg_server: PgServer, tmp_path: Path
) -> None:
    """A function file that does not define the function it is named for fails the
    migration, and no function of that round is applied or recorded."""
    functions = _copy(FUNCTIONS, tmp_path / "functions")
    (functions / "lb_probe.sql").write_text(
        "CREATE OR REPLACE FUNCTION lb_other() RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$;\n"
    )
    async with _empty_database(pg_server, "lb_migrate_misnamed") as conn:
        with pytest.raises(MigrationError, match=r"lb_probe\.sql must define exactly"):
            await migrate_all(conn, functions=functions)
        assert await conn.fetchval("SELECT count(*) FROM lb_schema_function") == 0
        assert await conn.fetchval("SELECT count(*) FROM pg_proc WHERE proname LIKE 'lb\\_%'") == 0
        (functions / "lb_probe.sql").unlink()
        assert (await migrate_all(conn, functions=functions)).functions == FILE_NAMES


@pytest.mark.parametrize("recorded", [16, 3])
async def test_a_database_of_the_replaced_numbered_chain_is_refused(
    pg_server: PgServer, recorded: int
) -> None:
    """A database whose ledger records the numbered migrations that the baseline replaced
    (all of them or the first few) is refused with an error that says to recreate it, and
    is left as it was."""
    async with _empty_database(pg_server, f"lb_migrate_old_{recorded}") as conn:
        await conn.execute(CREATE_LEDGER)
        for version, name in enumerate(OLD_CHAIN[:recorded], start=1):
            await conn.execute(RECORD_APPLIED, version, name)
        with pytest.raises(MigrationError, match="Recreate the database") as refused:
            await migrate(conn)
        assert "0001_boards_entries" in str(refused.value)
        assert await conn.fetchval("SELECT count(*) FROM lb_schema_migration") == recorded
        assert await conn.fetchval("SELECT to_regclass('lb_board') IS NULL")
        assert await conn.fetchval("SELECT to_regclass('lb_schema_function') IS NULL")


async def test_numbered_migrations_run_once_in_order_and_newer_ones_are_left_alone(
    pg_server: PgServer, tmp_path: Path
) -> None:
    """A new numbered file runs once, after the ones before it; a database that it has
    migrated still migrates with the code that does not ship it (a rolled-back deploy)."""
    migrations = _copy(MIGRATIONS, tmp_path / "migrations")
    shipped = [(m.version, m.name) for m in load_migrations()]
    probe = shipped[-1][0] + 1
    (migrations / f"{probe:04d}_probe.sql").write_text(
        "CREATE TABLE lb_probe (board_id text REFERENCES lb_board);\n"
    )
    async with _empty_database(pg_server, "lb_migrate_newer") as conn:
        assert await migrate(conn, migrations=migrations) == [v for v, _ in shipped] + [probe]
        assert await migrate(conn, migrations=migrations) == []
        assert await migrate(conn) == []
        assert await conn.fetchval("SELECT to_regclass('lb_probe') IS NOT NULL")
        versions = await conn.fetch("SELECT version, name FROM lb_schema_migration ORDER BY 1")
        assert [tuple(r) for r in versions] == [*shipped, (probe, "probe")]


async def test_submission_records_are_carried_over_into_submitter_scopes(
    pg_server: PgServer, tmp_path: Path, settings: Settings
) -> None:
    """Idempotency records written before ids were scoped survive the migration: a retry of
    the same payload still replays (and counts once), and nobody gets a conflict from one."""
    before = tmp_path / "before"
    before.mkdir()
    for sql in sorted(MIGRATIONS.glob("*.sql"))[:2]:  # up to, not including, the scopes
        shutil.copy(sql, before)
    name = "lb_migrate_scope"
    async with _empty_database(pg_server, name) as conn:
        assert await migrate(conn, migrations=before) == [1, 2]
        await conn.execute(LEGACY_RECORD, request_hash("kills", [ScoreInput("alice", 3)]))
        # the scopes (3) and every migration after them
        assert await migrate(conn) == list(range(3, len(list(MIGRATIONS.glob("*.sql"))) + 1))
        rows = await conn.fetch("SELECT submitter, submission_id FROM lb_submission")
        assert [tuple(r) for r in rows] == [("", "m1")]
        store = await Store.open(settings, dsn=pg_server.dsn_for(name))
        try:
            again = await store.submit(
                "kills", [ScoreInput("alice", 3)], submission_id=SubmissionId("m1"),
                submitter="player:alice",
            )  # fmt: skip
            assert again[0].replayed and again[0].score == 3
            assert (await store.fetch_standing("kills", "alice")).entry.score == 3
            other = await store.submit(
                "kills", [ScoreInput("bob", 5)], submission_id=SubmissionId("m1"),
                submitter="player:bob",
            )  # fmt: skip
            assert not other[0].replayed and other[0].score == 5
        finally:
            await store.close()
