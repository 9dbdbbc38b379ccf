"""What a submit promises over the WebSocket: bounds for everyone, metadata with its score."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg

from core.boards import BoardSpec, UpdatePolicy
from runtime.app import LocalRuntime
from tests.runtime.gateway_support import ask, counts, open_ws, token


async def _rows(pool: asyncpg.Pool) -> dict[str, Any]:
    """The row counts a refused submit must leave alone (the board's seq moves on its own
    as the maintenance job numbers earlier events)."""
    found = await counts(pool)
    del found["board_seq"]
    return found


async def test_a_worse_score_on_a_best_board_keeps_the_best_scores_metadata(
    runtime: LocalRuntime,
) -> None:
    """A worse score on a best board leaves the standing score's metadata; a better one
    brings its own."""
    async with open_ws(runtime.ws_url, token(runtime.settings, "alice")) as ws:
        await ask(ws, {"action": "submit", "board": "arena", "score": 500,
                       "metadata": {"loadout": "sniper"}})  # fmt: skip
        worse = await ask(ws, {"action": "submit", "board": "arena", "score": 300,
                               "metadata": {"loadout": "shotgun"}})  # fmt: skip
        assert worse["results"][0]["score"] == 500 and not worse["results"][0]["improved"]
        standing = await runtime.store.fetch_standing("arena", "alice")
        assert standing.entry.metadata == {"loadout": "sniper"}
        await ask(ws, {"action": "submit", "board": "arena", "score": 800,
                       "metadata": {"loadout": "rifle"}})  # fmt: skip
        standing = await runtime.store.fetch_standing("arena", "alice")
        assert (standing.entry.score, standing.entry.metadata) == (800, {"loadout": "rifle"})


async def test_a_score_outside_the_bounds_is_refused_for_an_existing_player_too(
    runtime: LocalRuntime,
) -> None:
    """A score below the minimum or above the maximum is refused with score_out_of_range
    whether or not the player already has an entry, and changes nothing."""
    async with open_ws(runtime.ws_url, token(runtime.settings, "alice")) as ws:
        for score in (-1, 1_000_001):
            fresh = await ask(ws, {"action": "submit", "board": "arena", "score": score})
            assert fresh["type"] == "error" and fresh["error"]["code"] == "score_out_of_range"
        await ask(ws, {"action": "submit", "board": "arena", "score": 10})
        before = await _rows(runtime.store.pool)
        for score in (-1, 1_000_001):
            again = await ask(ws, {"action": "submit", "board": "arena", "score": score})
            assert again["type"] == "error", again
            assert again["error"]["code"] == "score_out_of_range"
        assert await _rows(runtime.store.pool) == before


async def test_a_batch_with_an_out_of_bounds_score_for_an_existing_player_is_refused(
    runtime: LocalRuntime,
) -> None:
    """A server's batch holding an out-of-bounds score for a player who has an entry is
    refused whole."""
    await runtime.store.create_board(
        BoardSpec(id="laps", policy=UpdatePolicy.BEST, min_score=0, max_score=100)
    )
    tok = token(runtime.settings, None, role="server", subject="game-server")
    async with open_ws(runtime.ws_url, tok) as ws:
        await ask(ws, {"action": "submit", "board": "laps",
                       "scores": [{"player": "p1", "score": 5}, {"player": "p2", "score": 9}]})  # fmt: skip
        before = await _rows(runtime.store.pool)
        bad = await ask(ws, {"action": "submit", "board": "laps",
                             "scores": [{"player": "p1", "score": 6},
                                        {"player": "p2", "score": -1}]})  # fmt: skip
        assert bad["type"] == "error" and bad["error"]["code"] == "score_out_of_range"
        assert await _rows(runtime.store.pool) == before


async def test_no_one_can_occupy_another_players_submission_id(runtime: LocalRuntime) -> None:
    """A submission id used first by bob (or a server) is still alice's to use: her submit
    applies, her retry replays, and her reuse with other scores conflicts."""
    s = runtime.settings
    await runtime.store.create_board(BoardSpec(id="kills", policy=UpdatePolicy.INCREMENT))
    server = token(s, None, role="server", subject="match-host")
    async with (
        open_ws(runtime.ws_url, token(s, "bob")) as bob,
        open_ws(runtime.ws_url, token(s, "alice")) as alice,
        open_ws(runtime.ws_url, server) as host,
    ):
        squat = await ask(bob, {"action": "submit", "board": "kills", "score": 1,
                                "submission_id": "m42-alice"})  # fmt: skip
        assert squat["type"] == "ack"
        hosted = await ask(host, {"action": "submit", "board": "kills", "player": "carol",
                                  "score": 2, "submission_id": "m42-alice"})  # fmt: skip
        assert hosted["type"] == "ack" and not hosted["results"][0]["replayed"]
        mine = {"action": "submit", "board": "kills", "score": 5, "submission_id": "m42-alice"}
        first = await ask(alice, mine)
        assert first["type"] == "ack", first
        assert first["results"][0] | {"rank": 0, "total": 0, "percentile": 0} == {
            "player": "alice", "score": 5, "rank": 0, "total": 0, "improved": True,
            "replayed": False, "percentile": 0,
        }  # fmt: skip
        retry = await ask(alice, mine)
        assert retry["results"][0]["replayed"] and retry["results"][0]["score"] == 5
        reused = await ask(alice, {**mine, "score": 6})
        assert reused["type"] == "error" and reused["error"]["code"] == "submission_conflict"
    # a new token of the same player keeps the same ids
    async with open_ws(runtime.ws_url, token(s, "alice", ttl_s=600)) as again:
        replay = await ask(again, mine)
        assert replay["results"][0]["replayed"]
    assert (await runtime.store.fetch_standing("kills", "alice")).entry.score == 5


async def test_an_ack_carries_the_seq_of_the_push_that_reflects_it(runtime: LocalRuntime) -> None:
    """An ack's seq is its write's: the update with that seq is the first showing the new
    score; a submit that moves nothing, and a replay, answer seqs that already show it."""
    s = runtime.settings
    async with (
        open_ws(runtime.ws_url, token(s, "alice")) as alice,
        open_ws(runtime.ws_url, token(s, "viewer", role="spectator")) as viewer,
    ):
        snap = await ask(viewer, {"action": "subscribe", "board": "arena", "view": "top", "n": 5})
        seen = snap["seq"]
        for score in (10, 30, 20):
            message = {"action": "submit", "board": "arena", "score": score,
                       "submission_id": f"m-{score}"}  # fmt: skip
            ack = await ask(alice, message)
            assert ack["type"] == "ack"
            if score == 20:  # worse on a best board: no event; the board's seq then
                assert ack["seq"] == seen
                continue
            assert ack["seq"] > seen
            while seen < ack["seq"]:
                update = json.loads(await asyncio.wait_for(viewer.recv(), 10))
                assert update["type"] == "update"
                shown = {e["player"]: e["score"] for e in update["entries"]}
                assert (shown.get("alice") == score) == (update["seq"] >= ack["seq"]), update
                seen = update["seq"]
            replay = await ask(alice, message)
            assert replay["results"][0]["replayed"] and replay["seq"] == ack["seq"]
