"""The rank ticker page (the ``me`` view) in a real browser against the real runtime."""

from __future__ import annotations

import re
from urllib.parse import quote

from playwright.async_api import expect

from core.ranking import ScoreInput
from leaderboard_client import LeaderboardClient
from runtime.app import LocalRuntime
from tests.runtime.gateway_support import token
from tests.web.conftest import Screen, artifact


def ticker_url(rt: LocalRuntime, board: str, tok: str) -> str:
    return f"{rt.http_url}/boards/{quote(board)}/ticker?token={quote(tok)}"


async def test_the_ticker_shows_rank_score_and_the_overtaken_and_passed_moments(
    web_runtime: LocalRuntime, screen: Screen
) -> None:
    """alice sees her rank and score; bob passing her reads "Overtaken by bob", and her
    next score, submitted through the SDK, reads "You passed bob"."""
    rt, page = web_runtime, screen.page
    await rt.store.submit("arena", [ScoreInput("alice", 500), ScoreInput("bob", 400),
                                    ScoreInput("carol", 300)])  # fmt: skip
    alice = token(rt.settings, "alice")
    await page.goto(ticker_url(rt, "arena", alice))
    await page.wait_for_selector("#status[data-state='live']")
    await page.wait_for_selector("#rank[data-rank='1']")
    assert await page.text_content("#score") == "500"
    assert await page.text_content("#of") == "of 3"
    await expect(page.locator("#behind")).to_have_text(re.compile(r"^bob "))

    await rt.store.submit("arena", [ScoreInput("bob", 650)])
    await page.wait_for_selector("#rank[data-rank='2']")
    await expect(page.locator("#moment")).to_have_text("Overtaken by bob")
    assert await page.get_attribute("#moment", "data-kind") == "overtaken"

    async with LeaderboardClient.connect(rt.ws_url, alice) as lb:
        ack = await lb.submit("arena", 700)
    assert ack.result.rank == 1
    await page.wait_for_selector("#rank[data-rank='1']")
    await expect(page.locator("#moment")).to_have_text("You passed bob")
    assert await page.text_content("#score") == "700"
    moments = await page.eval_on_selector_all("#moments li", "ls => ls.map(l => l.textContent)")
    assert moments[:2] == ["You passed bob · #2 → #1", "Overtaken by bob · #1 → #2"]
    await page.screenshot(path=str(artifact("ticker.png")))


async def test_a_player_without_a_score_sees_their_first_entry(
    web_runtime: LocalRuntime, screen: Screen
) -> None:
    """Before their first score the ticker says so; the first score is a moment."""
    rt, page = web_runtime, screen.page
    await rt.store.submit("arena", [ScoreInput("bob", 400)])
    await page.goto(ticker_url(rt, "arena", token(rt.settings, "dana")))
    await page.wait_for_selector("#status[data-state='live']")
    assert await page.text_content("#of") == "no score yet"
    await rt.store.submit("arena", [ScoreInput("dana", 900)])
    await page.wait_for_selector("#rank[data-rank='1']")
    await expect(page.locator("#moment")).to_have_text("On the board at #1")
    await expect(page.locator("#behind")).to_have_text(re.compile(r"^bob "))
