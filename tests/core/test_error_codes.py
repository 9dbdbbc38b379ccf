"""The catalogue of error codes (core.errors.CODES) is complete, consistent and documented."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import core.errors as errors
from core import ids
from core.errors import CODES, BadRequest, LeaderboardError
from db.errors import _BY_SQLSTATE, _CODES

ROOT = Path(__file__).resolve().parents[2]
SERVICE_PACKAGES = ("core", "db", "aws", "connect", "broadcast", "rest", "authorizer", "runtime")
ERROR_CLASSES = {
    name: cls
    for name, cls in vars(errors).items()
    if isinstance(cls, type) and issubclass(cls, LeaderboardError)
}


def raised_codes() -> list[tuple[str, str, str]]:
    """Every ``SomeError(..., code="literal")`` in the service: (class, code, where)."""
    found = []
    for package in SERVICE_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                for kw in node.keywords:
                    if kw.arg == "code" and isinstance(kw.value, ast.Constant):
                        where = f"{path.relative_to(ROOT)}:{node.lineno}"
                        found.append((name, str(kw.value.value), where))
    return found


def test_every_raised_code_is_catalogued_with_its_class() -> None:
    """A code raised anywhere in the service is in CODES, raised with the catalogue's class."""
    raised = raised_codes()
    assert len(raised) > 50
    for name, code, where in raised:
        assert code in CODES, f"{where}: code {code!r} is not in core.errors.CODES"
        kind = ERROR_CLASSES.get(name)
        if kind is not None:
            assert kind is CODES[code].kind, (
                f"{where}: {code!r} raised as {name}, catalogued as {CODES[code].kind.__name__}"
            )


def test_default_codes_and_database_codes_are_catalogued() -> None:
    """Each class's default code, and each code the database errors map to, is in CODES."""
    for cls in ERROR_CLASSES.values():
        assert cls.code in CODES, cls
    for state, code in _CODES.items():
        assert CODES[code].kind is _BY_SQLSTATE[state], state


@pytest.mark.parametrize("check", [ids.board_id, ids.player_id, ids.season_id, ids.submission_id])
def test_id_validation_codes_are_catalogued(check: object) -> None:
    """The invalid-id codes built from each id's name are catalogued as bad requests."""
    with pytest.raises(BadRequest) as info:
        check("not valid!" * 20)  # type: ignore[operator]
    assert CODES[info.value.code].kind is BadRequest


def test_the_docs_list_every_code_with_its_status() -> None:
    """docs/errors.md has one row per code, with its status and retryability, and no other."""
    text = (ROOT / "docs" / "errors.md").read_text()
    rows = dict(
        (m[1], (int(m[2]), m[3]))
        for m in re.finditer(r"^\| `(\w+)` \| (\d+) \| (\w+) \|", text, re.M)
    )
    assert set(rows) == set(CODES)
    for code, entry in CODES.items():
        assert rows[code] == (entry.status, "yes" if entry.retryable else "no"), code
