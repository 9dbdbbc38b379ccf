"""`as_of_seq` covers exactly what a read shows, even while committed changes wait to be
numbered: REST reads on the replica and WebSocket snapshots, against the feed's model."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Final

import aiohttp
import pytest
from websockets.asyncio.client import connect

from core.settings import Settings
from db import feed
from runtime.app import LocalRuntime
from runtime.postgres import EmbeddedCluster
from tests.rest.support import Client, fresh_runtime, replicated, seed_board, token

BOARD: Final = "asof"
# A submit as lb_submit alone makes it: committed, and not numbered by anyone (a submitter
# that died between its commit and its ack leaves exactly this, until a sequencer runs).
UNNUMBERED_SUBMIT: Final = """
SELECT * FROM lb_submit($1, NULL, NULL, ARRAY[$2], ARRAY[$3::bigint], ARRAY[NULL::timestamptz],
                        ARRAY[NULL::jsonb])"""
EVENTS_UP_TO: Final = """
SELECT player_id, new_score, new_at FROM lb_event
 WHERE board_id = $1 AND seq IS NOT NULL AND seq <= $2 ORDER BY seq"""


@pytest.fixture
async def quiet_runtime(
    migrated: EmbeddedCluster, settings_rest: Settings
) -> AsyncIterator[LocalRuntime]:
    """A runtime (primary + replica) whose maintenance never numbers events by itself."""
    assert migrated.replica is not None
    async with fresh_runtime(
        migrated.primary, migrated.replica, settings_rest, maintenance_interval_s=3600
    ) as rt:
        yield rt


async def _ladder_at(rt: LocalRuntime, seq: int) -> list[tuple[str, int]]:
    """(player, score) in rank order after event ``seq``: the feed replayed from nothing."""
    state: dict[str, tuple[int, datetime]] = {}
    for r in await rt.store.pool.fetch(EVENTS_UP_TO, BOARD, seq):
        state[r["player_id"]] = (r["new_score"], r["new_at"])
    order = sorted(state, key=lambda p: (-state[p][0], state[p][1], p))
    return [(p, state[p][0]) for p in order]


def _shown(entries: list[dict[str, Any]], player: str = "player_id") -> list[tuple[str, int, int]]:
    return [(e[player], e["score"], e["rank"]) for e in entries]


def _ranked(ladder: list[tuple[str, int]]) -> list[tuple[str, int, int]]:
    return [(p, s, i) for i, (p, s) in enumerate(ladder, start=1)]


async def test_reads_show_exactly_the_state_at_their_seq(
    quiet_runtime: LocalRuntime, http: aiohttp.ClientSession, settings_rest: Settings
) -> None:
    """With committed changes not yet numbered, every REST read (top, player, around,
    friends, board) and every top snapshot shows the ladder exactly as of its seq."""
    rt = quiet_runtime
    client = Client(rt.http_url, http, token(settings_rest, "spectator"))
    await seed_board(rt.store, BOARD, 12)
    rng = random.Random(2)
    players = [f"p{i:03d}" for i in range(1, 30)]
    checked_pending = 0
    async with connect(f"{rt.ws_url}?token={token(settings_rest, 'spectator')}", proxy=None) as ws:
        for round_no in range(40):
            for _ in range(rng.randrange(1, 4)):
                player, score = rng.choice(players), rng.randrange(0, 300)
                await rt.store.pool.fetch(UNNUMBERED_SUBMIT, BOARD, player, score)
            if round_no % 5 == 4:
                await feed.sequence(rt.store.pool, BOARD)
            checked_pending += bool(
                await rt.store.pool.fetchval("SELECT count(*) FROM lb_event WHERE seq IS NULL")
            )
            await replicated(rt.store.pool, rt.store.read_pool)

            status, _, top = await client.get(f"/v1/boards/{BOARD}/top", limit=100)
            assert status == 200
            model = await _ladder_at(rt, top["as_of_seq"])
            assert (top["total"], _shown(top["entries"])) == (len(model), _ranked(model))

            status, _, page = await client.get(f"/v1/boards/{BOARD}/top", limit=5)
            model = await _ladder_at(rt, page["as_of_seq"])
            assert _shown(page["entries"]) == _ranked(model)[:5]

            who = rng.choice(players)
            status, _, mine = await client.get(f"/v1/boards/{BOARD}/players/{who}")
            model = await _ladder_at(rt, mine["as_of_seq"]) if status == 200 else []
            if status == 200:
                ranked = {p: (p, s, r) for p, s, r in _ranked(model)}
                assert _shown([mine["entry"]]) == [ranked[who]]
                assert mine["total"] == len(model)
            else:
                assert mine["code"] == "unknown_player"

            status, _, near = await client.get(f"/v1/boards/{BOARD}/players/{who}/around", k=2)
            if status == 200:
                ranked_list = _ranked(await _ladder_at(rt, near["as_of_seq"]))
                at = next(i for i, (p, _, _) in enumerate(ranked_list) if p == who)
                assert _shown(near["entries"]) == ranked_list[max(0, at - 2) : at + 3]

            friends = ",".join(rng.sample(players, 6))
            status, _, group = await client.get(f"/v1/boards/{BOARD}/friends", players=friends)
            model_ranked = _ranked(await _ladder_at(rt, group["as_of_seq"]))
            listed = set(friends.split(","))
            assert _shown(group["entries"]) == [e for e in model_ranked if e[0] in listed]
            assert group["total"] == len(model_ranked)

            status, _, board = await client.get(f"/v1/boards/{BOARD}")
            assert board["entries"] == len(await _ladder_at(rt, board["as_of_seq"]))

            await ws.send(json.dumps({"action": "subscribe", "board": BOARD, "view": "top",
                                      "n": 50, "request_id": f"s{round_no}"}))  # fmt: skip
            snap = json.loads(await ws.recv())
            assert snap["type"] == "snapshot", snap
            model = await _ladder_at(rt, snap["seq"])
            assert (snap["total"], _shown(snap["entries"], "player")) == (
                len(model), _ranked(model)[:50]
            )  # fmt: skip
            await ws.send(json.dumps({"action": "unsubscribe", "view_id": snap["view_id"]}))
            assert json.loads(await ws.recv())["type"] == "unsubscribed"
    assert checked_pending >= 20  # most rounds read with changes waiting to be numbered
