"""Failing well at the front door: rate limits and overload are refused at once with typed
errors, health separates liveness from readiness, and a restarted runtime forgets the
connection rows its killed predecessor left."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from core.auth import Principal, Role
from core.ids import PlayerId
from core.settings import Settings
from runtime.app import LocalRuntime
from runtime.gateway import route_event
from runtime.postgres import free_port
from tests.runtime.gateway_support import ARENA, ask, open_ws, token


def submit(i: int, player: str = "alice") -> dict[str, Any]:
    return {"action": "submit", "board": "arena", "score": i, "player": player,
            "request_id": f"r{i}"}  # fmt: skip


async def test_a_connection_over_its_message_rate_gets_rate_limited(
    database_dsn: str, settings: Settings
) -> None:
    """Messages beyond a connection's burst are refused at once with a 429 `rate_limited`
    frame carrying their request_id and when to retry; after the pause they are served."""
    tight = settings.model_copy(update={"message_rate": 2.0, "message_burst": 2})
    async with LocalRuntime(tight, dsn=database_dsn) as rt:
        await rt.store.create_board(ARENA)
        async with open_ws(rt.ws_url, token(tight)) as ws:
            for i in range(4):
                await ws.send(json.dumps(submit(i)))
            frames = {}
            for _ in range(4):
                frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                frames[frame["request_id"]] = frame
            assert [frames[f"r{i}"]["type"] for i in range(4)] == ["ack", "ack", "error", "error"]
            error = frames["r2"]["error"]
            assert (error["code"], error["status"]) == ("rate_limited", 429)
            assert 0 < error["retry_after_ms"] <= 1000
            await asyncio.sleep(error["retry_after_ms"] / 1000)
            assert (await ask(ws, submit(9)))["type"] == "ack"
        assert rt.gateway.refused["rate_limited"] == 2


async def test_work_beyond_the_inflight_bound_is_refused_at_once_as_overloaded(
    database_dsn: str, settings: Settings
) -> None:
    """With the process holding its bound of messages, another connection's submit gets a
    503 `overloaded` frame at once (not after the queue), and is served once there is room."""
    release, started = asyncio.Event(), asyncio.Event()

    async def slow(event: dict[str, Any], services: Any) -> dict[str, Any]:
        if event["requestContext"]["routeKey"] == "submit":
            started.set()
            await release.wait()
        return await route_event(event, services)

    bounded = settings.model_copy(update={"max_inflight": 1})
    async with LocalRuntime(bounded, dsn=database_dsn, handler=slow) as rt:
        await rt.store.create_board(ARENA)
        async with open_ws(rt.ws_url, token(bounded, "a")) as a, \
                open_ws(rt.ws_url, token(bounded, "b")) as b:  # fmt: skip
            await a.send(json.dumps(submit(1, "a")))
            await asyncio.wait_for(started.wait(), 10)
            refused = await asyncio.wait_for(ask(b, submit(2, "b")), 5)
            assert refused["type"] == "error" and refused["request_id"] == "r2"
            assert (refused["error"]["code"], refused["error"]["status"]) == ("overloaded", 503)
            assert refused["error"]["retry_after_ms"] > 0
            release.set()
            assert json.loads(await asyncio.wait_for(a.recv(), 10))["type"] == "ack"
            assert (await ask(b, submit(2, "b")))["type"] == "ack"
        assert rt.gateway.inflight == 0


async def test_liveness_and_readiness(database_dsn: str, settings: Settings) -> None:
    """/health/live answers while the process runs; /health/ready (and /health) is 200 with
    the reader down (degraded: reads fail over) and 503 once the primary does not answer."""
    dead_reader = database_dsn.rsplit("@", 1)[0] + f"@127.0.0.1:{free_port()}/nothing"
    async with LocalRuntime(settings, dsn=database_dsn, reader_dsn=dead_reader) as rt, \
            aiohttp.ClientSession() as http:  # fmt: skip
        for path in ("/health/ready", "/health"):
            async with http.get(f"{rt.http_url}{path}") as resp:
                body = await resp.json()
                assert resp.status == 200, body
                assert body["status"] == "degraded" and body["databases"]["primary"] == "ok"
                assert body["databases"]["reader"].startswith("unreachable")
        rt.store.pool.terminate()
        async with http.get(f"{rt.http_url}/health/ready") as resp:
            assert resp.status == 503 and (await resp.json())["status"] == "unavailable"
        async with http.get(f"{rt.http_url}/health/live") as resp:
            assert resp.status == 200 and (await resp.json())["status"] == "ok"


async def test_a_restarted_runtime_removes_the_connection_rows_its_predecessor_left(
    database_dsn: str, settings: Settings
) -> None:
    """Connection rows of a killed process of the same runtime are deleted on start; rows
    of other runtimes are not; new connections carry the runtime's prefix."""
    who = Principal(subject="alice", player_id=PlayerId("alice"), role=Role.PLAYER)
    async with LocalRuntime(settings, dsn=database_dsn, runtime_id="rt01") as rt:
        await rt.services.connections.add("rt01abcdefghijk=", who)  # left by a killed process
        await rt.services.connections.add("zz99abcdefghijk=", who)  # another runtime's
    async with LocalRuntime(settings, dsn=database_dsn, runtime_id="rt01") as rt:
        rows = await rt.store.pool.fetch("SELECT connection_id FROM lb_connection")
        assert [r["connection_id"] for r in rows] == ["zz99abcdefghijk="]
        await rt.store.create_board(ARENA)
        async with open_ws(rt.ws_url, token(settings)) as ws:
            await ws.ping()
            assert [c.connection_id[:4] for c in rt.sender] == ["rt01"]
