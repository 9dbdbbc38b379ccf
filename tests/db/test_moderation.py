"""Moderation in the database: removals, bans, erasure and the audit log, against a
brute-force ladder model and under racing submits."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.boards import BoardSpec, SortOrder, UpdatePolicy
from core.errors import Forbidden, NotFound
from core.moderation import is_erased
from core.ranking import ScoreInput
from db import feed
from db.compaction import compact, compact_all
from db.moderation import Moderation
from db.store import Store
from tests.db.ladder_model import LadderModel

_boards = itertools.count()
PLAYERS = [f"p{i}" for i in range(8)]
ADMIN = "admin-1"


async def _season_no(store: Store, board: str) -> int:
    return int(
        await store.pool.fetchval(
            "SELECT s.season_no FROM lb_season s JOIN lb_board b ON b.board_id = s.board_id "
            "AND b.season = s.season WHERE b.board_id = $1",
            board,
        )
    )


async def _check(store: Store, board: str, model: LadderModel, players: list[str]) -> None:
    page = await store.fetch_top(board, limit=1000)
    assert [e.player_id for e in page.entries] == model.ordered()
    assert [e.rank for e in page.entries] == list(range(1, len(model.entries) + 1))
    assert page.total == len(model.entries)
    for player in players:
        if player in model.entries:
            assert (await store.fetch_standing(board, player)).entry.rank == model.rank(player)
            assert await store.fetch_rank(board, player) == model.rank(player)
        else:
            with pytest.raises(NotFound):
                await store.fetch_standing(board, player)


async def _board(store: Store, board: str, order: str = "desc", policy: str = "best") -> None:
    await store.create_board(BoardSpec(
        id=board, order=SortOrder(order), policy=UpdatePolicy(policy),
        min_score=-10**6, max_score=10**6,
    ))  # fmt: skip


op = st.one_of(
    st.tuples(st.just("submit"), st.sampled_from(PLAYERS), st.integers(-5, 5)),
    st.tuples(st.just("remove"), st.sampled_from(PLAYERS), st.just(0)),
    st.tuples(st.just("ban"), st.sampled_from(PLAYERS), st.booleans()),
    st.tuples(st.just("unban"), st.sampled_from(PLAYERS), st.booleans()),
    st.tuples(st.just("compact"), st.just(""), st.just(0)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    order=st.sampled_from(["desc", "asc"]),
    policy=st.sampled_from(["best", "latest", "increment"]),
    ops=st.lists(op, min_size=1, max_size=16),
)
async def test_submits_removals_bans_and_unbans_keep_ranks_equal_to_the_model(
    store: Store, order: str, policy: str, ops: list
) -> None:
    """Any interleaving of submits, removals, bans (board or global) and unbans keeps every
    rank, total and read equal to a brute-force model; unbans bring entries back unchanged."""
    board = f"m{next(_boards)}"
    await _board(store, board, order, policy)
    mod = Moderation(store.pool)
    model = LadderModel(order, policy)
    hidden: dict[str, tuple[int, object]] = {}
    bans: dict[str, set[bool]] = {}  # player -> {True: everywhere, False: this board}
    # a ban on every board outlives the example: each example has players of its own
    players = {p: f"{board}-{p}" for p in PLAYERS}
    for kind, name, value in ops:
        player = players.get(name, "")
        if kind == "compact":
            await compact(store.pool, await _season_no(store, board))
        elif kind == "submit":
            if bans.get(player):
                with pytest.raises(Forbidden) as refused:
                    await store.submit(board, [ScoreInput(player, value)])
                assert refused.value.code == "player_banned"
                continue
            (got,) = await store.submit(board, [ScoreInput(player, value)])
            expected, moves = model.expected_score(player, value)
            if moves or player not in model.entries:
                model.apply(player, expected, got.achieved_at)
            assert (got.rank, got.total) == (model.rank(player), len(model.entries))
        elif kind == "remove":
            if player in model.entries or player in hidden:
                await mod.remove_entry(board, player, season=None, actor=ADMIN, reason=None)
                model.entries.pop(player, None)
                hidden.pop(player, None)
            else:
                with pytest.raises(NotFound):
                    await mod.remove_entry(board, player, season=None, actor=ADMIN, reason=None)
        elif kind == "ban":
            await mod.ban(player, board=None if value else board, actor=ADMIN, reason="cheat")
            bans.setdefault(player, set()).add(value)
            if player in model.entries:
                hidden[player] = model.entries.pop(player)  # type: ignore[assignment]
        else:
            await mod.unban(player, board=None if value else board, actor=ADMIN, reason=None)
            bans.get(player, set()).discard(value)
            if not bans.get(player) and player in hidden:
                model.entries[player] = hidden.pop(player)  # type: ignore[assignment]
        await _check(store, board, model, list(players.values()))


async def test_a_removal_moves_everyone_behind_up_by_one_and_is_pushed_as_a_departure(
    store: Store,
) -> None:
    """Removing the second of four entries moves the third and fourth up by one in the same
    transaction, and the change feed carries a removal event (no new key)."""
    await _board(store, "rm")
    await store.submit(
        "rm", [ScoreInput(p, s) for p, s in [("a", 40), ("b", 30), ("c", 20), ("d", 10)]]
    )
    removed = await Moderation(store.pool).remove_entry(
        "rm", "b", season=None, actor=ADMIN, reason="cheated"
    )
    assert removed.score == 30
    page = await store.fetch_top("rm", limit=10, as_of=removed.seq)
    assert [(e.player_id, e.rank) for e in page.entries] == [("a", 1), ("c", 2), ("d", 3)]
    assert page.total == 3 and page.as_of_seq == removed.seq
    events = await feed.read_events(store.pool, "rm", after=0)
    last = events[-1]
    assert (last.seq, last.player_id, last.old_score, last.new_score) == (
        removed.seq,
        "b",
        30,
        None,
    )


async def test_removing_a_missing_entry_is_unknown_player(store: Store) -> None:
    """A removal of a player with no entry in the ladder is a typed 404, and an unknown
    season or board says which."""
    await _board(store, "rm2")
    mod = Moderation(store.pool)
    with pytest.raises(NotFound) as missing:
        await mod.remove_entry("rm2", "ghost", season=None, actor=ADMIN, reason=None)
    assert missing.value.code == "unknown_player"
    with pytest.raises(NotFound) as season:
        await mod.remove_entry("rm2", "ghost", season="s9", actor=ADMIN, reason=None)
    assert season.value.code == "unknown_season"
    with pytest.raises(NotFound) as board:
        await mod.remove_entry("nope", "ghost", season=None, actor=ADMIN, reason=None)
    assert board.value.code == "unknown_board"


async def test_a_removal_in_an_archived_season_closes_its_ranks(store: Store) -> None:
    """``season=`` removes from a past season, whose ranks close up; the current one is untouched."""
    await _board(store, "arch")
    await store.submit("arch", [ScoreInput(p, s) for p, s in [("a", 3), ("b", 2), ("c", 1)]])
    old = (await store.get_board("arch")).season
    await store.roll_season("arch")
    await store.submit("arch", [ScoreInput("b", 5)])
    await Moderation(store.pool).remove_entry("arch", "a", season=old, actor=ADMIN, reason=None)
    past = await store.fetch_top("arch", season=old, limit=10)
    assert [(e.player_id, e.rank) for e in past.entries] == [("b", 1), ("c", 2)]
    assert [e.player_id for e in (await store.fetch_top("arch", limit=10)).entries] == ["b"]


async def test_a_ban_refuses_batches_naming_the_player_and_hides_every_season(
    store: Store,
) -> None:
    """A banned player's entries leave the current and archived seasons, a batch naming them
    is refused whole, and an unban brings every entry back with its score and time."""
    await _board(store, "ban")
    first = await store.submit("ban", [ScoreInput("x", 9), ScoreInput("y", 5)])
    old = (await store.get_board("ban")).season
    await store.roll_season("ban")
    await store.submit("ban", [ScoreInput("x", 7), ScoreInput("y", 8)])
    mod = Moderation(store.pool)
    change = await mod.ban("x", board="ban", actor=ADMIN, reason="aimbot")
    assert change.changed and change.entries == 2
    assert [e.player_id for e in (await store.fetch_top("ban", season=old)).entries] == ["y"]
    assert (await store.fetch_top("ban")).total == 1
    with pytest.raises(Forbidden) as refused:
        await store.submit("ban", [ScoreInput("y", 20), ScoreInput("x", 30)])
    assert refused.value.code == "player_banned"
    assert (await store.fetch_standing("ban", "y")).entry.score == 8
    again = await mod.ban("x", board="ban", actor=ADMIN, reason=None)
    assert not again.changed and again.entries == 0
    lifted = await mod.unban("x", board="ban", actor=ADMIN, reason="appeal")
    assert lifted.changed and lifted.entries == 2
    before = {r.player_id: r for r in first}
    standing = await store.fetch_standing("ban", "x", season=old)
    assert (standing.entry.score, standing.entry.achieved_at, standing.entry.rank) == (
        9, before["x"].achieved_at, 1,
    )  # fmt: skip
    assert (await store.fetch_standing("ban", "x")).entry.rank == 2


async def test_a_global_ban_covers_every_board_and_a_board_ban_outlives_its_lifting(
    store: Store,
) -> None:
    """A ban on every board hides the player everywhere; lifting it restores only the boards
    no board ban of theirs still covers."""
    for b in ("g1", "g2"):
        await _board(store, b)
        await store.submit(b, [ScoreInput("z", 1)])
    mod = Moderation(store.pool)
    await mod.ban("z", board="g2", actor=ADMIN, reason=None)
    everywhere = await mod.ban("z", board=None, actor=ADMIN, reason=None)
    assert everywhere.entries == 1  # g2's was already hidden
    assert (await store.fetch_top("g1")).total == 0
    await mod.unban("z", board=None, actor=ADMIN, reason=None)
    assert (await store.fetch_top("g1")).total == 1
    assert (await store.fetch_top("g2")).total == 0
    record = await mod.player("z")
    assert [(b.board, b.reason) for b in record.bans] == [("g2", None)]
    assert [(e.board, e.rank, e.total) for e in record.entries] == [("g1", 1, 1)]
    assert [h[0] for h in record.hidden] == ["g2"]


async def test_erasure_removes_the_player_everywhere_and_reports_each_kind(store: Store) -> None:
    """Erasing a player removes their entries in every board and season (ranks close up),
    their bans, idempotency records, connections and views of them, renames them in the
    feed and the audit log, and reports each count."""
    for b in ("e1", "e2"):
        await _board(store, b)
    await store.submit("e1", [ScoreInput("gone", 50), ScoreInput("stay", 10)])
    await store.submit("e1", [ScoreInput("gone", 60)], submission_id="m1", submitter="player:gone")  # type: ignore[arg-type]
    await store.submit(
        "e2", [ScoreInput("gone", 5), ScoreInput("other", 7)], submission_id="batch-1",  # type: ignore[arg-type]
        submitter="server:game",
    )  # fmt: skip
    old = (await store.get_board("e1")).season
    await store.roll_season("e1")
    await store.submit("e1", [ScoreInput("gone", 1)])
    await store.pool.execute(
        "INSERT INTO lb_connection (connection_id, subject, player_id, role, expires_at) "
        "VALUES ('c1', 'gone', 'gone', 'player', now() + interval '1 hour'),"
        " ('c2', 'spectator-1', NULL, 'spectator', now() + interval '1 hour')"
    )
    await store.pool.execute(
        "INSERT INTO lb_subscription (connection_id, view_id, board_id, season, kind, "
        "player_id, size) VALUES ('c2', 'around:e1', 'e1', $1, 'around', 'gone', 2)",
        old,
    )
    mod = Moderation(store.pool)
    await mod.ban("gone", board="e2", actor=ADMIN, reason="spam")
    erasure = await mod.erase("gone", actor=ADMIN, reason="gdpr request")
    assert erasure.removed == {
        "entries": 2, "hidden_entries": 1, "bans": 1, "submissions": 2, "connections": 1,
        "subscriptions": 1, "events": 5, "audit_records": 1,
    }  # fmt: skip
    assert is_erased(erasure.pseudonym)
    past = await store.fetch_top("e1", season=old)
    assert [(e.player_id, e.rank) for e in past.entries] == [("stay", 1)]
    assert (await store.fetch_top("e1")).total == 0
    named = await store.pool.fetchval(
        "SELECT (SELECT count(*) FROM lb_event WHERE player_id = 'gone')"
        " + (SELECT count(*) FROM lb_audit WHERE player_id = 'gone')"
        " + (SELECT count(*) FROM lb_submission WHERE result::text LIKE '%\"gone\"%')"
        " + (SELECT count(*) FROM lb_entry WHERE player_id = 'gone')"
        " + (SELECT count(*) FROM lb_connection WHERE player_id = 'gone')"
    )
    assert named == 0
    kept = json.loads(
        await store.pool.fetchval(
            "SELECT result FROM lb_submission WHERE submission_id = 'batch-1'"
        )
    )
    assert [r["player_id"] for r in kept] == ["other"]
    with pytest.raises(NotFound):
        await mod.player("gone")
    (record,) = await mod.audit(player=erasure.pseudonym, limit=1)
    assert (record.action, record.reason, record.detail) == (
        "erase_player", "gdpr request", erasure.removed,
    )  # fmt: skip


async def test_the_audit_log_pages_newest_first_and_filters(store: Store) -> None:
    """Every action is recorded with actor, action, board, player, season and reason; pages
    continue strictly below the last record and filter by player and board."""
    await _board(store, "au")
    await store.submit("au", [ScoreInput("a", 1), ScoreInput("b", 2)])
    mod = Moderation(store.pool)
    await mod.ban("a", board="au", actor="alice-admin", reason="r1")
    await mod.unban("a", board="au", actor="alice-admin", reason=None)
    await mod.remove_entry("au", "b", season=None, actor="bob-admin", reason="r3")
    first = await mod.audit(limit=2)
    assert [(r.action, r.actor, r.player) for r in first] == [
        ("remove_entry", "bob-admin", "b"), ("unban", "alice-admin", "a"),
    ]  # fmt: skip
    assert first[0].season == (await store.get_board("au")).season
    rest = await mod.audit(before=first[-1].audit_id, limit=2)
    assert [(r.action, r.reason, r.board) for r in rest] == [("ban", "r1", "au")]
    assert [r.action for r in await mod.audit(player="a")] == ["unban", "ban"]
    assert await mod.audit(board="other") == []


async def test_removals_racing_submits_keep_ranks_exact(store: Store) -> None:
    """Removals and bans racing submits of the same players, with a compactor folding, leave
    the ladder exactly as its final entries say: ranks 1..n and the total n."""
    await _board(store, "race", policy="latest")
    mod = Moderation(store.pool)
    players = [f"r{i}" for i in range(16)]
    stop = asyncio.Event()

    async def compactor() -> None:
        while not stop.is_set():
            await compact_all(store.pool)
            await asyncio.sleep(0.003)

    async def submitter(i: int) -> None:
        for n in range(30):
            with contextlib.suppress(Forbidden):
                await store.submit("race", [ScoreInput(players[(i + n) % 16], n * 7 % 50)])

    async def remover() -> None:
        for n in range(30):
            with contextlib.suppress(NotFound):
                await mod.remove_entry(
                    "race", players[n % 16], season=None, actor=ADMIN, reason=None
                )
            if n % 10 == 3:
                await mod.ban(players[n % 16], board="race", actor=ADMIN, reason=None)
            if n % 10 == 7:
                await mod.unban(players[(n - 4) % 16], board="race", actor=ADMIN, reason=None)

    task = asyncio.create_task(compactor())
    try:
        await asyncio.gather(*(submitter(i) for i in range(4)), remover(), remover())
    finally:
        stop.set()
        await task
    rows = await store.pool.fetch(
        "SELECT player_id FROM lb_entry WHERE season_no = $1 "
        "ORDER BY sort_score, achieved_at, player_id",
        await _season_no(store, "race"),
    )
    truth = [r["player_id"] for r in rows]
    page = await store.fetch_top("race", limit=100)
    assert [e.player_id for e in page.entries] == truth
    assert [e.rank for e in page.entries] == list(range(1, len(truth) + 1))
    assert page.total == len(truth)
    for p in truth:
        assert await store.fetch_rank("race", p) == truth.index(p) + 1
