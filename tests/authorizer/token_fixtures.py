"""Shared values of the authorizer tests: the HS256 secret, issuer, audience, keys, JWKS state.

Imported by ``conftest.py`` and the test modules (a unique module name, so it never
clashes with another directory's ``conftest``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jwt
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

SECRET = "test-secret-0123456789abcdef-0123456789abcdef"
ISSUER = "https://issuer.test"
AUDIENCE = "leaderboard-test"


@dataclass
class KeyPair:
    """A private signing key and its public JWK."""

    kid: str
    alg: str
    private: Any

    @property
    def jwk(self) -> dict[str, Any]:
        codec = RSAAlgorithm if self.alg == "RS256" else ECAlgorithm
        public = codec.to_jwk(self.private.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def sign(self, payload: dict[str, Any], *, kid: str | None = None) -> str:
        return jwt.encode(
            payload, self.private, algorithm=self.alg, headers={"kid": kid or self.kid}
        )


@dataclass
class JwksServer:
    """A real HTTP JWKS endpoint on 127.0.0.1; ``keys`` is what it serves right now."""

    url: str = ""
    keys: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
