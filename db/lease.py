"""The broadcaster's lease on a board, and the wake-ups that failed.

On Aurora a writer wakes the broadcaster from inside its transaction
(db/functions/lb_wake_broadcaster.sql), but only when the board's lease in
``lb_broadcaster_lease`` has expired, and it then takes the lease itself: while a
broadcaster works on a board it keeps the lease ahead of the clock (:func:`extend`, once
per round), so the board's writers make no invoke at all, and a board nobody works on is
woken at most once per lease (``wake_lease_ms``, 1 s by default). When its drain is done
the broadcaster lets the lease go (:func:`release`) and then looks once more for events,
so a writer that saw the lease held is never left without a round.

A wake-up whose invoke failed never fails its write: the writer records it in
``lb_wakeup_failure`` and commits; the minute sweep pushes its events, and counts and
clears the records (:func:`take_failures`) for the ``WakeupFailures`` alarm.

Neither statement waits for a writer: a lease row a writer is taking is skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from db.errors import translated

if TYPE_CHECKING:
    import asyncpg

EXTEND: Final = """
UPDATE lb_broadcaster_lease l
   SET until = greatest(l.until, clock_timestamp() + lb_wake_lease())
 WHERE l.board_id = (SELECT board_id FROM lb_broadcaster_lease
                      WHERE board_id = $1 FOR UPDATE SKIP LOCKED)"""
RELEASE: Final = """
UPDATE lb_broadcaster_lease l SET until = clock_timestamp()
 WHERE l.board_id = (SELECT board_id FROM lb_broadcaster_lease
                      WHERE board_id = $1 FOR UPDATE SKIP LOCKED)
   AND l.until > clock_timestamp()"""
TAKE_FAILURES: Final = """
WITH taken AS (DELETE FROM lb_wakeup_failure RETURNING 1) SELECT count(*) FROM taken"""


async def extend(pool: asyncpg.Pool, board: str) -> bool:
    """Hold the board's lease one more lease from now; False if the board has no lease
    row (never woken from the database: the local runtime) or a writer is taking it."""
    async with translated():
        status = await pool.execute(EXTEND, board)
    return bool(status) and status.split()[-1] != "0"


async def release(pool: asyncpg.Pool, board: str) -> None:
    """Let the board's lease go now: its next writer wakes a broadcaster again."""
    async with translated():
        await pool.execute(RELEASE, board)


async def take_failures(pool: asyncpg.Pool) -> int:
    """How many wake-ups failed since the last call (and forget them)."""
    async with translated():
        return int(await pool.fetchval(TAKE_FAILURES))


__all__ = ["extend", "release", "take_failures"]
