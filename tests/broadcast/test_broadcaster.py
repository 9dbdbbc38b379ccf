"""The broadcaster end to end: real subscribers, real submits, the brute-force truth."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcast.worker import CONSUMER, Broadcaster
from core.boards import BoardSpec, SortOrder, TieMode, Tier, UpdatePolicy, tier_for
from core.ids import ConnectionId
from core.ports import Sender
from core.ranking import ScoreInput, percentile
from core.settings import Settings
from db import feed
from leaderboard_client import LeaderboardClient
from runtime.app import LocalRuntime
from tests.broadcast.watchers import quiesce, truth, watcher
from tests.runtime.gateway_support import token

_boards = itertools.count()
PLAYERS = [f"u{i}" for i in range(10)]
TIERS = [Tier(name="Gold", top_percent=20), Tier(name="Silver", top_percent=50)]


@pytest.fixture(scope="module")
async def shared_runtime(pg_server: Any, template_db: str) -> AsyncIterator[LocalRuntime]:
    """One runtime (fast conflation) for the property test's many examples."""
    import uuid

    import asyncpg

    name = f"lb_bcast_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(pg_server.admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    cfg = Settings(jwt_secret="test-secret-test-secret-test-secret!", conflation_ms=20,  # type: ignore[arg-type]
                   db_pool_max=20)  # fmt: skip
    try:
        async with LocalRuntime(cfg, dsn=pg_server.dsn_for(name), broadcast_sweep_s=0.5) as rt:
            yield rt
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _display(rows: list[tuple[str, int]], mode: TieMode) -> list[int]:
    """The display ranks of a ladder in rank order, by the tie rule's definition."""
    scores = [s for _, s in rows]
    if mode is TieMode.ORDINAL:
        return list(range(1, len(rows) + 1))
    if mode is TieMode.COMPETITION:
        return [scores.index(s) + 1 for s in scores]
    return [len(set(scores[: scores.index(s)])) + 1 for s in scores]


def _expected_me(
    rows: list[tuple[str, int]], player: str, mode: TieMode = TieMode.ORDINAL,
    tiers: list[Tier] | None = None,
) -> dict[str, Any] | None:  # fmt: skip
    shown = _display(rows, mode)
    for i, (p, s) in enumerate(rows):
        if p == player:
            me = {"player": p, "score": s, "rank": i + 1, "display_rank": shown[i],
                  "percentile": percentile(i + 1, len(rows))}  # fmt: skip
            tier = tier_for(i + 1, len(rows), tiers)
            return me if tier is None else {**me, "tier": tier}
    return None


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    order=st.sampled_from(["desc", "asc"]),
    policy=st.sampled_from(["best", "latest", "increment"]),
    mode=st.sampled_from(list(TieMode)),
    ops=st.lists(st.tuples(st.sampled_from(PLAYERS), st.integers(0, 6)), min_size=1, max_size=30),
    pauses=st.lists(st.booleans(), min_size=30, max_size=30),
)
async def test_every_subscriber_converges_to_the_truth(
    shared_runtime: LocalRuntime,
    order: str,
    policy: str,
    mode: TieMode,
    ops: list[tuple[str, int]],
    pauses: list[bool],
) -> None:
    """After random submits, every me/top/around subscriber's last frame equals brute force:
    ranks, display ranks by the board's tie mode, percentiles and tiers."""
    rt = shared_runtime
    board = f"prop{next(_boards)}"
    await rt.store.create_board(BoardSpec(id=board, order=SortOrder(order),
                                          policy=UpdatePolicy(policy), max_score=10**6,
                                          tie_mode=mode, tiers=TIERS))  # fmt: skip
    await rt.store.submit(board, [ScoreInput(PLAYERS[0], 1)])
    async with watcher(rt, None, role="spectator") as spectator, \
            watcher(rt, PLAYERS[1]) as p1, watcher(rt, PLAYERS[2]) as p2:  # fmt: skip
        top = await spectator.subscribe({"board": board, "view": "top", "n": 5})
        around = await spectator.subscribe(
            {"board": board, "view": "around", "player": PLAYERS[0], "k": 2}
        )
        me1 = await p1.subscribe({"board": board, "view": "me"})
        me2 = await p2.subscribe({"board": board, "view": "me"})
        for w in (spectator, p1, p2):
            w.listen()
        for (player, score), pause in zip(ops, pauses, strict=False):
            await rt.store.submit(board, [ScoreInput(player, score)])
            if pause:
                await asyncio.sleep(0.03)
        await quiesce(rt, board)
        rows = await truth(rt, board)
        assert [(e["player"], e["score"]) for e in spectator.last(top)["entries"]] == rows[:5]
        assert [e["rank"] for e in spectator.last(top)["entries"]] == list(
            range(1, min(5, len(rows)) + 1)
        )
        assert spectator.last(top)["total"] == len(rows)
        assert [e["display_rank"] for e in spectator.last(top)["entries"]] == _display(rows, mode)[
            :5
        ]
        i = [p for p, _ in rows].index(PLAYERS[0])
        window = rows[max(0, i - 2) : i + 3]
        assert [(e["player"], e["score"]) for e in spectator.last(around)["entries"]] == window
        assert [e["display_rank"] for e in spectator.last(around)["entries"]] == _display(
            rows, mode
        )[max(0, i - 2) : i + 3]
        for w, view, player in ((p1, me1, PLAYERS[1]), (p2, me2, PLAYERS[2])):
            assert w.last(view).get("me") == _expected_me(rows, player, mode, TIERS)
            assert w.last(view)["total"] == len(rows)
        for w in (spectator, p1, p2):
            w.assert_ordered()


