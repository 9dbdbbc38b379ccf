"""Small promises of the local runtime: /metrics for admins, malformed requests logged as
client errors, and the token command for every role."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest

from runtime.app import LocalRuntime
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
