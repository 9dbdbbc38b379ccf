"""Board features on the pages and widgets in a real browser: the countdown to the
season's end, display ranks for ties, and the player's tier and share."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web

from core.boards import BoardSpec, ResetSchedule, TieMode, Tier, UpdatePolicy
from core.ranking import ScoreInput
from runtime.app import LocalRuntime
from tests.runtime.gateway_support import token
from tests.web.conftest import Screen, artifact
from tests.web.page_support import board_url, spectator_token
from tests.web.test_ticker_page import ticker_url

CUP = BoardSpec(
    id="daily-cup", policy=UpdatePolicy.LATEST, reset=ResetSchedule.DAILY,
    tie_mode=TieMode.COMPETITION,
    tiers=[Tier(name="Gold", top_percent=25), Tier(name="Silver", top_percent=75)],
)  # fmt: skip
WIDGETS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>widgets</title><link rel="icon" href="data:,">
<script type="module" src="{script}"></script></head><body>
<leaderboard-top board="daily-cup" n="4" url="{ws}" token="{spectator}"></leaderboard-top>
<leaderboard-ticker board="daily-cup" url="{ws}" token="{player}"></leaderboard-ticker>
</body></html>"""


def _midnight() -> datetime:
    return (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0,
                                                           microsecond=0)  # fmt: skip


def _seconds(clock: str) -> int:
    days, _, rest = clock.rpartition("d ")
    h, m, s = (int(x) for x in rest.split(":"))
    return (int(days) if days else 0) * 86400 + h * 3600 + m * 60 + s


@pytest.fixture
async def cup(web_runtime: LocalRuntime) -> LocalRuntime:
    """A daily board in competition mode with tiers, four players, two of them tied."""
    await web_runtime.store.create_board(CUP)
    await web_runtime.store.submit("daily-cup", [
        ScoreInput("ann", 90), ScoreInput("bob", 70), ScoreInput("cat", 70), ScoreInput("dan", 10),
    ])  # fmt: skip
    return web_runtime


async def test_the_board_page_counts_down_to_the_reset_and_shows_tie_ranks(
    cup: LocalRuntime, screen: Screen
) -> None:
    """The spectator page counts down, second by second, to the next UTC midnight, and
    tied players share their competition rank (1, 2, 2, 4)."""
    page = screen.page
    await page.goto(board_url(cup, "daily-cup", spectator_token(cup)))
    await page.wait_for_selector("#status[data-state='live']")
    await page.wait_for_selector("#rows li.row[data-player='dan']")
    reset_at = await page.get_attribute("#reset", "data-reset-at")
    assert reset_at is not None and datetime.fromisoformat(reset_at) == _midnight()
    first = _seconds(await page.text_content("#reset") or "")
    expected = (_midnight() - datetime.now(UTC)).total_seconds()
    assert abs(first - expected) < 5
    await page.wait_for_function(
        f"() => Number(document.querySelector('#reset').dataset.remaining) < {first}"
    )
    assert _seconds(await page.text_content("#reset") or "") < first
    ranks = await page.eval_on_selector_all(
        "#rows li.row", "rs => rs.map(r => [r.dataset.player, r.dataset.rank, "
        "r.querySelector('.rank').textContent, r.dataset.tier])",
    )  # fmt: skip
    assert ranks == [["ann", "1", "1", "Gold"], ["bob", "2", "2", "Silver"],
                     ["cat", "3", "2", "Silver"], ["dan", "4", "4", ""]]  # fmt: skip
    await page.screenshot(path=str(artifact("board-countdown.png")))


async def test_the_ticker_counts_down_and_shows_the_tier(cup: LocalRuntime, screen: Screen) -> None:
    """The ticker counts down to the reset and says the player's shared rank and tier,
    and follows them live."""
    page = screen.page
    await page.goto(ticker_url(cup, "daily-cup", token(cup.settings, "cat")))
    await page.wait_for_selector("#status[data-state='live']")
    await page.wait_for_selector("#rank[data-rank='3']")
    assert await page.text_content("#rank") == "#2"
    assert await page.get_attribute("#standing", "data-tier") == "Silver"
    assert await page.text_content("#standing") == "Silver · top 75%"
    reset_at = await page.get_attribute("#reset", "data-reset-at")
    assert reset_at is not None and datetime.fromisoformat(reset_at) == _midnight()
    assert _seconds(await page.text_content("#reset") or "") > 0
    await cup.store.submit("daily-cup", [ScoreInput("cat", 95)])
    await page.wait_for_selector("#rank[data-rank='1']")
    await page.wait_for_selector("#standing[data-tier='Gold']")
    assert await page.text_content("#rank") == "#1"


@pytest.fixture
async def widgets(cup: LocalRuntime) -> AsyncIterator[str]:
    """Another origin whose page embeds both widgets on the daily board."""
    body = WIDGETS.format(
        script=f"{cup.http_url}/web/leaderboard-widget.js", ws=cup.ws_url,
        spectator=html.escape(spectator_token(cup)), player=html.escape(token(cup.settings, "bob")),
    )  # fmt: skip

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=body, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", index)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
    finally:
        await runner.cleanup()


async def test_the_widgets_count_down_and_show_tie_ranks(
    cup: LocalRuntime, widgets: str, screen: Screen
) -> None:
    """Both widgets count down to the reset in their header; the top widget shows shared
    ranks and the ticker the player's display rank and tier."""
    page = screen.page
    await page.goto(widgets)
    await page.wait_for_selector("leaderboard-top[data-state='live']")
    await page.wait_for_selector("leaderboard-top li.row[data-player='dan']")
    shown = await page.eval_on_selector_all(
        "leaderboard-top li.row", "rs => rs.map(r => r.querySelector('.rank').textContent)"
    )
    assert shown == ["1", "2", "2", "4"]
    for widget in ("leaderboard-top", "leaderboard-ticker"):
        await page.wait_for_selector(f"{widget} .reset:not([hidden])")
        reset_at = await page.get_attribute(f"{widget} .reset", "data-reset-at")
        assert reset_at is not None and datetime.fromisoformat(reset_at) == _midnight()
        text = await page.text_content(f"{widget} .reset") or ""
        assert text.startswith("resets in ") and _seconds(text.removeprefix("resets in ")) > 0
    await page.wait_for_selector("leaderboard-ticker .me[data-rank='2'][data-tier='Silver']")
    assert await page.text_content("leaderboard-ticker .me .rank") == "#2"
