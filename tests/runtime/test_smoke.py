"""``leaderboard smoke`` (runtime/smoke.py): the deployment check, run for real.

The CLI, as a process, against ``leaderboard up`` as a process (embedded PostgreSQL
primary and replica, REST and WebSocket behind the emulated API Gateway); then the same
checks in-process against a runtime that must fail them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from authorizer.tokens import mint_token
from core.boards import BoardSpec, SortOrder
from core.ranking import ScoreInput
from core.settings import Settings
from runtime.app import LocalRuntime
from runtime.rest_gateway import mount_rest
from runtime.smoke import SmokeTarget, smoke

CLI = [sys.executable, "-m", "runtime.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _run(*args: str, env: dict[str, str], timeout: float = 120) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *CLI, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    return int(proc.returncode or 0), out.decode()


@contextlib.asynccontextmanager
async def leaderboard_up(data_dir: Path, port: int, env: dict[str, str]) -> AsyncIterator[None]:
    """``leaderboard up`` in a process of its own, until its URLs are printed."""
    proc = await asyncio.create_subprocess_exec(
        *CLI, "--data-dir", str(data_dir), "up", "--port", str(port), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(120):
            while b"leaderboard is up" not in (line := await proc.stdout.readline()):
                seen.append(line.decode())
                assert line, "leaderboard up exited:\n" + "".join(seen)
        drain = asyncio.create_task(proc.stdout.read())
        yield
    finally:
        if proc.returncode is None:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 60)
        with contextlib.suppress(NameError):
            drain.cancel()


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data directory outside pytest's tmp tree: another pytest starting on this machine
    resets that tree to 0700, which the embedded server's own user could then not enter."""
    root = Path(tempfile.mkdtemp(prefix="lb-smoke-"))
    try:
        yield root / "var"
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def test_smoke_passes_against_leaderboard_up(data_dir: Path) -> None:
    """``leaderboard smoke`` exits 0 against ``leaderboard up``: the board is created with an
    admin token, the push and both REST reads agree with the ack."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADERBOARD_")}
    port = _free_port()
    tokens = {}
    for role in ("server", "admin"):
        code, out = await _run("--data-dir", str(data_dir), "token", "--role", role, env=env)
        assert code == 0, out
        tokens[role] = out.strip().splitlines()[-1]
    async with leaderboard_up(data_dir, port, env):
        code, out = await _run(
            "smoke", "--ws", f"ws://127.0.0.1:{port}/prod", "--rest", f"http://127.0.0.1:{port}",
            "--token", tokens["server"], "--admin-token", tokens["admin"], env=env,
        )  # fmt: skip
    assert code == 0, out
    assert "FAIL" not in out and "smoke: 8 passed, 0 failed" in out, out


@pytest.fixture
async def runtime(database_dsn: str, settings: Settings) -> AsyncIterator[LocalRuntime]:
    async with LocalRuntime(settings, dsn=database_dsn, mounts=[mount_rest]) as rt:
        yield rt


def _token(settings: Settings, role: str) -> str:
    assert settings.jwt_secret is not None
    return mint_token(secret=settings.jwt_secret, player_id=None, role=role,
                      issuer=settings.jwt_issuer, audience=settings.jwt_audience, ttl_s=600,
                      subject=f"smoke-{role}")  # fmt: skip


async def test_smoke_fails_on_a_mismatch(runtime: LocalRuntime, settings: Settings) -> None:
    """On a board where the fresh high score cannot rank first (ascending), the run stops at
    the submit check and reports failure."""
    await runtime.store.create_board(BoardSpec(id="laps", order=SortOrder.ASC))
    await runtime.store.submit("laps", [ScoreInput("fast", 1)])
    lines: list[str] = []
    report = await smoke(
        SmokeTarget(ws_url=runtime.ws_url, rest_url=runtime.http_url,
                    token=_token(settings, "server"), board="laps", timeout_s=20),
        out=lines.append,
    )  # fmt: skip
    assert not report.ok
    assert lines[-1].startswith("FAIL submit"), lines


async def test_smoke_fails_without_the_board_or_a_valid_token(
    runtime: LocalRuntime, settings: Settings
) -> None:
    """A missing board (and no admin token) fails; so does a token the API refuses."""
    report = await smoke(
        SmokeTarget(ws_url=runtime.ws_url, rest_url=runtime.http_url,
                    token=_token(settings, "server"), board="nowhere", timeout_s=10),
        out=lambda _: None,
    )  # fmt: skip
    assert not report.ok and report.checks[-1][0] == "board"
    report = await smoke(
        SmokeTarget(ws_url=runtime.ws_url, rest_url=runtime.http_url, token="not-a-jwt",
                    timeout_s=10),
        out=lambda _: None,
    )  # fmt: skip
    assert not report.ok
