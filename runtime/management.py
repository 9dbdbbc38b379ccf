"""The API Gateway Management API (``@connections``) of the local runtime.

Unmodified boto3 ``apigatewaymanagementapi`` code works against it with
``endpoint_url="http://HOST:PORT/{stage}"``:

- ``POST /{stage}/@connections/{id}``: the body is written to the connection as one
  frame (text when it is UTF-8, else binary) -> 200. Over ``max_payload_bytes`` -> 413
  ``PayloadTooLargeException``.
- ``GET``: ``{"connectedAt", "identity": {"sourceIp", "userAgent"}, "lastActiveAt"}`` (the
  wire names of the service model; boto3 returns them as ``ConnectedAt``, ``Identity``...).
- ``DELETE``: closes the connection (close code 1000) and waits until its
  ``$disconnect`` route has run -> 204.
- An unknown or closed connection -> 410 ``GoneException``.

The same routes answer without the stage prefix (``/@connections/{id}``).

Authentication: every request needs an ``Authorization`` header shaped like SigV4 for
``execute-api`` (``AWS4-HMAC-SHA256 Credential=AK/DATE/REGION/execute-api/aws4_request,
SignedHeaders=..., Signature=<64 hex>``) and an ``X-Amz-Date`` header; otherwise 403
``ForbiddenException``. The signature itself is not verified: any access key and
secret are accepted, as local emulators do. Errors carry ``x-amzn-ErrorType`` and a
JSON ``{"message"}`` body, which is how botocore picks the exception class.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from datetime import datetime
from typing import Final

from aiohttp import web

from core.errors import ConnectionGone
from runtime.inprocess import InProcessSender

SIGV4: Final = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/\s,]+)/(?P<date>\d{8})/(?P<region>[^/\s,]+)/"
    r"(?P<service>[^/\s,]+)/aws4_request,\s*SignedHeaders=(?P<signed>[a-z0-9;-]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})"
)
DELETE_CLOSE_CODE: Final = 1000


def aws_error(status: int, error_type: str, message: str) -> web.Response:
    """An error as AWS's REST-JSON services send it (botocore reads the header)."""
    return web.json_response(
        {"message": message}, status=status, headers={"x-amzn-ErrorType": error_type}
    )


def sigv4_problem(authorization: str | None, amz_date: str | None) -> str | None:
    """What is wrong with the request's SigV4 authentication, or None if it looks right."""
    if not authorization:
        return "Missing Authentication Token"
    m = SIGV4.fullmatch(authorization.strip())
    if m is None:
        return (
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
            "parameters of an AWS4-HMAC-SHA256 signature"
        )
    if m["service"] != "execute-api":
        return f"Credential should be scoped to service 'execute-api', got {m['service']!r}"
    if "host" not in m["signed"].split(";"):
        return "SignedHeaders must include 'host'"
    if not amz_date:
        return "Authorization requires an 'X-Amz-Date' header"
    return None


def iso(at: datetime) -> str:
    """A timestamp as the Management API writes it: ``2024-11-11T13:45:46.514Z``."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


class ManagementApi:
    """The ``@connections`` handlers over the live-connection registry."""

    def __init__(
        self, sender: InProcessSender, *, max_payload_bytes: int, close_wait_s: float = 10.0
    ) -> None:
        self.sender = sender
        self.max_payload_bytes = max_payload_bytes
        self.close_wait_s = close_wait_s

    def install(self, app: web.Application, *, stage: str) -> None:
        for prefix in (f"/{stage}", ""):
            path = prefix + "/@connections/{connection_id}"
            app.router.add_post(path, self.post)
            app.router.add_get(path, self.get)
            app.router.add_delete(path, self.delete)

    @staticmethod
    def _refusal(request: web.Request) -> web.Response | None:
        problem = sigv4_problem(
            request.headers.get("Authorization"), request.headers.get("X-Amz-Date")
        )
        return None if problem is None else aws_error(403, "ForbiddenException", problem)

    @staticmethod
    def _gone(connection_id: str) -> web.Response:
        return aws_error(410, "GoneException", f"connection {connection_id!r} is gone")

    async def post(self, request: web.Request) -> web.Response:
        """PostToConnection."""
        if refusal := self._refusal(request):
            return refusal
        cid = request.match_info["connection_id"]
        data = await request.read()
        if len(data) > self.max_payload_bytes:
            return aws_error(
                413, "PayloadTooLargeException",
                f"payload must be at most {self.max_payload_bytes} bytes, got {len(data)}",
            )  # fmt: skip
        try:
            text: str | bytes = data.decode()
        except UnicodeDecodeError:
            text = data
        try:
            await self.sender.post(cid, text)
        except ConnectionGone:
            return self._gone(cid)
        return web.Response(status=200)

    async def get(self, request: web.Request) -> web.Response:
        """GetConnection."""
        if refusal := self._refusal(request):
            return refusal
        cid = request.match_info["connection_id"]
        try:
            conn = self.sender.get(cid)
        except ConnectionGone:
            return self._gone(cid)
        return web.json_response(
            {
                "connectedAt": iso(conn.connected_at),
                "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent},
                "lastActiveAt": iso(conn.last_active_at),
            }
        )

    async def delete(self, request: web.Request) -> web.Response:
        """DeleteConnection: close it, then wait for its ``$disconnect`` to finish."""
        if refusal := self._refusal(request):
            return refusal
        cid = request.match_info["connection_id"]
        try:
            conn = await self.sender.close(cid, code=DELETE_CLOSE_CODE)
        except ConnectionGone:
            return self._gone(cid)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(conn.finished.wait(), self.close_wait_s)
        return web.Response(status=204)
