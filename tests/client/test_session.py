"""The SDK against the real local runtime: reconnects, idempotent retries, typed errors."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pytest

from authorizer.handler import authorize
from authorizer.tokens import TokenVerifier
from core.errors import Unauthorized
from core.ids import ConnectionId
from core.ranking import ScoreInput
from core.settings import Settings
from db.services import Services
from leaderboard_client import (
    BadRequestError,
    ConflictError,
    ConnectionLost,
    ForbiddenError,
    InternalError,
    LeaderboardClient,
    NotFoundError,
    PayloadTooLargeError,
    UnauthorizedError,
)
from runtime.app import LocalRuntime
from runtime.gateway import route_event
from tests.runtime.gateway_support import ARENA, token


def spectator(rt: LocalRuntime) -> str:
    return token(rt.settings, None, role="spectator", subject="screen")


def server(rt: LocalRuntime) -> str:
    return token(rt.settings, None, role="server", subject="game-server")


async def top(rt: LocalRuntime, n: int = 10) -> list[tuple[str, int]]:
    page = await rt.store.fetch_top("arena", limit=n)
    return [(e.player_id, e.score) for e in page.entries]


@contextlib.asynccontextmanager
async def started(settings: Settings, dsn: str, **options: Any) -> AsyncIterator[LocalRuntime]:
    async with LocalRuntime(settings, dsn=dsn, **options) as rt:
        await rt.store.create_board(ARENA)
        yield rt


# --- reconnect and resync -------------------------------------------------------------


async def test_a_dropped_connection_reconnects_and_resyncs_every_view(
    runtime: LocalRuntime,
) -> None:
    """The server drops the socket (1001); the SDK redials, resubscribes, and its next
    state is a resynced snapshot showing what changed while it was away."""
    rt = runtime
    await rt.store.submit("arena", [ScoreInput("a", 10)])
    async with LeaderboardClient.connect(rt.ws_url, spectator(rt), min_backoff_s=0.2) as lb:
        board = await lb.subscribe("arena", view="top", n=3)
        first = await anext(board)
        assert [(e.player, e.rank) for e in first.entries] == [("a", 1)]
        await rt.restart_websockets()
        await rt.store.submit("arena", [ScoreInput("b", 20)])  # while it is away
        state = await asyncio.wait_for(anext(board), 10)
        while not state.resynced:  # an update may beat the drop; the resync follows
            state = await asyncio.wait_for(anext(board), 10)
        assert lb.reconnects == 1 and lb.connected
        assert [(e.player, e.rank) for e in state.entries] == [("b", 1), ("a", 2)]
        assert state.seq == (await rt.store.get_board("arena")).seq
        await rt.store.submit("arena", [ScoreInput("c", 30)])
        state = await asyncio.wait_for(anext(board), 10)
        assert not state.resynced
        assert [e.player for e in state.entries] == ["c", "b", "a"]


async def test_a_request_made_while_disconnected_waits_for_the_redial(
    runtime: LocalRuntime,
) -> None:
    """A submit issued right after the drop is sent once the SDK is connected again."""
    rt = runtime
    async with LeaderboardClient.connect(rt.ws_url, server(rt), min_backoff_s=0.3) as lb:
        await rt.restart_websockets()
        ack = await lb.submit("arena", 5, player="p")
        assert ack.result.rank == 1 and not ack.replayed
    assert await top(rt) == [("p", 5)]


class SwallowReplies:
    """A sender that loses the replies of one route call (as a dropped connection would)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def send(self, connection_id: ConnectionId, data: str) -> None:
        return None

    async def send_many(self, frames: Sequence[tuple[ConnectionId, str]]) -> list[ConnectionId]:
        result: list[ConnectionId] = await self.inner.send_many(frames)
        return result


