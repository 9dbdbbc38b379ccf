"""``leaderboard bench all --quick --json`` runs every benchmark end to end (about 75 s
here: four embedded clusters, the service twice, the bare front door, small sizes) and
prints one JSON object with every bench's contract keys; the table renders from it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import suite
from bench.cli import BENCHES
from tests.bench.test_suite import KEYS


@pytest.mark.slow
def test_bench_all_quick_runs_every_bench_and_prints_one_json_object(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "runtime.cli", "bench", "all", "--quick", "--json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=400, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout)
    assert set(results) == {"meta", *BENCHES}
    for name in BENCHES:
        assert "error" not in results[name], results[name]
        assert KEYS[name] <= set(results[name]), name
    assert results["meta"]["parameters"]["quick"] is True
    assert results["rank"]["rank_p50_ms"] > 0 and results["submit"]["submits_per_s"] > 0
    assert results["push"]["capacity_submits_per_s"] > 0
    assert results["push"]["fanout_bare_msgs_per_s"] > 0
    assert results["push"]["fanout_inproc_received"] == 3 * results["push"]["connections"]
    assert len(suite.figures(results)) == 16
