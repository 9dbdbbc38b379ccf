"""Every endpoint through HTTP, against a runtime whose REST reads go to the replica."""

from __future__ import annotations

import pytest

from core.settings import Settings
from runtime.app import LocalRuntime
from tests.rest.support import Client, seed_board, settle, token

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
async def seeded(rest_runtime: tuple[LocalRuntime, object]) -> str:
    """The board ``ep-arena`` with 30 fixed entries, replicated."""
    store = rest_runtime[0].store
    await seed_board(store, "ep-arena", 30)
    await settle(store)
    return "ep-arena"


async def test_list_boards(client: Client, seeded: str) -> None:
    """GET /v1/boards lists the boards with their order, policy, season and as_of_seq."""
    status, headers, body = await client.get("/v1/boards")
    assert status == 200
    board = next(b for b in body["boards"] if b["id"] == seeded)
    assert board == {"id": seeded, "order": "desc", "policy": "best", "season": "s1",
                     "as_of_seq": board["as_of_seq"]}  # fmt: skip
    assert board["as_of_seq"] >= 1
    assert headers["Content-Type"] == "application/json"


async def test_board_detail(client: Client, seeded: str) -> None:
    """GET /v1/boards/{board} gives order, policy, season, entry count and as_of_seq."""
    status, _, body = await client.get(f"/v1/boards/{seeded}")
    assert status == 200
    assert (body["order"], body["policy"], body["season"], body["current_season"]) == (
        "desc", "best", "s1", "s1")  # fmt: skip
    assert body["entries"] == 30 and body["as_of_seq"] >= 1


async def test_top_page(client: Client, seeded: str) -> None:
    """GET top returns entries in rank order with as_of_seq, total and a cursor."""
    status, headers, body = await client.get(f"/v1/boards/{seeded}/top", limit=5)
    assert status == 200
    assert [e["player_id"] for e in body["entries"]] == ["p001", "p002", "p003", "p004", "p005"]
    assert [e["rank"] for e in body["entries"]] == [1, 2, 3, 4, 5]
    assert body["total"] == 30 and body["as_of_seq"] >= 1 and body["next_cursor"]
    assert headers["ETag"].startswith('"') and "max-age=" in headers["Cache-Control"]


