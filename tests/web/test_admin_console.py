"""The admin console in a real browser (Debian's chromium) against the real runtime."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import aiohttp
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from core.boards import SCORE_MAX, BoardSpec, ResetSchedule, TieMode
from core.errors import Forbidden
from core.ids import PlayerId
from core.ranking import ScoreInput
from runtime.app import LocalRuntime
from tests.runtime.gateway_support import token
from tests.web.conftest import Screen, artifact, close_screen, open_screen
from tests.web.page_support import board_url, spectator_token, truth, wait_for_rows, wait_live
from tests.web.test_spectator_page import VENUE, seed

FAILED_LOAD = "Failed to load resource"
"""What chromium logs for a refused request: expected where a test makes the service say no."""


def admin_token(rt: LocalRuntime, **overrides: object) -> str:
    return token(rt.settings, None, role="admin", subject="ops-alice", **overrides)


def console_url(rt: LocalRuntime, tok: str | None = None) -> str:
    return f"{rt.http_url}/admin" + ("" if tok is None else f"#token={quote(tok)}")


async def open_console(page: Page, rt: LocalRuntime) -> None:
    await page.goto(console_url(rt, admin_token(rt)))
    await expect(page.locator("#console")).to_be_visible()
    await expect(page.locator("#boards tbody tr[data-board='arena']")).to_be_visible()


async def test_the_console_asks_for_a_token_and_refuses_a_spectator_token(
    web_runtime: LocalRuntime, screen: Screen
) -> None:
    """Without a token the console shows the token form; a spectator token gets a clear
    'needs an admin token' error and no console; an admin token typed in opens it."""
    rt, page = web_runtime, screen.page
    await page.goto(console_url(rt))
    await expect(page.locator("#token-form")).to_be_visible()
    await expect(page.locator("#console")).to_be_hidden()

    await page.goto(console_url(rt, spectator_token(rt)))
    await expect(page.locator("#problem")).to_contain_text("the console needs an admin token")
    await expect(page.locator("#problem")).to_contain_text("'spectator'")
    await expect(page.locator("#console")).to_be_hidden()

    await page.fill("#token-input", admin_token(rt))
    await page.click("#token-form button[type=submit]")
    await expect(page.locator("#console")).to_be_visible()
    await expect(page.locator("#problem")).to_be_hidden()
    await expect(page.locator("#who")).to_have_text("admin: ops-alice")
    assert "#token=" in page.url  # a reload keeps the console open, and no request carries it


async def test_a_token_the_service_refuses_is_reported(
    web_runtime: LocalRuntime, screen: Screen
) -> None:
    """An admin-role token signed with another key: the service's refusal is shown."""
    rt, page = web_runtime, screen.page
    screen.allowed_errors.append(FAILED_LOAD)
    forged = admin_token(rt, secret="not-the-service-secret-" + "x" * 32)
    await page.goto(console_url(rt, forged))
    await expect(page.locator("#problem")).to_contain_text("The token was refused")
    await expect(page.locator("#problem")).to_contain_text("unauthorized")
    await expect(page.locator("#console")).to_be_hidden()


async def test_the_index_page_links_the_console(web_runtime: LocalRuntime, screen: Screen) -> None:
    """The index links the console; with an admin token the link carries it in the fragment."""
    rt, page = web_runtime, screen.page
    tok = admin_token(rt)
    await page.goto(f"{rt.http_url}/?token={quote(tok)}")
    await expect(page.locator("#boards [data-board='arena']")).to_be_visible()
    await page.click("#admin-link")
    await expect(page.locator("#console")).to_be_visible()
    assert page.url == console_url(rt, tok)


