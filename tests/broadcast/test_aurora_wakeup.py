"""The Aurora wake-up path, on plain PostgreSQL with a stand-in ``aws_lambda.invoke``."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import asyncpg
import pytest

from broadcast.worker import Broadcaster
from core.boards import BoardSpec
from core.ranking import ScoreInput
from core.settings import Settings
from db.wakeup import install_aurora_wakeup
from runtime.app import LocalRuntime
from tests.broadcast.watchers import Watcher, watcher
from tests.postgres_fixtures import writer_in_flight

ARN = "arn:aws:lambda:eu-west-1:123456789012:function:broadcaster"

# What Aurora's extension provides, reduced to recording its calls. The sequence is not
# transactional, like the real invoke: it counts calls made by rolled-back transactions.
STAND_IN = """
CREATE SCHEMA aws_commons;
CREATE SCHEMA aws_lambda;
CREATE FUNCTION aws_commons.create_lambda_function_arn(arn text, region text)
RETURNS text LANGUAGE sql AS $$ SELECT arn || '@' || region $$;
CREATE SEQUENCE aws_lambda.calls;
CREATE TABLE aws_lambda.invocations (fn text, payload json, kind text);
CREATE FUNCTION aws_lambda.invoke(fn text, payload json, kind text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('aws_lambda.calls');
    INSERT INTO aws_lambda.invocations VALUES (fn, payload, kind);
END $$;
"""


@pytest.fixture
async def aurora_like(database_dsn: str) -> str:
    conn = await asyncpg.connect(database_dsn)
    try:
        await conn.execute(STAND_IN)
        assert await install_aurora_wakeup(conn, ARN, "eu-west-1")
    finally:
        await conn.close()
    return database_dsn


async def test_wakeup_is_not_installed_without_aws_lambda(database_dsn: str) -> None:
    """On a PostgreSQL without the aws_lambda extension nothing is installed."""
    conn = await asyncpg.connect(database_dsn)
    try:
        assert not await install_aurora_wakeup(conn, ARN, "eu-west-1")
        assert not await conn.fetchval(
            "SELECT 1 FROM pg_trigger WHERE tgname = 'lb_event_wake_broadcaster'"
        )
    finally:
        await conn.close()


async def test_a_submit_invokes_the_broadcaster_asynchronously(
    aurora_like: str, settings: Settings
) -> None:
    """A committed submit calls aws_lambda.invoke with the board payload and type 'Event'."""
    async with LocalRuntime(settings, dsn=aurora_like, broadcast=False) as rt:
        await rt.store.create_board(BoardSpec(id="arena"))
        await rt.store.submit("arena", [ScoreInput("a", 5), ScoreInput("b", 7)])
        calls = await rt.store.pool.fetch(
            "SELECT fn, payload::text, kind FROM aws_lambda.invocations"
        )
        assert [(c["fn"], json.loads(c["payload"]), c["kind"]) for c in calls] == [
            (f"{ARN}@eu-west-1", {"source": "postgres", "board": "arena"}, "Event")
        ]


@contextlib.asynccontextmanager
async def _arena_on_screen(
    dsn: str, settings: Settings
) -> AsyncIterator[tuple[LocalRuntime, Broadcaster, Watcher, str]]:
    """A runtime without its own broadcaster (Aurora's invoke stands in for the wake-up),
    a board, a broadcaster to hand payloads to, and a spectator watching its top 5."""
    async with LocalRuntime(settings, dsn=dsn, broadcast=False) as rt:
        await rt.store.create_board(BoardSpec(id="arena"))
        svc = rt.services
        broadcaster = Broadcaster(svc)
        async with watcher(rt, None, role="spectator") as screen:
            top = await screen.subscribe({"board": "arena", "view": "top", "n": 5})
            screen.listen()
            yield rt, broadcaster, screen, top


async def test_the_payload_drives_a_round_and_a_rollback_sends_nothing(
    aurora_like: str, settings: Settings
) -> None:
    """The invoke payload makes the broadcaster push committed changes; a rolled-back
    transaction still invokes (not transactional) but nothing uncommitted is pushed."""
    async with _arena_on_screen(aurora_like, settings) as (rt, broadcaster, screen, top):
        async with writer_in_flight(aurora_like, "arena", "ghost", 9) as tx:
            await tx.rollback()
        assert await rt.store.pool.fetchval("SELECT last_value FROM aws_lambda.calls") == 1
        result = await broadcaster.handle({"source": "postgres", "board": "arena"})
        assert result["frames"] == 0
        await rt.store.submit("arena", [ScoreInput("real", 3)])
        payload = json.loads(
            await rt.store.pool.fetchval(
                "SELECT payload::text FROM aws_lambda.invocations ORDER BY ctid DESC LIMIT 1"
            )
        )
        result = await broadcaster.handle(payload)
        assert result["frames"] == 1
        await asyncio.sleep(0.1)
        assert [e["player"] for e in screen.last(top)["entries"]] == ["real"]


async def test_a_round_woken_before_the_commit_pushes_it_without_holding_writers(
    aurora_like: str, settings: Settings
) -> None:
    """aws_lambda.invoke fires before its writer commits. The round it starts keeps coming
    back while that writer is in flight, pushes the change once it commits, and meanwhile
    every other writer of the board goes ahead (sequencing never makes one wait)."""
    async with _arena_on_screen(aurora_like, settings) as (rt, broadcaster, screen, top):
        async with writer_in_flight(aurora_like, "arena", "early", 9) as tx:
            # invoked already, before the commit (the stand-in's record of the payload
            # is transactional, its call counter is not)
            assert await rt.store.pool.fetchval("SELECT last_value FROM aws_lambda.calls") == 1
            payload = {"source": "postgres", "board": "arena"}
            handling = asyncio.create_task(broadcaster.handle(payload))
            await asyncio.wait_for(rt.store.submit("arena", [ScoreInput("other", 3)]), 2)
            await asyncio.sleep(0.3)
            assert not handling.done()  # still coming back for the writer in flight
            await tx.commit()
        result = await asyncio.wait_for(handling, 10)
        assert result["frames"] >= 1
        await asyncio.sleep(0.1)
        assert [e["player"] for e in screen.last(top)["entries"]] == ["early", "other"]


FAILING_INVOKE = """
CREATE OR REPLACE FUNCTION aws_lambda.invoke(fn text, payload json, kind text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('aws_lambda.calls');
    RAISE EXCEPTION 'AccessDeniedException: not authorized to perform lambda:InvokeFunction'
        USING ERRCODE = 'XX000';
END $$;
"""
CALLS = "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM aws_lambda.calls"


async def _set_lease_ms(dsn: str, ms: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO lb_setting VALUES ('wake_lease_ms', $1) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            str(ms),
        )
    finally:
        await conn.close()


async def test_a_failing_invoke_never_fails_a_write_and_the_sweep_pushes(
    aurora_like: str, settings: Settings
) -> None:
    """With an invoke that raises (as an IAM, network or throttling error would), every
    submit still commits; the failure is recorded, and the minute sweep pushes every
    event, counts the failures for the alarm and clears them."""
    async with _arena_on_screen(aurora_like, settings) as (rt, broadcaster, screen, top):
        await rt.store.pool.execute(FAILING_INVOKE)
        players = [f"p{i}" for i in range(20)]
        results = await asyncio.gather(
            *(rt.store.submit("arena", [ScoreInput(p, 100 + i)]) for i, p in enumerate(players))
        )
        assert len(results) == len(players)
        stored = await rt.store.fetch_top("arena", limit=100)
        assert {e.player_id for e in stored.entries} == set(players)
        failed = await rt.store.pool.fetchval("SELECT count(*) FROM lb_wakeup_failure")
        assert failed >= 1 and await rt.store.pool.fetchval(CALLS) == failed
        error = await rt.store.pool.fetchval("SELECT error FROM lb_wakeup_failure LIMIT 1")
        assert "AccessDeniedException" in error

        swept = await broadcaster.handle({"source": "sweep"})
        assert swept["wakeup_failures"] == failed and swept["frames"] >= 1
        assert await rt.store.pool.fetchval("SELECT count(*) FROM lb_wakeup_failure") == 0
        await asyncio.sleep(0.2)
        expected = [p for _, p in sorted((100 + i, p) for i, p in enumerate(players))][::-1][:5]
        assert [e["player"] for e in screen.last(top)["entries"]] == expected


async def test_concurrent_writers_within_one_lease_invoke_once(
    aurora_like: str, settings: Settings
) -> None:
    """Fifty writers of one board at once, within one lease, make one invoke between them;
    once a woken broadcaster has drained the board and let the lease go, the next write
    invokes again."""
    await _set_lease_ms(aurora_like, 5000)
    async with _arena_on_screen(aurora_like, settings) as (rt, broadcaster, _, _):
        await asyncio.gather(
            *(rt.store.submit("arena", [ScoreInput(f"w{i}", i)]) for i in range(50))
        )
        assert await rt.store.pool.fetchval(CALLS) == 1
        await broadcaster.handle({"source": "postgres", "board": "arena"})
        await rt.store.submit("arena", [ScoreInput("later", 1000)])
        assert await rt.store.pool.fetchval(CALLS) == 2


async def test_writers_make_no_invoke_while_a_broadcaster_drains(
    aurora_like: str, settings: Settings
) -> None:
    """A woken broadcaster keeps the lease while writes keep coming (longer than several
    leases), so those writes invoke nothing; it pushes them all, then lets the lease go."""
    await _set_lease_ms(aurora_like, 300)
    async with _arena_on_screen(aurora_like, settings) as (rt, broadcaster, screen, top):
        await rt.store.submit("arena", [ScoreInput("first", 1)])
        assert await rt.store.pool.fetchval(CALLS) == 1
        draining = asyncio.create_task(broadcaster.handle({"source": "postgres", "board": "arena"}))
        for i in range(40):  # 1.2 s of writes, four leases' worth
            await rt.store.submit("arena", [ScoreInput(f"s{i}", 10 + i)])
            await asyncio.sleep(0.03)
        result = await asyncio.wait_for(draining, 10)
        assert await rt.store.pool.fetchval(CALLS) <= 2  # at most one if the machine stalls
        assert result["events"] == 41
        await asyncio.sleep(0.2)
        assert screen.last(top)["entries"][0]["player"] == "s39"
