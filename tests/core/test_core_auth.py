"""core.auth: principals, the authorizer context round trip, role decisions, policy documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.auth import (
    AuthorizerResponse,
    MethodArn,
    Principal,
    Role,
    can_manage_boards,
    can_read,
    check_submit_for,
    principal_from_claims,
    request_context_authorizer,
    require_role,
    stringify_context_value,
)
from core.errors import Forbidden, Unauthorized
from core.ids import PLAYER_PATTERN, PlayerId

EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "aws-events"
WS_ARN = "arn:aws:execute-api:us-east-1:533568316194:c5jwxq709g/production/$connect"
REST_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request"

ALICE = Principal(subject="alice", player_id=PlayerId("alice"), role=Role.PLAYER)
SERVER = Principal(subject="game-server", player_id=None, role=Role.SERVER)
SPECTATOR = Principal(subject="viewer", player_id=None, role=Role.SPECTATOR)
ADMIN = Principal(subject="ops", player_id=None, role=Role.ADMIN)


def recorded(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


def delivered(principal: Principal) -> dict[str, Any]:
    """What a route sees in requestContext.authorizer after an Allow for ``principal``."""
    response = AuthorizerResponse.allow(WS_ARN, principal)
    return request_context_authorizer(response, integration_latency_ms=7)


# --- Principal and the authorizer context --------------------------------------------


@pytest.mark.parametrize("principal", [ALICE, SERVER, SPECTATOR, ADMIN], ids=str)
def test_principal_round_trips_through_stringified_context(principal: Principal) -> None:
    """A principal survives to_context, API Gateway's stringification and the parse back."""
    for name in ("websocket-message", "websocket-disconnect", "rest-proxy-v1"):
        event = recorded(name)
        event["requestContext"]["authorizer"] = delivered(principal)
        assert Principal.from_authorizer_context(event["requestContext"]["authorizer"]) == principal


def test_context_is_flat_strings() -> None:
    """The context holds only the subject, the player id ('' if none) and the role, as strings."""
    assert SERVER.to_context() == {"sub": "game-server", "playerId": "", "role": "server"}
    assert delivered(ALICE) == {
        "sub": "alice",
        "playerId": "alice",
        "role": "player",
        "principalId": "alice",
        "integrationLatency": 7,
    }


@given(st.from_regex(PLAYER_PATTERN, fullmatch=True), st.sampled_from(list(Role)))
def test_any_valid_player_id_round_trips(pid: str, role: Role) -> None:
    """Every valid player id and role survives the authorizer context round trip."""
    principal = Principal(subject=pid, player_id=PlayerId(pid), role=role)
    assert Principal.from_authorizer_context(delivered(principal)) == principal


@pytest.mark.parametrize(
    "ctx",
    [
        None,
        {},
        {"principalId": "x", "integrationLatency": 3},
        {"sub": "a", "playerId": "a"},
        {"sub": "a", "playerId": "a", "role": "root"},
        {"sub": "", "playerId": "", "role": "server"},
        {"sub": "a", "playerId": "", "role": "player"},
        {"sub": "a", "playerId": "bad id!", "role": "player"},
        {"sub": "a", "playerId": 5, "role": "player"},
    ],
)
def test_missing_or_broken_context_is_unauthorized(ctx: Any) -> None:
    """A missing, partial or invalid authorizer context is Unauthorized, never guessed."""
    with pytest.raises(Unauthorized):
        Principal.from_authorizer_context(ctx)


def test_player_principal_needs_a_player_id() -> None:
    """A player principal without a player id cannot be built."""
    with pytest.raises(ValueError, match="needs a player id"):
        Principal(subject="x", player_id=None, role=Role.PLAYER)


@pytest.mark.parametrize(
    ("value", "text"), [(True, "true"), (False, "false"), (42, "42"), ("x", "x")]
)
def test_context_values_stringify_like_api_gateway(value: Any, text: str) -> None:
    """Booleans become 'true'/'false' and numbers their digits, as API Gateway delivers them."""
    assert stringify_context_value(value) == text


# --- claims -> principal ---------------------------------------------------------------

CLAIMS_TABLE: list[tuple[dict[str, Any], Principal]] = [
    ({"sub": "alice", "role": "player"}, ALICE),
    (
        {"sub": "u-1", "player_id": "alice", "role": "player"},
        Principal(subject="u-1", player_id=PlayerId("alice"), role=Role.PLAYER),
    ),
    ({"sub": "game-server", "role": "server"}, SERVER),
    (
        {"sub": "u-2", "custom:role": "spectator"},
        Principal(subject="u-2", player_id=None, role=Role.SPECTATOR),
    ),
    ({"sub": "ops", "cognito:groups": ["staff", "admin"]}, ADMIN),
    ({"sub": "ops", "cognito:groups": "admin"}, ADMIN),
    (
        {"sub": "u-3", "role": "spectator", "player_id": "bob"},
        Principal(subject="u-3", player_id=PlayerId("bob"), role=Role.SPECTATOR),
    ),
]


@pytest.mark.parametrize(("claims", "expected"), CLAIMS_TABLE)
def test_claims_map_to_principal(claims: dict[str, Any], expected: Principal) -> None:
    """role, custom:role or cognito:groups give the role; player_id or (players) sub the id."""
    assert principal_from_claims(claims) == expected


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"sub": "a"}, "missing_role"),
        ({"sub": "a", "role": "root"}, "unknown_role"),
        ({"sub": "a", "role": ["admin"]}, "unknown_role"),
        ({"sub": "a", "role": "root", "cognito:groups": ["admin"]}, "unknown_role"),
        ({"sub": "a", "cognito:groups": ["staff"]}, "missing_role"),
        ({"sub": "a", "cognito:groups": ["admin", "server"]}, "ambiguous_role"),
    ],
)
def test_unusable_role_is_forbidden(claims: dict[str, Any], code: str) -> None:
    """No role, an unknown role or several role groups are Forbidden (403), never guessed."""
    with pytest.raises(Forbidden) as info:
        principal_from_claims(claims)
    assert info.value.code == code


