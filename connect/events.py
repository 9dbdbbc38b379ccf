"""A typed, read-only view of an API Gateway WebSocket event (``$connect``, messages,
``$disconnect``). Nothing past this module reads ``event[...]`` directly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.auth import Principal
from core.errors import BadRequest
from core.ids import ConnectionId


@dataclass(frozen=True)
class WebSocketEvent:
    route_key: str
    event_type: str
    connection_id: ConnectionId
    domain_name: str
    stage: str
    api_id: str
    connected_at: int
    request_time_epoch: int
    message_id: str | None
    body: str | None
    is_base64: bool
    authorizer: Mapping[str, Any]
    source_ip: str | None

    @classmethod
    def parse(cls, event: Mapping[str, Any]) -> WebSocketEvent:
        ctx = event.get("requestContext")
        if not isinstance(ctx, Mapping) or "connectionId" not in ctx:
            raise BadRequest("not an API Gateway WebSocket event", code="bad_event")
        identity = ctx.get("identity") or {}
        body = event.get("body")
        return cls(
            route_key=str(ctx.get("routeKey", "")),
            event_type=str(ctx.get("eventType", "")),
            connection_id=ConnectionId(str(ctx["connectionId"])),
            domain_name=str(ctx.get("domainName", "")),
            stage=str(ctx.get("stage", "")),
            api_id=str(ctx.get("apiId", "")),
            connected_at=int(ctx.get("connectedAt") or 0),
            request_time_epoch=int(ctx.get("requestTimeEpoch") or 0),
            message_id=ctx.get("messageId"),
            body=body if isinstance(body, str) else None,
            is_base64=bool(event.get("isBase64Encoded")),
            authorizer=ctx.get("authorizer") or {},
            source_ip=identity.get("sourceIp") if isinstance(identity, Mapping) else None,
        )

    def principal(self) -> Principal:
        """The caller, from the authorizer context API Gateway attached at ``$connect``."""
        return Principal.from_authorizer_context(self.authorizer)
