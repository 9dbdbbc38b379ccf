"""Who the caller is and what they may do: roles, principals, decisions, authorizer policies.

Everything here is I/O-free. The authorizer (``authorizer/``) verifies a JWT and maps
its claims to a :class:`Principal` with :func:`principal_from_claims`; the API Gateway
policy it returns is built by :class:`AuthorizerResponse`. Every later route reads the
principal back from ``requestContext.authorizer`` with
:meth:`Principal.from_authorizer_context` and asks :func:`require_role`,
:func:`check_submit_for`, :func:`can_manage_boards` or :func:`can_read`.

Roles:

    player     submits only their own scores (the board checks its bounds); reads
    server     a trusted game server: submits for any player, and batches; reads
    spectator  reads only
    admin      manages boards; reads; does not submit scores

Claim mapping (:func:`principal_from_claims`):

- role: the ``role`` claim, else ``custom:role`` (Cognito custom attribute), else the one
  role name found in ``cognito:groups``. A token that names no role, an unknown role, or
  several role names in its groups is a valid credential with no permission, so it is
  refused with :class:`~core.errors.Forbidden` (403), never guessed.
- player id: the ``player_id`` claim if present, else (for the ``player`` role only) ``sub``.
  Other roles carry a player id only when the token has a ``player_id`` claim.
- a ``sub`` or player id that is not a valid id is a broken credential:
  :class:`~core.errors.Unauthorized` (401).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, model_validator

from core.errors import Forbidden, Unauthorized
from core.ids import PLAYER_PATTERN, PlayerId

ContextValue = str | int | bool
"""What API Gateway accepts as an authorizer ``context`` value (no nesting, no null)."""

POLICY_VERSION: Final = "2012-10-17"
INVOKE_ACTION: Final = "execute-api:Invoke"

# Keys of the flat authorizer context, as every route receives them.
CTX_SUBJECT: Final = "sub"
CTX_PLAYER_ID: Final = "playerId"
CTX_ROLE: Final = "role"

CLAIM_ROLE: Final = "role"
CLAIM_COGNITO_ROLE: Final = "custom:role"
CLAIM_COGNITO_GROUPS: Final = "cognito:groups"
CLAIM_PLAYER_ID: Final = "player_id"
CLAIM_SUBJECT: Final = "sub"


class Role(StrEnum):
    PLAYER = "player"
    SERVER = "server"
    SPECTATOR = "spectator"
    ADMIN = "admin"


ROLE_NAMES: Final = frozenset(r.value for r in Role)
CONNECT_ROLES: Final = frozenset(Role)
"""Roles that may open a WebSocket or call the REST API at all (route handlers narrow it)."""


class Principal(BaseModel):
    """An authenticated caller: the token's subject, their player id if any, and one role."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    subject: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    player_id: Annotated[PlayerId, StringConstraints(pattern=PLAYER_PATTERN)] | None = None
    role: Role

    @model_validator(mode="after")
    def _player_has_id(self) -> Principal:
        if self.role is Role.PLAYER and self.player_id is None:
            raise ValueError("a principal with role 'player' needs a player id, got none")
        return self

    def to_context(self) -> dict[str, ContextValue]:
        """The flat authorizer context; ``playerId`` is ``""`` when there is none."""
        return {
            CTX_SUBJECT: self.subject,
            CTX_PLAYER_ID: self.player_id or "",
            CTX_ROLE: self.role.value,
        }

    @classmethod
    def from_authorizer_context(cls, ctx: Mapping[str, Any] | None) -> Principal:
        """Read the principal back from ``requestContext.authorizer``.

        API Gateway delivers the context with every value stringified and adds
        ``principalId`` and ``integrationLatency``; those extra keys are ignored.
        Raises :class:`Unauthorized` when the context is missing or broken.
        """
        if not ctx:
            raise Unauthorized(
                "no authorizer context on the request: expected requestContext.authorizer",
                code="missing_authorizer_context",
            )
        subject, role, pid = ctx.get(CTX_SUBJECT), ctx.get(CTX_ROLE), ctx.get(CTX_PLAYER_ID)
        if not (isinstance(subject, str) and isinstance(role, str) and isinstance(pid, str | None)):
            raise Unauthorized(
                "invalid authorizer context: expected string 'sub', 'role' and 'playerId', "
                f"got sub={subject!r} role={role!r} playerId={pid!r}",
                code="bad_authorizer_context",
            )
        try:
            return cls.model_validate({"subject": subject, "player_id": pid or None, "role": role})
        except ValidationError as exc:
            raise Unauthorized(
                f"invalid authorizer context: {_first_error(exc)}", code="bad_authorizer_context"
            ) from None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"]) or "principal"
    return f"{where}: {err['msg']}, got {err.get('input')!r}"


