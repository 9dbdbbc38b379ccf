"""Typed ids and their validation.

Ids are plain strings at runtime; ``NewType`` keeps them apart in the type checker.
Validation lives here so every edge (WebSocket, REST, store) applies the same rules.
"""

from __future__ import annotations

import re
from typing import Annotated, NewType

from pydantic import AfterValidator, StringConstraints

from core.errors import BadRequest

BoardId = NewType("BoardId", str)
PlayerId = NewType("PlayerId", str)
SeasonId = NewType("SeasonId", str)
ConnectionId = NewType("ConnectionId", str)
SubmissionId = NewType("SubmissionId", str)

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
PLAYER_PATTERN = r"^[A-Za-z0-9_.:@-]{1,128}$"
SEASON_PATTERN = r"^[a-z0-9][a-z0-9-]{0,31}$"
SUBMISSION_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"

_SLUG = re.compile(SLUG_PATTERN)
_PLAYER = re.compile(PLAYER_PATTERN)
_SEASON = re.compile(SEASON_PATTERN)
_SUBMISSION = re.compile(SUBMISSION_PATTERN)


def _check(pattern: re.Pattern[str], what: str, value: object) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise BadRequest(
            f"invalid {what}: expected a string matching {pattern.pattern}, got {value!r}",
            code=f"invalid_{what.replace(' ', '_')}",
        )
    return value


def board_id(value: object) -> BoardId:
    """Validate a board id: a lowercase slug of 1-64 characters."""
    return BoardId(_check(_SLUG, "board id", value))


def player_id(value: object) -> PlayerId:
    """Validate a player id: 1-128 characters of ``[A-Za-z0-9_.:@-]``."""
    return PlayerId(_check(_PLAYER, "player id", value))


def season_id(value: object) -> SeasonId:
    """Validate a season id: a lowercase slug of 1-32 characters (``current`` or ``2026-w48``)."""
    return SeasonId(_check(_SEASON, "season id", value))


def submission_id(value: object) -> SubmissionId:
    """Validate a client-supplied submission id (idempotency key)."""
    return SubmissionId(_check(_SUBMISSION, "submission id", value))


# pydantic field types: the same patterns, enforced on the wire models.
BoardIdField = Annotated[str, StringConstraints(pattern=SLUG_PATTERN), AfterValidator(BoardId)]
PlayerIdField = Annotated[str, StringConstraints(pattern=PLAYER_PATTERN), AfterValidator(PlayerId)]
SeasonIdField = Annotated[str, StringConstraints(pattern=SEASON_PATTERN), AfterValidator(SeasonId)]
SubmissionIdField = Annotated[
    str, StringConstraints(pattern=SUBMISSION_PATTERN), AfterValidator(SubmissionId)
]