@pytest.mark.parametrize(
    "claims",
    [
        {"role": "player"},
        {"sub": "", "role": "player"},
        {"sub": 7, "role": "player"},
        {"sub": "bad id!", "role": "player"},
        {"sub": "a", "player_id": "bad id!", "role": "server"},
    ],
)
def test_missing_or_invalid_subject_is_unauthorized(claims: dict[str, Any]) -> None:
    """A missing subject or an invalid player id is a broken credential: Unauthorized (401)."""
    with pytest.raises(Unauthorized):
        principal_from_claims(claims)


# --- decisions -------------------------------------------------------------------------

SUBMIT_TABLE: list[tuple[Principal, str, bool, str | None]] = [
    (ALICE, "alice", False, None),
    (ALICE, "bob", False, "not_your_player"),
    (ALICE, "alice", True, "batch_not_allowed"),
    (SERVER, "bob", False, None),
    (SERVER, "bob", True, None),
    (SPECTATOR, "viewer", False, "role_not_allowed"),
    (SPECTATOR, "bob", True, "role_not_allowed"),
    (ADMIN, "bob", False, "role_not_allowed"),
    (ADMIN, "bob", True, "role_not_allowed"),
]


@pytest.mark.parametrize(("principal", "player", "batch", "code"), SUBMIT_TABLE)
def test_submit_decisions(principal: Principal, player: str, batch: bool, code: str | None) -> None:
    """Players submit their own single scores; servers anything; spectators and admins nothing."""
    if code is None:
        check_submit_for(principal, PlayerId(player), batch=batch)
    else:
        with pytest.raises(Forbidden) as info:
            check_submit_for(principal, PlayerId(player), batch=batch)
        assert (info.value.code, info.value.status) == (code, 403)


def test_other_player_message_quotes_both_ids() -> None:
    """Submitting for another player says whose scores were expected and whose arrived."""
    with pytest.raises(Forbidden, match="expected player 'alice', got 'bob'"):
        check_submit_for(ALICE, PlayerId("bob"), batch=False)


def test_require_role_quotes_role_and_allowed_roles() -> None:
    """require_role names the caller's role and the allowed ones."""
    with pytest.raises(Forbidden) as info:
        require_role(SPECTATOR, Role.ADMIN, Role.SERVER)
    assert (
        info.value.message
        == "role 'spectator' may not do this: expected one of ['admin', 'server']"
    )
    require_role(ADMIN, Role.ADMIN)


@pytest.mark.parametrize(
    ("principal", "manage", "read"),
    [(ALICE, False, True), (SERVER, False, True), (SPECTATOR, False, True), (ADMIN, True, True)],
)
def test_manage_and_read_decisions(principal: Principal, manage: bool, read: bool) -> None:
    """Only admins manage boards; every role reads."""
    assert (can_manage_boards(principal), can_read(principal)) == (manage, read)


# --- policy documents ------------------------------------------------------------------


def test_websocket_allow_is_exact_method_arn() -> None:
    """Allow on a WebSocket $connect ARN names exactly that ARN."""
    assert AuthorizerResponse.allow(WS_ARN, ALICE) == {
        "principalId": "alice",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": WS_ARN}],
        },
        "context": {"sub": "alice", "playerId": "alice", "role": "player"},
    }


@pytest.mark.parametrize(
    "arn",
    [
        REST_ARN,
        REST_ARN.replace("GET/request", "GET/"),
        REST_ARN.replace("GET/request", "POST/boards/x/scores"),
    ],
)
def test_rest_allow_covers_the_whole_stage(arn: str) -> None:
    """Allow on any REST method ARN grants api/stage/*/* so the cached policy covers every route."""
    statement = AuthorizerResponse.allow(arn, SERVER)["policyDocument"]["Statement"]
    assert statement == [
        {
            "Action": "execute-api:Invoke",
            "Effect": "Allow",
            "Resource": "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/*/*",
        }
    ]


def test_deny_names_exact_arn_and_context() -> None:
    """Deny names exactly the methodArn and carries the given flat context."""
    assert AuthorizerResponse.deny(REST_ARN, "u-1", context={"code": "unknown_role"}) == {
        "principalId": "u-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": REST_ARN}],
        },
        "context": {"code": "unknown_role"},
    }


@pytest.mark.parametrize("value", [None, 1.5, ["a"], {"a": 1}])
def test_nested_or_null_context_is_refused(value: Any) -> None:
    """A context value that is not a string, integer or boolean is a programming error."""
    with pytest.raises(TypeError, match="must be flat"):
        AuthorizerResponse.deny(REST_ARN, "u-1", context={"x": value})


def test_method_arn_parts() -> None:
    """A methodArn splits into region, account, api, stage and route or verb/path."""
    assert MethodArn.parse(WS_ARN) == MethodArn(
        "aws", "us-east-1", "533568316194", "c5jwxq709g", "production", "$connect"
    )
    assert MethodArn.parse(WS_ARN).is_websocket
    assert not MethodArn.parse(REST_ARN).is_websocket


@pytest.mark.parametrize("arn", ["", "arn:aws:s3:::bucket", "arn:aws:execute-api:us-east-1:1:api"])
def test_bad_method_arn_is_refused(arn: str) -> None:
    """Something that is not an execute-api method ARN is refused."""
    with pytest.raises(Unauthorized):
        AuthorizerResponse.allow(arn, ALICE)
