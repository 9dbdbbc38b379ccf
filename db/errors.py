"""Map database errors to the service's error tree, in one place.

Errors are matched by SQLSTATE class, never by message text. The ``LB`` class is
raised on purpose by our own SQL functions (see db/functions/).

Everything else that can come out of a pool or a connection is a dependency failing,
and becomes :class:`~core.errors.Unavailable` (503, retryable): a server error of any
other SQLSTATE (``database_error``), a refused, reset or lost connection, asyncpg's
interface and internal client errors (a connection closed under a query, a protocol
state broken by a terminated backend: ``database_unreachable``), and a pool acquire or
connect that timed out (``database_timeout``). :func:`as_service_error` is that map for
any exception, for the adapters' last line of defence.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Final

from core.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    LeaderboardError,
    NotFound,
    ServerError,
    Unavailable,
)

if TYPE_CHECKING:
    import asyncpg

_BY_SQLSTATE: Final[dict[str, type[LeaderboardError]]] = {
    "LB403": Forbidden,
    "LB404": NotFound,
    "LB4S4": NotFound,
    "LB4P4": NotFound,
    "LB409": Conflict,
    "LB422": BadRequest,
    "22003": BadRequest,  # numeric_value_out_of_range: an increment overflowed int64
    "22P02": BadRequest,  # invalid_text_representation
    "23514": BadRequest,  # check_violation
}
_CODES: Final[dict[str, str]] = {
    "LB403": "player_banned",
    "LB404": "unknown_board",
    "LB4S4": "unknown_season",
    "LB4P4": "unknown_player",
    "LB409": "submission_conflict",
    "LB422": "score_out_of_range",
    "22003": "score_overflow",
    "22P02": "invalid_value",
    "23514": "invalid_value",
}


def translate(exc: asyncpg.PostgresError) -> LeaderboardError:
    """The service error for a database error."""
    state = getattr(exc, "sqlstate", None) or ""
    kind = _BY_SQLSTATE.get(state)
    if kind is not None:
        message = exc.args[0] if exc.args else str(exc)
        if state == "22003":
            message = "the resulting score overflows a 64-bit integer"
        return kind(str(message), code=_CODES[state])
    return Unavailable(f"database error {state}: {type(exc).__name__}", code="database_error")


@functools.cache
def _postgres_error() -> type[Exception]:
    import asyncpg

    error: type[Exception] = asyncpg.PostgresError
    return error


@functools.cache
def unreachable_errors() -> tuple[type[BaseException], ...]:
    """Exception classes that mean the database (or the way to it) failed, not the request.

    asyncpg is imported here, on first use, not with this module: a handler's module
    imports without it, and an ``except`` clause evaluates this only when something raised.
    """
    import asyncpg

    return (OSError, asyncpg.InterfaceError, asyncpg.InternalClientError)


def unreachable(exc: BaseException) -> Unavailable:
    """The service error of a connection-level failure (refused, reset, lost, broken)."""
    what = str(exc) or type(exc).__name__
    return Unavailable(
        f"database unreachable: {type(exc).__name__}: {what}", code="database_unreachable"
    )


def timed_out(exc: BaseException | None = None) -> Unavailable:
    """The service error of a database call that did not complete in time."""
    return Unavailable("the database did not answer in time", code="database_timeout")


def as_service_error(exc: BaseException) -> LeaderboardError:
    """Any exception as a service error: ours pass through, database and OS failures become
    :class:`Unavailable`, anything else an ``internal`` :class:`ServerError`."""
    if isinstance(exc, LeaderboardError):
        return exc
    if isinstance(exc, _postgres_error()):
        return translate(exc)
    if isinstance(exc, TimeoutError):
        return timed_out(exc)
    if isinstance(exc, unreachable_errors()):
        return unreachable(exc)
    return ServerError(f"an internal error occurred ({type(exc).__name__})", code="internal")


@asynccontextmanager
async def translated() -> AsyncIterator[None]:
    """Re-raise database errors as service errors; connection failures, broken connections
    and timeouts become Unavailable. (Each ``except`` names its classes only when something
    raised, so the happy path imports nothing.)"""
    try:
        yield
    except _postgres_error() as exc:
        raise translate(exc) from exc
    except TimeoutError as exc:
        raise timed_out(exc) from exc
    except unreachable_errors() as exc:
        raise unreachable(exc) from exc
