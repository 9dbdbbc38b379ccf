"""Exact ranks: the store against a brute-force model, under random operations."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.boards import BoardSpec, SortOrder, UpdatePolicy
from core.ranking import ScoreInput
from db import feed
from db.compaction import compact
from db.store import Store
from tests.db.ladder_model import LadderModel

_boards = itertools.count()

PLAYERS = [f"p{i}" for i in range(12)]

op = st.one_of(
    st.tuples(st.just("one"), st.sampled_from(PLAYERS), st.integers(-5, 5)),
    st.tuples(
        st.just("batch"),
        st.lists(
            st.tuples(st.sampled_from(PLAYERS), st.integers(-5, 5)),
            min_size=1,
            max_size=6,
            unique_by=lambda t: t[0],
        ),
        st.just(0),
    ),
    st.tuples(st.just("compact"), st.just(""), st.just(0)),
    st.tuples(st.just("roll"), st.just(""), st.just(0)),
)


async def _season_no(store: Store, board: str) -> int:
    return int(
        await store.pool.fetchval(
            "SELECT s.season_no FROM lb_season s JOIN lb_board b ON b.board_id = s.board_id "
            "AND b.season = s.season WHERE b.board_id = $1",
            board,
        )
    )


async def _check(store: Store, board: str, model: LadderModel) -> None:
    page = await store.fetch_top(board, limit=1000)
    assert [e.player_id for e in page.entries] == model.ordered()
    assert [e.rank for e in page.entries] == list(range(1, len(model.entries) + 1))
    assert [e.score for e in page.entries] == [model.entries[p][0] for p in model.ordered()]
    assert page.total == len(model.entries)
    for player in model.entries:
        standing = await store.fetch_standing(board, player)
        assert standing.entry.rank == model.rank(player)
        assert await store.fetch_rank(board, player) == model.rank(player)
    if model.entries:
        probe = sorted(model.entries)[len(model.entries) // 2]
        around = await store.fetch_around(board, probe, k=2)
        assert [e.player_id for e in around.entries] == model.around(probe, 2)
        assert [e.rank for e in around.entries] == [model.rank(p) for p in model.around(probe, 2)]
        friends = sorted(model.entries)[::2]
        page = await store.fetch_players(board, [*friends, "nobody"])
        assert [e.player_id for e in page.entries] == [p for p in model.ordered() if p in friends]
        assert [e.rank for e in page.entries] == [
            model.rank(p) for p in page.entries and [e.player_id for e in page.entries]
        ]
    # second page via the cursor continues exactly where the first stopped
    if len(model.entries) > 3:
        first = await store.fetch_top(board, limit=3)
        rest = await store.fetch_top(board, limit=1000, after=first.next_after)
        assert [e.player_id for e in first.entries + rest.entries] == model.ordered()
        assert [e.rank for e in rest.entries] == list(range(4, len(model.entries) + 1))


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    order=st.sampled_from(["desc", "asc"]),
    policy=st.sampled_from(["best", "latest", "increment"]),
    ops=st.lists(op, min_size=1, max_size=14),
)
async def test_ranks_match_brute_force_model(
    store: Store, order: str, policy: str, ops: list
) -> None:
    """Random submits, batches, compactions and season rolls keep every read equal to the model."""
    board = f"b{next(_boards)}"
    await store.create_board(BoardSpec(
        id=board, order=SortOrder(order), policy=UpdatePolicy(policy),
        min_score=-10**6, max_score=10**6,
    ))  # fmt: skip
    model = LadderModel(order, policy)
    seasons = [model]
    for kind, arg, value in ops:
        if kind == "compact":
            await compact(store.pool, await _season_no(store, board))
            continue
        if kind == "roll":
            await store.roll_season(board)
            model = LadderModel(order, policy)
            seasons.append(model)
            continue
        items = [(arg, value)] if kind == "one" else arg
        results = await store.submit(board, [ScoreInput(p, s) for p, s in items])
        by_player = {r.player_id: r for r in results}
        for player, submitted in items:
            expected, moves = model.expected_score(player, submitted)
            got = by_player[player]
            assert got.score == expected
            if moves or player not in model.entries:
                model.apply(player, expected, got.achieved_at)
            assert got.achieved_at == model.entries[player][1]
        for r in results:
            assert r.rank == model.rank(r.player_id)
            assert r.total == len(model.entries)
    await _check(store, board, model)
    # earlier seasons stay queryable by name
    listed = await store.list_seasons(board)
    assert len(listed) == len(seasons)
    for info, old in zip(listed, seasons, strict=True):
        page = await store.fetch_top(board, season=info["season"], limit=1000)
        assert [e.player_id for e in page.entries] == old.ordered()


async def test_ranks_survive_splits_and_merges_with_everyone_tied(store: Store) -> None:
    """Twenty thousand entries at one score split into many buckets and still rank exactly."""
    await store.create_board(BoardSpec(id="ties", policy=UpdatePolicy.LATEST))
    n = await _season_no(store, "ties")
    players = [f"t{i:05d}" for i in range(20_000)]
    for i in range(0, len(players), 1000):
        await store.submit(
            "ties", [ScoreInput(p, 0) for p in players[i : i + 1000]], with_ranks=False
        )
    report = await compact(store.pool, n)
    assert report.splits > 10 and report.block_splits >= 1
    buckets = await store.pool.fetchval("SELECT count(*) FROM lb_rank_bucket WHERE season_no=$1", n)
    assert buckets > 10
    rows = await store.pool.fetch(
        "SELECT player_id, achieved_at FROM lb_entry WHERE season_no = $1", n
    )
    truth = [r["player_id"] for r in sorted(rows, key=lambda r: (r["achieved_at"], r["player_id"]))]
    rng = random.Random(7)
    for player in rng.sample(players, 60):
        assert await store.fetch_rank("ties", player) == truth.index(player) + 1
    # move a few to the top, then shrink: merges keep counts exact
    movers = rng.sample(players, 200)
    for p in movers:
        await store.submit("ties", [ScoreInput(p, 5)])
    await compact(store.pool, n)
    top = await store.fetch_top("ties", limit=200)
    assert {e.player_id for e in top.entries} == set(movers)
    stayed = [p for p in truth if p not in set(movers)]
    for player in rng.sample(stayed, 40):
        assert await store.fetch_rank("ties", player) == 200 + stayed.index(player) + 1
    total = await store.pool.fetchval("SELECT sum(cnt) FROM lb_rank_bucket WHERE season_no=$1", n)
    assert total == 20_000
    # the ladder's kept total follows every fold, split and merge of its blocks
    blocks = await store.pool.fetchval("SELECT sum(cnt) FROM lb_rank_block WHERE season_no=$1", n)
    kept = await store.pool.fetchval("SELECT cnt FROM lb_rank_total WHERE season_no=$1", n)
    assert kept == blocks == 20_000
    assert await store.pool.fetchval("SELECT count(*) FROM lb_rank_block WHERE season_no=$1", n) > 1


async def test_large_batches_get_exact_ranks_with_pending_deltas(store: Store) -> None:
    """Batches of hundreds (the merged-rank path) return exact ranks, before and after compaction."""
    await store.create_board(BoardSpec(id="big", policy=UpdatePolicy.LATEST, min_score=0))
    rng = random.Random(3)
    n = await _season_no(store, "big")
    for round_no in range(6):
        players = rng.sample([f"q{i}" for i in range(900)], 300)
        results = await store.submit("big", [ScoreInput(p, rng.randrange(50)) for p in players])
        rows = await store.pool.fetch(
            "SELECT player_id FROM lb_entry WHERE season_no = $1 "
            "ORDER BY sort_score, achieved_at, player_id",
            n,
        )
        truth = {r[0]: i + 1 for i, r in enumerate(rows)}
        assert {r.player_id: r.rank for r in results} == {p: truth[p] for p in players}
        assert all(r.total == len(rows) for r in results)
        if round_no % 2:
            await compact(store.pool, n)


async def test_batch_ranks_are_exact_at_bucket_bounds_and_on_pending_deltas(store: Store) -> None:
    """The merged rank pass of a batch is exact where an off-by-one would hide: a score that
    sits exactly on a bucket's lower bound, and pending deltas that sit on such bounds."""
    await store.create_board(BoardSpec(id="bounds", policy=UpdatePolicy.LATEST, min_score=0))
    n = await _season_no(store, "bounds")
    rng = random.Random(11)
    players = [f"e{i:04d}" for i in range(3000)]
    for i in range(0, len(players), 1000):
        chunk = [ScoreInput(p, rng.randrange(10)) for p in players[i : i + 1000]]
        await store.submit("bounds", chunk, with_ranks=False)
    await compact(store.pool, n)
    bounds = [
        r["lo_player"]
        for r in await store.pool.fetch(
            "SELECT lo_player FROM lb_rank_bucket WHERE season_no = $1 AND lo_player <> '' "
            "ORDER BY lo_score, lo_at, lo_player",
            n,
        )
    ]
    assert len(bounds) > 10
    entries = {
        r["player_id"]: (r["score"], r["achieved_at"])
        for r in await store.pool.fetch(
            "SELECT player_id, score, achieved_at FROM lb_entry WHERE season_no = $1", n
        )
    }
    # every other bound player moves and stays uncompacted: a -1 delta on that bucket's bound
    movers, stayers = bounds[::2], bounds[1::2]
    await store.submit(
        "bounds", [ScoreInput(p, rng.randrange(10)) for p in movers], with_ranks=False
    )
    # the batch (over 16 scores: the merged pass) sends the other bound players their own key
    # again, so each is ranked exactly on a bucket's lower bound, beside players that move
    others = sorted(set(players) - set(bounds))
    batch = [ScoreInput(p, entries[p][0], achieved_at=entries[p][1]) for p in stayers]
    batch += [ScoreInput(p, rng.randrange(10)) for p in rng.sample(others, 40)]
    results = await store.submit("bounds", batch)
    ordered = await store.pool.fetch(
        "SELECT player_id FROM lb_entry WHERE season_no = $1 "
        "ORDER BY sort_score, achieved_at, player_id",
        n,
    )
    truth = {r["player_id"]: i + 1 for i, r in enumerate(ordered)}
    assert await store.pool.fetchval("SELECT count(*) FROM lb_rank_delta WHERE season_no = $1", n)
    assert {r.player_id: r.rank for r in results} == {
        s.player_id: truth[s.player_id] for s in batch
    }
    assert all(r.total == len(players) for r in results)


