"""Where the token is: parse an API Gateway authorizer event into an :class:`AuthorizerRequest`.

- WebSocket ``$connect`` (the event has ``requestContext.connectionId``): the token is
  the ``token`` query-string parameter, because browsers cannot set headers on a
  WebSocket. Headers are ignored.
- REST REQUEST authorizer: the ``Authorization`` header (any case), ``Bearer <token>``.
- REST TOKEN authorizer (``type: TOKEN``): ``authorizationToken``, ``Bearer <token>``.

A missing or empty token raises :class:`~core.errors.Unauthorized` with code
``missing_token``; a value that is not one well-formed bearer token (another scheme,
spaces or control characters, the header or parameter given twice, over
:data:`MAX_TOKEN_CHARS`) raises it with code ``malformed_token``. Only stdlib and
:mod:`core.errors` are imported, so the handler module stays cheap to import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from core.errors import Unauthorized

MAX_TOKEN_CHARS: Final = 8192
TOKEN_PARAM: Final = "token"
AUTH_HEADER: Final = "authorization"

Transport = Literal["websocket", "rest"]

# RFC 6750 b64token, which every JWS compact serialization satisfies.
_BEARER = re.compile(r"Bearer +([A-Za-z0-9._~+/-]+=*)", re.IGNORECASE)
_BEARER_ALONE = re.compile(r"Bearer", re.IGNORECASE)
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~+/-]+=*")


def _missing(where: str) -> Unauthorized:
    return Unauthorized(f"no token: expected {where}", code="missing_token")


def _malformed(what: str) -> Unauthorized:
    return Unauthorized(f"malformed token: {what}", code="malformed_token")


def _as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _one_value(
    single: Mapping[str, Any], multi: Mapping[str, Any], name: str, *, fold_case: bool
) -> Any:
    """The value of ``name`` (header names fold case, query names do not); refuse it twice."""

    def same(key: str) -> bool:
        return (key.lower() if fold_case else key) == name

    values = [v for k, v in single.items() if same(k)]
    for key, many in multi.items():
        if same(key) and isinstance(many, list) and len(many) > 1:
            raise _malformed(f"{name!r} given {len(many)} times, expected once")
    if len(set(map(str, values))) > 1:
        raise _malformed(f"{name!r} given {len(values)} times with different values")
    return values[0] if values else None


def _bearer(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _missing(where)
    text = value.strip()
    if _BEARER_ALONE.fullmatch(text):
        raise _missing(where)
    if m := _BEARER.fullmatch(text):
        return _checked(m.group(1))
    raise _malformed(f"expected {where} as 'Bearer <token>', got a {len(text)}-character value")


def _checked(token: str) -> str:
    if len(token) > MAX_TOKEN_CHARS:
        raise _malformed(f"expected at most {MAX_TOKEN_CHARS} characters, got {len(token)}")
    if not _TOKEN_CHARS.fullmatch(token):
        raise _malformed("expected only base64url characters and dots")
    return token


@dataclass(frozen=True, slots=True)
class AuthorizerRequest:
    """What the authorizer needs from the event: the ARN to grant and the raw token."""

    method_arn: str
    transport: Transport
    token: str

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> AuthorizerRequest:
        """Find the token in a WebSocket or REST authorizer event (rules in the module doc)."""
        method_arn = event.get("methodArn")
        if not isinstance(method_arn, str) or not method_arn:
            raise Unauthorized(
                f"not an authorizer event: expected a 'methodArn', got {method_arn!r}",
                code="bad_method_arn",
            )
        ctx = _as_mapping(event.get("requestContext"))
        if "connectionId" in ctx:
            where = f"the {TOKEN_PARAM!r} query-string parameter"
            raw = _one_value(
                _as_mapping(event.get("queryStringParameters")),
                _as_mapping(event.get("multiValueQueryStringParameters")),
                TOKEN_PARAM,
                fold_case=False,
            )
            if not isinstance(raw, str) or not raw:
                raise _missing(where)
            return cls(method_arn, "websocket", _checked(raw))
        if event.get("type") == "TOKEN":
            token = _bearer(event.get("authorizationToken"), "authorizationToken")
            return cls(method_arn, "rest", token)
        raw = _one_value(
            _as_mapping(event.get("headers")),
            _as_mapping(event.get("multiValueHeaders")),
            AUTH_HEADER,
            fold_case=True,
        )
        return cls(method_arn, "rest", _bearer(raw, "an 'Authorization: Bearer <token>' header"))
