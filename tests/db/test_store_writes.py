"""Submits: policies, idempotency, batches, bad input, and concurrent writers."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from core.boards import BoardSpec, ResetSchedule, SortOrder, UpdatePolicy
from core.errors import BadRequest, Conflict, NotFound, PayloadTooLarge
from core.ids import SubmissionId
from core.ranking import ScoreInput
from db.compaction import compact_all
from db.store import Store


async def _counts(store: Store) -> tuple[int, int, int, int]:
    row = await store.pool.fetchrow(
        "SELECT (SELECT count(*) FROM lb_entry) e, (SELECT count(*) FROM lb_event) v, "
        "(SELECT count(*) FROM lb_rank_delta) d, (SELECT count(*) FROM lb_submission) s"
    )
    return row["e"], row["v"], row["d"], row["s"]


async def test_retried_increment_counts_once(store: Store) -> None:
    """A retried increment with the same submission id is applied once and replays its result."""
    await store.create_board(BoardSpec(id="kills", policy=UpdatePolicy.INCREMENT))
    sid = SubmissionId("match-1-alice")
    first = await store.submit("kills", [ScoreInput("alice", 3)], submission_id=sid)
    again = await store.submit("kills", [ScoreInput("alice", 3)], submission_id=sid)
    assert first[0].score == again[0].score == 3
    assert not first[0].replayed and again[0].replayed
    assert again[0].rank == first[0].rank == 1
    assert (await store.fetch_standing("kills", "alice")).entry.score == 3


async def test_reused_submission_id_with_other_payload_conflicts(store: Store) -> None:
    """A submission id reused with a different payload is refused and writes nothing."""
    await store.create_board(BoardSpec(id="kills", policy=UpdatePolicy.INCREMENT))
    await store.submit("kills", [ScoreInput("alice", 3)], submission_id=SubmissionId("m1"))
    before = await _counts(store)
    with pytest.raises(Conflict):
        await store.submit("kills", [ScoreInput("alice", 4)], submission_id=SubmissionId("m1"))
    assert await _counts(store) == before


async def test_concurrent_retries_of_one_submission_apply_once(store: Store) -> None:
    """Many simultaneous retries of one submission id apply it once; all see the same result."""
    await store.create_board(BoardSpec(id="kills", policy=UpdatePolicy.INCREMENT))
    results = await asyncio.gather(*(
        store.submit("kills", [ScoreInput("bob", 7)], submission_id=SubmissionId("same"))
        for _ in range(8)
    ))  # fmt: skip
    assert {r[0].score for r in results} == {7}
    assert sum(not r[0].replayed for r in results) == 1
    assert (await store.fetch_standing("kills", "bob")).entry.score == 7


async def _feed_and_deltas(store: Store, board: str) -> tuple[list[tuple], list[tuple]]:
    events = await store.pool.fetch(
        "SELECT player_id, old_score, new_score FROM lb_event WHERE board_id = $1 "
        "ORDER BY event_id",
        board,
    )
    deltas = await store.pool.fetch(
        "SELECT d.player_id, d.sort_score, d.delta, d.sized FROM lb_rank_delta d "
        "JOIN lb_season s ON s.season_no = d.season_no WHERE s.board_id = $1 "
        "ORDER BY d.player_id, d.delta, d.sort_score",
        board,
    )
    return [tuple(r) for r in events], [tuple(r) for r in deltas]


async def test_one_score_writes_its_event_and_rank_deltas(store: Store) -> None:
    """A one-score submit (the scalar path) writes one event and a sized +1 for an arrival,
    one event and an unsized -1/+1 pair for a move, and nothing for a score that doesn't
    move the entry; a replay writes nothing and answers the same."""
    await store.create_board(BoardSpec(id="solo", policy=UpdatePolicy.BEST))
    sid = SubmissionId("arrive")
    first = await store.submit("solo", [ScoreInput("alice", 5)], submission_id=sid)
    assert await _feed_and_deltas(store, "solo") == ([("alice", None, 5)], [("alice", -5, 1, True)])
    replay = await store.submit("solo", [ScoreInput("alice", 5)], submission_id=sid)
    assert replay[0].replayed and not first[0].replayed
    assert (
        (replay[0].score, replay[0].rank, replay[0].total, replay[0].improved)
        == (first[0].score, first[0].rank, first[0].total, first[0].improved)
        == (5, 1, 1, True)
    )
    assert replay[0].achieved_at == first[0].achieved_at

    worse = await store.submit("solo", [ScoreInput("alice", 3)])
    assert (worse[0].score, worse[0].improved, worse[0].updates) == (5, False, 2)
    moved = await store.submit("solo", [ScoreInput("alice", 8)])
    assert (moved[0].score, moved[0].improved, moved[0].rank) == (8, True, 1)
    assert await _feed_and_deltas(store, "solo") == (
        [("alice", None, 5), ("alice", 5, 8)],
        [("alice", -5, -1, False), ("alice", -8, 1, False), ("alice", -5, 1, True)],
    )


async def test_best_policy_keeps_the_better_score_on_both_orders(store: Store) -> None:
    """best keeps the higher score on desc boards and the lower time on asc boards."""
    await store.create_board(BoardSpec(id="points"))
    await store.create_board(BoardSpec(id="speedrun", order=SortOrder.ASC, max_score=10**9))
    await store.submit("points", [ScoreInput("a", 50)])
    worse = await store.submit("points", [ScoreInput("a", 40)])
    assert worse[0].score == 50 and not worse[0].improved and worse[0].updates == 2
    better = await store.submit("points", [ScoreInput("a", 60)])
    assert better[0].score == 60 and better[0].improved
    await store.submit("speedrun", [ScoreInput("a", 91_250)])
    faster = await store.submit("speedrun", [ScoreInput("a", 90_001)])
    assert faster[0].score == 90_001 and faster[0].improved
    slower = await store.submit("speedrun", [ScoreInput("a", 95_000)])
    assert slower[0].score == 90_001 and not slower[0].improved


async def test_latest_policy_takes_every_score(store: Store) -> None:
    """latest replaces the score even when it is worse, and reports it as not improved."""
    await store.create_board(BoardSpec(id="rating", policy=UpdatePolicy.LATEST))
    await store.submit("rating", [ScoreInput("a", 1500)])
    lower = await store.submit("rating", [ScoreInput("a", 1400)])
    assert lower[0].score == 1400 and not lower[0].improved


async def test_batch_is_all_or_nothing(store: Store) -> None:
    """A batch with one out-of-bounds score writes none of its scores."""
    await store.create_board(BoardSpec(id="arena", max_score=1000))
    before = await _counts(store)
    with pytest.raises(BadRequest) as err:
        await store.submit("arena", [ScoreInput("a", 10), ScoreInput("b", 1001)])
    assert err.value.code == "score_out_of_range"
    assert await _counts(store) == before


async def test_increment_past_bounds_is_rejected(store: Store) -> None:
    """An increment whose result leaves the board's bounds is refused and nothing changes."""
    await store.create_board(BoardSpec(id="kills", policy=UpdatePolicy.INCREMENT, max_score=10))
    await store.submit("kills", [ScoreInput("a", 9)])
    before = await _counts(store)
    with pytest.raises(BadRequest):
        await store.submit("kills", [ScoreInput("a", 2)])
    assert await _counts(store) == before
    assert (await store.fetch_standing("kills", "a")).entry.score == 9


