"""The send-to-connection port, and its API Gateway Management API adapter.

Every reply and error frame goes through a :class:`Sender`. On AWS that is
:class:`ManagementApiSender` (boto3 ``apigatewaymanagementapi``, SigV4); the local runtime
supplies an in-process adapter that writes frames directly. The broadcaster has its own
concurrent fan-out adapter (``broadcast.fanout``) behind the same port.

The endpoint is built from apiId, region and stage, never from ``domainName``, which is
the custom name under a custom domain and does not serve ``@connections``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

from core.errors import ConnectionGone
from core.ids import ConnectionId


class Sender(Protocol):
    """Posts frames to WebSocket connections."""

    async def send(self, connection_id: ConnectionId, data: str) -> None:
        """Deliver one frame; raises ConnectionGone if the connection no longer exists."""

    async def send_many(self, frames: Sequence[tuple[ConnectionId, str]]) -> list[ConnectionId]:
        """Deliver many frames concurrently; returns the connections found gone."""


def management_endpoint(api_id: str, region: str, stage: str) -> str:
    """The @connections endpoint of a WebSocket API stage."""
    return f"https://{api_id}.execute-api.{region}.amazonaws.com/{stage}"


class ManagementApiSender:
    """The @connections adapter over boto3 (blocking calls run in worker threads)."""

    def __init__(self, *, endpoint_url: str, region: str, client: Any | None = None) -> None:
        if client is None:
            import boto3

            client = boto3.client(
                "apigatewaymanagementapi", endpoint_url=endpoint_url, region_name=region
            )
        self.client = client

    def _post(self, connection_id: str, data: str) -> None:
        try:
            self.client.post_to_connection(ConnectionId=connection_id, Data=data.encode())
        except self.client.exceptions.GoneException as exc:
            raise ConnectionGone(f"connection {connection_id!r} is gone") from exc

    async def send(self, connection_id: ConnectionId, data: str) -> None:
        await asyncio.to_thread(self._post, connection_id, data)

    async def send_many(self, frames: Sequence[tuple[ConnectionId, str]]) -> list[ConnectionId]:
        results = await asyncio.gather(
            *(self.send(cid, data) for cid, data in frames), return_exceptions=True
        )
        gone = []
        for (cid, _), result in zip(frames, results, strict=True):
            if isinstance(result, ConnectionGone):
                gone.append(cid)
            elif isinstance(result, BaseException):
                raise result
        return gone
