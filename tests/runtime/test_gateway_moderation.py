"""Moderation over WebSocket: an admin's actions through the local runtime, seen live by
real websockets clients (a spectator's top view, the removed player's ticker)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection

from runtime.app import LocalRuntime
from tests.runtime.gateway_support import ask, open_ws, token


async def _update(ws: ClientConnection, view_id: str, until: Any) -> dict[str, Any]:
    """The first live update of ``view_id`` for which ``until(frame)`` holds (within 10 s)."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame.get("type") == "update" and frame["view_id"] == view_id and until(frame):
            return frame


def _admin(runtime: LocalRuntime) -> str:
    return token(runtime.settings, None, role="admin", subject="ops-1")


async def test_a_removal_is_pushed_to_the_top_view_and_to_the_removed_players_ticker(
    runtime: LocalRuntime,
) -> None:
    """remove_entry answers a moderated frame after commit; a spectator's top view is pushed
    with the ranks closed up, a ticker behind moves up by one, and the removed player's
    ticker learns it is unranked."""
    s = runtime.settings
    host = token(s, None, role="server", subject="game")
    async with open_ws(runtime.ws_url, host) as ws:
        await ask(ws, {"action": "submit", "board": "arena",
                       "scores": [{"player": "mallory", "score": 90},
                                  {"player": "bob", "score": 50},
                                  {"player": "carol", "score": 10}]})  # fmt: skip
    async with (
        open_ws(runtime.ws_url, token(s, None, role="spectator", subject="screen")) as screen,
        open_ws(runtime.ws_url, token(s, "mallory")) as mallory,
        open_ws(runtime.ws_url, token(s, "carol")) as carol,
        open_ws(runtime.ws_url, _admin(runtime)) as admin,
    ):
        behind = await ask(carol, {"action": "subscribe", "board": "arena", "view": "me"})
        assert behind["me"]["rank"] == 3
        top = await ask(screen, {"action": "subscribe", "board": "arena", "view": "top", "n": 5})
        me = await ask(mallory, {"action": "subscribe", "board": "arena", "view": "me"})
        assert me["me"]["rank"] == 1
        reply = await ask(admin, {"action": "remove_entry", "board": "arena",
                                  "player": "mallory", "reason": "aimbot",
                                  "request_id": "m1"})  # fmt: skip
        assert reply["type"] == "moderated" and reply["request_id"] == "m1"
        assert reply["action"] == "remove_entry"
        assert (reply["result"]["player"], reply["result"]["score"]) == ("mallory", 90)
        seq = reply["result"]["seq"]
        pushed = await _update(screen, top["view_id"], lambda f: f["seq"] >= seq)
        assert [(e["player"], e["rank"]) for e in pushed["entries"]] == [("bob", 1), ("carol", 2)]
        assert pushed["total"] == 2
        gone = await _update(mallory, me["view_id"], lambda f: f["seq"] >= seq)
        assert "me" not in gone and gone["total"] == 2
        moved = await _update(carol, behind["view_id"], lambda f: f["seq"] >= seq)
        assert (moved["me"]["rank"], moved["total"]) == (2, 2)


async def test_ban_refuses_the_players_ws_submits_and_only_admins_moderate(
    runtime: LocalRuntime,
) -> None:
    """After a ban the player's submit gets an error frame player_banned (not retryable);
    a player token's moderation action is role_not_allowed; unban lets them submit again."""
    s = runtime.settings
    async with (
        open_ws(runtime.ws_url, token(s, "eve")) as eve,
        open_ws(runtime.ws_url, _admin(runtime)) as admin,
    ):
        await ask(eve, {"action": "submit", "board": "arena", "score": 5})
        denied = await ask(eve, {"action": "ban", "player": "bob"})
        assert denied["error"]["code"] == "role_not_allowed"
        banned = await ask(admin, {"action": "ban", "player": "eve", "reason": "spam"})
        assert banned["result"] | {"seq": None} == {
            "player": "eve", "board": None, "banned": True, "changed": True, "entries": 1,
            "seq": None,
        }  # fmt: skip
        refused = await ask(eve, {"action": "submit", "board": "arena", "score": 6})
        assert refused["type"] == "error" and refused["error"]["code"] == "player_banned"
        assert "retry_after_ms" not in refused["error"]
        lifted = await ask(admin, {"action": "unban", "player": "eve"})
        assert lifted["result"]["entries"] == 1
        ack = await ask(eve, {"action": "submit", "board": "arena", "score": 6})
        assert ack["results"][0]["score"] == 6
        audit = await ask(admin, {"action": "audit", "player": "eve"})
        assert [(r["action"], r["actor"]) for r in audit["result"]["records"]] == [
            ("unban", "ops-1"), ("ban", "ops-1"),
        ]  # fmt: skip


async def test_erase_player_over_websocket_reports_and_the_player_is_gone(
    runtime: LocalRuntime,
) -> None:
    """erase_player answers the erasure report; the player's own connection row is gone and
    a later top snapshot never names them."""
    s = runtime.settings
    async with open_ws(runtime.ws_url, token(s, "zed")) as zed:
        await ask(zed, {"action": "submit", "board": "arena", "score": 3})
    async with open_ws(runtime.ws_url, _admin(runtime)) as admin:
        report = await ask(admin, {"action": "erase_player", "player": "zed"})
        assert report["action"] == "erase_player"
        assert report["result"]["removed"]["entries"] == 1
        snap = await ask(admin, {"action": "subscribe", "board": "arena", "view": "top", "n": 10})
        assert all(e["player"] != "zed" for e in snap["entries"])