def role_from_claims(claims: Mapping[str, Any]) -> Role:
    """The one role the claims grant; :class:`Forbidden` if none, unknown or several."""
    for claim in (CLAIM_ROLE, CLAIM_COGNITO_ROLE):
        if claim in claims:
            value = claims[claim]
            if isinstance(value, str) and value in ROLE_NAMES:
                return Role(value)
            raise Forbidden(
                f"unknown role in claim {claim!r}: expected one of {sorted(ROLE_NAMES)}, "
                f"got {value!r}",
                code="unknown_role",
            )
    groups = claims.get(CLAIM_COGNITO_GROUPS)
    if groups is not None:
        if isinstance(groups, str):
            groups = [groups]
        found = sorted({g for g in groups if isinstance(g, str) and g in ROLE_NAMES})
        if len(found) == 1:
            return Role(found[0])
        if len(found) > 1:
            raise Forbidden(
                f"ambiguous role: claim {CLAIM_COGNITO_GROUPS!r} names several roles {found}, "
                "expected exactly one",
                code="ambiguous_role",
            )
    raise Forbidden(
        f"no role in the token: expected claim {CLAIM_ROLE!r}, {CLAIM_COGNITO_ROLE!r} or a "
        f"{CLAIM_COGNITO_GROUPS!r} entry naming one of {sorted(ROLE_NAMES)}",
        code="missing_role",
    )


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """Map verified JWT claims to a principal (rules in the module docstring).

    Raises :class:`Forbidden` for a missing, unknown or ambiguous role and
    :class:`Unauthorized` for a missing or invalid subject or player id.
    """
    subject = claims.get(CLAIM_SUBJECT)
    if not isinstance(subject, str) or not subject:
        raise Unauthorized(
            f"invalid token: expected a non-empty string 'sub' claim, got {subject!r}",
            code="missing_claim",
        )
    role = role_from_claims(claims)
    pid = claims.get(CLAIM_PLAYER_ID)
    if pid is None and role is Role.PLAYER:
        pid = subject
    try:
        return Principal.model_validate({"subject": subject, "player_id": pid, "role": role})
    except ValidationError as exc:
        raise Unauthorized(
            f"invalid token claims: {_first_error(exc)}", code="invalid_claims"
        ) from None


# --- decisions -------------------------------------------------------------------


def require_role(principal: Principal, *roles: Role) -> None:
    """Raise :class:`Forbidden` unless the principal holds one of ``roles``."""
    if principal.role not in roles:
        allowed = ", ".join(repr(r.value) for r in roles)
        raise Forbidden(
            f"role {principal.role.value!r} may not do this: expected one of [{allowed}]",
            code="role_not_allowed",
        )


def check_submit_for(principal: Principal, player_id: PlayerId, *, batch: bool) -> None:
    """Raise :class:`Forbidden` unless the principal may submit a score for ``player_id``.

    A server may submit for anyone, singly or in batches. A player may submit one
    score at a time, for themselves only. Spectators and admins never submit.
    """
    if principal.role is Role.SERVER:
        return
    require_role(principal, Role.PLAYER, Role.SERVER)
    if batch:
        raise Forbidden(
            f"role {principal.role.value!r} may not submit batches: expected role 'server'",
            code="batch_not_allowed",
        )
    if player_id != principal.player_id:
        raise Forbidden(
            f"a player may submit only their own scores: expected player {principal.player_id!r}, "
            f"got {player_id!r}",
            code="not_your_player",
        )


def submission_scope(principal: Principal) -> str:
    """Whose submission ids a submit uses: a player's own (``player:<player id>``, the same
    across their tokens) or a token subject's (``server:<subject>``). Replays and
    conflicts hold within one scope, so no one can occupy another's ids."""
    if principal.role is Role.PLAYER and principal.player_id is not None:
        return f"player:{principal.player_id}"
    return f"{principal.role.value}:{principal.subject}"


def can_manage_boards(principal: Principal) -> bool:
    """Whether the principal may create, configure, reset or delete boards (admins only)."""
    return principal.role is Role.ADMIN


def can_read(principal: Principal) -> bool:
    """Whether the principal may read boards and subscribe to them (every role)."""
    return principal.role in CONNECT_ROLES


# --- API Gateway authorizer responses ----------------------------------------------

_METHOD_ARN = re.compile(
    r"^arn:(?P<partition>[\w-]+):execute-api:(?P<region>[^:/]+):(?P<account>[^:/]+):"
    r"(?P<api_id>[^:/]+)/(?P<stage>[^/]+)/(?P<rest>.+)$"
)


