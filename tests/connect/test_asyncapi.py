"""The AsyncAPI 3.0 document of the WebSocket API: generated from the wire models,
accepted by the AsyncAPI parser, committed under docs/ as generated, served by the
runtime without a token."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from connect.asyncapi import asyncapi_document, dumps
from core.errors import CODES, Unavailable
from core.protocol import (
    AckFrame,
    AckResult,
    ErrorFrame,
    SnapshotFrame,
    UnsubscribedFrame,
    UpdateFrame,
    ViewEntry,
)
from core.settings import Settings
from runtime.app import LocalRuntime
from runtime.asyncapi import mount_asyncapi

ROOT = Path(__file__).resolve().parents[2]


def _refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_every_reference_resolves() -> None:
    """Every $ref (schemas, messages, channels, correlation ids) points into the document."""
    doc = asyncapi_document()
    refs = set(_refs(doc))
    assert refs
    for ref in refs:
        _resolve(doc, ref)


def test_every_client_message_is_received_with_its_reply() -> None:
    """submit, subscribe and unsubscribe are operations the service receives, each with a
    reply of its frame or an error, correlated by request_id."""
    doc = asyncapi_document()
    assert doc["asyncapi"] == "3.0.0"
    for action, reply in (("submit", "ack"), ("subscribe", "snapshot"),
                          ("unsubscribe", "unsubscribed")):  # fmt: skip
        op = doc["operations"][action]
        assert op["action"] == "receive"
        replies = [r["$ref"].rsplit("/", 1)[1] for r in op["reply"]["messages"]]
        assert replies == [reply, "error"]
        message = doc["components"]["messages"][action]
        assert message["correlationId"] == {"$ref": "#/components/correlationIds/requestId"}
        schema = _resolve(doc, message["payload"]["$ref"])
        assert schema["properties"]["action"]["const"] == action
    assert doc["operations"]["update"]["action"] == "send"


def test_the_error_code_schema_is_the_catalogue() -> None:
    """ErrorCode lists every code of core.errors.CODES with its status, retryability and kind."""
    doc = asyncapi_document()
    options = doc["components"]["schemas"]["ErrorCode"]["oneOf"]
    assert [o["const"] for o in options] == list(CODES)
    for option in options:
        entry = CODES[option["const"]]
        assert (option["x-status"], option["x-retryable"], option["x-kind"]) == (
            entry.status, entry.retryable, entry.kind.__name__,
        )  # fmt: skip
        assert option["x-kind"] in doc["x-error-kinds"]
    kinds = doc["x-error-kinds"]
    assert all(k["parent"] is None or k["parent"] in kinds for k in kinds.values())


def _check_dumped(doc: dict[str, Any], schema_name: str, value: dict[str, Any]) -> None:
    schema = doc["components"]["schemas"][schema_name]
    assert set(schema.get("required", [])) <= set(value), (schema_name, value)
    assert set(value) <= set(schema["properties"]), (schema_name, value)
    for name, item in value.items():
        prop = schema["properties"][name]
        assert item is not None, (schema_name, name)
        if "$ref" in prop and isinstance(item, dict):
            _check_dumped(doc, prop["$ref"].rsplit("/", 1)[1], item)
        if prop.get("type") == "array" and "$ref" in prop.get("items", {}):
            for element in item:
                _check_dumped(doc, prop["items"]["$ref"].rsplit("/", 1)[1], element)


def test_frames_as_the_service_dumps_them_match_their_schemas() -> None:
    """Dumped frames (None fields absent) carry every required field and nothing unknown;
    an error frame's body (with retry_after_ms) fits ErrorBody."""
    doc = asyncapi_document()
    entry = ViewEntry(player="a", score=5, rank=1, display_rank=1, percentile=100.0, tier="Gold")
    frames = [
        AckFrame(
            board="arena",
            seq=7,
            results=[AckResult(player="a", score=5, rank=None, total=None, improved=False)],
        ),
        SnapshotFrame(view_id="me:arena:s1", board="arena", season="s1", view="me", seq=3, total=1),
        UpdateFrame(
            view_id="top:arena:s1:3",
            board="arena",
            season="s1",
            view="top",
            seq=4,
            prev_seq=3,
            total=1,
            entries=[entry],
            me=entry,
        ),
        UnsubscribedFrame(request_id="r1", view_id="top:arena:s1:3"),
        ErrorFrame.of(Unavailable("down", code="database_unreachable"), request_id="r2"),
    ]
    for frame in frames:
        _check_dumped(doc, type(frame).__name__, json.loads(frame.dump()))
    body = {"code": "unavailable", "status": 503, "message": "busy", "retry_after_ms": 250}
    _check_dumped(doc, "ErrorBody", body)
    assert doc["components"]["schemas"]["ErrorFrame"]["required"] == ["type", "error"]


def test_the_asyncapi_parser_accepts_the_document(tmp_path: Path) -> None:
    """npm's @asyncapi/parser parses the generated document with no error or warning."""
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "node is not installed: the AsyncAPI parser runs on Node (apt-get install nodejs npm)"
        )
    if not (ROOT / "node_modules" / "@asyncapi" / "parser").is_dir():
        pytest.fail("@asyncapi/parser is not installed: run `npm ci` at the repository root")
    path = tmp_path / "asyncapi.json"
    path.write_text(dumps(asyncapi_document()))
    run = subprocess.run(
        [node, str(ROOT / "scripts" / "validate-asyncapi.mjs"), str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "parsed AsyncAPI 3.0.0" in run.stdout


def test_the_committed_contracts_are_what_the_code_generates() -> None:
    """docs/openapi.json and docs/asyncapi.json equal the generated documents (else run
    scripts/contracts.py)."""
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "contracts.py"), "--check"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr


async def test_the_runtime_serves_the_document_without_a_token(
    database_dsn: str, settings: Settings
) -> None:
    """GET /asyncapi.json answers the generated document with an ETag, and 304 on a match."""
    async with (
        LocalRuntime(settings, dsn=database_dsn, mounts=[mount_asyncapi], broadcast=False) as rt,
        aiohttp.ClientSession() as http,
    ):
        async with http.get(f"{rt.http_url}/asyncapi.json") as r:
            assert r.status == 200 and r.content_type == "application/json"
            assert await r.json() == asyncapi_document()
            etag = r.headers["ETag"]
        async with http.get(f"{rt.http_url}/asyncapi.json", headers={"If-None-Match": etag}) as r:
            assert r.status == 304
