"""Map database errors to the service's error tree, in one place.

Errors are matched by SQLSTATE class, never by message text. The ``LB`` class is
raised on purpose by our own SQL functions (see db/functions/).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

import asyncpg

from core.errors import BadRequest, Conflict, LeaderboardError, NotFound, Unavailable

_BY_SQLSTATE: Final[dict[str, type[LeaderboardError]]] = {
    "LB404": NotFound,
    "LB409": Conflict,
    "LB422": BadRequest,
    "22003": BadRequest,  # numeric_value_out_of_range: an increment overflowed int64
    "22P02": BadRequest,  # invalid_text_representation
    "23514": BadRequest,  # check_violation
}
_CODES: Final[dict[str, str]] = {
    "LB404": "unknown_board",
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


@asynccontextmanager
async def translated() -> AsyncIterator[None]:
    """Re-raise database errors as service errors; connection failures become Unavailable."""
    try:
        yield
    except asyncpg.PostgresError as exc:
        raise translate(exc) from exc
    except (OSError, asyncpg.InterfaceError) as exc:
        raise Unavailable(f"database unreachable: {exc}", code="database_unreachable") from exc