async def test_increment_overflow_is_a_client_error(store: Store) -> None:
    """An increment that would overflow int64 is a typed client error, not a crash."""
    top = 2**63 - 1
    await store.create_board(BoardSpec(id="big", policy=UpdatePolicy.INCREMENT, max_score=top))
    await store.submit("big", [ScoreInput("a", top - 1)])
    with pytest.raises(BadRequest) as err:
        await store.submit("big", [ScoreInput("a", 5)])
    assert err.value.code == "score_overflow"


@pytest.mark.parametrize(
    ("board", "scores", "error", "code"),
    [
        ("nope", [ScoreInput("a", 1)], NotFound, "unknown_board"),
        ("Bad Id", [ScoreInput("a", 1)], BadRequest, "invalid_board_id"),
        ("arena", [ScoreInput("a", -1)], BadRequest, "score_out_of_range"),
        ("arena", [ScoreInput("a", 1.5)], BadRequest, "invalid_score"),  # type: ignore[arg-type]
        ("arena", [ScoreInput("a", True)], BadRequest, "invalid_score"),
        ("arena", [ScoreInput("a", "7")], BadRequest, "invalid_score"),  # type: ignore[arg-type]
        ("arena", [ScoreInput("a", 2**63)], BadRequest, "score_out_of_range"),
        ("arena", [ScoreInput("a", 1, {"x": "y" * 2000})], PayloadTooLarge, "metadata_too_large"),
        ("arena", [ScoreInput("a", 1, {"x": float("nan")})], BadRequest, "invalid_metadata"),
        ("arena", [ScoreInput("bad id!", 1)], BadRequest, "invalid_player_id"),
        ("arena", [ScoreInput("a", 1), ScoreInput("a", 2)], BadRequest, "duplicate_player"),
        (
            "arena",
            [ScoreInput(f"p{i}", 1) for i in range(1001)],
            PayloadTooLarge,
            "batch_too_large",
        ),
        ("arena", [], BadRequest, "empty_batch"),
    ],
)
async def test_bad_submits_raise_typed_errors_and_write_nothing(
    store: Store, board: str, scores: list[ScoreInput], error: type, code: str
) -> None:
    """Each kind of bad submit raises its typed error with a stable code and writes nothing."""
    await store.create_board(BoardSpec(id="arena", max_score=1000))
    before = await _counts(store)
    with pytest.raises(error) as err:
        await store.submit(board, scores)
    assert err.value.code == code
    assert await _counts(store) == before


