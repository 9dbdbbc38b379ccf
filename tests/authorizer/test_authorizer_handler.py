"""The authorizer entry: recorded WebSocket and REST events in, exact API Gateway policies out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest

from authorizer import handler as entry
from authorizer.handler import authorize, default_verifier, handler
from authorizer.request import MAX_TOKEN_CHARS, AuthorizerRequest
from authorizer.tokens import TokenVerifier
from core.auth import Principal, Role, request_context_authorizer
from core.errors import Unauthorized
from tests.authorizer.token_fixtures import AUDIENCE, ISSUER, SECRET

Event = Callable[..., dict[str, Any]]
Sign = Callable[..., str]
Claims = Callable[..., dict[str, Any]]

WS_ARN = "arn:aws:execute-api:us-east-1:533568316194:c5jwxq709g/production/$connect"
REST_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request"
REST_STAGE = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/*/*"
PLAYER_CONTEXT = {"sub": "player-1", "playerId": "player-1", "role": "player"}


def policy(effect: str, resource: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
    }


def refusal(event: dict[str, Any], verifier: TokenVerifier) -> str:
    with pytest.raises(Unauthorized) as info:
        authorize(event, verifier)
    return info.value.code


# --- Allow ---------------------------------------------------------------------------


def test_websocket_connect_allows_exact_route(
    ws_event: Event, verifier: TokenVerifier, hs256: Sign
) -> None:
    """A valid ?token= on $connect is allowed on exactly the methodArn, with the flat context."""
    assert authorize(ws_event(hs256()), verifier) == {
        "principalId": "player-1",
        "policyDocument": policy("Allow", WS_ARN),
        "context": PLAYER_CONTEXT,
    }


def test_rest_bearer_allows_whole_stage(
    rest_event: Event, verifier: TokenVerifier, hs256: Sign
) -> None:
    """A valid Bearer header is allowed on every method of the stage, so the cache covers routes."""
    assert authorize(rest_event(f"Bearer {hs256()}"), verifier) == {
        "principalId": "player-1",
        "policyDocument": policy("Allow", REST_STAGE),
        "context": PLAYER_CONTEXT,
    }


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("authorization", "Bearer {}"),
        ("AUTHORIZATION", "bearer {}"),
        ("Authorization", " Bearer  {} "),
    ],
)
def test_rest_header_name_and_scheme_are_case_insensitive(
    rest_event: Event, verifier: TokenVerifier, hs256: Sign, header: str, value: str
) -> None:
    """The Authorization header and the Bearer scheme match in any case and spacing."""
    response = authorize(rest_event(value.format(hs256()), header=header), verifier)
    assert response["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def test_rest_token_authorizer_event_is_supported(verifier: TokenVerifier, hs256: Sign) -> None:
    """A TOKEN-type authorizer event reads the bearer token from authorizationToken."""
    event = {"type": "TOKEN", "authorizationToken": f"Bearer {hs256()}", "methodArn": REST_ARN}
    assert authorize(event, verifier)["policyDocument"] == policy("Allow", REST_STAGE)


def test_context_is_flat_and_round_trips_through_api_gateway(
    ws_event: Event,
    recorded: Callable[[str], dict[str, Any]],
    verifier: TokenVerifier,
    hs256: Sign,
    claims: Claims,
) -> None:
    """The Allow context is flat and reads back as the same principal from a later message event."""
    token = hs256(claims(sub="srv-1", role="server", player_id="p-9"))
    response = authorize(ws_event(token), verifier)
    assert all(isinstance(v, str | int | bool) for v in response["context"].values())
    message = recorded("websocket-message")
    message["requestContext"]["authorizer"] = request_context_authorizer(
        response, integration_latency_ms=12
    )
    principal = Principal.from_authorizer_context(message["requestContext"]["authorizer"])
    assert principal == Principal(subject="srv-1", player_id="p-9", role=Role.SERVER)


# --- Deny (403) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role_claims", "code"),
    [
        ({"role": "superuser"}, "unknown_role"),
        ({"role": None}, "missing_role"),
        ({"role": None, "cognito:groups": ["admin", "player"]}, "ambiguous_role"),
    ],
)
def test_verified_token_without_usable_role_is_denied(
    rest_event: Event,
    verifier: TokenVerifier,
    hs256: Sign,
    claims: Claims,
    role_claims: dict[str, Any],
    code: str,
) -> None:
    """A valid token with no usable role gets a Deny on the exact methodArn (API Gateway: 403)."""
    response = authorize(rest_event(f"Bearer {hs256(claims(**role_claims))}"), verifier)
    assert response == {
        "principalId": "player-1",
        "policyDocument": policy("Deny", REST_ARN),
        "context": {"code": code},
    }


# --- Unauthorized (401) ----------------------------------------------------------------

REST_HEADER_FAILURES: dict[str, tuple[str | None, str]] = {
    "no header": (None, "missing_token"),
    "empty header": ("", "missing_token"),
    "Bearer without token": ("Bearer", "missing_token"),
    "Bearer and spaces": ("Bearer   ", "missing_token"),
    "Basic scheme": ("Basic dXNlcjpwYXNzd29yZA==", "malformed_token"),
    "token without scheme": ("{token}", "malformed_token"),
    "two tokens": ("Bearer {token} {token}", "malformed_token"),
    "header injection": ("Bearer {token}\r\nX-Role: admin", "malformed_token"),
    "garbage": ("Bearer garbage", "malformed_token"),
    "two segments": ("Bearer eyJhbGciOiJIUzI1NiJ9.e30", "malformed_token"),
    "oversized": ("Bearer " + "a" * (MAX_TOKEN_CHARS + 1), "malformed_token"),
}


@pytest.mark.parametrize(
    ("value", "code"), REST_HEADER_FAILURES.values(), ids=REST_HEADER_FAILURES.keys()
)
def test_bad_authorization_header_is_unauthorized(
    rest_event: Event, verifier: TokenVerifier, hs256: Sign, value: str | None, code: str
) -> None:
    """A missing or malformed Authorization header is refused with 401 and a stable code."""
    event = rest_event(None if value is None else value.format(token=hs256()))
    assert refusal(event, verifier) == code


def test_authorization_header_given_twice_is_malformed(
    rest_event: Event, verifier: TokenVerifier, hs256: Sign
) -> None:
    """Two Authorization values (multiValueHeaders) are refused rather than one picked."""
    event = rest_event(f"Bearer {hs256()}")
    event["multiValueHeaders"]["Authorization"].append("Bearer other")
    assert refusal(event, verifier) == "malformed_token"


def test_conflicting_authorization_header_cases_are_malformed(
    rest_event: Event, verifier: TokenVerifier, hs256: Sign
) -> None:
    """'Authorization' and 'authorization' with different values are refused."""
    event = rest_event(f"Bearer {hs256()}")
    event["headers"]["authorization"] = "Bearer other"
    assert refusal(event, verifier) == "malformed_token"


def test_recorded_websocket_event_without_query_token_is_unauthorized(
    recorded: Callable[[str], dict[str, Any]], verifier: TokenVerifier
) -> None:
    """On $connect only ?token= counts: the recorded Authorization header is ignored."""
    assert refusal(recorded("websocket-authorizer-request"), verifier) == "missing_token"


def test_websocket_bearer_header_is_not_a_token(
    ws_event: Event, verifier: TokenVerifier, hs256: Sign
) -> None:
    """A valid Bearer header on $connect without ?token= is still refused as missing_token."""
    event = ws_event(None)
    event["headers"]["Authorization"] = f"Bearer {hs256()}"
    assert refusal(event, verifier) == "missing_token"


@pytest.mark.parametrize(
    ("query", "multi", "code"),
    [
        (None, None, "missing_token"),
        ({"token": ""}, None, "missing_token"),
        ({"other": "x"}, None, "missing_token"),
        ({"Token": "x.y.z"}, None, "missing_token"),
        ({"token": "a b.c"}, None, "malformed_token"),
        ({"token": "x.y.z"}, {"token": ["x.y.z", "q.r.s"]}, "malformed_token"),
    ],
)
def test_bad_websocket_query_token_is_unauthorized(
    ws_event: Event, verifier: TokenVerifier, query: Any, multi: Any, code: str
) -> None:
    """A missing, empty, non-base64url or repeated ?token= is refused with 401."""
    event = ws_event(None)
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = multi
    assert refusal(event, verifier) == code


def _alg_none(claims: Claims) -> str:
    return jwt.api_jws.encode(json.dumps(claims()).encode(), None, algorithm="none")


TOKEN_FAILURES: dict[str, tuple[Callable[[Sign, Claims], str], str]] = {
    "expired": (lambda s, c: s(c(exp=int(time.time()) - 3600)), "token_expired"),
    "not yet valid": (lambda s, c: s(c(nbf=int(time.time()) + 3600)), "token_not_yet_valid"),
    "alg none": (lambda s, c: _alg_none(c), "bad_algorithm"),
    "wrong issuer": (lambda s, c: s(c(iss="https://evil.test")), "bad_issuer"),
    "wrong audience": (lambda s, c: s(c(aud="other-app")), "bad_audience"),
    "wrong secret": (lambda s, c: s(secret="x" * 48), "bad_signature"),
    "missing sub": (lambda s, c: s(c(sub=None)), "missing_claim"),
}


@pytest.mark.parametrize("transport", ["websocket", "rest"])
@pytest.mark.parametrize(("build", "code"), TOKEN_FAILURES.values(), ids=TOKEN_FAILURES.keys())
def test_bad_token_is_unauthorized_on_both_transports(
    ws_event: Event,
    rest_event: Event,
    verifier: TokenVerifier,
    hs256: Sign,
    claims: Claims,
    transport: str,
    build: Callable[[Sign, Claims], str],
    code: str,
) -> None:
    """Expired, unsigned, mis-issued or mis-signed tokens are 401 on $connect and on REST."""
    token = build(hs256, claims)
    event = ws_event(token) if transport == "websocket" else rest_event(f"Bearer {token}")
    assert refusal(event, verifier) == code


def test_event_without_method_arn_is_refused(verifier: TokenVerifier) -> None:
    """An event that is not an authorizer event is refused as bad_method_arn."""
    assert refusal({"headers": {}}, verifier) == "bad_method_arn"


def test_request_names_its_transport(ws_event: Event, rest_event: Event) -> None:
    """The parsed request says where the token came from."""
    assert AuthorizerRequest.from_event(ws_event("a.b.c")).transport == "websocket"
    assert AuthorizerRequest.from_event(rest_event("Bearer a.b.c")).transport == "rest"


# --- the Lambda entry ------------------------------------------------------------------


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The Lambda's LEADERBOARD_* environment, and a fresh cold start."""
    for key in list(os.environ):
        if key.startswith("LEADERBOARD_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("LEADERBOARD_JWT_SECRET", SECRET)
    monkeypatch.setenv("LEADERBOARD_JWT_ISSUER", ISSUER)
    monkeypatch.setenv("LEADERBOARD_JWT_AUDIENCE", AUDIENCE)
    default_verifier.cache_clear()
    yield
    default_verifier.cache_clear()


@pytest.mark.usefixtures("lambda_env")
def test_handler_allows_and_builds_verifier_once(ws_event: Event, hs256: Sign) -> None:
    """The Lambda entry allows a valid token and reuses the cold-start verifier."""
    assert handler(ws_event(hs256()), None)["policyDocument"] == policy("Allow", WS_ARN)
    assert default_verifier() is default_verifier()


@pytest.mark.usefixtures("lambda_env")
def test_handler_raises_the_literal_api_gateway_401(rest_event: Event) -> None:
    """A refused token makes the Lambda raise Exception('Unauthorized'), API Gateway's 401."""
    with pytest.raises(Exception) as info:
        handler(rest_event(None), None)
    assert type(info.value) is Exception
    assert info.value.args == (entry.API_GATEWAY_UNAUTHORIZED,) == ("Unauthorized",)


@pytest.mark.usefixtures("lambda_env")
def test_handler_returns_deny_for_forbidden_role(
    rest_event: Event, hs256: Sign, claims: Claims
) -> None:
    """A token with an unknown role comes back from the Lambda as a Deny policy (403)."""
    response = handler(rest_event(f"Bearer {hs256(claims(role='root'))}"), None)
    assert response["policyDocument"] == policy("Deny", REST_ARN)


def test_import_needs_no_environment_and_loads_no_heavy_modules() -> None:
    """Importing the handler needs no LEADERBOARD_* variables and loads neither PyJWT nor boto3."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADERBOARD_", "AWS_"))}
    probe = (
        "import sys, authorizer.handler; "
        "print(sorted(m for m in ('jwt', 'boto3', 'pydantic_settings', 'cryptography') "
        "if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"
