"""The LocalRuntime's lifecycle: health, shutdown, background jobs, mounts and its own cluster."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from websockets.exceptions import ConnectionClosed

from core.ids import ConnectionId
from core.settings import Settings
from db.services import Services
from runtime.app import LocalRuntime, PeriodicJob
from tests.runtime.gateway_support import ARENA, ask, counts, eventually, open_ws, token


async def test_health_reports_the_database(runtime: LocalRuntime) -> None:
    """GET /health answers 200 with status ok when the database answers."""
    async with aiohttp.ClientSession() as http, http.get(f"{runtime.http_url}/health") as resp:
        assert resp.status == 200
        body = await resp.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["connections"] == 0


async def test_health_is_503_when_the_database_does_not_answer(
    database_dsn: str, settings: Settings
) -> None:
    """GET /health answers 503 'unreachable' once the pool cannot reach the database."""
    async with LocalRuntime(settings, dsn=database_dsn) as rt:
        rt.store.pool.terminate()
        async with aiohttp.ClientSession() as http, http.get(f"{rt.http_url}/health") as resp:
            assert resp.status == 503
            assert (await resp.json())["database"] == "unreachable"


async def test_stop_closes_clients_1001_and_runs_their_disconnects(
    database_dsn: str, settings: Settings
) -> None:
    """Stopping the runtime closes every socket with 1001 and deletes their connection rows."""
    rt = await LocalRuntime(settings, dsn=database_dsn).start()
    try:
        async with open_ws(rt.ws_url, token(settings, "a")) as a, \
                open_ws(rt.ws_url, token(settings, "b")) as b:  # fmt: skip
            await (await a.ping())
            await (await b.ping())
            assert len(rt.sender) == 2
            await rt.stop()
            for ws in (a, b):
                with pytest.raises(ConnectionClosed) as info:
                    await asyncio.wait_for(ws.recv(), 10)
                assert info.value.rcvd is not None and info.value.rcvd.code == 1001
    finally:
        await rt.stop()
    conn = await asyncpg.connect(database_dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM lb_connection") == 0
    finally:
        await conn.close()


async def test_restart_websockets_drops_connections_and_accepts_new_ones(
    runtime: LocalRuntime,
) -> None:
    """restart_websockets closes every socket (1001, $disconnect run); clients may reconnect."""
    tok = token(runtime.settings)
    async with open_ws(runtime.ws_url, tok) as ws:
        await (await ws.ping())
        await runtime.restart_websockets()
        assert (await counts(runtime.store.pool))["connections"] == 0
        with pytest.raises(ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), 10)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1001
    async with open_ws(runtime.ws_url, tok) as ws:
        assert (await ask(ws, {"action": "submit", "board": "arena", "score": 3}))["type"] == "ack"


async def test_the_maintenance_job_sequences_events_and_folds_deltas(
    runtime: LocalRuntime,
) -> None:
    """Within moments of a submit its change event has a seq and its rank deltas are folded."""
    async with open_ws(runtime.ws_url, token(runtime.settings)) as ws:
        await ask(ws, {"action": "submit", "board": "arena", "score": 5})
    pool = runtime.store.pool

    async def maintained() -> bool:
        pending = await pool.fetchval("SELECT count(*) FROM lb_event WHERE seq IS NULL")
        deltas = await pool.fetchval("SELECT count(*) FROM lb_rank_delta")
        return bool(pending == 0 and deltas == 0)

    await eventually(maintained)
    assert await pool.fetchval("SELECT seq FROM lb_board WHERE board_id = 'arena'") == 1


async def test_added_jobs_run_periodically_and_stop_with_the_runtime(
    database_dsn: str, settings: Settings
) -> None:
    """A PeriodicJob added before start runs repeatedly, survives failures and stops on stop."""
    runs: list[int] = []

    async def job() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("first run fails")

    rt = LocalRuntime(settings, dsn=database_dsn)
    rt.add_job(PeriodicJob("probe", 0.01, job))
    async with rt:
        await eventually(lambda: _at_least(runs, 3))
        with pytest.raises(RuntimeError):
            rt.add_job(PeriodicJob("late", 1, job))
    stopped = len(runs)
    await asyncio.sleep(0.05)
    assert len(runs) == stopped


async def _at_least(items: list[Any], n: int) -> bool:
    return len(items) >= n


async def test_mounts_add_routes_next_to_the_gateway(database_dsn: str, settings: Settings) -> None:
    """A Mount adds routes (the later REST adapter) served by the same server."""

    def mount(app: web.Application, services: Services) -> None:
        async def boards(request: web.Request) -> web.Response:
            return web.json_response([b.id for b in await services.store.list_boards()])

        app.router.add_get("/boards", boards)

    async with LocalRuntime(settings, dsn=database_dsn, mounts=[mount]) as rt:
        await rt.store.create_board(ARENA)
        async with aiohttp.ClientSession() as http, http.get(f"{rt.http_url}/boards") as resp:
            assert await resp.json() == ["arena"]


async def test_the_websocket_endpoint_answers_on_every_path(runtime: LocalRuntime) -> None:
    """The WebSocket endpoint answers at /, /ws and /{stage}."""
    for path in ("/", "/ws", f"/{runtime.settings.ws_stage}"):
        base = f"ws://{runtime.host}:{runtime.port}{path}"
        async with open_ws(base, token(runtime.settings)) as ws:
            reply = await ask(ws, {"action": "subscribe", "board": "arena", "view": "top"})
            assert reply["type"] == "snapshot"


async def test_send_many_writes_concurrently_and_collects_gone_connections(
    runtime: LocalRuntime,
) -> None:
    """send_many delivers to every live connection and returns the unknown ones."""
    async with open_ws(runtime.ws_url, token(runtime.settings, "a")) as a, \
            open_ws(runtime.ws_url, token(runtime.settings, "b")) as b:  # fmt: skip
        await eventually(lambda: _live(runtime, 2))
        ids = [c.connection_id for c in runtime.sender]
        ghost = ConnectionId("ghostghostghos=")
        gone = await runtime.sender.send_many([(ids[0], '"one"'), (ghost, '"x"'),
                                               (ids[1], '"two"')])  # fmt: skip
        assert gone == [ghost]
        got = {json.loads(await asyncio.wait_for(ws.recv(), 10)) for ws in (a, b)}
        assert got == {"one", "two"}


async def test_a_client_that_stops_reading_is_dropped_not_waited_for(
    runtime: LocalRuntime,
) -> None:
    """Frames to a client whose socket backs up wait a bounded time; then that client is
    dropped and reported gone, while a reading client got its frames."""
    runtime.sender.slow_write_timeout_s = 1.0
    async with open_ws(runtime.ws_url, token(runtime.settings, "a")) as a, \
            open_ws(runtime.ws_url, token(runtime.settings, "s"), max_queue=1) as stalled:  # fmt: skip
        await eventually(lambda: _live(runtime, 2))
        owner = {c.connection_id: (await runtime.services.connections.get(c.connection_id))
                 .principal.player_id for c in runtime.sender}  # fmt: skip
        reader = next(cid for cid, player in owner.items() if player == "a")
        staller = next(cid for cid, player in owner.items() if player == "s")
        big = json.dumps("x" * 30_000)
        frames = [(reader, '"hello"')] + [(staller, big)] * 300  # ~9 MB: past any buffer
        started = asyncio.get_running_loop().time()
        gone = await runtime.sender.send_many(frames)
        assert asyncio.get_running_loop().time() - started < 10
        assert gone == [staller]
        assert json.loads(await asyncio.wait_for(a.recv(), 10)) == "hello"
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(stalled.recv(), 20)
        await eventually(lambda: _live(runtime, 1))


async def test_a_client_stuck_behind_its_backlog_is_dropped_later(runtime: LocalRuntime) -> None:
    """Frames queued for a client that stops reading wait in its outbox, not in the caller;
    if the client stays stuck past the slow-write timeout it is dropped."""
    runtime.sender.slow_write_timeout_s = 1.0
    runtime.sender.outbox_limit_bytes = 100 << 20
    async with open_ws(runtime.ws_url, token(runtime.settings, "s"), max_queue=1) as stalled:
        await eventually(lambda: _live(runtime, 1))
        (staller,) = [c.connection_id for c in runtime.sender]
        big = json.dumps("x" * 30_000)
        started = asyncio.get_running_loop().time()
        assert await runtime.sender.send_many([(staller, big)] * 300) == []
        assert asyncio.get_running_loop().time() - started < 1.0  # queued, not awaited
        await eventually(lambda: _live(runtime, 0))  # while the client reads nothing
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(stalled.recv(), 20)


async def _live(rt: LocalRuntime, n: int) -> bool:
    return len(rt.sender) == n


async def test_the_runtime_starts_its_own_cluster_when_given_no_dsn(
    tmp_path: Path, settings: Settings
) -> None:
    """Without a DSN the runtime runs the embedded primary and replica under data_dir."""
    async with LocalRuntime(settings, data_dir=tmp_path / "pg") as rt:
        assert rt.store.read_pool is not rt.store.pool
        await rt.store.create_board(ARENA)
        async with open_ws(rt.ws_url, token(settings)) as ws:
            ack = await ask(ws, {"action": "submit", "board": "arena", "score": 9})
            assert ack["results"][0]["rank"] == 1
    assert (tmp_path / "pg" / "primary" / "PG_VERSION").exists()
    assert (tmp_path / "pg" / "replica" / "PG_VERSION").exists()
