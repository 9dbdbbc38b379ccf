"""The embedded cluster's supervisor gives up loudly when a server cannot be restarted."""

from __future__ import annotations

import asyncio
from pathlib import Path

from runtime.postgres import EmbeddedCluster
from runtime.supervisor import FAILED, ClusterSupervisor


async def test_a_server_that_cannot_be_restarted_fails_the_supervisor(tmp_path: Path) -> None:
    """A dead primary whose restart keeps failing is retried with backoff, then marked
    failed and the supervisor's `failed` event is set (the runtime then exits non-zero)."""
    cluster = EmbeddedCluster(tmp_path / "never-initialised", port=1)
    supervisor = ClusterSupervisor(
        cluster, interval_s=0.01, min_backoff_s=0.01, max_backoff_s=0.02, max_attempts=3
    )
    await supervisor.start()
    try:
        await asyncio.wait_for(supervisor.failed.wait(), 60)
    finally:
        await supervisor.stop()
    health = supervisor.servers["primary"]
    assert supervisor.state("primary") == FAILED and health.attempts == 3
    assert health.last_error
