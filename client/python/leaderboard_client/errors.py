"""The one exception tree of the SDK.

    LeaderboardError
    ├── ConnectionLost               the socket dropped before the reply arrived
    ├── RequestTimeout               no reply within the timeout (also a TimeoutError)
    └── ServerError                  the service answered with an error
        ├── BadRequestError          400  malformed or invalid message
        │   └── PayloadTooLargeError 413  a message or field over a cap
        ├── UnauthorizedError        401  no, expired or invalid token
        ├── ForbiddenError           403  the token's role may not do this
        ├── NotFoundError            404  unknown board, player or view
        ├── ConflictError            409  e.g. a submission id reused with another payload
        ├── RateLimitedError         429  this connection sends too fast (retryable)
        ├── InternalError            500  the service failed (retryable)
        └── UnavailableError         503  a dependency is down, or the service is
                                          overloaded (retryable)

A :class:`ServerError` carries the service's stable ``code`` (``invalid_number``,
``unknown_board``...), ``status`` (HTTP-like), ``message``, ``details`` and, on a
retryable error, ``retry_after_ms`` (how long to wait before trying again). Catch the
class, branch on ``code``; never match ``message``. The mapping from the wire lives in
:func:`error_from_frame` (``error`` frames), :func:`error_from_gateway` (API Gateway's
``{"message": "Internal server error"}`` frame) and :func:`error_from_handshake` (a
refused connection); nothing else builds these errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final


class LeaderboardError(Exception):
    """Root of every error the SDK raises on purpose."""


class ConnectionLost(LeaderboardError):
    """The connection dropped while a request waited for its reply (or the client closed).

    The request may or may not have taken effect: retry it with the same submission id.
    """


class RequestTimeout(LeaderboardError, TimeoutError):
    """No reply within the request timeout; like :class:`ConnectionLost`, the outcome is
    unknown, so retry with the same submission id."""


class ServerError(LeaderboardError):
    """An error answered by the service: ``code`` is stable, ``status`` mirrors HTTP."""

    status_class: ClassVar[int] = 0

    def __init__(
        self,
        code: str,
        status: int,
        message: str,
        details: Any = None,
        retry_after_ms: int | None = None,
    ) -> None:
        super().__init__(f"{code} ({status}): {message}")
        self.code, self.status, self.message, self.details = code, status, message, details
        self.retry_after_ms = retry_after_ms

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed later (the service's fault, or a rate
        limit), as opposed to a request that would fail again."""
        return self.status >= 500 or self.status == 429


class BadRequestError(ServerError):
    status_class = 400


class PayloadTooLargeError(BadRequestError):
    status_class = 413


class UnauthorizedError(ServerError):
    status_class = 401


class ForbiddenError(ServerError):
    status_class = 403


class NotFoundError(ServerError):
    status_class = 404


class ConflictError(ServerError):
    status_class = 409


class RateLimitedError(ServerError):
    status_class = 429


class InternalError(ServerError):
    status_class = 500


class UnavailableError(ServerError):
    status_class = 503


_BY_STATUS: Final[dict[int, type[ServerError]]] = {
    kind.status_class: kind
    for kind in (
        BadRequestError, PayloadTooLargeError, UnauthorizedError, ForbiddenError,
        NotFoundError, ConflictError, RateLimitedError, InternalError, UnavailableError,
    )
}  # fmt: skip


def _kind(status: int) -> type[ServerError]:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if 400 <= status < 500:
        return BadRequestError
    return InternalError if status >= 500 else ServerError


def error_from_frame(frame: Mapping[str, Any]) -> ServerError:
    """The error of an ``error`` frame: ``{"type": "error", "error": {code, status, ...}}``."""
    err = frame.get("error")
    err = err if isinstance(err, Mapping) else {}
    try:
        status = int(err.get("status", 500))
    except (TypeError, ValueError):
        status = 500
    retry_after = err.get("retry_after_ms")
    return _kind(status)(
        str(err.get("code", "internal")), status, str(err.get("message", "")), err.get("details"),
        retry_after if isinstance(retry_after, int) and retry_after >= 0 else None,
    )  # fmt: skip


def is_gateway_error(frame: Mapping[str, Any]) -> bool:
    """API Gateway's own error frame (a route crashed): ``{"message": ..., "connectionId"}``."""
    return "type" not in frame and isinstance(frame.get("message"), str)


def error_from_gateway(frame: Mapping[str, Any]) -> ServerError:
    """The error of API Gateway's frame for a crashed route (no ``request_id`` in it)."""
    return InternalError("internal", 500, str(frame.get("message")), {
        k: frame[k] for k in ("connectionId", "requestId") if k in frame
    })  # fmt: skip


def error_from_handshake(status: int, body: str = "") -> ServerError:
    """The error of a refused WebSocket upgrade (401 no/invalid token, 403 denied, ...)."""
    code = {401: "unauthorized", 403: "forbidden", 503: "unavailable"}.get(status, "refused")
    message = body.strip() or f"the WebSocket upgrade was refused with HTTP {status}"
    return _kind(status)(code, status, message)


__all__ = [
    "BadRequestError",
    "ConflictError",
    "ConnectionLost",
    "ForbiddenError",
    "InternalError",
    "LeaderboardError",
    "NotFoundError",
    "PayloadTooLargeError",
    "RateLimitedError",
    "RequestTimeout",
    "ServerError",
    "UnauthorizedError",
    "UnavailableError",
    "error_from_frame",
    "error_from_gateway",
    "error_from_handshake",
    "is_gateway_error",
]
