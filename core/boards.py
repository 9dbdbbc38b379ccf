"""The board model: how a board orders, updates and resets its entries.

Scores are signed 64-bit integers. Store times as integer milliseconds on an
``asc`` board (speedruns), and decimals as fixed-point integers (``12.345`` points
with 3 decimals is ``12345``); the board's ``metadata`` may record the scale.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.ids import BoardIdField

INT64_MAX = 2**63 - 1
# The lowest score a board may accept: one above int64's minimum, so that the
# descending sort key (the negated score) never overflows.
SCORE_MIN = -(2**63) + 1
SCORE_MAX = INT64_MAX


class SortOrder(StrEnum):
    DESC = "desc"  # higher is better (points)
    ASC = "asc"  # lower is better (speedrun times)


class UpdatePolicy(StrEnum):
    BEST = "best"  # keep the better of old and new
    LATEST = "latest"  # always take the new score
    INCREMENT = "increment"  # add the submitted delta to the score


class ResetSchedule(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class BoardSpec(BaseModel):
    """What an admin supplies to create or configure a board."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: BoardIdField
    order: SortOrder = SortOrder.DESC
    policy: UpdatePolicy = UpdatePolicy.BEST
    min_score: int = Field(default=0, ge=SCORE_MIN, le=SCORE_MAX)
    max_score: int = Field(default=SCORE_MAX, ge=SCORE_MIN, le=SCORE_MAX)
    reset: ResetSchedule | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _bounds_ordered(self) -> BoardSpec:
        if self.min_score > self.max_score:
            raise ValueError(
                f"min_score must be <= max_score, got {self.min_score} > {self.max_score}"
            )
        return self


class Board(BoardSpec):
    """A stored board: its spec plus the season and feed position the store tracks."""

    season: str
    seq: int = 0
    created_at: datetime


def season_for(schedule: ResetSchedule | None, at: datetime) -> str:
    """The season id a board with ``schedule`` is in at instant ``at`` (UTC).

    ``None`` boards never reset and live in season ``s1`` until rolled by hand.
    """
    if schedule is None:
        return "s1"
    at = at.astimezone(UTC)
    if schedule is ResetSchedule.DAILY:
        return at.strftime("d%Y-%m-%d")
    if schedule is ResetSchedule.WEEKLY:
        iso = at.isocalendar()
        return f"w{iso.year}-{iso.week:02d}"
    return at.strftime("m%Y-%m")
