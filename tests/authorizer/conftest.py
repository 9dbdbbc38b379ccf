"""Fixtures of the authorizer tests: recorded events, signing keys and a real JWKS server."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from authorizer.tokens import TokenVerifier
from core.settings import Settings
from tests.authorizer.token_fixtures import AUDIENCE, ISSUER, SECRET, JwksServer, KeyPair

EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "aws-events"


@pytest.fixture(scope="session")
def recorded() -> Callable[[str], dict[str, Any]]:
    """Load a recorded API Gateway event by name; each call returns a fresh copy."""
    cache: dict[str, dict[str, Any]] = {}

    def load(name: str) -> dict[str, Any]:
        if name not in cache:
            cache[name] = json.loads((EVENTS / f"{name}.json").read_text())
        return copy.deepcopy(cache[name])

    return load


@pytest.fixture
def ws_event(recorded: Callable[[str], dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """The recorded WebSocket $connect authorizer event with ``?token=`` set (or absent)."""

    def build(token: str | None) -> dict[str, Any]:
        event = recorded("websocket-authorizer-request")
        if token is not None:
            event["queryStringParameters"] = {"token": token}
            event["multiValueQueryStringParameters"] = {"token": [token]}
        return event

    return build


@pytest.fixture
def rest_event(recorded: Callable[[str], dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """The recorded REST REQUEST authorizer event with an ``Authorization`` header value."""

    def build(value: str | None, *, header: str = "Authorization") -> dict[str, Any]:
        event = recorded("rest-authorizer-request")
        if value is not None:
            event["headers"][header] = value
            event["multiValueHeaders"][header] = [value]
        return event

    return build


@pytest.fixture
def settings() -> Settings:
    """HS256-only settings with a test secret, issuer and audience."""
    return Settings(
        jwt_secret=SECRET,
        jwt_algorithms=("HS256",),
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        jwt_leeway_s=30,
    )


@pytest.fixture
def verifier(settings: Settings) -> TokenVerifier:
    """The HS256 verifier built from ``settings``."""
    return TokenVerifier(settings=settings)


@pytest.fixture
def claims() -> Callable[..., dict[str, Any]]:
    """Valid player claims; keyword overrides replace claims, and ``None`` removes one."""

    def build(**overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        base: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "player-1",
            "role": "player",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
        }
        base.update(overrides)
        return {k: v for k, v in base.items() if v is not None}

    return build


@pytest.fixture
def hs256(claims: Callable[..., dict[str, Any]]) -> Callable[..., str]:
    """Sign claims (default: valid player claims) with HS256 and the test secret."""

    def sign(payload: dict[str, Any] | None = None, *, secret: str = SECRET) -> str:
        return jwt.encode(claims() if payload is None else payload, secret, algorithm="HS256")

    return sign


@pytest.fixture(scope="session")
def rsa_old() -> KeyPair:
    """An RSA-2048 key, the issuer's key before rotation."""
    return KeyPair("rsa-2025", "RS256", rsa.generate_private_key(65537, 2048))


@pytest.fixture(scope="session")
def rsa_new() -> KeyPair:
    """An RSA-2048 key the issuer rotates to."""
    return KeyPair("rsa-2026", "RS256", rsa.generate_private_key(65537, 2048))


@pytest.fixture(scope="session")
def ec_key() -> KeyPair:
    """A P-256 key for ES256."""
    return KeyPair("ec-1", "ES256", ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture
async def jwks_server() -> AsyncIterator[JwksServer]:
    """Serve a JWKS over aiohttp on an ephemeral port, counting the requests."""
    server = JwksServer()

    async def jwks(_: web.Request) -> web.Response:
        server.requests += 1
        return web.json_response({"keys": server.keys})

    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", jwks)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    server.url = f"http://{host}:{port}/.well-known/jwks.json"
    yield server
    await runner.cleanup()
