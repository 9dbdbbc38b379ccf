"""Read-your-writes on REST: a write answers its seq, and a read given `min_seq` shows it,
from the replica once it caught up, else from the primary."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator

import asyncpg
from websockets.asyncio.client import connect

from core.settings import Settings
from runtime.app import LocalRuntime
from runtime.postgres import EmbeddedCluster
from tests.rest.support import Client, replicated, token


@contextlib.asynccontextmanager
async def replay_paused(cluster: EmbeddedCluster) -> AsyncIterator[None]:
    """The replica stops applying the primary's WAL (it keeps answering, ever older)."""
    assert cluster.replica is not None
    conn = await asyncpg.connect(cluster.replica.admin_dsn)
    try:
        await conn.execute("SELECT pg_wal_replay_pause()")
        yield
    finally:
        await conn.execute("SELECT pg_wal_replay_resume()")
        await conn.close()


async def test_a_read_with_min_seq_sees_the_write_while_the_replica_lags(
    client: Client, runtime: LocalRuntime, migrated: EmbeddedCluster, settings_rest: Settings
) -> None:
    """With the replica stalled, a board just created and a score just acked are 404 on a
    plain read, and there on a read given the write's seq as `min_seq`."""
    board = f"ryw-{uuid.uuid4().hex[:8]}"
    admin = client.as_(token(settings_rest, "admin"))
    player = token(settings_rest, "player", "alice")
    await replicated(runtime.store.pool, runtime.store.read_pool)
    async with replay_paused(migrated):
        status, _, created = await admin.call("POST", "/v1/boards", json={"id": board})
        assert status == 201
        assert (await client.get(f"/v1/boards/{board}"))[0] == 404  # the replica lags
        status, _, found = await client.get(f"/v1/boards/{board}", min_seq=created["as_of_seq"])
        assert status == 200 and found["id"] == board

        async with connect(f"{runtime.ws_url}?token={player}", proxy=None) as ws:
            await ws.send(json.dumps({"action": "submit", "board": board, "score": 42}))
            ack = json.loads(await ws.recv())
        assert ack["type"] == "ack" and ack["seq"] >= 1
        path = f"/v1/boards/{board}/players/alice"
        assert (await client.get(path))[0] == 404
        status, _, mine = await client.get(path, min_seq=ack["seq"])
        assert status == 200 and mine["entry"]["score"] == 42
        assert mine["as_of_seq"] >= ack["seq"]
        for route in ("top", "friends?players=alice", "players/alice/around"):
            status, _, page = await client.get(f"/v1/boards/{board}/{route}", min_seq=ack["seq"])
            assert status == 200 and page["as_of_seq"] >= ack["seq"], (route, page)
            assert [e["player_id"] for e in page["entries"]] == ["alice"]
    await replicated(runtime.store.pool, runtime.store.read_pool)
    status, _, later = await client.get(f"/v1/boards/{board}/players/alice", min_seq=ack["seq"])
    assert status == 200 and later["entry"]["score"] == 42


async def test_min_seq_reads_keep_to_the_replica_when_it_is_current(
    client: Client, runtime: LocalRuntime, settings_rest: Settings
) -> None:
    """A replica that has the write answers a `min_seq` read itself, without waiting."""
    board = f"ryw-{uuid.uuid4().hex[:8]}"
    admin = client.as_(token(settings_rest, "admin"))
    status, _, created = await admin.call("POST", "/v1/boards", json={"id": board})
    assert status == 201
    await replicated(runtime.store.pool, runtime.store.read_pool)
    loop = asyncio.get_running_loop()
    started = loop.time()
    status, _, found = await client.get(f"/v1/boards/{board}", min_seq=created["as_of_seq"])
    assert status == 200 and found["id"] == board and loop.time() - started < 0.4
