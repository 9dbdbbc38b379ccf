"""The fault suite's service (one ``leaderboard up`` process over a temporary data
directory, shared by the scenarios in order) and its figures, printed at the end of the run."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from core.boards import BoardSpec, UpdatePolicy
from core.settings import Settings
from db.store import Store
from tests.faults.harness import BOARD, Service

FIGURES: dict[str, dict[str, Any]] = {}


@pytest.fixture(scope="package")
async def service(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Service]:
    """The service with its embedded primary and replica, and the board ``faults`` (each
    submit adds 1 to its player's score, so a submit applied twice shows)."""
    svc = Service(tmp_path_factory.mktemp("faults") / "data")
    svc.start()
    pool = await asyncpg.create_pool(svc.dsn, min_size=1, max_size=2)
    try:
        store = Store(pool, settings=Settings())
        await store.create_board(BoardSpec(id=BOARD, policy=UpdatePolicy.INCREMENT))
    finally:
        await pool.close()
    try:
        yield svc
    finally:
        svc.stop()


@pytest.fixture(scope="package")
def figures() -> dict[str, dict[str, Any]]:
    """Scenario name -> the figures it measured (printed in the terminal summary)."""
    return FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("fault suite figures")
    for name, values in FIGURES.items():
        terminalreporter.write_line(f"{name}: {json.dumps(values, default=str)}")
    out = Path(terminalreporter.config.rootpath) / "var" / "faults-figures.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(FIGURES, indent=2, default=str))
