"""The spectator page across a restart of the whole service (not only its WebSockets)."""

from __future__ import annotations

from core.ranking import ScoreInput
from core.settings import Settings
from db.store import Store
from leaderboard_client import LeaderboardClient
from runtime.app import LocalRuntime
from runtime.pages import mount_pages
from runtime.postgres import free_port
from runtime.rest_gateway import mount_rest
from tests.runtime.gateway_support import ARENA, token
from tests.web.conftest import Screen
from tests.web.page_support import board_url, converge, spectator_token, truth, wait_for_rows


async def test_the_page_survives_a_restart_of_the_service_and_converges(
    database_dsn: str, settings: Settings, store: Store, screen: Screen
) -> None:
    """The runtime stops (every socket closed, its HTTP port gone) while scores change,
    then starts again on the same port: the page shows it is reconnecting, redials until
    the service is back, resubscribes, and shows the truth; later updates apply live."""
    page, port = screen.page, free_port()
    # while the service is down the page's redials are refused, and chromium logs each one
    screen.allowed_errors.append("net::ERR_CONNECTION_REFUSED")
    mounts = [mount_rest, mount_pages]
    await store.create_board(ARENA)
    await store.submit("arena", [ScoreInput("nova", 900), ScoreInput("orbit", 800)])
    async with LocalRuntime(settings, dsn=database_dsn, port=port, mounts=mounts) as first:
        await page.goto(board_url(first, "arena", spectator_token(first)))
        await page.wait_for_selector("#status[data-state='live']")
        await wait_for_rows(page, await truth(first))
        await page.evaluate(
            """() => { window.statesSeen = [];
                new MutationObserver(() => window.statesSeen.push(
                    document.getElementById('status').dataset.state))
                  .observe(document.getElementById('status'), {attributes: true}); }"""
        )
    # the service is down: these changes can only reach the page by a resync
    await store.submit("arena", [ScoreInput("raven", 950), ScoreInput("orbit", 990)])
    await page.wait_for_selector("#status[data-state='reconnecting']")
    async with LocalRuntime(settings, dsn=database_dsn, port=port, mounts=mounts) as second:
        await page.wait_for_selector("#status[data-state='live']", timeout=20_000)
        shown = await converge(page, second)
        assert [p for p, _, _ in shown] == ["orbit", "raven", "nova"]
        server = token(second.settings, None, role="server", subject="game-server")
        async with LeaderboardClient.connect(second.ws_url, server) as lb:
            await lb.submit("arena", 999, player="nova")
        await converge(page, second)
        assert await page.get_attribute("#seq", "data-seq") == str(
            (await second.store.get_board("arena")).seq
        )
    assert "reconnecting" in await page.evaluate("() => window.statesSeen")