class _CrashingSender:
    """Delivers some frames of one fan-out, then dies like a killed process."""

    def __init__(self, inner: Sender, after: int) -> None:
        self.inner, self.after, self.crashed = inner, after, False

    async def send(self, connection_id: ConnectionId, data: str) -> None:
        await self.inner.send(connection_id, data)

    async def send_many(self, frames: Any) -> list[ConnectionId]:
        if not self.crashed:
            self.crashed = True
            await self.inner.send_many(list(frames)[: self.after])
            raise SystemExit("broadcaster killed mid-batch")
        return await self.inner.send_many(frames)


async def test_a_broadcaster_killed_mid_batch_loses_nothing(
    database_dsn: str, settings: Settings
) -> None:
    """A broadcaster dying after sending part of a round re-sends on restart; all converge."""
    async with LocalRuntime(settings, dsn=database_dsn, broadcast=False) as rt:
        await rt.store.create_board(BoardSpec(id="arena"))
        await rt.store.submit("arena", [ScoreInput("a", 1)])
        async with watcher(rt, "a") as wa, watcher(rt, "b") as wb, \
                watcher(rt, None, role="spectator") as ws:  # fmt: skip
            va = await wa.subscribe({"board": "arena", "view": "me"})
            vb = await wb.subscribe({"board": "arena", "view": "me"})
            vt = await ws.subscribe({"board": "arena", "view": "top", "n": 3})
            for w in (wa, wb, ws):
                w.listen()
            await rt.store.submit("arena", [ScoreInput("b", 5), ScoreInput("c", 3)])
            svc = rt.services
            dying = Broadcaster(replace(svc, sender=_CrashingSender(rt.sender, after=1)))
            with pytest.raises(SystemExit):
                await dying.round("arena")
            assert (
                await rt.store.pool.fetchval(
                    "SELECT coalesce(max(seq), 0) FROM lb_feed_cursor WHERE consumer = $1", CONSUMER
                )
                == 0
            )
            fresh = Broadcaster(svc)
            await fresh.drain("arena")
            await asyncio.sleep(0.2)
            assert wa.last(va)["me"] == {"player": "a", "score": 1, "rank": 3, "display_rank": 3,
                                         "percentile": percentile(3, 3)}  # fmt: skip
            assert wb.last(vb)["me"] == {"player": "b", "score": 5, "rank": 1, "display_rank": 1,
                                         "percentile": 100.0}  # fmt: skip
            assert [e["player"] for e in ws.last(vt)["entries"]] == ["b", "c", "a"]
            for w in (wa, wb, ws):
                seqs = [f["seq"] for f in next(iter(w.frames.values()))]
                assert seqs == sorted(seqs)