async def test_create_configure_and_roll_a_board(web_runtime: LocalRuntime, screen: Screen) -> None:
    """A board created on the console exists with its spec; configuring it changes its
    bounds and schedule; rolling it starts the named season; the table follows each step."""
    rt, page = web_runtime, screen.page
    await open_console(page, rt)

    await page.fill("#create-id", "speedrun")
    await page.select_option("#create-order", "asc")
    await page.select_option("#create-policy", "latest")
    await page.fill("#create-min", "1")
    await page.fill("#create-max", "3600000")
    await page.select_option("#create-reset", "weekly")
    await page.click("#create-form button[type=submit]")
    row = page.locator("#boards tbody tr[data-board='speedrun']")
    await expect(row).to_be_visible()
    await expect(page.locator("#notice")).to_contain_text("Created speedrun")
    board = await rt.store.get_board("speedrun")
    assert (board.order.value, board.policy.value) == ("asc", "latest")
    assert (board.min_score, board.max_score, board.reset) == (1, 3_600_000, ResetSchedule.WEEKLY)

    await row.locator("button.configure").click()
    await expect(page.locator("#configure-min")).to_have_value("1")
    await page.fill("#configure-max", "7200000")
    await page.select_option("#configure-reset", "none")
    await page.click("#configure-form button[type=submit]")
    await expect(page.locator("#notice")).to_have_text("Saved speedrun.")
    await expect(page.locator("#configure-form")).to_be_hidden()
    await expect(row.locator(".reset")).to_have_text("never")
    board = await rt.store.get_board("speedrun")
    assert (board.min_score, board.max_score, board.reset) == (1, 7_200_000, None)

    await row.locator("button.roll").click()
    await page.fill("#roll-season", "cup-2")
    await page.click("#roll-form button[type=submit]")
    await expect(page.locator("#notice")).to_have_text("speedrun is now in season cup-2.")
    await expect(page.locator("#roll-form")).to_be_hidden()
    await expect(row.locator(".season")).to_have_text("cup-2")
    assert (await rt.store.get_board("speedrun")).season == "cup-2"
    await page.screenshot(path=str(artifact("admin-console.png")), full_page=True)


async def test_configuring_one_bound_keeps_a_default_bound_beyond_what_a_browser_holds(
    web_runtime: LocalRuntime, screen: Screen
) -> None:
    """A board with the default max score (2^63-1, which JavaScript rounds) gets a new
    min score from the console: the max stays exact, and a bound the browser cannot
    send exactly is refused on the page before any request."""
    rt, page = web_runtime, screen.page
    await rt.store.create_board(BoardSpec(id="open"))
    await open_console(page, rt)
    row = page.locator("#boards tbody tr[data-board='open']")
    await row.locator("button.configure").click()
    await page.fill("#configure-min", "-50")
    await page.click("#configure-form button[type=submit]")
    await expect(page.locator("#notice")).to_have_text("Saved open.")
    board = await rt.store.get_board("open")
    assert (board.min_score, board.max_score) == (-50, SCORE_MAX)

    await row.locator("button.configure").click()
    await page.fill("#configure-max", "9007199254740993")
    await page.click("#configure-form button[type=submit]")
    await expect(page.locator("#problem")).to_contain_text("the console can send exactly")
    assert (await rt.store.get_board("open")).max_score == SCORE_MAX


async def test_a_refused_change_shows_the_services_error_code(
    web_runtime: LocalRuntime, screen: Screen
) -> None:
    """Bounds the wrong way round and a duplicate board id are refused with their codes,
    and nothing changes."""
    rt, page = web_runtime, screen.page
    screen.allowed_errors.append(FAILED_LOAD)
    await open_console(page, rt)
    row = page.locator("#boards tbody tr[data-board='arena']")
    await row.locator("button.configure").click()
    await page.fill("#configure-min", "500")
    await page.fill("#configure-max", "10")
    await page.click("#configure-form button[type=submit]")
    await expect(page.locator("#problem")).to_contain_text("invalid_bounds")
    assert (await rt.store.get_board("arena")).max_score == 1_000_000

    await page.fill("#create-id", "arena")
    await page.click("#create-form button[type=submit]")
    await expect(page.locator("#problem")).to_contain_text("board_exists")


