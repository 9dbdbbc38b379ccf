"""Fixtures of the local-runtime tests: a started runtime over a fresh database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.settings import Settings
from runtime.app import LocalRuntime
from tests.runtime.gateway_support import ARENA


@pytest.fixture
async def runtime(database_dsn: str, settings: Settings) -> AsyncIterator[LocalRuntime]:
    """A started LocalRuntime over a fresh database, with the board ``arena``."""
    async with LocalRuntime(settings, dsn=database_dsn) as rt:
        await rt.store.create_board(ARENA)
        yield rt
