"""The pages mount over plain HTTP: routes, headers, assets, and ``/`` shared with WS."""

from __future__ import annotations

import aiohttp

from leaderboard_client import LeaderboardClient
from runtime.app import LocalRuntime
from runtime.pages import CONTENT_SECURITY_POLICY
from tests.web.page_support import spectator_token


async def test_every_page_is_html_with_the_security_headers(web_runtime: LocalRuntime) -> None:
    """``/``, a board, a ticker and the admin console answer HTML with CSP, no-referrer
    and no-store; the live pages name this runtime's WebSocket path."""
    async with aiohttp.ClientSession() as http:
        for path in ("/", "/boards/arena", "/boards/arena/ticker", "/admin"):
            async with http.get(web_runtime.http_url + path) as r:
                assert r.status == 200, path
                assert r.content_type == "text/html"
                assert r.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
                assert r.headers["Referrer-Policy"] == "no-referrer"
                assert r.headers["Cache-Control"] == "no-store"
                body = await r.text()
                if path != "/admin":  # REST only: the same file is served on AWS
                    assert f'content="/{web_runtime.settings.ws_stage}"' in body
                assert "%WS_PATH%" not in body
                assert "http://" not in body and "https://" not in body


async def test_assets_are_served_and_nothing_outside_them(web_runtime: LocalRuntime) -> None:
    """The modules and the stylesheet come from /web; unknown and escaping paths are 404/403."""
    async with aiohttp.ClientSession() as http:
        for name, kind in (("board.js", "javascript"), ("leaderboard-client.js", "javascript"),
                           ("style.css", "text/css")):  # fmt: skip
            async with http.get(f"{web_runtime.http_url}/web/{name}") as r:
                assert r.status == 200 and kind in r.content_type, name
        async with http.get(f"{web_runtime.http_url}/web/missing.js") as r:
            assert r.status == 404
        async with http.get(f"{web_runtime.http_url}/web/%2e%2e/pages.py") as r:
            assert r.status in (403, 404)


async def test_the_root_still_upgrades_websockets(web_runtime: LocalRuntime) -> None:
    """A WebSocket upgrade on ``/`` reaches the gateway, not the index page."""
    root = web_runtime.http_url.replace("http://", "ws://") + "/"
    async with LeaderboardClient.connect(root, spectator_token(web_runtime)) as lb:
        sub = await lb.subscribe("arena", n=3)
        assert (await anext(sub)).entries == []
