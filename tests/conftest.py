"""Suite-wide configuration: the PostgreSQL fixtures, and no silent skips in CI.

With ``LEADERBOARD_FAIL_ON_SKIP=1`` (set by scripts/test.sh) a run that skipped any test
fails, because every suite here is required: a skip would hide a missing dependency.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.postgres_fixtures"]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("LEADERBOARD_FAIL_ON_SKIP") != "1" or exitstatus != 0:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reasons = sorted({str(getattr(r, "longrepr", ""))[-160:] for r in skipped})
        print(f"\nFAILED: {len(skipped)} test(s) skipped in a required suite:")
        for reason in reasons:
            print(f"  - {reason}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