async def test_create_a_board_with_tie_mode_tiers_and_an_all_time_ladder(
    web_runtime: LocalRuntime, screen: Screen
) -> None:
    """Tie mode, tiers typed as `name:percent` and the all-time ladder set on the create
    form reach the service (read back over REST) and show in the boards table."""
    rt, page = web_runtime, screen.page
    await open_console(page, rt)
    await page.fill("#create-id", "cup")
    await page.select_option("#create-tie-mode", "competition")
    await page.fill("#create-tiers", "Gold:1, Silver:10, Bronze:50")
    await page.check("#create-all-time")
    await page.click("#create-form button[type=submit]")
    await expect(page.locator("#notice")).to_contain_text("Created cup")
    row = page.locator("#boards tbody tr[data-board='cup']")
    await expect(row.locator(".tie-mode")).to_have_text("competition")
    await expect(row.locator(".tiers")).to_have_text("Gold:1, Silver:10, Bronze:50")
    await expect(row.locator(".all-time")).to_have_text("yes")
    await expect(page.locator("#boards tbody tr[data-board='arena'] .all-time")).to_have_text("no")

    headers = {"Authorization": f"Bearer {admin_token(rt)}"}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.get(f"{rt.http_url}/v1/boards/cup") as r,
    ):
        assert r.status == 200, await r.text()
        detail = await r.json()
    assert detail["tie_mode"] == "competition"
    assert detail["tiers"] == [
        {"name": "Gold", "top_percent": 1},
        {"name": "Silver", "top_percent": 10},
        {"name": "Bronze", "top_percent": 50},
    ]
    assert detail["all_time"] is True


async def test_configure_tiers_on_an_existing_board(
    web_runtime: LocalRuntime, screen: Screen
) -> None:
    """Tiers the page cannot parse are refused on the page with what is wrong, before any
    request; good ones are sent alone (the tie mode is left as stored) and shown; emptying
    the field clears them."""
    rt, page = web_runtime, screen.page
    await rt.store.create_board(BoardSpec(id="league", tie_mode=TieMode.DENSE))
    await open_console(page, rt)
    row = page.locator("#boards tbody tr[data-board='league']")
    await expect(row.locator(".tiers")).to_have_text("none")
    await row.locator("button.configure").click()
    await expect(page.locator("#configure-tie-mode")).to_have_value("dense")
    await expect(page.locator("#configure-tiers")).to_have_value("")

    patches: list[str | None] = []
    page.on("request", lambda q: patches.append(q.post_data) if q.method == "PATCH" else None)
    for typed, problem in [
        ("Gold 1", "is not name:top percent"),
        ("Gold:1, Silver:abc", "must be a number above 0 and at most 100"),
        ("Gold:10, Silver:5", "must have a larger top percent than Gold"),
        ("Gold:1, Gold:5", "used twice"),
    ]:
        await page.fill("#configure-tiers", typed)
        await page.click("#configure-form button[type=submit]")
        await expect(page.locator("#problem")).to_contain_text(problem)
        await expect(page.locator("#configure-form")).to_be_visible()
    assert patches == []
    assert (await rt.store.get_board("league")).tiers is None

    await page.fill("#configure-tiers", "Top:5,Rest:100")
    await page.click("#configure-form button[type=submit]")
    await expect(page.locator("#notice")).to_have_text("Saved league.")
    await expect(row.locator(".tiers")).to_have_text("Top:5, Rest:100")
    assert [json.loads(p or "{}") for p in patches] == [
        {"tiers": [{"name": "Top", "top_percent": 5}, {"name": "Rest", "top_percent": 100}]}
    ]
    board = await rt.store.get_board("league")
    assert [(t.name, t.top_percent) for t in board.tiers or []] == [("Top", 5), ("Rest", 100)]
    assert board.tie_mode is TieMode.DENSE

    await row.locator("button.configure").click()
    await expect(page.locator("#configure-tiers")).to_have_value("Top:5, Rest:100")
    await page.fill("#configure-tiers", "")
    await page.click("#configure-form button[type=submit]")
    await expect(row.locator(".tiers")).to_have_text("none")
    assert (await rt.store.get_board("league")).tiers is None


