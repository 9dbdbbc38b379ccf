"""Verify a JWT and map it to a :class:`~core.auth.Principal`; mint HS256 tokens.

Keys and algorithms:

- The accepted algorithms are pinned by ``Settings.jwt_algorithms`` (HS256, RS256,
  ES256). The token header's ``alg`` must be one of them, so ``alg: none`` and
  algorithm confusion (an HS256 token checked against a public key) are refused
  before any key is touched. Each algorithm has its own key source.
- HS256: the shared secret (``jwt_secret`` locally; ``jwt_secret_arn`` on AWS, read
  from Secrets Manager on the first HS256 token). It must be at least 32 bytes.
- RS256/ES256: the key named by the token's ``kid`` in the JWKS at ``jwks_url``,
  via :class:`jwt.PyJWKClient`. The key set is cached for ``jwks_cache_s``; an unknown
  ``kid`` refetches the set once (key rotation), at most once per
  ``jwks_cooldown_s`` so a flood of made-up kids cannot hammer the issuer. The
  per-kid LRU (``cache_keys``) is off on purpose: it never expires, so a key the
  issuer removed would keep verifying in a warm container.

Claims: ``exp``, ``iat``, ``sub``, ``iss`` and ``aud`` are required; ``exp``, ``nbf``
and ``iat`` are checked with ``jwt_leeway_s`` of clock skew; ``iss`` and ``aud`` must
equal the configured values.

Every refusal is :class:`~core.errors.Unauthorized` (401) with a stable ``code``:
``missing_token``, ``malformed_token``, ``bad_algorithm``, ``unknown_key``,
``bad_signature``, ``token_expired``, ``token_not_yet_valid``, ``bad_issuer``,
``bad_audience``, ``missing_claim``, ``invalid_claims``, ``invalid_token``. A token
that verifies but grants no usable role is :class:`~core.errors.Forbidden` (403, see
:func:`core.auth.principal_from_claims`). An unreachable JWKS or Secrets Manager is
:class:`~core.errors.Unavailable` and a bad configuration
:class:`~core.errors.ServerError` (``misconfigured``): neither is the caller's fault.

Verification is synchronous and CPU-bound, except the JWKS fetch (blocking
``urllib``, at most every ``jwks_cache_s``): call it from a thread under asyncio
when a JWKS URL is configured. The verifier is thread-safe.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import jwt
from pydantic import SecretStr

from core.auth import Principal, Role, principal_from_claims
from core.errors import ServerError, Unauthorized, Unavailable
from core.ports import SecretReader
from core.settings import Settings

HMAC_ALGORITHMS: Final = frozenset({"HS256"})
JWKS_ALGORITHMS: Final = frozenset({"RS256", "ES256"})
REQUIRED_CLAIMS: Final = ("exp", "iat", "sub", "iss", "aud")
MIN_SECRET_BYTES: Final = 32
JWKS_TIMEOUT_S: Final = 5.0
JWKS_COOLDOWN_S: Final = 30.0

SecretSource = Callable[[], str]

# PyJWT's exceptions, most specific first (InvalidSignatureError is a DecodeError).
_FAILURES: Final[tuple[tuple[type[Exception], str, str], ...]] = (
    (jwt.ExpiredSignatureError, "token_expired", "token expired"),
    (jwt.ImmatureSignatureError, "token_not_yet_valid", "token not yet valid"),
    (jwt.InvalidSignatureError, "bad_signature", "wrong signature"),
    (jwt.InvalidAlgorithmError, "bad_algorithm", "algorithm not allowed"),
    (jwt.InvalidIssuerError, "bad_issuer", "wrong issuer"),
    (jwt.InvalidAudienceError, "bad_audience", "wrong audience"),
    (jwt.MissingRequiredClaimError, "missing_claim", "missing claim"),
    (jwt.InvalidIssuedAtError, "invalid_claims", "invalid claim"),
    (jwt.DecodeError, "malformed_token", "malformed token"),
    (jwt.InvalidTokenError, "invalid_token", "invalid token"),
)


def _misconfigured(message: str) -> ServerError:
    return ServerError(message, code="misconfigured")


def _check_secret(secret: str) -> str:
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise _misconfigured(
            f"the HS256 secret is too short: expected at least {MIN_SECRET_BYTES} bytes, "
            f"got {len(secret.encode())}"
        )
    return secret


def build_jwks_client(
    url: str, *, lifespan_s: float, cooldown_s: float = JWKS_COOLDOWN_S
) -> jwt.PyJWKClient:
    """A PyJWKClient caching the key set for ``lifespan_s``, refetching on unknown kids."""
    return jwt.PyJWKClient(
        url,
        cache_keys=False,
        cache_jwk_set=True,
        lifespan=lifespan_s,
        timeout=JWKS_TIMEOUT_S,
        cooldown_duration=cooldown_s,
    )


class TokenVerifier:
    """Verifies JWTs against the pinned algorithms, keys, issuer and audience of ``settings``.

    ``secret`` (a string, a ``SecretStr`` or a zero-argument callable) and
    ``jwks_client`` override what ``settings`` would build, so tests inject them.
    ``secrets`` reads ``settings.jwt_secret_arn`` (by default the one Secrets Manager
    reader, :class:`aws.secrets.SecretsManagerReader`). Nothing is fetched at construction.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        secret: str | SecretStr | SecretSource | None = None,
        jwks_client: jwt.PyJWKClient | None = None,
        secrets: SecretReader | None = None,
        jwks_cooldown_s: float = JWKS_COOLDOWN_S,
    ) -> None:
        self.algorithms: tuple[str, ...] = tuple(settings.jwt_algorithms)
        if not self.algorithms:
            raise _misconfigured("no JWT algorithm pinned: expected LEADERBOARD_JWT_ALGORITHMS")
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.leeway_s = settings.jwt_leeway_s
        self._secret: SecretSource | None = None
        self._jwks: jwt.PyJWKClient | None = None
        if HMAC_ALGORITHMS & set(self.algorithms):
            self._secret = self._secret_source(settings, secret, secrets)
        if JWKS_ALGORITHMS & set(self.algorithms):
            if jwks_client is None and settings.jwks_url is None:
                raise _misconfigured(
                    f"{sorted(JWKS_ALGORITHMS & set(self.algorithms))} pinned but no JWKS: "
                    "expected LEADERBOARD_JWKS_URL"
                )
            self._jwks = jwks_client or build_jwks_client(
                str(settings.jwks_url), lifespan_s=settings.jwks_cache_s, cooldown_s=jwks_cooldown_s
            )

    @staticmethod
    def _secret_source(
        settings: Settings,
        secret: str | SecretStr | SecretSource | None,
        secrets: SecretReader | None,
    ) -> SecretSource:
        if isinstance(secret, SecretStr):
            value = _check_secret(secret.get_secret_value())
            return lambda: value
        if isinstance(secret, str):
            value = _check_secret(secret)
            return lambda: value
        if secret is not None:
            return lambda: _check_secret(secret())
        if settings.jwt_secret is not None and settings.jwt_secret_arn is not None:
            raise _misconfigured(
                "both LEADERBOARD_JWT_SECRET and LEADERBOARD_JWT_SECRET_ARN are set: expected one"
            )
        if settings.jwt_secret is not None:
            value = _check_secret(settings.jwt_secret.get_secret_value())
            return lambda: value
        if settings.jwt_secret_arn is not None:
            arn = settings.jwt_secret_arn
            if secrets is None:
                from aws.secrets import SecretsManagerReader

                secrets = SecretsManagerReader(region=settings.aws_region)
            reader = secrets
            return lambda: _check_secret(reader.read(arn))
        raise _misconfigured(
            "HS256 pinned but no secret: expected LEADERBOARD_JWT_SECRET (local) "
            "or LEADERBOARD_JWT_SECRET_ARN (AWS)"
        )

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; :class:`Unauthorized` or :class:`Forbidden` if not."""
        return principal_from_claims(self.decode(token))

    def decode(self, token: str) -> dict[str, Any]:
        """The verified claims of ``token``; raises :class:`Unauthorized` with a stable code."""
        if not token:
            raise Unauthorized("no token: expected a JWT", code="missing_token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"malformed token: {exc}", code="malformed_token") from None
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise Unauthorized(
                f"algorithm not allowed: expected one of {list(self.algorithms)}, got {alg!r}",
                code="bad_algorithm",
            )
        key = self._key_for(alg, header)
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[alg],
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway_s,
                options={"require": list(REQUIRED_CLAIMS), "enforce_minimum_key_length": True},
            )
        except jwt.InvalidTokenError as exc:
            raise self._refusal(exc, token) from None
        except jwt.InvalidKeyError as exc:
            raise _misconfigured(f"the {alg} key cannot verify tokens: {exc}") from exc

    def _key_for(self, alg: str, header: Mapping[str, Any]) -> Any:
        if alg in HMAC_ALGORITHMS:
            assert self._secret is not None  # the constructor set it for every pinned HS*
            return self._secret()
        assert self._jwks is not None  # the constructor set it for every pinned RS*/ES*
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized(
                f"no key id: expected a 'kid' header naming a key of the JWKS, got {kid!r}",
                code="unknown_key",
            )
        try:
            key = self._jwks.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError as exc:
            raise Unavailable(f"cannot fetch the JWKS: {exc}", code="jwks_unavailable") from exc
        except jwt.PyJWKClientError as exc:
            if "Unable to find a signing key" not in str(exc):
                raise Unavailable(f"unusable JWKS: {exc}", code="jwks_unavailable") from exc
            raise Unauthorized(
                f"unknown key: no key {kid!r} in the JWKS, even after refetching it",
                code="unknown_key",
            ) from None
        except (jwt.PyJWKSetError, jwt.PyJWKError) as exc:
            raise Unavailable(f"unusable JWKS: {exc}", code="jwks_unavailable") from exc
        if key.algorithm_name != alg:
            raise Unauthorized(
                f"algorithm not allowed: key {kid!r} is for {key.algorithm_name}, got {alg!r}",
                code="bad_algorithm",
            )
        return key

    def _refusal(self, exc: jwt.InvalidTokenError, token: str) -> Unauthorized:
        code, what = next((c, w) for cls, c, w in _FAILURES if isinstance(exc, cls))
        detail = str(exc)
        if code in ("bad_issuer", "bad_audience"):
            # The signature already verified, so these claims are the issuer's own words.
            claims = jwt.decode(token, options={"verify_signature": False})
            name, expected = (
                ("iss", self.issuer) if code == "bad_issuer" else ("aud", self.audience)
            )
            detail = f"expected {expected!r}, got {claims.get(name)!r}"
        return Unauthorized(f"{what}: {detail}", code=code)


def mint_token(
    *,
    secret: str | SecretStr,
    player_id: str | None,
    role: Role | str,
    issuer: str,
    audience: str,
    ttl_s: int,
    now: int | None = None,
    subject: str | None = None,
) -> str:
    """An HS256 token for ``leaderboard token`` and tests.

    ``sub`` is ``subject`` or else ``player_id``; the ``player_id`` claim is set when
    given. ``iat`` and ``nbf`` are ``now`` (epoch seconds), ``exp`` is ``now + ttl_s``.
    """
    raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if len(raw.encode()) < MIN_SECRET_BYTES:
        raise ValueError(f"secret too short: expected at least {MIN_SECRET_BYTES} bytes")
    sub = subject or player_id
    if not sub:
        raise ValueError("a token needs a subject: expected subject or player_id, got neither")
    issued = int(time.time()) if now is None else now
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": sub,
        "role": Role(role).value,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_s,
    }
    if player_id is not None:
        claims["player_id"] = player_id
    return jwt.encode(claims, raw, algorithm="HS256")
