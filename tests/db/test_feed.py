"""The change feed: dense per-board sequence numbers, commit order, wake-ups, pruning."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg

from core.boards import BoardSpec, UpdatePolicy
from core.ranking import ScoreInput
from db import feed
from db.store import Store
from tests.postgres_fixtures import writer_in_flight

# A submit as lb_submit alone makes it: committed, and numbered by nobody yet (Store.submit
# numbers its write right after the commit).
UNNUMBERED_SUBMIT = """
SELECT * FROM lb_submit($1, NULL, NULL, ARRAY[$2], ARRAY[$3::bigint], ARRAY[NULL::timestamptz],
                        ARRAY[NULL::jsonb])"""


async def test_events_are_written_with_each_rank_move(store: Store) -> None:
    """Each insert or key change writes one event with old and new score; no-ops write none."""
    await store.create_board(BoardSpec(id="arena"))
    await store.submit("arena", [ScoreInput("a", 10)])
    await store.submit("arena", [ScoreInput("a", 5)])  # best policy: no move
    await store.submit("arena", [ScoreInput("a", 20)])
    assert await feed.sequence(store.pool, "arena") == feed.Sequenced(2, settled=True)
    events = await feed.read_events(store.pool, "arena", after=0)
    assert [(e.seq, e.old_score, e.new_score) for e in events] == [(1, None, 10), (2, 10, 20)]
    assert events[1].old_at == events[0].new_at


async def test_sequence_is_dense_and_per_board_under_concurrent_writers(store: Store) -> None:
    """Concurrent writers and sequencers yield seq 1..N per board with no gap or duplicate."""
    for b in ("one", "two"):
        await store.create_board(BoardSpec(id=b, policy=UpdatePolicy.INCREMENT))

    async def writer(board: str, i: int) -> None:
        for j in range(25):
            await store.submit(board, [ScoreInput(f"p{(i * 7 + j) % 13}", 1)])

    async def sequencer() -> None:
        for _ in range(40):
            await feed.sequence(store.pool, "one")
            await feed.sequence(store.pool, "two")
            await asyncio.sleep(0.005)

    await asyncio.gather(*(writer(b, i) for b in ("one", "two") for i in range(6)), sequencer())
    for b in ("one", "two"):
        await feed.sequence(store.pool, b)
        events = await feed.read_events(store.pool, b, after=0, limit=10_000)
        assert [e.seq for e in events] == list(range(1, 151))
        # per player, events chain: each old score is the previous new score
        last: dict[str, int] = {}
        for e in events:
            assert e.old_score == last.get(e.player_id)
            last[e.player_id] = e.new_score
        assert (await store.get_board(b)).seq == 150


async def test_uncommitted_events_are_never_sequenced(store: Store, database_dsn: str) -> None:
    """An event inside an open transaction gets no seq until it commits, and none if rolled
    back; sequencing meanwhile numbers what has committed, says a writer is in flight, and
    makes no writer wait."""
    await store.create_board(BoardSpec(id="arena"))
    async with writer_in_flight(database_dsn, "arena", "x", 5) as tx:
        await store.submit("arena", [ScoreInput("y", 6)])  # commits, but waits for nothing
        sequenced = await asyncio.wait_for(feed.sequence(store.pool, "arena"), 2)
        assert sequenced == feed.Sequenced(1, settled=False)  # x is still in flight
        await asyncio.wait_for(store.submit("arena", [ScoreInput("z", 7)]), 2)
        await tx.rollback()
    assert await feed.sequence(store.pool, "arena") == feed.Sequenced(2, settled=True)
    events = await feed.read_events(store.pool, "arena", after=0)
    assert [(e.seq, e.player_id) for e in events] == [(1, "y"), (2, "z")]


async def test_a_writer_committing_after_sequencing_gets_the_next_number(
    store: Store, database_dsn: str
) -> None:
    """A writer in flight while the board is sequenced commits afterwards and is numbered
    next time, after what was already numbered: nothing slips below a given seq, and one
    player's events keep their order."""
    await store.create_board(BoardSpec(id="arena", policy=UpdatePolicy.LATEST))
    await store.submit("arena", [ScoreInput("x", 1)])
    async with writer_in_flight(database_dsn, "arena", "x", 5) as tx:
        later = asyncio.create_task(store.submit("arena", [ScoreInput("x", 9)]))  # x's row lock
        await store.submit("arena", [ScoreInput("y", 2)])
        assert await feed.sequence(store.pool, "arena") == feed.Sequenced(2, settled=False)
        await tx.commit()
        await later
    assert await feed.sequence(store.pool, "arena") == feed.Sequenced(4, settled=True)
    events = await feed.read_events(store.pool, "arena", after=0)
    assert [(e.seq, e.player_id, e.old_score, e.new_score) for e in events] == [
        (1, "x", None, 1), (2, "y", None, 2), (3, "x", 1, 5), (4, "x", 5, 9),
    ]  # fmt: skip


async def test_commit_notifies_listeners_once_per_board(store: Store, database_dsn: str) -> None:
    """A committed submit NOTIFYs lb_events with the board id; a rolled-back one does not."""
    await store.create_board(BoardSpec(id="arena"))
    got: asyncio.Queue[str] = asyncio.Queue()
    conn = await asyncpg.connect(database_dsn)
    try:
        await conn.add_listener("lb_events", lambda *args: got.put_nowait(args[3]))
        await store.submit("arena", [ScoreInput("a", 1), ScoreInput("b", 2)])
        assert await asyncio.wait_for(got.get(), 5) == "arena"
        await asyncio.sleep(0.1)
        assert got.empty()
    finally:
        await conn.close()


async def test_cursor_only_moves_forward(store: Store) -> None:
    """A consumer cursor advances inside its transaction and never moves back."""
    await store.create_board(BoardSpec(id="arena"))
    async with store.pool.acquire() as conn, conn.transaction():
        assert await feed.lock_cursor(conn, "broadcaster", "arena") == 0
        await feed.advance_cursor(conn, "broadcaster", "arena", 5)
        await feed.advance_cursor(conn, "broadcaster", "arena", 3)
    assert await feed.get_cursor(store.pool, "broadcaster", "arena") == 5


async def test_prune_drops_only_old_sequenced_events(store: Store) -> None:
    """Pruning removes sequenced events past retention and keeps newer or pending ones."""
    await store.create_board(BoardSpec(id="arena"))
    await store.submit("arena", [ScoreInput("a", 1)])
    await feed.sequence(store.pool, "arena")
    await store.pool.fetch(UNNUMBERED_SUBMIT, "arena", "a", 2)  # committed, not numbered yet
    await store.pool.execute("UPDATE lb_event SET created_at = now() - interval '2 days'")
    pruned, _ = await feed.prune(
        store.pool, events_older_than=timedelta(days=1), submissions_older_than=timedelta(days=1)
    )
    assert pruned == 1
    assert await store.pool.fetchval("SELECT count(*) FROM lb_event WHERE seq IS NULL") == 1
