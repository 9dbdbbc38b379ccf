"""The change feed: sequencing, reading from a cursor, and pruning.

Sequencing (``sequence``) numbers every committed pending event of a board; it may run
anywhere, any number of times, concurrently (it serialises per board), and it never makes
a writer wait: it says whether writers were in flight (``settled``), whose events a later
call numbers. Consumers read
sequenced events strictly after their cursor and advance the cursor in the same
transaction as their own bookkeeping, so a crash re-delivers rather than loses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Final

from core.feed import ChangeEvent
from db.errors import translated

if TYPE_CHECKING:
    import asyncpg

SEQUENCE: Final = "SELECT seq, settled FROM lb_sequence_settled($1)"

BOARDS_WITH_PENDING: Final = """
SELECT DISTINCT board_id FROM lb_event WHERE seq IS NULL"""

READ_EVENTS: Final = """
SELECT board_id, season, seq, player_id, old_score, new_score, old_at, new_at
  FROM lb_event
 WHERE board_id = $1 AND seq > $2 AND seq IS NOT NULL
 ORDER BY seq
 LIMIT $3"""

BOARD_SEQ: Final = "SELECT seq FROM lb_board WHERE board_id = $1"

GET_CURSOR: Final = "SELECT seq FROM lb_feed_cursor WHERE consumer = $1 AND board_id = $2"

LOCK_CURSOR: Final = """
INSERT INTO lb_feed_cursor (consumer, board_id, seq) VALUES ($1, $2, 0)
ON CONFLICT (consumer, board_id) DO UPDATE SET consumer = excluded.consumer
RETURNING seq"""

LOCK_CURSOR_STATE: Final = """
INSERT INTO lb_feed_cursor (consumer, board_id, seq) VALUES ($1, $2, 0)
ON CONFLICT (consumer, board_id) DO UPDATE SET consumer = excluded.consumer
RETURNING seq, rounds"""

GET_CURSOR_STATES: Final = """
SELECT states FROM lb_feed_cursor WHERE consumer = $1 AND board_id = $2"""

SAVE_CURSOR_STATE: Final = """
UPDATE lb_feed_cursor SET seq = greatest(seq, $3), rounds = rounds + 1, states = $4,
       updated_at = now()
 WHERE consumer = $1 AND board_id = $2
RETURNING rounds"""

SET_CURSOR: Final = """
UPDATE lb_feed_cursor SET seq = $3, updated_at = now()
 WHERE consumer = $1 AND board_id = $2 AND seq < $3"""

# event_id grows with time, so the retention cut is the first id young enough to keep
# (found by walking the primary key from its old end, where pruning keeps it short).
PRUNE_EVENTS: Final = """
DELETE FROM lb_event
 WHERE seq IS NOT NULL
   AND event_id < coalesce(
       (SELECT event_id FROM lb_event WHERE created_at >= now() - $1::interval
         ORDER BY event_id LIMIT 1),
       (SELECT max(event_id) + 1 FROM lb_event))"""

PRUNE_SUBMISSIONS: Final = "DELETE FROM lb_submission WHERE created_at < now() - $1::interval"


def event_from_row(row: asyncpg.Record) -> ChangeEvent:
    """A change event from an ``lb_event`` row."""
    return ChangeEvent(
        board_id=row["board_id"], season=row["season"], seq=row["seq"],
        player_id=row["player_id"], old_score=row["old_score"], new_score=row["new_score"],
        old_at=row["old_at"], new_at=row["new_at"],
    )  # fmt: skip


@dataclass(frozen=True)
class Sequenced:
    """The board's latest seq after numbering, and whether that numbering is complete:
    ``settled`` means no writer of the board was in flight, so every event written so far
    is numbered; otherwise an in-flight writer's events are left for a later call."""

    seq: int
    settled: bool


async def sequence(pool: asyncpg.Pool | asyncpg.Connection, board: str) -> Sequenced:
    """Number the board's committed pending events, without waiting for any writer."""
    async with translated():
        row = await pool.fetchrow(SEQUENCE, board)
    return Sequenced(int(row["seq"] or 0), bool(row["settled"]))


async def boards_with_pending(pool: asyncpg.Pool) -> list[str]:
    """Boards that have committed events not yet sequenced (the sweep's work list)."""
    async with translated():
        return [r[0] for r in await pool.fetch(BOARDS_WITH_PENDING)]


async def read_events(
    conn: asyncpg.Pool | asyncpg.Connection, board: str, *, after: int, limit: int = 1000
) -> list[ChangeEvent]:
    """Sequenced events of ``board`` with seq > ``after``, in seq order."""
    async with translated():
        rows = await conn.fetch(READ_EVENTS, board, after, limit)
    return [event_from_row(r) for r in rows]


async def lock_cursor(conn: asyncpg.Connection, consumer: str, board: str) -> int:
    """Lock (creating if needed) a consumer's cursor row for this transaction; its seq."""
    async with translated():
        return int(await conn.fetchval(LOCK_CURSOR, consumer, board))


async def lock_cursor_state(conn: asyncpg.Connection, consumer: str, board: str) -> tuple[int, int]:
    """Like :func:`lock_cursor`, with the number of state saves so far: (seq, rounds)."""
    async with translated():
        row = await conn.fetchrow(LOCK_CURSOR_STATE, consumer, board)
    return int(row["seq"]), int(row["rounds"])


async def cursor_states(conn: asyncpg.Connection, consumer: str, board: str) -> str | None:
    """The consumer's saved state for this board (opaque text), if any."""
    async with translated():
        states: str | None = await conn.fetchval(GET_CURSOR_STATES, consumer, board)
    return states


async def save_cursor_state(
    conn: asyncpg.Connection, consumer: str, board: str, seq: int, states: str
) -> int:
    """Advance the cursor (never back) and replace the consumer's saved state, in the
    consumer's transaction; returns the new number of saves (``rounds``)."""
    async with translated():
        return int(await conn.fetchval(SAVE_CURSOR_STATE, consumer, board, seq, states))


async def get_cursor(conn: asyncpg.Pool | asyncpg.Connection, consumer: str, board: str) -> int:
    async with translated():
        seq = await conn.fetchval(GET_CURSOR, consumer, board)
    return int(seq or 0)


async def advance_cursor(conn: asyncpg.Connection, consumer: str, board: str, seq: int) -> None:
    """Move the cursor forward (never back); call inside the consumer's transaction."""
    async with translated():
        await conn.execute(SET_CURSOR, consumer, board, seq)


async def prune(
    pool: asyncpg.Pool, *, events_older_than: timedelta, submissions_older_than: timedelta
) -> tuple[int, int]:
    """Delete sequenced events and idempotency records past their retention window."""
    async with translated():
        ev = await pool.execute(PRUNE_EVENTS, events_older_than)
        sub = await pool.execute(PRUNE_SUBMISSIONS, submissions_older_than)
    return int(ev.split()[-1]), int(sub.split()[-1])
