"""Lambda entry of the REQUEST authorizer for WebSocket ``$connect`` and the REST API.

``handler`` parses the event, verifies the token and returns the policy;
``authorize`` is the same decision as a pure function, which the local runtime
calls in-process with the same event shapes.

Outcomes, as API Gateway turns them into answers:

- valid token, role may connect -> Allow policy (REST: the whole stage
  ``{api}/{stage}/*/*``, WebSocket: the exact ``methodArn``) with the flat context
  ``{"sub", "playerId", "role"}``; routes read it back with
  :meth:`core.auth.Principal.from_authorizer_context`.
- no, malformed, expired or not-yet-valid token, wrong signature, ``alg: none`` or an
  unpinned algorithm, unknown ``kid``, wrong issuer or audience, missing claims:
  ``authorize`` raises :class:`~core.errors.Unauthorized`; ``handler`` raises
  ``Exception("Unauthorized")``, which API Gateway answers with **401**.
- verified token with no, an unknown or an ambiguous role (or a role that may not
  connect): a Deny policy on the ``methodArn`` with context ``{"code": ...}``,
  which API Gateway answers with **403**.
- JWKS or Secrets Manager unreachable, or bad configuration: the error propagates
  and API Gateway answers **500**; nothing is cached for the token.

The settings and the verifier are built on the first call (cold start), never at
import: importing this module needs no environment and no network, and stays
cheap (PyJWT, cryptography, pydantic-settings and boto3 load on the first call).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from authorizer.request import AuthorizerRequest
from core.auth import CONNECT_ROLES, AuthorizerResponse, principal_from_claims
from core.errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from authorizer.tokens import TokenVerifier

log = logging.getLogger(__name__)

API_GATEWAY_UNAUTHORIZED = "Unauthorized"
"""The exact exception message that makes API Gateway answer 401."""


def authorize(event: Mapping[str, Any], verifier: TokenVerifier) -> dict[str, Any]:
    """Allow or Deny policy for an authorizer event; :class:`Unauthorized` for a bad token."""
    request = AuthorizerRequest.from_event(event)
    claims = verifier.decode(request.token)
    try:
        principal = principal_from_claims(claims)
        if principal.role not in CONNECT_ROLES:
            raise Forbidden(
                f"role {principal.role.value!r} may not connect", code="role_not_allowed"
            )
    except Forbidden as exc:
        log.info("authorizer deny (403): %s: %s", exc.code, exc.message)
        return AuthorizerResponse.deny(
            request.method_arn, claims["sub"], context={"code": exc.code}
        )
    return AuthorizerResponse.allow(request.method_arn, principal)


@functools.cache
def default_verifier() -> TokenVerifier:
    """The verifier of this container, built from ``LEADERBOARD_*`` on first use."""
    from authorizer.tokens import TokenVerifier
    from core.settings import Settings

    return TokenVerifier(settings=Settings())


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry: ``authorize`` with the container's verifier, 401s as API Gateway wants."""
    try:
        return authorize(event, default_verifier())
    except Unauthorized as exc:
        log.info("authorizer refuse (401): %s: %s", exc.code, exc.message)
        raise Exception(API_GATEWAY_UNAUTHORIZED) from None
