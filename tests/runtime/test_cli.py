"""The ``leaderboard`` command's token minting and the hint ``leaderboard up`` prints."""

from __future__ import annotations

import shlex
from pathlib import Path

import jwt
import pytest

from runtime.cli import dev_secret, main, more_tokens_hint


@pytest.mark.parametrize("role", ["server", "spectator", "admin"])
def test_token_for_a_role_needs_no_player(
    role: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`leaderboard token --role server` (spectator, admin) prints a valid token of that
    role, with no player, instead of crashing."""
    monkeypatch.delenv("LEADERBOARD_JWT_SECRET", raising=False)
    assert main(["--data-dir", str(tmp_path), "token", "--role", role]) == 0
    token = capsys.readouterr().out.strip()
    claims = jwt.decode(token, dev_secret(tmp_path), algorithms=["HS256"], audience="leaderboard")
    assert claims["role"] == role and claims["sub"] == f"dev-{role}"
    assert "player_id" not in claims


def test_the_hint_for_more_tokens_names_the_data_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The printed command mints tokens with the running service's secret, from anywhere."""
    monkeypatch.delenv("LEADERBOARD_JWT_SECRET", raising=False)
    data_dir = tmp_path / "my data"
    hint = more_tokens_hint(data_dir)
    args = shlex.split(hint.split(" (")[0])
    assert args[:3] == ["leaderboard", "--data-dir", str(data_dir.resolve())]
    monkeypatch.chdir(tmp_path.parent)
    assert main(args[1:]) == 0
    token = capsys.readouterr().out.strip()
    claims = jwt.decode(token, dev_secret(data_dir), algorithms=["HS256"], audience="leaderboard")
    assert claims["player_id"] == "alice"
