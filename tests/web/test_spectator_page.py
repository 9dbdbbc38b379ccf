"""The spectator page in a real browser (Debian's chromium) against the real runtime."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from playwright.async_api import Browser, Request, WebSocket

from core.boards import BoardSpec
from core.ranking import ScoreInput
from leaderboard_client import LeaderboardClient
from runtime.app import LocalRuntime
from tests.runtime.gateway_support import token
from tests.web.conftest import Screen, artifact, close_screen, open_screen
from tests.web.page_support import (
    board_url,
    converge,
    rows_on,
    spectator_token,
    truth,
    wait_for_rows,
    wait_live,
)

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "spectator.png"
VENUE = [
    ("nova", 98_450), ("kestrel", 97_120), ("blaze", 95_800), ("orbit", 91_300),
    ("quasar", 88_990), ("vortex", 86_010), ("ember", 84_400), ("zephyr", 80_250),
    ("pixel", 77_700), ("raven", 75_060), ("comet", 70_000), ("lynx", 66_600),
]  # fmt: skip


def server_token(rt: LocalRuntime) -> str:
    return token(rt.settings, None, role="server", subject="game-server")


async def seed(rt: LocalRuntime, scores: list[tuple[str, int]], board: str = "arena") -> None:
    await rt.store.submit(board, [ScoreInput(p, s) for p, s in scores])


async def test_the_page_renders_the_board_and_a_screenshot_is_saved(
    web_runtime: LocalRuntime, screen: Screen
) -> None:
    """The page shows the top rows in rank order, the season, the entry count, the seq
    and a live status; its screenshot lands in test-artifacts/ (and docs/ for the README)."""
    rt, page = web_runtime, screen.page
    await seed(rt, VENUE)
    await page.goto(board_url(rt, "arena", spectator_token(rt)))
    await wait_live(page)
    expected = await truth(rt)
    await wait_for_rows(page, expected)
    assert len(expected) == 10
    assert await page.text_content("#board-title") == "arena"
    assert await page.text_content("#season") == "s1"
    assert await page.get_attribute("#total", "data-total") == str(len(VENUE))
    board = await rt.store.get_board("arena")
    assert await page.get_attribute("#seq", "data-seq") == str(board.seq)
    assert await page.text_content("#status .label") == "Live"
    await page.wait_for_timeout(900)  # let the entry animations settle
    shot = await page.screenshot(path=str(artifact("spectator.png")))
    if not DOCS_SCREENSHOT.exists() or os.environ.get("LEADERBOARD_DOCS_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        DOCS_SCREENSHOT.write_bytes(shot)
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"


async def test_a_score_submitted_through_the_sdk_appears_within_a_second_in_its_place(
    web_runtime: LocalRuntime, screen: Screen
) -> None:
    """A submit acked to the SDK shows on the page in under a second, at its exact rank."""
    rt, page = web_runtime, screen.page
    await seed(rt, VENUE[:6])
    await page.goto(board_url(rt, "arena", spectator_token(rt)))
    await wait_live(page)
    await wait_for_rows(page, await truth(rt))
    async with LeaderboardClient.connect(rt.ws_url, server_token(rt)) as lb:
        for player, score, rank in (("newcomer", 92_000, 4), ("nova", 99_999, 1)):
            started = time.monotonic()
            ack = await lb.submit("arena", score, player=player)
            assert ack.result.rank == rank
            await page.wait_for_selector(
                f"#rows .row[data-player='{player}'][data-rank='{rank}'][data-score='{score}']",
                timeout=1000,
            )
            assert time.monotonic() - started < 1.0
            await wait_for_rows(page, await truth(rt), timeout_ms=1000)
    assert [p for p, _, _ in await rows_on(page)][:4] == ["nova", "kestrel", "blaze", "newcomer"]


async def test_the_page_reconnects_after_the_websocket_side_restarts_and_converges(
    web_runtime: LocalRuntime, screen: Screen
) -> None:
    """Every WebSocket dropped (1001) while scores change: the page shows it is
    reconnecting, reconnects, resyncs from a snapshot and shows the truth again."""
    rt, page = web_runtime, screen.page
    await seed(rt, VENUE[:5])
    await page.goto(board_url(rt, "arena", spectator_token(rt)))
    await wait_live(page)
    await wait_for_rows(page, await truth(rt))
    await page.evaluate(
        """() => { window.statesSeen = [];
            new MutationObserver(() => window.statesSeen.push(
                document.getElementById('status').dataset.state))
              .observe(document.getElementById('status'), {attributes: true}); }"""
    )
    async with LeaderboardClient.connect(rt.ws_url, server_token(rt)) as lb:
        for round_ in range(2):
            await rt.restart_websockets()
            # changes made while the page is away: it can only learn them by resyncing
            await seed(rt, [("raven", 99_000 + round_), ("orbit", 10 + round_)])
            await lb.submit("arena", 50_000 + round_, player=f"late-{round_}")
            await page.wait_for_selector(
                f"#status[data-state='live'][data-reconnects='{round_ + 1}']", timeout=10_000
            )
            await converge(page, rt)
        assert lb.reconnects == 2
    assert "reconnecting" in await page.evaluate("window.statesSeen")
    board = await rt.store.get_board("arena")
    await page.wait_for_selector(f"#seq[data-seq='{board.seq}']")


async def test_a_missed_frame_makes_the_page_resync(
    web_runtime: LocalRuntime, screen: Screen
) -> None:
    """An update whose prev_seq is not the page's seq is a gap: the page resubscribes."""
    rt, page = web_runtime, screen.page
    await seed(rt, VENUE[:3])
    await page.goto(board_url(rt, "arena", spectator_token(rt)))
    await wait_live(page)
    await rt.store.pool.execute(
        "UPDATE lb_subscription SET last_seq = 999, change_no = nextval('lb_subscription_change') WHERE kind = 'top'"
    )
    await seed(rt, [("gapper", 96_000)])
    await converge(page, rt)
    assert ("gapper", 3, 96_000) in await rows_on(page)


