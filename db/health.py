"""A database check that never hangs on a frozen server.

:func:`ping` runs ``SELECT 1`` on one connection of a pool. If no answer comes within the
timeout, the connection is terminated (its socket closed, nothing awaited) rather than
cancelled: a cancel waits for the server, and a frozen (SIGSTOP) server never answers.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncpg


def _drop(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


async def ping(pool: asyncpg.Pool, *, timeout_s: float) -> str:
    """``"ok"`` when the pool's server answers within ``timeout_s``, else what went wrong."""
    holder: dict[str, Any] = {}

    async def run() -> None:
        async with pool.acquire() as conn:
            holder["conn"] = conn
            await conn.fetchval("SELECT 1")

    task = asyncio.ensure_future(run())
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if done:
        exc = task.exception()
        return "ok" if exc is None else f"unreachable: {type(exc).__name__}"
    if "conn" in holder:
        with contextlib.suppress(Exception):
            holder["conn"].terminate()
    task.cancel()
    task.add_done_callback(_drop)
    return f"unreachable: no answer within {timeout_s:g} s"


__all__ = ["ping"]
