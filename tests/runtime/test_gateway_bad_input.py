"""Bad input over a real connection: typed error frames or refused upgrades, nothing persisted."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import jwt
import pytest
from websockets.exceptions import InvalidStatus

from authorizer.handler import authorize
from authorizer.tokens import TokenVerifier
from core.settings import Settings
from runtime.app import LocalRuntime
from tests.runtime.gateway_support import ARENA, counts, eventually, open_ws, token

SUBMIT = {"action": "submit", "board": "arena"}


def msg(**fields: Any) -> str:
    return json.dumps(fields)


def submit(**fields: Any) -> str:
    return json.dumps({**SUBMIT, **fields})


PLAYER, SERVER, SPECTATOR = "player", "server", "spectator"

# (case id, role of the connection, raw message, expected error code, expected status)
MESSAGE_CASES: list[tuple[str, str, str | bytes, str, int]] = [
    ("not-json", PLAYER, "hello", "invalid_json", 400),
    ("empty", PLAYER, "", "invalid_json", 400),
    ("truncated-json", PLAYER, '{"action": "submit"', "invalid_json", 400),
    ("binary-frame", PLAYER, b"\x00\x01\x02", "binary_frame", 400),
    ("json-array", PLAYER, '[{"action": "submit"}]', "not_an_object", 400),
    ("json-string", PLAYER, '"submit"', "not_an_object", 400),
    ("json-number", PLAYER, "42", "not_an_object", 400),
    ("json-null", PLAYER, "null", "not_an_object", 400),
    ("missing-action", PLAYER, msg(board="arena", score=1), "missing_action", 400),
    ("null-action", PLAYER, msg(action=None), "missing_action", 400),
    ("unknown-action", PLAYER, msg(action="chat"), "unknown_action", 400),
    (
        "action-wrong-case",
        PLAYER,
        msg(action="SUBMIT", board="arena", score=1),
        "unknown_action",
        400,
    ),
    ("action-not-a-string", PLAYER, msg(action=7), "unknown_action", 400),
    ("score-string", PLAYER, submit(score="10"), "invalid_message", 400),
    ("score-float", PLAYER, submit(score=10.5), "invalid_message", 400),
    ("score-integral-float", PLAYER, submit(score=10.0), "invalid_message", 400),
    (
        "score-exponent",
        PLAYER,
        '{"action": "submit", "board": "arena", "score": 1e3}',
        "invalid_message",
        400,
    ),
    ("score-bool", PLAYER, submit(score=True), "invalid_message", 400),
    ("score-null-only", PLAYER, submit(score=None), "invalid_message", 400),
    ("score-missing", PLAYER, submit(), "invalid_message", 400),
    (
        "score-nan",
        PLAYER,
        '{"action": "submit", "board": "arena", "score": NaN}',
        "invalid_number",
        400,
    ),
    (
        "score-infinity",
        PLAYER,
        '{"action": "submit", "board": "arena", "score": Infinity}',
        "invalid_number",
        400,
    ),
    (
        "score-minus-infinity",
        PLAYER,
        '{"action": "submit", "board": "arena", "score": -Infinity}',
        "invalid_number",
        400,
    ),
    (
        "nan-in-metadata",
        PLAYER,
        '{"action": "submit", "board": "arena", "score": 1, "metadata": {"x": NaN}}',
        "invalid_number",
        400,
    ),
    ("score-int64-overflow", PLAYER, submit(score=2**63), "score_out_of_range", 400),
    ("score-int64-underflow", PLAYER, submit(score=-(2**63)), "score_out_of_range", 400),
    ("score-huge", PLAYER, submit(score=10**40), "score_out_of_range", 400),
    ("score-above-board-max", PLAYER, submit(score=1_000_001), "score_out_of_range", 400),
    ("score-below-board-min", PLAYER, submit(score=-1), "score_out_of_range", 400),
    ("unknown-board", PLAYER, msg(action="submit", board="nope", score=1), "unknown_board", 404),
    (
        "invalid-board-id",
        PLAYER,
        msg(action="submit", board="Arena!", score=1),
        "invalid_message",
        400,
    ),
    ("board-wrong-type", PLAYER, msg(action="submit", board=5, score=1), "invalid_message", 400),
    ("board-missing", PLAYER, msg(action="submit", score=1), "invalid_message", 400),
    (
        "oversized-metadata",
        PLAYER,
        submit(score=1, metadata={"x": "y" * 2000}),
        "metadata_too_large",
        413,
    ),
    ("metadata-not-object", PLAYER, submit(score=1, metadata=[1, 2]), "invalid_message", 400),
    ("unknown-field", PLAYER, submit(score=1, bonus=5), "invalid_message", 400),
    ("request-id-too-long", PLAYER, submit(score=1, request_id="r" * 65), "invalid_message", 400),
    (
        "bad-submission-id",
        PLAYER,
        submit(score=1, submission_id="has space"),
        "invalid_message",
        400,
    ),
    ("bad-player-id", PLAYER, submit(score=1, player="not a player"), "invalid_message", 400),
    ("player-for-another-player", PLAYER, submit(score=1, player="bob"), "not_your_player", 403),
    (
        "player-batch",
        PLAYER,
        submit(scores=[{"player": "alice", "score": 1}]),
        "batch_not_allowed",
        403,
    ),
    (
        "score-and-scores",
        SERVER,
        submit(score=1, scores=[{"player": "p1", "score": 1}]),
        "invalid_message",
        400,
    ),
    ("empty-batch", SERVER, submit(scores=[]), "invalid_message", 400),
    (
        "batch-duplicate-player",
        SERVER,
        submit(scores=[{"player": "p1", "score": 1}, {"player": "p1", "score": 2}]),
        "duplicate_player",
        400,
    ),
    (
        "batch-item-float",
        SERVER,
        submit(scores=[{"player": "p1", "score": 1.5}]),
        "invalid_message",
        400,
    ),
    (
        "batch-item-int64-overflow",
        SERVER,
        submit(scores=[{"player": "p1", "score": 2**63}]),
        "score_out_of_range",
        400,
    ),
    ("server-without-player", SERVER, submit(score=1), "missing_player", 400),
    ("spectator-submit", SPECTATOR, submit(score=1, player="alice"), "role_not_allowed", 403),
    (
        "spectator-batch",
        SPECTATOR,
        submit(scores=[{"player": "p1", "score": 1}]),
        "role_not_allowed",
        403,
    ),
    (
        "subscribe-top-over-100",
        PLAYER,
        msg(action="subscribe", board="arena", view="top", n=101),
        "view_too_large",
        400,
    ),
    (
        "subscribe-top-zero",
        PLAYER,
        msg(action="subscribe", board="arena", view="top", n=0),
        "invalid_message",
        400,
    ),
    (
        "subscribe-n-string",
        PLAYER,
        msg(action="subscribe", board="arena", view="top", n="10"),
        "invalid_message",
        400,
    ),
    (
        "subscribe-unknown-view",
        PLAYER,
        msg(action="subscribe", board="arena", view="bottom"),
        "invalid_message",
        400,
    ),
    (
        "subscribe-unknown-board",
        PLAYER,
        msg(action="subscribe", board="nope", view="top"),
        "unknown_board",
        404,
    ),
    (
        "subscribe-around-k-too-big",
        PLAYER,
        msg(action="subscribe", board="arena", view="around", k=51),
        "invalid_message",
        400,
    ),
    (
        "subscribe-me-unknown-board",
        PLAYER,
        msg(action="subscribe", board="no-such-board", view="me"),
        "unknown_board",
        404,
    ),
    (
        "spectator-subscribe-me",
        SPECTATOR,
        msg(action="subscribe", board="arena", view="me"),
        "missing_player",
        400,
    ),
    (
        "unsubscribe-unknown-view",
        PLAYER,
        msg(action="unsubscribe", view_id="top:arena:s1:10"),
        "unknown_view",
        400,
    ),
    ("unsubscribe-missing-view", PLAYER, msg(action="unsubscribe"), "invalid_message", 400),
]


@pytest.fixture(scope="module")
async def shared_runtime(
    pg_server: Any, template_db: str
) -> AsyncIterator[tuple[LocalRuntime, list[dict[str, Any]]]]:
    """One runtime for the module, over its own migrated database, with the board 'arena'.

    Its (real) authorizer records each event it is called with. Cases share it because
    none may change the database; each waits until its connection is cleaned up.
    """
    name = f"lb_runtime_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_server.admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    settings = Settings(jwt_secret="test-secret-test-secret-test-secret!")  # type: ignore[arg-type]
    calls: list[dict[str, Any]] = []
    verifier = TokenVerifier(settings=settings)

    def authorizer(event: dict[str, Any]) -> dict[str, Any]:
        calls.append(event)
        return authorize(event, verifier)

    try:
        async with LocalRuntime(settings, dsn=pg_server.dsn_for(name), authorizer=authorizer) as rt:
            await rt.store.create_board(ARENA)
            yield rt, calls
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def counted_runtime(
    shared_runtime: tuple[LocalRuntime, list[dict[str, Any]]],
) -> AsyncIterator[tuple[LocalRuntime, list[dict[str, Any]]]]:
    """The shared runtime with its authorizer calls reset; left with no connection."""
    rt, calls = shared_runtime
    calls.clear()
    yield rt, calls

    async def idle() -> bool:
        return len(rt.sender) == 0 and (await counts(rt.store.pool))["connections"] == 0

    await eventually(idle)


@pytest.fixture
def quiet_runtime(counted_runtime: tuple[LocalRuntime, list[dict[str, Any]]]) -> LocalRuntime:
    return counted_runtime[0]


def role_token(settings: Settings, role: str) -> str:
    if role == PLAYER:
        return token(settings, "alice")
    return token(settings, None, role=role, subject=f"{role}-1")


@pytest.mark.parametrize(
    ("role", "raw", "code", "status"),
    [pytest.param(*case[1:], id=case[0]) for case in MESSAGE_CASES],
)
async def test_bad_messages_get_a_typed_error_and_change_nothing(
    quiet_runtime: LocalRuntime, role: str, raw: str | bytes, code: str, status: int
) -> None:
    """A bad message gets an error frame with its code and status; the socket stays; no rows."""
    rt = quiet_runtime
    async with open_ws(rt.ws_url, role_token(rt.settings, role)) as ws:
        before = await counts(rt.store.pool)
        await ws.send(raw)
        reply = json.loads(await ws.recv())
        assert reply["type"] == "error", reply
        assert (reply["error"]["code"], reply["error"]["status"]) == (code, status), reply
        assert reply["error"]["message"]
        assert await counts(rt.store.pool) == before
        await (await ws.ping())  # still open


async def test_errors_echo_the_request_id(quiet_runtime: LocalRuntime) -> None:
    """An error frame carries the request_id of the message that caused it."""
    rt = quiet_runtime
    async with open_ws(rt.ws_url, role_token(rt.settings, PLAYER)) as ws:
        await ws.send(submit(score=1.5, request_id="req-7"))
        reply = json.loads(await ws.recv())
        assert reply["request_id"] == "req-7"


# --- refused connections ------------------------------------------------------------

OTHER_SECRET = "another-secret-another-secret-another!"
GROUPS = {"cognito:groups": ["player", "admin"]}


def claims(settings: Settings, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": settings.jwt_issuer, "aud": settings.jwt_audience, "sub": "alice",
            "player_id": "alice", "role": "player", "iat": now, "nbf": now, "exp": now + 300}  # fmt: skip
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def hs256(settings: Settings, secret: str | None = None, **overrides: Any) -> str:
    assert settings.jwt_secret is not None
    key = secret or settings.jwt_secret.get_secret_value()
    return jwt.encode(claims(settings, **overrides), key, algorithm="HS256")


def alg_none(settings: Settings) -> str:
    return jwt.encode(claims(settings), None, algorithm="none")


def hs512(settings: Settings) -> str:
    assert settings.jwt_secret is not None
    return jwt.encode(claims(settings), settings.jwt_secret.get_secret_value() * 2,
                      algorithm="HS512")  # fmt: skip


def tampered(settings: Settings) -> str:
    head, _, sig = hs256(settings).split(".")
    forged = jwt.utils.base64url_encode(json.dumps(claims(settings, role="server")).encode())
    return ".".join([head, forged.decode(), sig])


# (case id, query string builder (None: no query), expected status)
AUTH_CASES: list[tuple[str, Any, int]] = [
    ("no-query", lambda s: "", 401),
    ("no-token-parameter", lambda s: "?other=1", 401),
    ("empty-token", lambda s: "?token=", 401),
    ("garbage-token", lambda s: "?token=garbage", 401),
    ("two-segment-token", lambda s: "?token=abc.def", 401),
    ("token-with-bad-characters", lambda s: "?token=a%20b.c.d", 401),
    ("token-twice", lambda s: f"?token={hs256(s)}&token={hs256(s)}", 401),
    ("expired", lambda s: f"?token={hs256(s, exp=int(time.time()) - 3600)}", 401),
    ("not-yet-valid", lambda s: f"?token={hs256(s, nbf=int(time.time()) + 3600)}", 401),
    ("wrong-signature", lambda s: f"?token={hs256(s, secret=OTHER_SECRET)}", 401),
    ("tampered-payload", lambda s: f"?token={tampered(s)}", 401),
    ("alg-none", lambda s: f"?token={alg_none(s)}", 401),
    ("alg-not-pinned", lambda s: f"?token={hs512(s)}", 401),
    ("wrong-issuer", lambda s: f"?token={hs256(s, iss='https://evil.example')}", 401),
    ("wrong-audience", lambda s: f"?token={hs256(s, aud='someone-else')}", 401),
    ("missing-exp", lambda s: f"?token={hs256(s, exp=None)}", 401),
    ("missing-sub", lambda s: f"?token={hs256(s, sub=None)}", 401),
    ("invalid-player-id", lambda s: f"?token={hs256(s, player_id='bad player')}", 401),
    ("unknown-role", lambda s: f"?token={hs256(s, role='superuser')}", 403),
    ("missing-role", lambda s: f"?token={hs256(s, role=None)}", 403),
    ("ambiguous-groups", lambda s: f"?token={hs256(s, role=None, **GROUPS)}", 403),
]


@pytest.mark.parametrize(
    ("query", "status"), [pytest.param(*case[1:], id=case[0]) for case in AUTH_CASES]
)
async def test_bad_credentials_refuse_the_upgrade_and_change_nothing(
    counted_runtime: tuple[LocalRuntime, list[dict[str, Any]]], query: Any, status: int
) -> None:
    """Missing or bad tokens get 401, tokens without a usable role 403; no connection row."""
    rt, calls = counted_runtime
    before = await counts(rt.store.pool)
    with pytest.raises(InvalidStatus) as info:
        async with open_ws(rt.ws_url + query(rt.settings), None):
            pass
    response = info.value.response
    assert response.status_code == status
    message = {401: "Unauthorized", 403: "Forbidden"}[status]
    assert json.loads(response.body) == {"message": message}
    assert await counts(rt.store.pool) == before
    assert len(rt.sender) == 0
    expect_authorizer = query(rt.settings) not in ("", "?other=1", "?token=")
    assert len(calls) == (1 if expect_authorizer else 0)


async def test_a_valid_token_still_connects_after_refusals(
    counted_runtime: tuple[LocalRuntime, list[dict[str, Any]]],
) -> None:
    """The same runtime accepts a valid token (the refusals above are about the token only)."""
    rt, calls = counted_runtime
    async with open_ws(rt.ws_url, token(rt.settings)) as ws:
        await (await ws.ping())
        assert (await counts(rt.store.pool))["connections"] == 1
    assert len(calls) == 1


async def test_an_authorizer_crash_refuses_with_500(database_dsn: str, settings: Settings) -> None:
    """An authorizer that raises something other than Unauthorized refuses with 500."""

    def broken(event: dict[str, Any]) -> dict[str, Any]:
        raise ConnectionError("JWKS unreachable")

    async with LocalRuntime(settings, dsn=database_dsn, authorizer=broken) as rt:
        with pytest.raises(InvalidStatus) as info:
            async with open_ws(rt.ws_url, token(settings)):
                pass
        assert info.value.response.status_code == 500
        assert (await counts(rt.store.pool))["connections"] == 0


async def test_a_failing_connect_route_refuses_with_500(
    database_dsn: str, settings: Settings
) -> None:
    """A $connect route that raises refuses the upgrade with 500 and never opens the socket."""

    async def handler(event: dict[str, Any], svc: Any) -> dict[str, Any]:
        raise RuntimeError("database down")

    async with LocalRuntime(settings, dsn=database_dsn, handler=handler) as rt:
        with pytest.raises(InvalidStatus) as info:
            async with open_ws(rt.ws_url, token(settings)):
                pass
        assert info.value.response.status_code == 500
        assert len(rt.sender) == 0


async def test_a_plain_get_on_the_websocket_endpoint_is_426(quiet_runtime: LocalRuntime) -> None:
    """A request that is not a WebSocket upgrade gets 426 Upgrade Required."""
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(quiet_runtime.ws_url.replace(
            "ws://", "http://")) as resp:  # fmt: skip
        assert resp.status == 426


async def test_deeply_nested_json_gets_a_typed_error(quiet_runtime: LocalRuntime) -> None:
    """A message nested deeper than the JSON parser recurses gets invalid_json, not a 500 frame."""
    rt = quiet_runtime
    async with open_ws(rt.ws_url, role_token(rt.settings, PLAYER)) as ws:
        before = await counts(rt.store.pool)
        await ws.send("[" * 20_000)
        reply = json.loads(await ws.recv())
        assert await counts(rt.store.pool) == before
        await (await ws.ping())
        assert reply.get("type") == "error", reply
        assert reply["error"]["code"] == "invalid_json"
