"""The embedded cluster's supervisor gives up loudly when a server cannot be restarted."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import pytest

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


def test_a_lock_file_naming_a_zombie_does_not_stop_a_restart(tmp_path: Path) -> None:
    """A primary whose killed postmaster is a zombie no one reaps (PID 1 in many a
    container) starts again: PostgreSQL would take the zombie for a running server and
    refuse; a start's failure names the server's own reason."""
    cluster = EmbeddedCluster(tmp_path / "pg", fsync=False).start()
    primary = cluster.primary
    # never waited for: a zombie child of this test, owned by the servers' user (as a
    # killed postmaster's is; PostgreSQL ignores a lock naming another user's process)
    zombie = subprocess.Popen(["true"], user=primary.user)
    try:
        primary.stop()
        while Path(f"/proc/{zombie.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
            time.sleep(0.01)
        lock = primary.data_dir / "postmaster.pid"
        lock.write_text(f"{zombie.pid}\n{primary.data_dir}\n")
        assert not primary.is_running
        primary.start()
        assert primary.is_running and primary.pid != zombie.pid
    finally:
        zombie.wait()
        cluster.stop()


def test_a_failed_start_says_why(tmp_path: Path) -> None:
    """A start that PostgreSQL refuses raises with the end of the server's log."""
    cluster = EmbeddedCluster(tmp_path / "pg", fsync=False).start()
    primary = cluster.primary
    try:
        primary.stop()
        (primary.data_dir / "postgresql.auto.conf").write_text("shared_buffers = 'nonsense'\n")
        with pytest.raises(RuntimeError, match="shared_buffers"):
            primary.start()
    finally:
        (primary.data_dir / "postgresql.auto.conf").write_text("")
        cluster.stop()
