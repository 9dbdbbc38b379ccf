"""Board features in the store: display ranks for ties, percentiles and tiers, and the
all-time ladder, against a brute-force model on the real database."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Sequence
from datetime import datetime
from typing import Final

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.boards import ALL_TIME, BoardSpec, SortOrder, TieMode, Tier, UpdatePolicy, tier_for
from core.errors import BadRequest
from core.ranking import RankedEntry, ScoreInput, percentile
from db import feed
from db.compaction import compact
from db.store import Store

_boards = itertools.count()
PLAYERS: Final = [f"p{i}" for i in range(14)]
TIERS: Final = [Tier(name="Gold", top_percent=10), Tier(name="Silver", top_percent=50)]
UNNUMBERED_SUBMIT: Final = """
SELECT * FROM lb_submit($1, NULL, NULL, ARRAY[$2], ARRAY[$3::bigint], ARRAY[NULL::timestamptz],
                        ARRAY[NULL::jsonb])"""
FEED: Final = """
SELECT seq, season, player_id, new_score, new_at FROM lb_event WHERE board_id = $1 ORDER BY seq"""


def expected_display(scores: Sequence[int], mode: TieMode) -> list[int]:
    """Display ranks of a ladder's scores listed in rank order, by definition."""
    out = []
    for i, s in enumerate(scores):
        better = [x for x in scores if x != s and scores.index(x) < scores.index(s)]
        if mode is TieMode.ORDINAL:
            out.append(i + 1)
        elif mode is TieMode.COMPETITION:
            out.append(len(better) + 1)
        else:
            out.append(len(set(better)) + 1)
    return out


def check_entries(entries: Sequence[RankedEntry], ladder: list[tuple[str, int]], mode: TieMode,
                  total: int) -> None:  # fmt: skip
    """Each entry's display rank, percentile and tier are the model's."""
    shown = dict(zip([p for p, _ in ladder], expected_display([s for _, s in ladder], mode),
                     strict=True))  # fmt: skip
    for e in entries:
        assert e.display_rank == shown[e.player_id], (e, ladder)
        assert e.percentile == percentile(e.rank, total)
        assert e.tier == tier_for(e.rank, total, TIERS)


