"""Moderation over REST (admin): remove an entry, ban and unban, erase, the audit log and
the player look-up, each checked by what readers of the API then see."""

from __future__ import annotations

import uuid

from core.settings import Settings
from runtime.app import LocalRuntime
from tests.rest.support import Client, token


def _board() -> str:
    return f"mod-{uuid.uuid4().hex[:8]}"


def _player() -> str:
    return f"pl-{uuid.uuid4().hex[:8]}"


async def _seeded(client: Client, settings: Settings, board: str, scores: dict[str, int]) -> int:
    admin = client.as_(token(settings, "admin"))
    await admin.call("POST", "/v1/boards", json={"id": board})
    host = client.as_(token(settings, "server"))
    lines = [{"player": p, "score": s} for p, s in scores.items()]
    status, _, ack = await host.call("POST", f"/v1/boards/{board}/scores", json={"scores": lines})
    assert status == 200, ack
    return int(ack["seq"])


async def test_an_admin_removes_an_entry_and_everyone_behind_moves_up(
    client: Client, runtime: LocalRuntime, settings_rest: Settings
) -> None:
    """DELETE .../players/{p} answers the removed score and a seq; reads at that seq show
    the ranks behind closed up, and a second removal is a typed 404."""
    board, a, b, c = _board(), _player(), _player(), _player()
    await _seeded(client, settings_rest, board, {a: 30, b: 20, c: 10})
    admin = client.as_(token(settings_rest, "admin"))
    status, _, removed = await admin.call("DELETE", f"/v1/boards/{board}/players/{a}", reason="bot")
    assert status == 200, removed
    assert (removed["player"], removed["score"], removed["board"]) == (a, 30, board)
    status, _, top = await client.get(f"/v1/boards/{board}/top", min_seq=removed["seq"])
    assert [(e["player_id"], e["rank"]) for e in top["entries"]] == [(b, 1), (c, 2)]
    assert top["total"] == 2
    status, _, again = await admin.call("DELETE", f"/v1/boards/{board}/players/{a}")
    assert status == 404 and again["code"] == "unknown_player"
    status, _, audit = await admin.get("/v1/audit", player=a)
    assert status == 200
    (record,) = audit["records"]
    assert (record["action"], record["actor"], record["reason"], record["board"]) == (
        "remove_entry", "test-admin", "bot", board,
    )  # fmt: skip


async def test_only_admins_moderate(client: Client, settings_rest: Settings) -> None:
    """Players, servers and spectators get role_not_allowed on every moderation route."""
    board, p = _board(), _player()
    seq = await _seeded(client, settings_rest, board, {p: 1})
    for role, player in (("player", p), ("server", None), ("spectator", None)):
        caller = client.as_(token(settings_rest, role, player))
        for method, path in (
            ("DELETE", f"/v1/boards/{board}/players/{p}"),
            ("PUT", f"/v1/boards/{board}/bans/{p}"),
            ("DELETE", f"/v1/bans/{p}"),
            ("DELETE", f"/v1/players/{p}"),
            ("GET", f"/v1/players/{p}"),
            ("GET", "/v1/audit"),
        ):
            status, _, body = await caller.call(method, path)
            assert (status, body["code"]) == (403, "role_not_allowed"), (role, method, path)
    status, _, standing = await client.get(f"/v1/boards/{board}/players/{p}", min_seq=seq)
    assert status == 200 and standing["entry"]["rank"] == 1


async def test_a_banned_player_is_refused_hidden_and_restored_on_unban(
    client: Client, settings_rest: Settings
) -> None:
    """After PUT .../bans/{p} the player's REST submits get player_banned (403, not
    retryable) and reads never show them; DELETE brings the entry back unchanged."""
    board, cheat, fair = _board(), _player(), _player()
    await _seeded(client, settings_rest, board, {cheat: 99, fair: 5})
    admin = client.as_(token(settings_rest, "admin"))
    status, _, ban = await admin.call(
        "PUT", f"/v1/boards/{board}/bans/{cheat}", json={"reason": "wallhack"}
    )
    assert status == 200, ban
    assert (ban["banned"], ban["changed"], ban["entries"]) == (True, True, 1)
    host = client.as_(token(settings_rest, "server"))
    status, headers, refused = await host.call(
        "POST", f"/v1/boards/{board}/scores", json={"scores": [{"player": cheat, "score": 1}]}
    )
    assert (status, refused["code"]) == (403, "player_banned")
    assert "Retry-After" not in headers
    status, _, top = await client.get(f"/v1/boards/{board}/top", min_seq=ban["seq"][board])
    assert [(e["player_id"], e["rank"]) for e in top["entries"]] == [(fair, 1)]
    status, _, looked = await admin.get(f"/v1/players/{cheat}")
    assert status == 200
    assert looked["entries"] == [] and [b["reason"] for b in looked["bans"]] == ["wallhack"]
    assert [(h["board"], h["score"]) for h in looked["hidden_entries"]] == [(board, 99)]
    status, _, unban = await admin.call("DELETE", f"/v1/boards/{board}/bans/{cheat}")
    assert status == 200 and (unban["banned"], unban["entries"]) == (False, 1)
    status, _, top = await client.get(f"/v1/boards/{board}/top", min_seq=unban["seq"][board])
    assert [(e["player_id"], e["score"], e["rank"]) for e in top["entries"]] == [
        (cheat, 99, 1), (fair, 5, 2),
    ]  # fmt: skip


