"""Shared by the tests of the ``@connections`` client and of sharded fan-outs: the client
pointed at a local endpoint, and real WebSocket clients of a local runtime."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any, Final

from botocore.credentials import Credentials
from websockets.asyncio.client import ClientConnection

from aws.connections import ConnectionsApiSender
from core.ids import ConnectionId
from runtime.app import LocalRuntime
from tests.runtime.gateway_support import eventually, open_ws, token

CREDENTIALS: Final = Credentials("test", "test")
REGION: Final = "eu-west-1"


def sender_for(endpoint_url: str, **kwargs: Any) -> ConnectionsApiSender:
    return ConnectionsApiSender(
        endpoint_url=endpoint_url, region=REGION, credentials=CREDENTIALS, **kwargs
    )


@contextlib.asynccontextmanager
async def clients(rt: LocalRuntime, n: int) -> AsyncIterator[dict[ConnectionId, ClientConnection]]:
    """``n`` real WebSocket clients connected to ``rt``, by connection id (each learns its
    id from one frame the runtime's own in-process sender writes to it)."""
    async with contextlib.AsyncExitStack() as stack:
        sockets = await asyncio.gather(
            *(stack.enter_async_context(open_ws(rt.ws_url, token(rt.settings, f"p{i}")))
              for i in range(n))
        )  # fmt: skip
        await eventually(lambda: has_connections(rt, n))
        assert await rt.sender.send_many([(cid, cid) for cid in ids(rt)]) == []
        own = await asyncio.gather(*(asyncio.wait_for(ws.recv(), 10) for ws in sockets))
        yield {ConnectionId(str(cid)): ws for cid, ws in zip(own, sockets, strict=True)}


async def has_connections(rt: LocalRuntime, n: int) -> bool:
    return len(rt.sender) == n


def ids(rt: LocalRuntime) -> list[ConnectionId]:
    return [c.connection_id for c in rt.sender]


async def next_frame(ws: ClientConnection) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), 10))