async def test_a_gone_connection_is_removed(database_dsn: str, settings: Settings) -> None:
    """A subscription whose connection vanished without $disconnect is deleted on first send."""
    async with LocalRuntime(settings, dsn=database_dsn, broadcast=False) as rt:
        await rt.store.create_board(BoardSpec(id="arena"))
        pool = rt.store.pool
        await pool.execute(
            "INSERT INTO lb_connection (connection_id, subject, player_id, role, expires_at) "
            "VALUES ('ghost=', 'ghost', 'ghost', 'spectator', now() + interval '1 hour')"
        )
        await pool.execute(
            "INSERT INTO lb_subscription (connection_id, view_id, board_id, season, kind, size) "
            "VALUES ('ghost=', 'top:arena:s1:5', 'arena', 's1', 'top', 5)"
        )
        await rt.store.submit("arena", [ScoreInput("a", 1)])
        svc = rt.services
        await Broadcaster(svc).drain("arena")
        assert (
            await pool.fetchval("SELECT count(*) FROM lb_connection WHERE connection_id = 'ghost='")
            == 0
        )
        assert await pool.fetchval("SELECT count(*) FROM lb_subscription") == 0


async def test_a_forced_gap_makes_the_client_resync_and_converge(runtime: LocalRuntime) -> None:
    """When a frame is lost, the SDK sees prev_seq != its seq, resubscribes, and converges."""
    rt = runtime
    await rt.store.submit("arena", [ScoreInput("a", 10)])
    async with LeaderboardClient.connect(
        rt.ws_url, token(rt.settings, None, role="spectator", subject="screen")
    ) as lb:
        stream = await lb.subscribe("arena", view="top", n=3)
        first = await anext(stream)
        assert [e.player for e in first.entries] == ["a"]
        # lose a frame: the server believes it already sent seq 999 on this view
        await rt.store.pool.execute(
            "UPDATE lb_subscription SET last_seq = 999, change_no = nextval('lb_subscription_change') WHERE kind = 'top'"
        )
        await rt.store.submit("arena", [ScoreInput("b", 20)])
        state = await asyncio.wait_for(anext(stream), 10)
        assert state.resynced
        assert [(e.player, e.rank) for e in state.entries] == [("b", 1), ("a", 2)]
        await rt.store.submit("arena", [ScoreInput("c", 30)])
        state = await asyncio.wait_for(anext(stream), 10)
        assert [(e.player, e.rank) for e in state.entries] == [("c", 1), ("b", 2), ("a", 3)]


async def test_conflation_sends_at_most_one_frame_per_window_with_the_latest_state(
    database_dsn: str,
) -> None:
    """A burst of changes reaches a view as ≤ 1 frame per window, the last one the newest."""
    cfg = Settings(jwt_secret="test-secret-test-secret-test-secret!", conflation_ms=300)  # type: ignore[arg-type]
    async with LocalRuntime(cfg, dsn=database_dsn) as rt:
        await rt.store.create_board(BoardSpec(id="arena", policy=UpdatePolicy.LATEST))
        async with watcher(rt, None, role="spectator") as screen:
            top = await screen.subscribe({"board": "arena", "view": "top", "n": 3})
            screen.listen()
            for i in range(40):
                await rt.store.submit("arena", [ScoreInput(f"p{i % 5}", i)])
                await asyncio.sleep(0.03)
            await quiesce(rt, "arena", settle_s=0.8)
            updates = [f for f in screen.frames[top] if f["type"] == "update"]
            assert 2 <= len(updates) <= 1 + (40 * 0.03 + 0.8) / 0.3
            rows = await truth(rt, "arena")
            assert [(e["player"], e["score"]) for e in screen.last(top)["entries"]] == rows[:3]
            screen.assert_ordered()


