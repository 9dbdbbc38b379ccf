"""The TypeScript client (client/typescript) under the README's test command: its own
Node suite against the real runtime, its generated types and the pages' bundles kept
in step with the service, and its version the service's.

Node and npm are required, never skipped: a machine without them fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "client" / "typescript"


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.fail(
            "node and npm are required for the TypeScript client: apt-get install nodejs npm"
        )
    return npm


def _run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LEADERBOARD_CLI": str(Path(sys.executable).with_name("leaderboard"))}
    run = subprocess.run(
        [_npm(), *args], cwd=PACKAGE, env=env, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip
    assert run.returncode == 0, (
        f"npm {' '.join(args)} failed:\n{run.stdout[-6000:]}\n{run.stderr[-3000:]}"
    )
    return run


@pytest.fixture(scope="module")
def installed() -> Path:
    """client/typescript with its locked dev dependencies installed and built (tsc)."""
    _run("ci", "--no-audit", "--no-fund", "--loglevel=error")
    _run("run", "build")
    return PACKAGE


def test_the_package_is_versioned_with_the_service() -> None:
    """package.json and its lockfile carry pyproject.toml's version."""
    service = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    package = json.loads((PACKAGE / "package.json").read_text())
    lock = json.loads((PACKAGE / "package-lock.json").read_text())
    assert package["version"] == lock["version"] == lock["packages"][""]["version"] == service


def test_the_lockfile_records_no_download_urls() -> None:
    """The lockfiles pin versions and integrity hashes only (omit-lockfile-registry-resolved)."""
    for lockfile in (PACKAGE / "package-lock.json", ROOT / "package-lock.json"):
        packages = json.loads(lockfile.read_text())["packages"]
        assert not [name for name, p in packages.items() if "resolved" in p], lockfile
    assert "omit-lockfile-registry-resolved=true" in (PACKAGE / ".npmrc").read_text()


def test_the_generated_types_match_the_committed_contracts(installed: Path) -> None:
    """src/generated is what docs/openapi.json and docs/asyncapi.json generate (else
    `npm run generate`)."""
    _run("run", "check:generated")


def test_the_pages_bundles_match_the_package(installed: Path) -> None:
    """runtime/web/leaderboard-client.js and leaderboard-widget.js are the package's
    sources bundled by esbuild (else `npm run bundle`)."""
    _run("run", "check:bundle")


def _passed(run: subprocess.CompletedProcess[str]) -> None:
    summary = [line for line in run.stdout.splitlines() if line.startswith("# ")]
    failures = [i for i, line in enumerate(run.stdout.splitlines()) if "not ok" in line]
    detail = "\n".join(run.stdout.splitlines()[failures[0] : failures[0] + 40]) if failures else ""
    assert "# fail 0" in summary and "# skipped 0" in summary, "\n".join([*summary, detail])
    assert any(line.startswith("# pass ") and int(line.split()[2]) > 0 for line in summary)


def test_the_node_suite_passes_against_the_real_runtime(installed: Path) -> None:
    """`npm test`: node --test over the package, each live test on `leaderboard up`."""
    _passed(_run("test", timeout=420))


def test_the_live_suite_passes_on_the_standard_websocket(installed: Path) -> None:
    """On Node 20 (which `npm test` runs with ws), the live tests again with Node's own
    WebSocket (--experimental-websocket), the one browsers and Node 22 have."""
    node = shutil.which("node") or "node"
    major = int(subprocess.run([node, "--version"], capture_output=True, text=True,
                               check=True).stdout.strip().lstrip("v").split(".")[0])  # fmt: skip
    if major >= 22:
        return  # `npm test` already ran them on the global WebSocket
    _passed(_run("run", "test:standard-websocket", timeout=420))