@pytest.mark.parametrize("size", [8, 60])  # one rank probe per key, and the merged pass
async def test_tickers_as_of_an_earlier_seq_are_exact_while_later_moves_are_pending(
    store: Store, size: int
) -> None:
    """The broadcaster's re-read of ``me`` tickers: each player's rank and score exactly as
    of an earlier seq, with later moves and an arrival sequenced and their deltas pending."""
    board = f"tick{size}"
    await store.create_board(BoardSpec(id=board, policy=UpdatePolicy.LATEST, min_score=0))
    n = await _season_no(store, board)
    rng = random.Random(size)
    players = [f"k{i:03d}" for i in range(size)]
    for p in players:
        await store.submit(board, [ScoreInput(p, rng.randrange(20))], with_ranks=False)
    as_of = (await feed.sequence(store.pool, board)).seq
    ordered = await store.pool.fetch(
        "SELECT player_id, score FROM lb_entry WHERE season_no = $1 "
        "ORDER BY sort_score, achieved_at, player_id",
        n,
    )
    then = {r["player_id"]: (i + 1, r["score"]) for i, r in enumerate(ordered)}
    for p in rng.sample(players, size // 2):
        await store.submit(board, [ScoreInput(p, rng.randrange(20))], with_ranks=False)
    await store.submit(board, [ScoreInput("late", 7)], with_ranks=False)
    assert (await feed.sequence(store.pool, board)).seq > as_of
    assert await store.pool.fetchval("SELECT count(*) FROM lb_rank_delta WHERE season_no = $1", n)
    season = (await store.list_seasons(board))[0]["season"]
    tickers, total = await store.fetch_tickers_as_of(board, season, [*players, "late"], as_of)
    assert total == size
    assert {p: (t.rank, t.score) for p, t in tickers.items() if p != "late"} == then
    assert tickers["late"].rank is None and tickers["late"].total == size


async def test_rank_follows_a_season_rolled_by_another_process(
    store: Store, database_dsn: str
) -> None:
    """A rank read after another process rolled the board's season answers from the new
    season: a player who has not played it yet has no rank, then the new season's one."""
    await store.create_board(BoardSpec(id="weekly"))
    await store.submit("weekly", [ScoreInput("alice", 10), ScoreInput("bob", 20)])
    assert await store.fetch_rank("weekly", "alice") == 2
    other = await Store.open(store.settings, dsn=database_dsn)
    try:
        await other.roll_season("weekly")
        assert await store.fetch_rank("weekly", "alice") is None
        await other.submit("weekly", [ScoreInput("alice", 5)])
    finally:
        await other.close()
    assert await store.fetch_rank("weekly", "alice") == 1
    await store.submit("weekly", [ScoreInput("carol", 7)])
    assert await store.fetch_rank("weekly", "alice") == 2
