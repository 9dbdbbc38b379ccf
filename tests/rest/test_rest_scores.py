"""Score writes on REST: a game server's batch (same idempotency and ack as the WebSocket)
and a player's metadata replaced without a new score."""

from __future__ import annotations

import uuid

from core.settings import Settings
from runtime.app import LocalRuntime
from tests.rest.support import Client, token


def _board() -> str:
    return f"rs-{uuid.uuid4().hex[:8]}"


async def test_a_server_submits_a_large_batch_over_rest_idempotently(
    client: Client, runtime: LocalRuntime, settings_rest: Settings
) -> None:
    """1,000 scores with UUID ids and 1 KB of metadata each (over 1 MB) are applied in one
    request and acked like a WebSocket batch; the same id replays, other scores conflict."""
    board = _board()
    await client.as_(token(settings_rest, "admin")).call("POST", "/v1/boards", json={"id": board})
    host = client.as_(token(settings_rest, "server"))
    lines = [
        {"player": str(uuid.uuid4()), "score": i, "metadata": {"pad": "x" * 1000}}
        for i in range(1000)
    ]
    body = {"submission_id": "match-1", "scores": lines}
    status, _, ack = await host.call("POST", f"/v1/boards/{board}/scores", json=body)
    assert status == 200, ack
    assert set(ack) == {"board", "submission_id", "seq", "results"}
    assert ack["submission_id"] == "match-1" and ack["seq"] >= 1
    assert [r["rank"] for r in ack["results"]] == list(range(1, 1001))
    assert ack["results"][0] == {"player": lines[-1]["player"], "score": 999, "rank": 1,
                                 "total": 1000, "improved": True, "replayed": False,
                                 "percentile": 100.0}  # fmt: skip
    status, _, again = await host.call("POST", f"/v1/boards/{board}/scores", json=body)
    assert status == 200 and all(r["replayed"] for r in again["results"])
    assert again["seq"] == ack["seq"]
    status, _, clash = await host.call(
        "POST", f"/v1/boards/{board}/scores", json={**body, "scores": lines[:1]}
    )
    assert status == 409 and clash["code"] == "submission_conflict"
    status, _, top = await client.get(f"/v1/boards/{board}/top", limit=3, min_seq=ack["seq"])
    assert status == 200 and top["total"] == 1000


async def test_rest_batches_take_a_server_and_a_body_under_6_mb(
    client: Client, settings_rest: Settings
) -> None:
    """A player may not send a batch, and a body over 6,000,000 bytes is refused with 413."""
    board = _board()
    await client.as_(token(settings_rest, "admin")).call("POST", "/v1/boards", json={"id": board})
    player = client.as_(token(settings_rest, "player", "alice"))
    one = {"scores": [{"player": "alice", "score": 1}]}
    status, _, refused = await player.call("POST", f"/v1/boards/{board}/scores", json=one)
    assert status == 403 and refused["code"] == "batch_not_allowed"
    status, _, refused = await client.call("POST", f"/v1/boards/{board}/scores", json=one)
    assert status == 403 and refused["code"] == "role_not_allowed"
    host = client.as_(token(settings_rest, "server"))
    huge = {"scores": [{"player": f"p{i}", "score": 1, "metadata": {"pad": "x" * 1000}}
                       for i in range(6000)]}  # fmt: skip
    status, _, refused = await host.call("POST", f"/v1/boards/{board}/scores", json=huge)
    assert status == 413 and refused["code"] == "body_too_large"
    status, _, refused = await host.call(
        "POST", f"/v1/boards/{board}/scores", json={"scores": huge["scores"][:1001]}
    )
    assert status == 400 and refused["code"] == "invalid_request"


async def test_a_player_replaces_their_metadata_without_a_new_score(
    client: Client, runtime: LocalRuntime, settings_rest: Settings
) -> None:
    """PUT .../metadata replaces the player's metadata and keeps score and rank; another
    player's is refused, a server may set anyone's, and null clears it."""
    board = _board()
    await client.as_(token(settings_rest, "admin")).call("POST", "/v1/boards", json={"id": board})
    host = client.as_(token(settings_rest, "server"))
    lines = [{"player": "alice", "score": 500, "metadata": {"loadout": "sniper"}},
             {"player": "bob", "score": 700}]  # fmt: skip
    await host.call("POST", f"/v1/boards/{board}/scores", json={"scores": lines})
    alice = client.as_(token(settings_rest, "player", "alice"))
    path = f"/v1/boards/{board}/players/alice/metadata"
    status, _, mine = await alice.call("PUT", path, json={"metadata": {"name": "Ace"}})
    assert status == 200, mine
    assert (mine["entry"]["score"], mine["entry"]["rank"]) == (500, 2)
    assert mine["entry"]["metadata"] == {"name": "Ace"}
    status, _, refused = await alice.call(
        "PUT", f"/v1/boards/{board}/players/bob/metadata", json={"metadata": {}}
    )
    assert status == 403 and refused["code"] == "not_your_player"
    status, _, cleared = await host.call("PUT", path, json={"metadata": None})
    assert status == 200 and cleared["entry"]["metadata"] is None
    status, _, big = await alice.call("PUT", path, json={"metadata": {"x": "y" * 2000}})
    assert status == 413 and big["code"] == "metadata_too_large"
    status, _, missing = await host.call(
        "PUT", f"/v1/boards/{board}/players/carol/metadata", json={"metadata": {}}
    )
    assert status == 404 and missing["code"] == "unknown_player"
