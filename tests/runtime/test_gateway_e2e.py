"""End to end: real websockets clients against the local runtime and a real PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosedOK

from core.settings import Settings
from db.feed import boards_with_pending
from db.services import Services
from runtime.app import LocalRuntime
from runtime.gateway import route_event
from tests.runtime.gateway_support import ARENA, ask, counts, eventually, open_ws, token


async def test_connect_subscribe_submit_acks_with_the_rank(runtime: LocalRuntime) -> None:
    """connect -> subscribe -> submit: the snapshot, then acks carrying exact ranks, totals
    and percentiles."""
    s = runtime.settings
    async with open_ws(runtime.ws_url, token(s, "bob")) as bob:
        ack = await ask(bob, {"action": "submit", "board": "arena", "score": 50})
        assert ack["results"] == [{"player": "bob", "score": 50, "rank": 1, "total": 1,
                                   "improved": True, "replayed": False,
                                   "percentile": 100.0}]  # fmt: skip
    async with open_ws(runtime.ws_url, token(s, "alice")) as alice:
        snap = await ask(alice, {"action": "subscribe", "board": "arena", "view": "top", "n": 10,
                                 "request_id": "r1"})  # fmt: skip
        assert snap["type"] == "snapshot" and snap["request_id"] == "r1"
        assert snap["view_id"] == "top:arena:s1:10" and snap["total"] == 1
        assert [e["player"] for e in snap["entries"]] == ["bob"]
        ack = await ask(alice, {"action": "submit", "board": "arena", "score": 100,
                                "request_id": "r2"})  # fmt: skip
        assert ack["type"] == "ack" and ack["request_id"] == "r2" and ack["board"] == "arena"
        assert ack["results"][0] | {"rank": ack["results"][0]["rank"]} == {
            "player": "alice", "score": 100, "rank": 1, "total": 2, "improved": True,
            "replayed": False, "percentile": 100.0,
        }  # fmt: skip
        worse = await ask(alice, {"action": "submit", "board": "arena", "score": 10})
        assert worse["results"][0]["improved"] is False and worse["results"][0]["score"] == 100
    async with open_ws(runtime.ws_url, token(s, "carol")) as carol:
        ack = await ask(carol, {"action": "submit", "board": "arena", "score": 70})
        assert (ack["results"][0]["rank"], ack["results"][0]["total"]) == (2, 3)
        assert ack["results"][0]["percentile"] == 66.6667


async def test_a_server_submits_a_batch_with_ranks(runtime: LocalRuntime) -> None:
    """A server-role connection submits a batch; the ack lists every player with its rank."""
    tok = token(runtime.settings, None, role="server", subject="game-server")
    async with open_ws(runtime.ws_url, tok) as ws:
        ack = await ask(ws, {"action": "submit", "board": "arena", "submission_id": "m1",
                             "scores": [{"player": "p1", "score": 5},
                                        {"player": "p2", "score": 9}]})  # fmt: skip
        assert {(r["player"], r["rank"]) for r in ack["results"]} == {("p1", 2), ("p2", 1)}
        again = await ask(ws, {"action": "submit", "board": "arena", "submission_id": "m1",
                               "scores": [{"player": "p1", "score": 5},
                                          {"player": "p2", "score": 9}]})  # fmt: skip
        assert all(r["replayed"] for r in again["results"])


async def test_reconnecting_gets_a_new_connection_that_sees_earlier_scores(
    runtime: LocalRuntime,
) -> None:
    """After a reconnect the player has a new connection id and their standing persists."""
    tok = token(runtime.settings, "alice")
    async with open_ws(runtime.ws_url, tok) as ws:
        await ask(ws, {"action": "submit", "board": "arena", "score": 42})
        first = {c.connection_id for c in runtime.sender}
    await eventually(lambda: _no_live(runtime))
    # a `me` snapshot is exact as of the board's sequenced position: wait until the
    # submit's event is sequenced (the runtime's maintenance does it within 0.1 s)
    await eventually(lambda: _sequenced(runtime))
    async with open_ws(runtime.ws_url, tok) as ws:
        second = {c.connection_id for c in runtime.sender}
        snap = await ask(ws, {"action": "subscribe", "board": "arena", "view": "me"})
        assert snap["me"] == {"player": "alice", "score": 42, "rank": 1, "display_rank": 1,
                              "percentile": 100.0}  # fmt: skip
    assert len(first) == len(second) == 1 and first != second


async def _sequenced(runtime: LocalRuntime) -> bool:
    return not await boards_with_pending(runtime.store.pool)


async def _no_live(runtime: LocalRuntime) -> bool:
    return len(runtime.sender) == 0


async def test_disconnect_deletes_the_connection_row_and_its_subscriptions(
    runtime: LocalRuntime,
) -> None:
    """$disconnect removes lb_connection and (by cascade) lb_subscription rows."""
    pool = runtime.store.pool
    async with open_ws(runtime.ws_url, token(runtime.settings)) as ws:
        await ask(ws, {"action": "submit", "board": "arena", "score": 5})
        await ask(ws, {"action": "subscribe", "board": "arena", "view": "top", "n": 5})
        await ask(ws, {"action": "subscribe", "board": "arena", "view": "me"})
        during = await counts(pool)
        assert (during["connections"], during["subscriptions"]) == (1, 2)
        row = await pool.fetchrow("SELECT subject, player_id, role FROM lb_connection")
        assert dict(row) == {"subject": "alice", "player_id": "alice", "role": "player"}

    async def cleaned() -> bool:
        c = await counts(pool)
        return (c["connections"], c["subscriptions"]) == (0, 0)

    await eventually(cleaned)


async def test_unsubscribe_removes_one_subscription(runtime: LocalRuntime) -> None:
    """unsubscribe answers 'unsubscribed' and deletes that subscription only."""
    async with open_ws(runtime.ws_url, token(runtime.settings)) as ws:
        snap = await ask(ws, {"action": "subscribe", "board": "arena", "view": "top", "n": 3})
        await ask(ws, {"action": "subscribe", "board": "arena", "view": "top", "n": 4})
        reply = await ask(ws, {"action": "unsubscribe", "view_id": snap["view_id"]})
        assert reply == {"type": "unsubscribed", "view_id": snap["view_id"]}
        assert (await counts(runtime.store.pool))["subscriptions"] == 1


@pytest.fixture
async def recording_runtime(
    database_dsn: str, settings: Settings
) -> AsyncIterator[tuple[LocalRuntime, list[dict[str, Any]]]]:
    """A runtime whose route handler records every raw event it gets."""
    seen: list[dict[str, Any]] = []

    async def handler(event: dict[str, Any], svc: Services) -> dict[str, Any]:
        seen.append(event)
        body = event.get("body") or ""
        if '"explode"' in body:
            raise RuntimeError("boom")
        return await route_event(event, svc)

    async with LocalRuntime(settings, dsn=database_dsn, handler=handler) as rt:
        await rt.store.create_board(ARENA)
        yield rt, seen


async def test_routes_get_api_gateway_event_shapes(
    recording_runtime: tuple[LocalRuntime, list[dict[str, Any]]],
) -> None:
    """$connect, messages and $disconnect arrive with API Gateway's requestContext and authorizer."""
    runtime, seen = recording_runtime
    async with open_ws(runtime.ws_url, token(runtime.settings)) as ws:
        await ask(ws, {"action": "submit", "board": "arena", "score": 1})
        await ask(ws, "not json")
    await eventually(lambda: _count_at_least(seen, 4))
    routes = [e["requestContext"]["routeKey"] for e in seen]
    assert routes == ["$connect", "submit", "$default", "$disconnect"]
    required = {"routeKey", "eventType", "connectionId", "domainName", "stage", "apiId",
                "connectedAt", "requestTimeEpoch", "identity", "authorizer", "requestId"}  # fmt: skip
    for event in seen:
        ctx = event["requestContext"]
        assert required <= set(ctx)
        assert ctx["authorizer"] | {"integrationLatency": 0} == {
            "sub": "alice", "playerId": "alice", "role": "player", "principalId": "alice",
            "integrationLatency": 0,
        }  # fmt: skip
        assert ctx["stage"] == runtime.settings.ws_stage
    assert len({e["requestContext"]["connectionId"] for e in seen}) == 1
    assert len({e["requestContext"]["connectedAt"] for e in seen}) == 1
    messages = seen[1:3]
    assert all(isinstance(e["body"], str) and e["requestContext"]["messageId"] for e in messages)
    assert [e["requestContext"]["eventType"] for e in seen] == [
        "CONNECT", "MESSAGE", "MESSAGE", "DISCONNECT"]  # fmt: skip
    assert seen[-1]["requestContext"]["disconnectStatusCode"] == 1000


