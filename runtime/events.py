"""The events API Gateway hands to the WebSocket authorizer and routes, built locally.

Pure functions over what the front door observed (:class:`Handshake`) and the stage it
emulates (:class:`ApiStage`); each returns a dict in exactly the shape AWS delivers
(recorded in ``tests/fixtures/aws-events/``):

- :func:`authorizer_event`: the REQUEST authorizer event on ``$connect``,
- :func:`connect_event`, :func:`message_event`, :func:`disconnect_event`: the route events,
  which carry ``requestContext.authorizer`` once the authorizer allowed the connection.

:func:`route_key_for` is API Gateway's route selection on ``$request.body.action``.
Ids (connection, request, message) look like API Gateway's: 16 url-safe base64
characters ending in ``=``.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from core.protocol import ACTIONS

ACCOUNT_ID: Final = "000000000000"
LOCAL_API_ID: Final = "local00000"
DEFAULT_ROUTE: Final = "$default"

Pairs = Sequence[tuple[str, str]]


def new_id() -> str:
    """An id shaped like API Gateway's connection, request and message ids."""
    return base64.urlsafe_b64encode(os.urandom(11)).decode()


def new_connection_id(prefix: str = "") -> str:
    """A connection id shaped like API Gateway's (:func:`new_id`) that starts with
    ``prefix`` (at most 8 of ``[A-Za-z0-9_-]``): the runtime process that minted it."""
    if not prefix:
        return new_id()
    rest = base64.urlsafe_b64encode(os.urandom(12)).decode()[: 15 - len(prefix)]
    return f"{prefix}{rest}="


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def request_time(epoch_ms: int) -> str:
    """``requestTime`` as API Gateway writes it: ``11/Nov/2024:13:45:46 +0000``."""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


@dataclass(frozen=True, slots=True)
class ApiStage:
    """The API and stage the local front door pretends to be."""

    api_id: str
    region: str
    stage: str

    def method_arn(self, route_key: str) -> str:
        return (
            f"arn:aws:execute-api:{self.region}:{ACCOUNT_ID}:{self.api_id}/{self.stage}/{route_key}"
        )


@dataclass(frozen=True, slots=True)
class Handshake:
    """What the front door saw on the upgrade request, as API Gateway forwards it."""

    connection_id: str
    domain_name: str
    source_ip: str
    user_agent: str
    headers: Pairs
    query: Pairs
    connected_at: int

    @property
    def token(self) -> str | None:
        """The identity source ``route.request.querystring.token``; None when absent or empty."""
        values = [v for k, v in self.query if k == "token"]
        return values[0] if values and values[0] else None


def single_and_multi(
    pairs: Iterable[tuple[str, str]],
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """API Gateway's two views of repeated names: the last value, and every value in order."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def _context(
    api: ApiStage,
    hs: Handshake,
    *,
    route_key: str,
    event_type: str,
    at: int,
    authorizer: Mapping[str, Any] | None,
) -> dict[str, Any]:
    request_id = new_id()
    ctx: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": request_time(at),
        "messageDirection": "IN",
        "stage": api.stage,
        "connectedAt": hs.connected_at,
        "requestTimeEpoch": at,
        "identity": {"sourceIp": hs.source_ip, "userAgent": hs.user_agent},
        "requestId": request_id,
        "domainName": hs.domain_name,
        "connectionId": hs.connection_id,
        "apiId": api.api_id,
    }
    if authorizer is not None:
        ctx["authorizer"] = dict(authorizer)
    return ctx


def _query_views(hs: Handshake) -> dict[str, Any]:
    single, multi = single_and_multi(hs.query)
    return {"queryStringParameters": single, "multiValueQueryStringParameters": multi}


def authorizer_event(api: ApiStage, hs: Handshake, *, at: int) -> dict[str, Any]:
    """The REQUEST authorizer event of a ``$connect`` (shape: websocket-authorizer-request)."""
    headers, multi_headers = single_and_multi(hs.headers)
    ctx = _context(api, hs, route_key="$connect", event_type="CONNECT", at=at, authorizer=None)
    return {
        "type": "REQUEST",
        "methodArn": api.method_arn("$connect"),
        "headers": headers,
        "multiValueHeaders": multi_headers,
        **_query_views(hs),
        "stageVariables": {},
        "requestContext": ctx,
    }


def connect_event(
    api: ApiStage, hs: Handshake, *, authorizer: Mapping[str, Any], at: int
) -> dict[str, Any]:
    """The ``$connect`` route event (shape: websocket-connect)."""
    headers, multi_headers = single_and_multi(hs.headers)
    event: dict[str, Any] = {"headers": headers, "multiValueHeaders": multi_headers}
    if hs.query:
        event.update(_query_views(hs))
    event["requestContext"] = _context(
        api, hs, route_key="$connect", event_type="CONNECT", at=at, authorizer=authorizer
    )
    event["isBase64Encoded"] = False
    return event


def message_event(
    api: ApiStage,
    hs: Handshake,
    *,
    authorizer: Mapping[str, Any],
    route_key: str,
    body: str,
    is_base64: bool,
    at: int,
) -> dict[str, Any]:
    """A message route event (shape: websocket-message); ``body`` is always a string."""
    ctx = _context(api, hs, route_key=route_key, event_type="MESSAGE", at=at, authorizer=authorizer)
    return {
        "requestContext": {"routeKey": route_key, "messageId": new_id(), **ctx},
        "body": body,
        "isBase64Encoded": is_base64,
    }


def disconnect_event(
    api: ApiStage,
    hs: Handshake,
    *,
    authorizer: Mapping[str, Any],
    status_code: int,
    reason: str,
    at: int,
) -> dict[str, Any]:
    """The ``$disconnect`` route event (shape: websocket-disconnect)."""
    headers = {"Host": hs.domain_name, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
    ctx = _context(
        api, hs, route_key="$disconnect", event_type="DISCONNECT", at=at, authorizer=authorizer
    )
    return {
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "requestContext": {
            "routeKey": "$disconnect",
            "disconnectStatusCode": status_code,
            "disconnectReason": reason,
            **ctx,
        },
        "isBase64Encoded": False,
    }


def route_key_for(body: str, routes: Iterable[str] = ACTIONS) -> str:
    """API Gateway's selection on ``$request.body.action``: the action if it names a route.

    A body that is not a JSON object, or whose ``action`` is missing, not a string or
    names no route, goes to ``$default``.
    """
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return DEFAULT_ROUTE
    action = data.get("action") if isinstance(data, dict) else None
    return action if isinstance(action, str) and action in set(routes) else DEFAULT_ROUTE
