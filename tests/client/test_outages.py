"""The SDK rides out outages: submits retry under one id within their time budget, errors
reach the request they answer, and an outbox replays unacked submits after a restart."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from leaderboard_client import ConflictError, LeaderboardClient, Outbox, UnavailableError
from runtime.app import LocalRuntime
from tests.outages import database_outage
from tests.runtime.gateway_support import ARENA, token

STORED = "SELECT count(*) FROM lb_submission WHERE submission_id = ANY($1::text[])"


@contextlib.asynccontextmanager
async def started(settings: Settings, dsn: str) -> AsyncIterator[LocalRuntime]:
    async with LocalRuntime(settings, dsn=dsn) as rt:
        await rt.store.create_board(ARENA)
        yield rt


def server(rt: LocalRuntime) -> str:
    return token(rt.settings, None, role="server", subject="game-server")


async def test_submits_during_an_outage_are_acked_once_it_ends(
    database_dsn: str, settings: Settings
) -> None:
    """Five concurrent submits on one client during a 3 s outage all wait it out and are
    acked, each stored exactly once (errors reach their own request by request_id)."""
    async with started(settings, database_dsn) as rt, \
            LeaderboardClient.connect(rt.ws_url, server(rt), min_backoff_s=0.05) as lb:  # fmt: skip
        ids = [f"outage-{i}" for i in range(5)]
        async with database_outage(database_dsn):
            calls = [
                asyncio.create_task(lb.submit("arena", 100 + i, player=f"p{i}", submission_id=sid))
                for i, sid in enumerate(ids)
            ]
            await asyncio.sleep(3)
            assert not any(c.done() for c in calls)
        acks = await asyncio.wait_for(asyncio.gather(*calls), 60)
        assert [a.result.score for a in acks] == [100, 101, 102, 103, 104]
        assert await rt.store.pool.fetchval(STORED, ids) == 5
        assert len((await rt.store.fetch_top("arena", limit=10)).entries) == 5


async def test_a_submit_gives_up_only_when_its_budget_is_spent(
    database_dsn: str, settings: Settings
) -> None:
    """With a 1 s budget a submit raises the typed UnavailableError after about 1 s."""
    async with started(settings, database_dsn) as rt, \
            LeaderboardClient.connect(rt.ws_url, server(rt), submit_budget_s=1.0) as lb:  # fmt: skip
        async with database_outage(database_dsn):
            started_at = asyncio.get_running_loop().time()
            with pytest.raises(UnavailableError) as info:
                await lb.submit("arena", 1, player="p", submission_id="gives-up")
            took = asyncio.get_running_loop().time() - started_at
        assert info.value.retry_after_ms is not None and info.value.retryable
        assert took < 10


async def test_the_outbox_replays_unacked_submits_after_a_restart(
    database_dsn: str, settings: Settings, tmp_path: Path
) -> None:
    """A submit that could not be acked stays in the outbox file; a new client on that file
    (a restarted game server) sends it again with its original id: stored exactly once."""
    outbox = tmp_path / "outbox.sqlite"
    async with started(settings, database_dsn) as rt:
        async with LeaderboardClient.connect(
            rt.ws_url, server(rt), outbox=outbox, submit_budget_s=0.5
        ) as lb:
            assert (await lb.submit("arena", 7, player="kept", submission_id="m1")).result
            async with database_outage(database_dsn):
                with pytest.raises(UnavailableError):
                    await lb.submit("arena", 9, player="late", submission_id="m2")
        pending = await Outbox(outbox).pending()
        assert [m["submission_id"] for m in pending] == ["m2"]
        async with LeaderboardClient.connect(rt.ws_url, server(rt), outbox=outbox) as lb:
            acks = await asyncio.wait_for(lb.flush_outbox(), 30)
        assert [(a.submission_id, a.result.player, a.result.score) for a in acks] == [
            ("m2", "late", 9)
        ]
        assert await Outbox(outbox).pending() == []
        assert await rt.store.pool.fetchval(STORED, ["m1", "m2"]) == 2


async def test_a_refused_submit_leaves_the_outbox(
    database_dsn: str, settings: Settings, tmp_path: Path
) -> None:
    """A submit the service refuses for good (a conflicting reuse of an id) is not kept."""
    outbox = tmp_path / "outbox.sqlite"
    async with started(settings, database_dsn) as rt, \
            LeaderboardClient.connect(rt.ws_url, server(rt), outbox=outbox) as lb:  # fmt: skip
        await lb.submit("arena", 1, player="a", submission_id="same")
        with pytest.raises(ConflictError):
            await lb.submit("arena", 2, player="a", submission_id="same")
        pending: list[dict[str, Any]] = await lb.outbox.pending() if lb.outbox else []
        assert pending == []
