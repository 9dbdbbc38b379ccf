"""A typed, read-only view of an API Gateway REST API (v1) Lambda proxy event, and the
proxy response. Nothing past this module reads ``event[...]`` directly.

The route path is rebuilt from ``resource`` and ``pathParameters`` (``/v1/{proxy+}``
with ``proxy=boards/arena`` is ``/v1/boards/arena``), not taken from ``path``: behind a
custom domain ``path`` carries the base-path mapping, while the resource is the API's
own. Header names fold to lower case; a header or query parameter given several times
keeps its last value (API Gateway's single-value view).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.auth import Principal
from core.errors import BadRequest

_TEMPLATE_PARAM = re.compile(r"\{([^{}+]+)\+?\}")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _strings(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in _mapping(value).items() if v is not None}


def route_path(resource: str, path_parameters: Mapping[str, str], path: str) -> str:
    """The API's own path: ``resource`` with its ``{name}``/``{name+}`` filled in."""
    if not resource:
        return path
    missing = [m for m in _TEMPLATE_PARAM.findall(resource) if m not in path_parameters]
    if missing:
        return path
    return _TEMPLATE_PARAM.sub(lambda m: path_parameters[m.group(1)], resource)


@dataclass(frozen=True)
class RestRequest:
    """The parts of a REST proxy event that the API uses."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes | None
    authorizer: Mapping[str, Any]
    request_id: str
    stage: str
    domain_name: str

    @classmethod
    def parse(cls, event: Mapping[str, Any]) -> RestRequest:
        """Read a REST proxy v1 event; :class:`BadRequest` if it is not one."""
        ctx = event.get("requestContext")
        method = event.get("httpMethod")
        if not isinstance(ctx, Mapping) or not isinstance(method, str):
            raise BadRequest(
                "not an API Gateway REST proxy event: expected 'httpMethod' and 'requestContext'",
                code="bad_event",
            )
        raw = event.get("body")
        body: bytes | None = None
        if isinstance(raw, str):
            if event.get("isBase64Encoded"):
                try:
                    body = base64.b64decode(raw, validate=True)
                except (binascii.Error, ValueError):
                    raise BadRequest("the body is not valid base64", code="bad_event") from None
            else:
                body = raw.encode()
        return cls(
            method=method.upper(),
            path=route_path(
                str(event.get("resource") or ""),
                _strings(event.get("pathParameters")),
                str(event.get("path") or "/"),
            ),
            query=_strings(event.get("queryStringParameters")),
            headers={k.lower(): v for k, v in _strings(event.get("headers")).items()},
            body=body,
            authorizer=_mapping(ctx.get("authorizer")),
            request_id=str(ctx.get("requestId") or ""),
            stage=str(ctx.get("stage") or ""),
            domain_name=str(ctx.get("domainName") or ""),
        )

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def principal(self) -> Principal:
        """The caller, from the context the REST authorizer returned."""
        return Principal.from_authorizer_context(self.authorizer)


@dataclass(frozen=True)
class RestResponse:
    """What the Lambda returns to API Gateway."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    def to_proxy(self) -> dict[str, Any]:
        return {
            "statusCode": self.status,
            "headers": dict(self.headers),
            "body": self.body.decode(),
            "isBase64Encoded": False,
        }


__all__ = ["RestRequest", "RestResponse", "route_path"]
