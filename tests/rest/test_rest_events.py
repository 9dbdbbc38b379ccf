"""The REST proxy event is read from AWS's recorded shape, and the local runtime builds
events of the same shape."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from authorizer.request import AuthorizerRequest
from rest.api import handle_event
from rest.events import RestRequest, route_path
from runtime.events import ApiStage
from runtime.rest_gateway import Observed, authorizer_event, proxy_event

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "aws-events"
ROOT = Path(__file__).resolve().parents[2]
API = ApiStage(api_id="local00000", region="us-east-1", stage="prod")
SEEN = Observed(
    method="GET", path="/v1/boards/arena/top", headers=(("Authorization", "Bearer abc.def.ghi"),),
    query=(("limit", "5"), ("limit", "7")), body=b"", source_ip="127.0.0.1", user_agent="ua",
    host="127.0.0.1:8080",
)  # fmt: skip


def recorded(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def test_recorded_proxy_event_parses() -> None:
    """The recorded REST proxy event gives its method, path, query, lowercased headers and body."""
    request = RestRequest.parse(recorded("rest-proxy-v1.json"))
    assert (request.method, request.path) == ("GET", "/my/path")
    assert request.query == {"parameter1": "value1", "parameter2": "value"}
    assert request.header("ORIGIN") == "https://aws.amazon.com"
    assert request.body == b"Hello from Lambda!"


def test_route_path_fills_the_proxy_resource() -> None:
    """The route path comes from the resource and pathParameters, not the custom-domain path."""
    assert route_path("/v1/{proxy+}", {"proxy": "boards/a"}, "/base/v1/boards/a") == "/v1/boards/a"
    assert route_path("", {}, "/v1/boards") == "/v1/boards"


def test_recorded_event_without_our_authorizer_is_401() -> None:
    """A protected route whose authorizer context is not ours answers a 401 problem."""
    event = recorded("rest-proxy-v1.json") | {"resource": "/v1/boards", "path": "/v1/boards"}

    async def no_services() -> Any:
        raise AssertionError("services are not needed to refuse")

    answer = asyncio.run(handle_event(event, no_services))
    assert answer["statusCode"] == 401
    assert answer["headers"]["Content-Type"] == "application/problem+json"
    assert json.loads(answer["body"])["code"] == "bad_authorizer_context"


def test_not_a_rest_event_is_400() -> None:
    """An event that is not a REST proxy event answers a 400 problem."""

    async def no_services() -> Any:
        raise AssertionError("unused")

    answer = asyncio.run(handle_event({"hello": "world"}, no_services))
    assert answer["statusCode"] == 400 and json.loads(answer["body"])["code"] == "bad_event"


def test_local_proxy_event_has_the_recorded_shape() -> None:
    """The local proxy event has every key of the recorded one, and parses back."""
    event = proxy_event(API, SEEN, authorizer={"role": "spectator"}, at=1)
    assert set(recorded("rest-proxy-v1.json")) <= set(event)
    assert set(recorded("rest-proxy-v1.json")["requestContext"]) - {"authorizer"} <= set(
        event["requestContext"]
    )
    request = RestRequest.parse(event)
    assert request.path == "/v1/boards/arena/top" and request.query == {"limit": "7"}
    assert event["multiValueQueryStringParameters"] == {"limit": ["5", "7"]}


def test_local_authorizer_event_has_the_recorded_shape() -> None:
    """The local REST authorizer event has the recorded keys and carries the bearer token."""
    event = authorizer_event(API, SEEN, at=1)
    assert set(recorded("rest-authorizer-request.json")) - {
        "identitySource",
        "authorizationToken",
    } <= set(event)
    assert event["methodArn"].endswith(":local00000/prod/GET/v1/boards/arena/top")
    assert AuthorizerRequest.from_event(event).token == "abc.def.ghi"


def test_lambda_handler_imports_without_environment() -> None:
    """rest.handler imports with no LEADERBOARD_* variables and opens no connection."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADERBOARD_")}
    code = "import rest.handler as h, sys; assert callable(h.handler); assert 'boto3' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT, timeout=60)
