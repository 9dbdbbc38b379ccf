"""TokenVerifier: pinned algorithms, claims, secrets, JWKS caching and rotation; mint_token."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from authorizer.tokens import TokenVerifier, build_jwks_client, mint_token
from aws.secrets import SecretsManagerReader
from core.auth import Principal, Role
from core.errors import Forbidden, ServerError, Unauthorized, Unavailable
from core.settings import Settings
from tests.authorizer.token_fixtures import AUDIENCE, ISSUER, SECRET, JwksServer, KeyPair

Sign = Callable[..., str]
Claims = Callable[..., dict[str, Any]]


def b64(data: bytes | dict[str, Any]) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned(alg: str, payload: dict[str, Any]) -> str:
    return f"{b64({'alg': alg, 'typ': 'JWT'})}.{b64(payload)}."


def tampered(token: str, **changes: Any) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return f"{header}.{b64({**claims, **changes})}.{signature}"


def jwks_settings(url: str, *algorithms: str) -> Settings:
    return Settings(
        jwks_url=url, jwt_algorithms=algorithms, jwt_issuer=ISSUER, jwt_audience=AUDIENCE
    )


def refused(verifier: TokenVerifier, token: str) -> Unauthorized:
    with pytest.raises(Unauthorized) as info:
        verifier.verify(token)
    assert info.type is Unauthorized
    return info.value


# --- HS256 ------------------------------------------------------------------------


def test_valid_hs256_token_maps_to_principal(verifier: TokenVerifier, hs256: Sign) -> None:
    """A valid HS256 player token verifies to the player's principal."""
    assert verifier.verify(hs256()) == Principal(
        subject="player-1", player_id="player-1", role=Role.PLAYER
    )