async def test_the_index_links_every_board(web_runtime: LocalRuntime, screen: Screen) -> None:
    """``/`` lists the boards from the REST API; a board's link opens its live page."""
    rt, page = web_runtime, screen.page
    await rt.store.create_board(BoardSpec(id="sprint"))
    await seed(rt, VENUE[:2])
    tok = spectator_token(rt)
    await page.goto(f"{rt.http_url}/?token={tok}")
    await page.wait_for_selector("#boards .board-card[data-board='sprint']")
    boards = await page.eval_on_selector_all(".board-card", "cs => cs.map(c => c.dataset.board)")
    assert sorted(boards) == ["arena", "sprint"]
    assert await page.locator(".ticker-link").count() == 0  # a spectator has no ticker
    await page.click(".board-card[data-board='arena'] .board-link")
    await wait_live(page)
    assert page.url == board_url(rt, "arena", tok)
    await wait_for_rows(page, await truth(rt))


async def test_the_index_without_a_token_explains_how_to_get_one(
    web_runtime: LocalRuntime, screen: Screen
) -> None:
    """Opened bare, the index asks for a token and says how to mint one."""
    await screen.page.goto(web_runtime.http_url + "/")
    assert await screen.page.is_visible("#need-token")
    assert "leaderboard token --role spectator" in (
        await screen.page.text_content("#need-token") or ""
    )


async def test_a_refused_token_is_shown_and_the_page_does_not_retry(
    web_runtime: LocalRuntime, screen: Screen
) -> None:
    """A token the service refuses: the page says so and shows an offline status."""
    rt, page = web_runtime, screen.page
    screen.allowed_errors.append("401")
    bad = token(
        rt.settings,
        None,
        role="spectator",
        subject="x",
        secret="another-secret-another-secret-another!",
    )
    await page.goto(board_url(rt, "arena", bad))
    await page.wait_for_selector("#status[data-state='offline']")
    assert "refused" in (await page.text_content("#problem") or "")


async def test_the_page_is_readable_on_a_phone(browser: Browser, web_runtime: LocalRuntime) -> None:
    """On a 390x844 phone nothing scrolls sideways, rows keep legible type, status shows."""
    rt = web_runtime
    await seed(rt, [*VENUE[:9], ("a-very-long-player-name-that-must-not-overflow", 60_000)])
    screen = await open_screen(browser, width=390, height=844)
    try:
        page = screen.page
        await page.goto(board_url(rt, "arena", spectator_token(rt)))
        await wait_live(page)
        await wait_for_rows(page, await truth(rt))
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (
            "the page scrolls sideways on a phone"
        )
        font_px = await page.evaluate(
            "parseFloat(getComputedStyle(document.querySelector('#rows .row')).fontSize)"
        )
        assert font_px >= 14
        box = await page.locator("#status").bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390
        await page.wait_for_timeout(800)
        await page.screenshot(path=str(artifact("spectator-phone.png")), full_page=True)
    finally:
        await close_screen(screen)


async def test_the_pages_load_nothing_from_another_origin(
    web_runtime: LocalRuntime, screen: Screen
) -> None:
    """Every request and the WebSocket go to the runtime's own origin; CSP says 'self'."""
    rt, page = web_runtime, screen.page
    requested: list[str] = []
    sockets: list[str] = []

    def on_request(request: Request) -> None:
        requested.append(request.url)

    def on_websocket(ws: WebSocket) -> None:
        sockets.append(ws.url)

    page.on("request", on_request)
    page.on("websocket", on_websocket)
    response = await page.goto(board_url(rt, "arena", spectator_token(rt)))
    await wait_live(page)
    assert response is not None
    headers = await response.all_headers()
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["referrer-policy"] == "no-referrer"
    assert requested and all(u.startswith(rt.http_url + "/") for u in requested), requested
    assert sockets and all(u.startswith(rt.ws_url + "?token=") for u in sockets), sockets
    await asyncio.sleep(0)
