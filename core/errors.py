"""The one exception tree of the service.

    LeaderboardError
    ├── ClientError                  the caller can fix it (4xx, WebSocket error frame)
    │   ├── BadRequest               malformed or invalid input            400
    │   │   └── PayloadTooLarge      a frame, message or field over a cap  413
    │   ├── Unauthorized             no or invalid credentials             401
    │   ├── Forbidden                valid credentials, action not allowed 403
    │   ├── NotFound                 unknown board, player or connection   404
    │   ├── Conflict                 state clash (duplicate id, ...)       409
    │   └── RateLimited              this connection sends too fast        429
    └── ServerError                  ours to fix (5xx)
        ├── Unavailable              a dependency is down                  503
        │   └── Overloaded           the process is at its work bound      503
        └── ConnectionGone           a WebSocket connection is gone        410

Every error carries an HTTP ``status``, a stable machine ``code`` (also the last
segment of the problem ``type`` URI) and a human ``message`` that quotes what was
expected and what arrived. A ``retryable`` error (the service's, or a rate limit's) may
carry ``retry_after_ms``: how long the caller should wait before sending the same request
again (a WebSocket error frame's ``error.retry_after_ms``, a REST ``Retry-After``).
Adapters map errors to responses in one place each.
:data:`CODES` is the catalogue of every code, its class and its meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Final

PROBLEM_TYPE_BASE = "https://leaderboard.dev/problems/"


class LeaderboardError(Exception):
    """Root of every error the service raises on purpose."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"
    retryable: ClassVar[bool] = False
    """Whether the same request may succeed later, unchanged."""
    default_retry_after_ms: ClassVar[int | None] = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retry_after_ms: int | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.retry_after_ms = (
            retry_after_ms if retry_after_ms is not None else self.default_retry_after_ms
        )
        self.details = details

    @property
    def problem_type(self) -> str:
        """The stable RFC 9457 ``type`` URI of this error."""
        return PROBLEM_TYPE_BASE + self.code

    def to_dict(self) -> dict[str, Any]:
        """The error as a JSON-ready mapping (WebSocket frames and problem+json bodies)."""
        body: dict[str, Any] = {"code": self.code, "status": self.status, "message": self.message}
        if self.retry_after_ms is not None:
            body["retry_after_ms"] = self.retry_after_ms
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


class RateLimited(ClientError):
    """The caller sends faster than its limit; the same request succeeds after a pause."""

    status = 429
    code = "rate_limited"
    retryable = True
    default_retry_after_ms: ClassVar[int | None] = 1000


class ServerError(LeaderboardError):
    """Something on our side failed; the request may succeed later."""

    status = 500
    code = "internal"
    retryable = True
    default_retry_after_ms: ClassVar[int | None] = 1000


class Unavailable(ServerError):
    status = 503
    code = "unavailable"


class Overloaded(Unavailable):
    """Refused before any work: the process has as much in flight as it may hold."""

    code = "overloaded"
    default_retry_after_ms = 250


class ConnectionGone(ServerError):
    status = 410
    code = "gone"
    retryable = False
    default_retry_after_ms = None


class MethodNotAllowed(ClientError):
    """The REST path exists, the method does not (405, with ``Allow``)."""

    status = 405
    code = "method_not_allowed"