async def _count_at_least(seen: list[Any], n: int) -> bool:
    return len(seen) >= n


async def test_a_failing_route_answers_internal_server_error_and_keeps_the_connection(
    recording_runtime: tuple[LocalRuntime, list[dict[str, Any]]],
) -> None:
    """A route that raises yields API Gateway's 'Internal server error' frame; the socket stays."""
    runtime, seen = recording_runtime
    async with open_ws(runtime.ws_url, token(runtime.settings)) as ws:
        reply = await ask(ws, {"action": "submit", "board": "arena", "score": 1, "x": "explode"})
        message = seen[-1]["requestContext"]
        assert reply == {"message": "Internal server error", "connectionId": message["connectionId"],
                         "requestId": message["requestId"]}  # fmt: skip
        ack = await ask(ws, {"action": "submit", "board": "arena", "score": 3})
        assert ack["type"] == "ack"


async def test_binary_frames_go_to_default_base64_encoded(
    recording_runtime: tuple[LocalRuntime, list[dict[str, Any]]],
) -> None:
    """A binary frame reaches $default with isBase64Encoded and gets a typed error frame."""
    runtime, seen = recording_runtime
    async with open_ws(runtime.ws_url, token(runtime.settings)) as ws:
        await ws.send(b'{"action": "submit", "board": "arena", "score": 1}')
        reply = json.loads(await ws.recv())
        assert reply["type"] == "error" and reply["error"]["code"] == "binary_frame"
        event = seen[-1]
        assert event["isBase64Encoded"] is True
        assert event["requestContext"]["routeKey"] == "$default"
    assert (await counts(runtime.store.pool))["entries"] == 0