@dataclass
class LoseFirstAck:
    """A route handler that commits the first submit, then drops the connection unanswered."""

    runs: int = 0

    async def __call__(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        ctx = event["requestContext"]
        if ctx["routeKey"] != "submit" or self.runs:
            return await route_event(event, services)
        self.runs += 1
        result = await route_event(event, replace(services, sender=SwallowReplies(services.sender)))
        sender: Any = services.sender
        asyncio.get_running_loop().create_task(sender.close(ctx["connectionId"], code=1011))
        return result


async def test_a_submit_whose_ack_was_lost_is_retried_and_counted_once(
    database_dsn: str, settings: Settings
) -> None:
    """The first attempt commits but its ack is lost with the connection: the retry
    carries the same submission id and gets the first result back, ``replayed``."""
    lossy = LoseFirstAck()
    async with started(settings, database_dsn, handler=lossy) as rt:
        async with LeaderboardClient.connect(rt.ws_url, server(rt), min_backoff_s=0.05) as lb:
            ack = await lb.submit("arena", 700, player="alice", submission_id="match-1-alice")
            assert lossy.runs == 1 and lb.reconnects == 1
            assert ack.replayed and ack.submission_id == "match-1-alice"
            assert (ack.result.player, ack.result.score, ack.result.rank) == ("alice", 700, 1)
        page = await rt.store.fetch_top("arena", limit=10)
        assert [(e.player_id, e.score, e.updates) for e in page.entries] == [("alice", 700, 1)]
        assert await rt.store.pool.fetchval("SELECT count(*) FROM lb_submission") == 1


async def test_resending_a_submission_id_replays_and_another_payload_conflicts(
    runtime: LocalRuntime,
) -> None:
    """The same id and scores answer the first result again; other scores are a conflict."""
    rt = runtime
    async with LeaderboardClient.connect(rt.ws_url, server(rt)) as lb:
        first = await lb.submit_batch("arena", [("a", 3), ("b", 9)], submission_id="round-7")
        again = await lb.submit_batch("arena", [("a", 3), ("b", 9)], submission_id="round-7")
        assert not first.replayed and again.replayed
        assert [(r.player, r.rank) for r in again.results] == [
            (r.player, r.rank) for r in first.results
        ]
        with pytest.raises(ConflictError):
            await lb.submit_batch("arena", [("a", 4)], submission_id="round-7")
    assert await top(rt) == [("b", 9), ("a", 3)]


# --- typed errors -----------------------------------------------------------------------


async def test_each_service_error_raises_its_class_and_the_connection_stays_usable(
    runtime: LocalRuntime,
) -> None:
    """Unknown board, wrong role, bad score, oversize metadata, too big a view: each is
    its own class with the service's code; the client keeps working afterwards."""
    rt = runtime
    async with (
        LeaderboardClient.connect(rt.ws_url, token(rt.settings, "alice")) as alice,
        LeaderboardClient.connect(rt.ws_url, spectator(rt)) as screen,
    ):
        cases: list[tuple[Any, type[Exception], str]] = [
            (alice.submit("nowhere", 1), NotFoundError, "unknown_board"),
            (alice.submit("arena", 1, player="bob"), ForbiddenError, "not_your_player"),
            (alice.submit("arena", 2_000_000), BadRequestError, "score_out_of_range"),
            (alice.submit("arena", 1, metadata={"x": "y" * 2000}), PayloadTooLargeError,
             "metadata_too_large"),
            (screen.submit("arena", 1, player="bob"), ForbiddenError, "role_not_allowed"),
            (screen.subscribe("arena", n=1000), BadRequestError, "view_too_large"),
            (screen.subscribe("nowhere"), NotFoundError, "unknown_board"),
        ]  # fmt: skip
        for call, kind, code in cases:
            with pytest.raises(kind) as caught:
                await call
            assert caught.value.code == code, caught.value  # type: ignore[attr-defined]
        ack = await alice.submit("arena", 1)
        assert ack.result.rank == 1


async def test_a_bad_token_is_refused_on_connect_with_unauthorized(runtime: LocalRuntime) -> None:
    """The upgrade answered 401 raises UnauthorizedError, before any request."""
    bad = token(runtime.settings, "alice", secret="a-different-secret-of-enough-bytes!")
    with pytest.raises(UnauthorizedError) as caught:
        async with LeaderboardClient.connect(runtime.ws_url, bad):
            pass
    assert caught.value.status == 401


async def test_a_crashed_route_raises_internal_error(database_dsn: str, settings: Settings) -> None:
    """API Gateway's ``Internal server error`` frame fails the waiting request."""

    async def crash_on_boom(event: dict[str, Any], services: Services) -> dict[str, Any]:
        if '"boom"' in (event.get("body") or ""):
            raise RuntimeError("the route crashed")
        return await route_event(event, services)

    async with (
        started(settings, database_dsn, handler=crash_on_boom) as rt,
        LeaderboardClient.connect(rt.ws_url, spectator(rt)) as lb,
    ):
        with pytest.raises(InternalError) as caught:
            await lb.subscribe("boom")
        assert caught.value.retryable
        assert (await anext(await lb.subscribe("arena"))).entries == []


@dataclass
class Revocable:
    """The runtime's authorizer, until ``revoked``: then every token is refused (401)."""

    verifier: TokenVerifier
    revoked: bool = False

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        if self.revoked:
            raise Unauthorized("token revoked", code="unauthorized")
        return authorize(event, verifier=self.verifier)


async def test_a_redial_refused_as_unauthorized_ends_subscriptions_and_requests(
    database_dsn: str, settings: Settings
) -> None:
    """When the token is no longer accepted the SDK stops redialing: iteration and new
    requests raise UnauthorizedError instead of waiting forever."""
    auth = Revocable(TokenVerifier(settings=settings))
    async with (
        started(settings, database_dsn, authorizer=auth) as rt,
        LeaderboardClient.connect(rt.ws_url, spectator(rt), min_backoff_s=0.05) as lb,
    ):
        board = await lb.subscribe("arena")
        await anext(board)
        auth.revoked = True
        await rt.restart_websockets()
        with pytest.raises(UnauthorizedError):
            await asyncio.wait_for(anext(board), 10)
        with pytest.raises(UnauthorizedError):
            await lb.submit("arena", 1, player="x")
        assert not lb.connected


# --- subscriptions -------------------------------------------------------------------


async def test_two_consumers_of_one_view_share_it_and_closing_one_keeps_the_other(
    runtime: LocalRuntime,
) -> None:
    """The same view twice is one server subscription; each consumer sees every state."""
    rt = runtime
    async with LeaderboardClient.connect(rt.ws_url, spectator(rt)) as lb:
        one = await lb.subscribe("arena", n=5)
        two = await lb.subscribe("arena", n=5)
        assert one.view_id == two.view_id
        assert (await anext(one)).seq == (await anext(two)).seq
        await one.aclose()
        with pytest.raises(StopAsyncIteration):
            await anext(one)
        await rt.store.submit("arena", [ScoreInput("z", 1)])
        state = await asyncio.wait_for(anext(two), 10)
        assert [e.player for e in state.entries] == ["z"]
        await two.aclose()
        count = await rt.store.pool.fetchval("SELECT count(*) FROM lb_subscription")
        assert count == 0


async def test_closing_the_client_ends_iteration_and_fails_pending_requests(
    runtime: LocalRuntime,
) -> None:
    """After close, an iteration stops and a request raises ConnectionLost."""
    lb = await LeaderboardClient.connect(runtime.ws_url, spectator(runtime))
    board = await lb.subscribe("arena")
    await anext(board)
    await lb.close()
    with pytest.raises(StopAsyncIteration):
        await anext(board)
    with pytest.raises(ConnectionLost):
        await lb.request({"action": "subscribe", "board": "arena", "view": "top"})


async def test_the_me_view_follows_the_tokens_player(runtime: LocalRuntime) -> None:
    """A player's ``me`` view starts empty and then shows their own rank and score."""
    rt = runtime
    async with LeaderboardClient.connect(rt.ws_url, token(rt.settings, "alice")) as lb:
        me = await lb.subscribe("arena", view="me")
        assert (await anext(me)).me is None
        await lb.submit("arena", 42)
        state = await asyncio.wait_for(anext(me), 10)
        assert state.me is not None and (state.me.player, state.me.score, state.me.rank) == (
            "alice",
            42,
            1,
        )
        assert state.view == "me" and state.board == "arena"
