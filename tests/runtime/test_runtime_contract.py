"""Small promises of the local runtime: /metrics for admins, malformed requests logged as
client errors, and the token command for every role."""

from __future__ import annotations

import asyncio
import logging
import shlex
from pathlib import Path

import aiohttp
import pytest

from authorizer.tokens import TokenVerifier
from core.auth import Role
from core.settings import Settings
from runtime.app import LocalRuntime
from runtime.cli import dev_secret, main, more_tokens_hint
from tests.runtime.gateway_support import token


async def test_metrics_answer_only_an_admin_token(runtime: LocalRuntime) -> None:
    """GET /metrics is 401 without a token, 403 for a player and 200 for an admin."""
    s = runtime.settings
    async with aiohttp.ClientSession() as http:
        url = f"{runtime.http_url}/metrics"
        async with http.get(url) as anonymous:
            assert anonymous.status == 401
            assert (await anonymous.json(content_type=None))["code"] == "missing_token"
        bad = {"Authorization": "Bearer not-a-jwt"}
        async with http.get(url, headers=bad) as forged:
            assert forged.status == 401
        player = {"Authorization": f"Bearer {token(s, 'alice')}"}
        async with http.get(url, headers=player) as refused:
            assert refused.status == 403
            assert (await refused.json(content_type=None))["code"] == "role_not_allowed"
        admin = {"Authorization": f"Bearer {token(s, None, role='admin', subject='ops')}"}
        async with http.get(url, headers=admin) as allowed:
            assert allowed.status == 200
            assert "connections" in await allowed.json()


async def _raw_request(port: int, head: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        await writer.drain()
        return await asyncio.wait_for(reader.read(200), 10)
    finally:
        writer.close()


async def test_over_long_request_lines_are_400_and_logged_as_client_errors(
    runtime: LocalRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    """A 70 KB token in the query or a header, or a 20 KB query, gets 400 and one warning
    line: no ERROR and no traceback."""
    heads = [
        b"GET /prod?token=" + b"t" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /v1/boards?" + b"q=" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + b"t" * 70_000 + b"\r\n\r\n",
    ]
    with caplog.at_level(logging.INFO):
        for head in heads:
            answer = await _raw_request(runtime.port, head)
            assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n")[0]
    mine = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert len(mine) == len(heads)
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in mine)
    assert all("client error 400" in r.getMessage() for r in mine)


@pytest.mark.parametrize("role", ["server", "spectator", "admin", "player"])
def test_the_token_command_mints_every_role_without_a_player(
    role: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`leaderboard token --role X` works without --player and mints a token of that role."""
    monkeypatch.delenv("LEADERBOARD_JWT_SECRET", raising=False)
    assert main(["--data-dir", str(tmp_path), "token", "--role", role]) == 0
    tok = capsys.readouterr().out.strip()
    verifier = TokenVerifier(settings=Settings(jwt_secret=dev_secret(tmp_path)))  # type: ignore[arg-type]
    assert verifier.verify(tok).role is Role(role)


def test_the_up_hint_mints_tokens_for_its_own_data_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command `leaderboard up` prints for more tokens names its data dir, so the tokens
    it mints verify against that service's secret."""
    monkeypatch.delenv("LEADERBOARD_JWT_SECRET", raising=False)
    data_dir = tmp_path / "my data"
    hint = more_tokens_hint(data_dir)
    argv = shlex.split(hint.split(" (")[0])
    assert argv[0] == "leaderboard"
    assert main(argv[1:]) == 0
    tok = capsys.readouterr().out.strip()
    verifier = TokenVerifier(settings=Settings(jwt_secret=dev_secret(data_dir)))  # type: ignore[arg-type]
    principal = verifier.verify(tok)
    assert (principal.role, principal.player_id) == (Role.PLAYER, "alice")
