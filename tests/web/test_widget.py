"""The embeddable widgets on another site's page: one module script from the runtime,
``<leaderboard-top>`` and ``<leaderboard-ticker>``, styled by CSS custom properties."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from core.ranking import ScoreInput
from leaderboard_client import LeaderboardClient
from runtime.app import LocalRuntime
from tests.runtime.gateway_support import token
from tests.web.conftest import Screen, artifact
from tests.web.page_support import spectator_token

STUDIO_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>A studio's site</title>
  <link rel="icon" href="data:,">
  <style>
    body {{ background: #fff; font-family: serif; }}
    leaderboard-top {{ --lb-bg: rgb(1, 2, 3); --lb-gold: rgb(250, 200, 0); width: 420px; }}
    leaderboard-ticker {{ --lb-accent: rgb(0, 128, 255); width: 420px; }}
  </style>
  <script type="module" src="{script}"></script>
</head>
<body>
  <h1>Weekly cup</h1>
  <leaderboard-top board="arena" n="3" url="{ws}" token="{spectator}" heading="Weekly cup"></leaderboard-top>
  <leaderboard-ticker board="arena" url="{ws}" token="{player}"></leaderboard-ticker>
</body>
</html>
"""


@pytest.fixture
async def studio(web_runtime: LocalRuntime) -> AsyncIterator[str]:
    """Another origin (a plain web server on another port) whose page embeds the widgets."""
    rt = web_runtime
    page = STUDIO_PAGE.format(
        script=f"{rt.http_url}/web/leaderboard-widget.js",
        ws=rt.ws_url,
        spectator=html.escape(spectator_token(rt)),
        player=html.escape(token(rt.settings, "alice")),
    )

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

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


async def test_the_widgets_follow_a_board_on_another_sites_page(
    web_runtime: LocalRuntime, studio: str, screen: Screen
) -> None:
    """The top-n widget shows the board's rows and moves with a submit; the ticker follows
    its token's player; both take the page's CSS custom properties."""
    rt, page = web_runtime, screen.page
    await rt.store.submit("arena", [ScoreInput("alice", 500), ScoreInput("bob", 400),
                                    ScoreInput("carol", 300), ScoreInput("dan", 200)])  # fmt: skip
    await page.goto(studio)
    top = page.locator("leaderboard-top")
    ticker = page.locator("leaderboard-ticker")
    await page.wait_for_selector("leaderboard-top[data-state='live']")
    rows = "leaderboard-top li.row"
    await page.wait_for_function(
        "() => document.querySelector('leaderboard-top').shadowRoot.querySelectorAll('li').length === 3"
    )
    players = await page.eval_on_selector_all(
        rows, "rs => rs.map(r => [r.dataset.player, r.dataset.rank])"
    )
    assert players == [["alice", "1"], ["bob", "2"], ["carol", "3"]]
    assert await page.text_content("leaderboard-top .title") == "Weekly cup"
    await page.wait_for_selector("leaderboard-ticker[data-state='live']")
    await page.wait_for_selector("leaderboard-ticker .me[data-rank='1']")

    async with LeaderboardClient.connect(rt.ws_url, token(rt.settings, None, role="server",
                                                          subject="game-server")) as lb:  # fmt: skip
        await lb.submit("arena", 900, player="dan")
    await page.wait_for_selector("leaderboard-top li.row[data-player='dan'][data-rank='1']")
    await page.wait_for_selector("leaderboard-ticker .me[data-rank='2']")
    assert "▼ 1" in (await page.text_content("leaderboard-ticker .moment") or "")
    board = await rt.store.get_board("arena")
    assert await top.get_attribute("data-seq") == str(board.seq)

    assert await top.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(1, 2, 3)"
    gold = await page.eval_on_selector(
        "leaderboard-top li[data-rank='1'] .rank", "e => getComputedStyle(e).color"
    )
    assert gold == "rgb(250, 200, 0)"
    accent = await page.eval_on_selector(
        "leaderboard-ticker .me .rank", "e => getComputedStyle(e).color"
    )
    assert accent == "rgb(0, 128, 255)"
    assert await ticker.get_attribute("data-seq") is not None
    await page.screenshot(path=str(artifact("widget.png")))


async def test_the_widget_script_may_be_loaded_from_another_origin(
    web_runtime: LocalRuntime,
) -> None:
    """The bundles are served as JavaScript with Access-Control-Allow-Origin: *."""
    async with aiohttp.ClientSession() as http:
        for name in ("leaderboard-widget.js", "leaderboard-client.js"):
            async with http.get(f"{web_runtime.http_url}/web/{name}") as r:
                assert r.status == 200 and "javascript" in r.content_type
                assert r.headers["Access-Control-Allow-Origin"] == "*"
