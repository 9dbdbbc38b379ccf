"""Fixtures of the browser tests: Debian's chromium through Playwright, and a runtime
that serves the pages and the REST API over a fresh database.

The browser is launched once per session (``playwright.async_api`` on the session's
event loop, no pytest-playwright); each test gets its own context and page. A page
records its JavaScript errors and console errors, and the fixture fails the test if
any occurred (a Content-Security-Policy violation is a console error).

The pages' CSP forbids ``eval``: wait with ``expect`` or with *function* strings
(``"() => ..."``), never with bare expressions, which Playwright evaluates with ``eval``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright, expect

from core.settings import Settings
from runtime.app import LocalRuntime
from runtime.pages import mount_pages
from runtime.rest_gateway import mount_rest
from tests.runtime.gateway_support import ARENA

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

expect.set_options(timeout=10_000)


def chromium_path() -> str:
    """Debian's chromium (``apt-get install chromium``), or ``LEADERBOARD_CHROMIUM``."""
    path = os.environ.get("LEADERBOARD_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(f"no chromium at {path}: expected `apt-get install -y chromium`")
    return path


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


@dataclass
class PageErrors:
    """What went wrong inside a page: uncaught exceptions and console errors."""

    messages: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.messages.append(f"console: {message.text}")

    def uncaught(self, error: Exception) -> None:
        self.messages.append(f"uncaught: {error}")


@dataclass
class Screen:
    page: Page
    errors: PageErrors
    allowed_errors: list[str] = field(default_factory=list)


async def open_screen(browser: Browser, *, width: int = 1920, height: int = 1080) -> Screen:
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    page.set_default_timeout(10_000)
    errors = PageErrors()
    page.on("console", errors.console)
    page.on("pageerror", errors.uncaught)
    return Screen(page, errors)


async def close_screen(screen: Screen) -> None:
    await screen.page.context.close()
    unexpected = [
        m for m in screen.errors.messages if not any(a in m for a in screen.allowed_errors)
    ]
    assert not unexpected, f"the page reported errors: {unexpected}"


@pytest.fixture
async def screen(browser: Browser) -> AsyncIterator[Screen]:
    """A 1920x1080 page (a venue screen) that must end without page errors."""
    s = await open_screen(browser)
    try:
        yield s
    finally:
        await close_screen(s)


@pytest.fixture
async def web_runtime(database_dsn: str, settings: Settings) -> AsyncIterator[LocalRuntime]:
    """A started runtime with the REST API and the pages, and the board ``arena``."""
    async with LocalRuntime(settings, dsn=database_dsn, mounts=[mount_rest, mount_pages]) as rt:
        await rt.store.create_board(ARENA)
        yield rt


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
