"""Migrations: numbered, forward-only, applied once even by concurrent migrators."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg

from core.boards import BoardSpec, UpdatePolicy
from core.ranking import ScoreInput
from core.settings import Settings
from db.compaction import compact
from db.migrate import CREATE_LEDGER, RECORD_APPLIED, load_migrations, migrate
from db.store import Store
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


@contextlib.asynccontextmanager
async def _database_before(
    pg_server: PgServer, name: str, version: int
) -> AsyncIterator[tuple[asyncpg.Connection, str]]:
    """A fresh database migrated up to (not including) ``version``: a connection, its DSN."""
    admin = await asyncpg.connect(pg_server.admin_dsn)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        conn = await asyncpg.connect(pg_server.dsn_for(name))
        await conn.execute(CREATE_LEDGER)
        for m in load_migrations():
            if m.version < version:
                await conn.execute(m.sql)
                await conn.execute(RECORD_APPLIED, m.version, m.name)
        try:
            yield conn, pg_server.dsn_for(name)
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_ladders_older_than_their_kept_totals_get_them_from_their_blocks(
    pg_server: PgServer,
) -> None:
    """Upgrading a database with ladders to 0009 gives each ladder a kept total equal to its
    blocks, and entry counts stay exact through later folds and splits."""
    async with _database_before(pg_server, "lb_migrate_totals", 9) as (conn, dsn):
        store = await Store.open(Settings(), dsn=dsn)
        await store.create_board(BoardSpec(id="old"))
        n = await conn.fetchval("SELECT season_no FROM lb_season WHERE board_id = 'old'")
        for start in range(0, 3000, 500):
            await store.submit("old", [ScoreInput(f"p{i}", i % 97) for i in range(start, start + 500)],
                               with_ranks=False)  # fmt: skip
            await compact(store.pool, n)
        await store.submit("old", [ScoreInput(f"late{i}", 5) for i in range(50)])  # pending
        assert 9 in await migrate(conn)
        blocks = await conn.fetchval("SELECT sum(cnt) FROM lb_rank_block WHERE season_no = $1", n)
        assert (
            await conn.fetchval("SELECT cnt FROM lb_rank_total WHERE season_no = $1", n) == blocks
        )
        assert (await store.fetch_top("old", limit=1)).total == 3050
        await compact(store.pool, n)
        assert await conn.fetchval("SELECT cnt FROM lb_rank_total WHERE season_no = $1", n) == 3050
        # a lost or drifted total heals at the next fold that touches the ladder's blocks
        await conn.execute("DELETE FROM lb_rank_total WHERE season_no = $1", n)
        await store.submit("old", [ScoreInput("later", 50)])
        await compact(store.pool, n)
        assert await conn.fetchval("SELECT cnt FROM lb_rank_total WHERE season_no = $1", n) == 3051
        await store.close()


async def test_sizes_stay_exact_across_the_sized_deltas_upgrade(pg_server: PgServer) -> None:
    """Deltas pending when 0011 arrives (not marked sized) still count toward the ladder's
    size beside the marked ones written after it, before and after they are folded."""
    async with _database_before(pg_server, "lb_migrate_sized", 11) as (conn, dsn):
        store = await Store.open(Settings(), dsn=dsn)
        await store.create_board(BoardSpec(id="old", policy=UpdatePolicy.LATEST))
        n = await conn.fetchval("SELECT season_no FROM lb_season WHERE board_id = 'old'")
        await store.submit("old", [ScoreInput(f"p{i}", i) for i in range(300)], with_ranks=False)
        await compact(store.pool, n)
        # pending across the upgrade: 40 new players and 60 moves, none folded
        await store.submit("old", [ScoreInput(f"new{i}", 7) for i in range(40)])
        await store.submit("old", [ScoreInput(f"p{i}", 1000 + i) for i in range(60)])
        assert 11 in await migrate(conn)
        assert (await store.fetch_top("old", limit=1)).total == 340
        # after it: 25 more new players and 80 more moves, both kinds pending at once
        await store.submit("old", [ScoreInput(f"newer{i}", 9) for i in range(25)])
        moved = await store.submit("old", [ScoreInput(f"p{i}", 5000 + i) for i in range(80)])
        assert {r.total for r in moved} == {365}
        assert moved[0].rank == 1 and moved[-1].rank == 80
        sized = await conn.fetchval("SELECT count(*) FROM lb_rank_delta WHERE sized")
        assert sized == 25  # only the new players' arrivals change the size
        assert (await store.fetch_top("old", limit=1)).total == 365
        await compact(store.pool, n)
        assert await conn.fetchval("SELECT count(*) FROM lb_rank_delta") == 0
        page = await store.fetch_top("old", limit=400)
        assert page.total == 365 and [e.rank for e in page.entries] == list(range(1, 366))
        await store.close()
