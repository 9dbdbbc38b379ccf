"""Shared helpers of the local-runtime tests (a unique module name: no clash elsewhere).

Tokens are minted with the project's own ``mint_token``; database state is read with
plain counts so a test can assert that a refused message or connection changed nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, Final

import asyncpg
from websockets.asyncio.client import ClientConnection, connect

from authorizer.tokens import mint_token
from core.boards import BoardSpec
from core.settings import Settings

ARENA: Final = BoardSpec(id="arena", min_score=0, max_score=1_000_000)

COUNT_ROWS: Final = """
SELECT (SELECT count(*) FROM lb_entry) AS entries,
       (SELECT count(*) FROM lb_event) AS events,
       (SELECT count(*) FROM lb_connection) AS connections,
       (SELECT count(*) FROM lb_subscription) AS subscriptions,
       (SELECT count(*) FROM lb_submission) AS submissions,
       (SELECT count(*) FROM lb_rank_delta) AS deltas,
       (SELECT coalesce(sum(seq), 0) FROM lb_board) AS board_seq"""


def token(
    settings: Settings,
    player: str | None = "alice",
    *,
    role: str = "player",
    ttl_s: int = 300,
    **overrides: Any,
) -> str:
    """A valid HS256 token for ``player`` (``overrides`` replace mint_token arguments)."""
    assert settings.jwt_secret is not None
    args: dict[str, Any] = {
        "secret": settings.jwt_secret, "player_id": player, "role": role,
        "issuer": settings.jwt_issuer, "audience": settings.jwt_audience, "ttl_s": ttl_s,
    }  # fmt: skip
    args.update(overrides)
    return mint_token(**args)


def url(base: str, tok: str | None) -> str:
    return base if tok is None else f"{base}?token={tok}"


def open_ws(base: str, tok: str | None, **kwargs: Any) -> Any:
    """A real ``websockets`` client connection (async context manager)."""
    return connect(url(base, tok), proxy=None, open_timeout=10, close_timeout=5, **kwargs)


async def ask(ws: ClientConnection, message: dict[str, Any] | str) -> Any:
    """Send one message, return its reply parsed as JSON (within 10 s).

    Live ``update`` frames of the connection's subscriptions may arrive in between (the
    broadcaster pushes them whenever a view changes); they are not replies, so skip them.
    """
    await ws.send(message if isinstance(message, str) else json.dumps(message))
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if not (isinstance(frame, dict) and frame.get("type") == "update"):
            return frame


async def counts(pool: asyncpg.Pool) -> dict[str, int]:
    row = await pool.fetchrow(COUNT_ROWS)
    assert row is not None
    return dict(row)


async def eventually(check: Callable[[], Awaitable[bool]], within_s: float = 10) -> None:
    """Wait until ``check()`` is true (for effects that follow a close asynchronously)."""
    deadline = asyncio.get_running_loop().time() + within_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