# --- moderation: the flows over the moderation routes ----------------------------------


async def find(page: Page, player: str) -> None:
    await page.fill("#find-player", player)
    await page.click("#find-form button[type=submit]")
    await expect(page.locator("#player-name")).to_have_text(player)


def entry_row(page: Page, board: str, season: str) -> Locator:
    return page.locator(f"#player-entries tbody tr[data-board='{board}'][data-season='{season}']")


async def test_a_removal_on_the_console_is_seen_live_on_an_open_spectator_page(
    web_runtime: LocalRuntime, screen: Screen, browser: Browser
) -> None:
    """A player found on the console shows their entries on every board and season;
    removing the current one takes them off an open board page live, every rank below
    moving up by one, while their other entries stay."""
    rt, page = web_runtime, screen.page
    await seed(rt, VENUE[:8])
    await rt.store.create_board(BoardSpec(id="sprint", max_score=1_000_000))
    await seed(rt, [("blaze", 500)], board="sprint")
    await rt.store.roll_season("sprint", season="s2")
    await seed(rt, [("blaze", 700), ("nova", 900)], board="sprint")

    venue = await open_screen(browser)
    try:
        await venue.page.goto(board_url(rt, "arena", spectator_token(rt)))
        await wait_live(venue.page)
        before = await truth(rt)
        await wait_for_rows(venue.page, before)
        assert ("blaze", 3, 95_800) in before

        await open_console(page, rt)
        await find(page, "blaze")
        await expect(entry_row(page, "arena", "s1").locator(".rank")).to_have_text("3")
        await expect(entry_row(page, "sprint", "s1").locator(".rank")).to_have_text("1")
        await expect(entry_row(page, "sprint", "s2").locator(".rank")).to_have_text("2")

        await page.fill("#reason", "impossible lap")
        await entry_row(page, "arena", "s1").locator("button.remove").click()
        await expect(page.locator("#notice")).to_have_text("Removed blaze from arena (s1).")
        after = [(p, r - 1 if r > 3 else r, s) for p, r, s in before if p != "blaze"]
        await wait_for_rows(venue.page, after)
        assert await truth(rt) == after
        await expect(venue.page.locator("#total")).to_have_attribute("data-total", "7")
        await expect(entry_row(page, "arena", "s1")).to_have_count(0)
        await expect(entry_row(page, "sprint", "s2")).to_be_visible()
        audit = page.locator("#audit tbody tr[data-action='remove_entry']")
        await expect(audit).to_have_count(1)
        await expect(audit.locator(".reason")).to_have_text("impossible lap")
        await expect(audit.locator(".actor")).to_have_text("ops-alice")
    finally:
        await close_screen(venue)


async def test_ban_and_unban_on_one_board_and_on_all(
    web_runtime: LocalRuntime, screen: Screen
) -> None:
    """A ban on one board hides the player's entry there (shown on the console as hidden)
    and refuses their submits; a ban on all boards shows as such; unbanning both brings
    the entry back unchanged, at its old rank."""
    rt, page = web_runtime, screen.page
    screen.allowed_errors.append(FAILED_LOAD)
    await seed(rt, VENUE[:4])
    await open_console(page, rt)
    await find(page, "kestrel")
    await page.select_option("#ban-board", "arena")
    await page.fill("#reason", "smurf account")
    await page.click("#ban-form button[type=submit]")
    await expect(page.locator("#notice")).to_have_text("Banned kestrel on arena.")
    await expect(page.locator("#player-bans li[data-board='arena']")).to_contain_text(
        "smurf account"
    )
    hidden = entry_row(page, "arena", "s1")
    await expect(hidden).to_have_class(re.compile("hidden-entry"))
    assert [p for p, _, _ in await truth(rt)] == ["nova", "blaze", "orbit"]
    with pytest.raises(Forbidden) as refused:
        await rt.store.submit("arena", [ScoreInput(PlayerId("kestrel"), 99_999)])
    assert refused.value.code == "player_banned"

    await page.select_option("#ban-board", "")
    await page.click("#ban-form button[type=submit]")
    await expect(page.locator("#notice")).to_have_text("Banned kestrel on all boards.")
    await expect(page.locator("#player-bans li[data-board='']")).to_contain_text("all boards")
    await page.screenshot(path=str(artifact("admin-console-player.png")), full_page=True)

    for scope in ("arena", ""):
        await page.locator(f"#player-bans li[data-board='{scope}'] button.unban").click()
        await expect(page.locator(f"#player-bans li[data-board='{scope}']")).to_have_count(0)
    await expect(page.locator("#player-no-bans")).to_be_visible()
    await expect(entry_row(page, "arena", "s1").locator(".rank")).to_have_text("2")
    assert ("kestrel", 2, 97_120) in await truth(rt)
    actions = await page.locator("#audit tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.action)"
    )
    assert actions == ["unban", "unban", "ban", "ban"]


