"""Unmodified boto3 ``apigatewaymanagementapi`` code against the local ``@connections``."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import boto3
import pytest
from botocore.config import Config
from websockets.exceptions import ConnectionClosed

from runtime.app import LocalRuntime
from tests.runtime.gateway_support import counts, eventually, open_ws, token


def client(endpoint_url: str) -> Any:
    """A boto3 client with dummy credentials; it signs every request with SigV4."""
    return boto3.client(
        "apigatewaymanagementapi", endpoint_url=endpoint_url, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, proxies={}),
    )  # fmt: skip


async def only_connection(rt: LocalRuntime) -> str:
    await eventually(lambda: _has_one(rt))
    return next(iter(rt.sender)).connection_id


async def _has_one(rt: LocalRuntime) -> bool:
    return len(rt.sender) == 1


async def test_post_to_connection_reaches_the_client(runtime: LocalRuntime) -> None:
    """post_to_connection delivers the bytes to the client as one text frame."""
    api = client(runtime.management_url)
    async with open_ws(runtime.ws_url, token(runtime.settings)) as ws:
        cid = await only_connection(runtime)
        await asyncio.to_thread(api.post_to_connection, ConnectionId=cid, Data=b'{"hello": 1}')
        assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"hello": 1}


async def test_post_of_non_utf8_bytes_arrives_as_a_binary_frame(runtime: LocalRuntime) -> None:
    """Data that is not UTF-8 is delivered as a binary frame."""
    api = client(runtime.management_url)
    async with open_ws(runtime.ws_url, token(runtime.settings)) as ws:
        cid = await only_connection(runtime)
        await asyncio.to_thread(api.post_to_connection, ConnectionId=cid, Data=b"\xff\x00")
        assert await asyncio.wait_for(ws.recv(), 10) == b"\xff\x00"


async def test_get_connection_returns_its_info(runtime: LocalRuntime) -> None:
    """get_connection returns ConnectedAt, LastActiveAt and the client's IP and user agent."""
    api = client(runtime.management_url)
    async with open_ws(
        runtime.ws_url, token(runtime.settings), user_agent_header="lb-test/1"
    ) as ws:
        await ws.send("{}")
        await ws.recv()
        cid = await only_connection(runtime)
        info = await asyncio.to_thread(api.get_connection, ConnectionId=cid)
    now = datetime.now(UTC)
    assert info["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "lb-test/1"}
    assert now - timedelta(seconds=30) < info["ConnectedAt"] <= info["LastActiveAt"] <= now


async def test_delete_connection_closes_it_and_runs_disconnect(runtime: LocalRuntime) -> None:
    """delete_connection closes the socket and $disconnect deletes the connection row."""
    api = client(runtime.management_url)
    async with open_ws(runtime.ws_url, token(runtime.settings)) as ws:
        cid = await only_connection(runtime)
        await asyncio.to_thread(api.delete_connection, ConnectionId=cid)
        assert (await counts(runtime.store.pool))["connections"] == 0
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
    with pytest.raises(api.exceptions.GoneException):
        await asyncio.to_thread(api.get_connection, ConnectionId=cid)


@pytest.mark.parametrize("operation", ["post_to_connection", "get_connection",
                                       "delete_connection"])  # fmt: skip
async def test_unknown_connections_are_gone(runtime: LocalRuntime, operation: str) -> None:
    """Every operation on an unknown connection id raises GoneException (410)."""
    api = client(runtime.management_url)
    kwargs: dict[str, Any] = {"ConnectionId": "AAAAAAAAAAAAAAA="}
    if operation == "post_to_connection":
        kwargs["Data"] = b"x"
    with pytest.raises(api.exceptions.GoneException) as info:
        await asyncio.to_thread(getattr(api, operation), **kwargs)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410


async def test_posting_to_a_closed_connection_is_gone(runtime: LocalRuntime) -> None:
    """After the client leaves, post_to_connection raises GoneException."""
    api = client(runtime.management_url)
    async with open_ws(runtime.ws_url, token(runtime.settings)):
        cid = await only_connection(runtime)
    await eventually(lambda: _none(runtime))
    with pytest.raises(api.exceptions.GoneException):
        await asyncio.to_thread(api.post_to_connection, ConnectionId=cid, Data=b"late")


async def _none(rt: LocalRuntime) -> bool:
    return len(rt.sender) == 0


async def test_the_unstaged_endpoint_also_answers(runtime: LocalRuntime) -> None:
    """boto3 pointed at the bare host (no stage) reaches /@connections too."""
    api = client(runtime.http_url)
    async with open_ws(runtime.ws_url, token(runtime.settings)) as ws:
        cid = await only_connection(runtime)
        await asyncio.to_thread(api.post_to_connection, ConnectionId=cid, Data=b"hi")
        assert await asyncio.wait_for(ws.recv(), 10) == "hi"


async def test_oversized_posts_are_refused_with_413(runtime: LocalRuntime) -> None:
    """Data over the 128 KB message limit raises PayloadTooLargeException and is not sent."""
    api = client(runtime.management_url)
    async with open_ws(runtime.ws_url, token(runtime.settings)):
        cid = await only_connection(runtime)
        data = b"x" * (runtime.settings.max_message_bytes + 1)
        with pytest.raises(api.exceptions.PayloadTooLargeException):
            await asyncio.to_thread(api.post_to_connection, ConnectionId=cid, Data=data)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer abc", "X-Amz-Date": "20240101T000000Z"},
        {
            "Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
            "X-Amz-Date": "20240101T000000Z",
        },
        {
            "Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/execute-api/"
            "aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
        },
    ],
    ids=["no-authorization", "not-sigv4", "wrong-service", "no-amz-date"],
)
async def test_unsigned_requests_are_forbidden(
    runtime: LocalRuntime, headers: dict[str, str]
) -> None:
    """A request without a SigV4-shaped Authorization gets 403 ForbiddenException; nothing sent."""
    async with open_ws(runtime.ws_url, token(runtime.settings)) as ws:
        cid = await only_connection(runtime)
        async with aiohttp.ClientSession() as http:
            for method in ("POST", "GET", "DELETE"):
                async with http.request(method, f"{runtime.management_url}/@connections/{cid}",
                                        data=b"sneaky", headers=headers) as resp:  # fmt: skip
                    assert resp.status == 403
                    assert resp.headers["x-amzn-ErrorType"] == "ForbiddenException"
                    assert (await resp.json())["message"]
        await (await ws.ping())
        assert len(runtime.sender) == 1
        assert (await counts(runtime.store.pool))["connections"] == 1
