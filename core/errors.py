"""The one exception tree of the service.

    LeaderboardError
    ├── ClientError                  the caller can fix it (4xx, WebSocket error frame)
    │   ├── BadRequest               malformed or invalid input            400
    │   │   └── PayloadTooLarge      a frame, message or field over a cap  413
    │   ├── Unauthorized             no or invalid credentials             401
    │   ├── Forbidden                valid credentials, action not allowed 403
    │   ├── NotFound                 unknown board, player or connection   404
    │   └── Conflict                 state clash (duplicate id, ...)       409
    └── ServerError                  ours to fix (5xx)
        ├── Unavailable              a dependency is down or overloaded    503
        └── ConnectionGone           a WebSocket connection is gone        410

Every error carries an HTTP ``status``, a stable machine ``code`` (also the last
segment of the problem ``type`` URI) and a human ``message`` that quotes what was
expected and what arrived. Adapters map errors to responses in one place each.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_TYPE_BASE = "https://leaderboard.dev/problems/"


class LeaderboardError(Exception):
    """Root of every error the service raises on purpose."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.details = details

    @property
    def problem_type(self) -> str:
        """The stable RFC 9457 ``type`` URI of this error."""
        return PROBLEM_TYPE_BASE + self.code

    def to_dict(self) -> dict[str, Any]:
        """The error as a JSON-ready mapping (WebSocket frames and problem+json bodies)."""
        body: dict[str, Any] = {"code": self.code, "status": self.status, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"


class ClientError(LeaderboardError):
    """The request was wrong; retrying it unchanged will fail again."""

    status = 400
    code = "bad_request"


class BadRequest(ClientError):
    status = 400
    code = "bad_request"


class PayloadTooLarge(BadRequest):
    status = 413
    code = "too_large"


class Unauthorized(ClientError):
    status = 401
    code = "unauthorized"


class Forbidden(ClientError):
    status = 403
    code = "forbidden"


class NotFound(ClientError):
    status = 404
    code = "not_found"


class Conflict(ClientError):
    status = 409
    code = "conflict"


class ServerError(LeaderboardError):
    """Something on our side failed; the request may succeed later."""

    status = 500
    code = "internal"


class Unavailable(ServerError):
    status = 503
    code = "unavailable"


class ConnectionGone(ServerError):
    status = 410
    code = "gone"
