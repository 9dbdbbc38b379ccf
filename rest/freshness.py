"""Read-your-writes: a REST read given ``min_seq`` shows at least that board seq.

Reads go to the replica, which may not have replayed a write its caller just made (its
ack, or a REST write's answer, carries the write's seq). Given ``min_seq``, a read takes
the replica's answer only once it is as of ``min_seq`` or later; an answer that is older,
or that does not know the board or the player yet, is asked again every ``POLL_S`` for up
to ``WAIT_S``, and then the read goes to the primary, which has every acked write. The
primary's answer is returned whatever its seq (a ``min_seq`` above anything the board
has numbered gets its current state).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from core.errors import NotFound

T = TypeVar("T")

WAIT_S: Final = 0.5
"""How long a read with ``min_seq`` waits for the replica before it reads the primary."""
POLL_S: Final = 0.02


async def at_least(
    min_seq: int | None,
    replica: Callable[[], Awaitable[T]],
    primary: Callable[[], Awaitable[T]],
    seq_of: Callable[[T], int],
    *,
    wait_s: float = WAIT_S,
    poll_s: float = POLL_S,
) -> T:
    """``replica()``'s answer once it is as of ``min_seq`` (at once without one), else,
    after ``wait_s``, ``primary()``'s."""
    if min_seq is None:
        return await replica()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        try:
            answer = await replica()
        except NotFound:
            pass  # the replica may not know the board or player yet
        else:
            if seq_of(answer) >= min_seq:
                return answer
        if loop.time() + poll_s > deadline:
            return await primary()
        await asyncio.sleep(poll_s)


__all__ = ["POLL_S", "WAIT_S", "at_least"]
