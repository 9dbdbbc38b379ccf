"""Fixtures of the REST tests: one embedded primary with a real streaming replica, and one
local runtime over them whose REST adapter reads from the replica.

Every REST read goes to the replica, so this suite keeps the embedded pair even when
``LEADERBOARD_TEST_DSN`` points the other suites at another server (CI's PostgreSQL 15
run: that server admits no replication connections, so no replica can be made of it)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from core.settings import Settings
from db.migrate import migrate
from runtime.app import LocalRuntime
from runtime.postgres import EmbeddedCluster
from runtime.rest_gateway import RestGateway, install_rest
from tests.rest.support import Client, rest_settings, token


@pytest.fixture(scope="session")
def cluster() -> Iterator[EmbeddedCluster]:
    """An embedded primary and its streaming replica, for the whole session."""
    root = Path(tempfile.mkdtemp(prefix="lb-rest-pg-"))
    cluster = EmbeddedCluster(root, fsync=False).start()
    try:
        cluster.start_replica()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
async def migrated(cluster: EmbeddedCluster) -> EmbeddedCluster:
    conn = await asyncpg.connect(cluster.primary.dsn)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return cluster


@pytest.fixture(scope="session")
def settings_rest() -> Settings:
    return rest_settings()


@pytest.fixture(scope="session")
async def rest_runtime(
    migrated: EmbeddedCluster, settings_rest: Settings
) -> AsyncIterator[tuple[LocalRuntime, RestGateway]]:
    """A started runtime (primary + replica) with the REST API mounted; its gateway."""
    assert migrated.replica is not None
    gateways: list[RestGateway] = []
    runtime = LocalRuntime(
        settings_rest, dsn=migrated.primary.dsn, reader_dsn=migrated.replica.dsn,
        mounts=[lambda app, svc: gateways.append(install_rest(app, svc))], broadcast=False,
    )  # fmt: skip
    async with runtime:
        yield runtime, gateways[0]


@pytest.fixture(scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def client(
    rest_runtime: tuple[LocalRuntime, RestGateway],
    http: aiohttp.ClientSession,
    settings_rest: Settings,
) -> Client:
    """A spectator's client of the REST runtime (``.as_(tok)`` for another token)."""
    return Client(rest_runtime[0].http_url, http, token(settings_rest, "spectator"))


@pytest.fixture
def runtime(rest_runtime: tuple[LocalRuntime, RestGateway]) -> LocalRuntime:
    return rest_runtime[0]