NOW = int(time.time())
FAILURES: dict[str, tuple[Callable[[Sign, Claims], str], str]] = {
    "empty": (lambda s, c: "", "missing_token"),
    "garbage": (lambda s, c: "not-a-jwt", "malformed_token"),
    "two segments": (lambda s, c: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0", "malformed_token"),
    "bad base64 header": (lambda s, c: "!!!." + s().split(".", 1)[1], "malformed_token"),
    "header not json": (lambda s, c: b64(b"hello") + "." + s().split(".", 1)[1], "malformed_token"),
    "signed payload not json": (
        lambda s, c: jwt.api_jws.encode(b"[1,", SECRET, algorithm="HS256"),
        "malformed_token",
    ),
    "payload swapped for non-json": (
        lambda s, c: s().split(".")[0] + "." + b64(b"[1,") + "." + s().split(".")[2],
        "bad_signature",
    ),
    "alg none": (lambda s, c: unsigned("none", c()), "bad_algorithm"),
    "alg None": (lambda s, c: unsigned("None", c()), "bad_algorithm"),
    "alg missing": (lambda s, c: f"{b64({'typ': 'JWT'})}.{b64(c())}.", "bad_algorithm"),
    "HS512 not pinned": (lambda s, c: jwt.encode(c(), SECRET * 2, "HS512"), "bad_algorithm"),
    "expired": (lambda s, c: s(c(exp=NOW - 120)), "token_expired"),
    "nbf in future": (lambda s, c: s(c(nbf=NOW + 600)), "token_not_yet_valid"),
    "iat in future": (lambda s, c: s(c(iat=NOW + 600, nbf=None)), "token_not_yet_valid"),
    "wrong issuer": (lambda s, c: s(c(iss="https://evil.test")), "bad_issuer"),
    "wrong audience": (lambda s, c: s(c(aud="someone-else")), "bad_audience"),
    "audience list without ours": (lambda s, c: s(c(aud=["a", "b"])), "bad_audience"),
    "missing sub": (lambda s, c: s(c(sub=None)), "missing_claim"),
    "missing exp": (lambda s, c: s(c(exp=None)), "missing_claim"),
    "missing iat": (lambda s, c: s(c(iat=None)), "missing_claim"),
    "missing iss": (lambda s, c: s(c(iss=None)), "missing_claim"),
    "missing aud": (lambda s, c: s(c(aud=None)), "missing_claim"),
    "exp not a number": (lambda s, c: s(c(exp="tomorrow")), "malformed_token"),
    "sub not a string": (lambda s, c: s(c(sub=42)), "invalid_token"),
    "invalid player id": (lambda s, c: s(c(sub="bad player!")), "invalid_claims"),
    "wrong secret": (
        lambda s, c: s(secret="another-secret-0123456789abcdef-0123"),
        "bad_signature",
    ),
    "tampered payload": (lambda s, c: tampered(s(), role="admin"), "bad_signature"),
    "signature stripped": (lambda s, c: s().rsplit(".", 1)[0] + ".", "bad_signature"),
}


@pytest.mark.parametrize(("build", "code"), FAILURES.values(), ids=FAILURES.keys())
def test_bad_token_is_unauthorized_with_stable_code(
    verifier: TokenVerifier, hs256: Sign, claims: Claims, build: Callable[..., str], code: str
) -> None:
    """Each kind of bad token is refused with Unauthorized (401) and its own code."""
    error = refused(verifier, build(hs256, claims))
    assert (error.code, error.status) == (code, 401)


def test_wrong_issuer_message_quotes_expected_and_actual(
    verifier: TokenVerifier, hs256: Sign, claims: Claims
) -> None:
    """The bad-issuer message names the expected and the received issuer."""
    error = refused(verifier, hs256(claims(iss="https://evil.test")))
    assert error.message == f"wrong issuer: expected {ISSUER!r}, got 'https://evil.test'"


def test_rs256_token_refused_when_only_hs256_pinned(
    verifier: TokenVerifier, rsa_old: KeyPair, claims: Claims
) -> None:
    """An RS256 token is refused as bad_algorithm when only HS256 is pinned."""
    assert refused(verifier, rsa_old.sign(claims())).code == "bad_algorithm"


@pytest.mark.parametrize(
    ("role_claims", "code"),
    [({"role": "superuser"}, "unknown_role"), ({"role": None}, "missing_role")],
)
def test_verified_token_without_usable_role_is_forbidden(
    verifier: TokenVerifier, hs256: Sign, claims: Claims, role_claims: dict[str, Any], code: str
) -> None:
    """A correctly signed token naming no known role is Forbidden (403), not Unauthorized."""
    with pytest.raises(Forbidden) as info:
        verifier.verify(hs256(claims(**role_claims)))
    assert (info.value.code, info.value.status) == (code, 403)


@pytest.mark.parametrize("field", ["exp", "nbf"])
def test_leeway_absorbs_small_clock_skew(
    settings: Settings, hs256: Sign, claims: Claims, field: str
) -> None:
    """A token 10 s past exp (or 10 s before nbf) passes with 30 s leeway and fails with none."""
    now = int(time.time())
    token = hs256(claims(**{field: now - 10 if field == "exp" else now + 10}))
    assert TokenVerifier(settings=settings).verify(token).subject == "player-1"
    strict = TokenVerifier(settings=settings.model_copy(update={"jwt_leeway_s": 0}))
    expected = "token_expired" if field == "exp" else "token_not_yet_valid"
    assert refused(strict, token).code == expected


def test_server_token_without_player_has_no_player_id(
    verifier: TokenVerifier, hs256: Sign, claims: Claims
) -> None:
    """A server token keeps its subject and carries no player id."""
    principal = verifier.verify(hs256(claims(sub="game-server-eu", role="server")))
    assert principal == Principal(subject="game-server-eu", player_id=None, role=Role.SERVER)


def test_cognito_groups_give_the_role(verifier: TokenVerifier, hs256: Sign, claims: Claims) -> None:
    """A Cognito-style token takes its role from cognito:groups."""
    token = hs256(claims(role=None, **{"cognito:groups": ["beta", "spectator"]}))
    assert verifier.verify(token).role is Role.SPECTATOR


# --- configuration and the Secrets Manager adapter -------------------------------


@pytest.mark.parametrize(
    ("overrides", "names"),
    [
        ({}, "LEADERBOARD_JWT_SECRET"),
        ({"jwt_secret": SECRET, "jwt_secret_arn": "arn:x"}, "LEADERBOARD_JWT_SECRET_ARN"),
        ({"jwt_secret": "short"}, "at least 32 bytes"),
        ({"jwt_algorithms": ("RS256",)}, "LEADERBOARD_JWKS_URL"),
        ({"jwt_algorithms": ()}, "LEADERBOARD_JWT_ALGORITHMS"),
    ],
)
def test_bad_configuration_fails_at_construction_naming_the_key(
    overrides: dict[str, Any], names: str
) -> None:
    """A verifier that cannot work fails when built, with a message naming what is missing."""
    with pytest.raises(ServerError) as info:
        TokenVerifier(settings=Settings(**overrides))
    assert info.value.code == "misconfigured"
    assert names in info.value.message


class SecretsManagerStub:
    """Stands in for boto3's secretsmanager client: one secret, counted reads."""

    def __init__(self, value: str | None, *, fail: bool = False) -> None:
        self.value, self.fail, self.reads = value, fail, 0

    def get_secret_value(self, *, SecretId: str) -> dict[str, Any]:
        self.reads += 1
        if self.fail:
            raise RuntimeError("AccessDeniedException")
        return {"ARN": SecretId, "SecretString": self.value}


def test_secret_arn_is_read_once_on_first_token(hs256: Sign) -> None:
    """With jwt_secret_arn the secret is read on the first token, not when built, then cached."""
    stub = SecretsManagerStub(SECRET)
    settings = Settings(
        jwt_secret_arn="arn:aws:secretsmanager:eu-west-1:1:secret:jwt",
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
    )
    verifier = TokenVerifier(
        settings=settings, secrets=SecretsManagerReader(region="eu-west-1", client=stub)
    )
    assert stub.reads == 0
    assert verifier.verify(hs256()).player_id == "player-1"
    assert verifier.verify(hs256()).player_id == "player-1"
    assert stub.reads == 1


def test_unreadable_secret_is_unavailable_not_unauthorized(hs256: Sign) -> None:
    """A failing Secrets Manager read is Unavailable (→ 500), never blamed on the caller."""
    settings = Settings(jwt_secret_arn="arn:x", jwt_issuer=ISSUER, jwt_audience=AUDIENCE)
    verifier = TokenVerifier(
        settings=settings,
        secrets=SecretsManagerReader(
            region="eu-west-1", client=SecretsManagerStub(None, fail=True)
        ),
    )
    with pytest.raises(Unavailable) as info:
        verifier.verify(hs256())
    assert info.value.code == "secret_unavailable"


def test_injected_secret_overrides_settings(hs256: Sign) -> None:
    """A secret passed to the constructor is used without any settings secret."""
    verifier = TokenVerifier(
        settings=Settings(jwt_issuer=ISSUER, jwt_audience=AUDIENCE), secret=SECRET
    )
    assert verifier.verify(hs256()).role is Role.PLAYER


# --- RS256 / ES256 from a real JWKS endpoint -------------------------------------


async def test_rs256_and_es256_verify_through_jwks(
    jwks_server: JwksServer, rsa_old: KeyPair, ec_key: KeyPair, claims: Claims
) -> None:
    """RS256 and ES256 tokens verify against keys fetched from the JWKS URL."""
    jwks_server.keys = [rsa_old.jwk, ec_key.jwk]
    verifier = TokenVerifier(settings=jwks_settings(jwks_server.url, "RS256", "ES256"))
    rs = await asyncio.to_thread(verifier.verify, rsa_old.sign(claims()))
    es = await asyncio.to_thread(verifier.verify, ec_key.sign(claims(sub="p2")))
    assert (rs.player_id, es.player_id) == ("player-1", "p2")


async def test_jwks_is_fetched_once_and_cached(
    jwks_server: JwksServer, rsa_old: KeyPair, claims: Claims
) -> None:
    """Many verifications within jwks_cache_s make one JWKS request."""
    jwks_server.keys = [rsa_old.jwk]
    verifier = TokenVerifier(settings=jwks_settings(jwks_server.url, "RS256"))
    for i in range(5):
        await asyncio.to_thread(verifier.verify, rsa_old.sign(claims(sub=f"p{i}")))
    assert jwks_server.requests == 1


async def test_rotated_key_verifies_after_one_refetch(
    jwks_server: JwksServer, rsa_old: KeyPair, rsa_new: KeyPair, claims: Claims
) -> None:
    """When the issuer rotates keys, a token with the new kid triggers one refetch and verifies."""
    jwks_server.keys = [rsa_old.jwk]
    verifier = TokenVerifier(settings=jwks_settings(jwks_server.url, "RS256"), jwks_cooldown_s=0)
    await asyncio.to_thread(verifier.verify, rsa_old.sign(claims()))
    jwks_server.keys = [rsa_old.jwk, rsa_new.jwk]
    principal = await asyncio.to_thread(verifier.verify, rsa_new.sign(claims(sub="p2")))
    assert principal.player_id == "p2"
    assert jwks_server.requests == 2
    await asyncio.to_thread(verifier.verify, rsa_new.sign(claims(sub="p3")))
    assert jwks_server.requests == 2


async def test_unknown_kid_refetches_once_then_is_unauthorized(
    jwks_server: JwksServer, rsa_old: KeyPair, claims: Claims
) -> None:
    """A kid absent even after one refetch is refused as unknown_key."""
    jwks_server.keys = [rsa_old.jwk]
    verifier = TokenVerifier(settings=jwks_settings(jwks_server.url, "RS256"), jwks_cooldown_s=0)
    await asyncio.to_thread(verifier.verify, rsa_old.sign(claims()))
    token = rsa_old.sign(claims(), kid="nobody")
    error = await asyncio.to_thread(refused, verifier, token)
    assert error.code == "unknown_key"
    assert jwks_server.requests == 2


async def test_unknown_kid_flood_is_throttled_by_cooldown(
    jwks_server: JwksServer, rsa_old: KeyPair, claims: Claims
) -> None:
    """Within the refetch cooldown, made-up kids are refused without hitting the JWKS."""
    jwks_server.keys = [rsa_old.jwk]
    verifier = TokenVerifier(settings=jwks_settings(jwks_server.url, "RS256"))
    await asyncio.to_thread(verifier.verify, rsa_old.sign(claims()))
    for i in range(5):
        error = await asyncio.to_thread(refused, verifier, rsa_old.sign(claims(), kid=f"k{i}"))
        assert error.code == "unknown_key"
    assert jwks_server.requests == 1


async def test_removed_key_stops_verifying_after_cache_lifespan(
    jwks_server: JwksServer, rsa_old: KeyPair, rsa_new: KeyPair, claims: Claims
) -> None:
    """A key the issuer removed from its JWKS is refused once the cached key set expires."""
    jwks_server.keys = [rsa_old.jwk]
    client = build_jwks_client(jwks_server.url, lifespan_s=0.2, cooldown_s=0)
    settings = jwks_settings(jwks_server.url, "RS256")
    verifier = TokenVerifier(settings=settings, jwks_client=client)
    await asyncio.to_thread(verifier.verify, rsa_old.sign(claims()))
    jwks_server.keys = [rsa_new.jwk]
    await asyncio.sleep(0.3)
    error = await asyncio.to_thread(refused, verifier, rsa_old.sign(claims()))
    assert error.code == "unknown_key"


async def test_token_without_kid_is_unknown_key(
    jwks_server: JwksServer, rsa_old: KeyPair, claims: Claims
) -> None:
    """An RS256 token with no kid header is refused without fetching the JWKS."""
    jwks_server.keys = [rsa_old.jwk]
    verifier = TokenVerifier(settings=jwks_settings(jwks_server.url, "RS256"))
    token = jwt.encode(claims(), rsa_old.private, algorithm="RS256")
    assert refused(verifier, token).code == "unknown_key"
    assert jwks_server.requests == 0


async def test_kid_of_a_key_for_another_algorithm_is_bad_algorithm(
    jwks_server: JwksServer, rsa_old: KeyPair, ec_key: KeyPair, claims: Claims
) -> None:
    """An RS256 token naming the kid of an EC key is refused as bad_algorithm."""
    jwks_server.keys = [rsa_old.jwk, ec_key.jwk]
    verifier = TokenVerifier(settings=jwks_settings(jwks_server.url, "RS256", "ES256"))
    token = rsa_old.sign(claims(), kid=ec_key.kid)
    error = await asyncio.to_thread(refused, verifier, token)
    assert error.code == "bad_algorithm"


async def test_es256_token_refused_when_only_rs256_pinned(
    jwks_server: JwksServer, ec_key: KeyPair, claims: Claims
) -> None:
    """An ES256 token is refused when only RS256 is pinned, before any JWKS request."""
    jwks_server.keys = [ec_key.jwk]
    verifier = TokenVerifier(settings=jwks_settings(jwks_server.url, "RS256"))
    assert refused(verifier, ec_key.sign(claims())).code == "bad_algorithm"
    assert jwks_server.requests == 0


@pytest.mark.parametrize("pinned", [("RS256",), ("HS256", "RS256")])
async def test_hs256_keyed_with_the_public_key_is_refused(
    jwks_server: JwksServer, rsa_old: KeyPair, claims: Claims, pinned: tuple[str, ...]
) -> None:
    """Algorithm confusion fails: an HS256 token keyed with the RSA public key never verifies."""
    jwks_server.keys = [rsa_old.jwk]
    pem = rsa_old.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64({"alg": "HS256", "typ": "JWT", "kid": rsa_old.kid})
    signing_input = f"{header}.{b64(claims())}"
    sig = b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())
    settings = jwks_settings(jwks_server.url, *pinned).model_copy(update={"jwt_secret": None})
    verifier = (
        TokenVerifier(settings=settings, secret=SECRET)
        if "HS256" in pinned
        else TokenVerifier(settings=settings)
    )
    error = refused(verifier, f"{signing_input}.{sig}")
    assert error.code == ("bad_signature" if "HS256" in pinned else "bad_algorithm")