async def test_cursor_walks_every_entry_once(client: Client, seeded: str) -> None:
    """Following next_cursor visits every entry exactly once, in rank order."""
    seen: list[int] = []
    cursor = None
    while True:
        status, _, body = await client.get(f"/v1/boards/{seeded}/top", limit=7, cursor=cursor)
        assert status == 200
        seen += [e["rank"] for e in body["entries"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(range(1, 31))


async def test_player_standing(client: Client, seeded: str) -> None:
    """GET a player gives their score, rank and percentile."""
    status, _, body = await client.get(f"/v1/boards/{seeded}/players/p003")
    assert status == 200
    assert body["entry"]["rank"] == 3 and body["entry"]["score"] == 280
    assert body["percentile"] == pytest.approx(100 * 28 / 30, abs=1e-3)
    assert body["total"] == 30


async def test_around_player(client: Client, seeded: str) -> None:
    """GET around gives the player with k entries on each side."""
    status, _, body = await client.get(f"/v1/boards/{seeded}/players/p010/around", k=2)
    assert status == 200
    assert [e["rank"] for e in body["entries"]] == [8, 9, 10, 11, 12]
    assert body["player"] == "p010"


async def test_friends(client: Client, seeded: str) -> None:
    """GET friends ranks the listed players among themselves and lists the missing ones."""
    status, _, body = await client.get(f"/v1/boards/{seeded}/friends", players="p020,p002,nobody")
    assert status == 200
    assert [(e["player_id"], e["rank"], e["friend_rank"]) for e in body["entries"]] == [
        ("p002", 2, 1), ("p020", 20, 2)]  # fmt: skip
    assert body["missing"] == ["nobody"]


async def test_past_season(client: Client, runtime: LocalRuntime, settings_rest: Settings) -> None:
    """Every read takes ?season= for a past season after a roll."""
    store = runtime.store
    await seed_board(store, "ep-seasons", 4)
    admin = client.as_(token(settings_rest, "admin"))
    status, _, rolled = await admin.call(
        "POST", "/v1/boards/ep-seasons/seasons", json={"season": "s2"}
    )
    assert status == 201 and rolled["current_season"] == "s2" and rolled["entries"] == 0
    await settle(store)
    assert (await client.get("/v1/boards/ep-seasons/top"))[2]["total"] == 0
    _, _, top = await client.get("/v1/boards/ep-seasons/top", season="s1")
    assert [e["player_id"] for e in top["entries"]] == ["p001", "p002", "p003", "p004"]
    _, _, detail = await client.get("/v1/boards/ep-seasons", season="s1")
    assert (detail["season"], detail["entries"], detail["current_season"]) == ("s1", 4, "s2")
    _, _, me = await client.get("/v1/boards/ep-seasons/players/p002", season="s1")
    assert me["entry"]["rank"] == 2 and me["season"] == "s1"
    _, _, around = await client.get("/v1/boards/ep-seasons/players/p002/around", season="s1", k=1)
    assert [e["rank"] for e in around["entries"]] == [1, 2, 3]
    _, _, friends = await client.get("/v1/boards/ep-seasons/friends", season="s1", players="p004")
    assert friends["entries"][0]["rank"] == 4
    _, _, seasons = await client.get("/v1/boards/ep-seasons/seasons")
    assert [(s["season"], s["entries"]) for s in seasons["seasons"]] == [("s1", 4), ("s2", 0)]
    assert seasons["seasons"][0]["ended_at"] is not None


async def test_admin_creates_and_configures(client: Client, settings_rest: Settings) -> None:
    """An admin creates a board (201, Location), configures it, and a duplicate is 409."""
    admin = client.as_(token(settings_rest, "admin"))
    status, headers, body = await admin.call(
        "POST", "/v1/boards", json={"id": "ep-new", "order": "asc", "metadata": {"unit": "ms"}}
    )
    assert status == 201 and headers["Location"] == "/v1/boards/ep-new"
    assert (body["order"], body["entries"], body["metadata"]) == ("asc", 0, {"unit": "ms"})
    status, _, body = await admin.call(
        "PATCH", "/v1/boards/ep-new", json={"max_score": 1000, "reset": "daily"}
    )
    assert status == 200 and body["max_score"] == 1000 and body["reset"] == "daily"
    status, _, body = await admin.call("PATCH", "/v1/boards/ep-new", json={"reset": None})
    assert status == 200 and body["reset"] is None and body["max_score"] == 1000
    status, headers, body = await admin.call("POST", "/v1/boards", json={"id": "ep-new"})
    assert status == 409 and headers["Content-Type"] == PROBLEM
    assert body["type"].endswith("/board_exists") and body["code"] == "board_exists"


async def test_admin_rejects_crossed_bounds(client: Client, settings_rest: Settings) -> None:
    """Configuring min_score above max_score is a 400 problem."""
    admin = client.as_(token(settings_rest, "admin"))
    await admin.call("POST", "/v1/boards", json={"id": "ep-bounds", "max_score": 100})
    status, _, body = await admin.call("PATCH", "/v1/boards/ep-bounds", json={"min_score": 500})
    assert status == 400 and body["code"] == "invalid_bounds"


async def test_roll_twice_conflicts(client: Client, settings_rest: Settings) -> None:
    """Rolling to a season that exists is a 409 problem; an empty JSON body rolls to the next."""
    admin = client.as_(token(settings_rest, "admin"))
    await admin.call("POST", "/v1/boards", json={"id": "ep-roll"})
    status, _, body = await admin.call("POST", "/v1/boards/ep-roll/seasons", json={"season": "s1"})
    assert status == 409 and body["code"] == "season_exists"
    status, _, body = await admin.call("POST", "/v1/boards/ep-roll/seasons")
    assert status == 400 and body["code"] == "missing_body"
    status, _, body = await admin.call("POST", "/v1/boards/ep-roll/seasons", json={})
    assert status == 201 and body["current_season"] == "s2"


@pytest.mark.parametrize("role", ["player", "spectator", "server"])
async def test_admin_routes_refuse_other_roles(
    client: Client, settings_rest: Settings, role: str
) -> None:
    """Only the admin role may create boards: other roles get a 403 problem."""
    other = client.as_(token(settings_rest, role, player="alice" if role == "player" else None))
    status, headers, body = await other.call("POST", "/v1/boards", json={"id": "ep-nope"})
    assert status == 403 and headers["Content-Type"] == PROBLEM
    assert body["code"] == "role_not_allowed"


async def test_reads_need_a_token(client: Client, seeded: str) -> None:
    """A read without a bearer token is a 401 problem, and a bad token too."""
    for tok in (None, "not-a-jwt"):
        status, headers, body = await client.as_(tok).get(f"/v1/boards/{seeded}/top")
        assert status == 401 and headers["Content-Type"] == PROBLEM
        assert body["status"] == 401


async def test_openapi_is_public(client: Client) -> None:
    """GET /openapi.json needs no token and serves OpenAPI 3.1."""
    status, _, body = await client.as_(None).get("/openapi.json")
    assert status == 200 and body["openapi"] == "3.1.0"


async def test_etag_gives_304(client: Client, seeded: str) -> None:
    """Sending the ETag back in If-None-Match gives 304 with no body."""
    _, headers, _ = await client.get(f"/v1/boards/{seeded}/players/p001")
    status, again, body = await client.call(
        "GET", f"/v1/boards/{seeded}/players/p001", headers={"If-None-Match": headers["ETag"]}
    )
    assert status == 304 and body is None and again["ETag"] == headers["ETag"]


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/v1/boards/ep-arena/top", {"limit": 1001}, 400, "invalid_request"),
        ("/v1/boards/ep-arena/top", {"limit": 0}, 400, "invalid_request"),
        ("/v1/boards/ep-arena/top", {"cursor": "garbage"}, 400, "invalid_cursor"),
        ("/v1/boards/Bad_Id/top", {}, 400, "invalid_request"),
        ("/v1/boards/ep-ghost/top", {}, 404, "unknown_board"),
        ("/v1/boards/ep-arena/top", {"season": "s9"}, 404, "unknown_season"),
        ("/v1/boards/ep-arena/players/ghost", {}, 404, "unknown_player"),
        ("/v1/boards/ep-arena/players/p001/around", {"k": 101}, 400, "invalid_request"),
        ("/v1/nowhere", {}, 404, "unknown_route"),
    ],
)
async def test_errors_are_problems(
    client: Client, seeded: str, path: str, params: dict[str, object], status: int, code: str
) -> None:
    """Errors are RFC 9457 problem+json with a stable type ending in their code."""
    got, headers, body = await client.get(path, **params)
    assert (got, body["code"]) == (status, code)
    assert headers["Content-Type"] == PROBLEM
    assert body["type"] == f"https://leaderboard.dev/problems/{code}"
    assert body["status"] == status and body["title"] and body["detail"]


