"""Shared helpers of the REST tests: tokens, an HTTP client, replication waits, seed data."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import aiohttp
import asyncpg

from authorizer.tokens import mint_token
from core.boards import BoardSpec, SortOrder
from core.ranking import ScoreInput
from core.settings import Settings
from db.store import Store
from runtime.app import LocalRuntime
from runtime.postgres import PostgresServer
from runtime.rest_gateway import mount_rest

SECRET: Final = "rest-test-secret-rest-test-secret-0123456789"
SEEDED_AT: Final = datetime(2026, 1, 1, tzinfo=UTC)

PENDING_EVENTS: Final = "SELECT count(*) FROM lb_event WHERE seq IS NULL"
PRIMARY_LSN: Final = "SELECT pg_current_wal_insert_lsn()"
REPLAYED: Final = "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn"
BOARD_SEQ: Final = "SELECT seq FROM lb_board WHERE board_id = $1"


def rest_settings() -> Settings:
    return Settings(jwt_secret=SECRET, db_pool_max=10)  # type: ignore[arg-type]


def token(settings: Settings, role: str = "spectator", player: str | None = None) -> str:
    assert settings.jwt_secret is not None
    return mint_token(
        secret=settings.jwt_secret, player_id=player, role=role, issuer=settings.jwt_issuer,
        audience=settings.jwt_audience, ttl_s=3600, subject=player or f"test-{role}",
    )  # fmt: skip


class Client:
    """A small HTTP client over one runtime, with a bearer token."""

    def __init__(self, base: str, session: aiohttp.ClientSession, tok: str | None) -> None:
        self.base, self.session, self.tok = base, session, tok

    def as_(self, tok: str | None) -> Client:
        return Client(self.base, self.session, tok)

    async def call(
        self, method: str, path: str, *, json: Any = None, headers: dict[str, str] | None = None,
        **params: Any,
    ) -> tuple[int, Mapping[str, str], Any]:  # fmt: skip
        hdrs = dict(headers or {})
        if self.tok is not None:
            hdrs["Authorization"] = f"Bearer {self.tok}"
        query = {k: str(v) for k, v in params.items() if v is not None}
        async with self.session.request(
            method, self.base + path, json=json, headers=hdrs, params=query
        ) as resp:
            raw = await resp.read()
            body = await resp.json(content_type=None) if raw else None
            return resp.status, resp.headers.copy(), body

    async def get(self, path: str, **params: Any) -> tuple[int, Mapping[str, str], Any]:
        return await self.call("GET", path, **params)


async def sequenced(store: Store, within_s: float = 15) -> None:
    """Wait until the runtime's maintenance job has sequenced every event on the primary."""
    deadline = asyncio.get_running_loop().time() + within_s
    while await store.pool.fetchval(PENDING_EVENTS):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("events still unsequenced")
        await asyncio.sleep(0.02)


async def settle(store: Store, within_s: float = 15) -> None:
    """Wait until every event is sequenced on the primary and the replica replayed it all."""
    await sequenced(store, within_s)
    await replicated(store.pool, store.read_pool, within_s)


async def replicated(primary: asyncpg.Pool, replica: asyncpg.Pool, within_s: float = 15) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    lsn = await primary.fetchval(PRIMARY_LSN)
    deadline = asyncio.get_running_loop().time() + within_s
    while not await replica.fetchval(REPLAYED, lsn):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the replica did not replay up to {lsn} in time")
        await asyncio.sleep(0.01)


def scores(n: int, *, prefix: str = "p", step: int = 10) -> list[ScoreInput]:
    """``n`` players with distinct fixed scores and fixed times (p001 is first on desc)."""
    return [
        ScoreInput(
            f"{prefix}{i:03d}", (n - i + 1) * step, {"n": i}, SEEDED_AT + timedelta(seconds=i)
        )
        for i in range(1, n + 1)
    ]


async def seed_board(
    store: Store, board: str, n: int, *, order: SortOrder = SortOrder.DESC
) -> None:
    await store.create_board(BoardSpec(id=board, order=order, max_score=10**9))
    if n:
        await store.submit(board, scores(n))


@contextlib.asynccontextmanager
async def fresh_runtime(
    primary: PostgresServer, replica: PostgresServer, settings: Settings, **options: Any
) -> AsyncIterator[LocalRuntime]:
    """A started runtime over a new database on the primary, read through the replica
    (``options``: more LocalRuntime arguments)."""
    name = f"lb_rest_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(primary.admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        dsn, reader_dsn = primary.admin_dsn, replica.admin_dsn
        dsn = dsn.rsplit("/", 1)[0] + f"/{name}"
        reader_dsn = reader_dsn.rsplit("/", 1)[0] + f"/{name}"
        await _wait_for_database(reader_dsn)
        runtime = LocalRuntime(settings, dsn=dsn, reader_dsn=reader_dsn, broadcast=False,
                               mounts=[mount_rest], **options)  # fmt: skip
        async with runtime:
            yield runtime
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _wait_for_database(dsn: str, within_s: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        try:
            conn = await asyncpg.connect(dsn)
        except asyncpg.InvalidCatalogNameError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.05)
        else:
            await conn.close()
            return


async def seed_fixed(store: Store) -> None:
    """The fixed data the Postman suite and the fuzzer run against, replicated."""
    await seed_board(store, "arena", 25)
    await seed_board(store, "archive", 5)
    await store.roll_season("archive", season="s2")
    await settle(store)
