"""schemathesis fuzzes every operation of /openapi.json on a fresh runtime: no server error,
no response that breaks the schema."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from core.settings import Settings
from runtime.postgres import EmbeddedCluster
from tests.rest.support import fresh_runtime, seed_fixed, token

MAX_EXAMPLES = 25
CHECKS = "all"
# Schema-valid requests that the API rightly refuses with 400: an opaque cursor that is
# not one of ours, min_score > max_score, NUL in metadata. A schema cannot say these, so
# this check (request acceptance, not response conformance) would report false failures.
NOT_CHECKED = "positive_data_acceptance"


async def test_fuzzing_finds_no_failure(
    migrated: EmbeddedCluster, settings_rest: Settings, tmp_path: Path
) -> None:
    """A bounded schemathesis run with every check, as an admin, reports no failure."""
    assert migrated.replica is not None
    st = Path(sys.executable).parent / "st"
    assert st.exists(), "schemathesis is missing: pip install -e '.[dev]'"
    async with fresh_runtime(migrated.primary, migrated.replica, settings_rest) as runtime:
        await seed_fixed(runtime.store)
        admin = token(settings_rest, "admin")
        proc = await asyncio.create_subprocess_exec(
            str(st), "run", f"{runtime.http_url}/openapi.json",
            "--checks", CHECKS, "--exclude-checks", NOT_CHECKED, "--max-examples", str(MAX_EXAMPLES), "--seed", "1",
            "--workers", "1", "--header", f"Authorization: Bearer {admin}",
            "--no-color", "--report", "junit", "--report-dir", str(tmp_path),
            cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 170)
    report = out.decode(errors="replace")
    assert proc.returncode == 0, report[-8000:]