# --- the catalogue of codes ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErrorCode:
    """One stable ``code`` a client may see, the class (hence the status) it comes with,
    and what it means."""

    code: str
    kind: type[LeaderboardError]
    meaning: str

    @property
    def status(self) -> int:
        return self.kind.status

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed later (the service's fault, or a rate limit)."""
        return self.kind.retryable


def _catalogue(*codes: ErrorCode) -> dict[str, ErrorCode]:
    return {c.code: c for c in codes}


CODES: Final[dict[str, ErrorCode]] = _catalogue(
    # --- the message or request is malformed (400)
    ErrorCode("bad_request", BadRequest, "The request is invalid."),
    ErrorCode("invalid_json", BadRequest, "The message is empty, not JSON, or nested too deeply."),
    ErrorCode("binary_frame", BadRequest, "A WebSocket message came as a binary frame; send JSON text frames."),
    ErrorCode("invalid_number", BadRequest, "The JSON holds NaN or Infinity; scores are integers."),
    ErrorCode("not_an_object", BadRequest, "The message is JSON but not an object."),
    ErrorCode("missing_action", BadRequest, "The message has no `action`."),
    ErrorCode("unknown_action", BadRequest, "The `action` is not one the WebSocket API serves (submit, subscribe, unsubscribe, or an admin's remove_entry, ban, unban, erase_player, audit)."),
    ErrorCode("invalid_message", BadRequest, "A field is missing, of the wrong type or out of range; the message names it."),
    ErrorCode("wrong_route", BadRequest, "A message reached a route for another action (API Gateway routing)."),
    ErrorCode("bad_event", BadRequest, "The function got an event that is not API Gateway's."),
    ErrorCode("invalid_board_id", BadRequest, "A board id is not a lowercase slug of 1-64 characters."),
    ErrorCode("invalid_player_id", BadRequest, "A player id is not 1-128 characters of `[A-Za-z0-9_.:@-]`."),
    ErrorCode("invalid_season_id", BadRequest, "A season id is not a lowercase slug of 1-32 characters."),
    ErrorCode("reserved_season", BadRequest, "A roll named the season `all-time`, which is the all-time ladder's name."),
    ErrorCode("invalid_submission_id", BadRequest, "A submission id is not 1-128 characters of `[A-Za-z0-9_.:-]`."),
    ErrorCode("invalid_score", BadRequest, "A score is not an integer."),
    ErrorCode("score_out_of_range", BadRequest, "A score is outside the board's bounds or a signed 64-bit integer."),
    ErrorCode("score_overflow", BadRequest, "An increment would take the score past a signed 64-bit integer."),
    ErrorCode("invalid_metadata", BadRequest, "Metadata is not plain JSON."),
    ErrorCode("invalid_value", BadRequest, "A value is not valid for its field."),
    ErrorCode("empty_batch", BadRequest, "A submit carries no score."),
    ErrorCode("duplicate_player", BadRequest, "A batch names a player twice."),
    ErrorCode("missing_player", BadRequest, "No player named and the token has none."),
    ErrorCode("view_too_large", BadRequest, "A top view asks for more entries than allowed."),
    ErrorCode("unknown_view", BadRequest, "Unsubscribe names no subscription of this connection."),
    ErrorCode("invalid_limit", BadRequest, "A page `limit` is out of range."),
    ErrorCode("invalid_window", BadRequest, "An around window `k` is out of range."),
    ErrorCode("invalid_players", BadRequest, "The friends list is empty or too long."),
    ErrorCode("invalid_request", BadRequest, "A REST path, query or body field is invalid; the message names it."),
    ErrorCode("missing_body", BadRequest, "A REST write has no JSON body."),
    ErrorCode("invalid_bounds", BadRequest, "A board's min_score is above its max_score."),
    ErrorCode("invalid_cursor", BadRequest, "A page cursor is malformed, tampered with or expired."),
    ErrorCode("cursor_mismatch", BadRequest, "A page cursor belongs to another board or season."),
    # --- over a size limit (413)
    ErrorCode("too_large", PayloadTooLarge, "Something is over a size limit."),
    ErrorCode("message_too_large", PayloadTooLarge, "A message is over the message size limit."),
    ErrorCode("metadata_too_large", PayloadTooLarge, "Metadata is over its size limit."),
    ErrorCode("batch_too_large", PayloadTooLarge, "A batch holds more scores, or more bytes, than allowed."),
    ErrorCode("body_too_large", PayloadTooLarge, "A REST body is over its size limit."),
    # --- who is calling (401)
    ErrorCode("unauthorized", Unauthorized, "No valid bearer token."),
    ErrorCode("missing_token", Unauthorized, "No token where one is expected."),
    ErrorCode("malformed_token", Unauthorized, "The token is not a JWT."),
    ErrorCode("bad_algorithm", Unauthorized, "The token's algorithm is not one the service pins."),
    ErrorCode("unknown_key", Unauthorized, "The token's key id is not in the JWKS."),
    ErrorCode("invalid_claims", Unauthorized, "The token is expired, not yet valid, or for another issuer or audience, or its signature does not verify."),
    ErrorCode("missing_claim", Unauthorized, "The token has no `sub`."),
    ErrorCode("missing_authorizer_context", Unauthorized, "A request reached a route without the authorizer's context."),
    ErrorCode("bad_authorizer_context", Unauthorized, "The authorizer's context is not the service's."),
    ErrorCode("bad_method_arn", Unauthorized, "The authorizer event's methodArn is not an API Gateway ARN."),
    # --- what the caller may do (403)
    ErrorCode("forbidden", Forbidden, "The caller may not do this."),
    ErrorCode("access_denied", Forbidden, "The authorizer denied the request."),
    ErrorCode("missing_role", Forbidden, "The token names no role."),
    ErrorCode("unknown_role", Forbidden, "The token names a role the service does not know."),
    ErrorCode("ambiguous_role", Forbidden, "The token's groups name several roles."),
    ErrorCode("role_not_allowed", Forbidden, "The token's role may not do this."),
    ErrorCode("not_your_player", Forbidden, "A player token submits for another player."),
    ErrorCode("batch_not_allowed", Forbidden, "Only a server token may submit batches."),
    ErrorCode("player_banned", Forbidden, "A player of the submit is banned on the board (or on every board); not retryable until an admin lifts the ban."),
    # --- what is not there (404, 405)
    ErrorCode("not_found", NotFound, "Not found."),
    ErrorCode("unknown_board", NotFound, "No board has this id."),
    ErrorCode("unknown_season", NotFound, "The board has no season of this id."),
    ErrorCode("unknown_player", NotFound, "The player has no entry in this ladder."),
    ErrorCode("unknown_connection", NotFound, "No open connection has this id."),
    ErrorCode("unknown_route", NotFound, "No REST route has this path."),
    ErrorCode("method_not_allowed", MethodNotAllowed, "The REST path does not take this method; `Allow` lists those it does."),
    # --- state clashes (409)
    ErrorCode("conflict", Conflict, "The request clashes with the current state."),
    ErrorCode("board_exists", Conflict, "A board with this id exists."),
    ErrorCode("season_exists", Conflict, "The board already has a season of this id."),
    ErrorCode("submission_conflict", Conflict, "The submission id was used before with another payload."),
    # --- too fast (429)
    ErrorCode("rate_limited", RateLimited, "This connection sends messages faster than its limit; retry after `retry_after_ms`."),
    # --- ours to fix, retry later (5xx)
    ErrorCode("internal", ServerError, "The service failed; retry later."),
    ErrorCode("authorizer_failure", ServerError, "The authorizer failed; retry later."),
    ErrorCode("misconfigured", ServerError, "The deployment is missing a setting; the message names it."),
    ErrorCode("unavailable", Unavailable, "A dependency is down or overloaded; retry later."),
    ErrorCode("database_unreachable", Unavailable, "The database cannot be reached; retry later."),
    ErrorCode("database_error", Unavailable, "The database failed the request; retry later."),
    ErrorCode("database_timeout", Unavailable, "The database did not answer in time; retry later."),
    ErrorCode("overloaded", Overloaded, "The service holds as much work as it may and refused this before doing any; retry after `retry_after_ms`."),
    ErrorCode("jwks_unavailable", Unavailable, "The identity provider's keys cannot be fetched; retry later."),
    ErrorCode("secret_unavailable", Unavailable, "A secret cannot be read; retry later."),
    ErrorCode("gone", ConnectionGone, "The WebSocket connection no longer exists."),
)  # fmt: skip
"""Every code a client may see. A test checks that every code the service raises is here,
with its class, and that the protocol documentation lists every one."""