async def test_erase_needs_a_confirm_step_and_shows_the_report(
    web_runtime: LocalRuntime, screen: Screen
) -> None:
    """Erase asks to type the player id first (cancel leaves everything); confirmed, the
    player is gone from every board and the report says what was removed; the service no
    longer knows them."""
    rt, page = web_runtime, screen.page
    screen.allowed_errors.append(FAILED_LOAD)
    await seed(rt, VENUE[:5])
    await rt.store.create_board(BoardSpec(id="sprint", max_score=1_000_000))
    await seed(rt, [("orbit", 10)], board="sprint")
    await open_console(page, rt)
    await find(page, "orbit")

    await page.click("#erase-start")
    await expect(page.locator("#erase-go")).to_be_disabled()
    await page.fill("#erase-typed", "orbi")
    await expect(page.locator("#erase-go")).to_be_disabled()
    await page.click("#erase-cancel")
    await expect(page.locator("#erase-confirm")).to_be_hidden()
    assert ("orbit", 4, 91_300) in await truth(rt)

    await page.click("#erase-start")
    await page.fill("#erase-typed", "orbit")
    await page.click("#erase-go")
    await expect(page.locator("#notice")).to_have_text("Erased orbit.")
    report = page.locator("#erase-report-lines")
    await expect(report.locator("[data-key='entries'] dd")).to_have_text("2")
    await expect(report.locator("[data-key='audit_player'] dd")).to_contain_text("~erased-")
    await expect(page.locator("#player-no-entries")).to_be_visible()
    await expect(page.locator("#player-entries tbody tr")).to_have_count(0)
    assert "orbit" not in [p for p, _, _ in await truth(rt)]
    assert "orbit" not in [p for p, _, _ in await truth(rt, "sprint")]
    await expect(page.locator("#audit tbody tr[data-action='erase_player']")).to_have_count(1)
    await page.click("#find-form button[type=submit]")
    await expect(page.locator("#problem")).to_contain_text("unknown_player")


async def test_the_audit_log_pages_back(web_runtime: LocalRuntime, screen: Screen) -> None:
    """More actions than a page: the log shows the newest first and 'Older' loads the
    rest, until there is nothing older."""
    rt, page = web_runtime, screen.page
    await seed(rt, [(f"p{i:02d}", 1000 + i) for i in range(25)])
    admin = admin_token(rt)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {admin}"}) as http:
        for i in range(25):
            url = f"{rt.http_url}/v1/boards/arena/players/p{i:02d}?reason=cleanup-{i:02d}"
            async with http.delete(url) as r:
                assert r.status == 200, await r.text()
    await open_console(page, rt)
    rows = page.locator("#audit tbody tr")
    await expect(rows).to_have_count(20)
    await expect(rows.first.locator(".reason")).to_have_text("cleanup-24")
    await page.click("#audit-more")
    await expect(rows).to_have_count(25)
    await expect(rows.last.locator(".reason")).to_have_text("cleanup-00")
    await expect(page.locator("#audit-more")).to_be_hidden()
