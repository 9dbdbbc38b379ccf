"""``leaderboard bench rest`` runs end to end on a small board and reports every figure."""

from __future__ import annotations

import uuid

import asyncpg

from bench.rest import report, run
from runtime.postgres import EmbeddedCluster

KEYS = {"top100_p99_ms", "rank_p99_ms", "around_p99_ms", "redis_rank_p99_ms",
        "top100_p50_ms", "rank_p50_ms", "around_p50_ms", "redis_rank_p50_ms"}  # fmt: skip


async def test_bench_reports_every_key(migrated: EmbeddedCluster) -> None:
    """A quick run over --dsn gives the JSON keys the issue names, with positive latencies."""
    name = f"lb_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(migrated.primary.admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        dsn = migrated.primary.admin_dsn.rsplit("/", 1)[0] + f"/{name}"
        result = await run(entries=3000, dsn=dsn, samples=60)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    assert set(result) >= KEYS and result["entries"] == 3000
    assert result["reads_from"] == "primary"
    assert all(result[k] > 0 for k in ("top100_p99_ms", "rank_p99_ms", "around_p99_ms"))
    assert "rank" in report(result, as_json=False)
