"""The WebSocket route logic (connect.routes), called as the Lambdas call it.

Each test builds the event API Gateway delivers (the recorded shape in
tests/fixtures/aws-events, with the authorizer context AWS attaches) and runs
:func:`connect.routes.dispatch` over real services on a fresh database. Replies go
through a recording sender: the port's in-memory adapter, standing where
``@connections`` stands on AWS.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from connect.events import WebSocketEvent
from connect.routes import dispatch
from core.auth import Principal, Role
from core.boards import BoardSpec, SortOrder
from core.errors import CODES, ConnectionGone, Unavailable
from core.ids import ConnectionId, PlayerId
from core.ports import Frames
from core.ranking import ScoreInput
from core.settings import Settings
from db import feed
from db.services import Services, open_services
from tests.outages import database_outage

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "aws-events"


class RecordingSender:
    """Keeps every frame per connection; connections in ``gone`` answer 410."""

    def __init__(self) -> None:
        self.frames: dict[str, list[dict[str, Any]]] = {}
        self.gone: set[str] = set()

    async def send(self, connection_id: ConnectionId, data: str) -> None:
        if connection_id in self.gone:
            raise ConnectionGone(f"connection {connection_id!r} is gone")
        self.frames.setdefault(connection_id, []).append(json.loads(data))

    async def send_many(self, frames: Frames) -> list[ConnectionId]:
        gone = []
        for cid, data in frames:
            try:
                await self.send(cid, data)
            except ConnectionGone:
                gone.append(cid)
        return gone

    def last(self, connection_id: str) -> dict[str, Any]:
        return self.frames[connection_id][-1]


@pytest.fixture
async def services(database_dsn: str, settings: Settings) -> AsyncIterator[Services]:
    svc = await open_services(settings, dsn=database_dsn, sender=RecordingSender())
    await svc.store.create_board(BoardSpec(id="arena"))
    await svc.store.create_board(BoardSpec(id="laps", order=SortOrder.ASC, max_score=10**6))
    try:
        yield svc
    finally:
        await svc.close()


def sent(svc: Services) -> RecordingSender:
    assert isinstance(svc.sender, RecordingSender)
    return svc.sender


def event(
    route: str, cid: str, principal: Principal, body: dict[str, Any] | str | None = None
) -> WebSocketEvent:
    """The event of ``route`` on connection ``cid``, as API Gateway delivers it."""
    name = {"$connect": "websocket-connect", "$disconnect": "websocket-disconnect"}.get(
        route, "websocket-message"
    )
    raw = copy.deepcopy(json.loads((FIXTURES / f"{name}.json").read_text()))
    ctx = raw["requestContext"]
    ctx["routeKey"], ctx["connectionId"] = route, cid
    ctx["authorizer"] = {**principal.to_context(), "principalId": principal.subject}
    if body is not None:
        raw["body"] = body if isinstance(body, str) else json.dumps(body)
    return WebSocketEvent.parse(raw)


def player(name: str) -> Principal:
    return Principal(subject=name, player_id=PlayerId(name), role=Role.PLAYER)


SERVER = Principal(subject="match-7", role=Role.SERVER)
SCREEN = Principal(subject="screen", role=Role.SPECTATOR)


async def connect(svc: Services, cid: str, who: Principal) -> None:
    assert await dispatch(event("$connect", cid, who), svc) == {"statusCode": 200}


async def test_connect_stores_the_principal_and_disconnect_forgets_it(services: Services) -> None:
    """$connect keeps the caller's principal for later routes; $disconnect removes the
    connection and, with it, its subscriptions."""
    await connect(services, "c1=", player("alice"))
    assert (await services.connections.get("c1=")).principal == player("alice")
    await dispatch(event("subscribe", "c1=", player("alice"), {"action": "subscribe",
                                                                "board": "arena", "view": "me"}),
                   services)  # fmt: skip
    assert len(await services.connections.of_connection("c1=")) == 1
    await dispatch(event("$disconnect", "c1=", player("alice")), services)
    assert await services.connections.count() == 0
    assert await services.connections.of_connection("c1=") == []


async def test_submit_is_acked_after_commit_with_rank_and_total(services: Services) -> None:
    """A player's submit is stored, then acked with its exact rank and the ladder's size."""
    await services.store.submit("arena", [ScoreInput("bob", 500)])
    await connect(services, "c1=", player("alice"))
    body = {"action": "submit", "board": "arena", "score": 900, "request_id": "r1"}
    await dispatch(event("submit", "c1=", player("alice"), body), services)
    ack = sent(services).last("c1=")
    assert ack["type"] == "ack" and ack["request_id"] == "r1"
    assert ack["results"] == [
        {"player": "alice", "score": 900, "rank": 1, "total": 2, "improved": True,
         "replayed": False, "percentile": 100.0}
    ]  # fmt: skip
    standing = await services.store.fetch_standing("arena", "alice")
    assert (standing.entry.score, standing.entry.rank) == (900, 1)


async def test_a_player_cannot_submit_for_someone_else(services: Services) -> None:
    """Naming another player is refused with a typed error frame; nothing is stored."""
    await connect(services, "c1=", player("alice"))
    body = {"action": "submit", "board": "arena", "score": 1, "player": "bob", "request_id": "x"}
    assert await dispatch(event("submit", "c1=", player("alice"), body), services) == {
        "statusCode": 200
    }
    error = sent(services).last("c1=")
    assert (error["type"], error["request_id"], error["error"]["status"]) == ("error", "x", 403)
    assert (await services.store.fetch_top("arena")).total == 0


async def test_a_server_submits_a_batch_for_many_players(services: Services) -> None:
    """A server token submits a batch in one transaction; the ack lists every player."""
    await connect(services, "s1=", SERVER)
    body = {"action": "submit", "board": "laps", "submission_id": "race-1",
            "scores": [{"player": "p1", "score": 91250}, {"player": "p2", "score": 90100}]}  # fmt: skip
    await dispatch(event("submit", "s1=", SERVER, body), services)
    ack = sent(services).last("s1=")
    assert [(r["player"], r["rank"]) for r in ack["results"]] == [("p2", 1), ("p1", 2)]
    await dispatch(event("submit", "s1=", SERVER, body), services)
    assert all(r["replayed"] for r in sent(services).last("s1=")["results"])


async def test_bad_messages_get_typed_errors_and_the_connection_stays(services: Services) -> None:
    """Invalid JSON, an unknown action and a float score each get an error frame naming
    the problem; the connection stays registered."""
    await connect(services, "c1=", player("alice"))
    cases = [
        ("$default", "not json", "invalid_json"),
        ("$default", {"action": "dance"}, "unknown_action"),
        ("submit", {"action": "submit", "board": "arena", "score": 1.5}, "invalid_message"),
        ("unsubscribe", {"action": "unsubscribe", "view_id": "top:nope:s1:3"}, "unknown_view"),
    ]
    for route, body, code in cases:
        await dispatch(event(route, "c1=", player("alice"), body), services)
        assert sent(services).last("c1=")["error"]["code"] == code
    assert (await services.connections.get("c1=")).principal.player_id == "alice"


async def test_subscribe_replies_with_a_snapshot_and_keeps_its_state(services: Services) -> None:
    """A top-N subscribe answers the current top-N at the board's seq, and stores the
    fingerprint the broadcaster compares its next page with."""
    await services.store.submit("arena", [ScoreInput("a", 3), ScoreInput("b", 7)])
    await connect(services, "v1=", SCREEN)
    body = {"action": "subscribe", "board": "arena", "view": "top", "n": 5}
    await dispatch(event("subscribe", "v1=", SCREEN, body), services)
    snap = sent(services).last("v1=")
    assert (snap["type"], snap["view_id"], snap["total"]) == ("snapshot", "top:arena:s1:5", 2)
    assert [(e["player"], e["rank"]) for e in snap["entries"]] == [("b", 1), ("a", 2)]
    [sub] = await services.connections.of_connection("v1=")
    assert sub.state.digest is not None and sub.state.ticker is None
    assert sub.last_seq == snap["seq"] == sub.state.as_of


async def test_a_ticker_subscribe_keeps_the_players_key(services: Services) -> None:
    """A `me` subscribe answers the player's rank and stores their entry's key and rank,
    the base the broadcaster derives later ranks from; no entry yet is ``me: null``."""
    await services.store.submit("arena", [ScoreInput("alice", 10), ScoreInput("zed", 20)])
    await feed.sequence(services.store.pool, "arena")  # a ticker is exact as of the seq
    await connect(services, "c1=", player("alice"))
    await connect(services, "c2=", player("newcomer"))
    body = {"action": "subscribe", "board": "arena", "view": "me"}
    await dispatch(event("subscribe", "c1=", player("alice"), body), services)
    await dispatch(event("subscribe", "c2=", player("newcomer"), body), services)
    assert sent(services).last("c1=")["me"] == {
        "player": "alice",
        "score": 10,
        "rank": 2,
        "display_rank": 2,
        "percentile": 50.0,
    }
    assert "me" not in sent(services).last("c2=")
    [sub] = await services.connections.of_connection("c1=")
    ticker = sub.state.ticker
    assert ticker is not None and (ticker.rank, ticker.score, ticker.total) == (2, 10, 2)
    assert ticker.display_rank == 2
    assert ticker.key is not None and ticker.key.player_id == "alice"


async def test_a_reply_to_a_gone_connection_removes_it(services: Services) -> None:
    """When the client left before its reply (410), the connection row is deleted."""
    await connect(services, "c1=", player("alice"))
    sent(services).gone.add("c1=")
    body = {"action": "submit", "board": "arena", "score": 5}
    await dispatch(event("submit", "c1=", player("alice"), body), services)
    assert await services.connections.count() == 0
    assert (await services.store.fetch_standing("arena", "alice")).entry.score == 5


async def test_a_database_outage_is_a_typed_retryable_error_with_the_request_id(
    services: Services, database_dsn: str
) -> None:
    """While the database is down a submit gets a 503 error frame with its request_id and a
    retry_after_ms, never an untyped crash; once it is back the same submit is acked."""
    await connect(services, "c1=", player("alice"))
    body = {"action": "submit", "board": "arena", "score": 900, "request_id": "r1",
            "submission_id": "m1-alice"}  # fmt: skip
    async with database_outage(database_dsn):
        for _ in range(3):
            assert await dispatch(event("submit", "c1=", player("alice"), body), services) == {
                "statusCode": 200
            }
            frame = sent(services).last("c1=")
            assert frame["type"] == "error" and frame["request_id"] == "r1", frame
            error = frame["error"]
            assert error["status"] == 503 and CODES[error["code"]].kind is Unavailable
            assert error["retry_after_ms"] > 0
    await dispatch(event("submit", "c1=", player("alice"), body), services)
    ack = sent(services).last("c1=")
    assert ack["type"] == "ack" and ack["request_id"] == "r1"
    assert ack["results"][0]["score"] == 900


async def test_a_connect_while_the_database_is_down_is_refused_with_503(
    services: Services, database_dsn: str
) -> None:
    """$connect answers 503 (a status a client retries) while the database is down."""
    async with database_outage(database_dsn):
        assert await dispatch(event("$connect", "c9=", player("alice")), services) == {
            "statusCode": 503
        }
    await connect(services, "c9=", player("alice"))


async def test_a_function_started_while_the_database_is_down_answers_typed_errors(
    database_dsn: str, settings: Settings
) -> None:
    """A cold start during an outage still builds its services; a submit then gets a typed
    503 error frame (not API Gateway's untyped crash frame), and is acked once it is back."""
    async with database_outage(database_dsn):
        svc = await open_services(settings, dsn=database_dsn, sender=RecordingSender())
        try:
            body = {"action": "submit", "board": "arena", "score": 5, "request_id": "r1"}
            await dispatch(event("submit", "c1=", player("alice"), body), svc)
            frame = sent(svc).last("c1=")
            assert frame["request_id"] == "r1" and frame["error"]["status"] == 503
        finally:
            await svc.close()