@dataclass(frozen=True, slots=True)
class MethodArn:
    """The parts of an authorizer ``methodArn``.

    REST: ``arn:aws:execute-api:{region}:{account}:{api}/{stage}/{VERB}/{path...}``.
    WebSocket: ``arn:aws:execute-api:{region}:{account}:{api}/{stage}/{routeKey}``.
    """

    partition: str
    region: str
    account: str
    api_id: str
    stage: str
    rest: str

    @classmethod
    def parse(cls, arn: str) -> MethodArn:
        """Split a ``methodArn``; raises :class:`Unauthorized` if it is not one."""
        m = _METHOD_ARN.fullmatch(arn)
        if m is None:
            raise Unauthorized(
                "invalid methodArn: expected arn:aws:execute-api:region:account:api/stage/..., "
                f"got {arn!r}",
                code="bad_method_arn",
            )
        return cls(**m.groupdict())

    @property
    def is_websocket(self) -> bool:
        """A WebSocket route key has no ``/``; a REST method ARN has ``VERB/path``."""
        return "/" not in self.rest

    def stage_wildcard(self) -> str:
        """Every method and path of this API's stage: ``.../{api}/{stage}/*/*``."""
        return (
            f"arn:{self.partition}:execute-api:{self.region}:{self.account}:"
            f"{self.api_id}/{self.stage}/*/*"
        )


def _check_flat(context: Mapping[str, Any]) -> dict[str, ContextValue]:
    for key, value in context.items():
        if not isinstance(value, str | int | bool):
            raise TypeError(
                f"authorizer context must be flat: expected str, int or bool for {key!r}, "
                f"got {type(value).__name__}"
            )
    return dict(context)


@dataclass(frozen=True, slots=True)
class AuthorizerResponse:
    """Builder of the exact API Gateway Lambda-authorizer answer.

    ``allow`` on a REST ``methodArn`` grants the whole stage (``{api}/{stage}/*/*``):
    API Gateway caches the policy per token and reuses it for every route, so a
    policy naming only the first route would refuse the others with a cached 403.
    Per-route decisions are made by the route handlers from the principal. On a
    WebSocket ``$connect`` the exact ``methodArn`` is allowed. ``deny`` always
    names the exact ``methodArn``.
    """

    principal_id: str
    effect: Literal["Allow", "Deny"]
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    def asdict(self) -> dict[str, Any]:
        """The response as API Gateway expects it from the Lambda."""
        return {
            "principalId": self.principal_id,
            "policyDocument": {
                "Version": POLICY_VERSION,
                "Statement": [
                    {"Action": INVOKE_ACTION, "Effect": self.effect, "Resource": self.resource}
                ],
            },
            "context": _check_flat(self.context),
        }

    @classmethod
    def allow(cls, method_arn: str, principal: Principal) -> dict[str, Any]:
        """Allow ``principal`` (stage-wide on REST, the exact route on WebSocket)."""
        arn = MethodArn.parse(method_arn)
        resource = method_arn if arn.is_websocket else arn.stage_wildcard()
        return cls(principal.subject, "Allow", resource, principal.to_context()).asdict()

    @classmethod
    def deny(
        cls,
        method_arn: str,
        principal_id: str,
        *,
        context: Mapping[str, ContextValue] | None = None,
    ) -> dict[str, Any]:
        """Deny ``principal_id`` on exactly ``method_arn`` (API Gateway answers 403)."""
        MethodArn.parse(method_arn)
        return cls(principal_id, "Deny", method_arn, dict(context or {})).asdict()


def stringify_context_value(value: ContextValue) -> str:
    """A context value as API Gateway hands it to routes: ``true``/``false``, digits, text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def request_context_authorizer(
    response: Mapping[str, Any], *, integration_latency_ms: int = 0
) -> dict[str, Any]:
    """What API Gateway puts in ``requestContext.authorizer`` after an Allow ``response``.

    The local runtime uses it to hand routes the very shape AWS delivers: the
    ``principalId``, the ``integrationLatency`` and every context value stringified.
    """
    ctx = _check_flat(response.get("context") or {})
    return {
        **{key: stringify_context_value(value) for key, value in ctx.items()},
        "principalId": response["principalId"],
        "integrationLatency": integration_latency_ms,
    }


__all__ = [
    "CONNECT_ROLES",
    "AuthorizerResponse",
    "ContextValue",
    "MethodArn",
    "Principal",
    "Role",
    "can_manage_boards",
    "can_read",
    "check_submit_for",
    "principal_from_claims",
    "request_context_authorizer",
    "require_role",
    "role_from_claims",
    "stringify_context_value",
    "submission_scope",
]
