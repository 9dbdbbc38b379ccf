"""Cold starts: what importing each Lambda entry module loads before its first event."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Final

import pytest

from bench.imports import LAMBDA_MODULES

DEFERRED: Final = ("asyncpg", "pydantic_settings", "boto3", "botocore", "aiohttp")
"""Loaded on the first invocation that needs them (a pool, the settings, an AWS adapter),
never by the import that every cold start pays before its first event."""


def _loaded_after_import(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


@pytest.mark.parametrize("module", LAMBDA_MODULES)
def test_an_entry_module_imports_without_the_driver_the_settings_or_the_aws_sdk(
    module: str,
) -> None:
    """Importing a handler module, as a cold Lambda does before its first event, loads no
    database driver, settings loader, AWS SDK or HTTP client: each waits for its first use."""
    loaded = _loaded_after_import(module)
    assert module in loaded
    assert sorted(name for name in DEFERRED if name in loaded) == []


def test_the_driver_loads_on_first_use_and_translates_its_errors() -> None:
    """A database error raised after the deferred import still becomes a typed, retryable
    service error (the error tree does not depend on asyncpg being loaded at import)."""
    code = (
        "import asyncpg, json; from db.errors import as_service_error;"
        "e = as_service_error(asyncpg.InterfaceError('gone'));"
        "print(json.dumps([type(e).__name__, e.code]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == ["Unavailable", "database_unreachable"]


def test_wire_models_are_built_by_the_first_request_that_uses_them() -> None:
    """No wire model's validator is built at import; a first submit is parsed and leaves
    the REST models unbuilt (each route builds what it uses, once)."""
    code = """
import inspect, json, sys
import connect.handler, rest.handler
from pydantic import BaseModel
from core.protocol import parse_client_message

def built():
    return sorted(
        f"{name}.{cls.__name__}"
        for name in ("core.protocol", "core.auth", "rest.models")
        for _, cls in inspect.getmembers(sys.modules[name], inspect.isclass)
        if issubclass(cls, BaseModel) and cls.__module__ == name and cls.__pydantic_complete__
    )

at_import = built()
message = parse_client_message(
    '{"action": "submit", "board": "b", "score": 5}', max_bytes=32768
)
print(json.dumps([at_import, built(), type(message).__name__]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    at_import, after_submit, parsed = json.loads(out.stdout)
    assert at_import == []
    assert parsed == "SubmitMessage"
    assert not [name for name in after_submit if name.startswith("rest.models.")]