async def test_broadcasters_taking_turns_keep_every_view_chained(
    database_dsn: str, settings: Settings
) -> None:
    """Two broadcasters (two Lambda containers) alternate rounds on one board while viewers
    come and go: each one's warm memory is used only while still current, so every view's
    frames chain without a gap and end at the truth."""
    cfg = settings.model_copy(update={"conflation_ms": 0})
    async with LocalRuntime(cfg, dsn=database_dsn, broadcast=False) as rt:
        await rt.store.create_board(BoardSpec(id="arena", policy=UpdatePolicy.LATEST))
        await rt.store.submit("arena", [ScoreInput(p, i) for i, p in enumerate(PLAYERS)])
        svc = rt.services
        pair = [Broadcaster(svc) for _ in range(2)]
        async with watcher(rt, "u1") as w1, watcher(rt, None, role="spectator") as ws, \
                watcher(rt, "u2") as w2:  # fmt: skip
            v1 = await w1.subscribe({"board": "arena", "view": "me"})
            vt = await ws.subscribe({"board": "arena", "view": "top", "n": 3})
            w1.listen()
            ws.listen()
            v2 = None
            for turn in range(8):
                await rt.store.submit("arena", [ScoreInput(PLAYERS[turn % 4], 100 + turn)])
                if turn == 3:  # a viewer joins between the two broadcasters' rounds
                    v2 = await w2.subscribe({"board": "arena", "view": "around", "k": 1})
                    w2.listen()
                if turn == 5:  # and a view is taken again (a resubscribe: a new snapshot)
                    await ws.ws.send(json.dumps({"action": "subscribe", "board": "arena",
                                                 "view": "top", "n": 3}))  # fmt: skip
                    await asyncio.sleep(0.1)
                await pair[turn % 2].drain("arena")
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)
            rows = await truth(rt, "arena")
            assert w1.last(v1)["me"] == _expected_me(rows, "u1")
            assert [(e["player"], e["score"]) for e in ws.last(vt)["entries"]] == rows[:3]
            assert v2 is not None and w2.last(v2)["me"] == _expected_me(rows, "u2")
            for w in (w1, w2):
                w.assert_ordered()
            # the spectator's second snapshot restarts its chain; each part is unbroken
            frames = ws.frames[vt]
            restart = max(i for i, f in enumerate(frames) if f["type"] == "snapshot")
            for part in (frames[:restart], frames[restart:]):
                for before, after in itertools.pairwise(part):
                    assert after["prev_seq"] == before["seq"], (before, after)


async def test_spectators_of_one_view_who_joined_at_different_seqs_each_keep_their_chain(
    database_dsn: str, settings: Settings
) -> None:
    """Spectators of one top-N share a frame only while they were sent the same: one who
    joined later, between two rounds, gets frames chained to its own snapshot, and all of
    them end at the truth."""
    cfg = settings.model_copy(update={"conflation_ms": 0})
    async with LocalRuntime(cfg, dsn=database_dsn, broadcast=False) as rt:
        await rt.store.create_board(BoardSpec(id="arena", policy=UpdatePolicy.LATEST))
        await rt.store.submit("arena", [ScoreInput(p, i) for i, p in enumerate(PLAYERS)])
        broadcaster = Broadcaster(rt.services)
        async with watcher(rt, None, role="spectator") as early, \
                watcher(rt, None, role="spectator") as late, \
                watcher(rt, None, role="spectator") as later:  # fmt: skip
            view = await early.subscribe({"board": "arena", "view": "top", "n": 3})
            early.listen()
            await rt.store.submit("arena", [ScoreInput("u0", 100)])
            await feed.sequence(rt.store.pool, "arena")  # numbered, not yet pushed
            # two join after that change, and another change comes before the next round
            for w in (late, later):
                await w.subscribe({"board": "arena", "view": "top", "n": 3})
                w.listen()
            for turn in range(3):
                await rt.store.submit("arena", [ScoreInput(PLAYERS[turn + 1], 200 + turn)])
                await broadcaster.drain("arena")
            await asyncio.sleep(0.3)
            rows = await truth(rt, "arena")
            for w in (early, late, later):
                assert [(e["player"], e["score"]) for e in w.last(view)["entries"]] == rows[:3]
                w.assert_ordered()
            # one round sent the same state to both, each chained to what it was shown
            first_early, first_late = early.frames[view][1], late.frames[view][1]
            assert first_early["seq"] == first_late["seq"]
            assert first_early["prev_seq"] < first_late["prev_seq"] == late.frames[view][0]["seq"]
            assert first_early["entries"] == first_late["entries"]
            assert late.frames[view] == later.frames[view]