async def test_client_close_code_reaches_disconnect(
    recording_runtime: tuple[LocalRuntime, list[dict[str, Any]]],
) -> None:
    """The client's close code and reason arrive as disconnectStatusCode/disconnectReason."""
    runtime, seen = recording_runtime
    async with open_ws(runtime.ws_url, token(runtime.settings)) as ws:
        await ws.close(code=4000, reason="done here")
    await eventually(lambda: _count_at_least(seen, 2))
    ctx = seen[-1]["requestContext"]
    assert (ctx["disconnectStatusCode"], ctx["disconnectReason"]) == (4000, "done here")


async def test_the_client_sees_a_normal_close_when_it_closes(runtime: LocalRuntime) -> None:
    """A client-initiated close completes cleanly (1000 echoed)."""
    async with open_ws(runtime.ws_url, token(runtime.settings)) as ws:
        await ws.close()
        with pytest.raises(ConnectionClosedOK):
            await ws.recv()


async def test_a_dropped_tcp_connection_still_runs_disconnect(
    recording_runtime: tuple[LocalRuntime, list[dict[str, Any]]],
) -> None:
    """A client that vanishes without a close frame gets $disconnect with 1006; its row goes."""
    runtime, seen = recording_runtime
    async with open_ws(runtime.ws_url, token(runtime.settings)) as ws:
        await ask(ws, {"action": "subscribe", "board": "arena", "view": "top"})
        ws.transport.abort()
    await eventually(lambda: _count_at_least(seen, 3))
    ctx = seen[-1]["requestContext"]
    assert (ctx["routeKey"], ctx["disconnectStatusCode"]) == ("$disconnect", 1006)
    c = await counts(runtime.store.pool)
    assert (c["connections"], c["subscriptions"]) == (0, 0)