async def _season_no(store: Store, board: str, season: str | None = None) -> int:
    return int(
        await store.pool.fetchval(
            "SELECT s.season_no FROM lb_season s JOIN lb_board b ON b.board_id = s.board_id "
            "WHERE b.board_id = $1 AND s.season = coalesce($2, b.season)",
            board, season,
        )
    )  # fmt: skip


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    order=st.sampled_from(["desc", "asc"]),
    mode=st.sampled_from(list(TieMode)),
    ops=st.lists(
        st.one_of(
            st.tuples(st.sampled_from(PLAYERS), st.integers(0, 4)),
            st.just(("compact", 0)),
        ),
        min_size=1,
        max_size=24,
    ),
)
async def test_display_ranks_match_the_tie_rules(
    store: Store, order: str, mode: TieMode, ops: list[tuple[str, int]]
) -> None:
    """Random latest-score submits with many ties and compactions: every read's display
    ranks follow the board's tie mode, and percentiles and tiers follow the exact rank."""
    board = f"t{next(_boards)}"
    await store.create_board(BoardSpec(
        id=board, order=SortOrder(order), policy=UpdatePolicy.LATEST, tie_mode=mode,
        tiers=TIERS,
    ))  # fmt: skip
    for player, score in ops:
        if player == "compact":
            await compact(store.pool, await _season_no(store, board))
        else:
            await store.submit(board, [ScoreInput(player, score)])
    top = await store.fetch_top(board, limit=100)
    ladder = [(e.player_id, e.score) for e in top.entries]
    check_entries(top.entries, ladder, mode, top.total)
    for size in (1, 3):
        first = await store.fetch_top(board, limit=size)
        if first.next_after is not None:
            rest = await store.fetch_top(board, limit=100, after=first.next_after)
            check_entries(rest.entries, ladder, mode, top.total)
    for player, _ in ladder[:: max(1, len(ladder) // 3)]:
        around = await store.fetch_around(board, player, k=2)
        check_entries(around.entries, ladder, mode, top.total)
        standing = await store.fetch_standing(board, player)
        check_entries([standing.entry], ladder, mode, top.total)
    friends = await store.fetch_players(board, [p for p, _ in ladder[1::2]] or ["nobody"])
    check_entries(friends.entries, ladder, mode, top.total)


@pytest.mark.parametrize("mode", [TieMode.COMPETITION, TieMode.DENSE])
async def test_display_ranks_racing_writers_are_exact_at_their_seq(
    store: Store, mode: TieMode
) -> None:
    """Reads taken while acked and unnumbered writes commit show, at their own seq, the
    display ranks of the feed replayed up to it (the reads that undo unnumbered writes)."""
    board = f"race-{mode.value}"
    await store.create_board(BoardSpec(id=board, policy=UpdatePolicy.LATEST, tie_mode=mode))
    players = [f"r{i:02d}" for i in range(30)]
    rng = random.Random(5)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 6.0
    stop = asyncio.Event()
    seen: list[tuple[int, str, tuple[str, ...], list[RankedEntry]]] = []

    async def writer(acked: bool) -> None:
        while not stop.is_set():
            player, score = rng.choice(players), rng.randrange(0, 6)
            if acked:
                await store.submit(board, [ScoreInput(player, score)])
            else:
                await store.pool.fetch(UNNUMBERED_SUBMIT, board, player, score)
                await asyncio.sleep(0.002)

    async def sequencer() -> None:
        while not stop.is_set():
            await feed.sequence(store.pool, board)
            await asyncio.sleep(0.01)

    async def reader() -> None:
        while not stop.is_set():
            if len(seen) >= 500 or loop.time() > deadline:
                stop.set()
                return
            kind, who = rng.choice(["top", "around", "friends"]), rng.choice(players)
            try:
                if kind == "top":
                    page = await store.fetch_top(board, limit=12)
                elif kind == "around":
                    page = await store.fetch_around(board, who, k=3)
                else:
                    page = await store.fetch_players(board, rng.sample(players, 5))
            except Exception as exc:  # no entry yet, as of the read's seq
                assert getattr(exc, "code", None) == "unknown_player", exc
                continue
            seen.append((page.as_of_seq, kind, (who,), page.entries))

    await asyncio.gather(writer(True), writer(True), writer(False), sequencer(), reader())
    await feed.sequence(store.pool, board)
    events = await store.pool.fetch(FEED, board)
    assert len(seen) >= 100, len(seen)
    state: dict[str, tuple[int, datetime]] = {}
    at = 0
    for seq, _, _, entries in sorted(seen, key=lambda r: r[0]):
        while at < len(events) and events[at]["seq"] <= seq:
            e = events[at]
            state[e["player_id"]] = (e["new_score"], e["new_at"])
            at += 1
        order = sorted(state, key=lambda p: (-state[p][0], state[p][1], p))
        ladder = [(p, state[p][0]) for p in order]
        assert [e.rank for e in entries] == [order.index(e.player_id) + 1 for e in entries]
        shown = expected_display([s for _, s in ladder], mode)
        assert [e.display_rank for e in entries] == [
            shown[order.index(e.player_id)] for e in entries
        ], (seq, ladder, entries)


@pytest.mark.parametrize("policy", [UpdatePolicy.BEST, UpdatePolicy.LATEST, UpdatePolicy.INCREMENT])
async def test_all_time_ladder_keeps_lifetime_scores_across_resets(
    store: Store, policy: UpdatePolicy
) -> None:
    """An all-time ladder keeps each player's lifetime best (total, on increment boards)
    across season rolls, ranked exactly and readable as season ``all-time``."""
    board = f"life-{policy.value}"
    await store.create_board(BoardSpec(id=board, policy=policy, all_time=True))
    rng = random.Random(2)
    lifetime: dict[str, int] = {}
    for season_no in range(3):
        for _ in range(25):
            player, score = rng.choice(PLAYERS), rng.randrange(1, 60)
            await store.submit(board, [ScoreInput(player, score)])
            if policy is UpdatePolicy.INCREMENT:
                lifetime[player] = lifetime.get(player, 0) + score
            else:
                lifetime[player] = max(lifetime.get(player, score), score)
        batch = rng.sample(PLAYERS, 20 if len(PLAYERS) >= 20 else len(PLAYERS))
        scores = {p: rng.randrange(1, 60) for p in batch}
        await store.submit(board, [ScoreInput(p, s) for p, s in scores.items()])
        for p, s in scores.items():
            lifetime[p] = (
                lifetime.get(p, 0) + s
                if policy is UpdatePolicy.INCREMENT
                else max(lifetime.get(p, s), s)
            )
        if season_no < 2:
            await store.roll_season(board)
        if season_no == 1:
            await compact(store.pool, await _season_no(store, board, ALL_TIME))
    top = await store.fetch_top(board, season=ALL_TIME, limit=100)
    assert {e.player_id: e.score for e in top.entries} == lifetime
    assert [e.rank for e in top.entries] == list(range(1, len(lifetime) + 1))
    assert [e.score for e in top.entries] == sorted(lifetime.values(), reverse=True)
    for e in top.entries:
        st_ = await store.fetch_standing(board, e.player_id, season=ALL_TIME)
        assert st_.entry.rank == e.rank and st_.total == len(lifetime)
    seasons = [s["season"] for s in await store.list_seasons(board)]
    assert seasons[-1] == ALL_TIME and len(seasons) == 4
    current = await store.fetch_top(board, limit=100)
    assert current.season != ALL_TIME and current.total <= len(lifetime)


async def test_all_time_is_no_season_name_to_roll_to(store: Store) -> None:
    """Rolling a board into a season named ``all-time`` is refused with a typed error."""
    await store.create_board(BoardSpec(id="plain"))
    with pytest.raises(BadRequest) as caught:
        await store.roll_season("plain", season=ALL_TIME)
    assert caught.value.code == "reserved_season"


async def test_tie_mode_and_tiers_are_configurable(store: Store) -> None:
    """A board's tie mode and tiers change by configuration and reads follow at once."""
    await store.create_board(BoardSpec(id="conf", policy=UpdatePolicy.LATEST))
    await store.submit("conf", [ScoreInput(p, s) for p, s in [("a", 5), ("b", 5), ("c", 3)]])
    page = await store.fetch_top("conf", limit=10)
    assert [e.display_rank for e in page.entries] == [1, 2, 3]
    assert [e.tier for e in page.entries] == [None, None, None]
    board = await store.configure_board("conf", tie_mode=TieMode.DENSE, tiers=TIERS)
    assert board.tie_mode is TieMode.DENSE and board.tiers == TIERS
    page = await store.fetch_top("conf", limit=10)
    assert [e.display_rank for e in page.entries] == [1, 1, 2]
    assert [e.tier for e in page.entries] == ["Gold", "Silver", None]
    await store.configure_board("conf", tie_mode=TieMode.COMPETITION, tiers=None)
    page = await store.fetch_top("conf", limit=10)
    assert [e.display_rank for e in page.entries] == [1, 1, 3]
    assert [e.tier for e in page.entries] == [None, None, None]