async def test_board_ids_are_unique_slugs(store: Store) -> None:
    """Creating a board twice conflicts; configure changes bounds; unknown boards are NotFound."""
    await store.create_board(BoardSpec(id="arena"))
    with pytest.raises(Conflict):
        await store.create_board(BoardSpec(id="arena"))
    board = await store.configure_board("arena", max_score=99, metadata={"unit": "points"})
    assert board.max_score == 99 and board.metadata == {"unit": "points"}
    with pytest.raises(NotFound):
        await store.get_board("missing")
    assert [b.id for b in await store.list_boards()] == ["arena"]


async def test_season_roll_keeps_the_old_season(store: Store) -> None:
    """Rolling starts an empty season; the old one still answers reads by name."""
    await store.create_board(BoardSpec(id="weekly", reset=ResetSchedule.WEEKLY))
    board = await store.get_board("weekly")
    assert board.season.startswith("w")
    await store.submit("weekly", [ScoreInput("a", 5)])
    rolled = await store.roll_season("weekly", season="w2099-01")
    assert rolled.season == "w2099-01"
    assert (await store.fetch_top("weekly")).entries == []
    old = await store.fetch_top("weekly", season=board.season)
    assert [e.player_id for e in old.entries] == ["a"]
    with pytest.raises(Conflict):
        await store.roll_season("weekly", season="w2099-01")
    with pytest.raises(NotFound) as err:
        await store.fetch_top("weekly", season="s9")
    assert err.value.code == "unknown_season"


@pytest.mark.parametrize("policy", [UpdatePolicy.INCREMENT, UpdatePolicy.BEST])
async def test_concurrent_writers_on_a_hot_range_stay_exact(
    store: Store, policy: UpdatePolicy
) -> None:
    """16 writers hammering one board's hot score range: no lost or doubled increments, exact ranks."""
    await store.create_board(BoardSpec(id="hot", policy=policy))
    players = [f"h{i}" for i in range(40)]
    expected: dict[str, int] = {}
    plan: list[list[tuple[str, int]]] = []
    rng = random.Random(11)
    for _ in range(16):
        ops = [(rng.choice(players), rng.randint(0, 3)) for _ in range(60)]
        plan.append(ops)
        for p, s in ops:
            expected[p] = (
                expected.get(p, 0) + s
                if policy is UpdatePolicy.INCREMENT
                else max(expected.get(p, s), s)
            )

    async def writer(ops: list[tuple[str, int]]) -> None:
        for p, s in ops:
            await store.submit("hot", [ScoreInput(p, s)])

    async def compactor() -> None:
        for _ in range(20):
            await compact_all(store.pool)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(writer(ops) for ops in plan), compactor())
    page = await store.fetch_top("hot", limit=100)
    assert {e.player_id: e.score for e in page.entries} == expected
    rows = await store.pool.fetch(
        "SELECT player_id FROM lb_entry ORDER BY sort_score, achieved_at, player_id"
    )
    assert [e.player_id for e in page.entries] == [r[0] for r in rows]
    for e in page.entries:
        assert await store.fetch_rank("hot", e.player_id) == e.rank
    await compact_all(store.pool)
    assert await store.pool.fetchval("SELECT sum(cnt) FROM lb_rank_bucket") == len(expected)


async def test_given_achieved_at_is_kept_to_the_microsecond(store: Store) -> None:
    """An import's own achieved-at times are stored exactly (aware in any zone, or naive as
    local time), in a single submit and a batch, and order ties by who got there first."""
    await store.create_board(BoardSpec(id="import"))
    early = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=-5)))
    late = datetime(2026, 3, 1, 17, 0, 0, 123457, tzinfo=UTC)
    naive = datetime(2026, 3, 2, 8, 30, 0, 5)
    one = await store.submit("import", [ScoreInput("bob", 10, achieved_at=late)])
    assert one[0].achieved_at == late
    batch = await store.submit(
        "import",
        [ScoreInput("amy", 10, achieved_at=early), ScoreInput("cid", 3, achieved_at=naive)],
    )
    assert {r.player_id: r.achieved_at for r in batch} == {"amy": early, "cid": naive.astimezone()}
    page = await store.fetch_top("import", limit=10)
    assert [(e.player_id, e.rank) for e in page.entries] == [("amy", 1), ("bob", 2), ("cid", 3)]