async def test_a_ban_on_every_board_and_the_player_look_up(
    client: Client, settings_rest: Settings
) -> None:
    """PUT /v1/bans/{p} hides the player on every board; GET /v1/players/{p} lists each
    entry's board, season, score, rank and total, and each ban (board null for all)."""
    b1, b2, p, q = _board(), _board(), _player(), _player()
    await _seeded(client, settings_rest, b1, {p: 10, q: 20})
    await _seeded(client, settings_rest, b2, {p: 7})
    admin = client.as_(token(settings_rest, "admin"))
    status, _, looked = await admin.get(f"/v1/players/{p}")
    assert status == 200
    assert set(looked) == {"player_id", "entries", "bans", "hidden_entries"}
    assert sorted(
        (e["board"], e["score"], e["rank"], e["total"]) for e in looked["entries"]
    ) == sorted([(b1, 10, 2, 2), (b2, 7, 1, 1)])
    assert all(e["season"] for e in looked["entries"]) and looked["bans"] == []
    status, _, ban = await admin.call("PUT", f"/v1/bans/{p}", reason="chargeback")
    assert status == 200 and ban["board"] is None and ban["entries"] == 2
    status, _, looked = await admin.get(f"/v1/players/{p}")
    assert [(b["board"], b["reason"]) for b in looked["bans"]] == [(None, "chargeback")]
    status, _, top = await client.get(f"/v1/boards/{b2}/top", min_seq=ban["seq"][b2])
    assert top["total"] == 0
    status, _, lifted = await admin.call("DELETE", f"/v1/bans/{p}")
    assert status == 200 and lifted["entries"] == 2
    status, _, missing = await admin.get(f"/v1/players/{_player()}")
    assert (status, missing["code"]) == (404, "unknown_player")


async def test_erasing_a_player_reports_what_was_removed_and_reads_never_show_them(
    client: Client, settings_rest: Settings
) -> None:
    """DELETE /v1/players/{p} answers counts per kind and a pseudonym; afterwards the
    ladder closes up, the look-up is 404 and the audit log names only the pseudonym."""
    board, gone, stay = _board(), _player(), _player()
    await _seeded(client, settings_rest, board, {gone: 50, stay: 10})
    admin = client.as_(token(settings_rest, "admin"))
    await admin.call("PUT", f"/v1/boards/{board}/bans/{gone}")
    await admin.call("DELETE", f"/v1/boards/{board}/bans/{gone}")
    status, _, report = await admin.call("DELETE", f"/v1/players/{gone}", json={"reason": "gdpr"})
    assert status == 200, report
    assert report["player"] == gone and report["audit_player"].startswith("~erased-")
    assert report["removed"]["entries"] == 1 and report["removed"]["audit_records"] == 2
    assert set(report["removed"]) == {
        "entries", "hidden_entries", "bans", "submissions", "connections", "subscriptions",
        "events", "audit_records",
    }  # fmt: skip
    status, _, top = await client.get(f"/v1/boards/{board}/top", min_seq=report["seq"][board])
    assert [(e["player_id"], e["rank"]) for e in top["entries"]] == [(stay, 1)]
    status, _, _ = await client.get(
        f"/v1/boards/{board}/players/{gone}", min_seq=report["seq"][board]
    )
    assert status == 404
    status, _, _ = await admin.get(f"/v1/players/{gone}")
    assert status == 404
    status, _, audit = await admin.get("/v1/audit", player=gone)
    assert audit["records"] == []
    status, _, audit = await admin.get("/v1/audit", player=report["audit_player"])
    assert [r["action"] for r in audit["records"]] == ["erase_player", "unban", "ban"]


async def test_the_audit_log_pages_with_a_cursor(client: Client, settings_rest: Settings) -> None:
    """GET /v1/audit?board= pages newest first; next_cursor continues without repeats and
    is null at the end; a malformed cursor is a 400."""
    board, p = _board(), _player()
    await _seeded(client, settings_rest, board, {p: 1})
    admin = client.as_(token(settings_rest, "admin"))
    for _ in range(3):
        await admin.call("PUT", f"/v1/boards/{board}/bans/{p}")
        await admin.call("DELETE", f"/v1/boards/{board}/bans/{p}")
    seen, cursor = [], None
    while True:
        status, _, page = await admin.get("/v1/audit", board=board, limit=4, cursor=cursor)
        assert status == 200
        seen.extend(r["id"] for r in page["records"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 6 and seen == sorted(seen, reverse=True)
    status, _, bad = await admin.get("/v1/audit", cursor="x")
    assert (status, bad["code"]) == (400, "invalid_request")


async def test_moderation_takes_no_body_or_a_reason_and_a_bad_id_is_a_typed_400(
    client: Client, settings_rest: Settings
) -> None:
    """A ban needs no body; a body with an unknown field is refused; a player id holding a
    newline is a problem+json 400, not a plain-text 404."""
    board, p = _board(), _player()
    await _seeded(client, settings_rest, board, {p: 1})
    admin = client.as_(token(settings_rest, "admin"))
    status, _, ban = await admin.call("PUT", f"/v1/boards/{board}/bans/{p}")
    assert status == 200 and ban["changed"]
    status, _, bad = await admin.call("PUT", f"/v1/bans/{p}", json={"why": "x"})
    assert (status, bad["code"]) == (400, "invalid_request")
    status, headers, bad = await admin.call("PUT", "/v1/bans/%0Aplayer")
    assert (status, bad["code"]) == (400, "invalid_request")
    assert headers["Content-Type"].startswith("application/problem+json")
