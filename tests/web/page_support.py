"""Helpers of the browser tests: page URLs, what a page shows, and the truth to compare."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from playwright.async_api import Page

from runtime.app import LocalRuntime
from tests.runtime.gateway_support import token

Row = tuple[str, int, int]
"""(player, rank, score) as a page shows it."""

ROWS_JS = """() => [...document.querySelectorAll('#rows .row')].map(
    r => [r.dataset.player, Number(r.dataset.rank), Number(r.dataset.score)])"""


def spectator_token(rt: LocalRuntime) -> str:
    return token(rt.settings, None, role="spectator", subject="venue-screen")


def board_url(rt: LocalRuntime, board: str, tok: str, **query: Any) -> str:
    extra = "".join(f"&{k}={quote(str(v))}" for k, v in query.items())
    return f"{rt.http_url}/boards/{quote(board)}?token={quote(tok)}{extra}"


async def rows_on(page: Page) -> list[Row]:
    return [tuple(r) for r in await page.evaluate(ROWS_JS)]


async def truth(rt: LocalRuntime, board: str = "arena", n: int = 10) -> list[Row]:
    top = await rt.store.fetch_top(board, limit=n)
    return [(e.player_id, e.rank, e.score) for e in top.entries]


async def wait_for_rows(page: Page, rows: list[Row], *, timeout_ms: int = 10_000) -> None:
    """Wait until the page shows exactly ``rows`` (player, rank, score), in order."""
    expected = [list(r) for r in rows]
    await page.wait_for_function(
        f"expected => JSON.stringify(({ROWS_JS})()) === JSON.stringify(expected)",
        arg=expected,
        timeout=timeout_ms,
    )


async def wait_live(page: Page) -> None:
    await page.wait_for_selector("#status[data-state='live']")


async def converge(page: Page, rt: LocalRuntime, *, within_s: float = 10) -> list[Row]:
    """Wait until the page shows the database's top rows; those rows."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        expected = await truth(rt)
        if await rows_on(page) == expected:
            return expected
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"page shows {await rows_on(page)}, expected {expected}")
        await asyncio.sleep(0.05)
