"""The bare front door that ``bench submit`` and ``bench push`` measure the service against
does the least work it claims: one committed upsert per message, acked in the SDK's shape,
an ``@connections`` endpoint that answers 200 to the AWS adapter and does nothing, and a
fan-out trigger that sends one frame to every socket it holds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestServer
from botocore.credentials import Credentials
from websockets.asyncio.client import connect

from aws.connections import ConnectionsApiSender
from bench.bare import TABLE, app
from core.ids import ConnectionId
from db.store import create_pool
from leaderboard_client.submissions import Ack


@pytest.fixture
async def bare(database_dsn: str) -> AsyncIterator[tuple[TestServer, asyncpg.Pool]]:
    pool = await create_pool(database_dsn, min_size=1, max_size=2)
    await pool.execute(TABLE)
    server = TestServer(app(pool), host="127.0.0.1")
    await server.start_server()
    try:
        yield server, pool
    finally:
        await server.close()
        await pool.close()


async def test_each_message_is_one_committed_upsert_acked_in_the_sdk_shape(
    bare: tuple[TestServer, asyncpg.Pool],
) -> None:
    server, pool = bare
    async with connect(f"ws://127.0.0.1:{server.port}/prod?token=amy", proxy=None) as ws:
        for score, rid in ((5, "r1"), (9, "r2")):
            await ws.send(json.dumps({"action": "submit", "board": "b", "score": score,
                                      "request_id": rid}))  # fmt: skip
            frame = json.loads(await ws.recv())
            assert frame["type"] == "ack" and frame["request_id"] == rid
            assert Ack.of(frame).result.score == score
    row = await pool.fetchrow("SELECT score, updates FROM bench_bare WHERE player_id = 'amy'")
    assert (row["score"], row["updates"]) == (9, 2)


async def test_connections_posts_are_answered_and_do_nothing(
    bare: tuple[TestServer, asyncpg.Pool],
) -> None:
    server, _pool = bare
    sender = ConnectionsApiSender(
        endpoint_url=f"http://127.0.0.1:{server.port}/prod", region="us-east-1",
        credentials=Credentials("bench", "bench"),
    )  # fmt: skip
    try:
        report = await sender.deliver([(ConnectionId(f"c{i}"), "{}") for i in range(50)])
    finally:
        await sender.close()
    assert (report.delivered, report.gone, report.failed) == (50, [], [])


async def test_the_fanout_trigger_sends_the_frame_to_every_held_socket(
    bare: tuple[TestServer, asyncpg.Pool],
) -> None:
    server, _pool = bare
    frame = json.dumps({"type": "update", "seq": 7})
    sockets = [
        await connect(f"ws://127.0.0.1:{server.port}/fanout?token={i}", proxy=None)
        for i in range(3)
    ]
    try:
        async with aiohttp.ClientSession() as http:
            # the sockets are registered once upgraded; wait until all three are held
            for _ in range(100):
                async with http.post(f"http://127.0.0.1:{server.port}/fanout", data=frame) as r:
                    body = await r.json()
                if body["sockets"] == 3:
                    break
                await asyncio.sleep(0.01)
        assert (body["sockets"], body["sent"]) == (3, 3) and body["send_s"] > 0
        for ws in sockets:  # every frame sent is that one frame, unchanged
            assert await asyncio.wait_for(ws.recv(), 5) == frame
    finally:
        for ws in sockets:
            await ws.close()
