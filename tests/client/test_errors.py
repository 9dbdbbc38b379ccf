"""The SDK's error tree: every error the service sends maps to one class."""

from __future__ import annotations

import pytest

from leaderboard_client import errors as e

SERVICE_ERRORS = [
    (400, "invalid_message", e.BadRequestError),
    (413, "metadata_too_large", e.PayloadTooLargeError),
    (401, "unauthorized", e.UnauthorizedError),
    (403, "not_your_player", e.ForbiddenError),
    (404, "unknown_board", e.NotFoundError),
    (409, "conflict", e.ConflictError),
    (500, "internal", e.InternalError),
    (503, "unavailable", e.UnavailableError),
    (422, "something_new", e.BadRequestError),
]


@pytest.mark.parametrize(("status", "code", "kind"), SERVICE_ERRORS)
def test_an_error_frame_maps_to_its_class_by_status(
    status: int, code: str, kind: type[e.ServerError]
) -> None:
    """The class comes from the status; code, message and details are kept as sent."""
    err = e.error_from_frame(
        {
            "type": "error",
            "error": {"code": code, "status": status, "message": "m", "details": {"x": 1}},
        }
    )
    assert type(err) is kind
    assert (err.code, err.status, err.message, err.details) == (code, status, "m", {"x": 1})
    assert isinstance(err, e.ServerError) and isinstance(err, e.LeaderboardError)
    assert err.retryable is (status >= 500)


def test_a_malformed_error_frame_is_an_internal_error() -> None:
    """No error object, or a status that is no number: still a typed error, never a crash."""
    assert type(e.error_from_frame({"type": "error"})) is e.InternalError
    assert type(e.error_from_frame({"type": "error", "error": {"status": "x"}})) is e.InternalError


def test_api_gateways_crash_frame_is_an_internal_error() -> None:
    """``{"message": "Internal server error", ...}`` has no type: an InternalError."""
    frame = {"message": "Internal server error", "connectionId": "c=", "requestId": "r"}
    assert e.is_gateway_error(frame)
    err = e.error_from_gateway(frame)
    assert type(err) is e.InternalError and err.details == {"connectionId": "c=", "requestId": "r"}
    assert not e.is_gateway_error({"type": "error", "message": "x"})


@pytest.mark.parametrize(
    ("status", "kind"),
    [(401, e.UnauthorizedError), (403, e.ForbiddenError), (503, e.UnavailableError)],
)
def test_a_refused_upgrade_maps_to_its_class(status: int, kind: type[e.ServerError]) -> None:
    """A handshake refused with 401/403/503 raises the matching class."""
    err = e.error_from_handshake(status, "Unauthorized")
    assert type(err) is kind and err.status == status and err.message == "Unauthorized"


def test_timeouts_are_timeouts_and_lost_connections_are_sdk_errors() -> None:
    """RequestTimeout is also a TimeoutError; both are LeaderboardErrors."""
    assert issubclass(e.RequestTimeout, TimeoutError)
    assert issubclass(e.RequestTimeout, e.LeaderboardError)
    assert issubclass(e.ConnectionLost, e.LeaderboardError)