def test_unreachable_jwks_is_unavailable(rsa_old: KeyPair, claims: Claims) -> None:
    """A JWKS that cannot be fetched is Unavailable (→ 500), not the caller's fault."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    verifier = TokenVerifier(settings=jwks_settings(f"http://127.0.0.1:{port}/jwks", "RS256"))
    with pytest.raises(Unavailable) as info:
        verifier.verify(rsa_old.sign(claims()))
    assert info.value.code == "jwks_unavailable"


# --- mint_token ----------------------------------------------------------------------


def test_minted_token_round_trips(verifier: TokenVerifier) -> None:
    """A minted player token verifies to the same player and role."""
    token = mint_token(
        secret=SECRET,
        player_id="alice",
        role=Role.PLAYER,
        issuer=ISSUER,
        audience=AUDIENCE,
        ttl_s=60,
    )
    assert verifier.verify(token) == Principal(subject="alice", player_id="alice", role=Role.PLAYER)


def test_minted_token_carries_times_from_now() -> None:
    """mint_token sets iat and nbf to now and exp to now + ttl_s, and the given subject."""
    token = mint_token(
        secret=SECRET,
        player_id=None,
        role="server",
        issuer=ISSUER,
        audience=AUDIENCE,
        ttl_s=60,
        now=1_000,
        subject="game-server",
    )
    assert jwt.decode(token, options={"verify_signature": False}) == {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "game-server",
        "role": "server",
        "iat": 1_000,
        "nbf": 1_000,
        "exp": 1_060,
    }


def test_expired_minted_token_is_refused(verifier: TokenVerifier) -> None:
    """A token minted an hour ago with a one-minute ttl is refused as expired."""
    token = mint_token(
        secret=SECRET,
        player_id="alice",
        role="player",
        issuer=ISSUER,
        audience=AUDIENCE,
        ttl_s=60,
        now=int(time.time()) - 3600,
    )
    assert refused(verifier, token).code == "token_expired"


@pytest.mark.parametrize(
    "kwargs", [{"secret": "short", "player_id": "a"}, {"secret": SECRET, "player_id": None}]
)
def test_mint_token_refuses_short_secret_or_no_subject(kwargs: dict[str, Any]) -> None:
    """mint_token refuses a secret under 32 bytes and a token with no subject."""
    with pytest.raises(ValueError):
        mint_token(**kwargs, role="player", issuer=ISSUER, audience=AUDIENCE, ttl_s=60)
