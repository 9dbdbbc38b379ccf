"""The locally built API Gateway events match the recorded shapes, and routing matches AWS."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from authorizer.request import AuthorizerRequest
from connect.events import WebSocketEvent
from runtime.events import (
    ApiStage,
    Handshake,
    authorizer_event,
    connect_event,
    disconnect_event,
    message_event,
    new_id,
    request_time,
    route_key_for,
)
from runtime.policy import Verdict, connect_verdict

EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "aws-events"
API = ApiStage(api_id="local00000", region="us-east-1", stage="prod")
AUTH = {"sub": "alice", "playerId": "alice", "role": "player", "principalId": "alice",
        "integrationLatency": 3}  # fmt: skip


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return data


def handshake(query: list[tuple[str, str]] | None = None) -> Handshake:
    return Handshake(
        connection_id=new_id(), domain_name="127.0.0.1:8080", source_ip="127.0.0.1",
        user_agent="test-agent", headers=[("Host", "127.0.0.1:8080"), ("Upgrade", "websocket")],
        query=query if query is not None else [("token", "abc.def.ghi")], connected_at=1731332735513,
    )  # fmt: skip


def keys(d: dict[str, Any]) -> set[str]:
    return set(d)


def test_ids_look_like_api_gateway_ids() -> None:
    """Connection, request and message ids are 16 url-safe base64 characters ending in '='."""
    ids = {new_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{15}=", i) for i in ids)


def test_request_time_uses_api_gateway_format() -> None:
    """requestTime reads like 11/Nov/2024:13:45:46 +0000."""
    assert request_time(1731332746514) == "11/Nov/2024:13:45:46 +0000"


def test_the_authorizer_event_has_the_recorded_shape() -> None:
    """The REQUEST authorizer event has every key of the recorded one, and the $connect ARN."""
    event = authorizer_event(API, handshake(), at=1731332735600)
    sample = recorded("websocket-authorizer-request")
    assert keys(event) == keys(sample)
    assert keys(sample["requestContext"]) <= keys(event["requestContext"])
    assert event["type"] == "REQUEST"
    assert (
        event["methodArn"] == "arn:aws:execute-api:us-east-1:000000000000:local00000/prod/$connect"
    )
    assert event["requestContext"]["routeKey"] == "$connect"
    assert event["requestContext"]["eventType"] == "CONNECT"
    assert event["queryStringParameters"] == {"token": "abc.def.ghi"}
    assert event["multiValueQueryStringParameters"] == {"token": ["abc.def.ghi"]}


def test_the_authorizer_recognises_the_local_event_as_a_websocket_one() -> None:
    """AuthorizerRequest finds the token in the query string of the local event."""
    request = AuthorizerRequest.from_event(authorizer_event(API, handshake(), at=1))
    assert (request.transport, request.token) == ("websocket", "abc.def.ghi")


def test_repeated_query_parameters_keep_every_value() -> None:
    """A parameter given twice shows its last value and both in the multi-value view."""
    event = authorizer_event(API, handshake([("token", "a"), ("token", "b")]), at=1)
    assert event["queryStringParameters"] == {"token": "b"}
    assert event["multiValueQueryStringParameters"] == {"token": ["a", "b"]}


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("websocket-connect", lambda hs: connect_event(API, hs, authorizer=AUTH, at=2)),
        (
            "websocket-message",
            lambda hs: message_event(
                API, hs, authorizer=AUTH, route_key="submit", body="{}", is_base64=False, at=2
            ),
        ),
        (
            "websocket-disconnect",
            lambda hs: disconnect_event(
                API, hs, authorizer=AUTH, status_code=1000, reason="bye", at=2
            ),
        ),
    ],
)
def test_route_events_have_the_recorded_shape(name: str, build: Any) -> None:
    """Each route event has the recorded top-level and requestContext keys, plus authorizer."""
    event = build(handshake([]))
    sample = recorded(name)
    assert keys(event) == keys(sample)
    assert keys(event["requestContext"]) == keys(sample["requestContext"]) | {"authorizer"}
    assert event["requestContext"]["authorizer"] == AUTH
    parsed = WebSocketEvent.parse(event)
    assert parsed.connection_id == event["requestContext"]["connectionId"]
    assert parsed.principal().player_id == "alice"


def test_message_events_carry_a_unique_message_id_and_a_string_body() -> None:
    """Two messages get distinct messageIds; the body stays the raw string."""
    hs = handshake()
    a, b = (message_event(API, hs, authorizer=AUTH, route_key="$default", body="[1]",
                          is_base64=False, at=3) for _ in range(2))  # fmt: skip
    assert a["requestContext"]["messageId"] != b["requestContext"]["messageId"]
    assert a["body"] == "[1]" and a["isBase64Encoded"] is False


@pytest.mark.parametrize(
    ("body", "route"),
    [
        ('{"action": "submit"}', "submit"),
        ('{"action": "subscribe", "x": 1}', "subscribe"),
        ('{"action": "unsubscribe"}', "unsubscribe"),
        ('{"action": "chat"}', "$default"),
        ('{"action": "SUBMIT"}', "$default"),
        ('{"action": 1}', "$default"),
        ('{"action": null}', "$default"),
        ('{"board": "arena"}', "$default"),
        ('["submit"]', "$default"),
        ('"submit"', "$default"),
        ("submit", "$default"),
        ("", "$default"),
        ("[" * 100_000, "$default"),
    ],
)
def test_routes_are_selected_on_the_action_like_api_gateway(body: str, route: str) -> None:
    """A JSON object naming a known action goes to that route; anything else to $default."""
    assert route_key_for(body) == route


ARN = "arn:aws:execute-api:us-east-1:000000000000:local00000/prod/$connect"


def policy(*statements: dict[str, Any], principal: Any = "alice") -> dict[str, Any]:
    return {"principalId": principal,
            "policyDocument": {"Version": "2012-10-17", "Statement": list(statements)}}  # fmt: skip


def stmt(effect: str, resource: Any = ARN, action: Any = "execute-api:Invoke") -> dict[str, Any]:
    return {"Effect": effect, "Resource": resource, "Action": action}


@pytest.mark.parametrize(
    ("response", "verdict"),
    [
        (policy(stmt("Allow")), Verdict.ALLOW),
        (policy(stmt("Allow", resource=[ARN])), Verdict.ALLOW),
        (
            policy(stmt("Allow", resource="arn:aws:execute-api:*:*:local00000/prod/*")),
            Verdict.ALLOW,
        ),
        (policy(stmt("Allow", action="execute-api:*")), Verdict.ALLOW),
        (policy(stmt("Deny")), Verdict.DENY),
        (policy(stmt("Allow"), stmt("Deny", resource="*")), Verdict.DENY),
        (policy(stmt("Allow", resource=ARN.replace("prod", "dev"))), Verdict.DENY),
        (policy(stmt("Allow", action="s3:GetObject")), Verdict.DENY),
        (policy(), Verdict.INVALID),
        (policy(stmt("Allow"), principal=None), Verdict.INVALID),
        ({"principalId": "alice"}, Verdict.INVALID),
        ("Allow", Verdict.INVALID),
    ],
)
def test_the_authorizer_answer_is_read_like_iam(response: Any, verdict: Verdict) -> None:
    """Allow needs a matching Allow statement and no matching Deny; junk is INVALID (500)."""
    assert connect_verdict(response, ARN) is verdict