async def test_unknown_method_is_405(client: Client, seeded: str) -> None:
    """A known path with an unknown method is 405 with Allow."""
    status, headers, body = await client.call("DELETE", f"/v1/boards/{seeded}")
    assert status == 405 and headers["Allow"] == "GET, PATCH"
    assert body["code"] == "method_not_allowed"


async def test_tampered_cursor_is_refused(client: Client, seeded: str) -> None:
    """A cursor with one character changed is refused as invalid."""
    _, _, body = await client.get(f"/v1/boards/{seeded}/top", limit=3)
    cursor = body["next_cursor"]
    flipped = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    status, _, problem = await client.get(f"/v1/boards/{seeded}/top", limit=3, cursor=flipped)
    assert status == 400 and problem["code"] == "invalid_cursor"


async def test_cursor_is_bound_to_its_board(
    client: Client, runtime: LocalRuntime, seeded: str
) -> None:
    """A cursor of one board is refused on another."""
    await seed_board(runtime.store, "ep-other", 3)
    await settle(runtime.store)
    _, _, body = await client.get(f"/v1/boards/{seeded}/top", limit=3)
    status, _, problem = await client.get("/v1/boards/ep-other/top", cursor=body["next_cursor"])
    assert status == 400 and problem["code"] == "cursor_mismatch"
