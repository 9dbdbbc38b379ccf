"""Board features through HTTP: tie modes, percentiles and tiers, next resets, all-time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.settings import Settings
from runtime.app import LocalRuntime
from tests.rest.support import Client, settle, token

TIERS = [{"name": "Gold", "top_percent": 20}, {"name": "Silver", "top_percent": 60}]
# six players, scores with ties: 9, 7, 7, 5, 5, 5
SCORES = {"ann": 9, "bob": 7, "cat": 7, "dan": 5, "eve": 5, "fay": 5}


async def _board(client: Client, settings: Settings, board: str, **spec: object) -> dict:
    admin = client.as_(token(settings, "admin"))
    status, _, body = await admin.call("POST", "/v1/boards", json={"id": board, **spec})
    assert status == 201, body
    host = client.as_(token(settings, "server"))
    lines = [{"player": p, "score": s} for p, s in SCORES.items()]
    status, _, ack = await host.call("POST", f"/v1/boards/{board}/scores", json={"scores": lines})
    assert status == 200, ack
    return dict(body)


async def test_entries_carry_display_rank_percentile_and_tier(
    client: Client, settings_rest: Settings, runtime: LocalRuntime
) -> None:
    """Top, player, around and friends entries carry the dense display rank, the
    percentile of the exact rank and the tier of the board's cut-offs; a PATCH to
    competition changes the display ranks at once."""
    board = "feat-dense"
    await _board(client, settings_rest, board, tie_mode="dense", tiers=TIERS)
    await settle(runtime.store)
    status, _, top = await client.get(f"/v1/boards/{board}/top", limit=10)
    assert status == 200
    assert [e["rank"] for e in top["entries"]] == [1, 2, 3, 4, 5, 6]
    assert [e["display_rank"] for e in top["entries"]] == [1, 2, 2, 3, 3, 3]
    assert [e["tier"] for e in top["entries"]] == ["Gold", "Gold", "Silver", "Silver", None, None]
    assert [e["percentile"] for e in top["entries"]] == [100.0, 83.3333, 66.6667, 50.0, 33.3333,
                                                         16.6667]  # fmt: skip
    status, _, me = await client.get(f"/v1/boards/{board}/players/fay")
    assert (me["entry"]["display_rank"], me["entry"]["tier"], me["percentile"]) == (3, None,
                                                                                    16.6667)  # fmt: skip
    status, _, around = await client.get(f"/v1/boards/{board}/players/dan/around", k=1)
    assert [(e["player_id"], e["display_rank"]) for e in around["entries"]] == [
        ("cat", 2), ("dan", 3), ("eve", 3)]  # fmt: skip
    status, _, friends = await client.get(f"/v1/boards/{board}/friends", players="fay,cat")
    assert [(e["player_id"], e["display_rank"]) for e in friends["entries"]] == [
        ("cat", 2), ("fay", 3)]  # fmt: skip

    admin = client.as_(token(settings_rest, "admin"))
    status, _, detail = await admin.call(
        "PATCH", f"/v1/boards/{board}", json={"tie_mode": "competition", "tiers": None}
    )
    assert status == 200 and detail["tie_mode"] == "competition" and detail["tiers"] is None
    await settle(runtime.store)
    status, _, top = await client.get(f"/v1/boards/{board}/top", limit=10)
    assert [e["display_rank"] for e in top["entries"]] == [1, 2, 2, 4, 4, 4]
    assert all(e["tier"] is None for e in top["entries"])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tie_mode", "olympic"),
        ("tiers", [{"name": "Gold", "top_percent": 10}, {"name": "Silver", "top_percent": 5}]),
        ("tiers", [{"name": "Gold", "top_percent": 10}, {"name": "Gold", "top_percent": 50}]),
        ("tiers", [{"name": "Gold", "top_percent": 0}]),
        ("tiers", [{"name": "Gold", "top_percent": 101}]),
        ("tiers", [{"name": "", "top_percent": 10}]),
        ("tiers", []),
        ("tiers", [{"name": f"t{i}", "top_percent": i + 1} for i in range(17)]),
        ("tiers", [{"name": "Gold", "top_percent": 10, "colour": "gold"}]),
        ("all_time", "yes"),
    ],
)
async def test_invalid_board_features_are_typed_errors(
    client: Client, settings_rest: Settings, field: str, value: object
) -> None:
    """A bad tie mode, tier list or all-time flag is a 400 invalid_request naming the field,
    on create and (but for all_time, fixed at creation) on configure."""
    admin = client.as_(token(settings_rest, "admin"))
    status, _, problem = await admin.call(
        "POST", "/v1/boards", json={"id": "feat-bad", field: value}
    )
    assert status == 400 and problem["code"] == "invalid_request", problem
    assert field in problem["detail"] or field in str(problem.get("errors")), problem
    await admin.call("POST", "/v1/boards", json={"id": "feat-ok"})
    status, _, problem = await admin.call("PATCH", "/v1/boards/feat-ok", json={field: value})
    assert status == 400 and problem["code"] == "invalid_request", problem


async def test_boards_seasons_and_snapshots_carry_next_reset_at(
    client: Client, settings_rest: Settings, runtime: LocalRuntime
) -> None:
    """A daily board's detail, season list and current-season reads say when the season
    ends (the next UTC midnight); a board that never resets, and the all-time ladder, say
    null."""
    await _board(client, settings_rest, "feat-daily", reset="daily", all_time=True)
    await _board(client, settings_rest, "feat-never")
    await settle(runtime.store)
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    status, _, detail = await client.get("/v1/boards/feat-daily")
    assert status == 200
    assert datetime.fromisoformat(detail["next_reset_at"]) == midnight
    assert detail["all_time"] is True
    _, _, top = await client.get("/v1/boards/feat-daily/top", limit=2)
    assert datetime.fromisoformat(top["next_reset_at"]) == midnight
    _, _, me = await client.get("/v1/boards/feat-daily/players/ann")
    assert datetime.fromisoformat(me["next_reset_at"]) == midnight
    _, _, seasons = await client.get("/v1/boards/feat-daily/seasons")
    assert datetime.fromisoformat(seasons["next_reset_at"]) == midnight
    assert [s["season"] for s in seasons["seasons"]][-1] == "all-time"
    assert seasons["seasons"][-1]["next_reset_at"] is None
    _, _, lifetime = await client.get("/v1/boards/feat-daily/top", season="all-time", limit=2)
    assert lifetime["next_reset_at"] is None
    _, _, never = await client.get("/v1/boards/feat-never")
    assert never["next_reset_at"] is None


async def test_all_time_ladder_outlives_a_roll(
    client: Client, settings_rest: Settings, runtime: LocalRuntime
) -> None:
    """After a roll the new season starts empty while season ``all-time`` keeps every
    player's best, and a later better score moves them up there too; rolling into a season
    named ``all-time`` is a 400 reserved_season."""
    board = "feat-life"
    await _board(client, settings_rest, board, all_time=True)
    admin = client.as_(token(settings_rest, "admin"))
    status, _, rolled = await admin.call("POST", f"/v1/boards/{board}/seasons", json={})
    assert status == 201, rolled
    host = client.as_(token(settings_rest, "server"))
    await host.call("POST", f"/v1/boards/{board}/scores",
                    json={"scores": [{"player": "fay", "score": 8}, {"player": "ann", "score": 1}]})  # fmt: skip
    await settle(runtime.store)
    _, _, season = await client.get(f"/v1/boards/{board}/top", limit=10)
    assert [(e["player_id"], e["score"]) for e in season["entries"]] == [("fay", 8), ("ann", 1)]
    _, _, lifetime = await client.get(f"/v1/boards/{board}/top", season="all-time", limit=10)
    assert [(e["player_id"], e["score"]) for e in lifetime["entries"]] == [
        ("ann", 9), ("fay", 8), ("bob", 7), ("cat", 7), ("dan", 5), ("eve", 5)]  # fmt: skip
    status, _, problem = await admin.call(
        "POST", f"/v1/boards/{board}/seasons", json={"season": "all-time"}
    )
    assert status == 400 and problem["code"] == "reserved_season"
