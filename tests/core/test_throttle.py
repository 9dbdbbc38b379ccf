"""Rate decisions: a connection's token bucket and once-per-interval failure reports."""

from __future__ import annotations

import logging

import asyncpg
import pytest

from core.errors import CODES, Unavailable
from core.throttle import FailureLog, OncePer, TokenBucket
from db.errors import as_service_error, translated


def test_a_token_bucket_allows_its_burst_then_its_rate() -> None:
    """A burst goes through at once; then one message per 1/rate s, with the wait said."""
    bucket = TokenBucket(rate=10.0, burst=3)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.1)
    assert bucket.take(0.05) == pytest.approx(0.05)
    assert bucket.take(0.1) == 0.0


def test_a_cause_is_reported_once_per_interval_with_the_count_it_skipped() -> None:
    """Repeats inside the interval are counted, and the count goes with the next report."""
    gate = OncePer(interval_s=10.0)
    assert gate.due("db down", 0.0) == 0
    assert [gate.due("db down", t) for t in (1.0, 2.0, 3.0)] == [None, None, None]
    assert gate.due("other", 3.0) == 0
    assert gate.due("db down", 10.5) == 3


def test_a_failing_dependency_logs_one_line_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    """A thousand requests failing for one cause log one warning, without a traceback."""
    now = [0.0]
    failures = FailureLog(logging.getLogger("test.failures"), clock=lambda: now[0])
    caplog.set_level(logging.WARNING, logger="test.failures")
    for _ in range(1000):
        failures.failed("route submit", Unavailable("down", code="database_unreachable"))
    assert len(caplog.records) == 1 and caplog.records[0].exc_info is None
    now[0] = 11.0
    failures.failed("route submit", Unavailable("down", code="database_unreachable"))
    assert len(caplog.records) == 2 and "999 more" in caplog.records[1].getMessage()


@pytest.mark.parametrize(
    "raised",
    [
        asyncpg.InternalClientError("cannot switch to state 15"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        ConnectionResetError("reset by peer"),
        TimeoutError(),
        asyncpg.CannotConnectNowError("the database system is starting up"),
    ],
)
async def test_every_database_failure_becomes_a_retryable_unavailable(raised: Exception) -> None:
    """asyncpg's internal client errors, lost connections, resets, timeouts and a server
    that is starting are all `unavailable` (503, retryable), never a bare 500."""
    with pytest.raises(Unavailable) as info:
        async with translated():
            raise raised
    assert CODES[info.value.code].retryable and info.value.status == 503
    assert info.value.retry_after_ms is not None
    assert as_service_error(raised).status == 503