async def test_many_boards_changing_at_once_all_get_their_pushes(runtime: LocalRuntime) -> None:
    """Rounds of many boards at once share the broadcaster's pool without starving each
    other: every board's watcher sees its board's new leader."""
    rt = runtime
    boards = [f"hall{i}" for i in range(8)]
    for b in boards:
        await rt.store.create_board(BoardSpec(id=b))
    async with contextlib.AsyncExitStack() as stack:
        watchers = [await stack.enter_async_context(watcher(rt, None, role="spectator"))
                    for _ in boards]  # fmt: skip
        views = [await w.subscribe({"board": b, "view": "top", "n": 3})
                 for w, b in zip(watchers, boards, strict=True)]  # fmt: skip
        for w in watchers:
            w.listen()
        await asyncio.gather(*(rt.store.submit(b, [ScoreInput(f"lead-{b}", 99)]) for b in boards))
        for b in boards:
            await quiesce(rt, b)
        for w, v, b in zip(watchers, views, boards, strict=True):
            assert [e["player"] for e in w.last(v)["entries"]] == [f"lead-{b}"]


async def test_the_all_time_ladder_is_pushed_like_a_season(runtime: LocalRuntime) -> None:
    """A top view of season ``all-time`` gets pushes of lifetime bests across a roll, and a
    ticker on it follows the player's lifetime rank, while the new season starts empty."""
    rt = runtime
    await rt.store.create_board(BoardSpec(id="lifelong", all_time=True))
    await rt.store.submit("lifelong", [ScoreInput("u1", 50), ScoreInput("u2", 40)])
    async with watcher(rt, None, role="spectator") as ws, watcher(rt, "u2") as w2:
        top = await ws.subscribe({"board": "lifelong", "view": "top", "n": 5,
                                  "season": "all-time"})  # fmt: skip
        me = await w2.subscribe({"board": "lifelong", "view": "me", "season": "all-time"})
        ws.listen()
        w2.listen()
        await rt.store.roll_season("lifelong")
        await rt.store.submit("lifelong", [ScoreInput("u3", 45), ScoreInput("u1", 10)])
        await rt.store.submit("lifelong", [ScoreInput("u2", 60)])
        await quiesce(rt, "lifelong")
        entries = [(e["player"], e["score"], e["rank"]) for e in ws.last(top)["entries"]]
        assert entries == [("u2", 60, 1), ("u1", 50, 2), ("u3", 45, 3)]
        assert ws.last(top)["season"] == "all-time" and ws.last(top)["total"] == 3
        assert w2.last(me)["me"]["rank"] == 1 and w2.last(me)["me"]["score"] == 60
        season = await rt.store.fetch_top("lifelong", limit=5)
        assert [(e.player_id, e.score) for e in season.entries] == [
            ("u2", 60), ("u3", 45), ("u1", 10)]  # fmt: skip
        ws.assert_ordered()
        w2.assert_ordered()
